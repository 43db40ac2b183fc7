import { BreakpointTable } from '../src/breakpoints';
import { REG_PC } from '../src/gdb/aarch64';
import type { PolicyCapabilities } from '../src/policy';
import { FakeTarget, HIGH_VA, INSN, MMIO_BASE, RAM_BASE } from './gdb/fake-target';

const CAPS: PolicyCapabilities = { available: true, hwBreakpoints: 2, hwWatchpoints: 2 };

function setup(vcpus = 1): { t: FakeTarget; table: BreakpointTable } {
  const t = new FakeTarget({ vcpus });
  return { t, table: new BreakpointTable(t, { capabilities: CAPS }) };
}

const insertsOf = (t: FakeTarget): number => t.calls.filter((c) => c.op === 'insert').length;
const removesOf = (t: FakeTarget): number => t.calls.filter((c) => c.op === 'remove').length;

describe('BreakpointTable', () => {
  test('reference-counted per (address, kind): one target insert, one remove', () => {
    const { t, table } = setup();
    expect(table.insert({ kind: 'sw', addr: RAM_BASE + 8n }).installed).toBe(true);
    expect(table.insert({ kind: 'sw', addr: RAM_BASE + 8n }).installed).toBe(false);
    expect(table.insert({ kind: 'hw', addr: RAM_BASE + 8n }).installed).toBe(true); // another kind, same address
    expect(insertsOf(t)).toBe(2);
    expect(table.find('sw', RAM_BASE + 8n)?.refs).toBe(2);
    expect(table.remove('sw', RAM_BASE + 8n)).toBe(true);
    expect(t.word(RAM_BASE + 8n)).toBe(INSN.BRK0);
    expect(table.remove('sw', RAM_BASE + 8n)).toBe(true);
    expect(t.word(RAM_BASE + 8n)).toBe(INSN.NOP);
    expect(table.remove('sw', RAM_BASE + 8n)).toBe(false);
    expect(removesOf(t)).toBe(1);
    expect(table.list().map((e) => e.requested)).toEqual(['hw']);
  });

  test('a code breakpoint off an instruction boundary is refused before the target sees it', () => {
    const { t, table } = setup();
    for (const kind of ['sw', 'hw'] as const) {
      let err: unknown;
      try {
        table.insert({ kind, addr: RAM_BASE + 2n });
      } catch (e) {
        err = e;
      }
      expect((err as { code?: string }).code).toBe('ERR_MISALIGNED');
      expect((err as Error).message).toBe('address 0x40000002 is not 4-byte aligned, as an A64 breakpoint requires');
    }
    expect(insertsOf(t)).toBe(0);
    expect(table.list()).toEqual([]);
  });

  test('watchpoints are keyed by length too; the target refuses past its slots and the table records nothing', () => {
    const { t, table } = setup();
    table.insert({ kind: 'watch-write', addr: RAM_BASE + 0x800n, length: 8 });
    table.insert({ kind: 'watch-write', addr: RAM_BASE + 0x800n, length: 4 });
    expect(() => table.insert({ kind: 'watch-read', addr: RAM_BASE + 0x900n, length: 4 })).toThrow(
      expect.objectContaining({ code: 'ERR_HW_SLOTS', addr: RAM_BASE + 0x900n }),
    );
    expect(t.watch).toHaveLength(2);
    expect(table.list()).toHaveLength(2);
  });

  test('a virtual address is translated at insert time; VA and PA are both kept', () => {
    const { t, table } = setup();
    const va = HIGH_VA + 0x100n;
    const { entry } = table.insert({ kind: 'sw', addr: va });
    expect(entry.addr).toBe(va);
    expect(entry.pa).toBe(RAM_BASE + 0x100n);
    expect(t.word(RAM_BASE + 0x100n)).toBe(INSN.BRK0);
    // The guest remaps the page afterwards: removal still restores the original PA.
    t.remap.set(va & ~0xfffn, RAM_BASE + 0x2000n);
    table.remove('sw', va);
    expect(t.word(RAM_BASE + 0x100n)).toBe(INSN.NOP);
  });

  test('sw on unwritable memory falls back to hw with a note; refused when slots run out', () => {
    const { t, table } = setup();
    const a = table.insert({ kind: 'sw', addr: MMIO_BASE });
    expect(a.entry.installed).toBe('hw');
    expect(a.note).toMatch(/placed as a hardware breakpoint: not RAM \(address 0x9000000\)/);
    const b = table.insert({ kind: 'sw', addr: 0xdead0000n });
    expect(b.note).toMatch(/level 0 descriptor invalid \(address 0xdead0000\)/);
    expect(() => table.insert({ kind: 'sw', addr: 0xbeef0000n })).toThrow(
      expect.objectContaining({
        code: 'ERR_NOT_WRITABLE',
        message: expect.stringMatching(/software breakpoint at 0xbeef0000 .*all 2 hardware breakpoint slots are in use/),
      }),
    );
    expect(t.hw).toHaveLength(2);
    expect(table.list()).toHaveLength(2);
  });

  test('a target failure on insert leaves the table unchanged', () => {
    const { t, table } = setup();
    t.program(RAM_BASE + 0x40n, [INSN.BRK0 | (1 << 5)]);
    expect(() => table.insert({ kind: 'sw', addr: RAM_BASE + 0x40n })).toThrow(expect.objectContaining({ code: 'ERR_ALREADY_PATCHED' }));
    expect(table.list()).toEqual([]);
  });

  test('hit counts, and one-shot references dropped at the first hit', async () => {
    const { t, table } = setup();
    table.insert({ kind: 'sw', addr: RAM_BASE + 0x10n, oneShot: true });
    table.insert({ kind: 'sw', addr: RAM_BASE + 0x20n });
    table.insert({ kind: 'sw', addr: RAM_BASE + 0x20n, oneShot: true });
    let ev = await table.resume([{ vcpu: 'all', step: false }]);
    expect(ev).toMatchObject({ reason: { kind: 'swbreak' }, pc: RAM_BASE + 0x10n });
    expect(table.find('sw', RAM_BASE + 0x10n)).toBeUndefined(); // gone after its one hit
    expect(t.word(RAM_BASE + 0x10n)).toBe(INSN.NOP);
    ev = await table.resume([{ vcpu: 'all', step: false }]);
    expect(ev.pc).toBe(RAM_BASE + 0x20n);
    const e = table.find('sw', RAM_BASE + 0x20n);
    expect(e).toMatchObject({ hits: 1, refs: 1, oneShotRefs: 0 });
    t.setReg(0, REG_PC, RAM_BASE);
    await table.resume([{ vcpu: 'all', step: false }]);
    expect(e?.hits).toBe(2);
  });

  test('a sw breakpoint placed in a hw slot still stops as swbreak', async () => {
    const { t, table } = setup();
    t.remap.set(0x7000_0000n, MMIO_BASE); // a VA onto a device page
    t.setReg(0, REG_PC, 0x7000_0000n);
    table.insert({ kind: 'sw', addr: 0x7000_0000n });
    const ev = await table.resume([{ vcpu: 'all', step: false }]);
    expect(ev.reason).toEqual({ kind: 'swbreak' });
    expect(table.find('sw', 0x7000_0000n)?.hits).toBe(1);
  });

  test('step-over with 2 vCPUs: the other vCPU stays stopped while the breakpoint is out', async () => {
    const { t, table } = setup(2);
    t.setReg(1, REG_PC, RAM_BASE + 0x400n);
    const bp = RAM_BASE + 0x10n;
    table.insert({ kind: 'sw', addr: bp });
    let ev = await table.resume([{ vcpu: 'all', step: false }]);
    expect(ev).toMatchObject({ vcpu: 0, pc: bp, reason: { kind: 'swbreak' } });
    const pc1 = t.reg(1, REG_PC);
    t.resumes.length = 0;
    // vCPU 1 heads into the same breakpoint later: it must still be there for it.
    t.setReg(1, REG_PC, bp - 8n);
    ev = await table.resume([{ vcpu: 'all', step: false }]);
    expect(t.resumes[0]).toEqual({ run: [[0, true]], swPresent: [] }); // vCPU 0 alone, bp lifted
    expect(t.resumes[1]?.swPresent).toEqual([bp]); // back before everyone runs
    expect(t.resumes[1]?.run).toEqual([
      [0, false],
      [1, false],
    ]);
    expect(ev).toMatchObject({ vcpu: 1, pc: bp, reason: { kind: 'swbreak' } });
    expect(pc1).not.toBe(bp);
    expect(table.find('sw', bp)?.hits).toBe(2);
  });

  test('step-over when the request itself is a step: one step, breakpoint back', async () => {
    const { t, table } = setup();
    table.insert({ kind: 'hw', addr: RAM_BASE + 4n });
    await table.resume([{ vcpu: 0, step: false }]);
    expect(t.reg(0, REG_PC)).toBe(RAM_BASE + 4n);
    t.resumes.length = 0;
    const ev = await table.resume([{ vcpu: 0, step: true }]);
    expect(ev).toMatchObject({ reason: { kind: 'step' }, pc: RAM_BASE + 8n });
    expect(t.resumes).toHaveLength(1);
    expect(t.hw.map((b) => b.addr)).toEqual([RAM_BASE + 4n]);
  });

  test('step-over of a watchpoint: it fires before the access, so resuming must lift it once', async () => {
    const { t, table } = setup();
    t.program(RAM_BASE, [INSN.STR_X1_X0]);
    t.setReg(0, 0, RAM_BASE + 0x800n);
    t.setReg(0, 1, 0x55n);
    table.insert({ kind: 'watch-write', addr: RAM_BASE + 0x800n, length: 8 });
    table.insert({ kind: 'sw', addr: RAM_BASE + 0x10n });
    const before = t.ram.readBigUInt64LE(0x800);
    let ev = await table.resume([{ vcpu: 'all', step: false }]);
    expect(ev).toMatchObject({ pc: RAM_BASE, reason: { kind: 'watch', watch: 'write', addr: RAM_BASE + 0x800n } });
    expect(t.ram.readBigUInt64LE(0x800)).toBe(before); // not yet written
    ev = await table.resume([{ vcpu: 'all', step: false }]);
    expect(ev).toMatchObject({ pc: RAM_BASE + 0x10n, reason: { kind: 'swbreak' } });
    expect(t.ram.readBigUInt64LE(0x800)).toBe(0x55n);
    expect(t.watch).toHaveLength(1); // back in place
    expect(table.find('watch-write', RAM_BASE + 0x800n, 8)?.hits).toBe(1);
  });

  test('a watch stop whose FAR lies below the watched bytes (an overlapping store) is still stepped over', async () => {
    const { t, table } = setup();
    t.program(RAM_BASE, [INSN.STR_X1_X0]);
    t.setReg(0, 0, RAM_BASE + 0x800n); // 8-byte store over 0x800..0x807; the watch covers 0x804..0x807
    t.setReg(0, 1, 0x55n);
    table.insert({ kind: 'watch-write', addr: RAM_BASE + 0x804n, length: 4 });
    table.insert({ kind: 'sw', addr: RAM_BASE + 0x10n });
    let ev = await table.resume([{ vcpu: 'all', step: false }]);
    // FAR 0x800 is reported as the watched 0x804, so gdb's `watch:` lands in its watchpoint's range.
    expect(ev).toMatchObject({ pc: RAM_BASE, reason: { kind: 'watch', watch: 'write', addr: RAM_BASE + 0x804n } });
    expect(table.find('watch-write', RAM_BASE + 0x804n, 4)?.hits).toBe(1);
    ev = await table.resume([{ vcpu: 'all', step: false }]);
    expect(ev).toMatchObject({ pc: RAM_BASE + 0x10n, reason: { kind: 'swbreak' } });
    expect(t.ram.readBigUInt64LE(0x800)).toBe(0x55n);
  });

  test('no step-over of an entry removed meanwhile (gdb does its own step-over)', async () => {
    const { t, table } = setup();
    table.insert({ kind: 'sw', addr: RAM_BASE + 8n });
    await table.resume([{ vcpu: 'all', step: false }]);
    table.remove('sw', RAM_BASE + 8n);
    t.resumes.length = 0;
    const ev = await table.resume([{ vcpu: 0, step: true }]);
    expect(ev).toMatchObject({ reason: { kind: 'step' }, pc: RAM_BASE + 12n });
    expect(t.resumes).toHaveLength(1);
    expect(t.sw.size).toBe(0); // not re-inserted
  });

  test('an interrupt during the step-over step is not lost', async () => {
    const { t, table } = setup();
    t.program(RAM_BASE + 0x20n, [INSN.NOP, INSN.B_BACK2]);
    table.insert({ kind: 'sw', addr: RAM_BASE + 0x10n });
    await table.resume([{ vcpu: 'all', step: false }]);
    const running = table.resume([{ vcpu: 'all', step: false }]);
    table.interrupt(); // lands while vCPU 0 steps over the breakpoint
    const ev = await running;
    expect(ev.reason).toEqual({ kind: 'signal', signal: 2 });
    expect(t.resumes.length).toBe(2); // the real resume never started
    expect(t.sw.size).toBe(1);
  });

  test('no step-over when the stopped vCPU is not resumed', async () => {
    const { t, table } = setup(2);
    table.insert({ kind: 'sw', addr: RAM_BASE + 8n });
    await table.resume([{ vcpu: 0, step: false }]);
    t.resumes.length = 0;
    await table.resume([{ vcpu: 1, step: true }]);
    expect(t.resumes).toEqual([{ run: [[1, true]], swPresent: [RAM_BASE + 8n] }]);
  });

  test('removeAll restores memory and reports a conflict without losing the rest', () => {
    const { t, table } = setup();
    const original = Buffer.from(t.ram);
    table.insert({ kind: 'sw', addr: RAM_BASE });
    table.insert({ kind: 'sw', addr: RAM_BASE + 0x40n });
    table.insert({ kind: 'sw', addr: RAM_BASE + 0x80n });
    table.insert({ kind: 'hw', addr: RAM_BASE + 0xc0n });
    table.insert({ kind: 'watch-access', addr: RAM_BASE + 0x800n, length: 2 });
    t.program(RAM_BASE + 0x40n, [INSN.ADD_X0_1]); // the guest rewrote our BRK
    const report = table.removeAll();
    expect(report.conflicts).toHaveLength(1);
    expect(report.conflicts[0]).toMatchObject({ code: 'ERR_PATCH_CONFLICT', entry: { addr: RAM_BASE + 0x40n } });
    expect(report.conflicts[0]?.message).toMatch(/guest rewrote our BRK/);
    expect(report.removed.map((e) => e.addr)).toEqual([RAM_BASE, RAM_BASE + 0x80n, RAM_BASE + 0xc0n, RAM_BASE + 0x800n]);
    expect(table.list()).toEqual([]);
    expect(t.hw).toEqual([]);
    expect(t.watch).toEqual([]);
    const expected = Buffer.from(original);
    expected.writeUInt32LE(INSN.ADD_X0_1, 0x40);
    expect(t.ram.equals(expected)).toBe(true);
  });

  test('debugging off: the target refuses every insert with the reason, and the table records nothing', () => {
    const t = new FakeTarget({ caps: { debugEnabled: false, reason: 'debugging turned off (--debug off)' } });
    const table = new BreakpointTable(t, { capabilities: CAPS });
    for (const kind of ['sw', 'hw', 'watch-write'] as const) {
      expect(() => table.insert({ kind, addr: RAM_BASE })).toThrow(
        expect.objectContaining({ code: 'ERR_DEBUG_OFF', message: expect.stringContaining('--debug off') }),
      );
    }
    expect(table.list()).toEqual([]);
    expect(t.ram.readUInt32LE(0)).not.toBe(INSN.BRK0);
  });
});
