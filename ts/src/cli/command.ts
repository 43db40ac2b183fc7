/**
 * The shape of a CLI subcommand. Each subcommand is one file under ts/src/cli/
 * named after it (decode.ts, later run.ts, caps.ts) that exports `command`;
 * ts/src/cli.ts finds it by name, so adding one touches no other file.
 */

/** Streams a command reads and writes (injectable for tests). */
export interface CliIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Exit codes shared by every subcommand. */
export const Exit = {
  Ok: 0,
  /** A runtime failure (e.g. no backend could be loaded). */
  Failure: 1,
  /** Bad usage or bad input (e.g. a value that is not a number). */
  BadInput: 2,
} as const;

/** A subcommand. */
export interface Command {
  /** One line for the command list. */
  summary: string;
  /** The usage text, printed for --help and usage errors. */
  usage: string;
  /** Runs with the arguments after the subcommand name; resolves to the exit code. */
  run(args: string[], io: CliIo): Promise<number>;
}

/** Reads the whole of a stream as UTF-8 text. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
