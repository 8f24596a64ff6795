import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCertificates {
  readonly dir: string;
  /** A self-signed certificate for localhost and 127.0.0.1, and its key (PEM files). */
  readonly certFile: string;
  readonly keyFile: string;
  /** A key that is not the certificate's. */
  readonly otherKeyFile: string;
  readonly cert: string;
  readonly key: string;
  remove(): void;
}

/** Makes a self-signed certificate with openssl (no network), valid for a day. */
export function makeCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "breakwater-tls-"));
  const [certFile, keyFile, otherKeyFile] = ["cert.pem", "key.pem", "other-key.pem"].map((f) =>
    join(dir, f),
  ) as [string, string, string];
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      ...ec,
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    { stdio: "ignore" },
  );
  execFileSync(
    "openssl",
    ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", otherKeyFile],
    {
      stdio: "ignore",
    },
  );
  return {
    dir,
    certFile,
    keyFile,
    otherKeyFile,
    cert: readFileSync(certFile, "utf8"),
    key: readFileSync(keyFile, "utf8"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
