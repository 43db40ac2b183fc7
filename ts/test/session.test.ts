/**
 * Session over a fake Vm (same interface as the addon's): the state machine and its
 * events, all-stop with 2 vCPUs (and a raced second stop), step and step-over,
 * interrupt, MMIO served by the VMM, PSCI SYSTEM_OFF, re-injection, an unknown debug
 * exit, the capability policy, and cleanup on every ending leaving RAM identical.
 */
import { createHash } from 'crypto';
import { Session, type SessionStop } from '../src/session';
import { Vmm } from '../src/vmm/vmm';
import { A64, ESR, FakeVm, PSCI_SYSTEM_OFF, RAM_BASE, UART, fakeCaps, loadConst32 } from './session.fake-vm';

const at = (words: number): bigint => RAM_BASE + BigInt(words * 4);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** prints `text` on the UART, then powers off. */
function helloProgram(text: string): number[] {
  const out = [...loadConst32(9, UART)];
  for (const ch of Buffer.from(text)) out.push(A64.movz(0, ch), A64.strb(0, 9));
  out.push(...loadConst32(0, PSCI_SYSTEM_OFF), A64.HVC0);
  return out;
}

/** x1 += 1 three times through a loop body at word 2 (`body`), then power off. */
function countProgram(): { words: number[]; body: bigint } {
  // 0: movz x1,#0   1: movz x2,#0   2(body): add x1,x1,#1   3: add x2,x2,#1
  // 4..: if x2 == 3 fall through else loop -- no compare in the fake ISA, so unroll:
  const words = [A64.movz(1, 0), A64.NOP, A64.add(1, 1, 1), A64.add(1, 1, 1), A64.add(1, 1, 1), ...loadConst32(0, PSCI_SYSTEM_OFF), A64.HVC0];
  return { words, body: at(2) };
}

function open(vm: FakeVm, opts: Partial<ConstructorParameters<typeof Session>[0]> = {}): { s: Session; uart: Buffer[] } {
  const uart: Buffer[] = [];
  const s = new Session({ vm, capabilities: fakeCaps(), vmm: new Vmm({ uart: (b) => uart.push(b) }), ...opts });
  return { s, uart };
}

