import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Breakwater } from "../../src/app/Breakwater.ts";
import type { Clock } from "../../src/breaker/Clock.ts";
import { loadConfig } from "../../src/config/loadConfig.ts";
import { ConfigReloader, type LoadedConfig } from "../../src/reload/ConfigReloader.ts";
import type { Timers } from "../../src/time/Timers.ts";
import { capturedLog } from "../support/capturedLog.ts";

/** What the reload tests start, stopped by the file that started it (in its `after`). */
export const cleanup: (() => Promise<void> | void)[] = [];

/**
 * Breakwater from a config file that stays on disk, and a reloader for it; log lines kept. `timers`
 * step its waits, `clock` its breakers'; `alter` changes each config the reloader loads before it is
 * applied.
 */
export async function reloadable(
  toml: string,
  {
    timers,
    clock,
    alter = (loaded) => loaded,
  }: { timers?: Timers; clock?: Clock; alter?: (loaded: LoadedConfig) => LoadedConfig } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), "breakwater-reload-"));
  const path = join(dir, "breakwater.toml");
  writeFileSync(path, toml);
  const { logger, lines } = capturedLog();
  const load = () => loadConfig({ configPath: path, listen: "127.0.0.1:0", adminListen: "127.0.0.1:0" });
  const running = load();
  const breakwater = new Breakwater({
    config: running.config,
    logger,
    ...(timers === undefined ? {} : { timers }),
    ...(clock === undefined ? {} : { clock }),
  });
  const { proxy, admin } = await breakwater.start();
  const reloader = new ConfigReloader({
    load: () => alter(load()),
    running,
    apply: (c) => breakwater.reload(c),
    logger,
    path,
  });
  cleanup.push(
    () => rmSync(dir, { recursive: true, force: true }),
    () => breakwater.close(1_000),
    () => reloader.stop(),
  );
  return {
    path,
    breakwater,
    reloader,
    lines,
    url: `http://127.0.0.1:${proxy.port}`,
    adminUrl: `http://127.0.0.1:${admin.port}`,
    /** Writes a new config and reloads it, as SIGHUP does; the log line of that reload. */
    reloadWith(next: string) {
      writeFileSync(path, next);
      const count = lines.length;
      reloader.reload("SIGHUP");
      return lines.slice(count);
    },
  };
}
