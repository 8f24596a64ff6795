import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { loadConfig } from "../../src/config/loadConfig.ts";

// made as the test file imports this (at its top level), so that it goes when the file's tests end
const dir = mkdtempSync(join(tmpdir(), "breakwater-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** A config file holding `toml`, in a folder removed when the test file's tests end. */
export function configFile(toml: string): string {
  const path = join(dir, `c${++files}.toml`);
  writeFileSync(path, toml);
  return path;
}

/** `toml` loaded as the proxy loads its file, with no environment. */
export const loadToml = (toml: string) => loadConfig({ configPath: configFile(toml) }, {});
