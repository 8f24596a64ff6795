import { createServer, type Server, type Socket } from "node:net";

export interface RawUpstream {
  readonly url: string;
  /** Connections accepted so far. */
  readonly connections: () => number;
  /** Requests whose head arrived, over all connections, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

/**
 * An upstream that speaks raw bytes: `onRequest` gets the socket, the request's head and body text,
 * and its index on that connection (0 for the first), and writes whatever it likes — malformed
 * responses, interim 1xx, resets. Requests are told apart by blank lines; bodies must be small and
 * carry a Content-Length.
 */
export async function startRawUpstream(
  onRequest: (socket: Socket, request: string, index: number) => void,
): Promise<RawUpstream> {
  let connections = 0;
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buffered = "";
    let index = 0;
    socket.setEncoding("latin1").on("data", (chunk: string) => {
      buffered += chunk;
      for (;;) {
        const end = buffered.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buffered.slice(0, end);
        const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        const request = buffered.slice(0, end + 4 + length);
        buffered = buffered.slice(end + 4 + length);
        requests.push(request);
        onRequest(socket, request, index++);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
