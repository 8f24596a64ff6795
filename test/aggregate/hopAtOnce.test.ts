import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PoolAnswer, PoolClient, UpstreamEra } from "../../src/aggregate/contracts.ts";
import { passThrough } from "../../src/aggregate/sessionlessHops.ts";
import { UpstreamSessions } from "../../src/aggregate/UpstreamSessions.ts";
import type { Upstream } from "../../src/upstreams/Upstream.ts";
import { barePool } from "../support/bareProxy.ts";
import { capturedLog } from "../support/capturedLog.ts";
import { FakeUpstream } from "../support/fakeUpstream.ts";
import { modern } from "./hopCases.ts";

/** Eras learnt already (`knownEra`), counting each time one is asked for (`eraOf`). */
class KnownEras implements PoolClient {
  asked = 0;
  readonly eras: Map<Upstream, UpstreamEra>;

  constructor(eras: Map<Upstream, UpstreamEra>) {
    this.eras = eras;
  }
  async request(): Promise<PoolAnswer> {
    return { kind: "refused", retryAfterMs: undefined };
  }
  async stream(): Promise<string> {
    return "ended";
  }
  async eraOf(_pool: unknown, upstream: Upstream): Promise<UpstreamEra | undefined> {
    this.asked++;
    return this.eras.get(upstream);
  }
  knownEra(upstream: Upstream): UpstreamEra | undefined {
    return this.eras.get(upstream);
  }
}

function rig(eras: readonly (UpstreamEra | undefined)[]) {
  const upstreams = eras.map((_, i) => new FakeUpstream(`u${i + 1}`));
  const known = new Map<Upstream, UpstreamEra>();
  eras.forEach((era, i) => {
    if (era !== undefined) known.set(upstreams[i] as Upstream, era);
  });
  const pool = barePool({ name: "math", route: "/math", upstreams, loadBalancing: "round_robin" });
  const poolClient = new KnownEras(known);
  const sessions = new UpstreamSessions({ poolClient, logger: capturedLog().logger });
  return { pool, upstreams, poolClient, sessions };
}

describe("a modern client's hop planned at once", () => {
  it("passes the call through at once, asking nothing, when every upstream that admits is known to serve the modern era", () => {
    const { pool, poolClient, sessions } = rig(["modern", "dual"]);
    assert.equal(sessions.hop(pool, modern), passThrough);
    assert.equal(poolClient.asked, 0);
  });

  it("leaves out an upstream whose circuit does not admit, as the planning that asks does", async () => {
    const { pool, upstreams, poolClient, sessions } = rig(["modern", "earlier"]);
    upstreams[1]?.circuit.forceOpen();
    assert.equal(sessions.hop(pool, modern), passThrough);
    assert.equal(poolClient.asked, 0);
  });

  it("asks the eras, and waits, when an upstream that admits is not known or serves only the earlier era", async () => {
    for (const eras of [
      ["modern", undefined],
      ["modern", "earlier"],
    ] as const) {
      const { pool, poolClient, sessions } = rig(eras);
      const planned = sessions.hop(pool, modern);
      assert.ok(planned instanceof Promise, `${eras}: planned later`);
      await planned;
      assert.equal(poolClient.asked, 2, `${eras}: both asked`);
    }
  });

  it("asks when no upstream admits: the refusal says when one may", async () => {
    const { pool, upstreams, sessions } = rig(["modern"]);
    upstreams[0]?.circuit.forceOpen();
    const planned = sessions.hop(pool, modern);
    assert.ok(planned instanceof Promise);
    assert.equal(((await planned) as { reason?: string }).reason, "circuit_open");
  });
});
