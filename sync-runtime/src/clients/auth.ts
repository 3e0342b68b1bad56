import { ConfidentialClientApplication, LogLevel } from "@azure/msal-node";
import { AuthError } from "../core/errors";
import type { HttpClient } from "./http/client";
import { msalNetworkModule } from "./http/msal-network";

export interface TokenProvider {
  /**
   * A valid access token; `fresh` bypasses the cache (after the API refused the cached one).
   * `signal` abandons the wait (and its retries) for this caller.
   */
  getToken(options?: { fresh?: boolean; signal?: AbortSignal }): Promise<string>;
}

export interface AuthSettings {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  authority: string;
  audience: string;
}

/** OAuth error codes that mean the credentials or request are wrong: retrying cannot help. */
const PERMANENT = new Set([
  "invalid_client",
  "invalid_request",
  "unauthorized_client",
  "invalid_scope",
  "invalid_grant",
  "invalid_tenant",
]);

/**
 * Entra errors that mean the configuration is wrong (bad or expired secret, unknown app or
 * tenant, wrong resource). Anything else, e.g. AADSTS90033 "transient error", is retried.
 */
const PERMANENT_AADSTS = new Set([
  "7000215", // invalid client secret (often the secret id pasted instead of the value)
  "7000222", // client secret expired
  "700016", // application not found in the tenant
  "90002", // tenant not found
  "900023", // invalid tenant identifier
  "70011", // invalid scope
  "500011", // resource principal not found (wrong audience for the cloud)
  "700024", // client assertion not valid
]);

/**
 * msal-node serves a cached token only while more than this many seconds of it remain, and
 * fetches a new one otherwise (msal's DEFAULT_TOKEN_RENEWAL_OFFSET_SEC; msal-node 7 does not let
 * confidential clients change it). So a token presented to the API is valid for at least 5 more
 * minutes, longer than any single request waits before it is sent. Entra tokens live 60-90 min;
 * a token lifetime under 5 min would mean a token request per API call (still never an expired one).
 */
export const TOKEN_RENEWAL_MARGIN_SECONDS = 300;

/**
 * Client credentials through msal-node. The authority host goes into `knownAuthorities`, so msal
 * trusts it without Microsoft's instance discovery: that is what makes sovereign clouds and the
 * local emulator work with the same code. msal caches the token and renews it
 * TOKEN_RENEWAL_MARGIN_SECONDS before it expires; concurrent callers share one in-flight request.
 */
export function createTokenProvider(settings: AuthSettings, http: HttpClient): TokenProvider {
  const authority = `${settings.authority}/${settings.tenantId}`;
  const app = new ConfidentialClientApplication({
    auth: {
      clientId: settings.clientId,
      clientSecret: settings.clientSecret,
      authority,
      knownAuthorities: [new URL(settings.authority).host],
    },
    system: {
      networkClient: msalNetworkModule(http),
      loggerOptions: {
        logLevel: LogLevel.Error,
        piiLoggingEnabled: false,
        loggerCallback: () => {},
      },
    },
  });
  const scopes = [`${settings.audience}/.default`];
  let inFlight: Promise<string> | undefined;

  const acquire = async (fresh: boolean): Promise<string> => {
    try {
      const result = await app.acquireTokenByClientCredential({ scopes, skipCache: fresh });
      if (!result?.accessToken) throw new Error("the token endpoint returned no access token");
      return result.accessToken;
    } catch (cause) {
      const code = (cause as { errorCode?: string }).errorCode ?? "";
      const status = (cause as { status?: number }).status;
      const message = cause instanceof Error ? cause.message : String(cause);
      // Outages (5xx, 429, "temporarily_unavailable", no answer at all) are worth a retry;
      // a refusal of the credentials or the request is not.
      const outage =
        (status !== undefined && (status >= 500 || status === 429)) ||
        code === "temporarily_unavailable" ||
        code === "service_unavailable";
      const aadsts = /AADSTS(\d+)/.exec(message)?.[1];
      const permanent =
        !outage && (PERMANENT.has(code) || (aadsts !== undefined && PERMANENT_AADSTS.has(aadsts)));
      throw new AuthError(
        `Could not get a token from ${authority} for ${settings.audience} (${code || "error"}: ${firstLine(message)}). ` +
          (permanent
            ? "Check AUDIT_TENANT_ID, AUDIT_CLIENT_ID and AUDIT_CLIENT_SECRET (the secret VALUE; it may have expired), and that AUDIT_AUTHORITY/AUDIT_AUDIENCE match the tenant's cloud."
            : "The token endpoint may be unreachable; it is retried."),
        { cause, transient: !permanent },
      );
    }
  };

  return {
    // A shared in-flight request follows the signal of the caller that started it; in the
    // runtime every caller of one pass carries the same signal.
    getToken({ fresh = false, signal } = {}) {
      if (fresh || !inFlight) {
        const attempt = http.retrying("token", () => acquire(fresh), {
          retryable: (err) => err instanceof AuthError && err.transient,
          signal,
        });
        inFlight = attempt;
        // Forget failures and let msal's own cache decide next time whether to call the endpoint.
        attempt.then(
          () => {
            if (inFlight === attempt) inFlight = undefined;
          },
          () => {
            if (inFlight === attempt) inFlight = undefined;
          },
        );
        return attempt;
      }
      return inFlight;
    },
  };
}

function firstLine(s: string): string {
  return s.split("\n")[0].slice(0, 300);
}
