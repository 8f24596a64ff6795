import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { answerTimeoutEvents } from "../../src/exchange/answerTimeoutEvents.ts";

/**
 * The messages an MCP client takes from an event stream: the SDK's client parses with
 * eventsource-parser and keeps the events whose type is empty or "message".
 */
function delivered(stream: string): string[] {
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  parser.feed(stream);
  return events.filter((e) => e.event === undefined || e.event === "message").map((e) => e.data);
}

const answer = '{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"half"}]}}';

describe("the events the proxy ends a timed-out event stream with (SPEC §3.1)", () => {
  it("never lets the upstream's unfinished event through as a message, wherever it stopped", () => {
    const upstreamEvent = `event: message\nid: 3\ndata: ${answer}\n`;
    const before = 'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress"}\n\n';
    for (let cut = 1; cut < upstreamEvent.length; cut++) {
      for (const ending of ["\n", "\r\n", "\r"]) {
        const sent = before + upstreamEvent.slice(0, cut).replaceAll("\n", ending);
        const messages = delivered(sent + answerTimeoutEvents(["7"], "u", false));
        assert.equal(messages.length, 2, JSON.stringify(sent));
        assert.equal(messages[0], '{"jsonrpc":"2.0","method":"notifications/progress"}');
        assert.deepEqual(JSON.parse(messages[1] as string), {
          jsonrpc: "2.0",
          id: 7,
          error: {
            code: -32603,
            message: "Upstream answer timed out",
            data: { reason: "timeout", upstream: "u" },
          },
        });
      }
    }
  });

  it("adds nothing before its own event after a finished one", () => {
    assert.ok(answerTimeoutEvents(["1"], "u", true).startsWith("event: message\n"));
  });

  it("echoes each unanswered id exactly as the client wrote it", () => {
    const ids = ['"caf\\u00e9"', "12345678901234567890", "1.0"];
    const messages = delivered(answerTimeoutEvents(ids, "u", true));
    assert.deepEqual(
      messages.map((m) => /"id":(.*?),"error"/.exec(m)?.[1]),
      ids,
    );
  });
});
