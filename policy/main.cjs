// Entry of the policy pack for the Pulumi CLI. The nodejs language host starts policy packs with
// @pulumi/pulumi/cmd/run-policy-pack, which require()s this directory (package.json "main") after
// registering its vendored ts-node: a CommonJS hook that cannot load the project's ESM
// TypeScript. PulumiPolicy.yaml's `nodeargs` would not help either: for policy packs the language
// host passes them after the run-policy-pack script, as its arguments, not to node. So this
// file does what `--import tsx` does for the program (import tsx's loader, which registers its
// ESM and CommonJS hooks), then imports the pack. run-policy-pack awaits the exported promise,
// so a load error fails the pack. (tsx/esm/api's register() is not used: required from
// CommonJS it resolves its hooks module next to itself, where it is not.)
module.exports = import("tsx").then(() => import("./index.ts"));
