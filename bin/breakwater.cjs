#!/usr/bin/env node
/*
 * The `breakwater` command's entry point: the one file a Node parses before its version is checked.
 *
 * dist/ needs a recent Node (undici 8 asks for 22.19; tls.getCACertificates came in 22.15), and on an
 * older one it dies with a SyntaxError about a missing export. So this file checks process.versions.node
 * against package.json's `engines.node` first and, on an older Node, writes one line naming the Node it
 * needs and exits 1. It is CommonJS in old syntax (no `?.`, `??`, static `import` or top-level await) so
 * that Node 10 and later parse it; `import()` below runs only on a Node the range admits.
 */
"use strict";

// biome-ignore-start lint/style/useNodejsImportProtocol: require("node:…") fails before Node 14.18
const fs = require("fs");
const path = require("path");
const url = require("url");
// biome-ignore-end lint/style/useNodejsImportProtocol: (see above)

/** "22.19.0", "v24", "24.0.0-pre" → [22, 19, 0]; null for anything else. */
function parseVersion(text) {
  const match = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+].*)?$/.exec(String(text).trim());
  if (match === null) return null;
  return [Number(match[1]), Number(match[2] || 0), Number(match[3] || 0)];
}

function compareVersions(a, b) {
  for (let i = 0; i < 3; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}

/**
 * The subset of npm's range syntax `engines.node` is written in: alternatives joined by `||`, each
 * `>=X.Y.Z` or `^X.Y.Z` (X.Y.Z or later within major X). Anything else throws, so a range this file
 * cannot read fails its test rather than admitting every Node.
 */
function parseRange(range) {
  return String(range)
    .split("||")
    .map((alternative) => {
      const match = /^\s*(>=|\^)\s*(\S+)\s*$/.exec(alternative);
      const version = match === null ? null : parseVersion(match[2]);
      if (match === null || version === null) {
        throw new Error(`unsupported engines.node range: ${range}`);
      }
      return { operator: match[1], version: version };
    });
}

/** Whether a Node version (process.versions.node) is inside an engines.node range. */
function satisfies(nodeVersion, range) {
  const version = parseVersion(nodeVersion);
  if (version === null) return false;
  return parseRange(range).some((alternative) => {
    if (compareVersions(version, alternative.version) < 0) return false;
    return alternative.operator === ">=" || version[0] === alternative.version[0];
  });
}

/** "^22.19.0 || >=24" → "22.19.0 or a later 22.x, or 24.0.0 or later". */
function describeRange(range) {
  return parseRange(range)
    .map((alternative) => {
      const version = alternative.version.join(".");
      return alternative.operator === "^"
        ? `${version} or a later ${alternative.version[0]}.x`
        : `${version} or later`;
    })
    .join(", or ");
}

/** The one line printed on a Node outside the range. */
function refusal(nodeVersion, execPath, range) {
  return `breakwater needs Node.js ${describeRange(range)} (engines: ${range}); this is Node.js ${nodeVersion} (${execPath})`;
}

function main() {
  const root = path.join(__dirname, "..");
  const range = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).engines.node;
  if (!satisfies(process.versions.node, range)) {
    process.stderr.write(`${refusal(process.versions.node, process.execPath, range)}\n`);
    process.exitCode = 1;
    return;
  }
  const cli = path.join(root, "dist", "cli.js");
  if (!fs.existsSync(cli)) {
    process.stderr.write(`breakwater: ${cli} is missing; in a clone of the repository, run npm run build\n`);
    process.exitCode = 1;
    return;
  }
  import(url.pathToFileURL(cli).href);
}

module.exports = { parseVersion, parseRange, satisfies, describeRange, refusal };

if (require.main === module) main();
