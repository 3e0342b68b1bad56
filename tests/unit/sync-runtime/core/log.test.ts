import { describe, expect, it } from "vitest";
import { createLogger } from "../../../../sync-runtime/src/core/log";
import { Metrics } from "../../../../sync-runtime/src/core/metrics";

describe("createLogger", () => {
  it("writes JSON lines and redacts secrets wherever they appear, causes included", () => {
    const lines: string[] = [];
    const log = createLogger({
      level: "info",
      secrets: ['pa"ss\\word'],
      write: (l) => lines.push(l),
    });
    const cause = new Error('token request with pa"ss\\word failed');
    log.error('boom pa"ss\\word', { error: new Error("outer", { cause }) });
    log.debug("hidden");
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain("ss\\\\word");
    const entry = JSON.parse(lines[0]);
    expect(entry.level).toBe("error");
    expect(entry.msg).toBe("boom [redacted]");
    expect(entry.error.cause.message).toBe("token request with [redacted] failed");
  });
});

describe("Metrics", () => {
  it("renders Prometheus text with help, type and labels", () => {
    const m = new Metrics();
    m.inc("audit_blobs_processed_total", { content_type: "Audit.General" }, 2);
    m.set("audit_lag_seconds", 42);
    const text = m.render();
    expect(text).toContain("# TYPE audit_blobs_processed_total counter");
    expect(text).toContain('audit_blobs_processed_total{content_type="Audit.General"} 2');
    expect(text).toContain("audit_lag_seconds 42");
    expect(m.get("audit_blobs_processed_total", { content_type: "Audit.General" })).toBe(2);
  });
});
