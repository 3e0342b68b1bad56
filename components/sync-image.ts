import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as authorization from "@pulumi/azure-native/authorization";
import * as containerregistry from "@pulumi/azure-native/containerregistry";
import * as dockerBuild from "@pulumi/docker-build";
import { registryHostOf, type ImageBuild } from "./config";
import { ACR_REFRESH_TOKEN_USERNAME, exchangeForAcrRefreshToken } from "./acr-token";
import { compactSlug, shortHash } from "./naming";

/** Build context (the repository root, as sync-runtime/Dockerfile expects) and Dockerfile. */
export const BUILD_CONTEXT = ".";
export const DOCKERFILE = "sync-runtime/Dockerfile";
export const IMAGE_REPOSITORY = "coe-audit-sync";
/** The repository root, where the build context starts (this file is in components/). */
export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * The files the image build reads, as sync-runtime/Dockerfile.dockerignore (and the root
 * .dockerignore, which `az acr build` reads) select them: the package files, tsconfig.json and
 * sync-runtime/ without nested node_modules. Paths relative to the root, `/`-separated, sorted.
 */
export function buildContextFiles(root: string): string[] {
  const files = ["package.json", "package-lock.json", "tsconfig.json"];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === "node_modules") continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) files.push(relative(root, path).split(sep).join("/"));
    }
  };
  walk(join(root, "sync-runtime"));
  return files.sort();
}

/**
 * A hash of the build context's paths and contents: the image is rebuilt exactly when it
 * changes, and its first 16 hex digits tag the image (the Container App runs it by digest).
 */
export function runtimeSourceHash(root: string): string {
  const hash = createHash("sha256");
  for (const file of buildContextFiles(root)) {
    hash
      .update(file)
      .update("\0")
      .update(readFileSync(join(root, file)))
      .update("\0");
  }
  return hash.digest("hex");
}

/** A registry digest as `az acr repository show --query digest` prints it. */
export function parseDigest(stdout: string, registry: string): string {
  const digest = stdout.trim();
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) {
    throw new Error(
      `The image build in registry ${registry} reported no digest (got ${JSON.stringify(digest.slice(0, 80))}). ` +
        "Check that the Azure CLI is signed in to the stack's cloud and subscription (`az cloud show`, `az account show`), then run `pulumi up` again; or set imageBuild to local (Docker) or syncImage to a prebuilt image.",
    );
  }
  return digest;
}

/**
 * The commands of an ACR build, the same in sh and cmd.exe: `az acr build` uploads the context
 * and builds in the registry (ACR Tasks: no Docker on this machine); its log goes to stderr
 * (`1>&2`) so that stdout carries only the digest the second command reads back.
 */
export function acrBuildCommand(options: {
  readonly registry: string;
  readonly resourceGroup: string;
  readonly subscriptionId?: string;
  readonly tag: string;
}): string {
  const subscription = options.subscriptionId ? ` --subscription ${options.subscriptionId}` : "";
  return (
    `az acr build --registry ${options.registry} --resource-group ${options.resourceGroup}${subscription} ` +
    `--image ${IMAGE_REPOSITORY}:${options.tag} --file ${DOCKERFILE} --platform linux/amd64 ${BUILD_CONTEXT} 1>&2 && ` +
    `az acr repository show --name ${options.registry}${subscription} ` +
    `--image ${IMAGE_REPOSITORY}:${options.tag} --query digest --output tsv`
  );
}

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
  /**
   * ARM id of the Azure Container Registry holding the prebuilt image, which the runtime's
   * identity pulls from (AcrPull). Default: none (a public image).
   */
  readonly prebuiltRegistryId?: string;
  /** Where to build when there is no prebuilt image. Default: acr. */
  readonly build?: ImageBuild;
  /** Subscription of the registry, for the Azure CLI. Default: the CLI's current one. */
  readonly subscriptionId?: string;
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
 * The image the Container App runs: the configured prebuilt image, or one built from the
 * repository into a registry whose admin user stays off: by default in the registry itself
 * (`az acr build`, ACR Tasks: only the Azure CLI here, no Docker), or with local BuildKit and a
 * push that logs in as the deployer the way `az acr login` does. The Container App pulls with
 * its managed identity.
 */
