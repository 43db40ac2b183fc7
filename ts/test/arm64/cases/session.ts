// The Session API (ts/src/session.ts, issue 4) end to end on real KVM: breakpoints, step,
// watch, hardware breakpoint and re-injection while debugging; detaching leaves RAM identical.
import { test } from '../harness';
import { native } from '../ctx';
import { RAM_BASE, expectEq, hex, loadGuest, sha256, MEM_MIB } from '../guest';
import { Session } from '../../../src/session';
import { Vmm, loadGuestImage } from '../../../src/vmm/vmm';
import type { KvmCapabilities, KvmVm } from '../../../src/vmm/native-vm';
import type { StopEvent } from '../../../src/target';

/** A Session over a fresh VM with guest `name`; UART output collected. */
function open(name: string, stopOnReinjection = false) {
  const guest = loadGuest(name);
  const vm = native().Vm.create({ memMib: MEM_MIB, vcpus: 1, ramBase: RAM_BASE }) as unknown as KvmVm;
  loadGuestImage(vm, guest.image);
  let uart = '';
  const session = new Session({
    vm,
    capabilities: native().kvmCapabilities() as unknown as KvmCapabilities,
    debug: 'require',
    vmm: new Vmm({ uart: (b) => (uart += b.toString('latin1')) }),
    stopOnReinjection,
  });
  return { guest, vm, session, uart: () => uart };
}

function show(ev: StopEvent): string {
  return JSON.stringify({ ...ev, pc: hex(ev.pc) }, (_k, v) => (typeof v === 'bigint' ? hex(v) : v));
}

function expectStop(ev: StopEvent, kind: string, pc: bigint | undefined, what: string): void {
  if (ev.reason.kind !== kind || (pc !== undefined && ev.pc !== pc)) {
    throw new Error(`${what}: expected ${kind}${pc === undefined ? '' : ` at ${hex(pc)}`}, got ${show(ev)}`);
  }
}

test('Session: sw break, step, hw break, watch, detach leaves RAM identical, guest ends', async () => {
  const { guest, vm, session, uart } = open('demo');
  try {
    const square = guest.sym('square');
    const add = guest.sym('add');
    const result = guest.sym('result');
    session.table.insert({ kind: 'sw', addr: square });
    expectStop(await session.cont(), 'swbreak', square, 'cont to square');
    expectEq(vm.getReg(0, 'x0'), 1n, 'square() argument');
    expectStop(await session.step(0), 'step', square + 4n, 'step');
    // continue: the table steps over its own breakpoint and stops at the next call
    expectStop(await session.cont(), 'swbreak', square, 'second hit');
    expectEq(vm.getReg(0, 'x0'), 2n, 'square() argument at the second hit');
    session.table.remove('sw', square);
    session.table.insert({ kind: 'hw', addr: add });
    expectStop(await session.cont(), 'hwbreak', add, 'hw breakpoint at add');
    session.table.remove('hw', add);
    session.table.insert({ kind: 'watch-write', addr: result, length: 8 });
    const w = await session.cont();
    if (w.reason.kind !== 'watch' || w.reason.addr !== result) throw new Error(`write watchpoint: got ${show(w)}`);
    session.table.remove('watch-write', result, 8);
    session.table.insert({ kind: 'sw', addr: guest.sym('print_u64') });
    // The debugger's view hides the BRK; the VM's record says it is there.
    expectEq(sha256(vm.readPhys(RAM_BASE, guest.image.length)), sha256(guest.image), 'RAM through the debugger with a BRK set');
    expectEq(vm.swBreakpoints().length, 1, 'BRKs of ours with a breakpoint set');
    const report = await session.detach();
    expectEq(report.errors.length, 0, `detach errors (${report.errors.join('; ')})`);
    // With no BRK of ours recorded, readPhys is raw RAM: a BRK left behind would show.
    expectEq(vm.swBreakpoints().length, 0, 'BRKs of ours after detach');
    expectEq(sha256(vm.readPhys(RAM_BASE, guest.image.length)), sha256(guest.image), 'RAM hash after detach');
    const end = await session.runToEnd();
    expectEq(end?.code, 0, 'exit code after detach');
    expectEq(uart(), '385\n', 'UART output');
  } finally {
    await session.close();
  }
});

test('Session: a guest BRK while debugging is re-injected (counted, or a stop when asked)', async () => {
  for (const stopOnReinjection of [false, true]) {
    const { guest, vm, session } = open('brk_vector', stopOnReinjection);
    try {
      session.table.insert({ kind: 'sw', addr: guest.sym('unexpected_vector') });
      let ev = await session.cont();
      if (stopOnReinjection) {
        if (ev.reason.kind !== 'reinjected' || ev.reason.esr !== 0xf200_0123n) throw new Error(`expected a reinjected stop, got ${show(ev)}`);
        ev = await session.cont();
      }
      expectStop(ev, 'exited', undefined, `end of the guest (stopOnReinjection=${stopOnReinjection})`);
      expectEq(session.reinjections, 1, 'session re-injections');
      const rec = guest.sym('record');
      expectEq(vm.readPhys(rec, 8).readBigUInt64LE(0), 0xf200_0123n, 'ESR_EL1 seen by the guest');
      expectEq(vm.readPhys(rec + 8n, 8).readBigUInt64LE(0), guest.sym('brk_site'), 'ELR_EL1 seen by the guest');
    } finally {
      await session.close();
    }
  }
});
