import { stringify } from "smol-toml";
import { ConfigError } from "../config/ConfigError.ts";
import { type ConfigFlags, loadConfig } from "../config/loadConfig.ts";
import { redactUrl } from "../config/redactUrl.ts";
import { logLevels } from "../config/schema.ts";
import { formatListenAddress } from "../http/listenAddress.ts";
import { ConfigReloader, type LoadedConfig } from "../reload/ConfigReloader.ts";
import { Breakwater } from "./Breakwater.ts";
import { missingPrograms } from "./findProgram.ts";
import { loadTelemetry } from "./loadTelemetry.ts";
import { createLogger } from "./logger.ts";

/** What the command line asks for beyond the config's flags. */
export interface CommandMode {
  /** `breakwater check`: validate and print the effective configuration, start nothing. */
  readonly check: boolean;
  /** `--watch`: reload when the config file changes. */
  readonly watch: boolean;
}

/**
 * The `breakwater` command once its arguments are parsed (see `cli.ts`): loads the config (exit 2
 * naming the key when it is bad), then checks it or runs the proxy. Resolves to the exit code.
 */
export async function command(flags: ConfigFlags, mode: CommandMode): Promise<number> {
  let loaded: LoadedConfig;
  try {
    const level = flags.logLevel;
    if (level !== undefined && !(logLevels as readonly string[]).includes(level)) {
      return usageError(`--log-level "${level}": expected one of ${logLevels.join(", ")}`);
    }
    loaded = loadConfig(flags);
  } catch (error) {
    if (error instanceof ConfigError) return usageError(error.message);
    throw error;
  }
  if (mode.check) {
    process.stdout.write(`# ${flags.configPath ?? "command line"}: valid. Effective configuration:\n\n`);
    // the servers form has no top-level upstreams: not shown as an empty list
    const { upstreams: _none, ...servers } = loaded.effective;
    process.stdout.write(
      `${stringify(loaded.effective.servers === undefined ? loaded.effective : servers)}\n`,
    );
    // a warning, not an error: the program may be installed before the proxy starts
    for (const warning of missingPrograms(loaded.config))
      process.stderr.write(`breakwater: warning: ${warning}\n`);
    return 0;
  }
  if (mode.watch && flags.configPath === undefined) {
    return usageError("--watch needs --config: there is no file to watch");
  }
  return run(loaded, () => loadConfig(flags), mode.watch ? flags.configPath : undefined);
}

/** Exit 2, the message on stderr (each of its lines prefixed, as `check` lists several problems). */
function usageError(message: string): number {
  process.stderr.write(`breakwater: ${message.replaceAll("\n", "\nbreakwater: ")}\n`);
  return 2;
}

/** Runs the proxy until SIGTERM or SIGINT; SIGHUP (and, with `watchPath`, a change of it) reloads. */
async function run(
  loaded: LoadedConfig,
  load: () => LoadedConfig,
  watchPath: string | undefined,
): Promise<number> {
  const config = loaded.config;
  const telemetry = config.telemetry === undefined ? undefined : await loadTelemetry(config.telemetry);
  const logger = createLogger(undefined, config.logLevel, telemetry?.logFields);
  const breakwater = new Breakwater({ config, logger, telemetry });
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
    const root = `${config.tls ? "https" : "http"}://${formatListenAddress({ host: proxy.address, port: proxy.port })}`;
    // the old form's one server on its route, as before; with [[servers]], each on its own: the root
    const oldForm = loaded.effective.servers === undefined;
    logger.info(
      {
        proxy: oldForm ? `${root}${config.servers[0]?.route ?? ""}` : root,
        admin: `${config.adminTls ? "https" : "http"}://${formatListenAddress({ host: admin.address, port: admin.port })}`,
        upstreams: config.upstreams.map((u) => ({
          name: u.name,
          // the config refuses credentials in an upstream url; redacted all the same, as every URL shown
          ...(u.url === undefined ? { command: u.stdio?.command } : { url: redactUrl(u.url) }),
        })),
        servers: config.servers.map((server) => ({
          name: server.name,
          ...(server.route === undefined ? {} : { url: `${root}${server.route}` }),
          upstreams: server.upstreams.map((u) => u.name),
        })),
        // one MCP endpoint over them (SPEC §7.2): where a client of them all connects
        ...(config.aggregate === undefined
          ? {}
          : { aggregate: { url: `${root}${config.aggregate.route}`, servers: config.aggregate.servers } }),
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
