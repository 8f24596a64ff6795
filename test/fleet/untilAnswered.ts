import { until } from "../support/until.ts";

/**
 * Waits until `ask()` (a request to a server, Redis or HTTP) answers true, asking again after each
 * answer: never two asks at once, and none left running when it returns (an answer arriving after the
 * test has closed the connection would be an unhandled rejection).
 */
export async function untilAnswered(ask: () => Promise<boolean>, what: string): Promise<void> {
  let yes = false;
  let asking = false;
  await until(() => {
    if (yes) return true;
    if (!asking) {
      asking = true;
      void ask()
        .then(
          (answer) => {
            yes = answer;
          },
          () => {},
        )
        .finally(() => {
          asking = false;
        });
    }
    return false;
  }, what);
}
