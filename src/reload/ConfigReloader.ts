import { type FSWatcher, readFileSync, watch } from "node:fs";
import { basename, dirname } from "node:path";
import type { Logger } from "pino";
import type { Config } from "../config/Config.ts";
import { ConfigError } from "../config/ConfigError.ts";
import type { EffectiveConfig } from "../config/loadConfig.ts";
import { systemTimers, type Timer, type Timers } from "../time/Timers.ts";
import { ReloadRefused } from "./ReloadRefused.ts";
import { whatRuns } from "./restartOnly.ts";
import { settingChanges } from "./settingChanges.ts";
import type { UpstreamChanges } from "./upstreamPlan.ts";

export interface LoadedConfig {
  readonly config: Config;
  readonly effective: EffectiveConfig;
  /** Which Host rules the file left to the listen addresses (`loadConfig`'s defaults). */
  readonly hostsFollowListen?: { readonly proxy: boolean; readonly admin: boolean };
}

export interface ConfigReloaderOptions {
  /** Reads and checks the configuration again (the same file and flags as at start). */
  readonly load: () => LoadedConfig;
  /** The configuration running now. */
  readonly running: LoadedConfig;
  /**
   * Applies a valid new configuration (`Breakwater.reload`); the keys that take a restart come with
   * their running values.
   */
  readonly apply: (config: Config) => UpstreamChanges;
  readonly logger: Logger;
  /** The config file, for `watch()`. */
  readonly path?: string | undefined;
  /** The timers that let a burst of file events settle; default the system's. */
  readonly timers?: Timers;
}

/** A burst of file events (an editor's write, rename and chmod) is one change. */
const settleMs = 100;

/**
 * Reloads the configuration on request (SIGHUP) or when its file changes (`--watch`), SPEC §6.3: a valid
 * one is applied and logged with what changed; one that needs a restart for some keys is applied but for
 * those, which are named; an invalid one is logged with the message `breakwater check` would print, and
 * the running configuration stays.
 */
export class ConfigReloader {
  readonly #o: ConfigReloaderOptions;
  #running: LoadedConfig;
  #watcher: FSWatcher | undefined;
  #settle: Timer | undefined;
  #lastText: string | undefined;
  /** `stop` was called (the proxy is shutting down): reloads are ignored. */
  #stopped = false;

  constructor(options: ConfigReloaderOptions) {
    this.#o = options;
    this.#running = options.running;
  }

  /** Reloads now. */
  reload(trigger: string): void {
    const { logger } = this.#o;
    if (this.#stopped) {
      logger.warn({ trigger }, "config reload ignored: the proxy is shutting down");
      return;
    }
    let next: LoadedConfig;
    try {
      next = this.#o.load();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      logger.error({ trigger, problem: error.message }, "config reload refused: the running config stays");
      return;
    }
    const runs = whatRuns(this.#running, next);
    // what this reload changes in what runs; and what still differs from the file, left for a restart
    // (named on every reload until the file matches what runs again)
    const applies = settingChanges(this.#running, runs);
    const settings = { ...applies, needRestart: settingChanges(runs, next).needRestart };
    let upstreams: UpstreamChanges;
    try {
      upstreams = this.#o.apply(runs.config);
    } catch (error) {
      if (error instanceof ReloadRefused) {
        logger.warn({ trigger, reason: error.message }, "config reload ignored: the proxy is shutting down");
        return;
      }
      // a config that passed every check and still could not be applied: say so, and serve on
      logger.error({ trigger, err: error }, "config reload failed");
      return;
    }
    this.#running = runs;
    if (settings.needRestart.length > 0) {
      logger.warn(
        { trigger, keys: settings.needRestart },
        "config changes that need a restart were not applied",
      );
    }
    const { servers, ...upstreamChanges } = upstreams;
    logger.info(
      {
        trigger,
        upstreams: upstreamChanges,
        servers,
        ...(settings.aggregate === undefined ? {} : { aggregate: settings.aggregate }),
        changed: settings.applied,
        ...(settings.needRestart.length === 0 ? {} : { need_restart: settings.needRestart }),
      },
      "config reloaded",
    );
  }

  /**
   * Reloads whenever the config file's content changes. The folder is watched, not the file, so that
   * an editor's save by rename, or a Kubernetes ConfigMap's swap of a symlink, is seen too.
   */
  watch(): void {
    const path = this.#o.path;
    if (path === undefined || this.#watcher !== undefined) return;
    this.#lastText = readText(path);
    const name = basename(path);
    this.#watcher = watch(dirname(path), (_event, file) => {
      if (file !== null && file !== name && !file.startsWith("..")) return;
      const timers = this.#o.timers ?? systemTimers;
      timers.clearTimeout(this.#settle);
      this.#settle = timers.setTimeout(() => {
        const text = readText(path);
        if (text === undefined || text === this.#lastText) return;
        this.#lastText = text;
        this.reload("watch");
      }, settleMs);
    });
    this.#watcher.unref();
  }

  stop(): void {
    this.#stopped = true;
    (this.#o.timers ?? systemTimers).clearTimeout(this.#settle);
    this.#watcher?.close();
    this.#watcher = undefined;
  }
}

/** The file's text, or undefined while it is missing (between an editor's delete and its rename). */
function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}
