import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, resolve } from "node:path";
import type { Config } from "../config/Config.ts";
import { minimalEnvironment } from "../upstreams/stdio/minimalEnvironment.ts";

/**
 * Where `program` is found as a child started with `env` in `cwd` finds it (execvp's rule): a name
 * with a `/` is that file (relative to `cwd`); a bare name is looked up in each entry of `env.PATH`.
 * Undefined when there is no executable file there.
 */
export function findProgram(
  program: string,
  env: Readonly<Record<string, string>>,
  cwd: string = process.cwd(),
): string | undefined {
  if (program.includes("/")) {
    const path = isAbsolute(program) ? program : resolve(cwd, program);
    return isExecutableFile(path) ? path : undefined;
  }
  for (const entry of (env["PATH"] ?? "").split(delimiter)) {
    // an empty entry is the working directory, as for execvp
    const path = resolve(cwd, entry, program);
    if (isExecutableFile(path)) return path;
  }
  return undefined;
}

/**
 * What `breakwater check` warns of: each stdio upstream whose program a child would not find — on the
 * PATH it runs with (the proxy's own, or its `env.PATH`), or as the file its path names.
 */
export function missingPrograms(config: Config): string[] {
  const warnings: string[] = [];
  for (const upstream of config.upstreams) {
    const stdio = upstream.stdio;
    if (stdio === undefined) continue;
    const program = stdio.command[0];
    const env = minimalEnvironment(stdio.env);
    if (findProgram(program, env, stdio.cwd) !== undefined) continue;
    warnings.push(
      program.includes("/")
        ? `upstream "${upstream.name}": command "${program}" is not an executable file`
        : `upstream "${upstream.name}": command "${program}" is not found on the PATH it runs with (PATH=${env["PATH"] ?? ""})`,
    );
  }
  return warnings;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
