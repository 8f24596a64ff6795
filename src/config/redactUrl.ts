/**
 * A URL fit for a log line, an error message or `breakwater check`: its password, if any, shown as
 * `***`. A user name beside a password stays (it says which account, not how to get in); a user name
 * alone is hidden too, for it is then the secret (`https://<token>@host/`).
 *
 * @example
 * redactUrl("redis://app:s3cret@10.0.0.5:6379/2"); // "redis://app:***@10.0.0.5:6379/2"
 */
export function redactUrl(url: URL | string): string {
  const copy = new URL(url);
  if (copy.password !== "") copy.password = "***";
  else if (copy.username !== "") copy.username = "***";
  return copy.href;
}

/** Whether `text` is a URL that carries credentials (`user:password@` or just `user@`). */
export function hasCredentials(text: string): boolean {
  const url = URL.parse(text);
  return url !== null && (url.username !== "" || url.password !== "");
}
