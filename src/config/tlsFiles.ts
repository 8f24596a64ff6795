import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import type { ListenerTls } from "../http/httpListener.ts";
import { ConfigError } from "./ConfigError.ts";

export type { ListenerTls } from "../http/httpListener.ts";

/** How an `https://` upstream's certificate is checked. */
export interface UpstreamTls {
  /** PEM certificates trusted besides the system's (`ca_file`); undefined when none was given. */
  readonly ca: string | undefined;
  /** `tls_insecure_skip_verify = true`: the certificate is not checked at all. */
  readonly insecure: boolean;
}

/**
 * Reads `server.tls_cert_file` and `server.tls_key_file` (both or neither) and checks that the key is
 * the certificate's, so that a mistake stops the start (exit 2) instead of every handshake failing.
 *
 * @throws {ConfigError} naming the key and what is wrong.
 */
export function listenerTls(
  source: string,
  certFile: string | undefined,
  keyFile: string | undefined,
): ListenerTls | undefined {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    const missing = certFile === undefined ? "tls_cert_file" : "tls_key_file";
    throw new ConfigError(
      `${source}: server.${missing}: needed too: give both tls_cert_file and tls_key_file, or neither`,
    );
  }
  const cert = readPem(source, "server.tls_cert_file", certFile);
  const key = readPem(source, "server.tls_key_file", keyFile);
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    const what = (error as Error).message;
    const culprit = /key/i.test(what) ? "server.tls_key_file" : "server.tls_cert_file";
    throw new ConfigError(
      `${source}: ${culprit}: ${keyFile} and ${certFile} do not make a TLS identity: ${what}`,
    );
  }
  return { cert, key };
}

/** Reads a `ca_file` (PEM), checking that it holds certificates. */
export function caFile(source: string, key: string, path: string): string {
  const text = readPem(source, key, path).toString("utf8");
  try {
    createSecureContext({ ca: text });
  } catch (error) {
    throw new ConfigError(
      `${source}: ${key}: ${path} holds no usable certificate: ${(error as Error).message}`,
    );
  }
  return text;
}

function readPem(source: string, key: string, path: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (error) {
    throw new ConfigError(`${source}: ${key}: cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!pem.includes("-----BEGIN ")) throw new ConfigError(`${source}: ${key}: ${path} is not PEM`);
  return pem;
}
