import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { headerCarrier, withHeaderContext } from "../../src/telemetry/headerContext.ts";
import { carrierGetter, carrierSetter, type TraceCarrier } from "../../src/telemetry/traceCarrier.ts";
import { rawRequest } from "../support/rawHttp.ts";

const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const child = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01";

/** The headers node parses out of `lines` sent on a real socket. */
async function parsedHeaders(lines: string[]): Promise<IncomingHttpHeaders> {
  let headers: IncomingHttpHeaders | undefined;
  const server = createServer((req, res) => {
    headers = req.headers;
    res.end();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  try {
    const { port } = server.address() as AddressInfo;
    const head = ["GET / HTTP/1.1", "Host: x", ...lines, "Connection: close", "", ""].join("\r\n");
    await rawRequest(`http://127.0.0.1:${port}/`, head);
  } finally {
    server.close();
  }
  assert.ok(headers !== undefined, "the server saw the request");
  return headers;
}

test("replaces every traceparent and tracestate header, in any case, and keeps the others in order", () => {
  const raw = [
    "Host",
    "x",
    "TraceParent",
    parent,
    "Accept",
    "a/b",
    "TRACESTATE",
    "congo=1",
    "traceparent",
    "x",
  ];
  assert.deepEqual(withHeaderContext(raw, { traceparent: child, tracestate: "rojo=2,congo=1" }), [
    "Host",
    "x",
    "Accept",
    "a/b",
    "traceparent",
    child,
    "tracestate",
    "rojo=2,congo=1",
  ]);
});

test("drops the client's tracestate header when the context sent has none", () => {
  const raw = ["traceparent", parent, "tracestate", "congo=1", "X-Ten-Chars", "v"];
  assert.deepEqual(withHeaderContext(raw, { traceparent: child }), [
    "X-Ten-Chars",
    "v",
    "traceparent",
    child,
  ]);
});

test("adds the trace context to headers that had none, leaving the given list as it was", () => {
  const raw = ["Host", "x"];
  assert.deepEqual(withHeaderContext(raw, { traceparent: child }), ["Host", "x", "traceparent", child]);
  assert.deepEqual(raw, ["Host", "x"]);
});

test("reads a request's traceparent and its tracestate headers, repeated tracestate headers as one list", async () => {
  const headers = await parsedHeaders([
    `TraceParent: ${parent}`,
    "tracestate: rojo=2",
    "Tracestate: congo=1",
  ]);
  const carrier = headerCarrier(headers);
  assert.equal(carrier?.traceparent, parent);
  // W3C: a list split over headers is one list; node's ", " join is the list's optional white space
  assert.deepEqual(carrier?.tracestate?.split(/\s*,\s*/), ["rojo=2", "congo=1"]);
});

test("gives no trace context for a traceparent header sent twice, nor for none", async () => {
  const twice = await parsedHeaders([`traceparent: ${parent}`, `traceparent: ${child}`, "tracestate: a=1"]);
  assert.equal(headerCarrier(twice), undefined);
  assert.equal(headerCarrier({ tracestate: "a=1" }), undefined);
});

test("a tracestate-less request gives a carrier without tracestate", () => {
  assert.deepEqual(headerCarrier({ traceparent: parent }), { traceparent: parent });
});

test("the carrier round-trips through OpenTelemetry's W3C propagator: extract, then inject, gives the same values", () => {
  const propagator = new W3CTraceContextPropagator();
  const read: TraceCarrier & { method: string } = {
    method: "tools/call",
    traceparent: parent,
    tracestate: "rojo=2",
  };
  const context = propagator.extract(ROOT_CONTEXT, read, carrierGetter);
  const span = trace.getSpanContext(context);
  assert.equal(span?.traceId, "0af7651916cd43dd8448eb211c80319c");
  assert.equal(span?.isRemote, true);
  const written: TraceCarrier = {};
  propagator.inject(context, written, carrierSetter);
  assert.deepEqual(written, { traceparent: parent, tracestate: "rojo=2" });
  assert.deepEqual(carrierGetter.keys(read), ["traceparent", "tracestate"]);
});

test("the carrier setter keeps only the trace context fields", () => {
  const written: TraceCarrier = {};
  carrierSetter.set(written, "baggage", "a=1");
  carrierSetter.set(written, "traceparent", child);
  assert.deepEqual(written, { traceparent: child });
  assert.equal(carrierGetter.get({ traceparent: child }, "baggage"), undefined);
});
