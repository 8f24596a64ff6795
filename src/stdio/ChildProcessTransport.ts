import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { ReadBuffer, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

/** How a child process ended. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ChildProcessOptions {
  readonly command: readonly [string, ...string[]];
  readonly cwd: string | undefined;
  /** The whole environment of the child (see `minimalEnvironment`). */
  readonly env: Record<string, string>;
  /** Called with each line the child writes to stderr. */
  readonly onStderrLine?: (line: string) => void;
  /** After stdin is closed, the wait before SIGTERM, then before SIGKILL; default 2 s and 5 s (SPEC §5). */
  readonly stopAfterMs?: { readonly term: number; readonly kill: number };
}

/** After stdin is closed, how long a child has to exit before SIGTERM, then before SIGKILL (SPEC §5). */
const stopAfterMs = { term: 2_000, kill: 5_000 };

/**
 * An MCP SDK `Transport` over a child process's stdin/stdout — newline-delimited JSON-RPC, framed by the
 * SDK's own `ReadBuffer` and `serializeMessage` — that also supervises the child: it knows its exit
 * code or signal, hands its stderr on line by line, and stops it in steps (stdin closed, SIGTERM after
 * 2 s, SIGKILL after 5 s more). The SDK's `StdioClientTransport` does the framing too, but passes on
 * environment variables of its choosing and hides how the child ended.
 */
export class ChildProcessTransport implements Transport {
  onmessage?: (message: JSONRPCMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  readonly #options: ChildProcessOptions;
  readonly #readBuffer = new ReadBuffer();
  #child: ChildProcess | undefined;
  #exit: ChildExit | undefined;
  #exited: Promise<void> | undefined;

  constructor(options: ChildProcessOptions) {
    this.#options = options;
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
    });
    this.#child = child;
    this.#exited = new Promise<void>((resolve) => {
      child.once("close", (code, signal) => {
        this.#exit = { code, signal };
        resolve();
        this.onclose?.();
      });
    });
    child.stdout.on("data", (chunk: Buffer) => this.#read(chunk));
    // a child that dies under a write: the exit is what matters, reported by "close"
    child.stdin.on("error", () => {});
    createInterface({ input: child.stderr }).on("line", (line) => this.#options.onStderrLine?.(line));
    return new Promise((resolve, reject) => {
      child.once("spawn", () => resolve());
      child.once("error", (error) => {
        if (child.pid === undefined) reject(error);
        else this.onerror?.(error);
      });
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.#child?.stdin;
    if (stdin == null || stdin.destroyed || this.#exit !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      if (stdin.write(serializeMessage(message))) resolve();
      else stdin.once("drain", () => resolve());
    });
  }

  /** Stops the child in steps; resolves once it has exited. */
  async close(): Promise<void> {
    const child = this.#child;
    const exited = this.#exited;
    if (child === undefined || exited === undefined || this.#exit !== undefined) return;
    const after = this.#options.stopAfterMs ?? stopAfterMs;
    child.stdin?.end();
    if (await settlesWithin(exited, after.term)) return;
    child.kill("SIGTERM");
    if (await settlesWithin(exited, after.kill)) return;
    child.kill("SIGKILL");
    await exited;
  }

  #read(chunk: Buffer): void {
    try {
      this.#readBuffer.append(chunk);
    } catch (error) {
      this.onerror?.(error as Error); // a line past the SDK's 10 MiB bound: dropped
      return;
    }
    for (;;) {
      let message: JSONRPCMessage | null;
      try {
        message = this.#readBuffer.readMessage();
      } catch (error) {
        this.onerror?.(error as Error); // a line that is no JSON-RPC message: skipped
        continue;
      }
      if (message === null) return;
      this.onmessage?.(message);
    }
  }
}

/** Whether `promise` settles within `ms` (the timer does not hold the process open). */
async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms).unref();
  });
  const result = await Promise.race([promise.then(() => true as const), late]);
  clearTimeout(timer);
  return result;
}
