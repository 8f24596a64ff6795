import type { ServerResponse } from "node:http";

/** A response that keeps what it was given (status and body), for answers written with writeHead + end. */
export function capturedResponse(): { res: ServerResponse; sent: { status?: number; text?: string } } {
  const sent: { status?: number; text?: string } = {};
  const res = {
    writeHead(status: number) {
      sent.status = status;
      return this;
    },
    end(text: string) {
      sent.text = text;
    },
  } as unknown as ServerResponse;
  return { res, sent };
}
