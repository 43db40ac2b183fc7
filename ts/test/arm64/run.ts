/**
 * Entry of the in-guest arm64 suite: `node run.js` (inside the lane: KVM_DEBUG_LANE=1).
 * Each case builds a fresh VM through the native addon (docs/native-api.md). Outside an
 * arm64 machine with /dev/kvm every case is skipped with the reason printed; in the lane
 * (KVM_DEBUG_LANE=1) that counts as a failure. LANE_CASE=<substring> runs matching cases.
 */
import * as fs from 'fs';
import { run } from './harness';
import { setNative } from './ctx';
import { loadNative } from './native';
import './cases/sw-breakpoint';
import './cases/reinject';
import './cases/single-step';
import './cases/hw-breakpoint';
import './cases/watchpoint';
import './cases/mmu';
import './cases/mmio-psci';
import './cases/session';
import './cases/stop-and-memory';
import './cases/session-allstop';

async function main(): Promise<number> {
  let skip: string | undefined;
  if (!fs.existsSync('/dev/kvm')) skip = 'no /dev/kvm on this machine (the arm64 lane provides it: npm run test:arm64)';
  if (!skip) {
    const r = loadNative();
    if ('reason' in r) skip = r.reason;
    else {
      const caps = r.native.kvmCapabilities();
      console.log(`addon ${r.from}; capabilities ${JSON.stringify(caps, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
      if (caps.available === false) skip = `KVM unavailable: ${caps.reason ?? 'no reason given'}`;
      setNative(r.native);
    }
  }
  return run(skip, process.env.LANE_CASE);
}

main().then(
  (failed) => process.exit(failed ? 1 : 0),
  (e) => {
    console.log(`NODE-SUITE: runner crashed: ${(e as Error).stack ?? String(e)}`);
    process.exit(2);
  },
);
