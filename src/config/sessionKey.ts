/**
 * A session key as configured: 32 bytes in base64 (44 characters) or hex (64).
 *
 * @throws {Error} for anything else, saying what is expected.
 */
export function parseSessionKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, "hex") : Buffer.from(trimmed, "base64");
  if (key.length !== 32 || (!/^[0-9a-f]{64}$/i.test(trimmed) && key.toString("base64") !== trimmed)) {
    throw new Error(
      "expected 32 bytes in base64 (44 characters) or hex (64), e.g. from `openssl rand -base64 32`",
    );
  }
  return key;
}
