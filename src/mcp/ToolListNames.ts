import { maxToolNameLength } from "./toolName.ts";

const quote = 0x22;
const backslash = 0x5c;
const openBrace = 0x7b;
const closeBrace = 0x7d;
const openBracket = 0x5b;
const closeBracket = 0x5d;
const colon = 0x3a;
const comma = 0x2c;

/**
 * The depths of the path to a tool's name: the message (1) → `result` (2) → `tools` (3, an array) →
 * one tool (4) → `name`. The key each object level leads on by.
 */
const pathKeys: readonly (string | undefined)[] = [undefined, "result", "tools", undefined, "name"];
const toolsLevel = 3;
const toolLevel = 4;
/** The longest key the path needs, escaped any way JSON allows (`\u0072…`: 6 bytes a character). */
const maxKeyBytes = 6 * 6;
/** The longest tool name, escaped any way JSON allows. */
const maxNameBytes = 6 * maxToolNameLength;

/**
 * Reads the tool names of one `tools/list` answer (`result.tools[].name`, MCP "Listing Tools") from
 * its JSON text as it streams through, byte by byte, keeping nothing but the names: a depth counter,
 * where the path stands, and the string being read when it is a key on the path or a name (cut off
 * past the longest tool name, which then is none). Everything else — schemas, descriptions, nesting of
 * any depth — is stepped over. Invalid JSON yields whatever names it held before it went wrong.
 */
export class ToolListNames {
  /** The names read so far, at most `limit` (duplicates included). */
  readonly names: string[] = [];
  readonly #limit: number;
  /** Containers open. */
  #depth = 0;
  /** The containers 1..onPath are on the path; the one at onPath is where the path goes on. */
  #onPath = 0;
  /** In the object at `onPath`: the next string is a key. */
  #expectKey = false;
  /** In the object at `onPath`: the last key read leads on along the path. */
  #pathKey = false;
  #done = false;
  #inString = false;
  #escaped = false;
  /** What the string being read is kept for, if anything. */
  #capture: "key" | "name" | undefined;
  readonly #held = Buffer.allocUnsafe(maxNameBytes);
  #heldLength = 0;
  #overflowed = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  feed(chunk: Buffer): void {
    for (let i = 0; i < chunk.length && !this.#done; i++) {
      const byte = chunk[i] as number;
      if (this.#inString) this.#stringByte(byte);
      else this.#structuralByte(byte);
    }
  }

  #stringByte(byte: number): void {
    if (this.#escaped) this.#escaped = false;
    else if (byte === backslash) this.#escaped = true;
    else if (byte === quote) {
      this.#inString = false;
      this.#endString();
      return;
    }
    if (this.#capture === undefined) return;
    const max = this.#capture === "key" ? maxKeyBytes : maxNameBytes;
    if (this.#heldLength >= max) this.#overflowed = true;
    else this.#held[this.#heldLength++] = byte;
  }

  #structuralByte(byte: number): void {
    const atPath = this.#onPath === this.#depth;
    switch (byte) {
      case quote:
        this.#inString = true;
        this.#capture = !atPath || this.#depth === toolsLevel ? undefined : this.#stringKind();
        this.#heldLength = 0;
        this.#overflowed = false;
        return;
      case openBrace:
      case openBracket: {
        const leadsOn = atPath && this.#leadsOn(byte);
        this.#depth++;
        if (!leadsOn) return;
        this.#onPath = this.#depth;
        this.#expectKey = byte === openBrace;
        this.#pathKey = false;
        return;
      }
      case closeBrace:
      case closeBracket:
        if (atPath) {
          this.#onPath--;
          this.#expectKey = false;
          this.#pathKey = false;
        }
        this.#depth--;
        if (this.#depth <= 0) this.#done = true; // the message is over (or was no JSON)
        return;
      case colon:
        if (atPath) this.#expectKey = false;
        return;
      case comma:
        if (atPath && this.#depth !== toolsLevel) {
          this.#expectKey = true;
          this.#pathKey = false;
        }
        return;
    }
  }

  /** Whether a container opened at the path's end (`byte` its first character) is the path's next step. */
  #leadsOn(byte: number): boolean {
    switch (this.#depth) {
      case 0:
        return byte === openBrace;
      case 1:
        return this.#pathKey && byte === openBrace;
      case 2:
        return this.#pathKey && byte === openBracket;
      case toolsLevel:
        return byte === openBrace;
      default:
        return false;
    }
  }

  /** A string at the path's end: a key of the path's object, a tool's name, or nothing to keep. */
  #stringKind(): "key" | "name" | undefined {
    if (this.#expectKey) return "key";
    return this.#depth === toolLevel && this.#pathKey ? "name" : undefined;
  }

  #endString(): void {
    const kind = this.#capture;
    this.#capture = undefined;
    if (kind === undefined) return;
    const text = this.#overflowed ? undefined : decodeJsonString(this.#held.subarray(0, this.#heldLength));
    if (kind === "key") this.#pathKey = text !== undefined && text === pathKeys[this.#depth];
    else if (text !== undefined && text.length > 0 && this.names.length < this.#limit) this.names.push(text);
  }
}

/** The text of a JSON string's contents (quotes not included), escapes undone; undefined when invalid. */
function decodeJsonString(raw: Buffer): string | undefined {
  try {
    return JSON.parse(`"${raw.toString("utf8")}"`) as string;
  } catch {
    return undefined;
  }
}
