import { CircuitBreaker } from "../../src/index.ts";
import {
  type ResponseSink,
  type TransportFailure,
  transportFailure,
  type Upstream,
  type UpstreamRequest,
} from "../../src/upstreams/Upstream.ts";
import { ManualClock } from "./ManualClock.ts";

/** What a fake upstream does with one request: anything a transport may tell a sink. */
export type Behaviour = (sink: ResponseSink) => void;

/** Answers 200 with `body`. */
export const answers =
  (body: string): Behaviour =>
  (sink) => {
    sink.head(200, { "content-type": "application/json", "content-length": String(body.length) }, "OK");
    sink.data(Buffer.from(body));
    sink.end();
  };

/** Fails before any response, with the facts given. */
export const fails =
  (facts: Partial<Omit<TransportFailure, "error">>): Behaviour =>
  (sink) =>
    sink.error(transportFailure(new Error("fake transport failure"), facts));

/**
 * An upstream without a network: each request gets the next behaviour of its script (then 200 "ok"),
 * and is recorded. It shows what the proxy does with the facts a transport reports, whatever the
 * transport.
 */
export class FakeUpstream implements Upstream {
  readonly name: string;
  readonly circuit: CircuitBreaker;
  readonly inFlight = 0;
  readonly maxInFlight = 0;
  readonly servesSessionless = true;
  readonly dispatched: UpstreamRequest[] = [];
  readonly #script: Behaviour[];

  healthCheck(): undefined {
    return undefined;
  }

  constructor(name: string, script: Behaviour[] = []) {
    this.name = name;
    this.circuit = new CircuitBreaker({ name, clock: new ManualClock(), failureThreshold: 100 });
    this.#script = [...script];
  }

  dispatch(request: UpstreamRequest, sink: ResponseSink): void {
    this.dispatched.push(request);
    sink.start({ pause() {}, resume() {}, abort() {} });
    (this.#script.shift() ?? answers(`"${this.name}"`))(sink);
  }

  async close(): Promise<void> {}
}
