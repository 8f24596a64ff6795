import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));

export interface LogLine {
  readonly time: string;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/**
 * One Breakwater replica as its own process (the CLI with a config file, on ports of the system's
 * choosing), its JSON log lines collected. `stop()` sends SIGTERM and waits for the exit; a replica
 * still running when the test ends is killed.
 */
export class Replica {
  readonly logs: LogLine[] = [];
  url = "";
  adminUrl = "";
  #child: ChildProcess | undefined;

  readonly configPath: string;
  readonly #args: readonly string[];

  /** `args`: more of the CLI's flags, such as `--watch`. */
  constructor(configPath: string, args: readonly string[] = []) {
    this.configPath = configPath;
    this.#args = args;
  }

  async start(): Promise<this> {
    const child = spawn(
      process.execPath,
      [
        cli,
        "--config",
        this.configPath,
        "--listen",
        "127.0.0.1:0",
        "--admin-listen",
        "127.0.0.1:0",
        ...this.#args,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.#child = child;
    let rest = "";
    let errors = "";
    child.stderr?.setEncoding("utf8").on("data", (text: string) => {
      errors += text;
    });
    const listening = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`replica did not start: ${errors}`)), 20_000);
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`replica exited with ${code}: ${errors}`));
      });
      child.stdout?.setEncoding("utf8").on("data", (text: string) => {
        const lines = (rest + text).split("\n");
        rest = lines.pop() ?? "";
        for (const line of lines.filter(Boolean)) {
          const entry = JSON.parse(line) as LogLine;
          this.logs.push(entry);
          if (entry.msg === "breakwater listening") {
            this.url = entry["proxy"] as string;
            this.adminUrl = entry["admin"] as string;
            clearTimeout(timer);
            resolve();
          }
        }
      });
    });
    await listening;
    return this;
  }

  /** The log lines with this message (or starting with it). */
  lines(msg: string): LogLine[] {
    return this.logs.filter((l) => l.msg.startsWith(msg));
  }

  signal(signal: NodeJS.Signals): void {
    this.#child?.kill(signal);
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(killer);
  }
}
