/**
 * An in-memory aarch64 DebugTarget for tests: RAM, registers, breakpoints and a
 * tiny interpreter for a handful of real A64 encodings, so that a real gdb can
 * disassemble what it steps through.
 *
 *   NOP            0xd503201f
 *   ADD x0,x0,#1   0x91000400
 *   STR x1,[x0]    0xf9000001   (write watchpoints)
 *   LDR x1,[x0]    0xf9400001   (read watchpoints)
 *   B .-8          0x17fffffe   (loop)
 *   BRK #imm       0xd4200000 | imm << 5   (ours: swbreak; the guest's: re-injected)
 *   HVC #0 with x0 = PSCI SYSTEM_OFF: exit with code x1
 */

import { ErrorCode, codedError } from '../../src/errors';
import {
  type CapabilitySummary,
  type DebugTarget,
  type ResumeAction,
  type StopEvent,
  type TargetBreakpoint,
} from '../../src/target';
import { AARCH64_REGISTERS, REG_CPSR, REG_PC, REG_SP } from '../../src/gdb/aarch64';

export const INSN = {
  NOP: 0xd503201f,
  ADD_X0_1: 0x91000400,
  STR_X1_X0: 0xf9000001,
  LDR_X1_X0: 0xf9400001,
  B_BACK2: 0x17fffffe,
  BRK0: 0xd4200000,
  HVC0: 0xd4000002,
} as const;
/**
 * The program both real-client tests (gdb, lldb) debug at RAM_BASE: a store for a write
 * watchpoint at +0x08, a breakpoint site at +0x10, a load at +0x14, a hardware-breakpoint
 * site at +0x18, and a loop back to it from +0x20.
 */
export const CLIENT_TEST_PROGRAM: readonly number[] = [
  INSN.NOP, // 0x00
  INSN.NOP, // 0x04
  INSN.STR_X1_X0, // 0x08  write watchpoint fires here
  INSN.NOP, // 0x0c
  INSN.NOP, // 0x10  breakpoint
  INSN.LDR_X1_X0, // 0x14
  INSN.ADD_X0_1, // 0x18  hardware breakpoint
  INSN.NOP, // 0x1c
  INSN.B_BACK2, // 0x20  to 0x18
];
/** PSCI 0.2 SYSTEM_OFF function id (Arm DEN0022). */
export const PSCI_SYSTEM_OFF = 0x84000008n;

export const RAM_BASE = 0x4000_0000n;
export const RAM_SIZE = 0x1_0000;
/** A device page: translates, but is not RAM. */
export const MMIO_BASE = 0x0900_0000n;
/** A high-half VA window mapped onto RAM: va = HIGH_VA + (pa - RAM_BASE). */
export const HIGH_VA = 0xffff_0000_0000_0000n;

/** A64 BRK #imm16 (Arm ARM C6.2.38). */
function brk(imm: number): number {
  return (INSN.BRK0 | ((imm & 0xffff) << 5)) >>> 0;
}

/** Any BRK #imm (mask off the imm16 field, bits 20:5). */
function isBrk(insn: number): boolean {
  return ((insn & 0xffe0001f) >>> 0) === INSN.BRK0;
}

interface Call {
  op: string;
  args: unknown[];
}

export interface FakeOptions {
  vcpus?: number;
  caps?: Partial<CapabilitySummary>;
  /** Instructions a continue may run before it just keeps going (waiting for interrupt). */
  slice?: number;
}

export class FakeTarget implements DebugTarget {
  readonly arch = 'aarch64' as const;
  readonly ram = Buffer.alloc(RAM_SIZE);
  readonly regs: Buffer[][];
  readonly sw = new Map<bigint, { pa: bigint; saved: Buffer }>();
  readonly hw: TargetBreakpoint[] = [];
  readonly watch: TargetBreakpoint[] = [];
  /** Every call that could touch guest state, in order. */
  readonly calls: Call[] = [];
  /** Memory reads/writes that reached RAM. */
  memoryTouches = 0;
  /** Pages (by VA) the test remapped: va page -> pa page. */
  readonly remap = new Map<bigint, bigint>();
  private interrupted = false;
  private syndrome: bigint | undefined;
  private readonly capsValue: CapabilitySummary;
  private readonly slice: number;
  detached = false;
  killed = false;

