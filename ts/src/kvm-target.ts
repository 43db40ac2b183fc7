/**
 * KvmTarget: the DebugTarget (ts/src/target.ts) over a Session and the addon's Vm.
 *
 * - Registers by GDB regnum map to the addon's names (ts/src/gdb/aarch64.ts kvmName).
 * - Memory is by guest-virtual address through the vCPU's stage 1 (readVirt/writeVirt);
 *   reads show the guest's own instruction under our BRKs, never the BRK.
 * - Software breakpoints are BRKs at the guest-physical address the table translated;
 *   hardware breakpoints and watchpoints are kept by the session and applied with
 *   KVM_SET_GUEST_DEBUG at each resume, on every vCPU.
 * - resume/interrupt are the session's all-stop run control.
 */

import { AARCH64_REGISTERS, decodeRegister, encodeRegister, registerByNumber } from './gdb/aarch64';
import type { Session } from './session';
import {
  TargetError,
  TargetErrorCode,
  isWatchKind,
  type CapabilitySummary,
  type DebugTarget,
  type ResumeAction,
  type StopEvent,
  type TargetBreakpoint,
  type Translation,
} from './target';

/** Size of one A64 instruction (and of our BRK patch), Arm ARM C6.2.38 BRK. */
const A64_INSN_BYTES = 4n;

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

/** The DebugTarget of a session. */
export class KvmTarget implements DebugTarget {
  readonly arch = 'aarch64' as const;
  /** Our software breakpoints: VA -> { PA, the guest's bytes under the BRK }. */
  private readonly sw = new Map<bigint, { pa: bigint; saved: Buffer }>();

  constructor(private readonly session: Session) {}

  vcpuCount(): number {
    return this.session.vm.vcpuCount;
  }

  private reg(regnum: number): (typeof AARCH64_REGISTERS)[number] {
    const def = registerByNumber(regnum);
    if (!def) throw new TargetError(TargetErrorCode.BadArgument, `no register number ${regnum}`);
    return def;
  }

  private vcpu(v: number): number {
    if (!Number.isInteger(v) || v < 0 || v >= this.vcpuCount()) {
      throw new TargetError(TargetErrorCode.BadArgument, `no vCPU ${v} (0..${this.vcpuCount() - 1})`);
    }
    return v;
  }

  readRegister(vcpu: number, regnum: number): Buffer {
    const def = this.reg(regnum);
    return encodeRegister(def, this.session.vm.getReg(this.vcpu(vcpu), def.kvmName));
  }

  writeRegister(vcpu: number, regnum: number, bytes: Buffer): void {
    const def = this.reg(regnum);
    if (bytes.length !== def.bitsize / 8) {
      throw new TargetError(TargetErrorCode.BadArgument, `register ${def.name} takes ${def.bitsize / 8} bytes, got ${bytes.length}`);
    }
    this.session.vm.setReg(this.vcpu(vcpu), def.kvmName, decodeRegister(bytes));
  }

  readMemory(vcpu: number, addr: bigint, length: number): Buffer {
    const out = Buffer.from(this.session.vm.readVirt(this.vcpu(vcpu), addr, length));
    // Show the guest's instruction, not our BRK (gdb must never see its own patches).
    const end = addr + BigInt(length);
    for (const [va, bp] of this.sw) {
      for (let i = 0n; i < A64_INSN_BYTES; i++) {
        const a = va + i;
        if (a >= addr && a < end) out[Number(a - addr)] = bp.saved[Number(i)] as number;
      }
    }
    return out;
  }

  writeMemory(vcpu: number, addr: bigint, data: Buffer): void {
    const end = addr + BigInt(data.length);
    for (const va of this.sw.keys()) {
      if (va < end && va + A64_INSN_BYTES > addr) {
        throw new TargetError(TargetErrorCode.AlreadyPatched, 'the range holds a software breakpoint; remove it first', va);
      }
    }
    this.session.vm.writeVirt(this.vcpu(vcpu), addr, data);
  }

