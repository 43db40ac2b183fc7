// The pending-MMIO rule (complete an MMIO exit before changing registers), and PSCI
// SYSTEM_OFF ending the run with a shutdown event.
import { test } from '../harness';
import { native } from '../ctx';
import { TEST_MMIO, expectEq, withGuest } from '../guest';
import { showExit } from '../native';

/** mmio.S alt_target stores this; seeing it proves alt_target's first instruction ran. */
const ALT_VALUE = 0xa1n;

test('pending MMIO: setting PC after an MMIO exit resumes exactly there', () =>
  withGuest(native(), 'mmio', async (g) => {
    const first = await g.run();
    if (first.kind !== 'mmio' || first.addr !== TEST_MMIO) throw new Error(`first exit: ${showExit(first)}`);
    expectEq(g.vm.getReg(0, 'pc'), g.sym('mmio_store'), 'PC at the MMIO exit');
    g.vm.setReg(0, 'pc', g.sym('alt_target'));
    expectEq(g.vm.getReg(0, 'pc'), g.sym('alt_target'), 'PC read back');
    const second = await g.run();
    if (second.kind !== 'mmio' || second.addr !== TEST_MMIO + 8n) throw new Error(`after the PC change: ${showExit(second)}`);
    expectEq(second.data, ALT_VALUE, 'data stored by alt_target (0 = its first instruction was skipped)');
    g.expectShutdown(await g.run(), 'run to the end');
  }));

test('PSCI SYSTEM_OFF ends the run with a shutdown exit (hello guest)', () =>
  withGuest(native(), 'hello', async (g) => {
    g.expectShutdown(await g.runToStop(), 'hello');
    expectEq(g.uart, 'Hello from a kvm-debug arm64 guest!\n', 'UART output');
  }));
