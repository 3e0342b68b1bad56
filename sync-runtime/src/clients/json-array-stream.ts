import { isAscii } from "node:buffer";

/**
 * Splits a JSON array arriving in chunks into its elements, parsing one element at a time, so a
 * content blob of tens of MB never exists as one string (only the element being read is held).
 * It only tracks nesting and strings to find element boundaries; JSON.parse does the rest, so
 * every element is validated exactly as a whole-document parse would.
 */
export class JsonArraySplitter {
  private state: "before" | "between" | "element" | "after" = "before";
  private depth = 0;
  private inString = false;
  private escape = false;
  private pending = "";
  private position = 0;
  private pieces: number[] | undefined;
  /** The last element's opening, `{"key":`, when it had one (see fastEnd). */
  private head = "";
  /** `},{"key":` for that head: where the element starting with it most likely ends. */
  private separator = "";

  /**
   * Feeds the next chunk of text; returns the elements it completed. With `pieces`, where each
   * element's text lies in this chunk is pushed there as (start, end, 1 if the element ends
   * there else 0): what the raw archive keeps, as served, without re-serialising.
   */
  push(chunk: string, pieces?: number[]): unknown[] {
    this.pieces = pieces;
    const items: unknown[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      switch (this.state) {
        case "before":
          if (c === 0x5b /* [ */) this.state = "between";
          else if (!isSpace(c) && c !== 0xfeff) this.fail(i, "expected the array to start with [");
          break;
        case "between":
          if (c === 0x5d /* ] */) this.state = "after";
          else if (c === 0x2c /* , */ || isSpace(c)) break;
          else {
            start = i;
            const end = c === 0x7b /* { */ && this.separator ? this.fastEnd(chunk, i, items) : -1;
            if (end >= 0) {
              i = end - 1;
              break;
            }
            this.state = "element";
            this.depth = 0;
            i = this.scanElement(chunk, i, items, start) - 1;
            if (this.state === "element") i = chunk.length; // Element continues in the next chunk.
          }
          break;
        case "element":
          // Only reached at the start of a chunk when an element spans chunks.
          i = this.scanElement(chunk, i, items, i) - 1;
          if (this.state === "element") i = chunk.length;
          break;
        case "after":
          if (!isSpace(c)) this.fail(i, "unexpected data after the closing ]");
          break;
      }
    }
    this.position += chunk.length;
    return items;
  }

  /** Call after the last chunk: a missing closing bracket means the body was truncated. */
  end(): void {
    if (this.state !== "after") {
      throw new SyntaxError(
        `JSON array ended early after ${this.position} characters (truncated body)`,
      );
    }
  }

  /**
   * Scans from `from` until the current element ends (returning the index after it, with the
   * state back to "between"/"after") or the chunk ends (saving the partial element).
   */
  private scanElement(chunk: string, from: number, items: unknown[], start: number): number {
    let i = from;
    while (i < chunk.length) {
      if (this.inString) {
        i = this.skipString(chunk, i);
        continue;
      }
      const c = chunk.charCodeAt(i);
      if (c === 0x22) this.inString = true;
      else if (c === 0x7b /* { */ || c === 0x5b /* [ */) this.depth++;
      else if (c === 0x7d /* } */ || (c === 0x5d && this.depth > 0)) {
        this.depth--;
        if (this.depth === 0) {
          this.emit(chunk, start, i + 1, items);
          this.state = "between";
          return i + 1;
        }
      } else if (this.depth === 0 && (c === 0x2c || c === 0x5d)) {
        // A scalar element ends at the separator or the closing bracket.
        this.emit(chunk, start, i, items);
        this.state = c === 0x5d ? "after" : "between";
        return i + 1;
      }
      i++;
    }
    this.pending += chunk.slice(start);
    this.pieces?.push(start, chunk.length, 0);
    return chunk.length;
  }

