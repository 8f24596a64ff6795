import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { type Browser, chromium, type Page } from "playwright-core";
import { request } from "undici";
import type { AggregateServerView, AggregateView } from "../../src/admin/AggregateView.ts";
import { startServersAdmin } from "../admin/serversAdmin.ts";
import { startFleet, startProxy } from "../support/proxy.ts";
import { echo, status } from "../support/upstream.ts";

const executablePath = "/usr/bin/chromium";
// CI installs Debian's chromium (.ci/run) and must run this; elsewhere a missing browser is a skip
const missing = !existsSync(executablePath);
if (missing && process.env["CI"])
  throw new Error(`${executablePath} is missing: .ci/run must apt-get install chromium`);
const skip = missing ? `no ${executablePath}: apt-get install chromium to run the dashboard test` : false;

const token = "dashboard-t0ken";

/** The console errors and uncaught exceptions of `page`, as they come. */
function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  return errors;
}
const artifacts = new URL("../../artifacts/", import.meta.url);

describe("the dashboard, in a real browser", { skip }, () => {
  let browser: Browser;
  let fleet: Awaited<ReturnType<typeof startFleet>>;
  let page: Page;
  const consoleErrors: string[] = [];

  before(async () => {
    fleet = await startFleet(
      { alpha: echo("alpha"), beta: status(500) },
      `[server]\nadmin_token = "${token}"\n[proxy.circuit_breaker]\nfailure_threshold = 2`,
    );
    browser = await chromium.launch({
      executablePath,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    page.on("pageerror", (error) => consoleErrors.push(String(error)));
  });

  after(async () => {
    await browser?.close();
    await fleet?.close();
  });

  it("loads without console errors and shows a card per upstream, read-only without the token", async () => {
    await page.goto(`${fleet.proxy.adminUrl}/`);
    await page.getByRole("heading", { name: "alpha", level: 3 }).waitFor();
    await page.getByRole("heading", { name: "beta", level: 3 }).waitFor();
    assert.equal(await page.locator(".card").count(), 2);
    const server = page.getByRole("region", { name: "default" });
    assert.equal(await server.locator(".card").count(), 2, "top-level upstreams are one server");
    assert.equal(await server.locator(".replicas").textContent(), "2 replicas");
    assert.match((await page.locator("#overall").textContent()) ?? "", /Healthy: all 2 circuits closed/);
    assert.equal(await page.getByRole("button", { name: "Reset beta" }).isDisabled(), true);
    assert.equal(await page.getByLabel("Admin token").isVisible(), true);
    assert.deepEqual(consoleErrors, []);
  });

  it("flips a card to open within a second or two of the circuit opening, with the reason", async () => {
    for (let i = 0; i < 4; i++) await request(fleet.proxy.url).then((r) => r.body.text());
    const beta = page.locator('.card[data-state="open"]', { hasText: "beta" });
    await beta.waitFor({ timeout: 10_000 });
    assert.equal(await beta.locator(".state-text").textContent(), "Open");
    assert.match(
      (await beta.locator(".transitions li").first().textContent()) ?? "",
      /Closed → Open \(consecutive failures\)/,
    );
    assert.match((await page.locator("#overall").textContent()) ?? "", /Degraded: 1 of 2/);
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: new URL("dashboard.png", artifacts).pathname, fullPage: true });
  });

  it("refuses control with a wrong token, and resets the circuit with the right one", async () => {
    await page.getByLabel("Admin token").fill("wrong");
    await page.getByRole("button", { name: "Use token" }).click();
    await page.getByRole("button", { name: "Reset beta" }).click();
    await page.getByText("The admin token was rejected").waitFor();
    assert.equal(fleet.proxy.breakwater.upstreams[1]?.circuit.state, "open");
    // the browser logs the refused request itself; that one is expected, nothing else is
    assert.deepEqual(consoleErrors.splice(0), [
      "Failed to load resource: the server responded with a status of 401 (Unauthorized)",
    ]);

    await page.getByLabel("Admin token").fill(token);
    await page.getByRole("button", { name: "Use token" }).click();
    await page.getByRole("button", { name: "Reset beta" }).click();
    await page.getByText("Reset beta: done.").waitFor();
    await page.locator('.card[data-state="closed"]', { hasText: "beta" }).waitFor({ timeout: 10_000 });
    assert.equal(fleet.proxy.breakwater.upstreams[1]?.circuit.state, "closed");
    assert.deepEqual(consoleErrors, []);
  });

  it("can be driven by keyboard: the control buttons are reachable with Tab and work with Enter", async () => {
    const button = page.getByRole("button", { name: "Force open alpha" });
    await button.focus();
    await page.keyboard.press("Enter");
    await page.locator('.card[data-state="forced_open"]', { hasText: "alpha" }).waitFor({ timeout: 10_000 });
    assert.equal(fleet.proxy.breakwater.upstreams[0]?.circuit.state, "forced_open");
    assert.deepEqual(consoleErrors, []);
  });

  it("without a token, its own buttons work while a page on another origin cannot open a circuit", async () => {
    const open = await startFleet({ gamma: echo("gamma") });
    // an attacker's page on another origin (another port of this machine) that posts as a form would
    const attacker = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" }).end(`<!doctype html><script>
        fetch(${JSON.stringify(`${open.proxy.adminUrl}/circuits/gamma/open`)}, {
          method: "POST", mode: "no-cors",
          headers: { "content-type": "application/x-www-form-urlencoded" }, body: "x=1",
        }).finally(() => { document.title = "sent"; });
      </script>`);
    });
    await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));
    const other = await browser.newPage();
    try {
      await other.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
      await other.waitForFunction('document.title === "sent"');
      assert.equal(
        open.proxy.breakwater.upstreams[0]?.circuit.state,
        "closed",
        "the cross-site POST was refused",
      );

      await other.goto(`${open.proxy.adminUrl}/`);
      await other.getByRole("button", { name: "Force open gamma" }).click();
      await other
        .locator('.card[data-state="forced_open"]', { hasText: "gamma" })
        .waitFor({ timeout: 10_000 });
      assert.equal(open.proxy.breakwater.upstreams[0]?.circuit.state, "forced_open");
    } finally {
      await other.close();
      await new Promise((resolve) => attacker.close(resolve));
      await open.close();
    }
  });

  it("shows a tool whose circuit opened on its upstream's card, and resets it from there", async () => {
    const tools = await startFleet(
      {
        delta: (_req, res, body) => {
          const { id, method } = JSON.parse(body) as { id: unknown; method: string };
          const result =
            method === "tools/list" ? { tools: [{ name: "lookup" }] } : { isError: true, content: [] };
          res
            .writeHead(200, { "content-type": "application/json" })
            .end(JSON.stringify({ jsonrpc: "2.0", id, result }));
        },
      },
      "[proxy.tool_circuit]\nminimum_requests = 1", // an isError result opens it by its rate alone
    );
    const other = await browser.newPage();
    try {
      const list = JSON.stringify({ jsonrpc: "2.0", id: 0, method: "tools/list" });
      await request(tools.proxy.url, { method: "POST", body: list }).then((r) => r.body.text());
      const call = JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "lookup" },
      });
      await request(tools.proxy.url, { method: "POST", body: call }).then((r) => r.body.text());
      await other.goto(`${tools.proxy.adminUrl}/`);
      const card = other.locator(".card", { hasText: "delta" });
      await card.locator(".tools li", { hasText: "lookup" }).waitFor({ timeout: 10_000 });
      assert.match((await card.locator(".tools li").textContent()) ?? "", /lookup\s*Open, 1 failed/);
      assert.equal(await card.getAttribute("data-state"), "closed", "the upstream itself stays closed");
      await other.getByRole("button", { name: "Reset tool lookup of delta" }).click();
      await card.locator(".tools li").waitFor({ state: "detached", timeout: 10_000 });
      assert.equal(tools.proxy.breakwater.circuits.get("delta", "lookup")?.breaker.state, "closed");
    } finally {
      await other.close();
      await tools.close();
    }
  });

  it("shows a section per server, in config order, with its replicas' cards and their open tool circuits", async () => {
    const admin = await startServersAdmin({ notes: ["notes-1", "notes-2"], files: ["files-1"] });
    const other = await browser.newPage();
    const errors = pageErrors(other);
    try {
      admin.breaker("notes-2").openFor(30_000);
      admin.circuits.create("notes-1", { clock: admin.clock }, "lookup").breaker.openFor(30_000);
      await other.goto(`${admin.url}/`);
      const notes = other.getByRole("region", { name: "notes" });
      const files = other.getByRole("region", { name: "files" });
      await notes.locator('.card[data-state="open"]', { hasText: "notes-2" }).waitFor({ timeout: 10_000 });
      assert.deepEqual(await other.locator(".server .server-name").allTextContents(), ["notes", "files"]);
      assert.deepEqual(await notes.locator(".card .name").allTextContents(), ["notes-1", "notes-2"]);
      assert.deepEqual(await files.locator(".card .name").allTextContents(), ["files-1"]);
      assert.equal(await notes.getAttribute("data-status"), "degraded");
      assert.equal(await notes.locator(".server-status-text").textContent(), "Degraded");
      assert.equal(await notes.locator(".replicas").textContent(), "2 replicas");
      assert.equal(await files.getAttribute("data-status"), "healthy");
      assert.equal(await files.locator(".replicas").textContent(), "1 replica");
      const tool = notes.locator(".card", { hasText: "notes-1" }).locator(".tools li");
      assert.match((await tool.textContent()) ?? "", /lookup\s*Open/);
      assert.equal(await files.locator(".tools li").count(), 0);
      mkdirSync(artifacts, { recursive: true });
      await other.screenshot({ path: new URL("dashboard-servers.png", artifacts).pathname, fullPage: true });
      assert.deepEqual(errors, []);
    } finally {
      await other.close();
      await admin.close();
    }
  });

  it("removes a server's section and cards once a reload removed them, and draws what it added", async () => {
    const admin = await startServersAdmin({ notes: ["notes-1", "notes-2"], files: ["files-1"] });
    const other = await browser.newPage();
    const errors = pageErrors(other);
    try {
      await other.goto(`${admin.url}/`);
      const notes = other.getByRole("region", { name: "notes" });
      await other.getByRole("region", { name: "files" }).waitFor({ timeout: 10_000 });
      const kept = await notes.locator(".card", { hasText: "notes-1" }).elementHandle();

      admin.setServers({ notes: ["notes-1"], clock: ["clock-1"] });
      await other.getByRole("region", { name: "files" }).waitFor({ state: "detached", timeout: 10_000 });
      await other.getByRole("region", { name: "clock" }).waitFor({ timeout: 10_000 });
      assert.deepEqual(await other.locator(".server .server-name").allTextContents(), ["notes", "clock"]);
      assert.deepEqual(await other.locator(".card .name").allTextContents(), ["notes-1", "clock-1"]);
      assert.equal(await notes.locator(".replicas").textContent(), "1 replica");
      assert.equal(
        await kept?.evaluate((node) => node.isConnected),
        true,
        "a kept upstream's card is the same element: nothing of it is redrawn from scratch",
      );
      assert.deepEqual(errors, []);
    } finally {
      await other.close();
      await admin.close();
    }
  });

  it("shows on each server's section how the aggregate lists it, under an Aggregate line, and nothing of it without one", async () => {
    const listed = (name: string, view: Partial<AggregateServerView>): AggregateServerView => ({
      name,
      listed: "current",
      tools: 0,
      prompts: 0,
      resources: 0,
      resourceTemplates: 0,
      leftOut: [],
      ...view,
    });
    const withGrace = (graceLeftMs: number): AggregateView => ({
      route: "/mcp",
      servers: [
        listed("notes", { tools: 12, leftOut: [{ name: "bad name!", reason: "invalid" }] }),
        listed("files", { listed: "cached", tools: 4, graceLeftMs }),
        listed("clock", { listed: "omitted" }),
      ],
    });
    let view: AggregateView | undefined = withGrace(34_000);
    const admin = await startServersAdmin(
      { notes: ["notes-1"], files: ["files-1"], clock: ["clock-1"] },
      true,
      () => view,
    );
    const other = await browser.newPage();
    const errors = pageErrors(other);
    try {
      await other.goto(`${admin.url}/`);
      const line = (server: string) => other.getByRole("region", { name: server }).locator(".aggregate");
      await line("clock").waitFor({ timeout: 10_000 });
      assert.equal(
        await other.locator("#aggregate").textContent(),
        "Aggregate /mcp: 16 tools from 2 of 3 servers",
      );
      assert.equal(await line("notes").getAttribute("data-listed"), "current");
      assert.equal(await line("notes").textContent(), "aggregate: current · 12 tools · 1 left out");
      assert.match((await line("notes").getAttribute("title")) ?? "", /bad name! \(invalid\)/);
      assert.equal(await line("files").getAttribute("data-listed"), "cached");
      assert.equal(await line("files").textContent(), "aggregate: cached · 4 tools · grace 34 s");
      assert.equal(await line("clock").getAttribute("data-listed"), "omitted");
      assert.equal(await line("clock").textContent(), "aggregate: omitted");
      mkdirSync(artifacts, { recursive: true });
      await other.screenshot({
        path: new URL("dashboard-aggregate.png", artifacts).pathname,
        fullPage: true,
      });

      view = withGrace(20_500);
      await other.getByText("aggregate: cached · 4 tools · grace 21 s").waitFor({ timeout: 10_000 });

      view = undefined;
      await other.locator("#aggregate").waitFor({ state: "hidden", timeout: 10_000 });
      for (const server of ["notes", "files", "clock"]) assert.equal(await line(server).isVisible(), false);
      assert.deepEqual(errors, []);
    } finally {
      await other.close();
      await admin.close();
    }
  });

  it("shows the live processes of a stdio upstream on its card", async () => {
    const server = fileURLToPath(new URL("../support/stdioServer.ts", import.meta.url));
    const stdio = await startProxy(
      `[[upstreams]]\nname = "local"\ncommand = ${JSON.stringify([process.execPath, server])}\n`,
    );
    const client = new Client({ name: "dashboard-test", version: "1.0.0" });
    const other = await browser.newPage();
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(stdio.url)));
      await other.goto(`${stdio.adminUrl}/`);
      const card = other.locator(".card", { hasText: "local" });
      await card.locator(".processes-figure").waitFor({ timeout: 10_000 });
      assert.equal(await card.locator(".processes").textContent(), "1");
    } finally {
      await other.close();
      await client.close();
      await stdio.close();
    }
  });
});
