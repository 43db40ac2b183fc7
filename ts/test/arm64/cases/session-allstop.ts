// Session on real KVM with 2 vCPUs (all-stop: vCPU 1 sits powered off inside KVM_RUN until
// PSCI CPU_ON, and must be stopped with the others), unknown MMIO served without a stop,
// and a kill while the guest runs leaving no BRK in RAM.
import { test } from '../harness';
import { native } from '../ctx';
import { RAM_BASE, TEST_MMIO, MEM_MIB, expectEq, hex, loadGuest, sha256 } from '../guest';
import { Session } from '../../../src/session';
import { Vmm, loadGuestImage, type UnknownMmio } from '../../../src/vmm/vmm';
import type { KvmCapabilities, KvmVm } from '../../../src/vmm/native-vm';
import type { StopEvent } from '../../../src/target';

/** How soon every vCPU must be stopped after the first stop (generous for the emulated machine). */
const PROMPT_MS = 5_000;
const SPIN_MS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function open(name: string, vcpus: number) {
  const guest = loadGuest(name);
  const vm = native().Vm.create({ memMib: MEM_MIB, vcpus, ramBase: RAM_BASE }) as unknown as KvmVm;
  loadGuestImage(vm, guest.image);
  let uart = '';
  const session = new Session({
    vm,
    capabilities: native().kvmCapabilities() as unknown as KvmCapabilities,
    debug: 'require',
    vmm: new Vmm({ uart: (b) => (uart += b.toString('latin1')) }),
  });
  return { guest, vm, session, uart: () => uart };
}

function reason(ev: StopEvent): string {
  return JSON.stringify(ev.reason, (_k, v) => (typeof v === 'bigint' ? hex(v) : v)) + ` vcpu ${ev.vcpu} pc ${hex(ev.pc)}`;
}

test('Session all-stop, 2 vCPUs: a stop on vCPU 0 stops vCPU 1 (blocked in KVM_RUN) promptly; runs to the end', async () => {
  const { guest, vm, session, uart } = open('demo', 2);
  try {
    const square = guest.sym('square');
    session.table.insert({ kind: 'sw', addr: square });
    const t0 = Date.now();
    const ev = await session.cont();
    if (ev.reason.kind !== 'swbreak' || ev.vcpu !== 0 || ev.pc !== square) throw new Error(`first stop: ${reason(ev)}`);
    if (Date.now() - t0 > PROMPT_MS) throw new Error(`all-stop took ${Date.now() - t0} ms`);
    expectEq(vm.isRunning(1), false, 'vCPU 1 running after the all-stop');
    expectEq(vm.isRunning(0), false, 'vCPU 0 running after the all-stop');
    const st = await session.step(0);
    if (st.reason.kind !== 'step' || st.pc !== square + 4n) throw new Error(`step: ${reason(st)}`);
    // Ten calls of square(): nine more hits, each stepped over by the table.
    for (let i = 2; i <= 10; i++) {
      const hit = await session.cont();
      if (hit.reason.kind !== 'swbreak' || hit.pc !== square) throw new Error(`hit ${i}: ${reason(hit)}`);
      expectEq(vm.getReg(0, 'x0'), BigInt(i), `square() argument at hit ${i}`);
    }
    expectEq(session.table.find('sw', square)?.hits, 10, 'hit count');
    const end = await session.cont();
    if (end.reason.kind !== 'exited' || end.reason.code !== 0) throw new Error(`end: ${reason(end)}`);
    expectEq(uart(), '385\n', 'UART output');
    expectEq(sha256(vm.readPhys(RAM_BASE, guest.image.length)), sha256(guest.image), 'RAM hash after the exit');
    expectEq(vm.isRunning(1), false, 'vCPU 1 running after the exit');
  } finally {
    await session.close();
  }
});

test('Session: MMIO to an unknown device is reported and the guest runs on (mmio guest)', async () => {
  const { session, vm } = open('mmio', 1);
  try {
    const seen: UnknownMmio[] = [];
    session.on('mmio-unknown', (u: UnknownMmio) => seen.push(u));
    const stops: StopEvent[] = [];
    session.on('stop', (s: StopEvent) => stops.push(s));
    const running = session.cont();
    // A hang here must say where the guest was, not just time out.
    const late = await Promise.race([running.then(() => false), sleep(10_000).then(() => true)]);
    if (late) {
      const where = `vCPU running ${vm.isRunning(0)}, session ${session.state.state}, unknown MMIO ${seen.length}, re-injections ${session.reinjections}`;
      session.interrupt();
      const ev = await running;
      const regs = ['esr_el1', 'elr_el1', 'far_el1', 'spsr_el1', 'x0', 'x2'].map((r) => `${r} ${hex(vm.getReg(0, r))}`).join(', ');
      const mmio = seen.map((u) => `${u.isWrite ? 'store' : 'load'} ${hex(u.addr)} pc ${u.pc === undefined ? '?' : hex(u.pc)}`).join('; ');
      throw new Error(`the mmio guest did not end in 10 s (${where}); interrupted at ${reason(ev)}; ${regs}; MMIO: ${mmio}`);
    }
    const end = await running;
    if (end.reason.kind !== 'exited') throw new Error(`expected the guest to run to its end, got ${reason(end)}`);
    expectEq(stops.length, 0, 'stops while serving MMIO');
    if (!seen.some((u) => u.addr === TEST_MMIO && u.isWrite)) {
      throw new Error(`no unknown-MMIO report for ${hex(TEST_MMIO)}: ${JSON.stringify(seen.map((u) => hex(u.addr)))}`);
    }
  } finally {
    await session.close();
  }
});

test('Session: kill while the guest runs removes our BRKs (RAM identical)', async () => {
  const { guest, vm, session } = open('spin', 1);
  try {
    const p = session.cont();
    await sleep(SPIN_MS);
    session.interrupt();
    const ev = await p;
    if (ev.reason.kind !== 'signal') throw new Error(`interrupt: ${reason(ev)}`);
    session.table.insert({ kind: 'sw', addr: guest.sym('_start') }); // already behind the guest
    // The debugger's reads hide our BRK; the VM's record says it is there.
    expectEq(vm.swBreakpoints().length, 1, 'BRKs of ours in RAM');
    const running = session.cont();
    await sleep(SPIN_MS);
    expectEq(vm.isRunning(0), true, 'guest running before the kill');
    session.kill('test kill');
    const end = await running;
    expectEq(end.reason.kind, 'exited', 'resume result after kill');
    // With no BRK of ours recorded, readPhys is raw RAM: a BRK left behind would show.
    expectEq(vm.swBreakpoints().length, 0, 'BRKs of ours after kill');
    expectEq(sha256(vm.readPhys(RAM_BASE, guest.image.length)), sha256(guest.image), 'RAM hash after kill');
    expectEq(vm.isRunning(0), false, 'vCPU running after kill');
  } finally {
    await session.close();
  }
});
