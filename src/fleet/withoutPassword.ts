/** A URL fit for a log line or `breakwater check`: its password, if any, replaced by "hidden". */
export function withoutPassword(url: URL | string): string {
  const copy = new URL(url);
  if (copy.password !== "") copy.password = "hidden";
  return copy.href;
}
