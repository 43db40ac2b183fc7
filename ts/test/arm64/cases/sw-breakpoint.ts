// A host software breakpoint: hit (EC 0x3c, PC at the BRK), stepped over, hit again; the
// guest's final result is right and, after removeAll, its RAM equals the image.
import { test } from '../harness';
import { native } from '../ctx';
import { EC_BRK64, EC_SOFTWARE_STEP, RAM_BASE, expectEq, sha256, withGuest } from '../guest';

/** demo.S calls square() for i = 1..LAST_I; sum of squares = 385. */
const SQUARE_CALLS = 10;
const DEMO_RESULT = 385n;

test('sw breakpoint: hit, step over, hit again, final result', () =>
  withGuest(native(), 'demo', async (g) => {
    const square = g.sym('square');
    g.vm.insertSwBreakpoint(square);
    let hits = 0;
    for (;;) {
      const e = await g.runToStop();
      if (e.kind === 'shutdown') break;
      g.expectDebug(e, EC_BRK64, square, `hit ${hits + 1}`);
      expectEq(g.vm.getReg(0, 'pc'), square, 'pc register at the stop');
      expectEq(g.vm.getReg(0, 'x0'), BigInt(hits + 1), 'square() argument at hit');
      hits++;
      // step over: take our BRK out, execute the original instruction, put it back
      g.vm.removeSwBreakpoint(square);
      g.vm.setGuestDebug(0, { singleStep: true });
      g.expectDebug(await g.runToStop(), EC_SOFTWARE_STEP, square + 4n, `step over hit ${hits}`);
      g.vm.setGuestDebug(0, { singleStep: false });
      g.vm.insertSwBreakpoint(square);
    }
    expectEq(hits, SQUARE_CALLS, 'breakpoint hits');
    expectEq(g.vm.getReg(0, 'x19'), DEMO_RESULT, 'x19 at power-off');
    expectEq(g.readU64(g.sym('result')), DEMO_RESULT, 'result in RAM');
    expectEq(g.uart, `${DEMO_RESULT}\n`, 'UART output');
    g.vm.removeAll();
    expectEq(sha256(g.vm.readPhys(RAM_BASE, g.guest.image.length)), sha256(g.guest.image), 'RAM hash after removeAll');
  }));

test('sw breakpoints: patched while set, RAM hashes equal to the image after removeAll', () =>
  withGuest(native(), 'demo', async (g) => {
    const image = sha256(g.guest.image);
    const addrs = ['square', 'add', 'putc', 'print_u64'].map((l) => g.sym(l));
    for (const a of addrs) g.vm.insertSwBreakpoint(a);
    for (const a of addrs) {
      const off = Number(a - RAM_BASE);
      const inRam = g.vm.readPhys(a, 4).readUInt32LE(0);
      if (inRam === g.guest.image.readUInt32LE(off)) throw new Error(`no breakpoint patched at 0x${a.toString(16)}`);
    }
    if (sha256(g.vm.readPhys(RAM_BASE, g.guest.image.length)) === image) throw new Error('RAM unchanged with 4 breakpoints set');
    g.vm.removeAll();
    expectEq(sha256(g.vm.readPhys(RAM_BASE, g.guest.image.length)), image, 'RAM hash after removeAll');
    // and the guest runs to its end untouched
    g.expectShutdown(await g.runToStop(), 'run after removeAll');
    expectEq(g.readU64(g.sym('result')), DEMO_RESULT, 'result');
    expectEq(sha256(g.vm.readPhys(RAM_BASE, g.guest.image.length)), image, 'RAM hash after the run');
  }));
