/**
 * `kvm-debug decode <value>... [--json] [--backend wasm|native]`
 *
 * Decodes ESR_ELx values. Values come from the arguments, or from stdin
 * (whitespace separated) when none are given or one is `-`. Text mode prints
 * the summary line, then the indented field tree, a blank line between values;
 * `--json` prints one JSON tree per line. A bad value is reported on stderr,
 * naming it; the others are still decoded and the exit code is 2.
 */
import { loadBackend, type Backend, type BackendName } from '../binding';
import { decodeJson, decodeText, parseValue, summary } from '../decode';
import { messageOf } from '../errors';
import { Exit, readAll, type CliIo, type Command } from './command';

const USAGE = `usage: kvm-debug decode <value>... [--json] [--backend wasm|native]
  <value>   ESR_ELx as 0x-hex, 0b-binary or decimal; '-' or none: read stdin
  --json    print each field tree as one line of JSON
  --backend force the native addon or the wasm build (default: native, else wasm)
`;

interface Options {
  json: boolean;
  backend?: BackendName;
  values: string[];
  stdin: boolean;
}

function parseArgs(args: string[]): Options | string {
  const o: Options = { json: false, values: [], stdin: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--json') {
      o.json = true;
    } else if (a === '--backend' || a.startsWith('--backend=')) {
      const v = a === '--backend' ? args[++i] : a.slice('--backend='.length);
      if (v !== 'native' && v !== 'wasm') return `--backend wants native or wasm, got ${JSON.stringify(v ?? '')}`;
      o.backend = v;
    } else if (a === '-') {
      o.stdin = true;
    } else if (a.startsWith('--')) {
      return `unknown option ${a}`;
    } else {
      o.values.push(a);
    }
  }
  if (o.values.length === 0) o.stdin = true;
  return o;
}

async function run(args: string[], io: CliIo): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(USAGE);
    return Exit.Ok;
  }
  const o = parseArgs(args);
  if (typeof o === 'string') {
    io.stderr.write(`kvm-debug decode: ${o}\n${USAGE}`);
    return Exit.BadInput;
  }
  let backend: Backend;
  try {
    backend = loadBackend(o.backend === undefined ? {} : { backend: o.backend });
  } catch (e) {
    io.stderr.write(`kvm-debug decode: ${messageOf(e)}\n`);
    return Exit.Failure;
  }
  const texts = [...o.values];
  if (o.stdin) texts.push(...(await readAll(io.stdin)).split(/\s+/).filter((t) => t !== ''));

  let code: number = Exit.Ok;
  let first = true;
  for (const text of texts) {
    let value: bigint;
    try {
      value = parseValue(text);
    } catch (e) {
      io.stderr.write(`kvm-debug decode: ${messageOf(e)}\n`);
      code = Exit.BadInput;
      continue;
    }
    if (o.json) {
      io.stdout.write(`${decodeJson(value, backend)}\n`);
    } else {
      if (!first) io.stdout.write('\n');
      io.stdout.write(`${summary(value, backend)}\n${decodeText(value, backend)}`);
    }
    first = false;
  }
  return code;
}

/** The `decode` subcommand. */
export const command: Command = {
  summary: 'decode ESR_ELx syndrome values (arguments or stdin)',
  usage: USAGE,
  run,
};
