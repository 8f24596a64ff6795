/**
 * The floor a Node proxy can reach without doing anything a production proxy must: node:http in front,
 * an undici Pool behind, bodies piped through, no header hygiene, no timeouts, no breaker.
 */
import { createServer } from "node:http";
import { Pool } from "undici";

const [port, upstream] = process.argv.slice(2) as [string, string];
const pool = new Pool(upstream, { keepAliveTimeout: 60_000 });
const server = createServer((req, res) => {
  const { host: _host, connection: _connection, ...headers } = req.headers;
  pool.request({ path: req.url ?? "/", method: (req.method ?? "GET") as "POST", headers, body: req }).then(
    ({ statusCode, headers: upstreamHeaders, body }) => {
      const { connection: _c, "keep-alive": _k, "transfer-encoding": _t, ...pass } = upstreamHeaders;
      res.writeHead(statusCode, pass);
      body.pipe(res);
    },
    () => res.writeHead(502).end(),
  );
});
server.keepAliveTimeout = 60_000;
server.listen(Number(port), "127.0.0.1", () =>
  process.stdout.write(`ready ${JSON.stringify(server.address())}\n`),
);
