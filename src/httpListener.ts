import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { Server as TlsServer } from "node:tls";
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

/** Gives an HTTPS listener made by {@link httpListener} a new certificate and key, for new connections. */
export function replaceCertificate(server: Server, tls: ListenerTls): void {
  (server as unknown as TlsServer).setSecureContext({ cert: tls.cert, key: tls.key });
}
