/**
 * `kvm-debug run <image> [--gdb HOST:PORT] [--gdb-unix PATH] [--allow-remote] [--wait]
 *                [--debug require|auto|off] [--vcpus N] [--mem MiB]`
 * `kvm-debug run --kernel Image [--initrd FILE] [--append "..."] [--dtb-out FILE] [same options]`
 *
 * With --kernel the VM is the Linux board (crates/kvm-debug/src/board): an in-kernel
 * vGIC, KVM's timer and PSCI, a PL011 served in Rust whose output goes straight to
 * stdout and whose input comes from stdin (ts/src/cli/console.ts).
 *
 * Runs an arm64 guest (ELF, or a raw image loaded at RAM base 0x4000_0000) on KVM
 * with the built-in VMM: PL011 UART at 0x0900_0000 on stdout, PSCI SYSTEM_OFF ends
 * the run. With --gdb / --gdb-unix a GDB server serves one client at a time;
 * --wait keeps the guest stopped at its entry until the client connects (without
 * it the guest runs and a connecting client stops it). After the client detaches
 * or goes away the guest runs to its end without debugging.
 *
 * However it ends (guest exit, detach, disconnect, gdb kill, an error, SIGINT or
 * SIGTERM) every breakpoint is removed from guest memory first.
 *
 * Exit status: the guest's (0 after PSCI SYSTEM_OFF); 1 for a runtime failure or a
 * guest fault; 2 for bad usage or a bad image; 130/143 after SIGINT/SIGTERM.
 */
import * as fs from 'fs';
import { codedError, messageOf } from '../errors';
import { DEFAULT_HOST } from '../gdb/address';
import type { GdbListener } from '../gdb/tcp';
import type { GdbServer, SessionEnd } from '../gdb/server';
import { KernelSlide, kaslrSeedSource, slideAdvice } from '../kaslr';
import type { DebugMode } from '../policy';
import { Session, type SessionStop } from '../session';
import { elfProblem, isElf } from '../vmm/elf';
import { hostProblem, loadKvm } from '../vmm/host';
import { DEFAULT_MEM_MIB, RAM_BASE, UART_BASE } from '../vmm/memory-map';
import type { KvmModule, KvmVm } from '../vmm/native-vm';
import { Vmm, loadGuestImage } from '../vmm/vmm';
import { attachConsole } from './console';
import { Exit, type CliIo, type Command } from './command';
import { helpText, parseCommandLine, type CommandLine } from './options';

/** The kernel command line when --append is not given. */
export const DEFAULT_APPEND = 'console=ttyAMA0';
/** Default guest RAM in MiB with --kernel. */
export const DEFAULT_KERNEL_MEM_MIB = 512;

const LINE: CommandLine = {
  name: 'run',
  synopsis: ['<image> [options]', '--kernel Image [--initrd FILE] [--append "ARGS"] [options]'],
  positionals: [['<image>', `arm64 ELF, or a raw image loaded at RAM base 0x${RAM_BASE.toString(16)}`]],
  options: {
    kernel: { type: 'string', value: 'Image', wants: 'a file path', description: 'boot an arm64 Linux Image on the board (GIC, timer, PSCI, PL011)' },
    initrd: { type: 'string', value: 'FILE', wants: 'a file path', description: 'the initramfs for --kernel' },
    append: { type: 'string', value: '"ARGS"', wants: 'the kernel command line', description: `the kernel command line (default: ${DEFAULT_APPEND})` },
    'dtb-out': { type: 'string', value: 'FILE', wants: 'a file path', description: 'write the generated device tree there (check it with dtc -I dtb FILE)' },
    'kaslr-seed': {
      type: 'string',
      value: 'N',
      wants: 'a 64-bit number',
      description:
        'put a kaslr-seed in the device tree (default none: KASLR stays off\nunless the CPU has RNDR); the slide is reported once the kernel\nhas relocated itself, and gdb gets it through qOffsets',
    },
    gdb: { type: 'string', value: 'HOST:PORT', wants: 'HOST:PORT (e.g. 127.0.0.1:1234)', description: `serve the GDB remote protocol over TCP (default host ${DEFAULT_HOST}); gdb or lldb` },
    'gdb-unix': { type: 'string', value: 'PATH', wants: 'a socket path', description: 'serve it on a Unix socket instead' },
    'allow-remote': { type: 'boolean', description: 'allow --gdb on a non-loopback address (the protocol has no authentication)' },
    wait: { type: 'boolean', description: 'keep the guest stopped until the debugger connects' },
    debug: { type: 'string', choices: ['require', 'auto', 'off'], description: 'default auto: run without debugging if KVM cannot' },
    vcpus: { type: 'string', value: 'N', wants: 'a positive integer', description: 'vCPUs (default 1; the others start powered off, PSCI CPU_ON starts them)' },
    mem: { type: 'string', value: 'MiB', wants: 'a positive integer', description: `guest RAM (default ${DEFAULT_MEM_MIB}; ${DEFAULT_KERNEL_MEM_MIB} with --kernel)` },
  },
  epilog: `The guest's PL011 UART (0x${UART_BASE.toString(16)}) prints on stdout; PSCI SYSTEM_OFF ends the run.
With --kernel, stdin is the guest's console: on a terminal, Ctrl-A x quits.`,
};
const USAGE = helpText(LINE);