  constructor(opts: FakeOptions = {}) {
    const n = opts.vcpus ?? 1;
    this.regs = [];
    for (let v = 0; v < n; v++) {
      this.regs.push(AARCH64_REGISTERS.map((r) => Buffer.alloc(r.bitsize / 8)));
      this.setReg(v, REG_PC, RAM_BASE);
      this.setReg(v, REG_SP, RAM_BASE + BigInt(RAM_SIZE) - 0x100n * BigInt(v));
      this.setReg(v, REG_CPSR, 0x3c5n); // EL1h, DAIF masked
    }
    this.capsValue = {
      available: true,
      setGuestDebug: true,
      guestDebugControlMask: 0x30003,
      hwBreakpoints: 2,
      hwWatchpoints: 2,
      debugEnabled: true,
      ...opts.caps,
    };
    this.slice = opts.slice ?? 5000;
    this.ram.fill(0);
    for (let off = 0; off < RAM_SIZE; off += 4) this.ram.writeUInt32LE(INSN.NOP, off);
  }

  // ---- helpers for tests ----

  /** Write A64 instruction words at a guest-physical address. */
  program(pa: bigint, words: number[]): void {
    words.forEach((w, i) => this.ram.writeUInt32LE(w >>> 0, Number(pa - RAM_BASE) + 4 * i));
  }

  word(pa: bigint): number {
    return this.ram.readUInt32LE(Number(pa - RAM_BASE));
  }

  reg(vcpu: number, regnum: number): bigint {
    const b = this.regs[vcpu]?.[regnum];
    if (!b) throw new Error(`no register ${regnum} on vCPU ${vcpu}`);
    return b.length === 4 ? BigInt(b.readUInt32LE()) : b.readBigUInt64LE();
  }

  setReg(vcpu: number, regnum: number, v: bigint): void {
    const b = this.regs[vcpu]?.[regnum];
    if (!b) throw new Error(`no register ${regnum} on vCPU ${vcpu}`);
    if (b.length === 4) b.writeUInt32LE(Number(v & 0xffff_ffffn));
    else b.writeBigUInt64LE(v & 0xffff_ffff_ffff_ffffn);
  }

  // ---- DebugTarget ----

  vcpuCount(): number {
    return this.regs.length;
  }

  private regBuf(vcpu: number, regnum: number): Buffer {
    const b = this.regs[vcpu]?.[regnum];
    if (!b) throw codedError(ErrorCode.BadArgument, `no register ${regnum} on vCPU ${vcpu}`);
    return b;
  }

  readRegister(vcpu: number, regnum: number): Buffer {
    return Buffer.from(this.regBuf(vcpu, regnum));
  }

  writeRegister(vcpu: number, regnum: number, bytes: Buffer): void {
    const b = this.regBuf(vcpu, regnum);
    if (bytes.length !== b.length) throw codedError(ErrorCode.BadArgument, `register ${regnum} takes ${b.length} bytes`);
    this.calls.push({ op: 'writeRegister', args: [vcpu, regnum] });
    bytes.copy(b);
  }

  /** The fake's stage 1: identity on RAM and one device page, a high-half alias, test remaps. */
  translate(_vcpu: number, addr: bigint): { pa: bigint; ram: boolean } {
    const page = addr & ~0xfffn;
    const mapped = this.remap.get(page);
    if (mapped !== undefined) return { pa: mapped | (addr & 0xfffn), ram: this.inRam(mapped, 1) };
    if (addr >= HIGH_VA && addr < HIGH_VA + BigInt(RAM_SIZE)) return { pa: RAM_BASE + (addr - HIGH_VA), ram: true };
    if (this.inRam(addr, 1)) return { pa: addr, ram: true };
    if (addr >= MMIO_BASE && addr < MMIO_BASE + 0x1000n) return { pa: addr, ram: false };
    throw codedError(ErrorCode.Translation, 'level 0 descriptor invalid', addr);
  }

  private inRam(pa: bigint, len: number): boolean {
    return pa >= RAM_BASE && pa + BigInt(len) <= RAM_BASE + BigInt(RAM_SIZE);
  }

  private ramRange(vcpu: number, addr: bigint, len: number): number {
    const t = this.translate(vcpu, addr);
    if (!t.ram || !this.inRam(t.pa, len)) throw codedError(ErrorCode.OutsideRam, 'outside guest RAM', t.pa);
    return Number(t.pa - RAM_BASE);
  }

  /** Reads show the guest's instruction under our BRKs, as the Rust VM's do. */
  readMemory(vcpu: number, addr: bigint, length: number): Buffer {
    const off = this.ramRange(vcpu, addr, length);
    this.memoryTouches++;
    const out = Buffer.from(this.ram.subarray(off, off + length));
    const pa = RAM_BASE + BigInt(off);
    for (const { pa: at, saved } of this.sw.values()) {
      for (let i = 0n; i < 4n; i++) {
        if (at + i >= pa && at + i < pa + BigInt(length)) out[Number(at + i - pa)] = saved[Number(i)] as number;
      }
    }
    return out;
  }

