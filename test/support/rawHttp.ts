import { connect } from "node:net";

/**
 * Sends raw bytes to `url`'s port and returns everything that comes back until the server closes the
 * connection or `timeoutMs` passes (then the socket is destroyed and what came so far is returned).
 */
export function rawRequest(url: string, bytes: string | Buffer, timeoutMs = 10_000): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), "127.0.0.1", () => socket.write(bytes));
    let reply = "";
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.setEncoding("latin1").on("data", (chunk: string) => {
      reply += chunk;
    });
    socket.on("close", () => resolve(reply));
    socket.on("error", (error: NodeJS.ErrnoException) =>
      error.code === "ECONNRESET" ? resolve(reply) : reject(error),
    );
  });
}

/** The final status code of a raw HTTP reply (interim 1xx responses skipped), or undefined when none came. */
export function statusOf(reply: string): number | undefined {
  for (const match of reply.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3})/g)) {
    const status = Number(match[1]);
    if (status >= 200) return status;
  }
  return undefined;
}
