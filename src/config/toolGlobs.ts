/**
 * A server's `tools` filter (SPEC §7.1): a tool is allowed when its name matches an `include` glob
 * (default `*`, every tool) and no `exclude` glob. In a glob `*` stands for any run of characters,
 * `?` for one; the config allows no other special character, so every other one is itself. The globs
 * are compiled once into two anchored regular expressions: one test each per call.
 */
export function toolFilterMatcher(
  include: readonly string[] = ["*"],
  exclude: readonly string[] = [],
): (tool: string) => boolean {
  const included = anyOf(include);
  const excluded = anyOf(exclude);
  return (tool) => included.test(tool) && !excluded.test(tool);
}

/** One expression matching a whole name that any of `globs` matches; none matches nothing. */
function anyOf(globs: readonly string[]): RegExp {
  if (globs.length === 0) return /(?!)/;
  // `s`: `*` and `?` span any character, a line break too; `u`: `?` is one character, not a half of one
  return new RegExp(`^(?:${globs.map(globSource).join("|")})$`, "su");
}

function globSource(glob: string): string {
  let source = "";
  for (const char of glob) {
    if (char === "*") source += ".*";
    else if (char === "?") source += ".";
    else source += char.replace(/[\\^$.|+()[\]{}/]/g, "\\$&");
  }
  return source;
}
