import { describe, expect, it } from "vitest";
import {
  forEachArrayItem,
  JsonArraySplitter,
} from "../../../../sync-runtime/src/clients/json-array-stream";

async function* chunked(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function collect(text: string, size: number): Promise<unknown[]> {
  const out: unknown[] = [];
  await forEachArrayItem(chunked(text, size), (items) => void out.push(...items));
  return out;
}

describe("forEachArrayItem", () => {
  const doc = [
    { Id: "1", s: 'quote " and brace } and bracket ] inside', nested: { a: [1, { b: "[" }] } },
    { Id: "2", unicode: "Zoë ✓ 𝄞", escaped: 'back\\slash\\"' },
    // Runs of backslashes before quotes and at a string's end: odd runs escape, even ones do not.
    { Id: "3", a: '\\"', b: "\\\\", c: '\\\\\\"}\\', d: '"]},{"' },
    [1, 2, [3]],
    "plain string, with comma",
    42,
    null,
    true,
  ];
  const text = `\uFEFF [ ${doc.map((d) => JSON.stringify(d)).join(" ,\n ")} ]\n`;

  it("yields exactly what JSON.parse yields, for every chunk size (split UTF-8 and tokens)", async () => {
    const expected = JSON.parse(text.slice(1));
    for (const size of [1, 2, 3, 7, 64, 100_000]) {
      expect(await collect(text, size)).toEqual(expected);
    }
  });

  it("handles an empty array", async () => {
    expect(await collect("[]", 1)).toEqual([]);
    expect(await collect(" [ ] ", 100)).toEqual([]);
  });

  it("rejects a truncated body", async () => {
    const truncated = text.slice(0, Math.floor(text.length / 2));
    await expect(collect(truncated, 10)).rejects.toThrow(/truncated|JSON/);
    await expect(collect('[{"a":1}', 3)).rejects.toThrow(/truncated/);
  });

  it("rejects a body that is not an array", async () => {
    await expect(collect('{"error":{"code":"AF50000"}}', 5)).rejects.toThrow(/\[/);
    await expect(collect("[1] x", 5)).rejects.toThrow(/after the closing/);
  });
});

describe("forEachArrayItem on compact records (the separator shortcut)", () => {
  // The splitter guesses where a record ends from the separator `},{"<first key>":`; these are
  // the records where that guess is wrong, between ones where it is right.
  const records: unknown[] = [
    { Id: "1", Operation: "LaunchPowerApp" },
    { Id: "2", Items: [{ Id: "a" }, { Id: "b", deeper: [{ Id: "c" }] }] },
    { Id: "3", s: '},{"Id":"x"}', t: '"},{"Id":' },
    { CreationTime: "2026-12-01T00:00:00", Id: "4" },
    { Id: "5", n: 5 },
    { CreationTime: "2026-12-01T00:00:01", Id: "6" },
    { Id: "7", ['},{"Id":']: 7 },
    { Id: "8" },
  ];
  const text = JSON.stringify(records);

  async function run(body: string, size: number): Promise<{ items: unknown[]; lines: string }> {
    const items: unknown[] = [];
    const parts: Buffer[] = [];
    await forEachArrayItem(chunked(body, size), (batch, lines) => {
      items.push(...batch);
      parts.push(Buffer.from(lines));
    });
    return { items, lines: Buffer.concat(parts).toString("utf8") };
  }

  it("yields what JSON.parse yields and every record as served on its line, at every chunk size", async () => {
    const lines = records.map((r) => `${JSON.stringify(r)}\n`).join("");
    for (const size of [1, 5, 13, 40, 64, 100, 1000, 100_000]) {
      const out = await run(text, size);
      expect(out.items, `chunks of ${size}`).toEqual(records);
      expect(out.lines, `chunks of ${size}`).toBe(lines);
    }
  });

  it("matches JSON.parse on many random compact arrays", async () => {
    let seed = 12;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)];
    for (let round = 0; round < 40; round++) {
      const list = Array.from({ length: 1 + Math.floor(random() * 30) }, (_, i) =>
        pick<unknown>([
          { Id: String(i) },
          { Id: String(i), PropertyCollection: [{ Id: "n", Value: "v" }, { Id: "m" }] },
          { Id: String(i), s: pick(['},{"Id":', "}]", '\\"},{"Id":"', "Zoë"]) },
          { Other: i, Id: String(i) },
          [i, { Id: "x" }],
          i,
        ]),
      );
      const body = JSON.stringify(list);
      const out = await run(body, 1 + Math.floor(random() * 200));
      expect(out.items).toEqual(list);
      expect(out.lines).toBe(list.map((r) => `${JSON.stringify(r)}\n`).join(""));
    }
  });

  it("still rejects a bad record between good ones, as a whole-document parse would", async () => {
    const bad = '[{"Id":"1"},{"Id":"2",},{"Id":"3"}]';
    expect(() => JSON.parse(bad)).toThrow(SyntaxError);
    for (const size of [3, 100]) await expect(run(bad, size)).rejects.toThrow(SyntaxError);
  });

  it("leaves out what lies between records when it is more than a comma", async () => {
    const body = '[ {"Id":"1"} ,\t{"Id":"2"},{"Id":"3"}, {"Id":"4"} ]';
    for (const size of [3, 100]) {
      expect((await run(body, size)).lines).toBe(
        '{"Id":"1"}\n{"Id":"2"}\n{"Id":"3"}\n{"Id":"4"}\n',
      );
    }
  });

  it("turns line breaks inside a record into spaces when records are compact", async () => {
    const body = '[{"Id":"1",\r\n"a":1},{"Id":"2","b":\n2},{"Id":"3"}]';
    for (const size of [4, 100]) {
      const { items, lines } = await run(body, size);
      expect(items).toEqual(JSON.parse(body));
      expect(lines).toBe('{"Id":"1",  "a":1}\n{"Id":"2","b": 2}\n{"Id":"3"}\n');
    }
  });
});

