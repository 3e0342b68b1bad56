import { createHash } from "node:crypto";

/**
 * Deterministic physical names for the resources whose Azure limits rule out autonaming
 * (Key Vault: 3-24 chars, letters/digits/hyphens; storage: 3-24 lowercase letters/digits;
 * registry: 5-50 letters/digits). The `seed` is the resource group's autonamed name, which
 * carries a random suffix: a fresh deployment after `pulumi destroy` gets fresh names, so a
 * soft-deleted vault that still reserves its old name never blocks it.
 */
export function shortHash(seed: string, length = 8): string {
  return createHash("sha256").update(seed).digest("hex").slice(0, length);
}

/** Lower-case letters and digits only, cut to `max`. */
export function compactSlug(text: string, max: number): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]/g, "")
    .slice(0, max);
}
