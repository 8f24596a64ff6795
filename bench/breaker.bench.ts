/**
 * Breakwater's breaker against opossum and cockatiel, interleaved in one run on the same Node:
 * the success path, the failing path while closed, rejection while open, heap bytes and timers per
 * breaker. Run with `npm run bench` (needs --expose-gc, which the script passes).
 *
 * `BENCH_BASELINE=/path/to/another/checkout` adds that checkout's breaker as "baseline …" columns, to
 * measure a change against the code before it side by side in one run.
 */
import { ConsecutiveBreaker, circuitBreaker, handleAll, SamplingBreaker } from "cockatiel";
import Opossum from "opossum";
import { CircuitBreaker, type Permit } from "../src/index.ts";
import { type Case, measure, table, timerCounter } from "./harness.ts";

const SAMPLE_MS = Number(process.env["BENCH_SAMPLE_MS"] ?? 100);
const BASELINE = process.env["BENCH_BASELINE"];
const Baseline: typeof CircuitBreaker | undefined =
  BASELINE === undefined ? undefined : (await import(`${BASELINE}/src/index.ts`)).CircuitBreaker;
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 9);
const never = Number.MAX_SAFE_INTEGER;
const hour = 3_600_000;
const failure = new Error("upstream failed"); // made once: the error's own cost is not the breaker's

const ok = async () => 1;
const fails = async (): Promise<number> => {
  throw failure;
};
const swallow = () => {};

type Subject = {
  name: string;
  /** A breaker around `action` that stays closed however often the action fails. */
  closed(action: () => Promise<number>): (() => Promise<unknown>) | undefined;
  /** A breaker around `action` that is open. */
  open(): Promise<() => Promise<unknown>> | (() => Promise<unknown>);
  /** A fresh breaker, for the memory and timer counts; and how to let it go. */
  make(): { dispose(): void };
};

const lean = { timeout: false, rollingPercentilesEnabled: false, enableSnapshots: false } as const;

const subjects: Subject[] = [
  {
    name: "bare call",
    closed: (action) => action,
    open: () => fails,
    make: () => ({ dispose() {} }),
  },
  ...[
    ["breakwater execute", CircuitBreaker] as const,
    ...(Baseline === undefined ? [] : [["baseline execute", Baseline] as const]),
  ].map(
    ([name, Breaker]): Subject => ({
      name,
      closed: (action) => {
        const b = new Breaker({ failureThreshold: Infinity, minimumRequests: Infinity });
        return () => b.execute(action);
      },
      open: () => {
        const b = new Breaker({ failureThreshold: 1, openDuration: hour });
        (b.tryAcquire() as Permit).failure();
        return () => b.execute(ok);
      },
      make: () => {
        const b = new Breaker();
        return { dispose: () => b.reset() };
      },
    }),
  ),
  ...["breakwater tryAcquire", ...(Baseline === undefined ? [] : ["baseline tryAcquire"])].map(
    (name): Subject => ({
      name,
      closed: () => undefined, // measured synchronously below: a permit has no promise of its own
      open: () => fails,
      make: () => ({ dispose() {} }),
    }),
  ),
  ...[
    ["opossum (defaults)", {}],
    ["opossum (lean)", lean],
  ].map(
    ([name, options]): Subject => ({
      name: name as string,
      closed: (action) => {
        const b = new Opossum(action, { ...(options as object), volumeThreshold: never });
        return () => b.fire();
      },
      open: () => {
        const b = new Opossum(ok, { ...(options as object), resetTimeout: hour });
        b.open();
        return () => b.fire();
      },
      make: () => {
        const b = new Opossum(ok, options as object);
        return { dispose: () => b.shutdown() };
      },
    }),
  ),
  ...[
    ["cockatiel consecutive", (n: number) => new ConsecutiveBreaker(n)],
    [
      "cockatiel sampling",
      (n: number) => new SamplingBreaker({ threshold: 0.5, duration: 10_000, minimumRps: n }),
    ],
  ].map(
    ([name, breaker]): Subject => ({
      name: name as string,
      closed: (action) => {
        const policy = circuitBreaker(handleAll, {
          halfOpenAfter: hour,
          breaker: (breaker as (n: number) => ConsecutiveBreaker)(never),
        });
        return () => policy.execute(action);
      },
      open: async () => {
        const policy = circuitBreaker(handleAll, {
          halfOpenAfter: hour,
          breaker: (breaker as (n: number) => ConsecutiveBreaker)(1),
        });
        for (let i = 0; i < 50; i++) await policy.execute(fails).catch(swallow);
        if (policy.state !== 1 /* CircuitState.Open */) throw new Error(`${name as string} did not open`);
        return () => policy.execute(ok);
      },
      make: () => {
        const policy = circuitBreaker(handleAll, {
          halfOpenAfter: 10_000,
          breaker: (breaker as (n: number) => ConsecutiveBreaker)(5),
        });
        return { dispose: () => policy.isolate().dispose() };
      },
    }),
  ),
];

function loop(call: () => Promise<unknown>): Case["run"] {
  return async (n) => {
    for (let i = 0; i < n; i++) await call().catch(swallow);
  };
}

