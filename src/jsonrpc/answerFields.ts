import type { ScannedMessage } from "./ScannedMessage.ts";

/**
 * What the answer scanner reads of a JSON-RPC message: the objects whose keys it looks at, the values it
 * keeps (its slots), each object's keys, and how a kept value's text goes into a {@link ScannedMessage}.
 * The scanner's state machine (`AnswerScanner`) knows only numbers; the meaning is here.
 */

// The objects whose keys are read; every other value is stepped over.
export const message = 1;
export const result = 2;
export const error = 3;
export const errorData = 4;
export const params = 5;
export const batch = 6;
export const paramsMeta = 7;
// The values that are kept.
export const noSlot = 0;
export const idSlot = 1;
export const methodSlot = 2;
export const codeSlot = 3;
export const reasonSlot = 4;
export const tokenSlot = 5;
export const isErrorSlot = 6;
export const stoppedSlot = 7;
export const exitCodeSlot = 8;
export const signalSlot = 9;
export const subscriptionSlot = 10;

/** Per object read: its keys, and what each names — a value to keep (`slot`) or an object to read (`object`). */
export const keysOf = new Map<number, readonly (readonly [Buffer, number, number])[]>([
  [
    message,
    [
      [Buffer.from("id"), idSlot, 0],
      [Buffer.from("method"), methodSlot, 0],
      [Buffer.from("result"), noSlot, result],
      [Buffer.from("error"), noSlot, error],
      [Buffer.from("params"), noSlot, params],
    ],
  ],
  [result, [[Buffer.from("isError"), isErrorSlot, 0]]],
  [
    error,
    [
      [Buffer.from("code"), codeSlot, 0],
      [Buffer.from("data"), noSlot, errorData],
    ],
  ],
  [
    errorData,
    [
      [Buffer.from("reason"), reasonSlot, 0],
      [Buffer.from("stopped"), stoppedSlot, 0],
      [Buffer.from("exitCode"), exitCodeSlot, 0],
      [Buffer.from("signal"), signalSlot, 0],
    ],
  ],
  [
    params,
    [
      [Buffer.from("progressToken"), tokenSlot, 0],
      [Buffer.from("_meta"), noSlot, paramsMeta],
    ],
  ],
  // a listen stream's acknowledgement names its subscription (MCP 2026-07-28, basic/patterns/subscriptions.mdx)
  [paramsMeta, [[Buffer.from("io.modelcontextprotocol/subscriptionId"), subscriptionSlot, 0]]],
]);

/** Puts the text of a kept value (undefined when it was too long to keep) into `message`. */
export function fillField(message: ScannedMessage, slot: number, text: string | undefined): void {
  const current = message;
  switch (slot) {
    case idSlot:
      current.id = text !== undefined && isIdText(text) ? text : undefined;
      break;
    case methodSlot: {
      const method = text?.startsWith('"') ? decodeString(text) : undefined;
      if (method === undefined) delete current.method;
      else current.method = method;
      break;
    }
    case codeSlot:
      current.errorCode = text !== undefined && isNumberText(text) ? Number(text) : Number.NaN;
      break;
    case reasonSlot: {
      const reason = text?.startsWith('"') ? decodeString(text) : undefined;
      if (reason === undefined) delete current.errorReason;
      else current.errorReason = reason;
      break;
    }
    case stoppedSlot: {
      const stopped = text?.startsWith('"') ? decodeString(text) : undefined;
      if (stopped === undefined) delete current.errorStopped;
      else current.errorStopped = stopped;
      break;
    }
    case exitCodeSlot:
      if (text !== undefined && /^-?\d{1,6}$/.test(text)) current.errorExitCode = Number(text);
      break;
    case signalSlot: {
      const signal = text?.startsWith('"') ? decodeString(text) : undefined;
      if (signal !== undefined && /^SIG[A-Z0-9]{1,12}$/.test(signal)) current.errorSignal = signal;
      break;
    }
    case tokenSlot:
      if (text === undefined) delete current.progressToken;
      else current.progressToken = text;
      break;
    case subscriptionSlot:
      if (text === undefined) delete current.subscriptionId;
      else current.subscriptionId = text;
      break;
    case isErrorSlot:
      current.isError = text === "true";
      break;
  }
}

/** A JSON string's value, or undefined when `text` is not one. */
export function decodeString(text: string): string | undefined {
  try {
    const decoded: unknown = JSON.parse(text);
    return typeof decoded === "string" ? decoded : undefined;
  } catch {
    return undefined;
  }
}

/** A JSON number, as RFC 8259 §6 writes it. */
const numberText = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

function isNumberText(text: string): boolean {
  return numberText.test(text);
}

/** Whether `text` is an id JSON-RPC allows: a string, a number or null (JSON-RPC 2.0 §4). */
function isIdText(text: string): boolean {
  return text === "null" || text.startsWith('"') || isNumberText(text);
}
