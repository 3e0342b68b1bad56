import { describe, expect, it } from "vitest";
import { getToken, send, withTinyEmulator } from "./helpers";

const CLIENT_ID = "0b1e2d3c-4f5a-6b7c-8d9e-0f1a2b3c4d5e";

/**
 * Graph's request ids ("Microsoft Graph error responses and resource types"): every answer
 * carries `request-id` and `client-request-id`, the latter echoing the client's; an error's
 * innerError names the same two ids.
 */
describe("the emulated Graph's request ids", () => {
  it("answers request-id and echoes client-request-id in headers and in an error's innerError", async () => {
    await withTinyEmulator({}, async (emu) => {
      const token = await getToken(emu, `${emu.graphUrl}/.default`);
      const queries = `${emu.graphUrl}/v1.0/security/auditLog/queries`;
      const headers = { Authorization: `Bearer ${token}`, "client-request-id": CLIENT_ID };

      const ok = await send(emu.caCertPem, "GET", queries, { headers });
      expect(ok.status).toBe(200);
      expect(ok.headers["client-request-id"]).toBe(CLIENT_ID);
      expect(ok.headers["request-id"]).toMatch(/^[0-9a-f-]{36}$/);

      const missing = await send(emu.caCertPem, "GET", `${queries}/no-such-query`, { headers });
      expect(missing.status).toBe(404);
      const inner = JSON.parse(missing.body).error.innerError;
      expect(inner["client-request-id"]).toBe(CLIENT_ID);
      expect(inner["request-id"]).toBe(missing.headers["request-id"]);

      // Without a client id, the service's own request id stands for both.
      const anonymous = await send(emu.caCertPem, "GET", `${queries}/no-such-query`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(anonymous.headers["client-request-id"]).toBe(anonymous.headers["request-id"]);
      expect(JSON.parse(anonymous.body).error.innerError["client-request-id"]).toBe(
        anonymous.headers["request-id"],
      );
    });
  });
});
