import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

/**
 * One MCP client of the aggregate (every server's tools on one endpoint): an SDK 2.x client that asks
 * to be told of list changes, says each one as it comes (which server's tools came or went), and calls
 * one tool of each server every round — tallying answers, and calls Breakwater turned away because the
 * tool's server is unavailable (a tool error the model can read, not a failed request).
 */
export class DemoAggregateClient {
  readonly tally = { ok: 0, unavailable: 0, errors: 0, changes: 0 };
  readonly #url: URL;
  readonly #tools: readonly string[];
  readonly #say: (line: string) => void;
  readonly #intervalMs: number;
  #client: Client | undefined;
  #listed = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  /** `tools`: the aggregate names called each round, e.g. "clock__now". */
  constructor(url: string, tools: readonly string[], say: (line: string) => void, intervalMs = 1_000) {
    this.#url = new URL(url);
    this.#tools = tools;
    this.#say = say;
    this.#intervalMs = intervalMs;
  }

  start(): void {
    this.#timer = setInterval(() => void this.#round(), this.#intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#client?.close().catch(() => {});
  }

  async #round(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const client = await this.#connected();
      await Promise.all(this.#tools.map((name) => this.#call(client, name)));
    } catch {
      this.tally.errors++;
      const client = this.#client;
      this.#client = undefined;
      await client?.close().catch(() => {});
    } finally {
      this.#busy = false;
    }
  }

  async #call(client: Client, name: string): Promise<void> {
    const result = await client.callTool({ name, arguments: {} });
    if (result._meta?.["breakwater/circuit"] !== undefined) this.tally.unavailable++;
    else if (result.isError === true) this.tally.errors++;
    else this.tally.ok++;
  }

  async #connected(): Promise<Client> {
    if (this.#client !== undefined) return this.#client;
    const client = new Client(
      { name: "demo-aggregate-client", version: "1.0.0" },
      {
        versionNegotiation: { mode: "auto" },
        listChanged: {
          tools: { onChanged: (error, tools) => error === null && this.#changed(tools ?? []) },
        },
      },
    );
    await client.connect(new StreamableHTTPClientTransport(this.#url));
    this.#listed = new Set((await client.listTools()).tools.map((t) => t.name));
    this.#client = client;
    return client;
  }

  /** Says what a `tools/list_changed` changed: the names that came and went. */
  #changed(tools: readonly { name: string }[]): void {
    const now = new Set(tools.map((t) => t.name));
    const gone = [...this.#listed].filter((name) => !now.has(name));
    const came = [...now].filter((name) => !this.#listed.has(name));
    this.#listed = now;
    this.tally.changes++;
    this.#say(
      `-- aggregate: tools/list_changed → ${now.size} tools` +
        (gone.length > 0 ? `; gone: ${gone.join(", ")}` : "") +
        (came.length > 0 ? `; back: ${came.join(", ")}` : ""),
    );
  }
}
