import { describe, type PolicySubject } from "./resource";

export const CONTAINER_APP_TYPE = "azure-native:app:ContainerApp";
/** An image reference pinned to a content digest: `…@sha256:` and 64 hex digits. */
export const PINNED_IMAGE = /@sha256:[0-9a-f]{64}$/;

/** No ingress reachable from outside the environment (the runtime serves only its probes). */
export function checkIngress(app: PolicySubject): string[] {
  if (app.type !== CONTAINER_APP_TYPE) return [];
  const ingress = app.props.configuration?.ingress;
  if (ingress === undefined || ingress === null || ingress.external !== true) return [];
  return [
    `${describe(app)} must not accept traffic from outside its environment: remove ` +
      "configuration.ingress (the runtime needs none; probes reach the port directly) or set " +
      "its external to false.",
  ];
}

/** At most one replica: the runtime is the single writer of its checkpoints. */
export function checkScale(app: PolicySubject): string[] {
  if (app.type !== CONTAINER_APP_TYPE) return [];
  const scale = app.props.template?.scale;
  const maxReplicas = scale?.maxReplicas;
  const minReplicas = scale?.minReplicas;
  const violations: string[] = [];
  if (maxReplicas !== 1) {
    violations.push(
      `${describe(app)} must run at most one replica: set template.scale.maxReplicas to 1 ` +
        `(found ${maxReplicas ?? "nothing, and Azure's default is 10"}); two replicas would both ` +
        "write the checkpoints.",
    );
  }
  if (minReplicas !== undefined && minReplicas !== null && !(minReplicas <= 1)) {
    violations.push(
      `${describe(app)} must not keep more than one replica: set template.scale.minReplicas to ` +
        `1 or 0 (found ${minReplicas}).`,
    );
  }
  return violations;
}

/** Every container and init container runs an image pinned by digest. */
export function checkImages(app: PolicySubject): string[] {
  if (app.type !== CONTAINER_APP_TYPE) return [];
  const template = app.props.template;
  const containers = [
    ...(Array.isArray(template?.initContainers) ? template.initContainers : []),
    ...(Array.isArray(template?.containers) ? template.containers : []),
  ];
  return containers
    .filter((container) => {
      const image = container?.image;
      return typeof image !== "string" || !PINNED_IMAGE.test(image);
    })
    .map(
      (container) =>
        `${describe(app)} container "${container?.name ?? "?"}" must run an image pinned by ` +
        `digest (found ${JSON.stringify(container?.image) ?? "no image"}): use the reference ` +
        "with @sha256:<64 hex digits>, e.g. docker-build Image's `ref`, or a prebuilt " +
        "registry/name@sha256:… in syncImage.",
    );
}

/**
 * The sync runtime is a single writer with no inbound traffic: no external ingress, at most one
 * replica, and images pinned by digest so a revision runs exactly the image that was built.
 * The policy runs the three checks separately, so a value unknown during preview (the digest
 * of an image still to be built) defers only its own check.
 */
export const CONTAINER_APP_CHECKS = [checkIngress, checkScale, checkImages] as const;

export function checkContainerApp(app: PolicySubject): string[] {
  return CONTAINER_APP_CHECKS.flatMap((check) => check(app));
}