export class SyncImage extends pulumi.ComponentResource {
  /** Image reference to run; pinned to a digest when built here. */
  public readonly imageRef: pulumi.Output<string>;
  /**
   * The registry the runtime pulls from with its identity (login server, and ARM id as the scope
   * of AcrPull): the stack's own, or the one given for a prebuilt image; undefined for a public
   * prebuilt image.
   */
  public readonly pullRegistry:
    { readonly server: pulumi.Output<string>; readonly id: pulumi.Output<string> } | undefined;
  /** Name of the stack's registry, or undefined for a prebuilt image. */
  public readonly registryName: pulumi.Output<string | undefined>;

  constructor(name: string, args: SyncImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("coe-audit-sync:index:SyncImage", name, {}, opts);

    if (args.prebuiltImage !== undefined) {
      this.imageRef = pulumi.output(args.prebuiltImage);
      const server = registryHostOf(args.prebuiltImage);
      this.pullRegistry =
        args.prebuiltRegistryId !== undefined && server !== undefined
          ? { server: pulumi.output(server), id: pulumi.output(args.prebuiltRegistryId) }
          : undefined;
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
      this.imageRef =
        (args.build ?? "acr") === "acr"
          ? this.buildInRegistry(name, registry, args)
          : this.buildLocally(name, registry, args);
      this.pullRegistry = { server: registry.loginServer, id: registry.id };
      this.registryName = registry.name;
    }

    this.registerOutputs({
      imageRef: this.imageRef,
      pullRegistryServer: this.pullRegistry?.server,
      registryName: this.registryName,
    });
  }

  /**
   * `az acr build` through @pulumi/command, whose Create and Update return without running the
   * command during a preview (pulumi/pulumi-command, provider/pkg/provider/local/
   * commandController.go: "If in preview, don't run the command"), so a preview never builds.
   * `triggers` holds the source hash: the build runs again only when the sources change (or the
   * registry does). No `delete` command: its Delete then runs nothing, so destroy needs nothing
   * on this machine (the registry goes with its group).
   */
  private buildInRegistry(
    name: string,
    registry: containerregistry.Registry,
    args: SyncImageArgs,
  ): pulumi.Output<string> {
    const hash = runtimeSourceHash(REPO_ROOT);
    const build = new command.local.Command(
      `${name}-build`,
      {
        create: pulumi
          .all([registry.name, args.resourceGroupName])
          .apply(([registryName, resourceGroup]) =>
            acrBuildCommand({
              registry: registryName,
              resourceGroup,
              subscriptionId: args.subscriptionId,
              tag: hash.slice(0, 16),
            }),
          ),
        dir: REPO_ROOT,
        triggers: [hash],
      },
      { parent: this },
    );
    return pulumi
      .all([registry.loginServer, registry.name, build.stdout])
      .apply(
        ([server, registryName, stdout]) =>
          `${server}/${IMAGE_REPOSITORY}@${parseDigest(stdout, registryName)}`,
      );
  }

  /**
   * Local BuildKit (stack config imageBuild local): needs Docker, but never during a preview
   * (`buildOnPreview: false`; docker-build builds on preview by default), and destroy leaves the
   * local tags alone (`retainOnDelete`, as docker-build's docs recommend), so it needs no Docker
   * daemon then either.
   */
  private buildLocally(
    name: string,
    registry: containerregistry.Registry,
    args: SyncImageArgs,
  ): pulumi.Output<string> {
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
        buildOnPreview: false,
        tags: [pulumi.interpolate`${registry.loginServer}/${IMAGE_REPOSITORY}:latest`],
        registries: [
          {
            address: registry.loginServer,
            username: ACR_REFRESH_TOKEN_USERNAME,
            password: pulumi.secret(refreshToken),
          },
        ],
      },
      { parent: this, retainOnDelete: true },
    );
    // `ref` carries the digest, so a changed image yields a new Container App revision.
    return image.ref;
  }
}
