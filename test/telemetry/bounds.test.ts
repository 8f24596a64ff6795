import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createNoopMeter } from "@opentelemetry/api";
import { Registry } from "prom-client";
import { spanName } from "../../src/telemetry/mcpRequestFacts.ts";
import { OperationDurations } from "../../src/telemetry/OperationDurations.ts";

/** What a client writes ends up in spans and metrics: neither may grow without bound (SPEC §9). */
describe("telemetry's bounds on what clients write", () => {
  it("cuts a span name made of a huge tool name", () => {
    const name = spanName({ method: "tools/call", toolName: "x".repeat(100_000), promptName: undefined });
    assert.ok(name.length <= 129, `${name.length} characters`);
    assert.ok(name.startsWith("tools/call xxx"));
    assert.equal(
      spanName({ method: "tools/call", toolName: "add", promptName: undefined }),
      "tools/call add",
    );
  });

  it("keeps the first 512 tool names as labels and records every later one as other", async () => {
    const registry = new Registry();
    const durations = new OperationDurations(createNoopMeter());
    durations.showOn(registry);
    const facts = (tool: string) => ({
      method: "tools/call",
      tool,
      prompt: undefined,
      protocolVersion: undefined,
      errorType: undefined,
      statusCode: undefined,
      server: "s",
    });
    for (let i = 0; i < 2_000; i++) durations.served(0.001, facts(`tool${i}`));
    const text = await registry.metrics();
    const tools = new Set(
      [...text.matchAll(/mcp_server_operation_duration_seconds_count\{[^}]*gen_ai_tool_name="([^"]*)"/g)].map(
        (m) => m[1],
      ),
    );
    assert.equal(tools.size, 513);
    assert.ok(tools.has("tool0") && tools.has("tool511") && tools.has("other"));
    assert.ok(!tools.has("tool512"));
    assert.match(text, /gen_ai_tool_name="other"[^}]*\} 1488/);
  });

  it("bounds the methods a client invents alike", async () => {
    const registry = new Registry();
    const durations = new OperationDurations(createNoopMeter());
    durations.showOn(registry);
    for (let i = 0; i < 500; i++)
      durations.served(0.001, {
        method: `made/up${i}`,
        tool: undefined,
        prompt: undefined,
        protocolVersion: undefined,
        errorType: `-${i}`,
        statusCode: `-${i}`,
        server: "s",
      });
    const text = await registry.metrics();
    const series = text
      .split("\n")
      .filter((l) => l.startsWith("mcp_server_operation_duration_seconds_count"));
    assert.ok(series.length <= 65, `${series.length} series`);
  });
});
