// npm's `prepare` script: npm runs it after `npm install` / `npm ci` in a clone of the repository (and
// during `npm pack`, after `prepack`), never when the package is installed from a tarball or a registry.
//
// - A development install has TypeScript (a devDependency) and builds dist/, which the `breakwater`
//   command runs; so `npm install && npm test` needs nothing more on a fresh machine.
// - An install with `--omit=dev` has no compiler: it says so and succeeds instead of failing on
//   `tsc: not found` (a clone is built with a development install; a user installs the packed tarball).
// - During `npm pack` / `npm publish`, `prepack` has just built dist/; building again would only cost time.
//
// Plain JavaScript, since without devDependencies the Node that runs it is whichever is on PATH.
import { execSync } from "node:child_process";
import { createRequire } from "node:module";

const command = process.env.npm_command;
if (command === "pack" || command === "publish") process.exit(0);

let compiler = null;
try {
  compiler = createRequire(import.meta.url).resolve("typescript");
} catch {
  // not installed: an install with --omit=dev
}

if (compiler === null) {
  process.stderr.write("breakwater prepare: TypeScript is not installed (--omit=dev), dist/ not built\n");
} else {
  execSync("npm run build", { stdio: "inherit" });
}
