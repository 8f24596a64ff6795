import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { stringify } from "smol-toml";
import type { z } from "zod";
import { ConfigError } from "../../src/config/ConfigError.ts";
import { loadConfig } from "../../src/config/loadConfig.ts";
import { configSchema } from "../../src/config/schema.ts";
import { maxTimerMs } from "../../src/time/Timers.ts";

/** A key's place in the file: table names, and 0 for "the first element" of an array of tables. */
type KeyPath = readonly (string | 0)[];

/**
 * Every key of the schema whose name says it is a duration (`…_ms`, `…_secs`), found by walking the
 * schema itself: a duration key added later is in this table without anyone listing it.
 */
function durationKeys(schema: z.core.$ZodType, path: KeyPath = []): KeyPath[] {
  const def = schema._zod.def as z.core.$ZodTypeDef & {
    innerType?: z.core.$ZodType;
    element?: z.core.$ZodType;
    shape?: Record<string, z.core.$ZodType>;
  };
  switch (def.type) {
    case "optional":
    case "default":
    case "prefault":
    case "nullable":
      return durationKeys(def.innerType as z.core.$ZodType, path);
    case "array":
      return durationKeys(def.element as z.core.$ZodType, [...path, 0]);
    case "object":
      return Object.entries(def.shape ?? {}).flatMap(([key, value]) =>
        /_(ms|secs)$/.test(key) ? [[...path, key]] : durationKeys(value, [...path, key]),
      );
    default:
      return [];
  }
}

const keys = durationKeys(configSchema);
const dir = mkdtempSync(join(tmpdir(), "breakwater-durations-"));
after(() => rmSync(dir, { recursive: true }));

/**
 * A config with one command upstream (which takes every upstream key) and `value` at `path`: top-level,
 * or a server's when `path` is in `[[servers]]`.
 */
function configWith(path: KeyPath, value: number): string {
  const upstreams = [{ name: "s", command: ["server"] }];
  const file: Record<string, unknown> =
    path[0] === "servers" ? { servers: [{ name: "s", route: "/s", upstreams }] } : { upstreams };
  let table: Record<string, unknown> | unknown[] = file;
  path.forEach((part, i) => {
    const at = table as Record<string | number, unknown>;
    if (i === path.length - 1) {
      at[part] = value;
      return;
    }
    at[part] ??= typeof path[i + 1] === "number" ? [] : {};
    table = at[part] as Record<string, unknown>;
  });
  const configPath = join(dir, `${path.join(".")}.toml`);
  writeFileSync(configPath, stringify(file));
  return configPath;
}

const written = (path: KeyPath) =>
  path.map((p, i) => (p === 0 ? "[0]" : `${i === 0 ? "" : "."}${p}`)).join("");

/** Duration keys with limits of their own, well under 2^31-1 ms (tested with their tables). */
const tighter = ["aggregate.grace_secs", "aggregate.list_timeout_ms"];
const limitOf = (path: KeyPath) => (String(path.at(-1)).endsWith("_ms") ? maxTimerMs : maxTimerMs / 1_000);

describe("duration keys (anything _ms or _secs)", () => {
  it("are found in the schema: every table's durations, upstreams' and servers' included", () => {
    for (const known of [
      "proxy.request_timeout_ms",
      "proxy.answer_timeout_ms",
      "proxy.circuit_breaker.timeout_duration_secs",
      "proxy.tool_circuit.window_duration_secs",
      "proxy.health_check.interval_secs",
      "upstreams[0].idle_timeout_secs",
      "upstreams[0].circuit_breaker.max_timeout_duration_secs",
      "upstreams[0].health_check.timeout_ms",
      "servers[0].circuit_breaker.timeout_duration_secs",
      "servers[0].health_check.interval_secs",
      "servers[0].upstreams[0].idle_timeout_secs",
      "servers[0].upstreams[0].tool_circuit.slow_call_duration_ms",
      ...tighter,
    ]) {
      assert.ok(keys.map(written).includes(known), `${known} in ${keys.map(written).join(", ")}`);
    }
    // 24 of [server], [proxy] and [[upstreams]]; a server's sections and its upstreams' (SPEC §7.1) 21
    // more; [aggregate]'s 2 (SPEC §7.2)
    assert.equal(keys.length, 47);
  });

  for (const path of keys.filter((k) => !tighter.includes(written(k)))) {
    const key = written(path);
    const limit = limitOf(path);
    const [over, words] = String(path.at(-1)).endsWith("_ms")
      ? [maxTimerMs + 1, "at most 2147483647 ms (about 24.8 days)"]
      : [2_147_484, "at most 2147483.647 s (2147483647 ms, about 24.8 days)"];

    it(`refuses ${key} beyond 2^31-1 ms, naming the key, the limit and the value`, () => {
      const configPath = configWith(path, over);
      assert.throws(
        () => loadConfig({ configPath }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, String(error));
          assert.equal(error.message, `${configPath}: ${key}: ${words}, got ${over}`);
          return true;
        },
      );
    });

    it(`takes ${key} at 2^31-1 ms exactly`, () => {
      assert.doesNotThrow(() => loadConfig({ configPath: configWith(path, limit) }));
    });
  }
});