async function speed(): Promise<Map<string, Map<string, number>>> {
  const cases: Case[] = [];
  for (const s of subjects) {
    const success = s.closed(ok);
    const failing = s.closed(fails);
    if (success) cases.push({ name: `success|${s.name}`, run: loop(success) });
    if (failing) cases.push({ name: `failure|${s.name}`, run: loop(failing) });
    if (s.name !== "bare call" && !s.name.endsWith("tryAcquire")) {
      cases.push({ name: `rejection|${s.name}`, run: loop(await s.open()) });
    }
  }
  let sink = 0;
  const permitBreakers = [
    ["breakwater tryAcquire", CircuitBreaker] as const,
    ...(Baseline === undefined ? [] : [["baseline tryAcquire", Baseline] as const]),
  ];
  for (const [name, Breaker] of permitBreakers) {
    const permits = new Breaker({ failureThreshold: Infinity, minimumRequests: Infinity });
    cases.push({
      name: `success|${name}`,
      run: (n) => {
        for (let i = 0; i < n; i++) (permits.tryAcquire() as Permit).success();
      },
    });
    cases.push({
      name: `failure|${name}`,
      run: (n) => {
        for (let i = 0; i < n; i++) (permits.tryAcquire() as Permit).failure();
      },
    });
    const open = new Breaker({ failureThreshold: 1, openDuration: hour });
    (open.tryAcquire() as Permit).failure();
    cases.push({
      name: `rejection|${name}`,
      run: (n) => {
        for (let i = 0; i < n; i++) {
          const a = open.tryAcquire();
          if (!a.admitted) sink += a.retryAfterMs;
        }
      },
    });
  }
  cases.push({
    name: "clock|performance.now()",
    run: (n) => {
      for (let i = 0; i < n; i++) sink += performance.now();
    },
  });
  const medians = await measure(cases, { sampleMs: SAMPLE_MS, rounds: ROUNDS });
  if (sink === 0) throw new Error("the rejection loop was optimised away");
  const byPath = new Map<string, Map<string, number>>();
  for (const [key, ns] of medians) {
    const [path, name] = key.split("|") as [string, string];
    if (!byPath.has(path)) byPath.set(path, new Map());
    byPath.get(path)?.set(name, ns);
  }
  return byPath;
}

const gc = (globalThis as { gc?: () => void }).gc;
function heapUsed(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

function footprint(s: Subject): { bytes: number; timers: number } {
  const count = 10_000;
  const timers = timerCounter();
  const before = heapUsed();
  const made = Array.from({ length: count }, () => s.make());
  const bytes = (heapUsed() - before) / count;
  const perBreaker = timers.live() / count;
  for (const m of made) m.dispose();
  timers.stop();
  return { bytes, timers: perBreaker };
}

if (!gc) throw new Error("run with --expose-gc (npm run bench does)");
console.log(
  `# Breaker benchmark — Node ${process.version}, ${ROUNDS} interleaved rounds of ${SAMPLE_MS} ms per case, medians\n`,
);
const byPath = await speed();
const names = subjects.map((s) => s.name);
const memory = new Map(subjects.filter((s) => s.name !== "bare call").map((s) => [s.name, footprint(s)]));
memory.set("breakwater tryAcquire", memory.get("breakwater execute") ?? { bytes: NaN, timers: NaN });
if (Baseline)
  memory.set("baseline tryAcquire", memory.get("baseline execute") ?? { bytes: NaN, timers: NaN });

const get = (path: string, name: string) => byPath.get(path)?.get(name) ?? NaN;
console.log(
  table(
    ["ns/op", ...names],
    [
      ["success path", ...names.map((n) => get("success", n))],
      ["failing path (closed)", ...names.map((n) => get("failure", n))],
      ["rejection (open)", ...names.map((n) => get("rejection", n))],
      ["heap bytes / breaker", ...names.map((n) => memory.get(n)?.bytes ?? NaN)],
      ["timers / breaker", ...names.map((n) => memory.get(n)?.timers ?? NaN)],
    ],
  ),
);

const ratio = (path: string, a: string, b: string) => get(path, a) / get(path, b);
console.log(
  `\n${table(
    ["ratio", "measured", "target"],
    [
      [
        "success: breakwater execute ÷ cockatiel consecutive",
        ratio("success", "breakwater execute", "cockatiel consecutive"),
        "≤ 0.5",
      ],
      [
        "success: breakwater execute ÷ cockatiel sampling",
        ratio("success", "breakwater execute", "cockatiel sampling"),
        "≤ 0.5",
      ],
      [
        "success: breakwater execute ÷ opossum (lean)",
        ratio("success", "breakwater execute", "opossum (lean)"),
        "",
      ],
      [
        "rejection: breakwater execute ÷ cockatiel consecutive",
        ratio("rejection", "breakwater execute", "cockatiel consecutive"),
        "≤ 0.25",
      ],
      [
        "rejection: breakwater execute ÷ cockatiel sampling",
        ratio("rejection", "breakwater execute", "cockatiel sampling"),
        "≤ 0.25",
      ],
      ["rejection: breakwater tryAcquire, ns", get("rejection", "breakwater tryAcquire"), "≤ 60"],
      ["… of which one performance.now() read, ns", get("clock", "performance.now()"), ""],
      [
        "success: breakwater execute − bare call, ns",
        get("success", "breakwater execute") - get("success", "bare call"),
        "",
      ],
      ...(Baseline === undefined
        ? []
        : ["success", "failure", "rejection"].flatMap((path) =>
            ["execute", "tryAcquire"].map((way) => [
              `${path}: breakwater ${way} ÷ baseline ${way}`,
              ratio(path, `breakwater ${way}`, `baseline ${way}`),
              "≤ 1.03",
            ]),
          )),
    ],
  )}`,
);
