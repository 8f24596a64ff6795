import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { Breakwater } from "../../src/app/Breakwater.ts";
import { createLogger } from "../../src/app/logger.ts";
import type { Config } from "../../src/config/Config.ts";
import { loadConfig } from "../../src/config/loadConfig.ts";
import { targetPath } from "../../src/http/targetPath.ts";
import { upstreamsToml } from "../support/proxy.ts";
import { echo, type Handler, startUpstream } from "../support/upstream.ts";

const opened: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

async function fetchText(url: string) {
  const res = await request(url);
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/**
 * A config with the given servers (until `[[servers]]` can be written in TOML): the upstreams are read
 * from an old-form file, then shared out by name.
 */
function serversConfig(
  toml: string,
  servers: Record<string, { route: string; upstreams: string[] }>,
): Config {
  const dir = mkdtempSync(join(tmpdir(), "breakwater-servers-"));
  try {
    const path = join(dir, "breakwater.toml");
    writeFileSync(path, toml);
    const { config } = loadConfig(
      { configPath: path, listen: "127.0.0.1:0", adminListen: "127.0.0.1:0" },
      {},
    );
    const byName = new Map(config.upstreams.map((u) => [u.name, u]));
    // the file's public_url as the servers form reads it: the proxy's root, joined with each route
    const root = config.servers[0]?.publicUrl;
    const grouped = Object.entries(servers).map(([name, { route, upstreams }]) => ({
      name,
      route,
      publicUrl: root === undefined ? undefined : new URL(targetPath(root.pathname, route), root),
      allowsTool: undefined,
      tools: undefined,
      upstreams: upstreams.map((u) => byName.get(u) ?? assert.fail(u)),
    }));
    return { ...config, upstreams: grouped.flatMap((server) => server.upstreams), servers: grouped };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Answers with its name, and a protected-resource metadata document naming its own URL. */
const named =
  (name: string, own: () => string): Handler =>
  (req, res, body) => {
    if (req.url?.startsWith("/.well-known/oauth-protected-resource") !== true)
      return echo(name)(req, res, body);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ resource: own() }));
  };

describe("servers assembled from a config (SPEC §7.1, §6.3)", () => {
  it("makes one pool per server, and a reload adds and removes servers, keeping upstreams by name", async () => {
    const started = await Promise.all(
      ["a1", "a2", "b1", "c1"].map(async (name) => {
        let url = "";
        const upstream = await startUpstream(named(name, () => url));
        url = `${upstream.url}/mcp`;
        opened.push(() => upstream.close());
        return upstream;
      }),
    );
    const toml = `[server]\npublic_url = "https://mcp.example.com/"\n${upstreamsToml(
      ["a1", "a2", "b1", "c1"].map((name, i) => ({ name, url: `${started[i]?.url}/mcp` })),
    )}`;
    const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
    const breakwater = new Breakwater({
      config: serversConfig(toml, {
        a: { route: "/a", upstreams: ["a1", "a2"] },
        b: { route: "/b", upstreams: ["b1"] },
      }),
      logger: createLogger(sink),
    });
    const { proxy } = await breakwater.start();
    opened.push(() => breakwater.close(1_000));
    const url = `http://127.0.0.1:${proxy.port}`;
    const reached = async (path: string) => {
      const answer = await fetchText(url + path);
      return answer.status === 200 ? answer.headers["x-upstream"] : answer.status;
    };
    assert.deepEqual(
      [await reached("/a"), await reached("/a/x"), await reached("/b"), await reached("/c")],
      ["a1", "a2", "b1", 404],
    );
    // public_url is the proxy's root: each server's resource is under its own route
    const resource = async (path: string) =>
      JSON.parse((await fetchText(`${url}/.well-known/oauth-protected-resource${path}`)).body).resource;
    assert.equal(await resource("/a"), "https://mcp.example.com/a");
    assert.equal(await resource("/b"), "https://mcp.example.com/b");
    const a1 = breakwater.upstreams.find((u) => u.name === "a1");

    const changes = breakwater.reload(
      serversConfig(toml, {
        a: { route: "/a", upstreams: ["a1", "a2"] },
        c: { route: "/c", upstreams: ["c1"] },
      }),
    );
    assert.deepEqual(changes.servers, { added: ["c"], removed: ["b"], changed: [] });
    assert.deepEqual([await reached("/a"), await reached("/b"), await reached("/c")], ["a1", 404, "c1"]);
    assert.equal(
      breakwater.upstreams.find((u) => u.name === "a1"),
      a1,
      "a's upstream went on as it was",
    );

    const moved = breakwater.reload(
      serversConfig(toml, {
        a: { route: "/tools", upstreams: ["a1", "a2"] },
        c: { route: "/c", upstreams: ["c1"] },
      }),
    );
    assert.deepEqual(moved.servers, { added: [], removed: [], changed: ["a"] });
    assert.deepEqual(moved.removed, []);
    assert.deepEqual([await reached("/tools"), await reached("/a")], ["a1", 404]);
  });
});
