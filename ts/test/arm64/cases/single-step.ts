// Single-step: one debug exit per instruction, including across a store to MMIO (an MMIO
// exit, then the step exit after it).
import { test } from '../harness';
import { native } from '../ctx';
import { EC_SOFTWARE_STEP, TEST_MMIO, expectEq, hex, withGuest } from '../guest';
import { showExit } from '../native';

test('single-step: one exit per instruction, over an MMIO store too', () =>
  withGuest(native(), 'mmio', async (g) => {
    const start = g.sym('_start');
    const end = g.sym('step_end');
    const store = g.sym('mmio_store');
    let pc = start;
    let steps = 0;
    let mmio = 0;
    while (pc !== end) {
      const e = await g.run(true);
      if (e.kind === 'mmio') {
        expectEq(pc, store, 'PC of the MMIO exit');
        expectEq(e.addr, TEST_MMIO, 'MMIO address');
        expectEq(e.isWrite, true, 'MMIO is a write');
        expectEq(e.data, 3n, 'MMIO data (x0 = 1 + 2)');
        mmio++;
        continue;
      }
      g.expectDebug(e, EC_SOFTWARE_STEP, pc + 4n, `step ${steps + 1} from ${hex(pc)} (${showExit(e)})`);
      pc += 4n;
      steps++;
    }
    expectEq(steps, Number((end - start) / 4n), 'step exits');
    expectEq(mmio, 1, 'MMIO exits while stepping');
    expectEq(g.vm.getReg(0, 'x0'), 10n, 'x0 at step_end');
    const last = await g.run();
    if (last.kind !== 'mmio' || last.addr !== TEST_MMIO + 16n || last.data !== 10n) {
      throw new Error(`store at step_end: got ${showExit(last)}`);
    }
    g.expectShutdown(await g.run(), 'run to the end');
  }));
