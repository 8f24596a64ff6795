import type { TelemetryConfig } from "./Config.ts";
import { ConfigError } from "./ConfigError.ts";
import { type OtlpEndpointForm, otlpEndpointProblem, signalUrl } from "./otlpEndpoint.ts";
import { hasCredentials, redactUrl } from "./redactUrl.ts";
import type { TelemetryTable } from "./schema.ts";

/**
 * `[telemetry]` as `breakwater check` prints it: where each signal goes and what is sampled, whether
 * the file or the environment said so; or, when telemetry is off although something asked for it, why.
 */
export type EffectiveTelemetry =
  | {
      /** The base URL, when the file or `OTEL_EXPORTER_OTLP_ENDPOINT` gives one. */
      otlp_endpoint?: string;
      service_name: string;
      sample_ratio: number;
      traces_endpoint: string;
      /** Absent: metrics are not exported over OTLP (they are still on the admin `/metrics`). */
      metrics_endpoint?: string;
    }
  | { disabled: string };

/** What the file and the environment make of telemetry: undefined `config` when it is off. */
export interface ResolvedTelemetry {
  readonly config: TelemetryConfig | undefined;
  /** Undefined when telemetry is off and nothing asked for it. */
  readonly effective: EffectiveTelemetry | undefined;
}

/** The standard variables read here (OpenTelemetry's "Environment Variable Specification"). */
const variables = {
  disabled: "OTEL_SDK_DISABLED",
  endpoint: "OTEL_EXPORTER_OTLP_ENDPOINT",
  tracesEndpoint: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  metricsEndpoint: "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
  serviceName: "OTEL_SERVICE_NAME",
  sampler: "OTEL_TRACES_SAMPLER",
  samplerArg: "OTEL_TRACES_SAMPLER_ARG",
} as const;

type Read = (name: string) => string | undefined;

/**
 * Resolves `[telemetry]` with the `OTEL_*` variables (SPEC §9). Each key of the file wins over its
 * variable, as `server.admin_token` does over `BREAKWATER_ADMIN_TOKEN`; among the variables the
 * OpenTelemetry rules hold (a signal's own endpoint over the general one). `OTEL_SDK_DISABLED=true`
 * turns telemetry off whatever the file says: it is the standard switch an operator reaches for.
 * No endpoint anywhere: off. A bad value in a variable is a config error naming the variable.
 *
 * @throws {ConfigError} naming the variable and what is wrong with its value.
 */
export function resolveTelemetry(
  table: TelemetryTable | undefined,
  env: NodeJS.ProcessEnv,
): ResolvedTelemetry {
  // an empty variable is an unset one (OpenTelemetry's rule)
  const read: Read = (name) => {
    const value = env[name]?.trim();
    return value === "" ? undefined : value;
  };
  const askedFor =
    table !== undefined ||
    [variables.endpoint, variables.tracesEndpoint, variables.metricsEndpoint].some(
      (v) => read(v) !== undefined,
    );
  const off = (why: string): ResolvedTelemetry => ({
    config: undefined,
    effective: askedFor ? { disabled: why } : undefined,
  });
  if (sdkDisabled(read)) return off(`${variables.disabled}=true: nothing is traced or exported`);
  const endpoints = exportEndpoints(table?.otlp_endpoint, read);
  if (endpoints === undefined) {
    return off(`no endpoint: set telemetry.otlp_endpoint (or ${variables.endpoint}) to export`);
  }
  const serviceName = table?.service_name ?? read(variables.serviceName) ?? "breakwater";
  const sampleRatio = table?.sample_ratio ?? ratioFromEnv(read);
  const config: TelemetryConfig = {
    otlpEndpoint: endpoints.base ?? endpoints.traces,
    tracesUrl: endpoints.traces,
    metricsUrl: endpoints.metrics,
    serviceName,
    sampleRatio,
  };
  const effective: EffectiveTelemetry = {
    ...(endpoints.base === undefined ? {} : { otlp_endpoint: endpoints.base }),
    service_name: serviceName,
    sample_ratio: sampleRatio,
    traces_endpoint: endpoints.traces,
    ...(endpoints.metrics === undefined ? {} : { metrics_endpoint: endpoints.metrics }),
  };
  return { config, effective };
}

