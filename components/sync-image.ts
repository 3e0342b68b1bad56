import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as containerregistry from "@pulumi/azure-native/containerregistry";
import * as dockerBuild from "@pulumi/docker-build";
import { ACR_REFRESH_TOKEN_USERNAME, exchangeForAcrRefreshToken } from "./acr-token";
import { compactSlug, shortHash } from "./naming";

/** Build context (the repository root, as sync-runtime/Dockerfile expects) and Dockerfile. */
export const BUILD_CONTEXT = ".";
export const DOCKERFILE = "sync-runtime/Dockerfile";
export const IMAGE_REPOSITORY = "coe-audit-sync";

export interface SyncImageArgs {
  /** Resource group holding the registry. */
  readonly resourceGroupName: pulumi.Input<string>;
  /** Azure region. */
  readonly location: pulumi.Input<string>;
  /** Stack name, readable part of the registry name. */
  readonly stackName: string;
  /** Value that makes the registry name globally unique (the resource group's name). */
  readonly nameSeed: pulumi.Input<string>;
  /** Prebuilt image to run instead of building one. Default: build from sync-runtime/. */
  readonly prebuiltImage?: string;
  /** Tags for the registry, so `az acr list` can find it by stack. Default: none. */
  readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Entra audience of the token swapped for a registry token (the cloud profile's). */
  readonly registryAudience: string;
}

/** Registry name: `cr<stack><hash>`, letters and digits, at most 50. */
export function registryName(stackName: string, seed: string): string {
  return `cr${compactSlug(stackName, 30)}${shortHash(seed)}`;
}

/**
 * The image the Container App runs: either the configured prebuilt image, or one built from
 * the repository with BuildKit and pushed to a registry whose admin user stays off. The push
 * logs in as the deployer the way `az acr login` does, so it works in the same run that creates
 * the registry; the Container App pulls with its managed identity.
 */
export class SyncImage extends pulumi.ComponentResource {
  /** Image reference to run; pinned to a digest when built here. */
  public readonly imageRef: pulumi.Output<string>;
  /** Registry login server, or undefined for a prebuilt image. */
  public readonly registryServer: pulumi.Output<string | undefined>;
  /** Registry ARM id (scope of AcrPull), or undefined for a prebuilt image. */
  public readonly registryId: pulumi.Output<string | undefined>;
  /** Registry name, or undefined for a prebuilt image. */
  public readonly registryName: pulumi.Output<string | undefined>;

  constructor(name: string, args: SyncImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("coe-audit-sync:index:SyncImage", name, {}, opts);

    if (args.prebuiltImage !== undefined) {
      this.imageRef = pulumi.output(args.prebuiltImage);
      this.registryServer = pulumi.output(undefined);
      this.registryId = pulumi.output(undefined);
      this.registryName = pulumi.output(undefined);
    } else {
      const registry = new containerregistry.Registry(
        `${name}-registry`,
        {
          resourceGroupName: args.resourceGroupName,
          location: args.location,
          registryName: pulumi
            .output(args.nameSeed)
            .apply((seed) => registryName(args.stackName, seed)),
          sku: { name: "Basic" },
          adminUserEnabled: false,
          tags: args.tags,
        },
        { parent: this },
      );
      // The deployer's token for the registry's own audience (not Resource Manager's, which the
      // ARM-audience policy may disable), from the same provider (and so the same cloud and
      // sign-in) that created the registry, swapped for a registry refresh token. Previews skip
      // the exchange: a new registry has no login server yet, and docker-build drops a registry
      // with an empty password during previews and ignores password changes in its diff.
      const accessToken = authorization.getClientTokenOutput(
        { endpoint: args.registryAudience },
        { parent: this },
      ).token;
      const tenantId = authorization.getClientConfigOutput({ parent: this }).tenantId;
      const refreshToken = pulumi
        .all([registry.loginServer, tenantId, pulumi.secret(accessToken)])
        .apply(([loginServer, tenant, token]) =>
          pulumi.runtime.isDryRun()
            ? ""
            : exchangeForAcrRefreshToken({ loginServer, tenantId: tenant, accessToken: token }),
        );
      const image = new dockerBuild.Image(
        `${name}-image`,
        {
          context: { location: BUILD_CONTEXT },
          dockerfile: { location: DOCKERFILE },
          platforms: ["linux/amd64"],
          push: true,
          tags: [pulumi.interpolate`${registry.loginServer}/${IMAGE_REPOSITORY}:latest`],
          registries: [
            {
              address: registry.loginServer,
              username: ACR_REFRESH_TOKEN_USERNAME,
              password: pulumi.secret(refreshToken),
            },
          ],
        },
        { parent: this },
      );
      // `ref` carries the digest, so a changed image yields a new Container App revision.
      this.imageRef = image.ref;
      this.registryServer = registry.loginServer;
      this.registryId = registry.id;
      this.registryName = registry.name;
    }

    this.registerOutputs({
      imageRef: this.imageRef,
      registryServer: this.registryServer,
      registryId: this.registryId,
      registryName: this.registryName,
    });
  }
}
