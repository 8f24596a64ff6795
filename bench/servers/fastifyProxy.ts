/** fastify with @fastify/http-proxy (undici underneath), as its README sets it up. */
import proxy from "@fastify/http-proxy";
import Fastify from "fastify";

const [port, upstream] = process.argv.slice(2) as [string, string];
const app = Fastify({ logger: false, keepAliveTimeout: 60_000 });
await app.register(proxy, { upstream, prefix: "/" });
await app.listen({ port: Number(port), host: "127.0.0.1" });
process.stdout.write(`ready ${JSON.stringify(app.server.address())}\n`);
