import { type ChildProcess, spawn } from "node:child_process";
import { deserializeMessage, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { systemTimers, type Timer, type Timers } from "../../time/Timers.ts";
import { LineFramer } from "./LineFramer.ts";

/** How a child process ended. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * Why the transport gave up on a child that still runs: a line on its stdout past
 * {@link maxMessageBytes} (thrown away unread), a child that does not read its stdin, or one that
 * closed its stdout (it can never answer again, SPEC §5).
 */
export type ChildFault = "message_too_large" | "stdin_stuck" | "stdout_closed";

export interface ChildProcessOptions {
  readonly command: readonly [string, ...string[]];
  readonly cwd: string | undefined;
  /** The whole environment of the child (see `minimalEnvironment`). */
  readonly env: Record<string, string>;
  /** Called with each line the child writes to stderr, cut at {@link maxStderrLineBytes}. */
  readonly onStderrLine?: (line: string) => void;
  /** After stdin is closed, the wait before SIGTERM, then before SIGKILL; default 2 s and 5 s (SPEC §5). */
  readonly stopAfterMs?: { readonly term: number; readonly kill: number };
  /** The waits of stopping, stepped by tests; default {@link systemTimers}. */
  readonly timers?: Timers;
  /** Bytes of one stdout line (one JSON-RPC message) at most; default {@link maxMessageBytes}. */
  readonly maxMessageBytes?: number;
}

/** After stdin is closed, how long a child has to exit before SIGTERM, then before SIGKILL (SPEC §5). */
const stopAfterMs = { term: 2_000, kill: 5_000 };

/**
 * The longest JSON-RPC message (one stdout line) taken from a child: 64 MiB, well above the 10 MiB of
 * the SDK's own stdio transport. A longer line is thrown away as it streams (README, stdio section).
 */
export const maxMessageBytes = 64 * 1024 * 1024;

/**
 * How long a child that closed its stdout has to exit before it counts as the fault `stdout_closed`:
 * a child that exits closes stdout too, a moment before its exit is seen, and is told by its exit.
 */
export const stdoutClosedGraceMs = 1_000;

/** Bytes of one stderr line logged at most; the rest is cut and the cut marked (SPEC §5). */
export const maxStderrLineBytes = 8 * 1024;

/**
 * Bytes written to a child's stdin and not yet taken by it beyond which the child counts as stuck
 * (it does not read): the pipe holds 64 KiB, the rest waits in the proxy's memory, so it is bounded.
 */
export const maxStdinBacklogBytes = 16 * 1024 * 1024;

/**
 * An MCP SDK `Transport` over a child process's stdin/stdout — newline-delimited JSON-RPC, each line
 * bounded (`LineFramer`) — that also supervises the child: it knows its exit code or signal, hands its
 * stderr on line by line (each line bounded too), and stops it in steps (stdin closed, SIGTERM after
 * 2 s, SIGKILL after 5 s more). The child runs in a process group of its own, and every signal goes to
 * the group: helpers it starts (`npx`, `sh -c`, `uvx` start the server as one) end with it. The SDK's
 * `StdioClientTransport` passes on environment variables of its choosing, hides how the child ended,
 * and signals the child alone.
 */
export class ChildProcessTransport implements Transport {
  onmessage?: (message: JSONRPCMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  /** Told when the child can no longer be served as it should (see {@link ChildFault}). */
  onfault?: (fault: ChildFault) => void;
  readonly #options: ChildProcessOptions;
  readonly #timers: Timers;
  #child: ChildProcess | undefined;
  #exit: ChildExit | undefined;
  /** Settles once the child has exited and its pipes have closed. */
  #closed: Promise<void> | undefined;
  /** The SIGKILL for helpers left in the group after the child itself exited. */
  #groupKill: Timer | undefined;
  /** Started when stdout closes with the child still running (see {@link stdoutClosedGraceMs}). */
  #stdoutClosed: Timer | undefined;

  constructor(options: ChildProcessOptions) {
    this.#options = options;
    this.#timers = options.timers ?? systemTimers;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** How the child ended; undefined while it runs. */
  get exit(): ChildExit | undefined {
    return this.#exit;
  }

  /** Spawns the child. Rejects when it cannot start (ENOENT, EACCES, a bad cwd). */
  start(): Promise<void> {
    const [program, ...args] = this.#options.command;
    const child = spawn(program, args, {
      cwd: this.#options.cwd,
      env: this.#options.env,
      stdio: ["pipe", "pipe", "pipe"],
      shell: false,
      detached: true, // a process group of its own, signalled as one (see signalGroup)
    });
    this.#child = child;
    const stdout = new LineFramer({
      maxLineBytes: this.#options.maxMessageBytes ?? maxMessageBytes,
      tooLong: "drop",
      onLine: (line) => this.#message(line),
      onTooLong: () => this.onfault?.("message_too_large"),
    });
    const stderr = new LineFramer({
      maxLineBytes: maxStderrLineBytes,
      tooLong: "cut",
      onLine: (line, cut) =>
        this.#options.onStderrLine?.(
          cut > 0 ? `${line.toString("utf8")}…[cut ${cut} bytes]` : line.toString("utf8"),
        ),
    });
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stdout.on("end", () => {
      if (this.#exit !== undefined) return;
      this.#stdoutClosed = this.#timers.setTimeout(() => {
        if (this.#exit === undefined) this.onfault?.("stdout_closed");
      }, stdoutClosedGraceMs);
    });
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.stderr.on("end", () => stderr.end());
    // a child that dies under a write: the exit is what matters, reported by "exit" and "close"
    child.stdin.on("error", () => {});
    child.once("exit", (code, signal) => {
      this.#exit = { code, signal };
      this.#timers.clearTimeout(this.#stdoutClosed);
      // helpers the child started go with it; the pipes they hold close when they do
      this.#signalGroup("SIGTERM");
      this.#groupKill = this.#timers.setTimeout(
        () => this.#signalGroup("SIGKILL"),
        (this.#options.stopAfterMs ?? stopAfterMs).kill,
      );
    });
    this.#closed = new Promise<void>((resolve) => {
      child.once("close", (code, signal) => {
        this.#exit ??= { code, signal };
        this.#timers.clearTimeout(this.#groupKill);
        resolve();
        this.onclose?.();
      });
    });
    return new Promise((resolve, reject) => {
      child.once("spawn", () => resolve());
      child.once("error", (error) => {
        if (child.pid === undefined) reject(error);
        else this.onerror?.(error);
      });
    });
  }

  /**
   * Writes `message` to the child's stdin. Settles at once: rejects when the child is gone, or when it
   * has not taken what was written before ({@link maxStdinBacklogBytes}: then it is also told as the
   * fault `stdin_stuck`); resolves otherwise, the bytes in the pipe's buffer.
   */
  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.#child?.stdin;
    if (stdin == null || !stdin.writable || this.#exit !== undefined) {
      return Promise.reject(new Error("the process is not running"));
    }
    if (stdin.writableLength >= maxStdinBacklogBytes) {
      this.onfault?.("stdin_stuck");
      return Promise.reject(new Error("the process does not read its stdin"));
    }
    stdin.write(serializeMessage(message));
    return Promise.resolve();
  }

  /** Stops the child in steps; resolves once it has exited. */
  async close(): Promise<void> {
    const child = this.#child;
    const closed = this.#closed;
    if (child === undefined || closed === undefined || this.#exit !== undefined) return closed;
    const after = this.#options.stopAfterMs ?? stopAfterMs;
    child.stdin?.end();
    if (await this.#settlesWithin(closed, after.term)) return;
    this.#signalGroup("SIGTERM");
    if (await this.#settlesWithin(closed, after.kill)) return;
    this.#signalGroup("SIGKILL");
    await closed;
  }

  /** Sends `signal` to the child's process group (the child and every helper it started). */
  #signalGroup(signal: NodeJS.Signals): void {
    const pid = this.#child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // ESRCH: the group is empty already
    }
  }

  #message(line: Buffer): void {
    if (line.length === 0) return;
    let message: JSONRPCMessage;
    try {
      message = deserializeMessage(line.toString("utf8"));
    } catch (error) {
      this.onerror?.(error as Error); // a line that is no JSON-RPC message: skipped
      return;
    }
    this.onmessage?.(message);
  }

  /** Whether `promise` settles within `ms`. */
  async #settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
    let timer: Timer | undefined;
    const late = new Promise<false>((resolve) => {
      timer = this.#timers.setTimeout(() => resolve(false), ms);
    });
    const result = await Promise.race([promise.then(() => true as const), late]);
    this.#timers.clearTimeout(timer);
    return result;
  }
}
