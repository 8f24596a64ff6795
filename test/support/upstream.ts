import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type AddressInfo, connect } from "node:net";

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

export interface TestUpstream {
  readonly url: string;
  readonly port: number;
  /** Every request that reached this upstream, in order. */
  readonly seen: SeenRequest[];
  /** Requests whose client (the proxy) went away before the response was finished. */
  readonly aborted: () => number;
  /** Changes what the upstream does from now on. */
  behave(handler: Handler): void;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** Answers 200 with a JSON echo of what it received and its own name. */
export const echo =
  (name: string): Handler =>
  (req, res, body) => {
    res.writeHead(200, { "content-type": "application/json", "x-upstream": name });
    res.end(JSON.stringify({ upstream: name, method: req.method, url: req.url, headers: req.headers, body }));
  };

export const status =
  (code: number, extra: Record<string, string> = {}): Handler =>
  (_req, res) => {
    res
      .writeHead(code, { "content-type": "application/json", ...extra })
      .end(JSON.stringify({ status: code }));
  };

/** Never answers (until the connection is closed). */
export const hang: Handler = () => {};

/** An upstream on 127.0.0.1 with a port of the system's choosing. */
export async function startUpstream(handler: Handler): Promise<TestUpstream> {
  let current = handler;
  const seen: SeenRequest[] = [];
  let aborted = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      res.on("close", () => {
        if (!res.writableFinished) aborted++;
      });
      current(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    aborted: () => aborted,
    behave(next) {
      current = next;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * A port on which nothing listens: connections to it are refused. A privileged one (discard, echo…)
 * that is checked to refuse: an ephemeral port freed a moment ago could be given to another test's
 * server (the suite runs files in parallel), which would then answer for the "dead" upstream.
 */
export async function refusedPort(): Promise<number> {
  for (const port of [9, 7, 13, 19, 1]) {
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(false);
      });
      socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"));
    });
    if (refused) return port;
  }
  throw new Error("no refusing port found among 9, 7, 13, 19, 1");
}
