/**
 * exitToStop: the one pure function from the addon's exit object to what the run control
 * does, with one name per reason from Rust (`cause`) to the stop reply.
 */
import { exitToStop, type ExitOutcome } from '../src/exit-to-stop';
import { stopReply } from '../src/gdb/stop';
import type { StopEvent } from '../src/target';
import type { VmExit } from '../src/vmm/native-vm';

const PC = 0x4000_0010n;

function stop(o: ExitOutcome): Omit<StopEvent, 'pc'> & { pc?: bigint } {
  if (o.kind !== 'stop') throw new Error(`wanted a stop, got ${o.kind}`);
  return o.stop;
}

describe('exitToStop', () => {
  test.each([
    ['swbreak', 0xf200_0000n, 'T05thread:01;swbreak:;'],
    ['hwbreak', 0xc200_0000n, 'T05thread:01;hwbreak:;'],
    ['step', 0xca00_0022n, 'T05thread:01;'],
  ] as const)('debug cause %s is the stop reason of that name, and the reply says so', (cause, esr, reply) => {
    const s = stop(exitToStop({ kind: 'debug', vcpu: 0, cause, esr, ec: Number(esr >> 26n), pc: PC, summary: 's' }));
    expect(s).toEqual({ vcpu: 0, esr, pc: PC, summary: 's', reason: { kind: cause } });
    expect(stopReply({ ...s, pc: PC })).toBe(reply);
  });

  test('a watchpoint names the watchpoint that fired; FAR outside it reports the watched address', () => {
    const watch = { addr: 0x4000_0804n, len: 4, kind: 'write' as const };
    const base: VmExit = { kind: 'debug', vcpu: 1, cause: 'watch', esr: 0xd200_0050n, ec: 0x34, pc: PC, watch };
    expect(stop(exitToStop({ ...base, far: 0x4000_0806n })).reason).toEqual({ kind: 'watch', watch: 'write', addr: 0x4000_0806n });
    // An 8-byte store at 0x800 overlaps the watch at 0x804: gdb only matches an address in its range.
    const below = stop(exitToStop({ ...base, far: 0x4000_0800n }));
    expect(below.reason).toEqual({ kind: 'watch', watch: 'write', addr: 0x4000_0804n });
    expect(stopReply({ ...below, pc: PC })).toBe('T05thread:02;watch:40000804;');
    const read = stop(exitToStop({ ...base, watch: { ...watch, kind: 'read' }, far: 0x4000_0804n }));
    expect(stopReply({ ...read, pc: PC })).toBe('T05thread:02;rwatch:40000804;');
    // No watchpoint named (an older addon): the kind comes from ESR.WnR (bit 6).
    const { watch: _w, ...bare } = base;
    expect(stop(exitToStop({ ...bare, esr: 0xd200_0010n, far: 0x10n })).reason).toEqual({ kind: 'watch', watch: 'read', addr: 0x10n });
  });

  test('an unknown debug syndrome is a SIGTRAP stop that names it, never ignored', () => {
    const s = stop(exitToStop({ kind: 'debug', vcpu: 0, cause: 'other', esr: 0xe000_0000n, ec: 0x38, pc: PC, summary: 'EC 0x38 BKPT32' }));
    expect(s.reason).toEqual({ kind: 'signal', signal: 5 });
    expect(s.detail).toBe('unexpected debug exit on vCPU 0: ESR 0xe0000000 (EC 0x38 BKPT32)');
  });

  test('system events end the guest; faults are SIGSEGV stops with the numbers', () => {
    expect(exitToStop({ kind: 'systemEvent', vcpu: 1, event: 'shutdown', eventType: 1 })).toEqual({
      kind: 'exit',
      code: 0,
      detail: 'PSCI SYSTEM_OFF from vCPU 1',
    });
    expect(exitToStop({ kind: 'systemEvent', vcpu: 0, event: 'crash', eventType: 3 })).toMatchObject({ kind: 'exit', code: 1 });
    expect(stop(exitToStop({ kind: 'systemEvent', vcpu: 0, event: 'other', eventType: 9 })).detail).toBe('unknown KVM system event type 9');
    expect(stop(exitToStop({ kind: 'internalError', vcpu: 0, suberror: 3 }))).toEqual({
      vcpu: 0,
      reason: { kind: 'signal', signal: 11 },
      detail: 'KVM internal error, suberror 3',
    });
    expect(stop(exitToStop({ kind: 'failEntry', vcpu: 0, hardwareReason: 0x10n, cpu: 1 })).detail).toBe(
      'KVM_RUN entry failed: hardware_entry_failure_reason 0x10 on cpu 1',
    );
    expect(stop(exitToStop({ kind: 'unknown', vcpu: 0, exitReason: 77 })).detail).toBe('unknown KVM exit reason 77 (kind unknown)');
  });

  test('MMIO, interrupts and re-injections are not stops', () => {
    expect(exitToStop({ kind: 'mmio', vcpu: 0, addr: 0x900_0000n, len: 4, isWrite: true, data: 0x41n })).toEqual({ kind: 'mmio' });
    expect(exitToStop({ kind: 'interrupted', vcpu: 0 })).toEqual({ kind: 'interrupted' });
    expect(exitToStop({ kind: 'reinjected', vcpu: 0, esr: 0xf200_0004n, vector: 0x200n, elr: PC })).toEqual({
      kind: 'reinjected',
      esr: 0xf200_0004n,
      vector: 0x200n,
      elr: PC,
    });
  });
});
