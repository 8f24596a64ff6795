import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { until } from "../support/until.ts";
import { cleanups, headers, rig } from "./stdioRig.ts";

const rogue = fileURLToPath(new URL("../support/rogueStdioServer.ts", import.meta.url));
const modernHeaders = { ...headers, "mcp-protocol-version": "2026-07-28" };
const envelope = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": {},
};

function call(id: number, meta: Record<string, unknown> = {}): string {
  return JSON.stringify({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name: "any", arguments: {}, _meta: { ...envelope, ...meta } },
  });
}

async function post(url: string, body: string) {
  const res = await request(url, { method: "POST", headers: modernHeaders, body });
  return { status: res.statusCode, type: String(res.headers["content-type"]), body: await res.body.text() };
}

describe("the bounds of the shared pool (SPEC §8.3)", () => {
  it("drops what a process writes for no call in flight, refuses its requests, and still answers the call", async () => {
    const { proxy, stderr, upstream } = await rig([], {}, rogue);
    const answers = await Promise.all([1, 2].map((id) => post(proxy.url, call(id, { progressToken: id }))));
    answers.forEach((answer, i) => {
      assert.equal(answer.status, 200);
      assert.equal(answer.type, "application/json", "nothing of the stray messages came before the answer");
      assert.deepEqual(JSON.parse(answer.body), {
        jsonrpc: "2.0",
        id: i + 1,
        result: { resultType: "complete", content: [{ type: "text", text: "fine" }] },
      });
    });
    await until(() => stderr.filter((line) => line === "error -32601 for ask-1").length === 2, "refusals");
    assert.equal(upstream.processes, 1, "the process was not given up on");
  });

  it("takes a process that exits during the probe for a failure that tells no era, and one that says nothing within the probe timeout for the earlier era", async () => {
    const failing = await rig(["--fail-start"]);
    const exited = await post(failing.proxy.url, call(1));
    assert.equal(exited.status, 502, "a crash, as an exit before initialize is");
    assert.equal(failing.upstream.era, undefined, "asked again with the next request's process");

    const dir = mkdtempSync(join(tmpdir(), "breakwater-probe-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const silent = await rig(["--wait-for", join(dir, "never")]);
    const answer = post(silent.proxy.url, call(1));
    await until(() => silent.pids().length === 1, "the probed process is up");
    await silent.timers.advance(9_999);
    assert.equal(silent.upstream.era, undefined, "still probing");
    await silent.timers.advance(1);
    assert.equal((await answer).status, 400);
    assert.equal(silent.upstream.era, "earlier");
  });
});
