import { SECRET_LIFETIME_DAYS } from "../../components/config";
import { describe, type PolicySubject } from "./resource";

export const APPLICATION_PASSWORD_TYPE = "azuread:index/applicationPassword:ApplicationPassword";
/** The longest lifetime the program itself accepts (stack config secretLifetimeDays). */
export const DEFAULT_MAX_SECRET_LIFETIME_DAYS: number = SECRET_LIFETIME_DAYS.max;
/** Clock skew and the time between planning and creating the secret. */
export const SLACK_MS = 86_400_000;
const DAY_MS = 86_400_000;

export interface ClientSecretRuleOptions {
  /** Longest a client secret may stay valid, in days. Default: the program's maximum. */
  readonly maxLifetimeDays?: number;
  /** The current time. Default: Date.now(). */
  readonly now?: number;
}

function days(ms: number): string {
  return (ms / DAY_MS).toFixed(1);
}

/**
 * A client secret expires, and not later than the configured lifetime: neither from now nor
 * from its own start date (the rotation's timestamp), with one day of slack for clock skew.
 */
export function checkClientSecret(
  password: PolicySubject,
  {
    maxLifetimeDays = DEFAULT_MAX_SECRET_LIFETIME_DAYS,
    now = Date.now(),
  }: ClientSecretRuleOptions = {},
): string[] {
  if (password.type !== APPLICATION_PASSWORD_TYPE) return [];
  const limitMs = maxLifetimeDays * DAY_MS + SLACK_MS;
  const endDate = password.props.endDate;
  const end = typeof endDate === "string" ? Date.parse(endDate) : Number.NaN;
  if (Number.isNaN(end)) {
    return [
      `${describe(password)} must have an RFC 3339 endDate (found ${JSON.stringify(endDate) ?? "none"}): ` +
        `set endDate at most ${maxLifetimeDays} days after its startDate (a secret without one ` +
        "is valid for Entra's default and is not rotated by this stack).",
    ];
  }
  const violations: string[] = [];
  if (end - now > limitMs) {
    violations.push(
      `${describe(password)} stays valid until ${endDate}, ${days(end - now)} days from now; at ` +
        `most ${maxLifetimeDays} days are allowed: lower stack config secretLifetimeDays.`,
    );
  }
  const startDate = password.props.startDate;
  const start = typeof startDate === "string" ? Date.parse(startDate) : Number.NaN;
  if (!Number.isNaN(start) && end - start > limitMs) {
    violations.push(
      `${describe(password)} is valid for ${days(end - start)} days (${startDate} to ${endDate}); ` +
        `at most ${maxLifetimeDays} days are allowed: lower stack config secretLifetimeDays.`,
    );
  }
  return violations;
}
