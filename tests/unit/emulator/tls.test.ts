import { X509Certificate } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { makeCertificates } from "../../../emulator/tls";

describe("the emulators' certificates", () => {
  afterEach(() => vi.useRealTimers());

  it("are made once per process: every emulator serves the same CA and leaf", async () => {
    const [a, b] = await Promise.all([makeCertificates(), makeCertificates()]);
    expect(await makeCertificates()).toBe(a);
    expect(b).toBe(a);
    const leaf = new X509Certificate(a.certPem);
    expect(leaf.checkIssued(new X509Certificate(a.caCertPem))).toBe(true);
    expect(leaf.checkIP("127.0.0.1")).toBe("127.0.0.1");
  });

  it("are made again a day before they expire, valid for 30 days from then", async () => {
    const first = await makeCertificates();
    const validTo = Date.parse(new X509Certificate(first.certPem).validTo);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(validTo - 2 * 24 * 3600_000);
    expect(await makeCertificates()).toBe(first);
    vi.setSystemTime(validTo - 12 * 3600_000);
    const renewed = await makeCertificates();
    expect(renewed).not.toBe(first);
    const renewedTo = Date.parse(new X509Certificate(renewed.certPem).validTo);
    expect(renewedTo - Date.now()).toBeGreaterThan(29 * 24 * 3600_000);

    // The clock set back before the renewed pair was valid (as here, for the next test file).
    vi.useRealTimers();
    const now = await makeCertificates();
    expect(now).not.toBe(renewed);
    expect(Date.parse(new X509Certificate(now.certPem).validFrom)).toBeLessThanOrEqual(Date.now());
  });
});
