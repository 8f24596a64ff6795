import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Checks an `Authorization: Bearer <token>` header against the configured token in constant time
 * (both sides are hashed first, so their lengths cannot leak either).
 */
export function bearerTokenMatcher(token: string): (authorization: string | undefined) => boolean {
  const expected = createHash("sha256").update(token).digest();
  return (authorization) => {
    const match = /^Bearer\s+(.+)$/i.exec(authorization ?? "");
    if (!match) return false;
    return timingSafeEqual(
      createHash("sha256")
        .update(match[1] as string)
        .digest(),
      expected,
    );
  };
}
