/**
 * One `cxlfab` subcommand. Each lives in src/cli/commands/<name>.ts and exports `command`.
 * run() returns the process exit code: 0 ok, 1 a check failed (e.g. a VCD violation),
 * 2 usage or input error (bad flag, bad config, bad hex). It never calls process.exit itself,
 * so tests can call it in-process.
 */
export interface Command {
  readonly name: string;
  /** One line for `cxlfab --help`. */
  readonly summary: string;
  /** Full text for `cxlfab <name> --help`. */
  readonly usage: string;
  run(args: string[], io: CliIo): Promise<number>;
}

/** Where a command writes; tests pass buffers, the real CLI passes process streams. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal (progress bars only then). */
  readonly isTTY: boolean;
}

/** A usage error: the CLI prints the message and the command's usage on stderr and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const processIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  isTTY: Boolean(process.stderr.isTTY),
};
