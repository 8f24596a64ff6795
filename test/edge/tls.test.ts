import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Agent, request } from "undici";
import { ConfigError } from "../../src/config/ConfigError.ts";
import { loadConfig } from "../../src/config/loadConfig.ts";
import { makeCertificates, type TestCertificates } from "../support/certificates.ts";
import { rpc, startProxy, upstreamsToml } from "../support/proxy.ts";
import { echo, startUpstream } from "../support/upstream.ts";

let certs: TestCertificates;
let trusting: Agent;
const opened: (() => Promise<void>)[] = [];
before(() => {
  certs = makeCertificates();
  trusting = new Agent({ connect: { ca: certs.cert } });
});
after(async () => {
  for (const close of opened.reverse()) await close();
  await trusting.close();
  certs.remove();
});

const https = (url: string) => url.replace(/^http:/, "https:");

/** An HTTPS upstream with the test certificate, answering like `echo`. */
async function httpsUpstream(): Promise<string> {
  const server = createServer({ cert: certs.cert, key: certs.key }, (req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end('{"secure":true}'));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  opened.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `https://localhost:${(server.address() as AddressInfo).port}`;
}

describe("TLS on the listeners (SPEC §4.3)", () => {
  it("serves HTTPS with the configured certificate, and tells the upstream X-Forwarded-Proto: https", async () => {
    const upstream = await startUpstream(echo("u"));
    const proxy = await startProxy(
      `[server]\ntls_cert_file = "${certs.certFile}"\ntls_key_file = "${certs.keyFile}"\nadmin_tls = true\n` +
        upstreamsToml([{ name: "u", url: upstream.url }]),
    );
    opened.push(upstream.close, proxy.close);
    const res = await request(https(proxy.url), { method: "POST", body: rpc(1), dispatcher: trusting });
    assert.equal(res.statusCode, 200);
    const seen = (await res.body.json()) as { headers: Record<string, string> };
    assert.equal(seen.headers["x-forwarded-proto"], "https");
    const health = await request(`${https(proxy.adminUrl)}/health`, { dispatcher: trusting });
    assert.equal(health.statusCode, 200, "admin_tls: the admin listener speaks HTTPS too");
    await health.body.text();
    await assert.rejects(request(proxy.url), "plain HTTP is not spoken on a TLS listener");
  });
});

describe("https:// upstreams (SPEC §4.3)", () => {
  it("trusts an upstream whose certificate its ca_file vouches for", async () => {
    const url = await httpsUpstream();
    const proxy = await startProxy(
      `[[upstreams]]\nname = "s"\nurl = "${url}"\nca_file = "${certs.certFile}"\n`,
    );
    opened.push(proxy.close);
    const res = await request(proxy.url);
    assert.equal(res.statusCode, 200);
    assert.deepEqual(await res.body.json(), { secure: true });
  });

  it("refuses an upstream whose certificate nothing vouches for: 502 and a failure", async () => {
    const url = await httpsUpstream();
    const proxy = await startProxy(upstreamsToml([{ name: "s", url }]));
    opened.push(proxy.close);
    const res = await request(proxy.url);
    assert.equal(res.statusCode, 502);
    await res.body.text();
    assert.equal(proxy.breakwater.upstreams[0]?.circuit.metrics().failedRequests, 1);
  });

  it("skips the check only when tls_insecure_skip_verify is written out, and warns at start-up", async () => {
    const url = await httpsUpstream();
    const proxy = await startProxy(
      `[proxy]\ntls_insecure_skip_verify = true\n${upstreamsToml([{ name: "s", url }])}`,
    );
    opened.push(proxy.close);
    const res = await request(proxy.url);
    assert.equal(res.statusCode, 200);
    await res.body.text();
    const warning = proxy.logs().find((line) => String(line["msg"]).startsWith("tls_insecure_skip_verify"));
    assert.equal(warning?.["upstream"], "s");
    assert.equal(warning?.["level"], 40);
  });
});

describe("TLS configuration errors name the key", () => {
  const cases: [string, (c: TestCertificates) => string, RegExp][] = [
    [
      "an unreadable certificate",
      (c) => `tls_cert_file = "${join(c.dir, "missing.pem")}"\ntls_key_file = "${c.keyFile}"`,
      /server\.tls_cert_file: cannot read/,
    ],
    [
      "a key that is not the certificate's",
      (c) => `tls_cert_file = "${c.certFile}"\ntls_key_file = "${c.otherKeyFile}"`,
      /server\.tls_key_file: .* do not make a TLS identity/,
    ],
    [
      "a certificate without its key",
      (c) => `tls_cert_file = "${c.certFile}"`,
      /server\.tls_key_file: needed too/,
    ],
    [
      "admin_tls without a certificate",
      () => "admin_tls = true",
      /server\.admin_tls: needs server\.tls_cert_file/,
    ],
    [
      "a key file that is not PEM",
      (c) => `tls_cert_file = "${c.certFile}"\ntls_key_file = "${join(c.dir, "junk.txt")}"`,
      /server\.tls_key_file: .* is not PEM/,
    ],
  ];
  for (const [what, server, message] of cases) {
    it(`refuses ${what}`, () => {
      writeFileSync(join(certs.dir, "junk.txt"), "not a key");
      const path = join(certs.dir, "config.toml");
      writeFileSync(path, `[server]\n${server(certs)}\n[[upstreams]]\nurl = "http://127.0.0.1:1"\n`);
      assert.throws(
        () => loadConfig({ configPath: path }),
        (error: Error) => error instanceof ConfigError && message.test(error.message),
      );
    });
  }

  it("refuses a ca_file without a certificate, naming the upstream's key", () => {
    writeFileSync(join(certs.dir, "junk.txt"), "not a certificate");
    const path = join(certs.dir, "config.toml");
    writeFileSync(
      path,
      `[[upstreams]]\nurl = "https://localhost:1"\nca_file = "${join(certs.dir, "junk.txt")}"\n`,
    );
    assert.throws(
      () => loadConfig({ configPath: path }),
      (error: Error) =>
        error instanceof ConfigError && /upstreams\[0\]\.ca_file: .* is not PEM/.test(error.message),
    );
  });
});
