import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { CircuitOpenError, ErrorCode, isCircuitOpenError } from "../../src/index.ts";

const root = new URL("../..", import.meta.url);

function sourceFiles(dir: URL): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(new URL(`${entry.name}/`, dir))
      : entry.name.endsWith(".ts")
        ? [readFileSync(new URL(entry.name, dir), "utf8")]
        : [],
  );
}

describe("error codes", () => {
  it("documents every code the source uses in docs/errors.md, and no other", () => {
    // a code is defined as `code = "BREAKWATER_…"` or as a value `key: "BREAKWATER_…"` (environment
    // variable names such as BREAKWATER_ADMIN_TOKEN are not codes)
    const definition = /(?:code\s*=\s*|:\s*)"(BREAKWATER_[A-Z_]+)"/g;
    const used = new Set(
      sourceFiles(new URL("src/", root)).flatMap((text) =>
        [...text.matchAll(definition)].map((m) => m[1] as string),
      ),
    );
    const docs = readFileSync(new URL("docs/errors.md", root), "utf8");
    const documented = new Set(docs.match(/^## `(BREAKWATER_[A-Z_]+)`/gm)?.map((h) => h.slice(4, -1)));
    assert.ok(used.size >= Object.keys(ErrorCode).length);
    assert.deepEqual([...used].sort(), [...documented].sort());
  });

  it("recognises a CircuitOpenError thrown by another copy of the package", async () => {
    const dir = mkdtempSync(join(tmpdir(), "breakwater-copy-"));
    try {
      cpSync(new URL("src/", root), join(dir, "src"), { recursive: true });
      const copy = (await import(
        pathToFileURL(join(dir, "src/index.ts")).href
      )) as typeof import("../../src/index.ts");
      assert.notEqual(copy.CircuitOpenError, CircuitOpenError, "a distinct copy of the package");
      const foreign = new copy.CircuitBreaker();
      foreign.forceOpen();
      const error = await foreign.execute(async () => 1).catch((e: unknown) => e);
      assert.ok(!(error instanceof CircuitOpenError));
      assert.ok(isCircuitOpenError(error));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("does not mistake other errors for a CircuitOpenError", () => {
    assert.equal(isCircuitOpenError(new Error("x")), false);
    assert.equal(isCircuitOpenError(null), false);
    assert.equal(isCircuitOpenError({ code: "ECONNREFUSED" }), false);
  });
});
