/**
 * JSON-RPC messages for property tests, written by hand the many ways other serializers write them:
 * strings with `\uXXXX` escapes for any character (surrogate pairs for the rest), `\/`, short escapes
 * or raw UTF-8; integers beyond 2^53 as their digits (or with `.0`, or an exponent); keys in any order,
 * some themselves escaped; whitespace anywhere; decoys (`id`, `method`, `isError` keys) nested deeper.
 * Each value carries the key it must be compared by, computed from the model, not by a parser.
 */
import fc from "fast-check";

/** An id or a progress token: how to write it, and its value's key. */
export interface Scalar {
  readonly write: (w: Writer) => string;
  readonly key: string;
}

export interface Model {
  readonly id?: Scalar;
  readonly method?: string;
  readonly result?: { readonly isError: unknown };
  readonly error?: { readonly code: number | undefined; readonly reason: string | undefined };
  readonly progressToken?: Scalar;
}

/** Takes the writer's choices from a stream of numbers. */
export class Writer {
  readonly #choices: Iterator<number>;
  constructor(choices: Iterable<number>) {
    this.#choices = choices[Symbol.iterator]();
  }
  pick(n: number): number {
    return (this.#choices.next().value ?? 0) % n;
  }
  space(): string {
    return ["", "", "", " ", "\n  ", "\t", "\r\n"][this.pick(7)] as string;
  }
}

const shortEscapes: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\n": "\\n",
  "\t": "\\t",
  "/": "\\/",
};

const hex = (code: number, upper: boolean) => {
  const text = code.toString(16).padStart(4, "0");
  return `\\u${upper ? text.toUpperCase() : text}`;
};

/** `value` as a JSON string, each character written one of the ways JSON allows. */
export function writeString(value: string, w: Writer): string {
  let out = '"';
  for (const char of value) {
    const code = char.codePointAt(0) as number;
    const mustEscape = char === '"' || char === "\\" || code < 0x20;
    const way = w.pick(4);
    if (way === 0 && !mustEscape) out += char;
    else if (way === 1 && shortEscapes[char] !== undefined) out += shortEscapes[char];
    else if (code > 0xffff) {
      const upper = w.pick(2) === 0;
      out += hex(0xd800 + ((code - 0x10000) >> 10), upper) + hex(0xdc00 + ((code - 0x10000) & 0x3ff), upper);
    } else if (mustEscape || way !== 0) out += hex(code, w.pick(2) === 0);
    else out += char;
  }
  return `${out}"`;
}

/** The value key of an integer written by its digits (sign, digits without trailing zeros, exponent). */
function integerKey(digits: string): string {
  const negative = digits.startsWith("-");
  const bare = negative ? digits.slice(1) : digits;
  if (/^0+$/.test(bare)) return "0";
  const kept = bare.replace(/0+$/, "");
  return `${negative ? "-" : ""}${kept}e${bare.length - kept.length}`;
}

const chars = fc.string({
  unit: fc.constantFrom("a", "é", "😀", '"', "\\", "/", "\n", "\u0001", "\u2028", "{", "]", ":", ","),
});

export const scalar: fc.Arbitrary<Scalar> = fc.oneof(
  chars.map((value) => ({ write: (w: Writer) => writeString(value, w), key: JSON.stringify(value) })),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((n) => ({
    // `${n}0e-1` only where it is JSON: for 0 it would be "00e-1", a leading zero (RFC 8259 §6)
    write: (w: Writer) => [`${n}`, `${n}.0`, `${n}e0`, n === 0n ? "0e0" : `${n}0e-1`][w.pick(4)] as string,
    key: integerKey(`${n}`),
  })),
  fc.constant({ write: () => "null", key: "null" }),
);

const method = fc.oneof(fc.constantFrom("notifications/progress", "sampling/createMessage", "ping"), chars);

export const messageModel: fc.Arbitrary<Model> = fc.oneof(
  fc.record({
    id: scalar,
    result: fc.record({ isError: fc.oneof(fc.boolean(), fc.constant("true"), fc.constant(undefined)) }),
  }),
  fc.record({
    id: scalar,
    error: fc.record({
      code: fc.option(fc.integer({ min: -33_000, max: 1_000 }), { nil: undefined }),
      reason: fc.option(chars, { nil: undefined }),
    }),
  }),
  fc.record({ id: scalar, method, progressToken: scalar }, { requiredKeys: ["method"] }),
);

const decoy = (w: Writer) =>
  `{"id":7,"method":"x","isError":true,"result":{"isError":true},"s":${writeString('"}]', w)}}`;

/** A key, sometimes written with escapes. */
const key = (name: string, w: Writer) => (w.pick(5) === 0 ? writeString(name, w) : `"${name}"`);

function writeObject(members: [string, string][], w: Writer): string {
  for (let i = members.length - 1; i > 0; i--) {
    const j = w.pick(i + 1);
    [members[i], members[j]] = [members[j] as [string, string], members[i] as [string, string]];
  }
  const s = () => w.space();
  return `{${s()}${members.map(([k, v]) => `${key(k, w)}${s()}:${s()}${v}`).join(`${s()},${s()}`)}${s()}}`;
}

function writeMessage(m: Model, w: Writer): string {
  const members: [string, string][] = [
    ["jsonrpc", '"2.0"'],
    ["extra", decoy(w)],
  ];
  if (m.id !== undefined) members.push(["id", m.id.write(w)]);
  if (m.method !== undefined) members.push(["method", writeString(m.method, w)]);
  if (m.progressToken !== undefined || m.method !== undefined) {
    const params: [string, string][] = [["_meta", decoy(w)]];
    if (m.progressToken !== undefined) params.push(["progressToken", m.progressToken.write(w)]);
    members.push(["params", writeObject(params, w)]);
  }
  if (m.result !== undefined) {
    const result: [string, string][] = [
      ["content", `[{"type":"text","isError":true,"text":${writeString("x".repeat(w.pick(80)), w)}}]`],
      ["_meta", decoy(w)],
    ];
    if (m.result.isError !== undefined) result.push(["isError", JSON.stringify(m.result.isError)]);
    members.push(["result", writeObject(result, w)]);
  }
  if (m.error !== undefined) {
    const error: [string, string][] = [["message", writeString('failed "badly"', w)]];
    if (m.error.code !== undefined) error.push(["code", String(m.error.code)]);
    const data: [string, string][] = [["more", decoy(w)]];
    if (m.error.reason !== undefined) data.push(["reason", writeString(m.error.reason, w)]);
    error.push(["data", writeObject(data, w)]);
    members.push(["error", writeObject(error, w)]);
  }
  return writeObject(members, w);
}

/** The messages written as one JSON text: a lone message, or a batch. */
export function serialized(models: readonly Model[], batch: boolean, choices: Iterable<number>): string {
  const w = new Writer(choices);
  const messages = models.map((m) => writeMessage(m, w));
  return batch ? `[${w.space()}${messages.join(`${w.space()},`)}${w.space()}]` : (messages[0] as string);
}
