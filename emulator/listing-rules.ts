/**
 * The content listing window rules (learn.microsoft.com, "Office 365 Management Activity API
 * reference", List available content), pure: time formats, both-or-neither,
 * at most 24 hours apart, start no more than 7 days back from "now".
 */
const HOUR = 3_600_000;
const FORMAT = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$/;

export const WINDOW_RULE_MESSAGE =
  "Start time and end time must both be specified (or both omitted) and must be less than or equal to 24 hours apart, with the start time no more than 7 days in the past.";

/** YYYY-MM-DD, YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS, read as UTC; null for anything else. */
export function parseApiTime(text: string): number | null {
  const m = FORMAT.exec(text);
  if (!m) return null;
  const [y, mo, d, h = "0", mi = "0", s = "0"] = m.slice(1).map((v) => v ?? undefined) as string[];
  const ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s);
  const back = new Date(ms);
  // Reject dates that Date.UTC silently rolls over (2026-02-30, 25:00).
  if (
    back.getUTCFullYear() !== +y ||
    back.getUTCMonth() !== +mo - 1 ||
    back.getUTCDate() !== +d ||
    back.getUTCHours() !== +h ||
    back.getUTCMinutes() !== +mi ||
    back.getUTCSeconds() !== +s
  )
    return null;
  return ms;
}

export type WindowResult =
  { ok: true; startMs: number; endMs: number } | { ok: false; message: string };

export function listingWindow(
  startTime: string | undefined,
  endTime: string | undefined,
  nowMs: number,
  retentionDays = 7,
): WindowResult {
  if (startTime === undefined && endTime === undefined)
    return { ok: true, startMs: nowMs - 24 * HOUR, endMs: nowMs };
  if (startTime === undefined || endTime === undefined)
    return { ok: false, message: WINDOW_RULE_MESSAGE };
  const startMs = parseApiTime(startTime);
  const endMs = parseApiTime(endTime);
  if (startMs === null || endMs === null)
    return {
      ok: false,
      message: `${WINDOW_RULE_MESSAGE} Accepted formats: YYYY-MM-DD, YYYY-MM-DDTHH:MM, YYYY-MM-DDTHH:MM:SS (UTC).`,
    };
  if (endMs <= startMs || endMs - startMs > 24 * HOUR)
    return { ok: false, message: WINDOW_RULE_MESSAGE };
  if (startMs < nowMs - retentionDays * 24 * HOUR)
    return { ok: false, message: WINDOW_RULE_MESSAGE };
  return { ok: true, startMs, endMs };
}

/** The form the emulator writes into NextPageUri: the longest documented one. */
export function formatApiTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}
