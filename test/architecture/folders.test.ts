import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const src = fileURLToPath(new URL("../../src/", import.meta.url));

/** Every `.ts` file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** The top folder of `src/` a file is in ("." for the files at its root). */
function folderOf(file: string): string {
  const [first, ...rest] = relative(src, file).split("/");
  return rest.length === 0 ? "." : (first as string);
}

/** For each folder, the folders its files import from (relative imports, types included), with a witness. */
function folderImports(): Map<string, Map<string, string>> {
  const edges = new Map<string, Map<string, string>>();
  const specifier = /^(?:import|export)\s[^;]*?from\s+"(\.{1,2}\/[^"]+)"/gm;
  for (const file of sources(src)) {
    const from = folderOf(file);
    for (const match of readFileSync(file, "utf8").matchAll(specifier)) {
      const target = normalize(join(dirname(file), match[1] as string));
      const to = folderOf(target);
      if (to === from) continue;
      const targets = edges.get(from) ?? new Map<string, string>();
      edges.set(from, targets);
      if (!targets.has(to)) targets.set(to, `${relative(src, file)} → ${relative(src, target)}`);
    }
  }
  return edges;
}

describe("the source tree's architecture", () => {
  it("has no import cycle between folders: each folder's dependencies form a DAG", () => {
    const edges = folderImports();
    const cycles: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (folder: string, path: string[]): void => {
      if (state.get(folder) === "done") return;
      if (state.get(folder) === "visiting") {
        const cycle = [...path.slice(path.indexOf(folder)), folder];
        const witnesses = cycle.slice(1).map((to, i) => edges.get(cycle[i] as string)?.get(to));
        cycles.push(`${cycle.join(" → ")}\n    ${witnesses.join("\n    ")}`);
        return;
      }
      state.set(folder, "visiting");
      for (const to of edges.get(folder)?.keys() ?? []) visit(to, [...path, folder]);
      state.set(folder, "done");
    };
    for (const folder of edges.keys()) visit(folder, []);
    assert.deepEqual(cycles, []);
  });

  it("keeps the library free of the proxy: src/breaker imports nothing outside itself", () => {
    assert.deepEqual([...(folderImports().get("breaker")?.values() ?? [])], []);
  });
});
