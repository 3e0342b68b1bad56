/*
 * Loaded into the Azurite child (demo/azurite.ts) before Azurite itself, for the CPU time the tests
 * and the demo spend in Azurite. Each part changes how Azurite computes an answer, never the
 * answer.
 *
 * 1. Lookups by key. Azurite's table store (LokiTableMetadataStore) finds an entity with LokiJS
 * `findOne({ PartitionKey, RowKey })` on a collection indexed on both keys, but LokiJS uses an
 * index only for the first key of a query (lokijs 1.5.12, Resultset.prototype.find: "only
 * enabling where it is the first filter applied") and scans the rest of the partition for the
 * RowKey. Every point read, insert, upsert and
 * delete of a row then costs as much as the rows of its partition: a partition of 6,000 rows
 * (a day of launches, the Dataverse outbox) made filling it quadratic, and the Azurites took a
 * third of the test suite's CPU time. Asking for the RowKey first uses its index instead; the
 * query and its answer are the same, as Azure Table storage's own point reads by key are.
 */
const Module = require("node:module");
const { dirname } = require("node:path");

const azurite = process.argv[1];
const resolve = (name) => require.resolve(name, { paths: [dirname(azurite)] });
/** Where Azurite would load `name` from, or undefined if a later Azurite no longer has it. */
const resolveIfPresent = (name) => {
  try {
    return resolve(name);
  } catch {
    return undefined;
  }
};

const Loki = require(resolve("lokijs"));
const findOne = Loki.Collection.prototype.findOne;
Loki.Collection.prototype.findOne = function (query) {
  if (
    query &&
    Object.keys(query).length === 2 &&
    "PartitionKey" in query &&
    "RowKey" in query &&
    typeof query.RowKey === "string"
  ) {
    return findOne.call(this, { RowKey: query.RowKey, PartitionKey: query.PartitionKey });
  }
  return findOne.call(this, query);
};

/*
 * 2. URI templates compiled once. Azurite's dispatch middleware finds a request's operation by
 * matching its path against every operation's URI template, and compiles each template again for
 * every request (azurite 3.35.0, dist/src/{blob,table}/generated/utils/utils.js,
 * isURITemplateMatch: `uri_templates(template)`), 2% of Azurite's CPU time in the scenario
 * tests. A compiled uri-templates template holds no state between matches, so one per template
 * string serves every request.
 */
const uriTemplates = resolveIfPresent("uri-templates");
if (uriTemplates !== undefined) {
  const UriTemplate = require(uriTemplates);
  const compiled = new Map();
  function compiledOnce(template) {
    let t = compiled.get(template);
    if (t === undefined) {
      t = new UriTemplate(template);
      compiled.set(template, t);
    }
    return t;
  }
  compiledOnce.prototype = UriTemplate.prototype;
  require.cache[uriTemplates].exports = compiledOnce;
}

/*
 * 3. No telemetry client. Azurite requires the Application Insights SDK at start whether or not
 * telemetry is on (dist/src/common/Telemetry.js: `AzuriteTelemetryClient.appInsights =
 * require('applicationinsights')`) and uses it only when it is (every call is behind
 * `enableTelemetry`). With --disableTelemetry, which demo/azurite.ts always passes, an empty
 * module stands in: 440 fewer modules to load, a third of Azurite's start-up time.
 */
const telemetrySdk = resolveIfPresent("applicationinsights");
if (telemetrySdk !== undefined && process.argv.includes("--disableTelemetry")) {
  const empty = new Module(telemetrySdk);
  empty.filename = telemetrySdk;
  empty.loaded = true;
  require.cache[telemetrySdk] = empty;
}
