import {
  unknownCheckingProxy,
  type Policies,
  type PolicyResource,
  type ResourceValidationArgs,
  type StackValidationArgs,
} from "@pulumi/policy";
import type { PolicySubject } from "../../policy/rules/resource";

/** One violation a policy reported, as the engine would show it. */
export interface Reported {
  readonly policy: string;
  readonly message: string;
  readonly urn?: string;
}

/** Per-policy config, as `--policy-pack-config` gives it (enforcementLevel aside). */
export type PackConfig = Readonly<Record<string, Record<string, unknown>>>;

function notApplicable(reason?: string): never {
  throw new Error(`notApplicable is not used by this pack (${reason ?? "no reason"})`);
}

const noResourceOptions = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
};

/**
 * Runs the pack's policies the way the analyzer server does (server.js in @pulumi/policy): each
 * resource policy once per resource, with its props behind the SDK's unknown-checking proxy, and
 * each stack policy once over all resources. `resources` are what resource policies see (the
 * inputs), `stack` what stack policies see (the state after the update).
 */
export async function runPolicies(
  policies: Policies,
  resources: readonly PolicySubject[],
  stack: readonly PolicySubject[] = resources,
  config: PackConfig = {},
): Promise<Reported[]> {
  const reported: Reported[] = [];
  for (const policy of policies) {
    const getConfig = <T extends object>() => (config[policy.name] ?? {}) as T;
    if ("validateResource" in policy && policy.validateResource) {
      const validations = Array.isArray(policy.validateResource)
        ? policy.validateResource
        : [policy.validateResource];
      for (const subject of resources) {
        const args = {
          type: subject.type,
          name: subject.name,
          urn: subject.urn ?? `urn:pulumi:test::test::${subject.type}::${subject.name}`,
          props: unknownCheckingProxy(subject.props),
          opts: noResourceOptions,
          stackTags: new Map(),
          isType: () => false,
          asType: () => undefined,
          getConfig,
          notApplicable,
        } as unknown as ResourceValidationArgs;
        for (const validate of validations) {
          await validate(args, (message, urn) =>
            reported.push({ policy: policy.name, message, urn: urn ?? args.urn }),
          );
        }
      }
    }
    if ("validateStack" in policy) {
      const byUrn = new Map<string, PolicyResource>();
      const all = stack.map((subject) => {
        const resource = {
          type: subject.type,
          name: subject.name,
          urn: subject.urn ?? `urn:pulumi:test::test::${subject.type}::${subject.name}`,
          props: unknownCheckingProxy(subject.props),
          opts: { ...noResourceOptions, protect: subject.protect ?? false },
          dependencies: [],
          propertyDependencies: {} as Record<string, PolicyResource[]>,
          isType: () => false,
          asType: () => undefined,
        } as unknown as PolicyResource;
        byUrn.set(resource.urn, resource);
        return { resource, subject };
      });
      for (const { resource, subject } of all) {
        for (const [key, urns] of Object.entries(subject.propertyDependencies ?? {})) {
          resource.propertyDependencies[key] = urns.flatMap((u) => byUrn.get(u) ?? []);
        }
      }
      const args: StackValidationArgs = {
        resources: all.map((r) => r.resource),
        stackTags: new Map(),
        getConfig,
        notApplicable,
      };
      await policy.validateStack(args, (message, urn) =>
        reported.push({ policy: policy.name, message, urn }),
      );
    }
  }
  return reported;
}
