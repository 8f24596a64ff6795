#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

/**
 * The `breakwater` command (SPEC §2). Exit codes: 0 clean exit, 2 bad usage or config (the message
 * names the key and file), 1 a runtime failure such as a port in use.
 */
const usage = `Usage:
  breakwater --config FILE                 run the proxy from a TOML file
  breakwater --listen HOST:PORT --route PATH --upstream [NAME=]URL [--upstream …]
  breakwater --listen HOST:PORT --server NAME=URL [--server NAME=URL …] [--aggregate PATH]
  breakwater check --config FILE           validate a config and print the effective configuration
  breakwater --help | --version

Options (flags win over the file; --upstream or --server replaces the file's upstreams and servers):
  -c, --config FILE         TOML configuration
      --watch               reload when the config file changes (SIGHUP always reloads)
      --listen HOST:PORT    proxy listener        (default 127.0.0.1:8080)
      --route PATH          path prefix served    (default /)
      --upstream [NAME=]URL an upstream, a replica of the one server; repeat for several
      --server NAME=URL     a server on the route /NAME; repeat for several (the same NAME again:
                            a replica of it); not with --upstream or --route
      --aggregate PATH      one MCP endpoint on PATH over every server (--server or [[servers]]),
                            in place of the file's [aggregate]
      --admin-listen HOST:PORT  health, metrics, circuit control (default 127.0.0.1:9901)
      --log-level LEVEL     trace, debug, info, warn, error, fatal or silent (default info)
  -h, --help  -v, --version
`;

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    process.stderr.write(`breakwater: ${await withSuggestion(error as Error)}\n\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== "check")) {
    process.stderr.write(`breakwater: unknown command "${positionals.join(" ")}"\n\n${usage}`);
    return 2;
  }
  // the proxy's modules are loaded only for a command that needs them: --version and --help stay quick
  const { command } = await import("./app/command.ts");
  return command(
    {
      configPath: values.config,
      listen: values.listen,
      route: values.route,
      adminListen: values["admin-listen"],
      upstreams: values.upstream,
      servers: values.server,
      aggregate: values.aggregate,
      logLevel: values["log-level"],
    },
    { check: positionals[0] === "check", watch: values.watch === true },
  );
}

const options = {
  config: { type: "string", short: "c" },
  listen: { type: "string" },
  route: { type: "string" },
  upstream: { type: "string", multiple: true },
  server: { type: "string", multiple: true },
  aggregate: { type: "string" },
  "admin-listen": { type: "string" },
  "log-level": { type: "string" },
  watch: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
} as const;

function parse(argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, strict: true, options });
}

/**
 * parseArgs's message, except for an unknown option: named shortly, with the option it most likely
 * meant ("unknown option --lisen (did you mean --listen?)").
 */
async function withSuggestion(error: Error): Promise<string> {
  const unknown = /^Unknown option '(-{1,2}[^']+)'/.exec(error.message);
  if (unknown === null) return error.message;
  const typed = unknown[1] as string;
  const { closestName } = await import("./config/closestKey.ts");
  const meant = closestName(typed.replace(/^-+/, ""), Object.keys(options));
  return `unknown option ${typed}${meant === undefined ? "" : ` (did you mean --${meant}?)`}`;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `breakwater: unexpected failure: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
