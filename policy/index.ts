import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

// `pulumi preview|up --policy-pack policy` runs this through main.cjs (see there); every
// policy is mandatory, so a violation fails the preview or stops the update.
new PolicyPack("coe-audit-sync", {
  description: "Guardrails for coe-audit-sync: what the audit sync deploys stays least-privilege.",
  enforcementLevel: "mandatory",
  policies,
});
