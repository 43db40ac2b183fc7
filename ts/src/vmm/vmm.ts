/**
 * The small built-in VMM of `kvm-debug run`: loads the guest image, serves MMIO
 * exits (a PL011 UART at {@link UART_BASE}; anything else is reported, stores
 * dropped and loads read 0), and says what PSCI SYSTEM_OFF means (the run ends,
 * exit code 0). PSCI itself is KVM's (KVM_CAP_ARM_PSCI_0_2): it reaches us as a
 * KVM_EXIT_SYSTEM_EVENT, which Session turns into `exited`.
 */

import { isElf } from './elf';
import { UART_BASE, UART_SIZE } from './memory-map';
import type { KvmVm, VmExit } from './native-vm';
import { Pl011 } from './pl011';

/** An MMIO access no device claims. */
export interface UnknownMmio {
  /** vCPU that made it. */
  vcpu: number;
  /** Guest-physical address. */
  addr: bigint;
  /** Size in bytes. */
  len: number;
  /** Store or load. */
  isWrite: boolean;
  /** Stored value (0 for loads). */
  data: bigint;
  /** PC of the access instruction, when the exit gave it. */
  pc: bigint | undefined;
}

/** One line for an unknown MMIO access, naming the address, size and PC. */
export function describeUnknownMmio(u: UnknownMmio): string {
  const what = u.isWrite ? `store of 0x${u.data.toString(16)}` : 'load';
  const pc = u.pc === undefined ? '' : ` at pc 0x${u.pc.toString(16)}`;
  const result = u.isWrite ? 'dropped' : 'reads 0';
  return `vCPU ${u.vcpu}: ${u.len}-byte MMIO ${what} to 0x${u.addr.toString(16)}${pc}: no device there (${result})`;
}

/** Options of the VMM. */
export interface VmmOptions {
  /** Where UART output goes; default process.stdout. */
  uart?: (bytes: Buffer) => void;
}

/** An error with a stable code. */
function coded(code: string, message: string): Error & { code: string } {
  const e = new Error(message) as Error & { code: string };
  e.code = code;
  return e;
}

/** How a guest image was loaded. */
export interface LoadedImage {
  /** ELF (PT_LOAD segments at p_paddr) or raw (at RAM base). */
  format: 'elf' | 'raw';
  /** Entry point vCPU 0 starts at. */
  entry: bigint;
}

/**
 * Load an ELF (the addon's loadElf refuses a bad one with ERR_BAD_ELF naming the
 * field; `kvm-debug run` checks the header earlier, before any host check) or a
 * raw image at RAM base, then put vCPU 0 at the entry in the entry state.
 */
export function loadGuestImage(vm: KvmVm, bytes: Uint8Array): LoadedImage {
  let loaded: LoadedImage;
  if (isElf(bytes)) {
    loaded = { format: 'elf', entry: vm.loadElf(bytes) };
  } else {
    if (bytes.length === 0) throw coded('ERR_BAD_ARGUMENT', 'the image is empty (0 bytes)');
    vm.loadImage(vm.ramBase, bytes);
    loaded = { format: 'raw', entry: vm.ramBase };
  }
  vm.resetVcpu(0, loaded.entry);
  return loaded;
}

/** The VMM's devices. */
export class Vmm {
  /** The UART. */
  readonly uart: Pl011;
  /** Unknown MMIO accesses seen so far. */
  unknownAccesses = 0;

  constructor(opts: VmmOptions = {}) {
    this.uart = new Pl011(opts.uart ?? ((b) => process.stdout.write(b)));
  }

  /**
   * Serve an MMIO exit: a load's value is handed to the vCPU (setMmioReadData) so
   * the next run completes it. Returns the unknown access, or undefined when a
   * device took it.
   */
  mmio(vm: KvmVm, exit: VmExit): UnknownMmio | undefined {
    const addr = exit.addr ?? 0n;
    const isWrite = exit.isWrite === true;
    const data = exit.data ?? 0n;
    if (addr >= UART_BASE && addr < UART_BASE + UART_SIZE) {
      const offset = Number(addr - UART_BASE);
      if (isWrite) this.uart.write(offset, data);
      else vm.setMmioReadData(exit.vcpu, this.uart.read(offset));
      return undefined;
    }
    this.unknownAccesses++;
    if (!isWrite) vm.setMmioReadData(exit.vcpu, 0n);
    return { vcpu: exit.vcpu, addr, len: exit.len ?? 0, isWrite, data, pc: exit.pc };
  }
}
