import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** Status for an HTTP parse error of a client's request (as node:http's own default handler maps them). */
function clientErrorStatus(code: string | undefined): string {
  if (code === "HPE_HEADER_OVERFLOW") return "431 Request Header Fields Too Large";
  if (code === "ERR_HTTP_REQUEST_TIMEOUT") return "408 Request Timeout";
  return "400 Bad Request";
}

/**
 * A request node:http could not parse gets a 400 (431, 408) and a closed connection instead of an
 * exception — but only when that answer cannot be mistaken for another's. While a response is in
 * flight on the connection, the client reads whatever comes next as that response: the 400 is right
 * only when it is about that very request (its own body broke off) and nothing of its response has
 * been written; otherwise (junk pipelined after a slow request, a bad request during a live SSE
 * stream) the connection is closed without a word.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  const mayAnswer = !inFlight || (!inFlight.headersSent && !inFlight.req.complete);
  if (socket.writable && error.code !== "ECONNRESET" && mayAnswer) {
    socket.end(`HTTP/1.1 ${clientErrorStatus(error.code)}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  } else socket.destroy();
}
