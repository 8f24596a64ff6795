/** The longest tool name MCP allows (SEP-986; MCP 2025-11-25, "Tool names"). */
export const maxToolNameLength = 128;

/** SEP-986: 1 to 128 ASCII letters, digits, `_`, `-` and `.`; case-sensitive. */
const toolNamePattern = /^[A-Za-z0-9_.-]{1,128}$/;

/**
 * Whether `name` is a tool name as MCP defines it (SEP-986). Only such a name may have a circuit: a
 * name outside the rule (of any length a client chose) is guarded by its upstream's circuit alone.
 */
export function isToolName(name: string): boolean {
  // the length first: a regular expression never walks a name of megabytes
  return name.length <= maxToolNameLength && toolNamePattern.test(name);
}