/** The board's UART writes the guest's console straight to this fd (stdout) from Rust. */
const CONSOLE_FD = 1;

/** Exit status after a signal: 128 + its number (SIGINT 2, SIGTERM 15). */
const EXIT_SIGINT = 130;
const EXIT_SIGTERM = 143;
/** Largest vCPU count accepted (KVM_MAX_VCPUS on arm64 is 512). */
const MAX_VCPUS = 512;
/** Largest port number. */
const MAX_PORT = 65535;

/** Parsed options. */
export interface RunOptions {
  /** The bare-metal image, or the Linux kernel with `kernel: true`. */
  image: string;
  /** `image` is an arm64 Linux Image for the board (--kernel). */
  kernel: boolean;
  initrd?: string;
  append: string;
  dtbOut?: string;
  kaslrSeed?: bigint;
  gdb?: { host: string; port: number };
  gdbUnix?: string;
  allowRemote: boolean;
  wait: boolean;
  debug: DebugMode;
  vcpus: number;
  memMib: number;
}

function parseHostPort(v: string): { host: string; port: number } | string {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(v) ?? /^()()(\d+)$/.exec(v);
  if (!m) return `--gdb wants HOST:PORT (e.g. 127.0.0.1:1234), got ${JSON.stringify(v)}`;
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port < 0 || port > MAX_PORT) return `--gdb port ${m[3]} is outside 0..${MAX_PORT}`;
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? DEFAULT_HOST : host, port };
}

function positiveInt(name: string, v: string | undefined, max: number): number | string {
  if (v === undefined || !/^\d+$/.test(v)) return `${name} wants a positive integer, got ${JSON.stringify(v ?? '')}`;
  const n = Number(v);
  if (n < 1 || n > max) return `${name} ${n} is outside 1..${max}`;
  return n;
}

