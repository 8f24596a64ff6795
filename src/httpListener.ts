import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { ListenerTls } from "./config/tlsFiles.ts";

/** A node:http server, or an HTTPS one when `tls` is given (SPEC §4.3): the listeners' one way to be made. */
export function httpListener(
  tls: ListenerTls | undefined,
  options: ServerOptions,
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Server {
  return tls === undefined
    ? createServer(options, handle)
    : createTlsServer({ ...options, cert: tls.cert, key: tls.key }, handle);
}
