import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

/** Calls a demo client makes in one session before it ends it and starts another. */
const sessionCalls = 20;

/**
 * Steady MCP traffic through the proxy, and what its callers experienced. A few SDK clients keep
 * sessions and call `whoami`; when the proxy answers 404 for a session (its upstream's circuit is
 * open) the client starts a new one, as the MCP transport spec requires. Sessionless calls, balanced
 * one by one, keep every upstream busy so that a broken one is noticed. Sessionless `lookup` calls
 * show a broken tool's circuit at work.
 */
export class DemoTraffic {
  readonly tally = {
    ok: 0,
    reinitialized: 0,
    errors: 0,
    sessionlessOk: 0,
    sessionlessErrors: 0,
    /** `lookup` answered; answered with a tool error; turned away by Breakwater (its tool circuit is open). */
    lookupOk: 0,
    lookupFailed: 0,
    lookupUnavailable: 0,
  };
  readonly #url: URL;
  readonly #clients: (Client | undefined)[];
  /** Calls each client has made in its sessions. */
  readonly #calls: number[] = [];
  readonly #intervalMs: number;
  /** Whether a `lookup` call goes with each round (the server has the tool). */
  readonly #lookups: boolean;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(url: string, clients = 3, intervalMs = 300, lookups = true) {
    this.#url = new URL(url);
    this.#clients = new Array(clients).fill(undefined);
    this.#intervalMs = intervalMs;
    this.#lookups = lookups;
  }

  start(): void {
    this.#timer = setInterval(() => void this.#round(), this.#intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all(this.#clients.map((c) => c?.close().catch(() => {})));
  }

  async #round(): Promise<void> {
    if (this.#busy) return; // a hung upstream may hold a round up to the proxy's timeout
    this.#busy = true;
    const sessionful = this.#clients.map((_, i) => this.#call(i));
    const lookup = this.#lookups ? [this.#lookup()] : [];
    await Promise.all([...sessionful, ...this.#clients.map(() => this.#sessionless()), ...lookup]);
    this.#busy = false;
  }

  async #sessionless(): Promise<void> {
    try {
      const res = await this.#post({ name: "whoami", arguments: {} });
      await res.arrayBuffer();
      if (res.ok) this.tally.sessionlessOk++;
      else this.tally.sessionlessErrors++;
    } catch {
      this.tally.sessionlessErrors++;
    }
  }

  /** A sessionless `lookup` call, tallied by how it ended. */
  async #lookup(): Promise<void> {
    try {
      const res = await this.#post({ name: "lookup", arguments: { key: "demo" } });
      const answer = (await res.json()) as {
        result?: { isError?: boolean; _meta?: Record<string, unknown> };
      };
      if (answer.result?._meta?.["breakwater/circuit"] !== undefined) this.tally.lookupUnavailable++;
      else if (answer.result?.isError === true) this.tally.lookupFailed++;
      else if (answer.result !== undefined) this.tally.lookupOk++;
      else this.tally.sessionlessErrors++;
    } catch {
      this.tally.sessionlessErrors++;
    }
  }

  #post(params: { name: string; arguments: Record<string, unknown> }): Promise<Response> {
    return fetch(this.#url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2025-11-25",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params }),
    });
  }

  async #call(index: number): Promise<void> {
    try {
      let client = this.#clients[index];
      if (client === undefined) {
        client = new Client({ name: `demo-client-${index + 1}`, version: "1.0.0" });
        await client.connect(new StreamableHTTPClientTransport(this.#url));
        await client.listTools(); // as MCP clients do: Breakwater learns the server's tools from the list
        this.#clients[index] = client;
      }
      await client.callTool({ name: "whoami", arguments: {} });
      this.tally.ok++;
      // now and then a client ends its session and starts another (which may land elsewhere: on the
      // stdio upstream, a process starts and one stops)
      const calls = (this.#calls[index] ?? 0) + 1;
      this.#calls[index] = calls;
      if (calls % sessionCalls === 0) {
        this.#clients[index] = undefined;
        const transport = client.transport as StreamableHTTPClientTransport | undefined;
        await transport?.terminateSession().catch(() => {});
        await client.close().catch(() => {});
      }
    } catch (error) {
      const lost = /Session not found/.test(String(error));
      if (lost) this.tally.reinitialized++;
      else this.tally.errors++;
      const client = this.#clients[index];
      this.#clients[index] = undefined; // start a new session next time
      await client?.close().catch(() => {});
    }
  }
}
