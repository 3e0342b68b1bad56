/**
 * `report --format csv`, for Power BI and Excel: RFC 4180 with CRLF line endings (the RFC's own
 * choice, and what Excel writes), a UTF-8 byte order mark (without it Excel opens UTF-8 as the
 * local ANSI code page and mangles accented or CJK app names; Power BI and csv-parse's
 * `bom: true` skip it), and a header row of the JSON field names. Nulls are empty fields, booleans
 * `true`/`false`, times ISO 8601 UTC as in the JSON. The CSV is the window's apps table only: a
 * report's inactiveApps (all time, other columns) would need a second table, so they are in the
 * JSON and the dashboard instead.
 */
import type { AppUsage, UsageReport } from "../../domain/usage-report";

export const CSV_COLUMNS = [
  "appId",
  "appName",
  "environmentId",
  "launches",
  "uniqueUsers",
  "lastLaunchedAt",
  "lastLaunchedBy",
  "deleted",
] as const satisfies ReadonlyArray<keyof AppUsage>;

const BOM = "\uFEFF";
const EOL = "\r\n";

// Spreadsheets run a cell starting with one of these as a formula (OWASP "CSV injection"); app
// and user names are chosen by tenant users, so text cells starting with one get a leading
// apostrophe, which Excel shows as text. The JSON output keeps the exact name.
const FORMULA_START = /^[=+\-@\t\r]/;

/** Makes a text cell safe to open in a spreadsheet (see FORMULA_START). */
export function guardFormula(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/** Quotes a field when RFC 4180 requires it: a comma, a double quote or a line break inside. */
export function quoteCsvField(field: string): string {
  return /[",\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}

function csvCell(value: AppUsage[keyof AppUsage]): string {
  if (value === null) return "";
  if (typeof value === "string") return quoteCsvField(guardFormula(value));
  return String(value);
}

export function renderCsv(report: UsageReport): string {
  const rows = [
    CSV_COLUMNS.join(","),
    ...report.apps.map((app) => CSV_COLUMNS.map((column) => csvCell(app[column])).join(",")),
  ];
  return BOM + rows.map((row) => row + EOL).join("");
}