describe("forEachArrayItem's NDJSON bytes", () => {
  async function ndjson(body: AsyncIterable<Uint8Array | string>): Promise<string> {
    const parts: Buffer[] = [];
    await forEachArrayItem(body, (_items, lines) => void parts.push(lines));
    return Buffer.concat(parts).toString("utf8");
  }
  /** Text chunks of whole characters (what a string body is: bytes are where characters split). */
  async function* strings(text: string, size: number): AsyncGenerator<string> {
    const chars = Array.from(text);
    for (let i = 0; i < chars.length; i += size) yield chars.slice(i, i + size).join("");
  }
  const records = [
    { Id: "1", Operation: "LaunchPowerApp", n: 1 },
    { Id: "2", name: "Zoë ✓ 𝄞", q: 'a "quoted" ] } word' },
    { Id: "3", ascii: "only" },
  ];

  it("are every element as served, one per line, for ASCII and multi-byte text at every chunk size", async () => {
    const text = `[${records.map((r) => JSON.stringify(r)).join(",")}]`;
    const expected = records.map((r) => `${JSON.stringify(r)}\n`).join("");
    for (const size of [1, 2, 3, 5, 16, 64, 100_000]) {
      expect(await ndjson(chunked(text, size)), `bytes, ${size}`).toBe(expected);
      expect(await ndjson(strings(text, size)), `text, ${size}`).toBe(expected);
    }
  });

  it("turn line breaks between an element's tokens into spaces and drop those between elements", async () => {
    const pretty = `[\r\n${records.map((r) => JSON.stringify(r, null, 2).replace(/\n/g, "\r\n")).join(",\r\n")}\n]\n`;
    for (const size of [1, 7, 100_000]) {
      const lines = (await ndjson(chunked(pretty, size))).split("\n");
      expect(lines.pop()).toBe("");
      expect(lines.map((l) => JSON.parse(l))).toEqual(records);
      expect(lines.every((l) => !l.includes("\r"))).toBe(true);
    }
  });
});

describe("JsonArraySplitter", () => {
  it("holds only the unfinished element between chunks", () => {
    const s = new JsonArraySplitter();
    expect(s.push('[{"a":1},{"b"')).toEqual([{ a: 1 }]);
    expect(s.push(":2}]")).toEqual([{ b: 2 }]);
    s.end();
  });
});
