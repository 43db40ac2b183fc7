#!/usr/bin/env node
/**
 * `kvm-debug <command> [args]`. Each subcommand is one file ts/src/cli/<name>.ts
 * exporting `command` (see cli/command.ts); this file only finds and runs it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Exit, type CliIo, type Command } from './cli/command';

const CLI_DIR = path.join(__dirname, 'cli');
/** Files in cli/ that are helpers, not subcommands. */
const NOT_COMMANDS = new Set(['command', 'console']);

function commandFile(name: string): string | undefined {
  if (!/^[a-z][a-z0-9-]*$/.test(name) || NOT_COMMANDS.has(name)) return undefined;
  for (const ext of ['.js', '.ts']) {
    const f = path.join(CLI_DIR, name + ext);
    if (fs.existsSync(f)) return f;
  }
  return undefined;
}

function loadCommand(name: string): Command | undefined {
  const f = commandFile(name);
  if (f === undefined) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(f) as { command?: Command };
  return mod.command;
}

/** Subcommand names, from the files in cli/. */
export function commandNames(): string[] {
  const names = fs
    .readdirSync(CLI_DIR)
    .filter((f) => /\.(js|ts)$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => f.replace(/\.(js|ts)$/, ''))
    .filter((n) => commandFile(n) !== undefined);
  return [...new Set(names)].sort();
}

function usage(): string {
  const lines = commandNames().map((n) => `  ${n.padEnd(8)} ${loadCommand(n)?.summary ?? ''}`);
  return `usage: kvm-debug <command> [args]    (kvm-debug help <command>, kvm-debug --version)\ncommands:\n${lines.join('\n')}\n`;
}

/** The package's version, from its package.json (two levels above ts/dist/cli.js and ts/src/cli.ts). */
export function version(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    io.stdout.write(`kvm-debug ${version()}\n`);
    return Exit.Ok;
  }
  if (name === 'help' && rest[0] !== undefined) {
    // `help decode`: that command's own help.
    const cmd = loadCommand(rest[0]);
    if (cmd === undefined) {
      io.stderr.write(`kvm-debug: unknown command ${JSON.stringify(rest[0])}\n${usage()}`);
      return Exit.BadInput;
    }
    io.stdout.write(cmd.usage);
    return Exit.Ok;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return name === undefined ? Exit.BadInput : Exit.Ok;
  }
  const cmd = loadCommand(name);
  if (cmd === undefined) {
    io.stderr.write(`kvm-debug: unknown command ${JSON.stringify(name)}\n${usage()}`);
    return Exit.BadInput;
  }
  return cmd.run(rest, io);
}

/**
 * A reader that went away (`kvm-debug decode ... | head`) is not an error: stop quietly, as
 * Unix tools do after SIGPIPE, with the status they report for it (128 + SIGPIPE).
 */
const EXIT_SIGPIPE = 141;

if (require.main === module) {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(EXIT_SIGPIPE);
      throw e;
    });
  }
  main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`kvm-debug: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = Exit.Failure;
    },
  );
}
