import assert from "node:assert/strict";
import type { IncomingHttpHeaders } from "node:http";
import { describe, it } from "node:test";
import type {
  ResponseSink,
  TransportControls,
  TransportFailure,
  Upstream,
  UpstreamRequest,
} from "../../src/upstreams/Upstream.ts";
import { until } from "./until.ts";

/** An upstream under test, and requests it answers in the ways the contract needs. */
export interface ContractSubject {
  readonly upstream: Upstream;
  /** A request answered whole: a head, a body, its end. */
  answered(): Promise<UpstreamRequest>;
  /** A request whose answer's head comes and whose body stays open until the exchange is aborted. */
  standing(): Promise<UpstreamRequest>;
  /** Stops what the subject started besides the upstream (servers, files). */
  close(): Promise<void>;
}

/** An upstream that cannot be reached at all, and a request to send it. */
export interface UnreachableSubject {
  readonly upstream: Upstream;
  readonly request: UpstreamRequest;
}

export interface ContractFactory {
  working(): Promise<ContractSubject>;
  unreachable(): Promise<UnreachableSubject>;
}

type SinkState = "new" | "started" | "head" | "over" | "aborted";

/**
 * A sink that records every call and checks it against the order `ResponseSink` promises: `start`
 * once, then `error`, or `head`, any `data`, and one `end` or `error`; nothing after the exchange was
 * aborted through its controls.
 */
export class RecordingSink implements ResponseSink {
  readonly calls: string[] = [];
  readonly violations: string[] = [];
  status: number | undefined;
  headers: IncomingHttpHeaders = {};
  readonly body: Buffer[] = [];
  controls: TransportControls | undefined;
  #state: SinkState = "new";
  /** Run inside `start`, with the controls (to abort there). */
  readonly #onStart: ((controls: TransportControls) => void) | undefined;

  constructor(onStart?: (controls: TransportControls) => void) {
    this.#onStart = onStart;
  }

  get state(): SinkState {
    return this.#state;
  }

  /** Aborts the exchange: from now on, the sink must hear nothing. */
  abort(): void {
    this.#state = "aborted";
    this.controls?.abort(new Error("aborted by the test"));
  }

  start(controls: TransportControls): void {
    this.#call("start", ["new"], "started");
    this.controls = controls;
    this.#onStart?.(controls);
  }

  head(status: number, headers: IncomingHttpHeaders, _statusMessage: string): void {
    this.#call("head", ["started"], "head");
    this.status = status;
    this.headers = headers;
  }

  data(chunk: Buffer): void {
    this.#call("data", ["head"], "head");
    this.body.push(chunk);
  }

  end(): void {
    this.#call("end", ["head"], "over");
  }

  error(_failure: TransportFailure): void {
    this.#call("error", ["started", "head"], "over");
  }

  #call(name: string, allowed: readonly SinkState[], next: SinkState): void {
    this.calls.push(name);
    if (!allowed.includes(this.#state)) this.violations.push(`${name} in state ${this.#state}`);
    if (this.#state !== "aborted") this.#state = next;
  }
}

/** One turn of the event loop, for calls already under way to land. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * The call-order contract of `ResponseSink` (src/upstreams/Upstream.ts), run against one `Upstream`
 * implementation: every transport (HTTP, stdio, the next ones) must pass it.
 */
export function upstreamContract(name: string, factory: ContractFactory): void {
  describe(`${name} keeps the ResponseSink call order`, () => {
    it("calls start once, then head, data and end, for a request answered whole", async () => {
      const subject = await factory.working();
      try {
        const sink = new RecordingSink();
        subject.upstream.dispatch(await subject.answered(), sink);
        await until(() => sink.state === "over", "the exchange is over");
        assert.deepEqual(sink.violations, []);
        assert.equal(sink.calls[0], "start");
        assert.equal(sink.calls[1], "head");
        assert.equal(sink.calls.at(-1), "end");
        assert.ok(
          sink.calls.slice(2, -1).every((call) => call === "data"),
          sink.calls.join(" "),
        );
        assert.equal(subject.upstream.inFlight, 0, "the exchange no longer counts as in flight");
      } finally {
        await subject.upstream.close();
        await subject.close();
      }
    });

    it("calls start, then error and nothing else, when the upstream cannot be reached", async () => {
      const { upstream, request } = await factory.unreachable();
      try {
        const sink = new RecordingSink();
        upstream.dispatch(request, sink);
        await until(() => sink.state === "over", "the exchange is over");
        await turn();
        assert.deepEqual([sink.calls, sink.violations], [["start", "error"], []]);
        assert.equal(upstream.inFlight, 0);
      } finally {
        await upstream.close();
      }
    });

    it("tells nothing more after an abort once the head has come, even when the upstream closes", async () => {
      const subject = await factory.working();
      try {
        const sink = new RecordingSink();
        subject.upstream.dispatch(await subject.standing(), sink);
        await until(() => sink.state === "head", "the head has come");
        const heard = sink.calls.length;
        sink.abort();
        assert.equal(subject.upstream.inFlight, 0, "an aborted exchange is over");
        await subject.upstream.close();
        await turn();
        assert.deepEqual([sink.calls.slice(heard), sink.violations], [[], []]);
      } finally {
        await subject.upstream.close();
        await subject.close();
      }
    });

    it("tells nothing after start when the sink aborts inside start", async () => {
      const subject = await factory.working();
      try {
        const sink = new RecordingSink((controls) => controls.abort(new Error("at once")));
        const request = await subject.answered();
        subject.upstream.dispatch(request, sink);
        assert.equal(subject.upstream.inFlight, 0, "an aborted exchange is over");
        // a request that goes through after it shows the upstream has had time to act on the first
        const next = new RecordingSink();
        subject.upstream.dispatch(await subject.answered(), next);
        await until(() => next.state === "over", "the next exchange is over");
        await subject.upstream.close();
        await turn();
        assert.deepEqual([sink.calls, sink.violations], [["start"], []]);
      } finally {
        await subject.upstream.close();
        await subject.close();
      }
    });
  });
}
