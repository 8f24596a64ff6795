#!/usr/bin/env node
import { readFileSync } from "node:fs";

/**
 * The `breakwater` command. Until the proxy lands it answers only --help and --version; anything else
 * is a usage error (exit 2).
 */
const usage = `Usage: breakwater [--help] [--version]

Breakwater is a circuit-breaking reverse proxy for MCP servers and HTTP services.
The proxy itself is under construction; the circuit-breaker library is ready:
  import { CircuitBreaker } from "breakwater";
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

const [first, ...rest] = process.argv.slice(2);
if (first === "--help" || first === "-h") {
  process.stdout.write(usage);
} else if (first === "--version" || first === "-v") {
  process.stdout.write(`${version()}\n`);
} else {
  const what = first === undefined ? "no arguments" : `"${[first, ...rest].join(" ")}"`;
  process.stderr.write(`breakwater: unsupported usage: ${what}\n\n${usage}`);
  process.exitCode = 2;
}
