import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { runChild } from "./support/runChild.ts";

const cli = fileURLToPath(new URL("../src/cli.ts", import.meta.url));
const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string;
};

describe("breakwater (CLI)", () => {
  it("prints its version with --version and exits 0", async () => {
    const result = await runChild([cli, "--version"]);
    assert.deepEqual([result.code, result.stdout], [0, `${pkg.version}\n`]);
  });

  it("prints usage with --help and exits 0", async () => {
    const result = await runChild([cli, "--help"]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^Usage: breakwater/);
  });

  it("exits 2 with the usage on stderr for anything it does not understand", async () => {
    const result = await runChild([cli, "--frobnicate"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unsupported usage: "--frobnicate"/);
    assert.equal(result.stdout, "");
  });
});