  writeMemory(vcpu: number, addr: bigint, data: Buffer): void {
    const off = this.ramRange(vcpu, addr, data.length);
    this.memoryTouches++;
    this.calls.push({ op: 'writeMemory', args: [addr, data.length] });
    data.copy(this.ram, off);
    // Under our BRKs the saved bytes take the new values and the BRK stays, as the Rust VM does.
    const pa = RAM_BASE + BigInt(off);
    for (const { pa: at, saved } of this.sw.values()) {
      if (at + 4n <= pa || at >= pa + BigInt(data.length)) continue;
      for (let i = 0n; i < 4n; i++) {
        if (at + i >= pa && at + i < pa + BigInt(data.length)) saved[Number(i)] = data[Number(at + i - pa)] as number;
      }
      this.ram.writeUInt32LE(brk(0), Number(at - RAM_BASE));
    }
  }

  private checkOn(): void {
    if (this.capsValue.debugEnabled === false) throw codedError(ErrorCode.DebugOff, `guest debugging is off: ${String(this.capsValue.reason)}`);
  }

  /** As the Rust VM: a sw breakpoint is translated and patched in one call; debugging off refuses. */
  insertBreakpoint(bp: TargetBreakpoint): bigint | undefined {
    this.calls.push({ op: 'insert', args: [bp.kind, bp.addr, bp.pa] });
    this.checkOn();
    switch (bp.kind) {
      case 'sw': {
        const pa = bp.pa ?? this.translate(bp.vcpu ?? 0, bp.addr).pa;
        if (!this.inRam(pa, 4)) throw codedError(ErrorCode.OutsideRam, 'not RAM', pa);
        const off = Number(pa - RAM_BASE);
        const saved = Buffer.from(this.ram.subarray(off, off + 4));
        if (isBrk(saved.readUInt32LE())) {
          throw codedError(ErrorCode.AlreadyPatched, 'already a BRK', bp.addr);
        }
        this.ram.writeUInt32LE(brk(0), off);
        this.sw.set(bp.addr, { pa, saved });
        return pa;
      }
      case 'hw':
        if (this.hw.length >= this.capsValue.hwBreakpoints) {
          throw codedError(ErrorCode.HwSlots, `all ${this.capsValue.hwBreakpoints} hardware breakpoint slots are in use`, bp.addr);
        }
        this.hw.push(bp);
        return undefined;
      default:
        if (this.watch.length >= this.capsValue.hwWatchpoints) {
          throw codedError(ErrorCode.HwSlots, `all ${this.capsValue.hwWatchpoints} hardware watchpoint slots are in use`, bp.addr);
        }
        this.watch.push(bp);
        return undefined;
    }
  }

  removeBreakpoint(bp: TargetBreakpoint): void {
    this.calls.push({ op: 'remove', args: [bp.kind, bp.addr, bp.pa] });
    if (bp.kind === 'sw') {
      const s = this.sw.get(bp.addr);
      if (!s) throw codedError(ErrorCode.BadArgument, 'not inserted', bp.addr);
      this.sw.delete(bp.addr);
      const off = Number(s.pa - RAM_BASE);
      const now = this.ram.readUInt32LE(off);
      if (now !== brk(0)) {
        throw codedError(ErrorCode.PatchConflict, `guest rewrote our BRK (found 0x${now.toString(16)})`, bp.addr);
      }
      s.saved.copy(this.ram, off);
      return;
    }
    const list = bp.kind === 'hw' ? this.hw : this.watch;
    const i = list.findIndex((b) => b.kind === bp.kind && b.addr === bp.addr && b.length === bp.length);
    if (i < 0) throw codedError(ErrorCode.BadArgument, 'not inserted', bp.addr);
    list.splice(i, 1);
  }

  capabilities(): CapabilitySummary {
    return { ...this.capsValue };
  }

  lastSyndrome(): bigint | undefined {
    return this.syndrome;
  }

  interrupt(): void {
    this.interrupted = true;
  }

  detach(): void {
    this.detached = true;
  }

  kill(): void {
    this.killed = true;
  }

  /** Resume log: which vCPUs ran and how, with the sw breakpoints present at the time. */
  readonly resumes: { run: [number, boolean][]; swPresent: bigint[] }[] = [];

