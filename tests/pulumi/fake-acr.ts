import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { makeCertificates } from "../../emulator/tls";

/** One request the fake registry received, its form body decoded. */
export interface ExchangeCall {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | undefined;
  readonly form: Record<string, string>;
}

/** What the fake registry answers to one request. */
export interface FakeAnswer {
  readonly status: number;
  readonly body: string;
}

/** Decides the answer to a call; `calls` already includes it. */
export type Responder = (call: ExchangeCall, calls: readonly ExchangeCall[]) => FakeAnswer;

export interface FakeAcr {
  /** `127.0.0.1:PORT`, used as the registry's login server. */
  readonly loginServer: string;
  readonly caCertPem: string;
  /** An agent that trusts the fake's CA. */
  readonly agent: https.Agent;
  readonly calls: ExchangeCall[];
  /** Replaces the answer policy (default: a refresh token derived from the request). */
  respond(responder: Responder): void;
  stop(): Promise<void>;
}

/** The refresh token the default responder issues, so tests can tell which request earned it. */
export function refreshTokenFor(form: Record<string, string>): string {
  return `acr-refresh-for-${form.service}-${form.tenant}`;
}

const issueRefreshToken: Responder = (call) =>
  call.path === "/oauth2/exchange" && call.form.grant_type === "access_token"
    ? { status: 200, body: JSON.stringify({ refresh_token: refreshTokenFor(call.form) }) }
    : { status: 404, body: JSON.stringify({ errors: [{ code: "NOT_FOUND" }] }) };

/**
 * A local HTTPS stand-in for a registry's `/oauth2/exchange` endpoint, on a loopback port with a
 * throwaway CA, so the exchange is exercised over a real TLS socket without any network.
 */
export async function startFakeAcr(): Promise<FakeAcr> {
  const certs = await makeCertificates();
  const calls: ExchangeCall[] = [];
  let responder = issueRefreshToken;
  const server = https.createServer({ cert: certs.certPem, key: certs.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const call: ExchangeCall = {
        method: req.method ?? "",
        path: req.url ?? "",
        contentType: req.headers["content-type"],
        form: Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString())),
      };
      calls.push(call);
      const answer = responder(call, calls);
      res.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new https.Agent({ ca: certs.caCertPem });
  return {
    loginServer: `127.0.0.1:${port}`,
    caCertPem: certs.caCertPem,
    agent,
    calls,
    respond(next) {
      responder = next;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        agent.destroy();
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
