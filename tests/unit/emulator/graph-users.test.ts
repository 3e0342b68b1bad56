import { describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../../emulator/index";
import { errorCode, getToken, send, TINY_TENANT, withTinyEmulator } from "./helpers";

/** GET /users/{id} and POST /$batch with one Graph token. */
async function usersClient(emu: RunningEmulator) {
  const token = await getToken(emu, `${emu.graphUrl}/.default`);
  const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
  return {
    get: (id: string, select?: string) =>
      send(
        emu.caCertPem,
        "GET",
        `${emu.graphUrl}/v1.0/users/${id}${select ? `?$select=${select}` : ""}`,
        { headers },
      ),
    batch: (requests: unknown[]) =>
      send(emu.caCertPem, "POST", `${emu.graphUrl}/v1.0/$batch`, {
        headers,
        body: JSON.stringify({ requests }),
      }),
  };
}

const SELECT = "id,displayName,city,country,department,jobTitle,userType";

describe("the emulated Graph users (user-get, json-batching)", () => {
  it("serves a user's selected properties, 404 for a deleted user, guests as userType Guest", async () => {
    await withTinyEmulator({ tenant: { ...TINY_TENANT, users: 12 } }, async (emu) => {
      const users = emu.graphUsers();
      const c = await usersClient(emu);
      const member = users.find((u) => !u.deleted && u.profile.userType === "Member")!;
      const res = await c.get(member.id, SELECT);
      expect(res.status).toBe(200);
      const { "@odata.context": _, ...body } = JSON.parse(res.body) as Record<string, unknown>;
      expect(body).toEqual({ id: member.id, ...member.profile });
      expect(users.filter((u) => u.profile.userType === "Guest").length).toBeGreaterThan(0);
      const deleted = users.find((u) => u.deleted)!;
      const gone = await c.get(deleted.id, SELECT);
      expect(gone.status).toBe(404);
      expect(errorCode(gone)).toBe("Request_ResourceNotFound");
      expect(gone.headers["request-id"]).toBeTruthy();
    });
  });

  it("answers each request of a batch on its own, and refuses more than 20", async () => {
    await withTinyEmulator({ tenant: { ...TINY_TENANT, users: 12 } }, async (emu) => {
      const users = emu.graphUsers();
      const c = await usersClient(emu);
      const res = await c.batch(
        users.map((u, k) => ({
          id: String(k),
          method: "GET",
          url: `/users/${u.id}?$select=${SELECT}`,
        })),
      );
      expect(res.status).toBe(200);
      const { responses } = JSON.parse(res.body) as {
        responses: { id: string; status: number; body: Record<string, unknown> }[];
      };
      expect(responses.map((r) => [r.id, r.status])).toEqual(
        users.map((u, k) => [String(k), u.deleted ? 404 : 200]),
      );
      expect(responses.find((r) => r.status === 200)!.body.userType).toMatch(/Member|Guest/);
      const tooMany = await c.batch(
        Array.from({ length: 21 }, (_, k) => ({
          id: String(k),
          method: "GET",
          url: `/users/${users[0].id}`,
        })),
      );
      expect(tooMany.status).toBe(400);
      expect(emu.stats().graphUsers).toMatchObject({ userBatches: 2, userReads: users.length });
    });
  });

  it("answers 403 Authorization_RequestDenied inside the batch when the token lacks User.Read.All", async () => {
    await withTinyEmulator({ graph: { userReadAll: false } }, async (emu) => {
      const [user] = emu.graphUsers();
      const c = await usersClient(emu);
      expect(errorCode(await c.get(user.id))).toBe("Authorization_RequestDenied");
      const res = await c.batch([{ id: "1", method: "GET", url: `/users/${user.id}` }]);
      expect(res.status).toBe(200);
      const [answer] = (
        JSON.parse(res.body) as {
          responses: { status: number; body: { error: { code: string } } }[];
        }
      ).responses;
      expect(answer.status).toBe(403);
      expect(answer.body.error.code).toBe("Authorization_RequestDenied");
    });
  });

  it("grants User.Read.All later to new tokens only, as a consent that took effect", async () => {
    await withTinyEmulator({ graph: { userReadAll: false } }, async (emu) => {
      const [user] = emu.graphUsers().filter((u) => !u.deleted);
      const before = await usersClient(emu);
      emu.setUserReadAll(true);
      // The token issued before the grant keeps its roles.
      expect(errorCode(await before.get(user.id))).toBe("Authorization_RequestDenied");
      expect((await (await usersClient(emu)).get(user.id)).status).toBe(200);
    });
  });

  it("answers 503 serviceNotAvailable during an outage of the given number of requests", async () => {
    await withTinyEmulator({}, async (emu) => {
      const [user] = emu.graphUsers().filter((u) => !u.deleted);
      const c = await usersClient(emu);
      emu.setGraphUsersOutage(2);
      const outage = [
        await c.get(user.id),
        await c.batch([{ id: "1", method: "GET", url: `/users/${user.id}` }]),
      ];
      expect(outage.map((r) => [r.status, errorCode(r)])).toEqual([
        [503, "serviceNotAvailable"],
        [503, "serviceNotAvailable"],
      ]);
      expect((await c.get(user.id)).status).toBe(200);
    });
  });
});
