/**
 * In-lane bench: the cost of one single-step exit through the addon's run() (a promise per
 * KVM_RUN, on the vCPU's own thread), on the `spin` guest. Prints `BENCH:` lines that
 * lane.sh shows in its summary; each exit is checked (EC and PC) inside the loop.
 *
 * Also the raw side of the gdb `stepi` bench (scripts/arm64/gdb/host.sh): RAW_STEPS steps of the
 * same guest through vm.run({ singleStep: true }), as `BENCH: raw-step: X ms/step`.
 * `--steps N` prints only that line, for N steps (the gdb part runs it without the bench part).
 */
import * as fs from 'fs';
import { loadNative, normalizeExit, type Native } from './native';
import { EC_SOFTWARE_STEP, GuestVm, MEM_MIB, RAM_BASE, loadGuest } from './guest';

/** Same count as the Rust comparison (bench/rust exit_loop). */
const EXITS = 2000;
const WARMUP = 50;
/** The gdb bench's stepi count (scripts/arm64/gdb/host.sh STEPS). */
const RAW_STEPS = 200;

/** `--steps N` from argv, or undefined. */
function stepsArg(): number | undefined {
  const i = process.argv.indexOf('--steps');
  if (i < 0) return undefined;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--steps wants a positive integer, got ${String(process.argv[i + 1])}`);
  return n;
}

async function main(): Promise<void> {
  const r = loadNative();
  if ('reason' in r) {
    console.log(`BENCH: skipped: ${r.reason}`);
    return;
  }
  const g = new GuestVm(r.native, 'spin');
  try {
    const spin = g.sym('spin');
    const loopEnd = spin + 4n; // `b spin`
    const once = async (): Promise<void> => {
      const e = normalizeExit(await g.vm.run(0, { singleStep: true }));
      if (e.kind !== 'debug' || e.ec !== EC_SOFTWARE_STEP || (e.pc !== spin && e.pc !== loopEnd)) {
        throw new Error(`unexpected exit while stepping: ${JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? v.toString(16) : v))}`);
      }
    };
    const timed = async (n: number): Promise<number> => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) await once();
      return Number(process.hrtime.bigint() - t0);
    };
    for (let i = 0; i < WARMUP; i++) await once();
    const steps = stepsArg();
    if (steps === undefined) {
      const ns = await timed(EXITS);
      console.log(`BENCH: node addon run() single-step: ${(ns / EXITS / 1000).toFixed(1)} us/exit over ${EXITS} exits (VM ${MEM_MIB} MiB)`);
    }
    const n = steps ?? RAW_STEPS;
    const ns = await timed(n);
    console.log(`BENCH: raw-step: ${(ns / n / 1e6).toFixed(3)} ms/step over ${n} steps (addon run with singleStep, spin guest)`);
    if (steps === undefined) await uartExits(r.native);
  } finally {
    g.close();
  }
}

/** Characters per run: many for the board (served in Rust), fewer through JS (~1 ms per exit here). */
const RUST_CHARS = 20_000;
const JS_CHARS = 1_000;

/**
 * Console output: the `uart_flood` guest writes characters as Linux's PL011 console does
 * (load UARTFR, store UARTDR). On the Linux board both are served in Rust on the vCPU thread
 * (one run() for all of them) and KVM coalesces the stores, so one exit per character remains;
 * on a bare VM both exits of every character return to JavaScript.
 */
async function uartExits(native: Native): Promise<void> {
  const { elf } = loadGuest('uart_flood');
  const devnull = fs.openSync('/dev/null', 'w');
  const rate = async (board: boolean, chars: number): Promise<number> => {
    const vm = native.Vm.create({ memMib: MEM_MIB, vcpus: 1, ramBase: RAM_BASE, ...(board ? { board: { consoleFd: devnull } } : {}) });
    try {
      if (!vm.loadElf) throw new Error('addon has no loadElf()');
      vm.resetVcpu(0, vm.loadElf(elf));
      vm.setReg(0, 'x0', BigInt(chars));
      let toJs = 0;
      const t0 = process.hrtime.bigint();
      for (;;) {
        const e = normalizeExit(await vm.run(0));
        if (e.kind === 'mmio') {
          toJs++;
          if (!e.isWrite) vm.setMmioReadData(0, 0n); // UARTFR: TXFF clear
          continue;
        }
        if (e.kind === 'shutdown') break;
        throw new Error(`uart_flood: unexpected exit ${JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? v.toString(16) : v))}`);
      }
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (toJs !== (board ? 0 : 2 * chars)) throw new Error(`uart_flood (board ${board}): ${toJs} exits reached JS, want ${board ? 0 : 2 * chars}`);
      return chars / s;
    } finally {
      vm.close();
    }
  };
  const js = await rate(false, JS_CHARS);
  const rust = await rate(true, RUST_CHARS);
  fs.closeSync(devnull);
  console.log(
    `BENCH: uart-console: board in Rust ${rust.toFixed(0)} chars/s (UARTDR stores coalesced, one exit per char), ` +
      `through JS ${js.toFixed(0)} chars/s (two exits per char, ${(2 * js).toFixed(0)} exits/s; ${JS_CHARS} chars), ${(rust / js).toFixed(1)}x`,
  );
}

main().catch((e) => {
  console.log(`BENCH: failed: ${(e as Error).message}`);
  process.exit(1);
});
