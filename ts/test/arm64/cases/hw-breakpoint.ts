// A hardware breakpoint (EC 0x30) fires at its address and the guest gets past it; the VM
// owns the slots and refuses one more than KVM_CAP_GUEST_DEBUG_HW_BPS with the count.
import { test } from '../harness';
import { native } from '../ctx';
import { EC_HW_BREAKPOINT, EC_SOFTWARE_STEP, expectEq, withGuest } from '../guest';

test('hw breakpoint: fires (EC 0x30) and the guest gets past it', () =>
  withGuest(native(), 'demo', async (g) => {
    const add = g.sym('add');
    g.vm.insertHwBreakpoint(add);
    let hits = 0;
    for (;;) {
      const e = await g.runToStop();
      if (e.kind === 'shutdown') break;
      g.expectDebug(e, EC_HW_BREAKPOINT, add, `hit ${hits + 1}`);
      hits++;
      g.vm.removeHwBreakpoint(add);
      g.expectDebug(await g.runToStop(true), EC_SOFTWARE_STEP, add + 4n, `step past hit ${hits}`);
      g.vm.insertHwBreakpoint(add);
    }
    expectEq(hits, 10, 'hw breakpoint hits (add() calls)');
    expectEq(g.readU64(g.sym('result')), 385n, 'result');
  }));

test('hw breakpoint slots: one more than the capability is refused with the count (ERR_HW_SLOTS)', () =>
  withGuest(native(), 'demo', async (g) => {
    const slots = Number(native().kvmCapabilities().hwBreakpoints);
    if (!(slots > 0)) throw new Error(`KVM reports ${slots} hardware breakpoint slots`);
    for (let i = 0; i < slots; i++) g.vm.insertHwBreakpoint(g.sym('add') + BigInt(4 * i));
    let err: (Error & { code?: string }) | undefined;
    try {
      g.vm.insertHwBreakpoint(g.sym('square'));
    } catch (e) {
      err = e as Error & { code?: string };
    }
    expectEq(err?.code, 'ERR_HW_SLOTS', 'code of the refusal');
    if (!err?.message.includes(`all ${slots} hardware breakpoint slots`)) throw new Error(`message: ${err?.message}`);
    expectEq(g.vm.hwBreakpoints().length, slots, 'breakpoints kept');
  }));
