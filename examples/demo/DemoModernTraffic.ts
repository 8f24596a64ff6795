import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

/** The revision the modern demo clients speak, and nothing else (no fallback to an earlier one). */
const modernRevision = "2026-07-28";

/**
 * Steady MCP 2026-07-28 traffic through the proxy: SDK 2.x clients pinned to that revision (no sessions:
 * every call is balanced on its own) call `whoami`, and one of them `lookup`, every round. A client whose
 * call failed connects anew next round (a `server/discover` request).
 */
export class DemoModernTraffic {
  readonly tally = {
    ok: 0,
    errors: 0,
    /** `lookup` answered; answered with a tool error; turned away by Breakwater (its tool circuit is open). */
    lookupOk: 0,
    lookupFailed: 0,
    lookupUnavailable: 0,
  };
  readonly #url: URL;
  readonly #clients: (Client | undefined)[];
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(url: string, clients = 2, intervalMs = 300) {
    this.#url = new URL(url);
    this.#clients = new Array(clients).fill(undefined);
    this.#intervalMs = intervalMs;
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
    await Promise.all([...this.#clients.map((_, i) => this.#whoami(i)), this.#lookup(0)]);
    this.#busy = false;
  }

  async #whoami(index: number): Promise<void> {
    try {
      const client = await this.#client(index);
      await client.callTool({ name: "whoami", arguments: {} });
      this.tally.ok++;
    } catch {
      this.tally.errors++;
      await this.#drop(index);
    }
  }

  async #lookup(index: number): Promise<void> {
    try {
      const client = await this.#client(index);
      const result = await client.callTool({ name: "lookup", arguments: { key: "demo" } });
      if (result._meta?.["breakwater/circuit"] !== undefined) this.tally.lookupUnavailable++;
      else if (result.isError === true) this.tally.lookupFailed++;
      else this.tally.lookupOk++;
    } catch {
      this.tally.errors++;
      await this.#drop(index);
    }
  }

  async #client(index: number): Promise<Client> {
    const existing = this.#clients[index];
    if (existing !== undefined) return existing;
    const client = new Client(
      { name: `demo-modern-client-${index + 1}`, version: "1.0.0" },
      { versionNegotiation: { mode: { pin: modernRevision } } },
    );
    await client.connect(new StreamableHTTPClientTransport(this.#url));
    await client.listTools(); // as MCP clients do: Breakwater learns the server's tools from the list
    this.#clients[index] = client;
    return client;
  }

  async #drop(index: number): Promise<void> {
    const client = this.#clients[index];
    this.#clients[index] = undefined;
    await client?.close().catch(() => {});
  }
}