  /**
   * From inside a string at `i`, returns the index after its closing quote, or the chunk's length
   * (still inside, with `escape` set when the chunk ends in an unpaired backslash). Audit records
   * are mostly string content: jumping quote to quote with indexOf, instead of looking at every
   * character, is what keeps the splitter's cost well below JSON.parse's.
   */
  private skipString(chunk: string, i: number): number {
    if (this.escape) {
      // The previous chunk ended in a backslash: this character is escaped, whatever it is.
      this.escape = false;
      i++;
    }
    for (;;) {
      const quote = chunk.indexOf('"', i);
      const end = quote < 0 ? chunk.length : quote;
      // An odd run of backslashes right before the quote (or the chunk's end) escapes it.
      let run = 0;
      while (end - run - 1 >= i && chunk.charCodeAt(end - run - 1) === 0x5c) run++;
      if (quote < 0) {
        this.escape = run % 2 === 1;
        return chunk.length;
      }
      if (run % 2 === 0) {
        this.inString = false;
        return quote + 1;
      }
      i = quote + 1;
    }
  }

  /**
   * The index after the object starting at `start`, found without scanning it, or -1 to scan.
   * Records of one blob are compact and start with the same key, so `},{"key":` usually follows
   * each one: the text up to the next such separator is parsed as the element. That answer can
   * only be right: a JSON value's end is fixed by its start, so a slice that ends early (the
   * separator inside the element, as in a nested array of objects) or late (a record starting
   * with another key) does not parse, and the exact scan decides.
   */
  private fastEnd(chunk: string, start: number, items: unknown[]): number {
    const at = chunk.indexOf(this.separator, start);
    if (at < 0) return -1;
    let item: unknown;
    try {
      item = JSON.parse(chunk.slice(start, at + 1));
    } catch {
      return -1;
    }
    items.push(item);
    this.pieces?.push(start, at + 1, 1);
    return at + 1;
  }

  private emit(chunk: string, start: number, end: number, items: unknown[]): void {
    const text = this.pending + chunk.slice(start, end);
    this.pending = "";
    items.push(JSON.parse(text));
    this.pieces?.push(start, end, 1);
    this.learnSeparator(text);
  }

  /** Takes the separator fastEnd looks for from an element read by the exact scan. */
  private learnSeparator(text: string): void {
    if (this.head && text.startsWith(this.head)) return;
    const close =
      text.charCodeAt(0) === 0x7b && text.charCodeAt(1) === 0x22 ? text.indexOf('"', 2) : -1;
    if (close < 0 || text.charCodeAt(close + 1) !== 0x3a /* : */) return;
    this.head = text.slice(0, close + 2);
    this.separator = `},${this.head}`;
  }

