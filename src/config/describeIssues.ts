import type { z } from "zod";
import { closestKey } from "./closestKey.ts";
import { hasCredentials, redactUrl } from "./redactUrl.ts";

/**
 * One line per problem, each naming the file and key: `f.toml: proxy.circuit_breaker.failure_threshold: …, got 0`.
 * Given the `schema`, an unknown key names the key of its table it most likely meant.
 */
export function describeIssues(
  source: string,
  issues: readonly z.core.$ZodIssue[],
  schema?: z.ZodType,
): string {
  return issues
    .flatMap((issue) => {
      if (issue.code === "unrecognized_keys") {
        return issue.keys.map((key) => {
          const meant = schema === undefined ? undefined : closestKey(schema, issue.path, key);
          const hint = meant === undefined ? "" : ` (did you mean ${keyPath([...issue.path, meant])}?)`;
          return `${source}: unknown key ${keyPath([...issue.path, key])}${hint}`;
        });
      }
      // a type error already says what it received
      const got =
        issue.code !== "invalid_type" && "input" in issue && issue.input !== undefined
          ? `, got ${show(issue.input)}`
          : "";
      return [`${source}: ${keyPath(issue.path) || "(top level)"}: ${issue.message}${got}`];
    })
    .join("\n");
}

function keyPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) => (typeof part === "number" ? `[${part}]` : `${i === 0 ? "" : "."}${String(part)}`))
    .join("");
}

function show(value: unknown): string {
  if (typeof value === "object" && value !== null) return Array.isArray(value) ? "an array" : "a table";
  // a refused URL is shown without its password: the message reaches stderr and the reload log
  if (typeof value === "string" && hasCredentials(value)) return JSON.stringify(redactUrl(value));
  return JSON.stringify(value) ?? String(value);
}