/** Parse the arguments; a string is the usage error. */
export function parseRunArgs(args: string[]): RunOptions | string {
  const parsed = parseCommandLine(LINE, args);
  if (typeof parsed === 'string') return parsed;
  const v = parsed.values as Record<string, string | undefined>;
  const o: Partial<RunOptions> & { allowRemote: boolean; wait: boolean; debug: DebugMode; vcpus: number; kernel: boolean; append: string } = {
    allowRemote: parsed.values['allow-remote'] === true,
    wait: parsed.values.wait === true,
    debug: (v.debug ?? 'auto') as DebugMode,
    vcpus: 1,
    kernel: v.kernel !== undefined,
    append: v.append ?? DEFAULT_APPEND,
  };
  const [image, extra] = parsed.positionals;
  if (v.kernel !== undefined && image !== undefined) return `one image only, got ${JSON.stringify(image)} and --kernel ${JSON.stringify(v.kernel)}`;
  if (extra !== undefined) return `one image only, got ${JSON.stringify(image)} and ${JSON.stringify(extra)}`;
  const image0 = v.kernel ?? image;
  if (image0 !== undefined) o.image = image0;
  for (const [name, given] of [
    ['--kernel', v.kernel],
    ['--initrd', v.initrd],
    ['--dtb-out', v['dtb-out']],
    ['--gdb-unix', v['gdb-unix']],
  ] as const) {
    if (given === '') return `${name} wants ${name === '--gdb-unix' ? 'a socket path' : 'a file path'}`;
  }
  if (v.initrd !== undefined) o.initrd = v.initrd;
  if (v['dtb-out'] !== undefined) o.dtbOut = v['dtb-out'];
  if (v['gdb-unix'] !== undefined) o.gdbUnix = v['gdb-unix'];
  if (v.gdb !== undefined) {
    const hp = parseHostPort(v.gdb);
    if (typeof hp === 'string') return hp;
    o.gdb = hp;
  }
  if (v['kaslr-seed'] !== undefined) {
    const seed = v['kaslr-seed'];
    if (!/^(0x[0-9a-f]+|\d+)$/i.test(seed) || BigInt(seed) >= 1n << 64n) return `--kaslr-seed wants a 64-bit number, got ${JSON.stringify(seed)}`;
    o.kaslrSeed = BigInt(seed);
  }
  if (v.vcpus !== undefined) {
    const n = positiveInt('--vcpus', v.vcpus, MAX_VCPUS);
    if (typeof n === 'string') return n;
    o.vcpus = n;
  }
  if (v.mem !== undefined) {
    const n = positiveInt('--mem', v.mem, 1 << 20);
    if (typeof n === 'string') return n;
    o.memMib = n;
  }
  if (o.image === undefined) return 'no image given (an ELF or raw image, or --kernel Image)';
  if (!o.kernel) {
    for (const [name, given] of [
      ['--initrd', o.initrd !== undefined],
      ['--dtb-out', o.dtbOut !== undefined],
      ['--kaslr-seed', o.kaslrSeed !== undefined],
      ['--append', o.append !== DEFAULT_APPEND],
    ] as const) {
      if (given) return `${name} goes with --kernel`;
    }
  }
  o.memMib ??= o.kernel ? DEFAULT_KERNEL_MEM_MIB : DEFAULT_MEM_MIB;
  if (o.gdb && o.gdbUnix !== undefined) return '--gdb and --gdb-unix are exclusive';
  if (o.wait && !o.gdb && o.gdbUnix === undefined) return '--wait needs --gdb or --gdb-unix';
  return o as RunOptions;
}

/** What `run` uses from the outside world (tests inject fakes). */
export interface RunDeps {
  /** The addon's KVM API. */
  loadKvm(): KvmModule;
  /** Where SIGINT/SIGTERM arrive. */
  signals: NodeJS.EventEmitter;
}

const defaultDeps: RunDeps = { loadKvm, signals: process };

function readImage(path: string): Buffer {
  try {
    return fs.readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw codedError('ERR_NO_IMAGE', `image ${JSON.stringify(path)} not found`);
    if (code === 'EISDIR') throw codedError('ERR_NO_IMAGE', `image ${JSON.stringify(path)} is a directory`);
    if (code === 'EACCES') throw codedError('ERR_NO_IMAGE', `image ${JSON.stringify(path)} is not readable (permission denied)`);
    throw codedError('ERR_NO_IMAGE', `cannot read image ${JSON.stringify(path)}: ${messageOf(e)}`);
  }
}

function listenError(e: unknown, where: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return `cannot listen on ${where}: address in use (EADDRINUSE); is another kvm-debug or gdbserver running? pick another port with --gdb HOST:PORT`;
  if (code === 'EACCES') return `cannot listen on ${where}: permission denied (EACCES); ports below 1024 need root`;
  if (code === 'EADDRNOTAVAIL') return `cannot listen on ${where}: no such local address (EADDRNOTAVAIL)`;
  return `cannot listen on ${where}: ${messageOf(e)}`;
}

