/**
 * In-lane bench: the cost of one single-step exit through the addon's run() (a promise per
 * KVM_RUN, on the vCPU's own thread), on the `spin` guest. Prints `BENCH:` lines that
 * lane.sh shows in its summary; each exit is checked (EC and PC) inside the loop.
 *
 * Also the raw side of the gdb `stepi` bench (scripts/arm64/gdb/host.sh): RAW_STEPS steps of the
 * same guest through vm.run({ singleStep: true }), as `BENCH: raw-step: X ms/step`.
 * `--steps N` prints only that line, for N steps (the gdb part runs it without the bench part).
 */
import { loadNative, normalizeExit } from './native';
import { EC_SOFTWARE_STEP, GuestVm, MEM_MIB } from './guest';

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
  } finally {
    g.close();
  }
}

main().catch((e) => {
  console.log(`BENCH: failed: ${(e as Error).message}`);
  process.exit(1);
});