  async resume(actions: readonly ResumeAction[]): Promise<StopEvent> {
    const run: [number, boolean][] = [];
    for (let v = 0; v < this.vcpuCount(); v++) {
      const a = actions.find((x) => x.vcpu === v || x.vcpu === 'all');
      if (a) run.push([v, a.step]);
    }
    this.resumes.push({ run, swPresent: [...this.sw.keys()] });
    this.calls.push({ op: 'resume', args: [run] });
    this.interrupted = false;
    if (run.length === 0) throw codedError(ErrorCode.BadArgument, 'nothing to resume');
    for (;;) {
      for (let i = 0; i < this.slice; i++) {
        for (const [v, step] of run) {
          const ev = this.execute(v, step);
          if (ev) return ev;
        }
      }
      // Yield so an interrupt (or the test) can get in, like a real run loop.
      await new Promise((r) => setImmediate(r));
      if (this.interrupted) {
        const vcpu = run[0]?.[0] ?? 0;
        return { vcpu, reason: { kind: 'signal', signal: 2 }, pc: this.reg(vcpu, REG_PC) };
      }
    }
  }

  /** Execute one instruction of `vcpu`; a stop event if it stops. */
  private execute(vcpu: number, step: boolean): StopEvent | undefined {
    const pc = this.reg(vcpu, REG_PC);
    if (this.hw.some((b) => b.addr === pc)) {
      this.syndrome = 0xc2000000n; // EC 0x30 breakpoint, lower EL, IL
      return { vcpu, reason: { kind: 'hwbreak' }, pc };
    }
    const t = this.translate(vcpu, pc);
    const insn = this.ram.readUInt32LE(Number(t.pa - RAM_BASE));
    const x0 = this.reg(vcpu, 0);
    const next = pc + 4n;
    if (isBrk(insn)) {
      if (this.sw.has(pc)) {
        this.syndrome = 0xf2000000n; // EC 0x3c BRK64, IL
        return { vcpu, reason: { kind: 'swbreak' }, pc };
      }
      // The guest's own BRK: goes to its vector (re-injected), and we say so.
      const esr = 0xf2000000n | BigInt((insn >>> 5) & 0xffff);
      const vector = 0x4000_8200n;
      this.syndrome = esr;
      this.setReg(vcpu, REG_PC, vector);
      return { vcpu, reason: { kind: 'reinjected', esr, vector }, pc: vector };
    }
    if (insn === INSN.STR_X1_X0 || insn === INSN.LDR_X1_X0) {
      const write = insn === INSN.STR_X1_X0;
      const hit = this.watch.find(
        (w) =>
          x0 < w.addr + BigInt(w.length) &&
          x0 + 8n > w.addr &&
          (w.kind === 'watch-access' || w.kind === (write ? 'watch-write' : 'watch-read')),
      );
      if (hit) {
        this.syndrome = write ? 0xd2000062n : 0xd2000022n; // EC 0x34 watchpoint, WnR
        const watch = hit.kind === 'watch-access' ? 'access' : write ? 'write' : 'read';
        // As the Rust VM and exitToStop report it: FAR, or the watched address when FAR lies outside.
        const inside = x0 >= hit.addr && x0 < hit.addr + BigInt(hit.length);
        return { vcpu, reason: { kind: 'watch', watch, addr: inside ? x0 : hit.addr }, pc };
      }
      const off = this.ramRange(vcpu, x0, 8);
      if (write) this.ram.writeBigUInt64LE(this.reg(vcpu, 1), off);
      else this.setReg(vcpu, 1, this.ram.readBigUInt64LE(off));
    } else if (insn === INSN.ADD_X0_1) {
      this.setReg(vcpu, 0, x0 + 1n);
    } else if (insn === INSN.HVC0 && x0 === PSCI_SYSTEM_OFF) {
      return { vcpu, reason: { kind: 'exited', code: Number(this.reg(vcpu, 1) & 0xffn) }, pc };
    } else if (insn === INSN.B_BACK2) {
      this.setReg(vcpu, REG_PC, pc - 8n);
      return step ? this.stepped(vcpu) : undefined;
    }
    this.setReg(vcpu, REG_PC, next);
    return step ? this.stepped(vcpu) : undefined;
  }

  private stepped(vcpu: number): StopEvent {
    this.syndrome = 0xca000022n; // EC 0x32 software step, lower EL
    return { vcpu, reason: { kind: 'step' }, pc: this.reg(vcpu, REG_PC) };
  }
}
