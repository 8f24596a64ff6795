#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { stringify } from "smol-toml";
import { Breakwater } from "./app/Breakwater.ts";
import { missingPrograms } from "./app/findProgram.ts";
import { createLogger } from "./app/logger.ts";
import { ConfigError } from "./config/ConfigError.ts";
import { type ConfigFlags, loadConfig } from "./config/loadConfig.ts";
import { redactUrl } from "./config/redactUrl.ts";
import { logLevels } from "./config/schema.ts";
import { formatListenAddress } from "./http/listenAddress.ts";
import { ConfigReloader, type LoadedConfig } from "./reload/ConfigReloader.ts";

/**
 * The `breakwater` command (SPEC §2). Exit codes: 0 clean exit, 2 bad usage or config (the message
 * names the key and file), 1 a runtime failure such as a port in use.
 */
const usage = `Usage:
  breakwater --config FILE                 run the proxy from a TOML file
  breakwater --listen HOST:PORT --route PATH --upstream URL [--upstream URL …]
  breakwater check --config FILE           validate a config and print the effective configuration
  breakwater --help | --version

Options (flags win over the file; --upstream replaces the file's upstreams):
  -c, --config FILE         TOML configuration
      --watch               reload when the config file changes (SIGHUP always reloads)
      --listen HOST:PORT    proxy listener        (default 127.0.0.1:8080)
      --route PATH          path prefix served    (default /)
      --upstream URL        an upstream; repeat for several
      --admin-listen HOST:PORT  health, metrics, circuit control (default 127.0.0.1:9901)
      --log-level LEVEL     trace, debug, info, warn, error, fatal or silent (default info)
  -h, --help  -v, --version
`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    process.stderr.write(`breakwater: ${(error as Error).message}\n\n${usage}`);
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
  const flags: ConfigFlags = {
    configPath: values.config,
    listen: values.listen,
    route: values.route,
    adminListen: values["admin-listen"],
    upstreams: values.upstream,
    logLevel: values["log-level"],
  };
  let loaded: ReturnType<typeof loadConfig>;
  try {
    if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== "check")) {
      throw new UsageError(`unknown command "${positionals.join(" ")}"`);
    }
    const level = flags.logLevel;
    if (level !== undefined && !(logLevels as readonly string[]).includes(level)) {
      throw new UsageError(`--log-level "${level}": expected one of ${logLevels.join(", ")}`);
    }
    loaded = loadConfig(flags);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof UsageError) {
      process.stderr.write(`breakwater: ${error.message.replaceAll("\n", "\nbreakwater: ")}\n`);
      return 2;
    }
    throw error;
  }
  if (positionals[0] === "check") {
    process.stdout.write(`# ${flags.configPath ?? "command line"}: valid. Effective configuration:\n\n`);
    process.stdout.write(`${stringify(loaded.effective)}\n`);
    // a warning, not an error: the program may be installed before the proxy starts
    for (const warning of missingPrograms(loaded.config))
      process.stderr.write(`breakwater: warning: ${warning}\n`);
    return 0;
  }
  if (values.watch && flags.configPath === undefined) {
    process.stderr.write("breakwater: --watch needs --config: there is no file to watch\n");
    return 2;
  }
  return run(loaded, () => loadConfig(flags), values.watch === true ? flags.configPath : undefined);
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: "string", short: "c" },
      listen: { type: "string" },
      route: { type: "string" },
      upstream: { type: "string", multiple: true },
      "admin-listen": { type: "string" },
      "log-level": { type: "string" },
      watch: { type: "boolean" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
    },
  });
}

/** Runs the proxy until SIGTERM or SIGINT; SIGHUP (and, with `watchPath`, a change of it) reloads. */
async function run(
  loaded: LoadedConfig,
  load: () => LoadedConfig,
  watchPath: string | undefined,
): Promise<number> {
  const config = loaded.config;
  const logger = createLogger(undefined, config.logLevel);
  const breakwater = new Breakwater({ config, logger });
  const reloader = new ConfigReloader({
    load,
    running: loaded,
    apply: (next) => breakwater.reload(next),
    logger,
    path: watchPath,
  });
  try {
    const { proxy, admin } = await breakwater.start();
    // ready to reload before saying so: a change made once the line is out is not missed
    process.on("SIGHUP", () => reloader.reload("SIGHUP"));
    if (watchPath !== undefined) reloader.watch();
    logger.info(
      {
        proxy: `${config.tls ? "https" : "http"}://${formatListenAddress({ host: proxy.address, port: proxy.port })}${config.route}`,
        admin: `${config.adminTls ? "https" : "http"}://${formatListenAddress({ host: admin.address, port: admin.port })}`,
        upstreams: config.upstreams.map((u) => ({
          name: u.name,
          // the config refuses credentials in an upstream url; redacted all the same, as every URL shown
          ...(u.url === undefined ? { command: u.stdio?.command } : { url: redactUrl(u.url) }),
        })),
      },
      "breakwater listening",
    );
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { address?: string; port?: number };
    const where =
      e.address === undefined ? "" : ` on ${formatListenAddress({ host: e.address, port: e.port ?? 0 })}`;
    const why =
      e.code === "EADDRINUSE"
        ? "address already in use"
        : e.code === "EACCES"
          ? "permission denied"
          : e.message;
    process.stderr.write(`breakwater: cannot listen${where}: ${why}\n`);
    await breakwater.close(0);
    return 1;
  }
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, "second signal: exiting at once");
        resolve(1);
        return;
      }
      stopping = true;
      reloader.stop();
      logger.info({ signal }, "shutting down: no new connections, letting in-flight requests finish");
      breakwater.close(10_000).then(
        () => {
          logger.info("stopped");
          resolve(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, "shutdown failed");
          resolve(1);
        },
      );
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
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
