// The guest's own `brk #0x123` is not ours: it goes back to the guest's EL1 vector, whose
// handler sees ESR_EL1 = 0xf2000123 and ELR_EL1 = the BRK, and the guest continues.
import { test } from '../harness';
import { native } from '../ctx';
import { expectEq, withGuest } from '../guest';

/** ESR for `brk #0x123` at EL1: EC 0x3c, IL 1, ISS 0x123 (Arm ARM D17.2.37). */
const ESR_BRK_123 = 0xf200_0123n;
/** brk_vector.S: record+24 once the guest got past its BRK. */
const CONTINUED = 0xc0den;

test("guest's own brk #0x123 is re-injected to its vector and it continues", () =>
  withGuest(native(), 'brk_vector', async (g) => {
    // A host breakpoint elsewhere turns on KVM_GUESTDBG_USE_SW_BP, so the guest's BRK traps to us.
    g.vm.insertSwBreakpoint(g.sym('unexpected_vector'));
    const e = await g.runToStop();
    g.expectShutdown(e, 'run with a host breakpoint set');
    const rec = g.sym('record');
    expectEq(g.readU64(rec), ESR_BRK_123, 'ESR_EL1 seen by the guest handler');
    expectEq(g.readU64(rec + 8n), g.sym('brk_site'), 'ELR_EL1 seen by the guest handler');
    expectEq(g.readU64(rec + 16n), 1n, 'guest sync exceptions');
    expectEq(g.readU64(rec + 24n), CONTINUED, 'guest continued past its BRK');
    expectEq(g.readU64(rec + 32n), 0n, 'unexpected vector taken (1 + offset)');
    // and it went through us: the host re-injected exactly one exception
    if (!g.vm.reinjections) throw new Error('addon has no reinjections()');
    expectEq(g.vm.reinjections(0), 1, 'host re-injections');
  }));
