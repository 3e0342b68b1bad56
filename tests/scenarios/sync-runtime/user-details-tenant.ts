/**
 * What the user-details scenarios share: the columns they check, the tenant they sync, and the
 * check of a row's user columns against the emulated Graph.
 */
import { expect } from "vitest";
import type { DataverseRow, RunningEmulator } from "../../../emulator/index";

/** The user columns Update Data (V2) fills from Office 365 Users. */
export const USER_COLUMNS = [
  "admin_username",
  "admin_usercity",
  "admin_usercountry",
  "admin_userdepartment",
  "admin_userjobtitle",
  "admin_userisguest",
];

export const start = new Date("2026-03-05T00:00:00Z");

export const tenant = {
  days: 1,
  futureDays: 2,
  apps: 5,
  environments: 2,
  // More than one batch of 20, with guests and deleted users among them.
  users: 47,
  launchesPerDay: 400,
  deletes: 0,
  abandonedApps: 0,
  legacySchemaShare: 0.3,
};

/**
 * Each row's user columns equal the emulated Graph's profile of its user (a property Graph has
 * empty stays empty), guests flagged; a deleted user's row has none. Returns what it saw.
 */
export function expectUserRows(
  emulator: RunningEmulator,
  rows: DataverseRow[],
): { guests: number; deleted: number } {
  const users = new Map(emulator.graphUsers().map((u) => [u.id.toLowerCase(), u]));
  const seen = { guests: 0, deleted: 0 };
  for (const row of rows) {
    const user = users.get(String(row.admin_userid).toLowerCase());
    expect(user).toBeDefined();
    const actual = Object.fromEntries(USER_COLUMNS.map((c) => [c, row[c] ?? null]));
    if (user!.deleted) {
      seen.deleted++;
      expect(actual).toEqual(Object.fromEntries(USER_COLUMNS.map((c) => [c, null])));
      continue;
    }
    const p = user!.profile;
    if (p.userType === "Guest") seen.guests++;
    expect(actual).toEqual({
      admin_username: p.displayName,
      admin_usercity: p.city,
      admin_usercountry: p.country,
      admin_userdepartment: p.department,
      admin_userjobtitle: p.jobTitle,
      admin_userisguest: p.userType === "Guest",
    });
  }
  return seen;
}
