import type { Attributes, Meter, Histogram as OtelHistogram } from "@opentelemetry/api";
import { Histogram, type Registry } from "prom-client";
import type { UpstreamPeer } from "../upstreams/Upstream.ts";
import { BoundedValues, errorForm, methodForm, nameForm, versionForm } from "./BoundedValues.ts";
import { attr, durationBuckets, executeTool } from "./mcpAttributes.ts";

/** What one operation's duration is recorded with, on both sides. */
export interface OperationFacts {
  readonly method: string;
  readonly tool: string | undefined;
  readonly prompt: string | undefined;
  readonly protocolVersion: string | undefined;
  readonly errorType: string | undefined;
  /** The answer's JSON-RPC error code, as text. */
  readonly statusCode: string | undefined;
  readonly server: string | undefined;
}

const serverLabels = [
  "mcp_method_name",
  "gen_ai_tool_name",
  "gen_ai_prompt_name",
  "error_type",
  "breakwater_server",
] as const;
const clientLabels = [...serverLabels, "breakwater_upstream", "network_transport"] as const;

/**
 * The conventions' two duration histograms (`mcp.server.operation.duration`, from a request's arrival
 * to its answer's end; `mcp.client.operation.duration`, from an attempt's dispatch to its outcome),
 * recorded twice: for OTLP export, and on the admin `/metrics` (SPEC §9), where Prometheus names them
 * `mcp_server_operation_duration_seconds` and `mcp_client_operation_duration_seconds`, its labels the
 * attributes that keep a series per server, tool and kind of error (not the request's own ids).
 */
export class OperationDurations {
  readonly #server: OtelHistogram;
  readonly #client: OtelHistogram;
  #serverSeries: Histogram<(typeof serverLabels)[number]> | undefined;
  #clientSeries: Histogram<(typeof clientLabels)[number]> | undefined;
  /** The values clients and upstreams write, bounded: a series per invented name would never end. */
  readonly #methods = new BoundedValues(64, methodForm);
  readonly #targets = new BoundedValues(512, nameForm);
  readonly #versions = new BoundedValues(16, versionForm);
  readonly #errors = new BoundedValues(64, errorForm);

  constructor(meter: Meter) {
    const advice = { explicitBucketBoundaries: [...durationBuckets] };
    this.#server = meter.createHistogram("mcp.server.operation.duration", {
      unit: "s",
      description: "MCP request or notification duration as observed on the receiver",
      advice,
    });
    this.#client = meter.createHistogram("mcp.client.operation.duration", {
      unit: "s",
      description: "MCP request or notification duration as observed on the sender",
      advice,
    });
  }

  /** Shows both histograms on `registry` (the admin `/metrics`) from now on. */
  showOn(registry: Registry): void {
    const buckets = [...durationBuckets];
    this.#serverSeries = new Histogram({
      name: "mcp_server_operation_duration_seconds",
      help: "MCP request or notification duration as observed by Breakwater, from arrival to the answer's end",
      labelNames: serverLabels,
      buckets,
      registers: [registry],
    });
    this.#clientSeries = new Histogram({
      name: "mcp_client_operation_duration_seconds",
      help: "MCP request duration of one attempt at an upstream, from its dispatch to its outcome",
      labelNames: clientLabels,
      buckets,
      registers: [registry],
    });
  }

  served(seconds: number, written: OperationFacts): void {
    const facts = this.#bounded(written);
    this.#server.record(seconds, attributes(facts));
    this.#serverSeries?.observe(labels(facts), seconds);
  }

  sent(seconds: number, written: OperationFacts, upstream: string, peer: UpstreamPeer | undefined): void {
    const facts = this.#bounded(written);
    const all = attributes(facts);
    all[attr.upstream] = upstream;
    if (peer !== undefined) {
      all[attr.networkTransport] = peer.transport;
      if (peer.transport === "tcp") {
        all[attr.serverAddress] = peer.address;
        all[attr.serverPort] = peer.port;
      }
    }
    this.#client.record(seconds, all);
    this.#clientSeries?.observe(
      { ...labels(facts), breakwater_upstream: upstream, network_transport: peer?.transport ?? "" },
      seconds,
    );
  }

  #bounded(facts: OperationFacts): OperationFacts {
    const { tool, prompt, errorType, statusCode } = facts;
    return {
      method: this.#methods.of(facts.method),
      tool: tool === undefined ? undefined : this.#targets.of(tool),
      prompt: prompt === undefined ? undefined : this.#targets.of(prompt),
      protocolVersion:
        facts.protocolVersion === undefined ? undefined : this.#versions.of(facts.protocolVersion),
      errorType: errorType === undefined ? undefined : this.#errors.of(errorType),
      statusCode: statusCode === undefined ? undefined : this.#errors.of(statusCode),
      server: facts.server,
    };
  }
}

function attributes(facts: OperationFacts): Attributes {
  const out: Attributes = { [attr.methodName]: facts.method };
  if (facts.tool !== undefined) {
    out[attr.toolName] = facts.tool;
    out[attr.operationName] = executeTool;
  }
  if (facts.prompt !== undefined) out[attr.promptName] = facts.prompt;
  if (facts.protocolVersion !== undefined) out[attr.protocolVersion] = facts.protocolVersion;
  if (facts.errorType !== undefined) out[attr.errorType] = facts.errorType;
  if (facts.statusCode !== undefined) out[attr.responseStatusCode] = facts.statusCode;
  if (facts.server !== undefined) out[attr.server] = facts.server;
  return out;
}

function labels(facts: OperationFacts): Record<(typeof serverLabels)[number], string> {
  return {
    mcp_method_name: facts.method,
    gen_ai_tool_name: facts.tool ?? "",
    gen_ai_prompt_name: facts.prompt ?? "",
    error_type: facts.errorType ?? "",
    breakwater_server: facts.server ?? "",
  };
}
