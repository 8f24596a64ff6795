/**
 * Turns `failure_statuses` (codes such as 503 and classes such as "5xx") into a lookup: one table read
 * per response, on the proxy's hot path.
 */
export function failureStatusMatcher(statuses: readonly (number | string)[]): (status: number) => boolean {
  const table = new Uint8Array(600);
  for (const entry of statuses) {
    if (typeof entry === "number") table[entry] = 1;
    else table.fill(1, Number(entry[0]) * 100, Number(entry[0]) * 100 + 100);
  }
  return (status) => table[status] === 1;
}
