import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fetchList } from "../../src/aggregate/fetchList.ts";
import type { OwnAnswer, ServerContact } from "../../src/aggregate/ServerContact.ts";

/** A contact with a server that answers every page with `page(n)` (its capabilities: tools). */
function pagedContact(page: (n: number) => Record<string, unknown>): ServerContact & { asked: number } {
  const contact = {
    asked: 0,
    async contact() {
      return { era: "modern", capabilities: { tools: {} }, session: undefined };
    },
    async ask(): Promise<OwnAnswer> {
      const result = page(contact.asked);
      contact.asked++;
      return { kind: "result", result };
    },
  };
  return contact as unknown as ServerContact & { asked: number };
}

describe("a hostile server's lists (review of SPEC §7.2)", () => {
  it("a list whose pages add up past what one list may hold is a failed fetch, not held whole", async () => {
    // one 4 MiB description per page (one string shared here; over the network each page is its own)
    const description = "x".repeat(4 * 1024 * 1024);
    const contact = pagedContact((n) => ({
      tools: [{ name: `t${n}`, description, inputSchema: { type: "object" } }],
      nextCursor: `c${n + 1}`,
    }));
    const outcome = await fetchList(contact, "tools");
    assert.equal(outcome.kind, "failed");
    assert.ok(contact.asked <= 3, `asked ${contact.asked} pages of a list already too large`);
  });
});
