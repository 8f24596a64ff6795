/**
 * Waits until `condition()` holds, checking after each turn of the event loop (a real event — a socket,
 * a child process, Redis — is what makes it true, not the passing of time). Fails naming `what` when it
 * has not held within `ms`: a bound for a broken build, never part of a verdict. A condition may be
 * asked over the network (a metrics page): it may answer a promise.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what = "the condition",
  ms = 20_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
