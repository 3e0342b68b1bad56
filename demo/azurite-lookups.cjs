/*
 * Loaded into the Azurite child (demo/azurite.ts) before Azurite itself. Azurite's table store
 * (LokiTableMetadataStore) finds an entity with LokiJS `findOne({ PartitionKey, RowKey })` on a
 * collection indexed on both keys, but LokiJS uses an index only for the first key of a query
 * (lokijs 1.5.12, Resultset.prototype.find: "only enabling where it is the first filter applied")
 * and scans the rest of the partition for the RowKey. Every point read, insert, upsert and
 * delete of a row then costs as much as the rows of its partition: a partition of 6,000 rows
 * (a day of launches, the Dataverse outbox) made filling it quadratic, and the Azurites took a
 * third of the test suite's CPU time. Asking for the RowKey first uses its index instead; the
 * query and its answer are the same, as Azure Table storage's own point reads by key are.
 */
const { dirname } = require("node:path");

const azurite = process.argv[1];
const Loki = require(require.resolve("lokijs", { paths: [dirname(azurite)] }));
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
