/**
 * A minimal Prometheus registry: counters and gauges with optional labels, rendered in the text
 * exposition format. The runtime's needs are small enough that a client library would be weight.
 */
type Labels = Record<string, string>;

interface Series {
  name: string;
  help: string;
  type: "counter" | "gauge";
  values: Map<string, { labels: Labels; value: number }>;
}

export class Metrics {
  private readonly series = new Map<string, Series>();

  constructor() {
    for (const [name, help, type] of METRIC_DEFINITIONS) {
      this.series.set(name, { name, help, type, values: new Map() });
    }
  }

  inc(name: MetricName, labels: Labels = {}, by = 1): void {
    const entry = this.entry(name, labels);
    entry.value += by;
  }

  set(name: MetricName, value: number, labels: Labels = {}): void {
    this.entry(name, labels).value = value;
  }

  get(name: MetricName, labels: Labels = {}): number {
    return this.series.get(name)!.values.get(key(labels))?.value ?? 0;
  }

  render(): string {
    const lines: string[] = [];
    for (const s of this.series.values()) {
      lines.push(`# HELP ${s.name} ${s.help}`, `# TYPE ${s.name} ${s.type}`);
      for (const { labels, value } of s.values.values()) {
        lines.push(`${s.name}${formatLabels(labels)} ${value}`);
      }
    }
    return lines.join("\n") + "\n";
  }

  private entry(name: MetricName, labels: Labels) {
    const s = this.series.get(name);
    if (!s) throw new Error(`Unknown metric ${name}`);
    const k = key(labels);
    let entry = s.values.get(k);
    if (!entry) {
      entry = { labels, value: 0 };
      s.values.set(k, entry);
    }
    return entry;
  }
}

export const METRIC_DEFINITIONS = [
  ["audit_records_processed_total", "Audit records read from content blobs.", "counter"],
  ["audit_blobs_processed_total", "Content blobs downloaded, archived and applied.", "counter"],
  [
    "audit_blobs_skipped_total",
    "Listed content blobs skipped because they were already processed.",
    "counter",
  ],
  [
    "audit_blobs_expired_total",
    "Listed content blobs that had expired before they could be fetched (AF20052).",
    "counter",
  ],
  [
    "audit_duplicate_records_total",
    "Records whose Id this process had already seen (dropped by de-duplication).",
    "counter",
  ],
  [
    "audit_unparsed_records_total",
    "Power Apps records with no recognisable app id (counted, archived, not dropped silently).",
    "counter",
  ],
  ["audit_launches_total", "LaunchPowerApp records written.", "counter"],
  ["audit_deletes_total", "DeletePowerApp records written.", "counter"],
  [
    "audit_http_requests_total",
    "HTTP requests sent to the Management Activity API and token endpoint.",
    "counter",
  ],
  [
    "audit_http_retries_total",
    "HTTP requests retried after 5xx, network errors or throttling.",
    "counter",
  ],
  ["audit_throttled_total", "Throttled answers (HTTP 429 or 403 AF429).", "counter"],
  [
    "audit_gaps_total",
    "Unrecoverable intervals detected (checkpoint older than the API's 7 days).",
    "counter",
  ],
  ["audit_gap_seconds_total", "Total length of unrecoverable intervals, in seconds.", "counter"],
  ["audit_passes_total", "Sync passes by result.", "counter"],
  [
    "audit_listings_cut_total",
    "Listing windows that ended at a NextPageUri that could not be followed (recorded in gaps).",
    "counter",
  ],
  [
    "audit_blobs_quarantined_total",
    "Listed content blobs the API served unreadable (not a JSON array, an unknown 4xx), kept in quarantine.",
    "counter",
  ],
  [
    "audit_blobs_refused_total",
    "Listed content blobs refused because their contentUri was off the API's origin.",
    "counter",
  ],
  [
    "audit_passes_skipped_total",
    "Passes skipped because another runtime held the sync lease (serve).",
    "counter",
  ],
  [
    "audit_dataverse_rows_written_total",
    "admin_auditlogs rows upserted in Dataverse (AUDIT_DATAVERSE_URL).",
    "counter",
  ],
  [
    "audit_dataverse_launches_without_app_total",
    "Launches written to admin_auditlogs without the app lookup: the app is not in admin_apps.",
    "counter",
  ],
  [
    "audit_dataverse_apps_updated_total",
    "admin_apps rows moved forward (last launch, deletion).",
    "counter",
  ],
  [
    "audit_dataverse_failures_total",
    "Dataverse drains that failed; the events stay in the outbox table and are written next pass.",
    "counter",
  ],
  ["audit_dataverse_pending", "Events in the outbox table not yet written to Dataverse.", "gauge"],
  [
    "audit_dataverse_user_details_failures_total",
    "Rounds whose user details Microsoft Graph did not give (AUDIT_DATAVERSE_USER_DETAILS): their rows were written without them.",
    "counter",
  ],
  [
    "audit_dataverse_user_details_filled_total",
    "Rows written without their user's details (Graph failed) that a later drain filled in.",
    "counter",
  ],
  [
    "audit_dataverse_user_details_given_up_total",
    "Rows left without their user's details: Graph did not give them within 7 days, or Dataverse refused the update.",
    "counter",
  ],
  [
    "audit_dataverse_user_details_pending",
    "Rows written without their user's details (Graph failed) that later drains fill in.",
    "gauge",
  ],
  [
    "audit_dataverse_rejected_total",
    "Events whose write Dataverse refused for good (a 4xx), moved to the dead letters (listed in gaps).",
    "counter",
  ],
  [
    "audit_dataverse_dead_letters",
    "Events in the dead-letter table (dataverse retry-rejected sends them again).",
    "gauge",
  ],
  [
    "audit_dataverse_held",
    "Launches held at the last drain: their app is not yet in admin_apps (AUDIT_DATAVERSE_HOLD_HOURS).",
    "gauge",
  ],
  [
    "audit_dataverse_batch_size",
    "Rows per Dataverse write request (UpsertMultiple or $batch) now: the configured 1,000, fewer while Dataverse says requests run too long.",
    "gauge",
  ],
  [
    "audit_dataverse_backfilled_total",
    "Stored events put into the outbox by the back-fill of history.",
    "counter",
  ],
  ["audit_last_success_timestamp_seconds", "Unix time of the last successful pass.", "gauge"],
  [
    "audit_lag_seconds",
    "Now minus the newest record CreationTime seen (at the last processed blob).",
    "gauge",
  ],
  [
    "audit_newest_record_timestamp_seconds",
    "Unix time of the newest record CreationTime seen.",
    "gauge",
  ],
  ["audit_pass_running", "1 while a sync pass runs.", "gauge"],
  [
    "audit_graph_queries_total",
    "Microsoft Graph audit log queries that reached a final status, by status.",
    "counter",
  ],
  [
    "audit_graph_query_splits_total",
    "Graph query windows halved because the query exceeded its record limit.",
    "counter",
  ],
  [
    "audit_graph_submissions_total",
    "Microsoft Graph audit log query submissions sent (each spends one of the tenant's per 24 hours).",
    "counter",
  ],
  [
    "audit_graph_submissions_refused_total",
    "Graph audit log query submissions answered 429 (the tenant's query limits); each halves the queries in flight.",
    "counter",
  ],
  ["audit_graph_queries_in_flight", "Graph audit log queries queued or running now.", "gauge"],
] as const;

export type MetricName = (typeof METRIC_DEFINITIONS)[number][0];

function key(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(",");
}

function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return "";
  const escape = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
  return `{${keys.map((k) => `${k}="${escape(labels[k])}"`).join(",")}}`;
}
