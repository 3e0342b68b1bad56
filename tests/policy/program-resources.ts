import * as https from "node:https";
import { vi } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import type { PolicySubject } from "../../policy/rules/resource";
import { ProgramMocks, isSerialisedSecret, settle, type RecordedResource } from "../pulumi/mocks";
import { PROJECT } from "../pulumi/stack-files";
import { startFakeAcr, type FakeAcr } from "../pulumi/fake-acr";

/**
 * The program logs in to the registry it creates during `up`, so like tests/pulumi/program.test.ts
 * the mocks point every registry at a local HTTPS fake whose CA the default agent trusts while
 * the file's tests run.
 */
export interface TrustedFakeAcr {
  readonly acr: FakeAcr;
  stop(): Promise<void>;
}

export async function startTrustedFakeAcr(): Promise<TrustedFakeAcr> {
  const acr = await startFakeAcr();
  const defaultCa = https.globalAgent.options.ca;
  https.globalAgent.options.ca = acr.caCertPem;
  return {
    acr,
    async stop() {
      https.globalAgent.options.ca = defaultCa;
      await acr.stop();
    },
  };
}

/** Runs a fresh copy of the program under mocks (mocks first, then config, then the import). */
export async function recordProgram(
  stack: string,
  config: Record<string, string>,
  acr: FakeAcr,
): Promise<ProgramMocks> {
  const mocks = new ProgramMocks({ registryLoginServer: acr.loginServer });
  await pulumi.runtime.setMocks(mocks, PROJECT, stack, false);
  mocks.recordOptions();
  pulumi.runtime.setAllConfig(config);
  vi.resetModules();
  await import("../../index");
  await settle();
  return mocks;
}

/** A value as the policy engine hands it to a policy: secrets unwrapped, all the way down. */
export function revealed(value: unknown): any {
  if (isSerialisedSecret(value)) return revealed(value.value);
  if (Array.isArray(value)) return value.map(revealed);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revealed(v)]));
  }
  return value;
}

/**
 * The recorded custom resources as policies see them. A resource policy sees the inputs the
 * program registers; a stack policy sees the resources after the update, whose closest
 * stand-in under mocks is the recorded state (inputs merged with the mocks' outputs). The
 * URN is the one the engine would give a top-level resource; stack rules only use it as a key.
 */
export function subjectsOf(
  mocks: ProgramMocks,
  view: "inputs" | "state",
  stack: string,
): PolicySubject[] {
  return mocks.resources
    .filter((r: RecordedResource) => r.custom && !r.type.startsWith("pulumi:providers:"))
    .map((r) => ({
      type: r.type,
      name: r.name,
      props: revealed(view === "inputs" ? r.inputs : r.state),
      urn: `urn:pulumi:${stack}::${PROJECT}::${r.type}::${r.name}`,
      protect: mocks.optionsOf(r.name).protect,
    }));
}
