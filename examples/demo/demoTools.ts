import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";

/** Reports a step of a tool's work (a `notifications/progress` for the call's token, if it has one). */
export type ReportProgress = (progress: number, total: number, message: string) => Promise<void>;

/** A demo tool, whichever SDK serves it: its text answer, or a thrown error (a tool execution error). */
export interface DemoTool {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: z.ZodObject;
  run(args: Record<string, unknown>, progress: ReportProgress): Promise<string>;
}

/**
 * Which tools a demo server has: the demo runs different servers behind one Breakwater (notes, math,
 * clock, each on its own route); the tests' servers have them all.
 */
export type DemoKit = "all" | "notes" | "math" | "clock";

const kits: Record<DemoKit, readonly string[]> = {
  all: ["echo", "add", "whoami", "lookup", "slow"],
  notes: ["echo", "lookup", "whoami"],
  math: ["add", "slow", "lookup", "whoami"],
  clock: ["now", "whoami"],
};

/** Whether `value` names a kit (a stdio demo server reads its kit from its arguments). */
export const isDemoKit = (value: unknown): value is DemoKit =>
  typeof value === "string" && Object.hasOwn(kits, value);

/**
 * A demo server's tools, of either era, from these: `echo`, `add`, `whoami`, `now`, `lookup` (failing
 * while `lookupBroken()` says so, to watch a tool circuit open) and `slow` (progress notifications).
 */
export function demoTools(name: string, lookupBroken: () => boolean, kit: DemoKit = "all"): DemoTool[] {
  return allTools(name, lookupBroken).filter((tool) => kits[kit].includes(tool.name));
}

function allTools(name: string, lookupBroken: () => boolean): DemoTool[] {
  return [
    {
      name: "echo",
      description: "Echoes the text back, naming the server that answered",
      inputSchema: z.object({ text: z.string() }),
      run: async ({ text }) => `${text} (from ${name})`,
    },
    {
      name: "add",
      description: "Adds two numbers",
      inputSchema: z.object({ a: z.number(), b: z.number() }),
      run: async ({ a, b }) => String((a as number) + (b as number)),
    },
    {
      name: "whoami",
      description: "The name of the server that answered",
      inputSchema: z.object({}),
      run: async () => name,
    },
    {
      name: "now",
      description: "The time now, on the server's clock (ISO 8601, UTC)",
      inputSchema: z.object({}),
      run: async () => `${new Date().toISOString()} (from ${name})`,
    },
    {
      name: "lookup",
      description: "Looks a key up in the server's database",
      inputSchema: z.object({ key: z.string() }),
      run: async ({ key }) => {
        // a thrown error becomes a tool execution error: `isError: true` in a 200 answer
        if (lookupBroken()) throw new Error(`${name}: lookup failed: database connection refused`);
        return `${key} = ${(key as string).length} (from ${name})`;
      },
    },
    {
      name: "slow",
      description: "Works for a while, reporting progress over SSE",
      inputSchema: z.object({
        steps: z.number().int().min(1).max(50),
        delayMs: z.number().int().min(0).max(10_000),
      }),
      run: async ({ steps, delayMs }, progress) => {
        for (let step = 1; step <= (steps as number); step++) {
          await sleep(delayMs as number);
          await progress(step, steps as number, `step ${step} of ${steps}`);
        }
        return `done ${steps} steps on ${name}`;
      },
    },
  ];
}

/** A tool's text answer as an MCP tool result. */
export const textResult = (text: string) => ({ content: [{ type: "text" as const, text }] });
