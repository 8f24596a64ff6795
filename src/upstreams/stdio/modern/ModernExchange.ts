import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { systemTimers, type Timer, type Timers } from "../../../time/Timers.ts";
import {
  type ResponseSink,
  type TransportControls,
  type TransportFailure,
  transportFailure,
} from "../../Upstream.ts";
import { HeldBytes, maxHeldBytesPerUpstream } from "./HeldBytes.ts";

/**
 * The HTTP status of a JSON-RPC error answered before anything was streamed, as an SDK 2.x server maps
 * its pre-dispatch ("ladder") errors (`LADDER_ERROR_HTTP_STATUS` of SDK 2.4.0; 2026-07-28
 * streamable-http.mdx: -32601 "MUST respond with `404 Not Found`", -32022/-32021/-32020 400). Every
 * other error is in-band, on 200.
 */
const ladderStatus: Readonly<Record<number, number>> = {
  [-32700]: 400,
  [-32600]: 400,
  [-32601]: 404,
  [-32022]: 400,
  [-32021]: 400,
  [-32020]: 400,
};

/** SSE comment lines keep a standing stream alive through idle timeouts of the path (SDK 2.4.0: 15 s). */
export const keepAliveMs = 15_000;

/**
 * Bytes written to a client that does not read (its socket paused) and held for it at most: past this,
 * or past what all clients of the upstream may hold together (`HeldBytes`), the client counts as gone
 * and its call is cancelled. A process serves many clients and is never paused for one.
 */
export const maxHeldBytes = 16 * 1024 * 1024;

const sseHeaders = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
};
const jsonHeaders = { "content-type": "application/json" };

/**
 * One client's POST of a 2026-07-28 request to a stdio server, answered as the SDK 2.x per-request HTTP
 * transport answers it (`responseMode: 'auto'`): a single JSON body when the answer comes alone, an SSE
 * stream as soon as a related message (progress, a log message, a listen's acknowledgement and change
 * notifications) comes before it — the answer then ends the stream. A client that leaves (or whose
 * deadline passes) before the answer has cancelled the call (2026-07-28 cancellation.mdx: "The server
 * MUST treat a client disconnect as cancellation of that request"): `onCancel` is told.
 */
export class ModernExchange implements TransportControls {
  readonly #sink: ResponseSink;
  readonly #timers: Timers;
  readonly #finished: () => void;
  readonly #budget: HeldBytes;
  /** Told once, when the client leaves before the answer. */
  onCancel: (() => void) | undefined;
  #streaming = false;
  #over = false;
  #paused = false;
  #held: Buffer[] = [];
  #heldBytes = 0;
  #endHeld = false;
  #keepAlive: Timer | undefined;

  constructor(
    sink: ResponseSink,
    finished: () => void,
    timers: Timers = systemTimers,
    budget: HeldBytes = new HeldBytes(maxHeldBytesPerUpstream),
  ) {
    this.#sink = sink;
    this.#finished = finished;
    this.#timers = timers;
    this.#budget = budget;
  }

  /** Whether the exchange is over: answered, or the client gone. */
  get over(): boolean {
    return this.#over;
  }

  /** A message related to the call, before its answer: the answer becomes an SSE stream. */
  related(message: JSONRPCMessage): void {
    if (this.#over) return;
    if (!this.#streaming) this.#openStream();
    this.#write(event(message));
  }

  /** The call's answer: the JSON body, or the last event of the stream; the exchange is then over. */
  answer(message: JSONRPCMessage): void {
    if (this.#over) return;
    if (this.#streaming) {
      this.#write(event(message));
      this.#end();
      return;
    }
    const code = "error" in message ? message.error.code : undefined;
    const status = code === undefined ? 200 : (ladderStatus[code] ?? 200);
    this.#sink.head(status, jsonHeaders, "");
    if (this.#over) return;
    this.#write(Buffer.from(JSON.stringify(message)));
    this.#end();
  }

  /** The call ended without an answer (the server tore its listen down): the stream ends. */
  finish(): void {
    if (this.#over) return;
    if (!this.#streaming) this.#openStream();
    this.#end();
  }

  /** A plain answer Breakwater gives itself (a status and a body, or none). */
  respond(status: number, body: string | undefined): void {
    if (this.#over) return;
    this.#sink.head(status, body === undefined ? {} : jsonHeaders, "");
    if (this.#over) return;
    if (body !== undefined) this.#write(Buffer.from(body));
    this.#end();
  }

  /** The call could not be sent (no process could start, or none had room): told as a transport failure. */
  fail(failure: TransportFailure): void {
    if (this.#over) return;
    this.#done();
    this.#sink.error(failure);
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    const held = this.#held;
    this.#letGo();
    for (const chunk of held) {
      if (this.#over && !this.#endHeld) return;
      this.#sink.data(chunk);
    }
    if (this.#endHeld) this.#sink.end();
  }

  /** The client is gone, or its deadline passed: the call is cancelled. */
  abort(_reason: Error): void {
    this.#letGo(); // nothing held can reach a client that is gone, answered or not
    this.#endHeld = false;
    if (this.#over) return;
    this.#done();
    this.onCancel?.();
  }

  #openStream(): void {
    this.#streaming = true;
    this.#sink.head(200, sseHeaders, "");
    this.#armKeepAlive();
  }

  #armKeepAlive(): void {
    this.#keepAlive = this.#timers.setTimeout(() => {
      if (this.#over) return;
      this.#write(Buffer.from(": keepalive\n\n"));
      this.#armKeepAlive();
    }, keepAliveMs);
  }

  #write(chunk: Buffer): void {
    if (this.#over) return;
    if (!this.#paused) {
      this.#sink.data(chunk);
      return;
    }
    if (this.#heldBytes + chunk.length <= maxHeldBytes && this.#budget.take(chunk.length)) {
      this.#held.push(chunk);
      this.#heldBytes += chunk.length;
      return;
    }
    // a client that does not read is gone, as far as the process is concerned
    this.#letGo();
    this.#done();
    this.onCancel?.();
    this.#sink.error(transportFailure(new Error("the client does not read its response")));
  }

  /** Drops what is held for the client, and gives it back to the upstream's budget. */
  #letGo(): void {
    this.#budget.give(this.#heldBytes);
    this.#held = [];
    this.#heldBytes = 0;
  }

  #end(): void {
    if (this.#over) return;
    this.#done();
    if (this.#paused) this.#endHeld = true;
    else this.#sink.end();
  }

  #done(): void {
    this.#over = true;
    this.#timers.clearTimeout(this.#keepAlive);
    this.#finished();
  }
}

function event(message: JSONRPCMessage): Buffer {
  return Buffer.from(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
}
