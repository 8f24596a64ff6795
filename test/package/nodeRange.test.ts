import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

/** The `breakwater` command's entry point: plain CommonJS, checked here as the module it also is. */
interface Wrapper {
  parseVersion(text: string): [number, number, number] | null;
  parseRange(range: string): unknown[];
  satisfies(nodeVersion: string, range: string): boolean;
  describeRange(range: string): string;
  refusal(nodeVersion: string, execPath: string, range: string): string;
}

const root = new URL("../../", import.meta.url);
const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as {
  version: string;
  bin: { breakwater: string };
  engines: { node: string };
};
const wrapper = createRequire(import.meta.url)("../../bin/breakwater.cjs") as Wrapper;
/** What `npm install` links as the `breakwater` command. */
const bin = fileURLToPath(new URL(pkg.bin.breakwater, root));
const range = pkg.engines.node;
const oldNode = "/usr/bin/node";

/** Runs the command with a given Node (not necessarily this one): its exit code and output. */
function runWith(node: string, ...args: string[]) {
  const run = spawnSync(node, [bin, ...args], { encoding: "utf8", timeout: 30_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("the Node range (engines.node, the command's start-up check, the README)", () => {
  it("admits 22.19.0 and later 22.x, and 24 and later; refuses 22.18, 23, 20 and older", () => {
    const admitted = ["22.19.0", "22.20.1", "22.99.0", "24.0.0", "24.21.0", "25.1.0", "30.0.0"];
    const refused = ["22.18.9", "22.0.0", "23.11.0", "21.7.3", "20.20.2", "18.20.8", "16.20.2", "14.21.3"];
    for (const version of admitted)
      assert.equal(wrapper.satisfies(version, "^22.19.0 || >=24"), true, version);
    for (const version of refused)
      assert.equal(wrapper.satisfies(version, "^22.19.0 || >=24"), false, version);
  });

  it("reads versions with a v, a pre-release or fewer parts, and refuses what is no version", () => {
    assert.deepEqual(wrapper.parseVersion("v24.1.2"), [24, 1, 2]);
    assert.deepEqual(wrapper.parseVersion("24.0.0-pre"), [24, 0, 0]);
    assert.deepEqual(wrapper.parseVersion("24"), [24, 0, 0]);
    assert.equal(wrapper.parseVersion("lts"), null);
    assert.equal(wrapper.satisfies("lts", ">=1"), false);
  });

  it("throws on a range outside the syntax it reads, rather than admitting every Node", () => {
    for (const unread of ["~22.19.0", ">=22 <23", "22.x", "", "*"]) {
      assert.throws(() => wrapper.parseRange(unread), /unsupported engines\.node range/, unread);
    }
  });

  it("refuses in one line that names the Node needed and the Node found", () => {
    const line = wrapper.refusal("20.20.2", "/usr/bin/node", "^22.19.0 || >=24");
    assert.equal(
      line,
      "breakwater needs Node.js 22.19.0 or a later 22.x, or 24.0.0 or later (engines: ^22.19.0 || >=24); " +
        "this is Node.js 20.20.2 (/usr/bin/node)",
    );
  });

  it("package.json's engines.node is a range the command reads, and admits the Node of the tests", () => {
    assert.doesNotThrow(() => wrapper.parseRange(range));
    assert.equal(wrapper.satisfies(process.versions.node, range), true);
  });

  it("the README states that range, and no other Node version requirement", () => {
    const readme = readFileSync(new URL("README.md", root), "utf8");
    assert.ok(readme.includes(`Node.js \`${range}\``), `the README names Node.js \`${range}\``);
    assert.deepEqual(readme.match(/Node(?:\.js)? ?(?:≥|>=) ?\d+/g) ?? [], []);
  });

  it("on an older Node (the machine's /usr/bin/node) writes one line naming the Node needed, exit 1", {
    skip:
      !existsSync(oldNode) ||
      wrapper.satisfies(
        spawnSync(oldNode, ["-p", "process.versions.node"], { encoding: "utf8" }).stdout,
        range,
      ),
  }, () => {
    const run = runWith(oldNode, "--version");
    assert.equal(run.status, 1);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /^breakwater needs Node\.js [^\n]+\n$/);
    assert.ok(run.stderr.includes(`(engines: ${range})`), run.stderr);
  });

  it("on a Node in the range runs the built command (dist/cli.js)", () => {
    assert.ok(existsSync(new URL("dist/cli.js", root)), "dist/cli.js is missing: npm run build");
    const run = runWith(process.execPath, "--version");
    assert.deepEqual([run.status, run.stdout, run.stderr], [0, `${pkg.version}\n`, ""]);
  });
});