/** `run` with injectable dependencies. Resolves to the exit status. */
export async function runCommand(args: string[], io: CliIo, deps: RunDeps = defaultDeps): Promise<number> {
  const say = (msg: string): void => {
    io.stderr.write(`kvm-debug: ${msg}\n`);
  };
  const fail = (msg: string, code: number): number => {
    io.stderr.write(`kvm-debug run: ${msg}\n`);
    return code;
  };
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(USAGE);
    return Exit.Ok;
  }
  const o = parseRunArgs(args);
  if (typeof o === 'string') return fail(`${o}\n${USAGE}`, Exit.BadInput);

  // The image first: its errors do not depend on the host.
  let bytes: Buffer;
  let initrd: Buffer | undefined;
  try {
    bytes = readImage(o.image);
    if (o.initrd !== undefined) initrd = readImage(o.initrd);
  } catch (e) {
    return fail(messageOf(e), Exit.BadInput);
  }
  if (o.kernel) {
    // the Rust board checks the Image header (ERR_BAD_IMAGE names what it found)
  } else if (isElf(bytes)) {
    const why = elfProblem(bytes);
    if (why !== undefined) return fail(`${o.image}: bad ELF: ${why}`, Exit.BadInput);
  } else if (bytes.length === 0) {
    return fail(`${o.image}: empty image (0 bytes)`, Exit.BadInput);
  }

  let kvm: KvmModule;
  try {
    kvm = deps.loadKvm();
  } catch (e) {
    return fail(messageOf(e), Exit.Failure);
  }
  const caps = kvm.kvmCapabilities();
  const problem = hostProblem(caps);
  if (problem !== undefined) return fail(`cannot run ${o.image}: ${problem}`, Exit.Failure);

  let vm: KvmVm;
  try {
    vm = kvm.Vm.create({ memMib: o.memMib, vcpus: o.vcpus, ...(o.kernel ? { board: { consoleFd: CONSOLE_FD } } : {}) });
  } catch (e) {
    return fail(`cannot create the VM (--mem ${o.memMib}, --vcpus ${o.vcpus}): ${messageOf(e)}`, Exit.Failure);
  }
  let session: Session;
  try {
    session = new Session({ vm, capabilities: caps, debug: o.debug, vmm: new Vmm({ uart: (b) => io.stdout.write(b) }) });
  } catch (e) {
    vm.close();
    return fail(messageOf(e), Exit.Failure);
  }
  let detachConsole = (): void => undefined;
  // A kernel's KASLR slide once known (ts/src/kaslr.ts); undefined for other guests.
  let kernelSlide: (() => bigint | undefined) | undefined;
  let stopSlideWatch = (): void => undefined;
  try {
    if (o.kernel) {
      const boot = vm.bootLinux({
        kernel: bytes,
        ...(initrd ? { initrd } : {}),
        cmdline: o.append,
        ...(o.kaslrSeed !== undefined ? { kaslrSeed: o.kaslrSeed } : {}),
      });
      if (o.dtbOut !== undefined) fs.writeFileSync(o.dtbOut, boot.dtb);
      const rd = boot.initrdStart === undefined ? 'no initrd' : `initrd 0x${boot.initrdStart.toString(16)}-0x${(boot.initrdEnd ?? 0n).toString(16)}`;
      let isar0: bigint | undefined;
      try {
        isar0 = vm.getReg(0, 'id_aa64isar0_el1');
      } catch (e) {
        say(`cannot read ID_AA64ISAR0_EL1 (${messageOf(e)}): watching for a KASLR slide in case the CPU has RNDR`);
      }
      // An unreadable ID register counts as RNDR present: watching costs little, missing a slide misleads.
      const seed = kaslrSeedSource(o.kaslrSeed !== undefined, isar0 ?? 1n << 60n);
      say(
        `Linux board: vGIC${boot.gic}, ${o.vcpus} vCPU(s), ${o.memMib} MiB; kernel at 0x${boot.kernel.toString(16)}, ${rd}, ` +
          `device tree at 0x${boot.dtbAddr.toString(16)}${o.dtbOut !== undefined ? ` (written to ${o.dtbOut})` : ''}` +
          `${seed === undefined ? '; KASLR off (no kaslr-seed, no RNDR)' : `; KASLR seeded by ${seed}: the slide is reported once the kernel has relocated itself`}`,
      );
      if (seed === undefined) {
        kernelSlide = () => 0n;
      } else {
        try {
          const { kaslrAnchor } = await import('../decode');
          const slide = new KernelSlide(kaslrAnchor(bytes), boot.kernel, (pa, len) => vm.readPhys(pa, len));
          kernelSlide = () => slide.read();
          stopSlideWatch = slide.watch((s) => say(slideAdvice(s)));
        } catch (e) {
          say(`the KASLR slide cannot be reported: ${messageOf(e)}`);
        }
      }
      detachConsole = attachConsole(io.stdin, {
        input: (b) => vm.consoleInput(b),
        quit: () => session.kill('quit from the console (Ctrl-A x)', 0),
      });
    } else {
      loadGuestImage(vm, bytes);
    }
  } catch (e) {
    await session.close();
    return fail(`${o.image}: ${messageOf(e)}`, Exit.BadInput);
  }
  if (!session.debug.enabled) say(`guest debugging is off: ${session.debug.reason ?? ''}; the guest runs without it`);
  session.on('mmio-unknown', (_u: unknown, text: string) => say(text));
  // Stops that are not a breakpoint/step/watch/interrupt carry their explanation (syndrome, exit numbers).
  session.on('stop', (s: SessionStop) => {
    if (s.detail !== undefined) say(`vCPU ${s.vcpu} stopped at pc 0x${s.pc.toString(16)}: ${s.detail}`);
  });

  let listener: GdbListener | undefined;
  if (o.gdb || o.gdbUnix !== undefined) {
    const where = o.gdbUnix ?? `${o.gdb?.host}:${o.gdb?.port}`;
    try {
      // Loaded only here: a run without a debugger starts its guest sooner.
      const { listen } = await import('../gdb/tcp');
      listener = await listen(session.target, {
        ...(o.gdbUnix !== undefined ? { path: o.gdbUnix } : { host: o.gdb?.host ?? DEFAULT_HOST, port: o.gdb?.port ?? 0 }),
        allowRemote: o.allowRemote,
        server: {
          table: session.table,
          control: session,
          log: (m) => say(`gdb: ${m}`),
          ...(kernelSlide ? { kernelSlide } : {}),
        },
      });
    } catch (e) {
      await session.close();
      return fail(listenError(e, where), (e as { code?: string }).code === 'ERR_REMOTE_BIND' ? Exit.BadInput : Exit.Failure);
    }
    const a = listener.address();
    const shown = typeof a === 'string' ? a : `${a.address}:${a.port}`;
    say(`GDB server on ${shown}${o.wait ? '; waiting for the debugger' : ''} (gdb-multiarch -ex 'target remote ${shown}', or lldb -o 'gdb-remote ${shown}')`);
  }

  const onSignal = (sig: NodeJS.Signals): void => {
    say(`${sig}: stopping the guest and removing breakpoints`);
    session.kill(`${sig} received`, sig === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM);
  };
  deps.signals.on('SIGINT', onSignal);
  deps.signals.on('SIGTERM', onSignal);

  try {
    const result = await new Promise<{ code: number; detail: string }>((resolve) => {
      let handover = false;
      let freeRunning = false;
      // Settles when the current free run has returned (the guest is stopped or gone).
      let freeRun: Promise<void> = Promise.resolve();
      session.once('exit', (e: { code: number; detail: string }) => resolve(e));
      const free = (): void => {
        if (freeRunning) return;
        freeRunning = true;
        freeRun = session.runToEnd(() => handover).then(
          (r) => {
            freeRunning = false;
            if (r) resolve(r);
          },
          (e: unknown) => {
            freeRunning = false;
            resolve(session.kill(`the run failed: ${messageOf(e)}`));
          },
        );
      };
      if (listener) {
        listener.on('connect', (server: GdbServer) => {
          say('debugger connected');
          if (freeRunning) {
            handover = true;
            session.interrupt();
            // Packets that arrive before the handover stop completes wait for it, in order.
            server.holdUntil(freeRun);
          }
        });
        listener.on('refused', () => say('a second debugger was refused: one client at a time'));
        listener.on('session-end', (info: SessionEnd) => {
          const c = info.report.conflicts.length;
          say(`debugger ${info.reason}: ${info.report.removed.length} breakpoint(s) removed${c ? `, ${c} conflict(s)` : ''}`);
          if (info.reason === 'detach' || info.reason === 'disconnect') {
            // After the reply in flight (OK to D) went out: the listener's close drops the client.
            setImmediate(() => void listener?.close());
            handover = false;
            void session.idle().then(free);
          }
        });
      }
      if (!listener || !o.wait) free();
    });
    const re = session.reinjections;
    say(`guest exited with status ${result.code}: ${result.detail}${re > 0 ? ` (${re} guest exception(s) re-injected)` : ''}`);
    return result.code;
  } finally {
    detachConsole();
    stopSlideWatch();
    deps.signals.off('SIGINT', onSignal);
    deps.signals.off('SIGTERM', onSignal);
    if (listener) {
      // Let a stop reply in flight (W00 after the guest exited) reach the client first.
      await listener.session?.idle();
      await new Promise((r) => setImmediate(r));
      await listener.close();
    }
    const report = await session.close();
    for (const err of report.errors) say(`cleanup: ${err}`);
  }
}

/** The `run` subcommand. */
export const command: Command = {
  summary: 'run an arm64 guest on KVM, optionally under a GDB server (--gdb)',
  usage: USAGE,
  run: (args, io) => runCommand(args, io),
};
