/**
 * Which JSON-RPC error codes count as failures (`proxy.jsonrpc_failure_codes`): codes, and ranges
 * written `"-32000..-32019"`. The default — -32603 (internal error) and the server errors -32000 to
 * -32019 — leaves the client's own faults (-32600, -32601, -32602, -32700) and MCP's
 * -32002/-32042/-32020..-32022 neutral.
 */
export function failureCodeMatcher(entries: readonly (number | string)[]): (code: number) => boolean {
  const codes = new Set<number>();
  const ranges: [number, number][] = [];
  for (const entry of entries) {
    if (typeof entry === "number") codes.add(entry);
    else {
      const [from, to] = entry.split("..").map(Number) as [number, number];
      ranges.push([Math.min(from, to), Math.max(from, to)]);
    }
  }
  return (code) => codes.has(code) || ranges.some(([from, to]) => code >= from && code <= to);
}

export const defaultFailureCodes: readonly (number | string)[] = [-32603, "-32000..-32019"];