describe('Session state machine', () => {
  test('starts stopped, runs (event), serves the UART, exits on PSCI SYSTEM_OFF with code 0', async () => {
    const vm = new FakeVm();
    vm.program(RAM_BASE, helloProgram('hi\n'));
    const { s, uart } = open(vm);
    expect(s.state.state).toBe('stopped');
    const events: string[] = [];
    s.on('running', () => events.push('running'));
    s.on('exit', (e: { code: number }) => events.push(`exit ${e.code}`));
    const ev = await s.cont();
    expect(ev.reason).toEqual({ kind: 'exited', code: 0 });
    expect(s.state).toEqual({ state: 'exited', code: 0, detail: 'PSCI SYSTEM_OFF from vCPU 0' });
    expect(Buffer.concat(uart).toString()).toBe('hi\n');
    expect(events).toEqual(['running', 'exit 0']);
    // a resume after the exit says so instead of running
    expect((await s.cont()).reason.kind).toBe('exited');
  });

  test('single-step: one instruction per step, stop reason step, PC advances by 4', async () => {
    const vm = new FakeVm();
    vm.program(RAM_BASE, countProgram().words);
    const { s } = open(vm);
    const stops: SessionStop[] = [];
    s.on('stop', (st: SessionStop) => stops.push(st));
    const a = await s.step(0);
    expect(a.reason.kind).toBe('step');
    expect(a.pc).toBe(at(1));
    const b = await s.step(0);
    expect(b.pc).toBe(at(2));
    expect(vm.getReg(0, 'pc')).toBe(at(2));
    expect(stops.map((x) => x.reason.kind)).toEqual(['step', 'step']);
    expect(s.lastSyndrome).toBe(ESR.STEP);
  });

  test('a software breakpoint stops with swbreak, is stepped over on resume, and RAM is restored at exit', async () => {
    const vm = new FakeVm();
    const { words, body } = countProgram();
    vm.program(RAM_BASE, words);
    const image = sha(vm.ram);
    const { s } = open(vm);
    s.table.insert({ kind: 'sw', addr: body });
    expect(sha(vm.ram)).not.toBe(image); // the BRK is really in guest memory
    const hit = await s.cont();
    expect(hit).toMatchObject({ vcpu: 0, reason: { kind: 'swbreak' }, pc: body });
    expect(s.state.state === 'stopped' && s.state.stop.esr).toBe(ESR.BRK0);
    expect(s.lastSyndrome).toBe(ESR.BRK0);
    const end = await s.cont(); // step-over: the original add runs
    expect(end.reason).toEqual({ kind: 'exited', code: 0 });
    expect(vm.getReg(0, 'x1')).toBe(3n);
    expect(sha(vm.ram)).toBe(image);
    expect(vm.sw.size).toBe(0);
    expect(s.table.list()).toHaveLength(0);
  });

  test('hardware breakpoint and write watchpoint stop with their reasons and are stepped over', async () => {
    const vm = new FakeVm();
    const data = RAM_BASE + 0x800n;
    vm.program(RAM_BASE, [
      ...loadConst32(3, data), // 0,1: x3 = &data
      A64.movz(4, 385), // 2
      A64.str(4, 3), // 3: write data
      A64.NOP, // 4
      ...loadConst32(0, PSCI_SYSTEM_OFF),
      A64.HVC0,
    ]);
    const { s } = open(vm);
    s.table.insert({ kind: 'hw', addr: at(2) });
    s.table.insert({ kind: 'watch-write', addr: data, length: 8 });
    const hw = await s.cont();
    expect(hw).toMatchObject({ reason: { kind: 'hwbreak' }, pc: at(2) });
    const w = await s.cont();
    expect(w).toMatchObject({ reason: { kind: 'watch', watch: 'write', addr: data }, pc: at(3) });
    expect(vm.ram.readBigUInt64LE(0x800)).toBe(0n); // the watchpoint fires before the store
    expect((await s.cont()).reason.kind).toBe('exited');
    expect(vm.ram.readBigUInt64LE(0x800)).toBe(385n);
    expect(s.table.list().map((e) => e.hits)).toEqual([]); // cleaned up at exit
  });
});

describe('all-stop with 2 vCPUs', () => {
  test('a breakpoint on vCPU 1 stops vCPU 0 too (it was spinning)', async () => {
    const vm = new FakeVm({ vcpus: 2 });
    vm.program(RAM_BASE, [A64.b(0)]); // vCPU 0: b .
    vm.program(at(16), [A64.NOP, A64.NOP, A64.NOP, A64.NOP]);
    vm.resetVcpu(1, at(16));
    const { s } = open(vm);
    s.table.insert({ kind: 'sw', addr: at(18) });
    const ev = await s.cont();
    expect(ev).toMatchObject({ vcpu: 1, reason: { kind: 'swbreak' }, pc: at(18) });
    expect(vm.isRunning(0)).toBe(false);
    expect(vm.isRunning(1)).toBe(false);
    expect(vm.getReg(0, 'pc')).toBe(RAM_BASE);
    expect(s.pendingStops).toHaveLength(0);
  });

  test('a second stop that raced in is kept and reported at the next resume, not lost', async () => {
    const vm = new FakeVm({ vcpus: 2 });
    vm.program(RAM_BASE, [A64.NOP, A64.b(0)]);
    vm.program(at(16), [A64.NOP, A64.b(0)]);
    vm.resetVcpu(1, at(16));
    const { s } = open(vm);
    s.table.insert({ kind: 'sw', addr: RAM_BASE });
    s.table.insert({ kind: 'sw', addr: at(16) });
    const first = await s.cont();
    expect(first).toMatchObject({ vcpu: 0, reason: { kind: 'swbreak' }, pc: RAM_BASE });
    expect(s.pendingStops).toEqual([expect.objectContaining({ vcpu: 1, pc: at(16) })]);
    const second = await s.cont(); // vCPU 0 steps over its BRK, then vCPU 1's stop is reported
    expect(second).toMatchObject({ vcpu: 1, reason: { kind: 'swbreak' }, pc: at(16) });
    expect(vm.getReg(0, 'pc')).toBe(at(1));
    expect(s.table.find('sw', at(16))?.hits).toBe(1);
    expect(s.table.find('sw', RAM_BASE)?.hits).toBe(1);
  });

  test('a raced breakpoint stop is dropped when the breakpoint was removed meanwhile', async () => {
    const vm = new FakeVm({ vcpus: 2 });
    vm.program(RAM_BASE, [A64.NOP, A64.b(0)]);
    vm.program(at(16), [A64.NOP, A64.b(0)]);
    vm.resetVcpu(1, at(16));
    const { s } = open(vm);
    s.table.insert({ kind: 'sw', addr: RAM_BASE });
    s.table.insert({ kind: 'sw', addr: at(16) });
    await s.cont();
    expect(s.pendingStops).toHaveLength(1);
    s.table.remove('sw', at(16));
    setTimeout(() => s.interrupt(), 30);
    const next = await s.cont();
    expect(next.reason).toEqual({ kind: 'signal', signal: 2 });
    expect(vm.getReg(1, 'pc')).toBe(at(17)); // vCPU 1 ran its NOP: no stale stop
  });
});

