/**
 * Exit to stop: one pure function from the addon's exit object (docs/native-api.md
 * `VmExit`) to what the run control does with it. A debug exit's `cause` is already
 * the StopReason's name ('swbreak', 'hwbreak', 'step', 'watch'), and the stop reply
 * names it the same way (ts/src/gdb/stop.ts): one name from Rust to gdb.
 */

import type { StopEvent, StopReason, WatchKind } from './target';
import type { VmExit } from './vmm/native-vm';

/** gdb signal numbers (gdb/signals.def). */
export const SIGINT = 2;
/** gdb signal numbers (gdb/signals.def). */
export const SIGTRAP = 5;
/** gdb signal numbers (gdb/signals.def). */
export const SIGSEGV = 11;
/** ESR_ELx.ISS bit 6 for watchpoints: WnR, 1 = write (Arm ARM D17.2.37, ISS for EC 0x34). */
const ESR_WNR = 1n << 6n;
/** Exit code of a guest that powered off with PSCI SYSTEM_OFF (it carries no status). */
export const EXIT_POWER_OFF = 0;
/** Exit code when the guest crashed (PSCI/KVM crash event) or the VM failed. */
export const EXIT_GUEST_FAILURE = 1;

/** What one exit means for the run control. */
export type ExitOutcome =
  /** An MMIO access for the VMM; the vCPU runs on. */
  | { kind: 'mmio' }
  /** A guest exception went back to the guest (reported because it was asked for). */
  | { kind: 'reinjected'; esr: bigint; vector: bigint; elr: bigint | undefined }
  /** The run was stopped on request. */
  | { kind: 'interrupted' }
  /** The guest ended (PSCI SYSTEM_OFF/RESET, a crash event). */
  | { kind: 'exit'; code: number; detail: string }
  /** A stop to report; `pc` is absent when the exit did not carry it. */
  | { kind: 'stop'; stop: Omit<StopEvent, 'pc'> & { pc?: bigint } };

function hex(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}

function fault(vcpu: number, detail: string): ExitOutcome {
  return { kind: 'stop', stop: { vcpu, reason: { kind: 'signal', signal: SIGSEGV }, detail } };
}

/** The watch reason of a watchpoint exit: FAR when it lies in the watchpoint, else its address. */
function watchReason(exit: VmExit): StopReason {
  const far = exit.far ?? 0n;
  const w = exit.watch;
  if (!w) {
    const watch: WatchKind = ((exit.esr ?? 0n) & ESR_WNR) !== 0n ? 'write' : 'read';
    return { kind: 'watch', watch, addr: far };
  }
  // FAR can lie outside the watched bytes (an access that only overlaps them, DC ZVA;
  // Arm ARM D2.10.5): report the watched address, as gdbserver's
  // aarch64_stopped_data_address does, so gdb matches it to its watchpoint.
  const inside = far >= w.addr && far < w.addr + BigInt(w.len);
  return { kind: 'watch', watch: w.kind, addr: inside ? far : w.addr };
}

/** What an exit of the addon's `Vm.run` means. Pure. */
export function exitToStop(exit: VmExit): ExitOutcome {
  const v = exit.vcpu;
  switch (exit.kind) {
    case 'mmio':
      return { kind: 'mmio' };
    case 'interrupted':
      return { kind: 'interrupted' };
    case 'reinjected':
      return { kind: 'reinjected', esr: exit.esr ?? 0n, vector: exit.vector ?? 0n, elr: exit.elr };
    case 'systemEvent':
      switch (exit.event) {
        case 'shutdown':
          return { kind: 'exit', code: EXIT_POWER_OFF, detail: `PSCI SYSTEM_OFF from vCPU ${v}` };
        case 'reset':
          return { kind: 'exit', code: EXIT_POWER_OFF, detail: `PSCI SYSTEM_RESET from vCPU ${v} (not rebooted)` };
        case 'crash':
          return { kind: 'exit', code: EXIT_GUEST_FAILURE, detail: `the guest crashed (system event crash, vCPU ${v})` };
        default:
          return fault(v, `unknown KVM system event type ${exit.eventType ?? '?'}`);
      }
    case 'debug': {
      const esr = exit.esr ?? 0n;
      const base = {
        vcpu: v,
        esr,
        ...(exit.pc !== undefined ? { pc: exit.pc } : {}),
        ...(exit.summary !== undefined ? { summary: exit.summary } : {}),
      };
      switch (exit.cause) {
        case 'swbreak':
        case 'hwbreak':
        case 'step':
          return { kind: 'stop', stop: { ...base, reason: { kind: exit.cause } } };
        case 'watch':
          return { kind: 'stop', stop: { ...base, reason: watchReason(exit) } };
        default: {
          // Not a breakpoint, step or watchpoint of ours: report it, never ignore it.
          const what = exit.summary ? ` (${exit.summary})` : '';
          return {
            kind: 'stop',
            stop: { ...base, reason: { kind: 'signal', signal: SIGTRAP }, detail: `unexpected debug exit on vCPU ${v}: ESR ${hex(esr)}${what}` },
          };
        }
      }
    }
    case 'internalError':
      return fault(v, `KVM internal error, suberror ${exit.suberror ?? '?'}`);
    case 'failEntry':
      return fault(v, `KVM_RUN entry failed: hardware_entry_failure_reason ${hex(exit.hardwareReason ?? 0n)} on cpu ${exit.cpu ?? '?'}`);
    default:
      return fault(v, `unknown KVM exit reason ${exit.exitReason ?? '?'} (kind ${exit.kind})`);
  }
}
