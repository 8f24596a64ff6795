import type { IncomingHttpHeaders } from "node:http";
import type { ExchangeJudge, ExchangeOutcome, Judgement } from "../judges/ExchangeJudge.ts";
import type { FailureCause } from "../judges/failureCause.ts";

/**
 * Judges a `tools/call` as the judge it wraps does, and tells `exists` when the call succeeded — a
 * plain result, not `isError`: the tool exists (SPEC §3.2). An error or an `isError` result proves
 * nothing, for the MCP SDKs answer a call to a tool they do not have with one (the TypeScript SDK's
 * `McpServer` returns `isError: true` "Tool … not found"; the Python SDK's FastMCP the same).
 * Wraps only calls of tools the upstream has not shown yet, so it costs known tools nothing.
 */
export class ToolCallWitness implements ExchangeJudge {
  readonly #inner: ExchangeJudge;
  readonly #exists: () => void;

  constructor(inner: ExchangeJudge, exists: () => void) {
    this.#inner = inner;
    this.#exists = exists;
  }

  head(status: number, headers: IncomingHttpHeaders): Judgement {
    return this.#seen(this.#inner.head(status, headers));
  }

  data(chunk: Buffer): Judgement {
    return this.#seen(this.#inner.data(chunk));
  }

  end(): ExchangeOutcome {
    return this.#seen(this.#inner.end());
  }

  unanswered(): readonly string[] {
    return this.#inner.unanswered?.() ?? [];
  }

  failureCause(): FailureCause | undefined {
    return this.#inner.failureCause?.();
  }

  answerError(): string | undefined {
    return this.#inner.answerError?.();
  }

  #seen<T extends Judgement>(judgement: T): T {
    if (judgement === "success") this.#exists();
    return judgement;
  }
}
