/**
 * The one entry point for turning a usage report into what people read: the CLI's
 * `report --format`, the service's report files in storage and the demo all call renderReport.
 *
 * - table: aligned text for a terminal, in the report's order (launches descending), then the
 *   report's inactiveApps by name (at most TABLE_MAX_INACTIVE) when it carries them.
 * - json: the contract (usage-report.ts), stable key order, 2-space indent, trailing newline.
 * - csv: RFC 4180 for Power BI / Excel, CRLF line endings, UTF-8 BOM, header of the JSON field
 *   names, and a leading apostrophe on text cells starting with = + - @ tab or CR (formula
 *   injection guard; the JSON keeps names exact). Only the window's apps table: inactiveApps is a
 *   different table (other columns, all time), so it is in the json and html, not in the csv.
 * - html: one self-contained dashboard file (inline CSS/SVG/script, nothing fetched); its stale
 *   section lists inactiveApps (all time) when the report has them, else apps of the window.
 */
import { UsageError } from "../../core/errors";
import { renderCsv } from "./render-csv";
import { renderHtml } from "./render-html";
import { renderJson } from "./render-json";
import { DEFAULT_STALE_DAYS, validateStaleDays } from "../../domain/stale-days";
import { renderTable } from "./render-table";
import type { UsageReport } from "../../domain/usage-report";

export const REPORT_FORMATS = ["table", "json", "csv", "html"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface RenderOptions {
  /**
   * Dashboard and table: "apps not launched for N days", relative to report.to, for the window
   * fallback. Default: the report's own staleDays, else 30. A report's inactiveApps are always
   * shown with the staleDays they were computed with.
   */
  staleDays?: number;
  /** Dashboard heading and table title line. Default "Power Apps usage". */
  title?: string;
}

export const DEFAULT_REPORT_TITLE = "Power Apps usage";

/** File extension for a format, for callers that write report files. */
export const REPORT_FILE_EXTENSIONS: Readonly<Record<ReportFormat, string>> = {
  table: "txt",
  json: "json",
  csv: "csv",
  html: "html",
};

/** Content type for a format, for callers that upload report files (e.g. to blob storage). */
export const REPORT_CONTENT_TYPES: Readonly<Record<ReportFormat, string>> = {
  table: "text/plain; charset=utf-8",
  json: "application/json; charset=utf-8",
  csv: "text/csv; charset=utf-8",
  html: "text/html; charset=utf-8",
};

export function isReportFormat(value: string): value is ReportFormat {
  return (REPORT_FORMATS as readonly string[]).includes(value);
}

export function renderReport(
  report: UsageReport,
  format: ReportFormat,
  options: RenderOptions = {},
): string {
  const staleDays = validateStaleDays(options.staleDays ?? report.staleDays ?? DEFAULT_STALE_DAYS);
  const title = options.title ?? DEFAULT_REPORT_TITLE;
  switch (format) {
    case "table":
      return renderTable(report, { title, staleDays });
    case "json":
      return renderJson(report);
    case "csv":
      return renderCsv(report);
    case "html":
      return renderHtml(report, { title, staleDays });
    default:
      // Reached only from untyped callers (e.g. a CLI flag passed through unchecked).
      throw new UsageError(
        `Unknown report format "${String(format)}"; use one of: ${REPORT_FORMATS.join(", ")}.`,
      );
  }
}