describe('interrupt', () => {
  test('stops a spinning guest promptly with SIGINT', async () => {
    const vm = new FakeVm({ vcpus: 2 });
    vm.program(RAM_BASE, [A64.b(0)]);
    vm.resetVcpu(1, RAM_BASE);
    const { s } = open(vm);
    const p = s.cont();
    expect(s.state.state).toBe('running');
    const t0 = Date.now();
    setTimeout(() => s.interrupt(), 20);
    const ev = await p;
    expect(ev.reason).toEqual({ kind: 'signal', signal: 2 });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(s.state.state).toBe('stopped');
    expect(vm.isRunning(0) || vm.isRunning(1)).toBe(false);
  });
});

describe('VMM on the run loop', () => {
  test('MMIO to an unknown address is reported and the vCPU goes on; loads read 0', async () => {
    const vm = new FakeVm();
    vm.program(RAM_BASE, [...loadConst32(5, 0x0a00_0000n), A64.movz(6, 7), A64.str(6, 5), A64.movz(7, 9), A64.ldr(7, 5), ...loadConst32(0, PSCI_SYSTEM_OFF), A64.HVC0]);
    const { s } = open(vm);
    const seen: string[] = [];
    s.on('mmio-unknown', (_u: unknown, text: string) => seen.push(text));
    const stops: unknown[] = [];
    s.on('stop', (x) => stops.push(x));
    expect((await s.cont()).reason.kind).toBe('exited');
    expect(stops).toHaveLength(0);
    expect(seen).toEqual([
      'vCPU 0: 8-byte MMIO store of 0x7 to 0xa000000 at pc 0x4000000c: no device there (dropped)',
      'vCPU 0: 8-byte MMIO load to 0xa000000 at pc 0x40000014: no device there (reads 0)',
    ]);
    expect(vm.getReg(0, 'x7')).toBe(0n);
  });

  test('UART flag register reads TXFE|RXFE so polling guests go on', async () => {
    const vm = new FakeVm();
    vm.program(RAM_BASE, [...loadConst32(5, UART + 0x18n), A64.ldr(7, 5), ...loadConst32(0, PSCI_SYSTEM_OFF), A64.HVC0]);
    const { s } = open(vm);
    await s.cont();
    expect(vm.getReg(0, 'x7')).toBe(0x90n);
  });

  test("the guest's own BRK is re-injected: counted, emitted, and the guest continues", async () => {
    const vm = new FakeVm();
    const vbar = RAM_BASE + 0x400n;
    vm.program(RAM_BASE, [A64.brk(0x123), A64.NOP]);
    vm.program(vbar + 0x200n, [A64.movz(8, 0xc0de), ...loadConst32(0, PSCI_SYSTEM_OFF), A64.HVC0]);
    vm.setReg(0, 'vbar_el1', vbar);
    const { s } = open(vm);
    const re: unknown[] = [];
    s.on('reinjected', (e) => re.push(e));
    expect((await s.cont()).reason.kind).toBe('exited');
    expect(s.reinjections).toBe(1);
    expect(re).toEqual([{ vcpu: 0, esr: 0xf200_0123n, vector: vbar + 0x200n, elr: RAM_BASE }]);
    expect(vm.getReg(0, 'x8')).toBe(0xc0den);
  });

  test('an unknown debug exit is reported with its syndrome, never ignored', async () => {
    const vm = new FakeVm();
    vm.program(RAM_BASE, [A64.b(0)]);
    const { s } = open(vm);
    const strange = 0xe000_0000n; // EC 0x38 BKPT (AArch32): not one of ours
    vm.run = async (vcpu) => ({ kind: 'debug', vcpu, cause: 'other', esr: strange, ec: 0x38, pc: RAM_BASE, summary: 'decoded 0xe0000000' });
    const ev = await s.cont();
    expect(ev.reason).toEqual({ kind: 'signal', signal: 5 });
    const st = s.state;
    expect(st.state === 'stopped' && st.stop.detail).toBe('unexpected debug exit on vCPU 0: ESR 0xe0000000 (decoded 0xe0000000)');
    expect(s.lastSyndrome).toBe(strange);
  });

  test('a KVM internal error stops with SIGSEGV and says so', async () => {
    const vm = new FakeVm();
    const { s } = open(vm);
    vm.run = async (vcpu) => ({ kind: 'internalError', vcpu, suberror: 3 });
    const ev = await s.cont();
    expect(ev.reason).toEqual({ kind: 'signal', signal: 11 });
    expect(s.state.state === 'stopped' && s.state.stop.detail).toBe('KVM internal error, suberror 3');
  });
});

