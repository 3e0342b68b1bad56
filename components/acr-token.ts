import * as https from "node:https";

/**
 * The Docker user name that tells Azure Container Registry the password is a refresh token
 * obtained from an Entra token (what `az acr login --expose-token` prints), not an admin user.
 */
export const ACR_REFRESH_TOKEN_USERNAME = "00000000-0000-0000-0000-000000000000";

/** What the registry needs to swap an Entra access token for its own refresh token. */
export interface AcrTokenExchangeRequest {
  /** Registry login server, host[:port] without scheme, e.g. `crdev1a2b3c4d.azurecr.io`. */
  readonly loginServer: string;
  /** Entra tenant that issued the access token. */
  readonly tenantId: string;
  /** Entra access token of the deployer for the registry's audience (or ARM's). Never logged. */
  readonly accessToken: string;
}

export interface AcrTokenExchangeOptions {
  /**
   * HTTPS agent. Default: Node's global agent (public CAs). Tests pass one that trusts their
   * local CA; the scheme stays https either way.
   */
  readonly agent?: https.Agent;
  /** Time allowed for one request. Default: 30 s. */
  readonly timeoutMs?: number;
  /**
   * Waits before each retry of an unreachable registry or a 429/5xx answer; its length bounds
   * the retries. Default: 2 s, 5 s, 10 s (a registry created seconds ago may not answer yet).
   */
  readonly retryDelaysMs?: readonly number[];
}

/** The exchange failed; the message says what to do and never contains a token. */
export class AcrTokenExchangeError extends Error {
  constructor(
    message: string,
    readonly loginServer: string,
    /** HTTP status of the registry's last answer, if it answered. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "AcrTokenExchangeError";
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRY_DELAYS_MS = [2_000, 5_000, 10_000] as const;
const LOGIN_SERVER = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$/i;

interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

function post(
  url: URL,
  form: string,
  agent: https.Agent | undefined,
  timeoutMs: number,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      url,
      {
        method: "POST",
        agent,
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "content-length": Buffer.byteLength(form),
          accept: "application/json",
        },
        timeout: timeoutMs,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
        response.on("error", reject);
      },
    );
    request.on("timeout", () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on("error", reject);
    request.end(form);
  });
}

/** The registry's own error text (`{"errors":[{"code","message"}]}`), short and token-free. */
function registryDetail(body: string, accessToken: string): string {
  let detail = body;
  try {
    const parsed = JSON.parse(body) as { errors?: { code?: string; message?: string }[] };
    const first = parsed.errors?.[0];
    if (first) detail = [first.code, first.message].filter(Boolean).join(": ");
  } catch {
    // Not JSON: the raw text (shortened below) is the best detail there is.
  }
  detail = detail.split(accessToken).join("[token]").replace(/\s+/g, " ").trim();
  return detail.length > 200 ? `${detail.slice(0, 200)}…` : detail;
}

function isRetryable(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * Swaps an Entra access token for an ACR refresh token (`POST https://{loginServer}/oauth2/exchange`,
 * the call `az acr login` makes), so a push can authenticate with the deployer's identity while
 * the registry's admin user stays off. Unreachable registries and 429/5xx answers are retried
 * a bounded number of times; a refusal is reported at once with what to check.
 */
export async function exchangeForAcrRefreshToken(
  request: AcrTokenExchangeRequest,
  options: AcrTokenExchangeOptions = {},
): Promise<string> {
  const { loginServer, tenantId, accessToken } = request;
  if (!LOGIN_SERVER.test(loginServer)) {
    throw new AcrTokenExchangeError(
      `Not a registry login server: ${JSON.stringify(loginServer)}. Expected host[:port] without scheme, e.g. myregistry.azurecr.io.`,
      loginServer,
    );
  }
  if (tenantId.trim() === "" || accessToken.trim() === "") {
    throw new AcrTokenExchangeError(
      `Cannot log in to registry ${loginServer}: the azure-native provider returned no ${tenantId.trim() === "" ? "tenant id" : "access token"}. Sign in again with \`az login\` (or check the ARM_* credentials of the pipeline).`,
      loginServer,
    );
  }

  const url = new URL(`https://${loginServer}/oauth2/exchange`);
  const form = new URLSearchParams({
    grant_type: "access_token",
    service: loginServer,
    tenant: tenantId,
    access_token: accessToken,
  }).toString();
  const delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const attempts = delays.length + 1;

  let last: { status?: number; detail: string; cause?: unknown } = { detail: "" };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, delays[attempt - 2]));
    let answer: HttpAnswer;
    try {
      answer = await post(url, form, options.agent, timeoutMs);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      last = { detail: reason.split(accessToken).join("[token]"), cause: error };
      continue;
    }

    if (answer.status === 200) {
      let refreshToken: unknown;
      try {
        refreshToken = (JSON.parse(answer.body) as { refresh_token?: unknown }).refresh_token;
      } catch {
        refreshToken = undefined;
      }
      if (typeof refreshToken === "string" && refreshToken !== "") return refreshToken;
      throw new AcrTokenExchangeError(
        `Registry ${loginServer} answered the token exchange without a refresh_token. Check that ${loginServer} is an Azure Container Registry login server, then run \`pulumi up\` again.`,
        loginServer,
        200,
      );
    }

    const detail = registryDetail(answer.body, accessToken);
    if (answer.status === 401 || answer.status === 403) {
      throw new AcrTokenExchangeError(
        `Registry ${loginServer} refused the deployer's Entra token (HTTP ${answer.status}${detail ? `: ${detail}` : ""}). ` +
          `Check that the azure-native provider signs in to the registry's tenant ${tenantId} (\`az account show\`), ` +
          `that the registry accepts Azure Resource Manager tokens (\`az acr config authentication-as-arm show -r <registry>\` must say enabled), ` +
          `and, for the push that follows, that the deployer holds Owner, Contributor or AcrPush on the registry ` +
          `(Container Registry Repository Writer if it uses ABAC repository permissions); or set \`syncImage\` to run a prebuilt image instead.`,
        loginServer,
        answer.status,
      );
    }
    if (!isRetryable(answer.status)) {
      throw new AcrTokenExchangeError(
        `Registry ${loginServer} rejected the token exchange (HTTP ${answer.status}${detail ? `: ${detail}` : ""}). Run \`pulumi up\` again; if it persists, set \`syncImage\` to run a prebuilt image instead.`,
        loginServer,
        answer.status,
      );
    }
    last = { status: answer.status, detail: `HTTP ${answer.status}${detail ? `: ${detail}` : ""}` };
  }

  throw new AcrTokenExchangeError(
    `Could not log in to registry ${loginServer} after ${attempts} attempts (${last.detail}). Check the network path to ${loginServer} (firewall, proxy, DNS) and run \`pulumi up\` again.`,
    loginServer,
    last.status,
    { cause: last.cause },
  );
}
