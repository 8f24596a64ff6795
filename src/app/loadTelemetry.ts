import type { TelemetryConfig } from "../config/Config.ts";
import type { ExportOptions } from "../telemetry/startTelemetry.ts";
import type { Telemetry } from "../telemetry/Telemetry.ts";

/**
 * Telemetry for `config` (SPEC §9), its code and the OpenTelemetry SDK imported only now: a proxy with
 * no OTLP endpoint never loads them, so telemetry off costs neither start-up time nor memory.
 */
export async function loadTelemetry(config: TelemetryConfig, options?: ExportOptions): Promise<Telemetry> {
  const { startTelemetry } = await import("../telemetry/startTelemetry.ts");
  return startTelemetry(config, options);
}
