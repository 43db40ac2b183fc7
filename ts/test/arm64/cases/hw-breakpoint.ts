// A hardware breakpoint (EC 0x30) fires at its address and the guest gets past it.
import { test } from '../harness';
import { native } from '../ctx';
import { EC_HW_BREAKPOINT, EC_SOFTWARE_STEP, expectEq, withGuest } from '../guest';

test('hw breakpoint: fires (EC 0x30) and the guest gets past it', () =>
  withGuest(native(), 'demo', async (g) => {
    const add = g.sym('add');
    const bp = { hwBreakpoints: [{ addr: add }] };
    g.vm.setGuestDebug(0, bp);
    let hits = 0;
    for (;;) {
      const e = await g.runToStop();
      if (e.kind === 'shutdown') break;
      g.expectDebug(e, EC_HW_BREAKPOINT, add, `hit ${hits + 1}`);
      hits++;
      g.vm.setGuestDebug(0, { singleStep: true });
      g.expectDebug(await g.runToStop(), EC_SOFTWARE_STEP, add + 4n, `step past hit ${hits}`);
      g.vm.setGuestDebug(0, bp);
    }
    expectEq(hits, 10, 'hw breakpoint hits (add() calls)');
    expectEq(g.readU64(g.sym('result')), 385n, 'result');
  }));
