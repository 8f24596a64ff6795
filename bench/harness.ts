import { createHook } from "node:async_hooks";

/**
 * A small interleaved benchmark harness. Every case runs once per round for about `sampleMs`, rounds
 * alternate the order of the cases, and the median of the rounds is reported, so that a noisy
 * neighbour on a shared machine slows every case alike. Samples are time-boxed, not op-counted, so a
 * slow case (opossum's failing path costs a millisecond a call) cannot stretch the run.
 */
export interface Case {
  name: string;
  /** Runs `n` operations. */
  run(n: number): Promise<void> | void;
}

export async function measure(
  cases: Case[],
  { sampleMs, rounds }: { sampleMs: number; rounds: number },
): Promise<Map<string, number>> {
  const batch = new Map<string, number>();
  for (const c of cases) batch.set(c.name, await calibrate(c, sampleMs / 20));
  const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? cases : [...cases].reverse();
    for (const c of order) {
      const n = batch.get(c.name) ?? 1;
      let ops = 0;
      const start = process.hrtime.bigint();
      let elapsed = 0;
      while (elapsed < sampleMs * 1e6) {
        await c.run(n);
        ops += n;
        elapsed = Number(process.hrtime.bigint() - start);
      }
      samples.get(c.name)?.push(elapsed / ops);
    }
  }
  return new Map([...samples].map(([name, values]) => [name, median(values)]));
}

/** Doubles the batch until one takes `ms` (this also warms the case up). */
async function calibrate(c: Case, ms: number): Promise<number> {
  for (let n = 1; ; n *= 2) {
    const start = process.hrtime.bigint();
    await c.run(n);
    if (Number(process.hrtime.bigint() - start) >= ms * 1e6 || n >= 1 << 24) return n;
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Counts live timers, `unref()`'d ones included (`process.getActiveResourcesInfo()` misses those,
 * and that is where libraries hide their per-instance intervals).
 */
export function timerCounter(): { live(): number; stop(): void } {
  const live = new Set<number>();
  const hook = createHook({
    init(id, type) {
      if (type === "Timeout") live.add(id);
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
  return { live: () => live.size, stop: () => hook.disable() };
}

/** A Markdown table. */
export function table(head: string[], rows: (string | number)[][]): string {
  const cell = (v: string | number) => (typeof v === "number" ? format(v) : v);
  return [
    `| ${head.join(" | ")} |`,
    `|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
    ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`),
  ].join("\n");
}

function format(v: number): string {
  if (!Number.isFinite(v)) return "–";
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}
