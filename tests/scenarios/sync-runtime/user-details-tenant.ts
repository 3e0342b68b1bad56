/** What the user-details scenarios share: the columns they check and the tenant they sync. */

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
