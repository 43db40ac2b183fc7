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
      g.expectDebug(await g.runToStop(true), EC_SOFTWARE_STEP, square + 4n, `step over hit ${hits}`);
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
    // The debugger's reads show the guest's own instructions where our BRKs sit.
    expectEq(sha256(g.vm.readPhys(RAM_BASE, g.guest.image.length)), image, 'RAM hash through readPhys with 4 BRKs set');
    if (!g.vm.readVirt) throw new Error('addon has no readVirt()');
    expectEq(sha256(g.vm.readVirt(0, RAM_BASE, g.guest.image.length)), image, 'RAM hash through readVirt with 4 BRKs set');
    // ... while the BRKs are really there: the guest stops on the first one it reaches.
    const e = await g.runToStop();
    if (e.kind !== 'debug' || !addrs.includes(e.pc)) throw new Error(`expected a stop at one of our BRKs, got ${JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? v.toString(16) : v))}`);
    g.vm.removeAll();
    expectEq(sha256(g.vm.readPhys(RAM_BASE, g.guest.image.length)), image, 'RAM hash after removeAll');
    // and the guest runs to its end untouched
    g.expectShutdown(await g.runToStop(), 'run after removeAll');
    expectEq(g.readU64(g.sym('result')), DEMO_RESULT, 'result');
    expectEq(sha256(g.vm.readPhys(RAM_BASE, g.guest.image.length)), image, 'RAM hash after the run');
  }));

test('sw breakpoint: a write over our BRK updates the instruction under it and keeps the BRK', () =>
  withGuest(native(), 'demo', async (g) => {
    const square = g.sym('square');
    const original = g.vm.readPhys(square, 4);
    g.vm.insertSwBreakpoint(square);
    // The same instruction written back through the debugger (gdb's `set *(int*)square = ...`).
    g.vm.writePhys(square, Buffer.from(original));
    expectEq(g.vm.readPhys(square, 4).equals(original), true, 'read shows the written instruction');
    g.expectDebug(await g.runToStop(), EC_BRK64, square, 'the BRK is still armed after the write');
    g.vm.removeSwBreakpoint(square);
    expectEq(g.vm.readPhys(square, 4).equals(original), true, 'remove restores the written instruction');
    g.expectShutdown(await g.runToStop(), 'the guest runs to its end');
    expectEq(g.readU64(g.sym('result')), DEMO_RESULT, 'result in RAM');
  }));
