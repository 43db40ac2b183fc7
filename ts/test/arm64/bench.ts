/**
 * In-lane bench: the cost of one single-step exit through the addon's run() (a promise per
 * KVM_RUN, on the vCPU's own thread), on the `spin` guest. Prints `BENCH:` lines that
 * lane.sh shows in its summary; each exit is checked (EC and PC) inside the loop.
 */
import { loadNative, normalizeExit } from './native';
import { EC_SOFTWARE_STEP, GuestVm, MEM_MIB } from './guest';

/** Same count as the Rust comparison (bench/rust exit_loop). */
const EXITS = 2000;
const WARMUP = 50;

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
    g.vm.setGuestDebug(0, { singleStep: true });
    const once = async (): Promise<void> => {
      const e = normalizeExit(await g.vm.run(0));
      if (e.kind !== 'debug' || e.ec !== EC_SOFTWARE_STEP || (e.pc !== spin && e.pc !== loopEnd)) {
        throw new Error(`unexpected exit while stepping: ${JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? v.toString(16) : v))}`);
      }
    };
    for (let i = 0; i < WARMUP; i++) await once();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < EXITS; i++) await once();
    const ns = Number(process.hrtime.bigint() - t0);
    console.log(`BENCH: node addon run() single-step: ${(ns / EXITS / 1000).toFixed(1)} us/exit over ${EXITS} exits (VM ${MEM_MIB} MiB)`);
  } finally {
    g.close();
  }
}

main().catch((e) => {
  console.log(`BENCH: failed: ${(e as Error).message}`);
  process.exit(1);
});
