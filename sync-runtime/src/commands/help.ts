import { describeVariables } from "../app/config";
import { DEFAULT_STALE_DAYS } from "../domain/stale-days";
import { REPORT_FORMATS } from "../presentation/report/render";

/** Exit codes, documented in --help. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export const HELP = `coe-audit-sync runtime: Microsoft 365 audit log -> Power Apps usage in Azure Storage.

Usage: npm run sync -- <command> [options]
       (npm run -s sync -- ... keeps npm's own lines out of stdout)

Commands:
  subscription start|stop|list
        Start, stop or list the Management Activity API subscriptions of every content type in
        AUDIT_CONTENT_TYPES. "Already enabled" (AF20024) counts as success. list prints JSON.
  once [--from ISO] [--to ISO]
        One sync pass over content created in [from, to). Default from: the checkpoint (minus
        AUDIT_OVERLAP_MINUTES), or the last AUDIT_FIRST_RUN_HOURS on a first run; default to: now.
        The API serves at most 7 days back; an older checkpoint is recorded as a gap.
        Prints a JSON summary per content type on stdout; progress and logs go to stderr.
        --source graph reads Microsoft Graph's audit log queries instead (AUDIT_SOURCE for this
        run): --from may then reach back 180 days (the audit retention). Not in GCC High/DoD.
  once --source graph --gaps
        Re-read every gap the Management API path recorded (see gaps) from Microsoft Graph, and
        mark each filled. No checkpoint moves. Commercial and GCC only.
  serve
        Run a pass every AUDIT_SYNC_INTERVAL_MINUTES (never two at once), write the latest report
        (json, csv, html) to the "reports" container after each pass, and serve /healthz, /readyz
        and /metrics (Prometheus) on PORT. SIGTERM/SIGINT stop it gracefully.
  report [--days N | --from ISO --to ISO] [--format ${REPORT_FORMATS.join("|")}] [--out FILE]
         [--stale-days N]
        Usage per app for the window (default 7: today so far and the 6 whole UTC days before
        it), read from the per-app, per-day rollups in storage. stdout holds only the report (or
        nothing with --out). Launches count once per record Id; unique users are distinct UPNs,
        case-insensitive; the window filters on the records' CreationTime.
        Also lists the apps not launched for --stale-days days (default ${DEFAULT_STALE_DAYS}), over all
        time synced, not only the window: json (inactiveApps), table and html; csv holds the
        window's apps only.
  gaps
        List what could no longer be fetched (JSON): intervals older than the API's 7 days
        ({from, to}) and content blobs whose records are lost ({contentId, contentCreated,
        reason}): expired before download, refused (contentUri off the API's origin) or
        quarantined (unreadable; the bytes are in the quarantine container); and listing
        windows cut short at a NextPageUri that could not be followed ({from, to, reason
        "listingCut", detail}; the answer is in the quarantine container under listings/); and,
        with AUDIT_DATAVERSE_URL, launches and deletes Dataverse refused for good ({recordId,
        reason "dataverseRejected", status, detail}: Dataverse's error), kept as dead letters.
  dataverse backfill [--from ISO]
        Put the launches and deletes stored in Azure Storage (from the day of --from; default:
        where the last back-fill stopped, or everything stored when none ran) into the Dataverse
        outbox and write them to the CoE tables. The sink does this by itself when it is switched
        on over stored history. Idempotent (rows are keyed by the record Id) and resumable: killed
        midway, the next run or pass goes on where it stopped. Progress on stderr, JSON on stdout.
  dataverse retry-rejected
        Send the dead letters (see gaps) to Dataverse again, after the cause was fixed there.
  rebuild-rollups
        Rebuild the per-app, per-day rollups the report reads from every stored launch and
        delete (storage written before rollups existed, or to check them). Waits for the sync
        lease like once; prints the days rolled up (JSON). Until then the report reads the
        events of the days not rolled up: slower, the same figures.
  help, --help
        This text.

Times are ISO 8601 (2026-05-19, 2026-05-19T13:00, 2026-05-19T13:00:00Z); without a zone they are UTC.

Environment variables:
${describeVariables()}

Exit codes: 0 success, 1 the command failed (API, token or storage; the message says what to do),
2 bad command line or configuration, 130 interrupted before the pass completed.
`;
