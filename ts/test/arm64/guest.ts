/**
 * Test guests (guests/*.S, built by guests/build.sh) and a fresh-VM fixture around them.
 * Memory map: guests/README.md.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Exit, Native, NativeVm, normalizeExit, showExit } from './native';

/** VM RAM base; every guest is linked here (guests/link.ld). */
export const RAM_BASE = 0x4000_0000n;
/** PL011 UART data register (guests/common.inc UART_BASE + UARTDR). */
export const UART_DR = 0x0900_0000n;
/** The test MMIO device of guests/mmio.S. */
export const TEST_MMIO = 0x0a00_0000n;
/** Guest RAM per test VM: image + .bss + the mmu guest's tables at RAM_BASE + 1 MiB. */
export const MEM_MIB = 16;

// ESR_ELx.EC values of debug exits (Arm ARM D17.2.37 ESR_EL2, "EC" table).
/** Breakpoint exception from a lower Exception level (hardware breakpoint). */
export const EC_HW_BREAKPOINT = 0x30;
/** Software Step exception from a lower Exception level. */
export const EC_SOFTWARE_STEP = 0x32;
/** Watchpoint exception from a lower Exception level. */
export const EC_WATCHPOINT = 0x34;
/** BRK instruction execution in AArch64 state. */
export const EC_BRK64 = 0x3c;
/** ESR_ELx ISS bit 6 for watchpoints: WnR, 1 = the access was a write. */
export const ESR_WNR = 1 << 6;

/** Where the built guests are: $KVM_DEBUG_GUESTS, the lane's copy, the repository's build. */
export function guestDir(): string {
  const c = [process.env.KVM_DEBUG_GUESTS, '/lane/guests', path.resolve(__dirname, '../../../guests')];
  for (const d of c) if (d && fs.existsSync(path.join(d, 'hello.bin'))) return d;
  throw new Error(`no built guests in ${c.filter(Boolean).join(', ')} (run guests/build.sh)`);
}

/** A built guest: raw image and label addresses. */
export interface Guest {
  name: string;
  image: Buffer;
  elf: Buffer;
  sym(label: string): bigint;
}

export function loadGuest(name: string): Guest {
  const dir = guestDir();
  const image = fs.readFileSync(path.join(dir, `${name}.bin`));
  const elf = fs.readFileSync(path.join(dir, `${name}.elf`));
  const syms = JSON.parse(fs.readFileSync(path.join(dir, `${name}.sym.json`), 'utf8')) as Record<string, string>;
  return {
    name,
    image,
    elf,
    sym(label: string): bigint {
      const v = syms[label];
      if (v === undefined) throw new Error(`guest ${name}: no label ${label}`);
      return BigInt(v);
    },
  };
}

export function sha256(b: Uint8Array): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}

export function hex(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}

/** Assert with a message that names both values. */
export function expectEq<T>(actual: T, expected: T, what: string): void {
  const s = (v: unknown) => (typeof v === 'bigint' ? hex(v) : JSON.stringify(v));
  if (actual !== expected) throw new Error(`${what}: expected ${s(expected)}, got ${s(actual)}`);
}

/** A fresh VM (1 vCPU) with one guest loaded at RAM_BASE and vCPU 0 reset to its entry. */
export class GuestVm {
  readonly vm: NativeVm;
  readonly guest: Guest;
  /** Text the guest wrote to the UART so far. */
  uart = '';
  /** Every exit seen, for failure messages. */
  readonly trail: string[] = [];

  constructor(native: Native, name: string) {
    this.guest = loadGuest(name);
    this.vm = native.Vm.create({ memMib: MEM_MIB, vcpus: 1, ramBase: RAM_BASE });
    this.vm.loadImage(RAM_BASE, this.guest.image);
    this.vm.resetVcpu(0, this.guest.sym('_start'));
  }

  sym(label: string): bigint {
    return this.guest.sym(label);
  }

  /** One run of vCPU 0 (a single step with `step`), normalised. */
  async run(step = false): Promise<Exit> {
    const e = normalizeExit(await this.vm.run(0, { singleStep: step }));
    this.trail.push(showExit(e));
    if (this.trail.length > 64) this.trail.shift();
    return e;
  }

  /** Run until an exit that is not a UART byte (those are collected in `uart`). */
  async runToStop(step = false): Promise<Exit> {
    for (;;) {
      const e = await this.run(step);
      if (e.kind === 'mmio' && e.isWrite && e.addr === UART_DR) {
        this.uart += String.fromCharCode(Number(e.data & 0xffn));
        continue;
      }
      return e;
    }
  }

  /** Little-endian u64 from guest-physical memory. */
  readU64(gpa: bigint): bigint {
    return this.vm.readPhys(gpa, 8).readBigUInt64LE(0);
  }

  writeU64(gpa: bigint, v: bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(v);
    this.vm.writePhys(gpa, b);
  }

  /** Fail unless `e` is a debug exit with this EC at this PC; returns it. */
  expectDebug(e: Exit, ec: number, pc: bigint, what: string): Extract<Exit, { kind: 'debug' }> {
    if (e.kind !== 'debug') throw new Error(`${what}: expected a debug exit (EC ${hex(ec)}), got ${showExit(e)}`);
    expectEq(e.ec, ec, `${what}: EC`);
    expectEq(e.pc, pc, `${what}: PC`);
    return e;
  }

  expectShutdown(e: Exit, what: string): void {
    if (e.kind !== 'shutdown') {
      throw new Error(`${what}: expected PSCI SYSTEM_OFF shutdown, got ${showExit(e)}; last exits: ${this.trail.slice(-6).join(' | ')}`);
    }
  }

  close(): void {
    this.vm.close();
  }
}

/** Run `body` on a fresh VM with guest `name`; always closes the VM. */
export async function withGuest(native: Native, name: string, body: (g: GuestVm) => Promise<void>): Promise<void> {
  const g = new GuestVm(native, name);
  try {
    await body(g);
  } finally {
    g.close();
  }
}
