/**
 * The first run (no file at `--marker`) creates the marker and exits with code 1 at once,
 * as a server that crashes on a transient fault does; every later run is the modern test server
 * (test/support/modernStdioServer.ts, SDK 2.x serveStdio).
 */
import { existsSync, writeFileSync } from "node:fs";

const at = process.argv.indexOf("--marker");
const marker = process.argv[at + 1] as string;
if (!existsSync(marker)) {
  writeFileSync(marker, "");
  process.exit(1);
}
await import("../support/modernStdioServer.ts");
