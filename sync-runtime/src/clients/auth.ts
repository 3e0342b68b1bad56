import { ManagedIdentityCredential } from "@azure/identity";
import { ConfidentialClientApplication, LogLevel } from "@azure/msal-node";
import { AuthError } from "../core/errors";
import type { HttpClient } from "./http/client";
import type { RetryPolicy } from "./http/retry";
import { msalNetworkModule } from "./http/msal-network";

export interface TokenProvider {
  /**
   * A valid access token; `fresh` bypasses the cache (after the API refused the cached one).
   * `signal` abandons the wait (and its retries) for this caller.
   */
  getToken(options?: { fresh?: boolean; signal?: AbortSignal }): Promise<string>;
}

/**
 * How the runtime proves it is the app: the client secret, or a token of a user-assigned managed
 * identity that the app trusts through a federated identity credential (issuer: Entra of the
 * identity's tenant, subject: the identity's principal id, audience: `audience`).
 */
export type ClientCredential =
  | { kind: "secret"; secret: string }
  | { kind: "federated"; identityClientId: string; audience: string };

export interface AuthSettings {
  tenantId: string;
  clientId: string;
  credential: ClientCredential;
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
  "700024", // client assertion not within its valid time range
  "700027", // client assertion failed signature validation
  "700211", // no federated identity credential with the assertion's issuer
  "700212", // no federated identity credential with the assertion's audience
  "700213", // no federated identity credential with the assertion's subject
]);

/**
 * AADSTS70021, "no matching federated identity record": also what Entra answers while a federated
 * identity credential created moments ago has not propagated yet (learn.microsoft.com, "Configure
 * an application to trust a managed identity"). A runtime started by the same `pulumi up` that
 * created the credential meets it first, so it is retried, longer than an outage (see below).
 */
const FEDERATED_PENDING = "70021";

/**
 * The wait for propagation: starting at 10 times the HTTP policy's first delay, capped by its
 * longest delay, 10 retries. With the defaults that is at most about 7 minutes (full jitter makes
 * it shorter on average); a credential still unknown then is missing, and the error says so.
 */
function propagationPolicy(http: HttpClient): Partial<RetryPolicy> {
  return { maxRetries: 10, minDelayMs: http.policy.minDelayMs * 10, factor: 2 };
}

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
 *
 * With the federated credential, msal asks `clientAssertion` for the assertion whenever it needs
 * a new token: a managed-identity token for `{audience}/.default` from @azure/identity, which
 * caches it too (Container Apps serve it at IDENTITY_ENDPOINT). The assertion is a bearer
 * credential: it only ever goes into the token request's body, never into a log line or error.
 */
