import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";

const root = new URL("../../", import.meta.url);
const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as {
  scripts: Record<string, string>;
};

describe("npm's prepare script (run by npm install / npm ci in a clone)", () => {
  // a clone installed with --omit=dev: the script, and no node_modules with TypeScript above it
  const clone = mkdtempSync(join(tmpdir(), "breakwater-prepare-"));
  after(() => rmSync(clone, { recursive: true, force: true }));
  const prepare = pkg.scripts["prepare"] ?? "";
  const script = /^node (scripts\/\S+\.mjs)$/.exec(prepare)?.[1];
  if (script !== undefined) {
    mkdirSync(join(clone, "scripts"));
    copyFileSync(new URL(script, root), join(clone, script));
  }
  /** Runs the script in the clone as npm would for `npm <command>`. */
  const runPrepare = (command: string) => {
    const env = { ...process.env, npm_command: command };
    const run = spawnSync(process.execPath, [script ?? ""], { cwd: clone, env, encoding: "utf8" });
    return { status: run.status, stderr: run.stderr };
  };

  it("is a plain JavaScript file any Node runs (no TypeScript, no compiler)", () => {
    assert.ok(script !== undefined, `prepare is "${prepare}", not "node scripts/<file>.mjs"`);
  });

  it("succeeds without building where TypeScript is not installed (an install with --omit=dev)", () => {
    assert.ok(script !== undefined);
    const run = runPrepare("ci");
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /TypeScript is not installed \(--omit=dev\), dist\/ not built/);
  });

  it("leaves the build to prepack during npm pack and npm publish", () => {
    assert.ok(script !== undefined);
    assert.equal(pkg.scripts["prepack"], "npm run build");
    for (const command of ["pack", "publish"]) {
      assert.deepEqual(runPrepare(command), { status: 0, stderr: "" }, command);
    }
  });
});
