/**
 * `npm run test:handling`: removes each fault's and each bad input's handling from the runtime,
 * one at a time, and runs the test that covers it, which must then FAIL (a test that still passes
 * without the handling proves nothing). The source is restored after each run, also on Ctrl-C.
 * Slow (one vitest run per line): not part of `npm test`.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

interface Mutation {
  /** The fault or bad input whose handling is removed. */
  input: string;
  file: string;
  from: string;
  to: string;
  /** The test file and name filter that must fail. */
  test: [string, string];
}

const FAULTS = "tests/faults/fault-suite.test.ts";
const BAD = "tests/scenarios/sync-runtime/bad-input.test.ts";
const URIS = "tests/scenarios/sync-runtime/foreign-uris.test.ts";
const RETRY = "sync-runtime/src/clients/http/retry.ts";
const BLOB = "sync-runtime/src/app/content-blob.ts";
const PIPELINE = "sync-runtime/src/app/window-pipeline.ts";

const MUTATIONS: Mutation[] = [
  {
    input: "5xx answers",
    file: RETRY,
    from: "return err.status >= 500 || err.status === 408;",
    to: "return err.status === 408;",
    test: [FAULTS, "5xx answers"],
  },
  {
    input: "connection resets",
    file: RETRY,
    from: "if (err instanceof ThrottledError || err instanceof TransportError) return true;",
    to: "if (err instanceof ThrottledError) return true;",
    test: [FAULTS, "connection resets"],
  },
  {
    input: "truncated bodies (each attempt starts from scratch)",
    file: BLOB,
    from: "const c = (collected = new RecordCollector());",
    to: "const c = collected;",
    test: [FAULTS, "truncated bodies"],
  },
  {
    input: "429/AF429 storms with Retry-After",
    file: RETRY,
    from: "if (err instanceof ThrottledError || err instanceof TransportError) return true;",
    to: "if (err instanceof TransportError) return true;",
    test: [FAULTS, "storms with Retry-After"],
  },
  {
    input: "429/AF429 storms without Retry-After",
    file: RETRY,
    from: "if (err instanceof ThrottledError || err instanceof TransportError) return true;",
    to: "if (err instanceof TransportError) return true;",
    test: [FAULTS, "storms without Retry-After"],
  },
  {
    input: "token endpoint outages",
    file: "sync-runtime/src/clients/auth.ts",
    from: "retryable: (err) => err instanceof AuthError && err.transient,",
    to: "retryable: () => false,",
    test: [FAULTS, "token endpoint outages"],
  },
  {
    input: "tokens revoked mid-pass (renew once on 401)",
    file: "sync-runtime/src/clients/bearer-call.ts",
    from: "response = await send(true).catch(",
    to: "response = await Promise.reject(err).catch(",
    test: [FAULTS, "tokens revoked mid-pass"],
  },
  {
    input: "AF20052 content gone",
    file: BLOB,
    from: 'if (err instanceof ApiError && err.code === AF.contentExpired) return "expired";',
    to: "",
    test: [FAULTS, "AF20052"],
  },
  {
    // A window commits only when its every blob is stored: a failed blob counted as done would
    // let the checkpoint pass it (the pool's own failure stop is proven in its unit test).
    input: "Azurite stopped mid-pass (a failed blob stops the window)",
    file: PIPELINE,
    from: "const outcome = await this.options.work.storeBlob(item, this.options.signal);",
    to: 'const outcome = await this.options.work.storeBlob(item, this.options.signal).catch(() => ({ status: "skipped" as const }));',
    test: [FAULTS, "Azurite"],
  },
  {
    input: "windows in flight together (the checkpoint waits for every blob of a window)",
    file: PIPELINE,
    from: "if (!state.listed || state.outstanding > 0) return;",
    to: "if (!state.listed) return;",
    test: ["tests/scenarios/sync-runtime/pipelined-checkpoint.test.ts", "does not advance past"],
  },
  {
    // The crash loop catches this only when a kill lands between the two writes (it missed once
    // in a run on a loaded machine); the blob test fails an event write at that point every time.
    input: "SIGKILL mid-pass (marked processed only after the events are stored)",
    file: BLOB,
    from: "  await storeEvents(ctx.store, tally, options);\n",
    to: '  await ctx.store.contentIds.markProcessed(item, { status: "done", archiveBlob, stats: tally.stats }, ctx.now());\n  await storeEvents(ctx.store, tally, options);\n',
    test: ["tests/scenarios/sync-runtime/content-blob.test.ts", "is not marked processed"],
  },
  {
    input: "blob not JSON / not an array (quarantine)",
    file: BLOB,
    from: 'if (err instanceof BadContentError) return "quarantined";',
    to: "",
    test: [BAD, "quarantines exactly"],
  },
  {
    input: "unknown AF code / 4xx on one blob (quarantine)",
    file: BLOB,
    from: "    err.status >= 400 &&\n    err.status < 500 &&",
    to: "    err.status >= 400 &&\n    err.status < 400 &&",
    test: [BAD, "quarantines exactly"],
  },
  {
    input: "record without Id",
    file: "sync-runtime/src/domain/records.ts",
    from: 'if (!recordId) return { type: "unparsed", reason: "record has no Id" };',
    to: "",
    test: [BAD, "never loses a good record"],
  },
  {
    input: "invalid CreationTime",
    file: "sync-runtime/src/domain/records.ts",
    from: 'if (!creationTime) {\n    return { type: "unparsed", reason: "record has no valid CreationTime", recordId };\n  }',
    to: "",
    test: [BAD, "never loses a good record"],
  },
  {
    input: "contentUri off the API's origin",
    file: "sync-runtime/src/clients/activity-api.ts",
    from: "if (u.origin !== this.origin) {",
    to: "if (false) {",
    test: [URIS, "refuses a contentUri"],
  },
  {
    input: "absurd NextPageUri (listing cut, gap recorded)",
    file: PIPELINE,
    from: "if (!(err instanceof ListingCutError)) throw err;",
    to: "throw err;",
    test: [URIS, "absurd NextPageUri"],
  },
];

let restore: (() => void) | undefined;
process.on("SIGINT", () => {
  restore?.();
  process.exit(130);
});

const only = process.argv[2];
const rows: { input: string; failed: boolean }[] = [];
for (const m of MUTATIONS.filter((x) => !only || x.input.includes(only))) {
  const original = readFileSync(m.file, "utf8");
  if (!original.includes(m.from)) throw new Error(`${m.file} no longer contains: ${m.from}`);
  restore = () => writeFileSync(m.file, original);
  writeFileSync(m.file, original.replace(m.from, m.to));
  try {
    const run = spawnSync("npx", ["vitest", "run", m.test[0], "-t", m.test[1]], {
      env: { ...process.env, FAULTS: "full" },
      encoding: "utf8",
    });
    const failed = run.status !== 0 && /\d+ failed/.test(run.stdout + run.stderr);
    rows.push({ input: m.input, failed });
    console.log(
      `${failed ? "ok  " : "MISS"}  ${m.input}: ${failed ? "fails" : "still passes"} without its handling`,
    );
  } finally {
    restore();
    restore = undefined;
  }
}
const missed = rows.filter((r) => !r.failed);
console.log(
  `${rows.length} handlings removed, ${rows.length - missed.length} caught by their test`,
);
process.exit(missed.length ? 1 : 0);
