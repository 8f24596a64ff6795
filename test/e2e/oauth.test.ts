import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { InvalidTokenError } from "@modelcontextprotocol/sdk/server/auth/errors.js";
import { requireBearerAuth } from "@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js";
import {
  getOAuthProtectedResourceMetadataUrl,
  mcpAuthMetadataRouter,
} from "@modelcontextprotocol/sdk/server/auth/router.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthMetadata,
  OAuthTokens,
} from "@modelcontextprotocol/sdk/shared/auth.js";
import express from "express";
import { startProxy, upstreamsToml } from "../support/proxy.ts";

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** A small authorization server: metadata, dynamic registration, an authorize that approves at once, a token. */
async function startAuthorizationServer() {
  const seen: { resources: string[] } = { resources: [] };
  let url = "";
  const server = createServer(async (req, res) => {
    const at = new URL(req.url ?? "/", url);
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (at.pathname === "/.well-known/oauth-authorization-server") return json(200, metadata());
    if (at.pathname === "/register" && req.method === "POST") {
      const client = JSON.parse(await bodyOf(req)) as OAuthClientMetadata;
      return json(201, {
        ...client,
        client_id: "e2e-client",
        client_id_issued_at: Math.floor(Date.now() / 1000),
      });
    }
    if (at.pathname === "/authorize") {
      seen.resources.push(at.searchParams.get("resource") ?? "");
      const back = new URL(at.searchParams.get("redirect_uri") ?? "");
      back.searchParams.set("code", "e2e-code");
      back.searchParams.set("state", at.searchParams.get("state") ?? "");
      return res.writeHead(302, { location: back.href }).end();
    }
    if (at.pathname === "/token" && req.method === "POST") {
      seen.resources.push(new URLSearchParams(await bodyOf(req)).get("resource") ?? "");
      return json(200, { access_token: "e2e-token", token_type: "Bearer", expires_in: 3600 });
    }
    return json(404, { error: "not_found" });
  });
  url = await listen(server);
  const metadata = (): OAuthMetadata => ({
    issuer: url,
    authorization_endpoint: `${url}/authorize`,
    token_endpoint: `${url}/token`,
    registration_endpoint: `${url}/register`,
    response_types_supported: ["code"],
    grant_types_supported: ["authorization_code"],
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: ["none"],
  });
  return { url, metadata, seen };
}

/** An MCP server of the SDK behind bearer auth, publishing its protected-resource metadata (SDK router). */
async function startProtectedMcpServer(oauthMetadata: OAuthMetadata) {
  const app = express();
  const server = createServer(app);
  const self = await listen(server);
  const resource = new URL(`${self}/mcp`);
  app.use(mcpAuthMetadataRouter({ oauthMetadata, resourceServerUrl: resource }));
  app.post(
    "/mcp",
    express.json(),
    requireBearerAuth({
      verifier: {
        async verifyAccessToken(token) {
          if (token !== "e2e-token") throw new InvalidTokenError("unknown token");
          return {
            token,
            clientId: "e2e-client",
            scopes: [],
            expiresAt: Math.floor(Date.now() / 1000) + 3600,
          };
        },
      },
      resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(resource),
    }),
    async (req, res) => {
      const mcp = new McpServer({ name: "protected", version: "1.0.0" });
      mcp.registerTool("secret", { description: "Only for holders of a token" }, async () => ({
        content: [{ type: "text", text: "the answer is 42" }],
      }));
      const transport = new StreamableHTTPServerTransport({}); // stateless: no session ids
      res.on("close", () => void transport.close());
      await mcp.connect(transport);
      await transport.handleRequest(req, res, req.body);
    },
  );
  return { self };
}

/** The client side of OAuth, as an MCP host keeps it; "redirecting" only records where to. */
class TestOAuthProvider implements OAuthClientProvider {
  readonly redirectUrl = "http://localhost:1/callback";
  authorizationUrl: URL | undefined;
  #client: OAuthClientInformationMixed | undefined;
  #tokens: OAuthTokens | undefined;
  #verifier = "";
  get clientMetadata(): OAuthClientMetadata {
    return {
      redirect_uris: [this.redirectUrl],
      client_name: "breakwater-e2e",
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() {
    return this.#client;
  }
  saveClientInformation(client: OAuthClientInformationMixed) {
    this.#client = client;
  }
  tokens() {
    return this.#tokens;
  }
  saveTokens(tokens: OAuthTokens) {
    this.#tokens = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.#verifier = verifier;
  }
  codeVerifier() {
    return this.#verifier;
  }
}

describe("MCP authorization through Breakwater, end to end with the SDK (route /mcp)", () => {
  it("discovers the authorization server through the proxy, gets a token for the proxy's URL, and calls a tool", async () => {
    const as = await startAuthorizationServer();
    const mcp = await startProtectedMcpServer(as.metadata());
    const proxy = await startProxy(
      `[server]\nroute = "/mcp"\n${upstreamsToml([{ name: "protected", url: `${mcp.self}/mcp` }])}`,
    );
    cleanups.push(proxy.close);
    const endpoint = new URL(`${proxy.url}/mcp`);
    const provider = new TestOAuthProvider();

    // 1. no token: 401 through the proxy, discovery through the proxy, registration, then "redirect"
    const first = new Client({ name: "breakwater-e2e", version: "1.0.0" });
    await assert.rejects(
      first.connect(new StreamableHTTPClientTransport(endpoint, { authProvider: provider })),
      UnauthorizedError,
    );
    assert.ok(provider.authorizationUrl, "the client was sent to the authorization server");

    // 2. the user agent: the test authorization server approves at once and redirects with a code
    const approved = await fetch(provider.authorizationUrl, { redirect: "manual" });
    const code = new URL(approved.headers.get("location") ?? "").searchParams.get("code");
    const finishing = new StreamableHTTPClientTransport(endpoint, { authProvider: provider });
    await finishing.finishAuth(code ?? "");

    // 3. with the token: a session through the proxy, and a tool call
    const client = new Client({ name: "breakwater-e2e", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(endpoint, { authProvider: provider }));
    cleanups.push(() => client.close());
    const result = await client.callTool({ name: "secret", arguments: {} });
    assert.deepEqual(result.content, [{ type: "text", text: "the answer is 42" }]);

    // the token was asked for the proxy's URL (RFC 8707 resource), not the upstream's
    assert.deepEqual(as.seen.resources, [endpoint.href, endpoint.href]);
    assert.equal(proxy.breakwater.upstreams[0]?.circuit.state, "closed");
  });
});
