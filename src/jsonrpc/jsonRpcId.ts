/**
 * JSON-RPC ids compared by value, not by how they were written (JSON-RPC 2.0 §5: the response's id
 * "MUST be the same as the value of the id member in the Request Object"). A server may escape a
 * string otherwise than the client did (`"caf\u00e9"` for `"café"`: Python's `json.dumps`, Go's
 * `encoding/json`) or write a number otherwise (`1.0`, `1e0`); and an integer beyond 2^53 must be
 * compared by its digits, which a JS number would round.
 */

/** A JSON number: sign, integer digits, fraction digits, exponent (RFC 8259 §6). */
const number = /^(-?)(0|[1-9]\d*)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * A key equal for two id texts exactly when their values are equal: a string's is its value written
 * the one way `JSON.stringify` writes it; a number's is its exact decimal value as digits and an
 * exponent (`1`, `1.0`, `10e-1` → `1e0`), whatever its size; `null`'s is `null`. Undefined for a text
 * that is no JSON string, number or null.
 */
export function idValueKey(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed === "null") return trimmed;
  if (trimmed.startsWith('"')) {
    try {
      const value: unknown = JSON.parse(trimmed);
      return typeof value === "string" ? JSON.stringify(value) : undefined;
    } catch {
      return undefined;
    }
  }
  const parts = number.exec(trimmed);
  if (parts === null) return undefined;
  const [, sign, whole, fraction = "", exponent = "0"] = parts as unknown as [
    string,
    string,
    string,
    string?,
    string?,
  ];
  let digits = (whole + fraction).replace(/^0+/, "");
  if (digits === "") return "0"; // -0 and 0.000 are 0
  let shift = BigInt(exponent) - BigInt(fraction.length);
  const trailing = digits.length - digits.replace(/0+$/, "").length;
  digits = digits.slice(0, digits.length - trailing);
  shift += BigInt(trailing);
  return `${sign}${digits}e${shift}`;
}
