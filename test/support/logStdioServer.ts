/**
 * A raw stdio server of the 2026-07-28 era for the pool placement tests: it answers `server/discover` once the file
 * named by `--go` exists; for each `tools/call` it writes `got <who> logs=<bool> pid=<pid>` to stderr,
 * a log message `log of <who>` when the call carries a log level (as a server may: "MUST NOT emit
 * notifications/message for a request that does not include" one), and answers once the file named by
 * `--release` exists. Waiting for a file is a signal, not a measure of time.
 */
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { discoverAnswer } from "./discoverAnswer.ts";

const arg = (name: string) => {
  const at = process.argv.indexOf(name);
  return at === -1 ? undefined : (process.argv[at + 1] as string);
};
const go = arg("--go");
const release = arg("--release");
const write = (message: unknown) => process.stdout.write(`${JSON.stringify(message)}\n`);
const when = (file: string | undefined, then: () => void) => {
  if (file === undefined || existsSync(file)) return then();
  setTimeout(() => when(file, then), 5);
};

interface Call {
  id: number;
  method?: string;
  params?: { arguments?: { who?: string }; _meta?: Record<string, unknown> };
}

createInterface({ input: process.stdin }).on("line", (line) => {
  const message = JSON.parse(line) as Call;
  if (message.id === undefined) return;
  if (message.method === "server/discover") {
    when(go, () => write(discoverAnswer(message.id, { tools: {}, logging: {} })));
    return;
  }
  const who = message.params?.arguments?.who ?? "?";
  const logs = message.params?._meta?.["io.modelcontextprotocol/logLevel"] !== undefined;
  process.stderr.write(`got ${who} logs=${logs} pid=${process.pid}\n`);
  if (logs)
    write({
      jsonrpc: "2.0",
      method: "notifications/message",
      params: { level: "info", data: `log of ${who}` },
    });
  when(release, () =>
    write({
      jsonrpc: "2.0",
      id: message.id,
      result: { resultType: "complete", content: [{ type: "text", text: who }] },
    }),
  );
});
