import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from "node:http";
import { createServer as createTlsServer } from "node:https";
import { createSecureContext, type Server as TlsServer } from "node:tls";
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

/**
 * Throws what {@link replaceCertificate} would throw for `tls` (a key that is not the certificate's),
 * without changing a listener: a reload checks before it changes anything.
 */
export function checkCertificate(tls: ListenerTls): void {
  createSecureContext({ cert: tls.cert, key: tls.key });
}

/** Gives an HTTPS listener made by {@link httpListener} a new certificate and key, for new connections. */
export function replaceCertificate(server: Server, tls: ListenerTls): void {
  (server as unknown as TlsServer).setSecureContext({ cert: tls.cert, key: tls.key });
}
