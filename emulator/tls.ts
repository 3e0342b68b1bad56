/**
 * A throwaway certificate authority and a server certificate for 127.0.0.1/localhost, made when
 * the process first needs them (no files committed, no openssl binary). Clients trust the CA, not
 * the leaf: a leaf that is its own trust anchor is rejected by some TLS stacks.
 */
import { generate } from "selfsigned";

export interface EmulatorCertificates {
  caCertPem: string;
  certPem: string;
  keyPem: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const VALID_MS = 30 * DAY_MS;
/** Valid from an hour before they are made, for a client whose clock is a little behind. */
const EARLY_MS = 60 * 60 * 1000;

let made: { certificates: Promise<EmulatorCertificates>; atMs: number } | undefined;

/**
 * The process's pair: every emulator of a process listens on 127.0.0.1 and serves the same one,
 * so a test worker that starts twenty emulators signs two certificates, not forty (a thirtieth
 * of a second of CPU each). Made again a day before it would expire, for a process that runs for
 * weeks, or when the clock is set back before it was valid.
 */
export function makeCertificates(): Promise<EmulatorCertificates> {
  const now = Date.now();
  if (!made || now < made.atMs - EARLY_MS || now >= made.atMs + VALID_MS - DAY_MS) {
    const certificates = generatePair(now);
    made = { certificates, atMs: now };
    // A failure is not kept: the next emulator tries again.
    certificates.catch(() => {
      if (made?.certificates === certificates) made = undefined;
    });
  }
  return made.certificates;
}

async function generatePair(nowMs: number): Promise<EmulatorCertificates> {
  const notBeforeDate = new Date(nowMs - EARLY_MS);
  const notAfterDate = new Date(nowMs + VALID_MS);
  const ca = await generate([{ name: "commonName", value: "coe-audit-sync emulator CA" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      {
        name: "keyUsage",
        keyCertSign: true,
        cRLSign: true,
        digitalSignature: true,
        critical: true,
      },
    ],
  });
  const leaf = await generate([{ name: "commonName", value: "localhost" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate,
    notAfterDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 7, ip: "127.0.0.1" },
          { type: 2, value: "localhost" },
        ],
      },
    ],
  });
  return { caCertPem: ca.cert, certPem: leaf.cert, keyPem: leaf.private };
}
