/**
 * Where an OTLP/HTTP endpoint is named: `telemetry.otlp_endpoint` and `OTEL_EXPORTER_OTLP_ENDPOINT` are
 * a base URL, to which each signal's path (`v1/traces`, `v1/metrics`) is appended; the signal-specific
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` and `…_METRICS_ENDPOINT` are used as they are (OpenTelemetry's
 * "OTLP Exporter Configuration", Endpoint URLs for OTLP/HTTP).
 */
export type OtlpEndpointForm = "base" | "signal";

/**
 * Said of `user:password@` in an endpoint. node's HTTP client would send them as Basic authorization,
 * but a URL is shown where a header is not (`breakwater check`, the exporters' own diagnostics), and the
 * standard place for a collector's credentials is the headers variable.
 */
export const otlpCredentialsRefused =
  'credentials in the URL: remove "user:password@" and give them as a header in OTEL_EXPORTER_OTLP_HEADERS ' +
  '(e.g. "Authorization=Basic …"), which the exporters send and nothing shows';

/** Why `text` cannot be an OTLP/HTTP endpoint of `form`, or undefined when it can. */
export function otlpEndpointProblem(text: string, form: OtlpEndpointForm): string | undefined {
  const url = URL.parse(text);
  if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) {
    return "expected an http:// or https:// URL (OTLP over HTTP, port 4318 by default)";
  }
  if (url.username !== "" || url.password !== "") return otlpCredentialsRefused;
  if (form === "signal") return undefined;
  if (url.search !== "" || url.hash !== "") {
    return "expected no query or fragment: this is a base URL, to which /v1/traces and /v1/metrics are appended";
  }
  const signalPath = /\/v1\/(traces|metrics|logs)\/?$/.exec(url.pathname);
  if (signalPath !== null) {
    const base = `${url.origin}${url.pathname.slice(0, signalPath.index)}`;
    return `this is a base URL, to which /v1/traces and /v1/metrics are appended: write "${base}"`;
  }
  return undefined;
}

/** The URL a signal is sent to from a base URL: its path joined on, as the OpenTelemetry exporters do. */
export function signalUrl(base: string, signal: "traces" | "metrics"): string {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/$/, "")}/v1/${signal}`;
  return url.href;
}
