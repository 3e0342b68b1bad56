import { describe, expect, it } from "vitest";
import {
  batchBody,
  isTransient,
  parseBatchResponse,
} from "../../../../sync-runtime/src/clients/dataverse";

/** A `$batch` answer under `Prefer: odata.continue-on-error`, as the Web API docs show one. */
const answer = [
  "--batchresponse_1",
  "Content-Type: application/http",
  "Content-Transfer-Encoding: binary",
  "",
  "HTTP/1.1 204 No Content",
  "OData-Version: 4.0",
  "",
  "",
  "--batchresponse_1",
  "Content-Type: application/http",
  "Content-Transfer-Encoding: binary",
  "",
  "HTTP/1.1 400 Bad Request",
  "Content-Type: application/json; odata.metadata=minimal",
  "",
  '{"error":{"code":"0x80044331","message":"The length of the \'admin_appname\' attribute exceeded 100."}}',
  "--batchresponse_1",
  "Content-Type: application/http",
  "Content-Transfer-Encoding: binary",
  "",
  "HTTP/1.1 429 Too Many Requests",
  "Retry-After: 7",
  "",
  '{"error":{"code":"0x80072321","message":"Combined execution time exceeded."}}',
  "--batchresponse_1",
  "Content-Type: application/http",
  "Content-Transfer-Encoding: binary",
  "",
  "HTTP/1.1 200 OK",
  "Content-Type: application/json",
  "",
  '{"@odata.etag":"W/\\"1002\\"","admin_applastlaunchedon":"2026-05-19T13:17:34Z"}',
  "--batchresponse_1--",
  "",
].join("\r\n");

describe("the Dataverse client's $batch", () => {
  it("reads every write's answer in order: success, refusal with Dataverse's error, throttling, a returned row", () => {
    const answers = parseBatchResponse("multipart/mixed; boundary=batchresponse_1", answer);
    expect(answers).toEqual([
      { result: { status: 204 } },
      {
        result: {
          status: 400,
          code: "0x80044331",
          message: "The length of the 'admin_appname' attribute exceeded 100.",
        },
      },
      {
        result: { status: 429, code: "0x80072321", message: "Combined execution time exceeded." },
        retryAfter: "7",
      },
      {
        result: {
          status: 200,
          row: { "@odata.etag": 'W/"1002"', admin_applastlaunchedon: "2026-05-19T13:17:34Z" },
        },
      },
    ]);
    expect(answers.map((a) => isTransient(a.result.status))).toEqual([false, false, true, false]);
  });

  it("writes one independent request per write, with If-Match and return=representation when asked", () => {
    const body = batchBody(
      "https://contoso.crm.dynamics.com",
      "batch_1",
      [
        { entitySet: "admin_auditlogs", id: "a1", body: { admin_appid: "x" } },
        {
          entitySet: "admin_apps",
          id: "b2",
          body: { admin_appdeleted: true },
          ifMatch: 'W/"1001"',
          returnRow: true,
        },
      ],
      { "MSCRM.SuppressCallbackRegistrationExpanderJob": "true" },
    );
    // No change sets: one refused write rolls back nothing else.
    expect(body).not.toContain("changeset");
    expect(body.match(/^PATCH /gm)).toHaveLength(2);
    expect(body).toContain(
      "PATCH https://contoso.crm.dynamics.com/api/data/v9.2/admin_apps(b2) HTTP/1.1",
    );
    expect(body).toContain('If-Match: W/"1001"\r\nPrefer: return=representation');
    expect(body.match(/MSCRM\.SuppressCallbackRegistrationExpanderJob: true/g)).toHaveLength(2);
    expect(body.endsWith("--batch_1--\r\n")).toBe(true);
  });
});
