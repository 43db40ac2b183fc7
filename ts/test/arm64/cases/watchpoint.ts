// Write and read watchpoints fire (EC 0x34) with FAR = the accessed address.
import { test } from '../harness';
import { native } from '../ctx';
import { EC_SOFTWARE_STEP, EC_WATCHPOINT, ESR_WNR, expectEq, withGuest } from '../guest';

/** watch.S stores this to wvar. */
const STORED = 0x5an;
const READ_VALUE = 0x1234_5678_9abc_def0n;

test('watchpoints: write then read fire with FAR = the address', () =>
  withGuest(native(), 'watch', async (g) => {
    const wvar = g.sym('wvar');
    const rvar = g.sym('rvar');
    g.writeU64(rvar, READ_VALUE);
    const wWatch = { addr: wvar, len: 8, kind: 'write' as const };
    const rWatch = { addr: rvar, len: 8, kind: 'read' as const };
    g.vm.insertWatchpoint(wWatch);
    g.vm.insertWatchpoint(rWatch);
    const w = g.expectDebug(await g.runToStop(), EC_WATCHPOINT, g.sym('write_site'), 'write watchpoint');
    expectEq(w.far, wvar, 'FAR of the write watchpoint');
    expectEq((w.esr & ESR_WNR) !== 0, true, 'ESR WnR for the store');
    expectEq(g.readU64(wvar), 0n, 'wvar before the store completes');
    expectEq(w.watch?.kind, 'write', 'the watchpoint the VM names');
    // past the store with the write watchpoint off
    g.vm.removeWatchpoint(wWatch);
    g.expectDebug(await g.runToStop(true), EC_SOFTWARE_STEP, g.sym('write_site') + 4n, 'step over the store');
    expectEq(g.readU64(wvar), STORED, 'wvar after the store');
    const r = g.expectDebug(await g.runToStop(), EC_WATCHPOINT, g.sym('read_site'), 'read watchpoint');
    expectEq(r.far, rvar, 'FAR of the read watchpoint');
    expectEq((r.esr & ESR_WNR) !== 0, false, 'ESR WnR for the load');
    g.vm.removeWatchpoint(rWatch);
    g.expectDebug(await g.runToStop(true), EC_SOFTWARE_STEP, g.sym('read_site') + 4n, 'step over the load');
    g.expectShutdown(await g.runToStop(), 'run to the end');
    expectEq(g.readU64(g.sym('result')), READ_VALUE, 'value the guest loaded');
  }));
