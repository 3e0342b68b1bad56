/**
 * Access tokens: JWTs signed with a per-run HMAC key. Only the emulator validates them; clients
 * treat them as opaque, as they must with real Entra tokens. Expiry is real time (clients cache
 * tokens by their own real clock), independent of the simulated audit clock.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const ACTIVITY_FEED_READ = "ActivityFeed.Read";
/** Microsoft Graph's application permission for every workload's audit records ("All Audit Logs"). */
export const AUDIT_LOGS_QUERY_READ_ALL = "AuditLogsQuery.Read.All";
/** Microsoft Graph's application permission to read every user's full profile. */
export const USER_READ_ALL = "User.Read.All";

export interface TokenClaims {
  aud: string;
  iss: string;
  tid: string;
  appid: string;
  roles: string[];
  iat: number;
  nbf: number;
  exp: number;
  /** "1.0" for app tokens; "2.0" for managed-identity tokens (v2.0 issuer). */
  ver: "1.0" | "2.0";
  oid: string;
  sub: string;
}

export class TokenSigner {
  private key: Buffer = randomBytes(32);
  /** Keys of revoked tokens: still recognised, so a revoked token is told apart from a forged one. */
  private readonly revokedKeys: Buffer[] = [];
  private readonly signed: string[] = [];

  sign(claims: TokenClaims): string {
    const header = b64url(JSON.stringify({ typ: "JWT", alg: "HS256", kid: "emulator" }));
    const payload = b64url(JSON.stringify(claims));
    const token = `${header}.${payload}.${this.mac(`${header}.${payload}`)}`;
    this.signed.push(token);
    return token;
  }

  /** Every token signed so far (a test looks for them where they must never be). */
  issued(): string[] {
    return [...this.signed];
  }

  /** The claims of a token this emulator signed, or null with the reason it is not acceptable. */
  verify(token: string): { claims: TokenClaims } | { reason: string } {
    const parts = token.split(".");
    if (parts.length !== 3) return { reason: "The access token is malformed." };
    if (!this.signedWith(this.key, parts))
      return this.revokedKeys.some((key) => this.signedWith(key, parts))
        ? { reason: "The access token has been revoked." }
        : { reason: "The access token signature is invalid." };
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8")) as TokenClaims;
    } catch {
      return { reason: "The access token is malformed." };
    }
    const nowSec = Math.floor(Date.now() / 1000);
    if (typeof claims.exp !== "number" || claims.exp <= nowSec)
      return { reason: "The access token has expired." };
    if (typeof claims.nbf === "number" && claims.nbf > nowSec + 300)
      return { reason: "The access token is not yet valid." };
    return { claims };
  }

  /**
   * Revokes every token signed so far (a new signing key from now on): they answer 401 with
   * "revoked", tokens issued afterwards work.
   */
  revokeAll(): void {
    this.revokedKeys.push(this.key);
    this.key = randomBytes(32);
  }

  /** Whether this emulator signed the token, revoked or expired or not (what a leak check needs). */
  issuedHere(token: string): boolean {
    const parts = token.split(".");
    return (
      parts.length === 3 &&
      [this.key, ...this.revokedKeys].some((key) => this.signedWith(key, parts))
    );
  }

  private signedWith(key: Buffer, parts: string[]): boolean {
    const expected = Buffer.from(this.mac(`${parts[0]}.${parts[1]}`, key));
    const given = Buffer.from(parts[2]);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  private mac(data: string, key = this.key): string {
    return createHmac("sha256", key).update(data).digest("base64url");
  }
}

function b64url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}

/** Audiences compare without a trailing slash, as Entra treats both spellings as one resource. */
export function sameAudience(a: string, b: string): boolean {
  return a.replace(/\/+$/, "").toLowerCase() === b.replace(/\/+$/, "").toLowerCase();
}
