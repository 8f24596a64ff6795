import type { IncomingHttpHeaders } from "node:http";

/** Whether a response is an event stream (`text/event-stream`, whatever its parameters). */
export function isEventStream(headers: IncomingHttpHeaders): boolean {
  const type = headers["content-type"];
  return typeof type === "string" && type.startsWith("text/event-stream");
}
