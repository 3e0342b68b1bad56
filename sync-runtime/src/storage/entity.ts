import type { TableClient, TableEntityResult } from "@azure/data-tables";

/** Reads one entity, or undefined when it does not exist. */
export async function getEntityOrUndefined<T extends object>(
  table: TableClient,
  partitionKey: string,
  rowKey: string,
): Promise<TableEntityResult<T> | undefined> {
  try {
    return await table.getEntity<T>(partitionKey, rowKey);
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
}
