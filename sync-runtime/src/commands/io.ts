/** What a command may touch: output streams, the environment and the stop signal. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: Record<string, string | undefined>;
  /** Aborted on SIGTERM/SIGINT by the entry script. */
  signal: AbortSignal;
}
