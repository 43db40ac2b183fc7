/**
 * Command-line options for every subcommand, declared once: Node's `util.parseArgs` parses
 * them, and the same declarations write the command's help. A command checks what its values
 * mean (a port, a path) itself; this layer checks spelling, arity and `choices`, and every
 * error names the option and the value it got.
 */
import { parseArgs } from 'util';

/** One option. */
export interface OptionDef {
  /** A flag, or an option that takes a value. */
  type: 'boolean' | 'string';
  /** One-letter alias (`-o`). */
  short?: string;
  /** The value's name in the help (`HOST:PORT`); with `choices`, they are shown instead. */
  value?: string;
  /** One or more help lines. */
  description: string;
  /** What a string option given no value wants, for the error (`a file path`); default `a value`. */
  wants?: string;
  /** The only values accepted. */
  choices?: readonly string[];
}

/** A subcommand's command line. */
export interface CommandLine {
  /** The subcommand (`decode`). */
  name: string;
  /** What follows the name in the synopsis (`<value>...`); more lines for more forms. */
  synopsis: readonly string[];
  /** Positional arguments, described in the help. */
  positionals?: readonly (readonly [string, string])[];
  /** Options by long name (without `--`). */
  options: Readonly<Record<string, OptionDef>>;
  /** Text after the options. */
  epilog?: string;
}

/** Parsed values: a string or a flag per given option; the positionals in order. */
export interface ParsedLine {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** --help or -h was given. */
  help: boolean;
}

const HELP: OptionDef = { type: 'boolean', short: 'h', description: 'print this help' };
/** Column the descriptions start at. */
const DESCRIPTION_COLUMN = 22;

function optionLabel(name: string, def: OptionDef): string {
  const value = def.choices ? def.choices.join('|') : (def.value ?? 'VALUE');
  const long = `--${name}${def.type === 'string' ? ` ${value}` : ''}`;
  return def.short === undefined ? long : `-${def.short}, ${long}`;
}

function row(label: string, description: string): string {
  const lines = description.split('\n');
  const pad = ' '.repeat(DESCRIPTION_COLUMN);
  const first = label.length + 2 < DESCRIPTION_COLUMN ? `  ${label.padEnd(DESCRIPTION_COLUMN - 2)}${lines[0]}` : `  ${label}\n${pad}${lines[0]}`;
  return [first, ...lines.slice(1).map((l) => pad + l)].join('\n');
}

/** The help text, from the declarations. */
export function helpText(line: CommandLine): string {
  const out = line.synopsis.map((s, i) => `${i === 0 ? 'usage:' : '      '} kvm-debug ${line.name} ${s}`);
  for (const [name, description] of line.positionals ?? []) out.push(row(name, description));
  for (const [name, def] of Object.entries({ ...line.options, help: HELP })) {
    out.push(row(optionLabel(name, def), def.description));
  }
  if (line.epilog !== undefined) out.push(line.epilog.trimEnd());
  return `${out.join('\n')}\n`;
}

/** `a, b or c`. */
function either(values: readonly string[]): string {
  return values.length < 2 ? (values[0] ?? '') : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1] as string}`;
}

/** Node's parseArgs message, made to name the option in our words. */
function parseError(e: unknown, line: CommandLine): string {
  const code = (e as { code?: string }).code;
  const message = e instanceof Error ? e.message : String(e);
  const named = /'(-{1,2}[^' ]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${named ?? message}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && named !== undefined) {
    const def = line.options[named.replace(/^-+/, '')] ?? Object.values(line.options).find((d) => `-${d.short}` === named);
    if (def?.type === 'string') return `${named} wants ${def.choices ? either(def.choices) : (def.wants ?? 'a value')}`;
    return `${named} takes no value`;
  }
  return message;
}

/** Parse `args` by the declarations; a string is the usage error. */
export function parseCommandLine(line: CommandLine, args: readonly string[]): ParsedLine | string {
  const options: Record<string, { type: 'boolean' | 'string'; short?: string }> = {};
  for (const [name, def] of Object.entries({ ...line.options, help: HELP })) {
    options[name] = def.short === undefined ? { type: def.type } : { type: def.type, short: def.short };
  }
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (e) {
    return parseError(e, line);
  }
  const { help, ...values } = parsed.values;
  for (const [name, def] of Object.entries(line.options)) {
    const v = values[name];
    if (def.choices && typeof v === 'string' && !def.choices.includes(v)) {
      return `--${name} wants ${either(def.choices)}, got ${JSON.stringify(v)}`;
    }
  }
  return { values, positionals: parsed.positionals, help: help === true };
}