describe('capability policy applied', () => {
  test('no KVM_CAP_SET_GUEST_DEBUG: the guest still runs, debugging off with the reason, breakpoints refused', async () => {
    const vm = new FakeVm();
    vm.program(RAM_BASE, helloProgram('ok'));
    const { s, uart } = open(vm, { capabilities: fakeCaps({ setGuestDebug: false }) });
    expect(s.debug).toEqual({ mode: 'auto', enabled: false, reason: 'the kernel lacks KVM_CAP_SET_GUEST_DEBUG' });
    expect(s.target.capabilities()).toMatchObject({ debugEnabled: false, reason: 'the kernel lacks KVM_CAP_SET_GUEST_DEBUG' });
    expect(() => s.table.insert({ kind: 'sw', addr: RAM_BASE })).toThrow(expect.objectContaining({ code: 'ERR_DEBUG_OFF' }));
    await expect(s.step(0)).rejects.toMatchObject({ code: 'ERR_DEBUG_OFF', message: expect.stringContaining('the kernel lacks KVM_CAP_SET_GUEST_DEBUG') });
    expect(s.state.state).toBe('stopped');
    expect((await s.cont()).reason.kind).toBe('exited');
    expect(Buffer.concat(uart).toString()).toBe('ok');
  });

  test('a kernel that rejects the control flags: debugging off with the kernel text as the reason', () => {
    const vm = new FakeVm({ rejectDebug: 'errno 22 (EINVAL), control 0x3' });
    const { s } = open(vm);
    expect(s.debug.enabled).toBe(false);
    expect(s.debug.reason).toBe('the kernel rejected KVM_SET_GUEST_DEBUG: KVM_SET_GUEST_DEBUG failed (control 0x10003): errno 22 (EINVAL), control 0x3');
    expect(vm.debugOff).toBe(s.debug.reason);
  });

  test('--debug require refuses to start with the reason', () => {
    expect(() => open(new FakeVm(), { capabilities: fakeCaps({ setGuestDebug: false }), debug: 'require' })).toThrow(
      expect.objectContaining({ code: 'ERR_DEBUG_UNAVAILABLE', message: 'debugging required but the kernel lacks KVM_CAP_SET_GUEST_DEBUG' }),
    );
  });

  test('--debug off: the VM refuses breakpoints and steps with the reason, the guest runs', async () => {
    const vm = new FakeVm();
    vm.program(RAM_BASE, helloProgram('x'));
    const { s } = open(vm, { debug: 'off' });
    expect(s.debug).toEqual({ mode: 'off', enabled: false, reason: 'debugging turned off (--debug off)' });
    expect(vm.debugOff).toBe('debugging turned off (--debug off)');
    expect(() => s.table.insert({ kind: 'hw', addr: RAM_BASE })).toThrow(expect.objectContaining({ code: 'ERR_DEBUG_OFF' }));
    await s.cont();
    expect(vm.runs.every((r) => r.opts.singleStep !== true)).toBe(true);
  });
});

