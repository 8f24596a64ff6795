import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { freePort } from "../../scripts/freePort.ts";

/**
 * A real `redis-server` on 127.0.0.1 and a free port, without persistence, for the fleet's tests.
 * `stop()` kills it (as a crash would) and `start()` brings it back on the same port.
 */
export class RedisServer {
  port = 0;
  #child: ChildProcess | undefined;

  get url(): URL {
    return new URL(`redis://127.0.0.1:${this.port}`);
  }

  async start(): Promise<this> {
    if (this.port === 0) this.port = await freePort();
    const child = spawn(
      "redis-server",
      ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.#child = child;
    let output = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000);
      child.stdout?.setEncoding("utf8").on("data", (text: string) => {
        output += text;
        if (output.includes("Ready to accept connections")) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}:\n${output}`));
      });
    });
    child.stdout?.resume();
    return this;
  }

  /** Freezes the server (SIGSTOP): connections stay up, nothing is answered, as a server too busy to. */
  pause(): void {
    this.#child?.kill("SIGSTOP");
  }

  resume(): void {
    this.#child?.kill("SIGCONT");
  }

  /** Kills the server at once (SIGKILL: no goodbye to its clients). */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    child.kill("SIGCONT"); // a paused one too
    await exited;
  }
}