export function createTokenProvider(settings: AuthSettings, http: HttpClient): TokenProvider {
  const authority = `${settings.authority}/${settings.tenantId}`;
  const credential = settings.credential;
  const app = new ConfidentialClientApplication({
    auth: {
      clientId: settings.clientId,
      ...(credential.kind === "secret"
        ? { clientSecret: credential.secret }
        : { clientAssertion: managedIdentityAssertion(credential, http) }),
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

  const acquire = async (fresh: boolean, signal: AbortSignal | undefined): Promise<string> => {
    try {
      // msal takes no signal: stopping abandons the wait (the request ends on its own timeout).
      const result = await untilAborted(
        app.acquireTokenByClientCredential({ scopes, skipCache: fresh }),
        signal,
      );
      if (!result?.accessToken) throw new Error("the token endpoint returned no access token");
      return result.accessToken;
    } catch (cause) {
      if (signal?.aborted) throw signal.reason ?? cause;
      // The managed identity's own failure, already explained.
      if (cause instanceof AuthError) throw cause;
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
      const pending = !outage && aadsts === FEDERATED_PENDING;
      throw new AuthError(
        `Could not get a token from ${authority} for ${settings.audience} (${code || "error"}: ${firstLine(message)}). ` +
          (pending || permanent
            ? whatToCheck(settings, aadsts)
            : "The token endpoint may be unreachable; it is retried."),
        { cause, transient: !permanent && !pending, aadsts },
      );
    }
  };

  return {
    // A shared in-flight request follows the signal of the caller that started it; in the
    // runtime every caller of one pass carries the same signal.
    getToken({ fresh = false, signal } = {}) {
      if (fresh || !inFlight) {
        const attempt = http.retrying(
          "token: federated identity credential not propagated yet",
          () =>
            http.retrying("token", () => acquire(fresh, signal), {
              retryable: (err) => err instanceof AuthError && err.transient,
              signal,
            }),
          {
            retryable: (err) => err instanceof AuthError && err.aadsts === FEDERATED_PENDING,
            policy: propagationPolicy(http),
            signal,
          },
        );
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

/**
 * msal's client assertion callback for the federated credential: the managed identity's token
 * for the token exchange audience. A failure here is not Entra refusing the app but the
 * identity being unavailable; its error says what to check.
 */
function managedIdentityAssertion(
  credential: Extract<ClientCredential, { kind: "federated" }>,
  http: HttpClient,
): () => Promise<string> {
  const identity = new ManagedIdentityCredential({ clientId: credential.identityClientId });
  const scope = `${credential.audience}/.default`;
  return async () => {
    // @azure/identity's managed identity path takes no signal either; bound it like a request.
    const timeout = AbortSignal.timeout(http.timeoutMs);
    try {
      const token = await untilAborted(identity.getToken(scope), timeout);
      return token.token;
    } catch (cause) {
      throw new AuthError(
        `Could not get a managed-identity token of AZURE_CLIENT_ID=${credential.identityClientId} for ${credential.audience} (${timeout.aborted ? `no answer in ${http.timeoutMs} ms` : firstLine(cause instanceof Error ? cause.message : String(cause))}). ` +
          "AUDIT_CREDENTIAL=federated needs the runtime to run where Azure gives it that user-assigned identity (Container Apps set IDENTITY_ENDPOINT and IDENTITY_HEADER when the identity is assigned to the app; `pulumi up` assigns it). Elsewhere set AUDIT_CREDENTIAL=secret with AUDIT_CLIENT_SECRET.",
        { cause, transient: timeout.aborted },
      );
    }
  };
}

/** What to check for a refused token request, by the credential in use and Entra's code. */
function whatToCheck(settings: AuthSettings, aadsts: string | undefined): string {
  const credential = settings.credential;
  if (credential.kind === "secret")
    return "Check AUDIT_TENANT_ID, AUDIT_CLIENT_ID and AUDIT_CLIENT_SECRET (the secret VALUE; it may have expired), and that AUDIT_AUTHORITY/AUDIT_AUDIENCE match the tenant's cloud.";
  const app = `app ${settings.clientId}`;
  const identity = `the managed identity AZURE_CLIENT_ID=${credential.identityClientId}`;
  const fix =
    "Run `pulumi up` with the stack config `runtimeCredential: federated` (it creates the credential from the identity and the cloud profile), or set AUDIT_CREDENTIAL=secret.";
  switch (aadsts) {
    case FEDERATED_PENDING:
      return `No federated identity credential of ${app} matches ${identity} (issuer: the tenant's Entra v2.0 issuer; subject: the identity's principal id; audience: ${credential.audience}). One created moments ago takes a few minutes to propagate and is waited for; if it never appears it is missing. ${fix}`;
    case "700211":
      return `The federated identity credentials of ${app} trust another issuer than the one of ${identity}: the issuer must be https://login.microsoftonline.com/${settings.tenantId}/v2.0 (login.microsoftonline.us in Azure Government). ${fix}`;
    case "700212":
      return `No federated identity credential of ${app} has the audience ${credential.audience} that the runtime asked for: AUDIT_FEDERATED_AUDIENCE must equal the credential's audience (api://AzureADTokenExchange; Azure Government api://AzureADTokenExchangeUSGov). ${fix}`;
    case "700213":
      return `No federated identity credential of ${app} has as subject the principal (object) id of ${identity}: check that AZURE_CLIENT_ID names the identity the credential trusts. ${fix}`;
    case "700024":
    case "700027":
      return `Entra refused the token of ${identity} as client assertion (expired or not signed by Entra): check the clocks, and that the identity's token endpoint is Azure's (IDENTITY_ENDPOINT). ${fix}`;
    default:
      return `Check AUDIT_TENANT_ID, AUDIT_CLIENT_ID, that ${app} has a federated identity credential for ${identity}, and that AUDIT_AUTHORITY/AUDIT_AUDIENCE match the tenant's cloud. ${fix}`;
  }
}

/** The promise's outcome, or the signal's reason as soon as it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

function firstLine(s: string): string {
  return s.split("\n")[0].slice(0, 300);
}
