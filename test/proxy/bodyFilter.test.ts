import assert from "node:assert/strict";
import type { IncomingHttpHeaders } from "node:http";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { loadConfig } from "../../src/config/loadConfig.ts";
import type { BodyFilter } from "../../src/exchange/BodyFilter.ts";
import { CircuitBreaker } from "../../src/index.ts";
import type { ExchangeJudge } from "../../src/judges/ExchangeJudge.ts";
import type { Call } from "../../src/proxy/Call.ts";
import { HttpUpstream } from "../../src/upstreams/http/HttpUpstream.ts";
import { startBareProxy } from "../support/bareProxy.ts";
import { type Handler, startUpstream } from "../support/upstream.ts";

const opened: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

/** A judge that keeps every body byte it is fed and answers success at the end. */
function recordingJudge(): ExchangeJudge & { readonly seen: Buffer[] } {
  const seen: Buffer[] = [];
  return {
    seen,
    head: () => "pending",
    data(chunk) {
      seen.push(chunk);
      return "pending";
    },
    end: () => "success",
  };
}

/** Upper-cases each chunk as it comes; its head drops content-length and says it filtered. */
const upperCase = (): BodyFilter => ({
  head: (_status: number, { "content-length": _, ...headers }: IncomingHttpHeaders) => ({
    ...headers,
    "x-filtered": "yes",
  }),
  data: (chunk) => Buffer.from(chunk.toString("utf8").toUpperCase()),
  end: () => undefined,
});

/** Holds the whole body and writes it reversed at the end. */
function reversing(): BodyFilter {
  const held: Buffer[] = [];
  return {
    head: (_status, { "content-length": _, ...headers }) => headers,
    data(chunk) {
      held.push(chunk);
      return undefined;
    },
    end: () => Buffer.from([...Buffer.concat(held).toString("utf8")].reverse().join("")),
  };
}

/** A bare proxy in front of an upstream answering with `handler`, each call judged and filtered as given. */
async function proxyWith(handler: Handler, judge: ExchangeJudge, filter: () => BodyFilter) {
  const upstream = await startUpstream(handler);
  opened.push(() => upstream.close());
  const { config } = loadConfig({ upstreams: [upstream.url] });
  const http = new HttpUpstream(
    config.upstreams[0] as (typeof config.upstreams)[0],
    new CircuitBreaker({ name: "u" }),
    5_000,
  );
  opened.push(() => http.close());
  const call: Call = { judge: () => judge, bodyFilter: filter };
  const proxy = await startBareProxy([http], { calls: { read: () => call } });
  opened.push(() => proxy.close());
  return { upstream, proxy };
}

describe("an exchange's body filter (what the client gets instead of the upstream's bytes)", () => {
  it("feeds the judge what the upstream sent while the client gets what the filter makes of it", async () => {
    const judge = recordingJudge();
    const { proxy } = await proxyWith(
      (_req, res) => {
        res.writeHead(200, { "content-type": "application/json", "content-length": "11" });
        res.write("hello ");
        res.end("world");
      },
      judge,
      upperCase,
    );
    const res = await request(proxy.url, { method: "POST", body: "{}" });
    assert.equal(await res.body.text(), "HELLO WORLD");
    assert.equal(res.headers["x-filtered"], "yes");
    assert.equal(res.headers["content-length"], undefined);
    assert.equal(Buffer.concat(judge.seen).toString("utf8"), "hello world");
    assert.deepEqual(
      proxy.settled.map((s) => s.outcome),
      ["success"],
    );
  });

  it("writes what the filter held back when the upstream's body ends", async () => {
    const { proxy } = await proxyWith(
      (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.write("abc");
        res.end("def");
      },
      recordingJudge(),
      reversing,
    );
    const res = await request(proxy.url, { method: "POST", body: "{}" });
    assert.equal(await res.body.text(), "fedcba");
  });

  it("sends an event stream's head at once while the filter holds its body", async () => {
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const { proxy } = await proxyWith(
      (_req, res) => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.flushHeaders();
        void released.then(() => res.end("data: late\n\n"));
      },
      recordingJudge(),
      reversing,
    );
    // the head comes while the upstream has sent no byte of its body
    const res = await request(proxy.url, { method: "POST", body: "{}" });
    assert.equal(res.headers["content-type"], "text/event-stream");
    release();
    assert.equal(await res.body.text(), "\n\netal :atad");
  });
});