describe('cleanup leaves guest RAM identical on every ending', () => {
  async function armed(): Promise<{ vm: FakeVm; s: Session; image: string }> {
    const vm = new FakeVm();
    const { words } = countProgram();
    vm.program(RAM_BASE, words);
    const image = sha(vm.ram);
    const { s } = open(vm);
    s.table.insert({ kind: 'sw', addr: at(2) });
    s.table.insert({ kind: 'sw', addr: at(4) });
    s.table.insert({ kind: 'hw', addr: at(3) });
    expect(sha(vm.ram)).not.toBe(image);
    await s.cont();
    return { vm, s, image };
  }

  test('detach: breakpoints removed, guest debug off, the guest then runs to its end', async () => {
    const { vm, s, image } = await armed();
    const r = await s.detach();
    expect(r.errors).toEqual([]);
    expect(sha(vm.ram)).toBe(image);
    expect(vm.detached).toBe(1);
    const end = await s.runToEnd();
    expect(end).toEqual({ code: 0, detail: 'PSCI SYSTEM_OFF from vCPU 0' });
    expect(vm.getReg(0, 'x1')).toBe(3n);
  });

  test('guest exit', async () => {
    const { vm, s, image } = await armed();
    const seen: string[] = [];
    for (;;) {
      const ev = await s.cont();
      seen.push(`${ev.reason.kind}@${(ev.pc - RAM_BASE) / 4n}`);
      if (ev.reason.kind === 'exited') break;
    }
    expect(seen).toEqual(['hwbreak@3', 'swbreak@4', 'exited@-268435456']);
    expect(sha(vm.ram)).toBe(image);
    expect(vm.detached).toBe(1);
  });

  test('error / kill while running', async () => {
    const vm = new FakeVm();
    vm.program(RAM_BASE, [A64.NOP, A64.b(0)]);
    const image = sha(vm.ram);
    const { s } = open(vm);
    s.table.insert({ kind: 'sw', addr: RAM_BASE + 0x100n });
    const p = s.cont();
    setTimeout(() => s.kill('test error'), 10);
    const ev = await p;
    expect(ev.reason.kind).toBe('exited');
    expect(s.state).toEqual({ state: 'exited', code: 1, detail: 'test error' });
    expect(sha(vm.ram)).toBe(image);
  });

  test('a guest that rewrote our BRK: reported as a conflict, its bytes left alone', async () => {
    const vm = new FakeVm();
    vm.program(RAM_BASE, [A64.b(0)]);
    const { s } = open(vm);
    s.table.insert({ kind: 'sw', addr: at(8) });
    vm.program(at(8), [A64.movz(1, 1)]); // the guest's own write
    const r = await s.detach();
    expect(r.table.conflicts.map((c) => c.code)).toEqual(['ERR_PATCH_CONFLICT']);
    expect(vm.word(at(8))).toBe(A64.movz(1, 1));
  });
});