/** `OTEL_SDK_DISABLED`: true or false, in any case; anything else is refused rather than read as false. */
function sdkDisabled(read: Read): boolean {
  const value = read(variables.disabled);
  if (value === undefined || value.toLowerCase() === "false") return false;
  if (value.toLowerCase() === "true") return true;
  throw new ConfigError(`${variables.disabled}: expected true or false, got ${JSON.stringify(value)}`);
}

interface ExportEndpoints {
  readonly base: string | undefined;
  readonly traces: string;
  readonly metrics: string | undefined;
}

/**
 * Where spans and metrics go: the file's base URL (the variables are then not read), else the
 * variables' — a signal's own endpoint used as it is, else the general one with the signal's path.
 * With only `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, metrics are not exported over OTLP (the exporter's
 * fallback, localhost, would be a guess). Only a metrics endpoint is refused: metrics go with traces.
 */
function exportEndpoints(fromFile: string | undefined, read: Read): ExportEndpoints | undefined {
  if (fromFile !== undefined) {
    return { base: fromFile, traces: signalUrl(fromFile, "traces"), metrics: signalUrl(fromFile, "metrics") };
  }
  const base = endpointVariable(read, variables.endpoint, "base");
  const traces = endpointVariable(read, variables.tracesEndpoint, "signal");
  const metrics = endpointVariable(read, variables.metricsEndpoint, "signal");
  if (base !== undefined) {
    return {
      base,
      traces: traces ?? signalUrl(base, "traces"),
      metrics: metrics ?? signalUrl(base, "metrics"),
    };
  }
  if (traces !== undefined) return { base: undefined, traces, metrics };
  if (metrics !== undefined) {
    throw new ConfigError(
      `${variables.metricsEndpoint}: set without ${variables.endpoint} or ${variables.tracesEndpoint}: Breakwater ` +
        "exports its MCP metrics beside its traces; set one of those (or telemetry.otlp_endpoint)",
    );
  }
  return undefined;
}

/** A URL variable, checked: a signal's own is used as it is, so it is given as node's URL writes it. */
function endpointVariable(read: Read, name: string, form: OtlpEndpointForm): string | undefined {
  const value = read(name);
  if (value === undefined) return undefined;
  const problem = otlpEndpointProblem(value, form);
  if (problem !== undefined) {
    // the refused value reaches stderr and the reload log: without its password
    const shown = hasCredentials(value) ? redactUrl(value) : value;
    throw new ConfigError(`${name}: ${problem}, got ${JSON.stringify(shown)}`);
  }
  return form === "signal" ? new URL(value).href : value;
}

/**
 * The ratio `OTEL_TRACES_SAMPLER` (and its `_ARG`) ask for; 1 when unset, the specification's default
 * (`parentbased_always_on`). Breakwater's sampler is always parent-based (SPEC §9: a sampled parent is
 * always followed), so each sampler is taken as its parent-based form. Others (`jaeger_remote`, `xray`)
 * are refused: a sampler silently not applied would sample what its operator meant not to.
 */
function ratioFromEnv(read: Read): number {
  const sampler = read(variables.sampler);
  switch (sampler?.toLowerCase()) {
    case undefined:
    case "always_on":
    case "parentbased_always_on":
      return 1;
    case "always_off":
    case "parentbased_always_off":
      return 0;
    case "traceidratio":
    case "parentbased_traceidratio":
      return ratioArgument(read(variables.samplerArg));
    default:
      throw new ConfigError(
        `${variables.sampler}: ${JSON.stringify(sampler)} is not a sampler Breakwater offers: expected ` +
          "parentbased_traceidratio (with OTEL_TRACES_SAMPLER_ARG), traceidratio, parentbased_always_on, always_on, " +
          "parentbased_always_off or always_off; or set telemetry.sample_ratio, which wins",
      );
  }
}

/** `OTEL_TRACES_SAMPLER_ARG` for a ratio sampler: a decimal from 0 to 1, 1 when unset (the specification's default). */
function ratioArgument(value: string | undefined): number {
  if (value === undefined) return 1;
  // decimal notation only: Number() would also take "0x1", "Infinity" or " "
  const ratio = /^(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(value) ? Number(value) : Number.NaN;
  if (!(ratio >= 0 && ratio <= 1)) {
    throw new ConfigError(
      `${variables.samplerArg}: expected a ratio from 0 to 1 (of the traces started here), got ${JSON.stringify(value)}`,
    );
  }
  return ratio;
}
