/**
 * What every storage operation takes, as the Azure SDK's own `OperationOptions` does: the signal
 * that stops it. It goes to the SDK call itself, so a stop (SIGTERM, a lost lease) ends a write
 * at once instead of after the SDK's retries.
 */
export interface StorageOptions {
  abortSignal?: AbortSignal;
}
