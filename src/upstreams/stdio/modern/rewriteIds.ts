import { LOG_LEVEL_META_KEY, SUBSCRIPTION_ID_META_KEY } from "@modelcontextprotocol/core/internal";
import type { JSONRPCMessage, RequestId } from "@modelcontextprotocol/sdk/types.js";

/**
 * The rewriting of ids between a client and a shared process (2026-07-28 stdio, research §9.7): each
 * call gets an id of the process's own (a number no other call on it has), and its progress token the
 * same number, so that SDK clients — all numbering their calls from 0, their listens "listen:N" —
 * never collide on a process; everything the process sends for a call is given back the client's own
 * id, token and subscription id.
 */

type Params = Record<string, unknown> & { _meta?: Record<string, unknown> };
type ProgressToken = string | number;

/** A client's request as sent on to the process: its id and progress token the process's own. */
export interface Outgoing {
  readonly message: JSONRPCMessage;
  /** The client's progress token, when it asked for progress. */
  readonly clientToken: ProgressToken | undefined;
  /** Whether it asks for log messages (`_meta["io.modelcontextprotocol/logLevel"]`), as sent on. */
  readonly logs: boolean;
}

/**
 * `request` (parsed from the client's body, and owned: it is changed in place) with the process's
 * `id` for its id and its progress token; its log level taken out unless `mayLog`.
 */
export function toProcess(request: Record<string, unknown>, id: number, mayLog: boolean): Outgoing {
  request["id"] = id;
  const params = request["params"] as Params | undefined;
  const meta = params?._meta;
  if (params === undefined || meta === undefined || typeof meta !== "object" || meta === null) {
    return { message: request as unknown as JSONRPCMessage, clientToken: undefined, logs: false };
  }
  const token = meta["progressToken"];
  const clientToken = typeof token === "string" || typeof token === "number" ? token : undefined;
  const newMeta: Record<string, unknown> = { ...meta };
  if (clientToken !== undefined) newMeta["progressToken"] = id;
  let logs = newMeta[LOG_LEVEL_META_KEY] !== undefined;
  if (logs && !mayLog) {
    delete newMeta[LOG_LEVEL_META_KEY];
    logs = false;
  }
  params._meta = newMeta;
  return { message: request as unknown as JSONRPCMessage, clientToken, logs };
}

/** The process's answer to a call, with the client's id (and subscription id, for a listen's end). */
export function answerToClient(answer: JSONRPCMessage, clientId: RequestId): JSONRPCMessage {
  const result = (answer as { result?: Params }).result;
  if (result?._meta?.[SUBSCRIPTION_ID_META_KEY] !== undefined) {
    const meta = { ...result._meta, [SUBSCRIPTION_ID_META_KEY]: clientId };
    return { ...answer, id: clientId, result: { ...result, _meta: meta } } as JSONRPCMessage;
  }
  return { ...answer, id: clientId } as JSONRPCMessage;
}

/** The process id a notification belongs to, as it names it: progress token, subscription, cancelled id. */
export function relatedId(notification: { method: string; params?: unknown }): unknown {
  const params = notification.params as Params | undefined;
  if (params === undefined || typeof params !== "object" || params === null) return undefined;
  if (notification.method === "notifications/progress") return params["progressToken"];
  if (notification.method === "notifications/cancelled") return params["requestId"];
  return params._meta?.[SUBSCRIPTION_ID_META_KEY];
}

/** A notification of the process, for its client: the token, request id or subscription id given back. */
export function notificationToClient(
  notification: JSONRPCMessage & { method: string },
  clientId: RequestId,
  clientToken: ProgressToken | undefined,
): JSONRPCMessage {
  const params = (notification as { params?: Params }).params;
  if (params === undefined) return notification;
  if (notification.method === "notifications/progress") {
    return { ...notification, params: { ...params, progressToken: clientToken ?? clientId } };
  }
  if (notification.method === "notifications/cancelled") {
    return { ...notification, params: { ...params, requestId: clientId } };
  }
  if (params._meta?.[SUBSCRIPTION_ID_META_KEY] === undefined) return notification;
  const meta = { ...params._meta, [SUBSCRIPTION_ID_META_KEY]: clientId };
  return { ...notification, params: { ...params, _meta: meta } };
}
