import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from "node:http";
import { createServer as createTlsServer } from "node:https";
import { createSecureContext, type Server as TlsServer } from "node:tls";
import { refuseBadHost } from "./HostField.ts";

/** A listener's certificate chain and private key, PEM (read by the config at start-up and on reload). */
export interface ListenerTls {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * A node:http server, or an HTTPS one when `tls` is given (SPEC §4.3): the listeners' one way to be
 * made. Each answers a request with several `Host` fields or an invalid one 400 (RFC 9112 §3.2).
 */
export function httpListener(
  tls: ListenerTls | undefined,
  options: ServerOptions,
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Server {
  const guarded = refuseBadHost(handle);
  return tls === undefined
    ? createServer(options, guarded)
    : createTlsServer({ ...options, cert: tls.cert, key: tls.key }, guarded);
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
