/**
 * Finding the end of a JSON string in raw bytes without reading it character by character: what lets
 * the answer scanner step over a tool result of megabytes. A multi-byte UTF-8 character is never a
 * quote or a backslash, so bytes can be searched as they are.
 */

/** How far a string is read byte by byte before a native search takes over: most strings are short. */
const nearBytes = 32;
/**
 * A string with escaped quotes closer together than this on average (JSON inside a string) is read
 * byte by byte: a native search costs a call per quote, about what reading 24 bytes costs.
 */
const denseSpacing = 24;

/**
 * The index of the quote that closes a string whose body goes on at `from`, or -1 when it does not
 * close in `bytes`. A short string is read byte by byte; a long one is searched with `indexOf` (a
 * native scan that costs next to nothing per byte), a quote being escaped when an odd number of
 * backslashes comes before it; one dense with escaped quotes (JSON inside a string) is read byte by
 * byte again. `bytes[from - 1]` is never a backslash of the string's body.
 */
export function closingQuote(bytes: Buffer, from: number): number {
  const near = Math.min(bytes.length, from + nearBytes);
  for (let j = from; j < near; j++) {
    const b = bytes[j];
    if (b === 0x22) return j;
    if (b === 0x5c) return closingQuoteByBytes(bytes, j);
  }
  let quote = bytes.indexOf(0x22, near);
  let escapedQuotes = 0;
  while (quote >= 0) {
    let backslashes = 0;
    for (let j = quote - 1; j >= from && bytes[j] === 0x5c; j--) backslashes++;
    if ((backslashes & 1) === 0) return quote;
    if (++escapedQuotes >= 8 && quote - from < escapedQuotes * denseSpacing)
      return closingQuoteByBytes(bytes, quote + 1);
    quote = bytes.indexOf(0x22, quote + 1);
  }
  return -1;
}

/** `closingQuote` byte by byte, from a byte that is not escaped. */
function closingQuoteByBytes(bytes: Buffer, from: number): number {
  for (let j = from; j < bytes.length; j++) {
    const b = bytes[j];
    if (b === 0x5c) j++;
    else if (b === 0x22) return j;
  }
  return -1;
}

/** Whether `bytes` ends in an unfinished escape (an odd run of backslashes after `from`). */
export function endsInEscape(bytes: Buffer, from: number): boolean {
  let backslashes = 0;
  for (let j = bytes.length - 1; j >= from && bytes[j] === 0x5c; j--) backslashes++;
  return (backslashes & 1) === 1;
}
