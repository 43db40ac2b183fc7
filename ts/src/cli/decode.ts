/**
 * `kvm-debug decode <value>... [--json] [--grep] [--backend wasm|native]`
 *
 * Decodes ESR_ELx values. Values come from the arguments, or from stdin when none are given
 * or one is `-`. stdin is read a line at a time and output is written with back-pressure, so
 * `dmesg -w | kvm-debug decode --grep` decodes as the kernel logs. `--grep` picks syndromes
 * out of free text (`ESR = 0x...`, `esr=0x...`, `ESR_EL2: 0x...`, an arm64 Oops line) instead
 * of reading every word as a value. Text mode prints the summary line, then the indented
 * field tree, a blank line between values; `--json` prints one JSON tree per line. A bad value
 * is reported on stderr, naming it; the others are still decoded and the exit code is 2.
 */
import { once } from 'events';
import { loadBackend, type Backend } from '../binding';
import { parseValue, renderMany } from '../decode';
import { messageOf } from '../errors';
import { syndromesIn } from '../syndrome-text';
import { Exit, type CliIo, type Command } from './command';
import { helpText, parseCommandLine, type CommandLine } from './options';

const LINE: CommandLine = {
  name: 'decode',
  synopsis: ['<value>... [options]', '--grep [options] < text'],
  positionals: [['<value>', "ESR_ELx as 0x-hex, 0b-binary or decimal (0x9600_0045 too); '-' or none: stdin"]],
  options: {
    json: { type: 'boolean', description: 'print each field tree as one line of JSON' },
    grep: { type: 'boolean', description: 'pick syndromes out of free text (dmesg, a KVM log): ESR = 0x.., esr=0x..,\nESR_EL2: 0x.., and the syndrome of an arm64 "Internal error: Oops: ..." line' },
    backend: { type: 'string', choices: ['native', 'wasm'], description: 'force the native addon or the wasm build (default: native, else wasm)' },
  },
};

/**
 * Output of one run: values are gathered into blocks, each rendered by one call
 * into the core (`renderMany`), and written a block at a time, with back-pressure.
 */
class Printer {
  private pending: Uint8Array[] = [];
  private size = 0;
  private readonly values = new BigUint64Array(BLOCK_VALUES);
  private count = 0;
  private continued = false;
  code: number = Exit.Ok;

  constructor(
    private readonly io: CliIo,
    private readonly backend: Backend,
    private readonly json: boolean,
  ) {}

  add(text: string): void {
    let value: bigint;
    try {
      value = parseValue(text);
    } catch (e) {
      this.io.stderr.write(`kvm-debug decode: ${messageOf(e)}\n`);
      this.code = Exit.BadInput;
      return;
    }
    this.values[this.count++] = value;
    if (this.count === BLOCK_VALUES) this.render();
  }

  private render(): void {
    if (this.count === 0) return;
    const out = renderMany(this.values.subarray(0, this.count), { json: this.json, continued: this.continued }, this.backend);
    this.continued = true;
    this.count = 0;
    this.pending.push(out);
    this.size += out.byteLength;
  }

  /** Decode many values: the output is written whenever a block is full. */
  async addAll(texts: readonly string[]): Promise<void> {
    for (const t of texts) {
      this.add(t);
      if (this.size >= FLUSH_BYTES) await this.flush();
    }
  }

  /** Write what is pending (with `force`, or once it is large); wait while stdout is full. */
  async flush(force = false): Promise<void> {
    if (force) this.render();
    if (this.size === 0 || (!force && this.size < FLUSH_BYTES)) return;
    const bytes = this.pending.length === 1 ? (this.pending[0] as Uint8Array) : Buffer.concat(this.pending);
    this.pending = [];
    this.size = 0;
    if (!this.io.stdout.write(bytes)) await once(this.io.stdout, 'drain');
  }
}

/** Values rendered per call into the core. */
const BLOCK_VALUES = 1024;
/** Pending output is written once it reaches this many bytes, and after each input chunk. */
const FLUSH_BYTES = 1 << 16;

async function run(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandLine(LINE, args);
  if (typeof parsed === 'string') {
    io.stderr.write(`kvm-debug decode: ${parsed}\n${helpText(LINE)}`);
    return Exit.BadInput;
  }
  if (parsed.help) {
    io.stdout.write(helpText(LINE));
    return Exit.Ok;
  }
  const { json, grep, backend: name } = parsed.values;
  let backend: Backend;
  try {
    backend = loadBackend(name === 'native' || name === 'wasm' ? { backend: name } : {});
  } catch (e) {
    io.stderr.write(`kvm-debug decode: ${messageOf(e)}\n`);
    return Exit.Failure;
  }
  const printer = new Printer(io, backend, json === true);
  const words = (text: string): string[] => (grep === true ? syndromesIn(text) : text.split(/\s+/).filter((t) => t !== ''));
  const fromArgs = parsed.positionals.filter((a) => a !== '-');
  for (const a of fromArgs) await printer.addAll(words(a));
  await printer.flush(true);
  if (fromArgs.length === 0 || parsed.positionals.includes('-')) {
    // A chunk at a time, as it arrives: a follower (`dmesg -w`) sees each value once its line
    // is in, a file is decoded in blocks. The next chunk is read only after the output of this
    // one is written and drained (back-pressure).
    let partial = '';
    for await (const chunk of io.stdin) {
      const text = partial + (typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8'));
      // Up to the last complete line; `--grep` looks at one line at a time.
      const end = text.lastIndexOf('\n') + 1;
      partial = text.slice(end);
      const complete = text.slice(0, end);
      if (grep === true) for (const line of complete.split('\n')) await printer.addAll(words(line));
      else await printer.addAll(words(complete));
      await printer.flush(true);
    }
    await printer.addAll(words(partial));
    await printer.flush(true);
  }
  return printer.code;
}

/** The `decode` subcommand. */
export const command: Command = {
  summary: 'decode ESR_ELx syndrome values (arguments, stdin, or --grep over free text)',
  usage: helpText(LINE),
  run,
};
