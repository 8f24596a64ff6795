/** What a child inherits of the proxy's environment: enough to find programs and speak a language. */
const inherited = ["PATH", "HOME", "LANG"] as const;

/**
 * The environment of a stdio server's process (SPEC §5): PATH, HOME and LANG from the proxy's own, plus
 * the upstream's `env`. Nothing else is passed on: the proxy's environment holds its secrets (the admin
 * token, cloud credentials), which a third-party MCP server has no business reading.
 */
export function minimalEnvironment(
  env: Readonly<Record<string, string>>,
  own: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const result: Record<string, string> = {};
  for (const key of inherited) {
    const value = own[key];
    if (value !== undefined) result[key] = value;
  }
  return { ...result, ...env };
}
