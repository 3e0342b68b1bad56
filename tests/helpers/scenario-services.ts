/**
 * What a scenario test gets of the services tests/setup/scenario-services.ts started for the run:
 * the runtime bundle, and a storage account of its own on its worker's Azurite.
 */
import { open } from "node:fs/promises";
import { join } from "node:path";
import { inject } from "vitest";
import { accountConnectionString } from "../../demo/azurite";
import type { ScenarioServices } from "../setup/scenario-services";

function services(): ScenarioServices {
  const provided = inject("scenarioServices");
  if (!provided)
    throw new Error(
      "No scenario services: this file must run in the scenarios or serial project of " +
        "vitest.config.ts, whose global setup builds the runtime bundle and starts Azurite",
    );
  return provided;
}

/** The runtime bundle (`main.mjs`), what the container image runs. */
export function runtimeBundle(): string {
  return services().bundle;
}

/**
 * Claims a storage account no other test environment of this run uses, on this worker's Azurite
 * (VITEST_POOL_ID), and returns its connection string. Workers are separate processes, so an
 * account is claimed by creating a file exclusively: exactly one claimant succeeds.
 */
export async function claimStorageAccount(): Promise<string> {
  const { azurites, accounts, claims } = services();
  const worker = Number(process.env.VITEST_POOL_ID ?? "1");
  const index = (worker - 1) % azurites.length;
  const { blobUrl, tableUrl } = azurites[index];
  for (const account of accounts) {
    const claimed = await open(join(claims, `${index}-${account}`), "wx").then(
      async (file) => {
        await file.close();
        return true;
      },
      (err: NodeJS.ErrnoException) => {
        if (err.code === "EEXIST") return false;
        throw err;
      },
    );
    if (claimed) return accountConnectionString(blobUrl, tableUrl, account);
  }
  throw new Error(
    `All ${accounts.length} storage accounts of Azurite ${index + 1} are taken ` +
      "(a long watch session?): restart vitest, or raise ACCOUNTS_PER_AZURITE in " +
      "tests/setup/scenario-services.ts",
  );
}
