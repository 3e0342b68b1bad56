/**
 * Compact sets of small integers (the user ids of sync-runtime/src/domain/user-ids.ts), as the
 * rollups store an app-day's users: sorted, distinct ids in a Uint32Array, encoded as whichever
 * is smaller of the gaps between them as varints (few users among many) or a bitmap (most of a
 * range). Either way a set takes about a byte per user or less, so reading and merging a day's
 * users costs little more for 300 users than for 7, and a bitmap bounds any set of a tenant with
 * N users to N/8 bytes. Pure.
 */

/** First byte of an encoded set: how the rest is written. */
const GAPS = 1;
const BITMAP = 2;

/** Thrown for bytes that are not an encoded set (a row written by hand or by another format). */
export class IdSetFormatError extends Error {}

class Writer {
  private bytes = new Uint8Array(64);
  length = 0;
  byte(b: number): void {
    if (this.length === this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes[this.length++] = b;
  }
  varint(n: number): void {
    while (n >= 0x80) {
      this.byte((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    this.byte(n);
  }
  done(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

class Reader {
  at = 0;
  constructor(private readonly bytes: Uint8Array) {}
  get left(): number {
    return this.bytes.length - this.at;
  }
  byte(): number {
    if (this.at >= this.bytes.length) throw new IdSetFormatError("id set: truncated");
    return this.bytes[this.at++]!;
  }
  varint(): number {
    let n = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) {
        if (n > 0xffffffff) throw new IdSetFormatError("id set: value out of range");
        return n;
      }
    }
    throw new IdSetFormatError("id set: varint too long");
  }
}

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n >>>= 7;
    len++;
  }
  return len;
}

/** Encodes sorted, distinct ids (checked: an unsorted input would decode to another set). */
export function encodeIdSet(ids: Uint32Array): Uint8Array {
  let gapBytes = 0;
  for (let i = 0; i < ids.length; i++) {
    const gap = i === 0 ? ids[0]! : ids[i]! - ids[i - 1]!;
    if (i > 0 && ids[i]! <= ids[i - 1]!)
      throw new RangeError("id set: ids must be sorted, distinct");
    gapBytes += varintLength(gap);
  }
  const w = new Writer();
  if (ids.length === 0) {
    w.byte(GAPS);
    w.varint(0);
    return w.done();
  }
  const base = ids[0]! - (ids[0]! % 8);
  const bitmapBytes = Math.ceil((ids[ids.length - 1]! - base + 1) / 8);
  if (bitmapBytes + varintLength(base) < gapBytes) {
    w.byte(BITMAP);
    w.varint(ids.length);
    w.varint(base);
    const bits = new Uint8Array(bitmapBytes);
    for (const id of ids) bits[(id - base) >>> 3]! |= 1 << ((id - base) & 7);
    for (const b of bits) w.byte(b);
    return w.done();
  }
  w.byte(GAPS);
  w.varint(ids.length);
  for (let i = 0; i < ids.length; i++) w.varint(i === 0 ? ids[0]! : ids[i]! - ids[i - 1]!);
  return w.done();
}

/** The sorted ids of an encoded set; throws IdSetFormatError for anything encodeIdSet cannot write. */
export function decodeIdSet(bytes: Uint8Array): Uint32Array {
  const r = new Reader(bytes);
  const tag = r.byte();
  const count = r.varint();
  // Every id takes at least one byte of gaps or one bit of bitmap: a count beyond that is corrupt.
  if (count > r.left * 8) throw new IdSetFormatError("id set: count larger than its bytes");
  const ids = new Uint32Array(count);
  if (tag === GAPS) {
    let id = 0;
    for (let i = 0; i < count; i++) {
      const gap = r.varint();
      if (i > 0 && gap === 0) throw new IdSetFormatError("id set: repeated id");
      id += gap;
      if (id > 0xffffffff) throw new IdSetFormatError("id set: value out of range");
      ids[i] = id;
    }
  } else if (tag === BITMAP) {
    const base = r.varint();
    let n = 0;
    for (let byte = 0; r.left > 0; byte++) {
      let b = r.byte();
      while (b !== 0) {
        const bit = 31 - Math.clz32(b & -b);
        if (n === count) throw new IdSetFormatError("id set: more ids than its count");
        ids[n++] = base + byte * 8 + bit;
        b &= b - 1;
      }
    }
    if (n !== count) throw new IdSetFormatError("id set: fewer ids than its count");
  } else {
    throw new IdSetFormatError(`id set: unknown encoding ${tag}`);
  }
  if (r.left !== 0) throw new IdSetFormatError("id set: bytes after its end");
  return ids;
}

/** The union of two sorted, distinct id arrays, sorted and distinct. */
export function unionIds(a: Uint32Array, b: Uint32Array): Uint32Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x < y) {
      out[n++] = x;
      i++;
    } else if (y < x) {
      out[n++] = y;
      j++;
    } else {
      out[n++] = x;
      i++;
      j++;
    }
  }
  while (i < a.length) out[n++] = a[i++]!;
  while (j < b.length) out[n++] = b[j++]!;
  return n === out.length ? out : out.slice(0, n);
}