  translate(vcpu: number, addr: bigint): Translation {
    const t = this.session.vm.translate(this.vcpu(vcpu), addr);
    const vm = this.session.vm;
    const ram = t.pa >= vm.ramBase && t.pa + A64_INSN_BYTES <= vm.ramBase + vm.ramSize;
    return { pa: t.pa, ram };
  }

  /** Whether a software breakpoint of ours is at this VA. */
  hasSwBreakpoint(va: bigint): boolean {
    return this.sw.has(va);
  }

  insertBreakpoint(bp: TargetBreakpoint): void {
    const s = this.session;
    if (!s.debug.enabled) {
      throw new TargetError(TargetErrorCode.Unsupported, `debugging is off: ${s.debug.reason ?? ''}`, bp.addr);
    }
    if (bp.kind === 'sw') {
      if (bp.pa === undefined) throw new TargetError(TargetErrorCode.Translation, 'software breakpoint without a physical address', bp.addr);
      const saved = Buffer.from(s.vm.readPhys(bp.pa, Number(A64_INSN_BYTES)));
      s.vm.insertSwBreakpoint(bp.pa);
      this.sw.set(bp.addr, { pa: bp.pa, saved });
      return;
    }
    const list = bp.kind === 'hw' ? s.hw : s.watch;
    const slots = bp.kind === 'hw' ? s.capabilities.hwBreakpoints : s.capabilities.hwWatchpoints;
    if (list.length >= slots) {
      throw new TargetError(TargetErrorCode.NoSlot, `all ${slots} hardware ${bp.kind === 'hw' ? 'breakpoint' : 'watchpoint'} slots are in use`, bp.addr);
    }
    list.push({ ...bp });
  }

  removeBreakpoint(bp: TargetBreakpoint): void {
    const s = this.session;
    if (bp.kind === 'sw') {
      const e = this.sw.get(bp.addr);
      if (!e) return;
      this.sw.delete(bp.addr); // forgotten even on a conflict: the guest's bytes are left alone
      s.vm.removeSwBreakpoint(e.pa);
      return;
    }
    const list = isWatchKind(bp.kind) ? s.watch : s.hw;
    const i = list.findIndex((x) => x.kind === bp.kind && x.addr === bp.addr && x.length === bp.length);
    if (i >= 0) list.splice(i, 1);
  }

  /** Forget software breakpoints after the VM removed them all itself (vm.detach). */
  forgetAll(): void {
    this.sw.clear();
  }

  resume(actions: readonly ResumeAction[]): Promise<StopEvent> {
    return this.session.resumeRaw(actions);
  }

  interrupt(): void {
    this.session.interruptRaw();
  }

  capabilities(): CapabilitySummary {
    const s = this.session;
    const c = s.capabilities;
    const out: CapabilitySummary = {
      available: c.available,
      setGuestDebug: c.setGuestDebug,
      guestDebugControlMask: c.guestDebugControlMask,
      hwBreakpoints: c.hwBreakpoints,
      hwWatchpoints: c.hwWatchpoints,
      debugEnabled: s.debug.enabled,
      debugMode: s.debug.mode,
      arch: c.arch,
      apiVersion: c.apiVersion,
      ipaSize: c.ipaSize,
      reinjections: s.reinjections,
    };
    const reason = s.debug.reason ?? c.reason;
    if (reason !== undefined) out.reason = reason;
    return out;
  }

  lastSyndrome(): bigint | undefined {
    return this.session.lastSyndrome;
  }

  detach(): void {
    this.session.detachDebug();
  }

  kill(): void {
    this.session.kill('killed by the debugger (gdb kill)', 0);
  }

  /** For messages: where our software breakpoints are. */
  describe(): string {
    return [...this.sw].map(([va, b]) => `${hex(va)} (pa ${hex(b.pa)})`).join(', ');
  }
}
