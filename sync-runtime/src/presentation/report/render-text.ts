/**
 * Text helpers shared by the report renderers: terminal display width (so wide and combining
 * characters keep table columns aligned), terminal-safe strings, and the readable number and date
 * forms used by the table and the dashboard.
 */

// Code point ranges a terminal draws two cells wide (East Asian Wide and Fullwidth, Unicode 15).
// The common blocks are enough for app names; emoji are handled by their Emoji_Presentation
// property below.
const WIDE_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f],
  [0x2329, 0x232a],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x20000, 0x2fffd],
  [0x30000, 0x3fffd],
];

const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]$/u;
const EMOJI_PRESENTATION = /\p{Emoji_Presentation}|\p{Regional_Indicator}|\uFE0F/u;
const segmenter = new Intl.Segmenter("en", { granularity: "grapheme" });

function codePointWidth(codePoint: number): number {
  const char = String.fromCodePoint(codePoint);
  if (ZERO_WIDTH.test(char)) return 0;
  for (const [low, high] of WIDE_RANGES) {
    if (codePoint >= low && codePoint <= high) return 2;
  }
  return 1;
}

function graphemeWidth(grapheme: string): number {
  // A cluster is drawn as one glyph: emoji sequences (ZWJ families, flags, VS16) take two cells,
  // anything else takes the width of its base character (combining marks add nothing).
  if (EMOJI_PRESENTATION.test(grapheme)) return 2;
  return codePointWidth(grapheme.codePointAt(0) ?? 0);
}

/** Number of terminal cells `text` occupies in a monospace terminal. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const { segment } of segmenter.segment(text)) width += graphemeWidth(segment);
  return width;
}

/**
 * Cuts `text` to at most `maxWidth` cells, ending with "…" when something was cut. Cuts only
 * between grapheme clusters so no accent or emoji is split.
 */
export function truncateToWidth(text: string, maxWidth: number): string {
  if (displayWidth(text) <= maxWidth) return text;
  let result = "";
  let width = 0;
  for (const { segment } of segmenter.segment(text)) {
    const segmentWidth = graphemeWidth(segment);
    if (width + segmentWidth > maxWidth - 1) break;
    result += segment;
    width += segmentWidth;
  }
  return `${result}…`;
}

/** Pads `text` with spaces to `width` cells, on the right (`"left"` alignment) or on the left. */
export function padToWidth(text: string, width: number, align: "left" | "right"): string {
  const padding = " ".repeat(Math.max(0, width - displayWidth(text)));
  return align === "left" ? text + padding : padding + text;
}

/**
 * App names and user names come from the tenant's users: a name holding escape sequences could
 * rewrite the admin's terminal, and a newline would break the table. Control characters become
 * U+FFFD so the value stays visibly "odd" rather than silently changed.
 */
export function terminalSafe(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "\uFFFD");
}

const countFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** A count with thousands separators, e.g. 12,345; locale-independent so output is stable. */
export function formatCount(value: number): string {
  return countFormat.format(value);
}

/** "2026-11-24 09:05 UTC": readable, unambiguous and independent of the reader's time zone. */
export function formatUtcDateTime(iso: string, withZone = true): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const text = date.toISOString().slice(0, 16).replace("T", " ");
  return withZone ? `${text} UTC` : text;
}

/** Shown wherever the report holds null (no launch in the window, unknown name or environment). */
export const NULL_MARK = "—";