  private fail(index: number, what: string): never {
    throw new MalformedArrayError(
      `Invalid JSON array at character ${this.position + index}: ${what}`,
    );
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * Reads a byte stream holding a JSON array and calls `onItems` with each batch of elements as it
 * completes, and with the chunk's share of the array as NDJSON bytes: each element as served, on
 * one line (an element that goes on in the next chunk goes on in the next call's bytes). The
 * bytes of every call, concatenated, are the whole array as NDJSON. Multi-byte UTF-8 characters
 * split across chunks are decoded correctly (text chunks must hold whole characters). The next
 * chunk is read only once `onItems` has resolved, so a slow consumer slows the download instead
 * of piling up memory. Byte chunks are consumed: their bytes may become the NDJSON (a compact
 * array's commas turned into line ends), so the caller must not read them afterwards.
 */
export async function forEachArrayItem(
  body: AsyncIterable<Uint8Array | string>,
  onItems: (items: unknown[], lines: Buffer) => void | Promise<void>,
): Promise<void> {
  const splitter = new JsonArraySplitter();
  const decoder = new TextDecoder("utf-8", { fatal: true });
  // Whether the decoder may hold the first bytes of a character from the chunk before.
  let carry = false;
  for await (const chunk of body) {
    let text: string;
    let bytes: Buffer | undefined;
    if (typeof chunk === "string") text = chunk;
    else {
      bytes = Buffer.isBuffer(chunk)
        ? chunk
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      // Audit records are mostly ASCII: such a chunk is its own text, character for byte, and
      // Buffer's latin1 view of it is many times faster than TextDecoder's streaming decode.
      const ascii = isAscii(bytes);
      if (ascii && !carry) text = bytes.toString("latin1");
      else {
        text = decoder.decode(bytes, { stream: true });
        carry = !ascii;
        if (!ascii) bytes = undefined;
      }
    }
    const pieces: number[] = [];
    const items = splitter.push(text, pieces);
    if (pieces.length) await onItems(items, ndjson(text, bytes, pieces));
  }
  const pieces: number[] = [];
  const rest = decoder.decode();
  const items = splitter.push(rest, pieces);
  if (pieces.length) await onItems(items, ndjson(rest, undefined, pieces));
  splitter.end();
}

/**
 * The NDJSON bytes of a chunk's pieces: copied from the chunk's own bytes when they are its text
 * character for byte (ASCII), else encoded from the text. JSON has no raw line breaks inside
 * strings, so a line break between an element's tokens becomes a space: the element keeps its
 * meaning and stays one line.
 */
function ndjson(text: string, ascii: Buffer | undefined, pieces: number[]): Buffer {
  const breaks = text.indexOf("\n") >= 0 || text.indexOf("\r") >= 0;
  if (!ascii) {
    let lines = "";
    for (let p = 0; p < pieces.length; p += 3) {
      const piece = text.slice(pieces[p], pieces[p + 1]);
      lines += (breaks ? piece.replace(/[\r\n]/g, " ") : piece) + (pieces[p + 2] ? "\n" : "");
    }
    return Buffer.from(lines, "utf8");
  }
  const own = linesInPlace(ascii, pieces, breaks);
  if (own) return own;
  let size = 0;
  for (let p = 0; p < pieces.length; p += 3) size += pieces[p + 1] - pieces[p] + pieces[p + 2];
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let p = 0; p < pieces.length; p += 3) {
    const from = at;
    at += ascii.copy(out, at, pieces[p], pieces[p + 1]);
    if (breaks) breaksToSpaces(out, from, at);
    if (pieces[p + 2]) out[at++] = 0x0a;
  }
  return out;
}

/**
 * The chunk's own bytes as its NDJSON, when its pieces are one run of elements each followed by
 * one byte (a compact array's comma or closing bracket), which becomes the line end: nothing is
 * copied. Undefined otherwise (whitespace between elements, or a chunk ending right after one).
 */
function linesInPlace(bytes: Buffer, pieces: number[], breaks: boolean): Buffer | undefined {
  const last = pieces.length - 3;
  for (let p = 0; p < last; p += 3) if (pieces[p + 3] !== pieces[p + 1] + 1) return undefined;
  const complete = pieces[last + 2] === 1;
  const end = pieces[last + 1] + (complete ? 1 : 0);
  if (end > bytes.length) return undefined;
  const lines = bytes.subarray(pieces[0], end);
  // Breaks first: the separators about to become line ends are commas and brackets, not breaks.
  if (breaks) breaksToSpaces(lines, 0, lines.length);
  for (let p = 0; p <= last; p += 3) if (pieces[p + 2]) bytes[pieces[p + 1]] = 0x0a;
  return lines;
}

/** Turns the raw line breaks (CR, LF) of `bytes[from, to)` into spaces, in place. */
function breaksToSpaces(bytes: Uint8Array, from: number, to: number): void {
  for (let i = from; i < to; i++) if (bytes[i] === 0x0a || bytes[i] === 0x0d) bytes[i] = 0x20;
}

/**
 * The body is complete but not a JSON array (as opposed to one that ended early, which a
 * truncated transfer also produces): the content itself is bad.
 */
export class MalformedArrayError extends SyntaxError {}
