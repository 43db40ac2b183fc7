/**
 * `kvm-debug symbols <Image|vmlinux> [-o FILE] [--nm]`
 *
 * A symbol file for gdb from nothing but the kernel: Debian's System.map is a
 * placeholder (the real one and vmlinux are in the large -dbg package), but the
 * kernel carries its own compressed symbol table for /proc/kallsyms. This recovers
 * it from the arm64 Image (crates/decode/src/kallsyms.rs, either backend) and writes
 * an ELF gdb loads with `symbol-file FILE`, after which `break do_sys_openat2` works.
 * A vmlinux (ELF, with DWARF when built so) is better still: it is used as it is.
 *
 * Exit status: 0 written; 2 bad usage or no symbols in the file; 1 a backend failure.
 */
import * as fs from 'fs';
import { defaultBackend, recoverKernelSymbols } from '../decode';
import { errorCode, messageOf } from '../errors';
import { Exit, type CliIo, type Command } from './command';
import { helpText, parseCommandLine, type CommandLine } from './options';

const LINE: CommandLine = {
  name: 'symbols',
  synopsis: ['<Image|vmlinux> [options]'],
  options: {
    output: { type: 'string', short: 'o', value: 'FILE', description: 'write the symbol file (default: <input>.sym); in gdb: symbol-file FILE' },
    nm: { type: 'boolean', description: 'print the symbols as nm text ("address type name"), as /proc/kallsyms' },
  },
  epilog: `The addresses are the kernel's link addresses. Under KASLR (run --kernel --kaslr-seed)
run prints the slide; load with symbol-file FILE -o SLIDE, or attach gdb after it is
known and qOffsets slides the file gdb already has.`,
};
const USAGE = helpText(LINE);

/** ELF magic (System V ABI e_ident[EI_MAG0..3]). */
const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

/** Runs `symbols`; resolves to the exit status. */
export async function runSymbols(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandLine(LINE, args);
  if (typeof parsed === 'string') return usage(io, parsed);
  if (parsed.help) {
    io.stdout.write(USAGE);
    return Exit.Ok;
  }
  const [input, extra] = parsed.positionals;
  if (extra !== undefined) return usage(io, `one kernel only, got ${JSON.stringify(input)} and ${JSON.stringify(extra)}`);
  const out = parsed.values.output as string | undefined;
  const nm = parsed.values.nm === true;
  if (input === undefined) return usage(io, 'no kernel given');
  let image: Buffer;
  try {
    image = fs.readFileSync(input);
  } catch (e) {
    io.stderr.write(`kvm-debug symbols: cannot read ${JSON.stringify(input)}: ${messageOf(e)}\n`);
    return Exit.BadInput;
  }
  const dest = out ?? `${input}.sym`;
  if (image.subarray(0, 4).equals(ELF_MAGIC)) {
    fs.copyFileSync(input, dest);
    io.stderr.write(`kvm-debug symbols: ${input} is an ELF (a vmlinux): copied as the symbol file ${dest}; in gdb: symbol-file ${dest}\n`);
    return Exit.Ok;
  }
  let rec: ReturnType<typeof recoverKernelSymbols>;
  try {
    rec = recoverKernelSymbols(image, defaultBackend());
  } catch (e) {
    io.stderr.write(`kvm-debug symbols: ${input}: ${messageOf(e)}\n`);
    return errorCode(e) === 'ERR_NO_KALLSYMS' ? Exit.BadInput : Exit.Failure;
  }
  fs.writeFileSync(dest, rec.elf);
  if (nm) io.stdout.write(rec.symbols.map((s) => `${s.addr.toString(16).padStart(16, '0')} ${s.kind} ${s.name}\n`).join(''));
  const lo = rec.symbols.reduce((m, s) => (s.addr < m ? s.addr : m), rec.symbols[0]?.addr ?? 0n);
  const exported = rec.symbols.length - rec.fromKallsyms;
  io.stderr.write(
    `kvm-debug symbols: ${rec.fromKallsyms} symbols from the kernel's own kallsyms` +
      `${exported > 0 ? ` and ${exported} exported ones from __ksymtab` : ''} (lowest 0x${lo.toString(16)}), ` +
      `written to ${dest}; in gdb: symbol-file ${dest}\n`,
  );
  return Exit.Ok;
}

function usage(io: CliIo, why: string): number {
  io.stderr.write(`kvm-debug symbols: ${why}\n${USAGE}`);
  return Exit.BadInput;
}

/** The `symbols` subcommand. */
export const command: Command = {
  summary: 'a gdb symbol file from an arm64 Image alone (its own kallsyms)',
  usage: USAGE,
  run: runSymbols,
};
