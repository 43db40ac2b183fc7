/**
 * The built-in VMM: PL011 registers, the ELF header check (each refusal names its
 * field), image loading (ELF through the addon's loadElf, raw at RAM base) and MMIO
 * routing (UART vs unknown addresses).
 */
import { elfProblem, isElf } from '../src/vmm/elf';
import { UART_BASE } from '../src/vmm/memory-map';
import { Pl011, UARTDR, UARTFR } from '../src/vmm/pl011';
import { Vmm, loadGuestImage, describeUnknownMmio } from '../src/vmm/vmm';
import { FakeVm, RAM_BASE } from './session.fake-vm';

/** A minimal valid ELF-64 AArch64 executable header with one program header. */
function elfHeader(over: (b: Buffer) => void = () => undefined): Buffer {
  const b = Buffer.alloc(64 + 56);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(b);
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(183, 18); // EM_AARCH64
  b.writeBigUInt64LE(64n, 32); // e_phoff
  b.writeUInt16LE(56, 54); // e_phentsize
  b.writeUInt16LE(1, 56); // e_phnum
  over(b);
  return b;
}

describe('PL011', () => {
  test('UARTDR bytes go to the sink; UARTFR reads TXFE|RXFE; others read 0', () => {
    const out: number[] = [];
    const u = new Pl011((b) => out.push(...b));
    u.write(UARTDR, 0x141n); // only bits 7:0 are the character
    u.write(0x24, 0x55n); // UARTIBRD: ignored
    expect(out).toEqual([0x41]);
    expect(u.read(UARTFR)).toBe(0x90n);
    expect(u.read(UARTDR)).toBe(0n);
    expect(u.written).toBe(1);
  });
});

describe('ELF header check', () => {
  test('a valid header passes; each bad field is named', () => {
    expect(isElf(elfHeader())).toBe(true);
    expect(elfProblem(elfHeader())).toBeUndefined();
    expect(isElf(Buffer.from('MZ\x90\x00'))).toBe(false);
    expect(elfProblem(elfHeader((b) => (b[4] = 1)))).toBe('EI_CLASS 1 is not ELFCLASS64 (2)');
    expect(elfProblem(elfHeader((b) => (b[5] = 2)))).toBe('EI_DATA 2 is not little-endian (ELFDATA2LSB 1)');
    expect(elfProblem(elfHeader((b) => b.writeUInt16LE(40, 18)))).toBe('e_machine 40 is not EM_AARCH64 (183)');
    expect(elfProblem(elfHeader((b) => b.writeUInt16LE(3, 16)))).toBe('e_type 3 is not ET_EXEC (2)');
    expect(elfProblem(elfHeader((b) => b.writeUInt16LE(0, 56)))).toBe('no program headers (e_phnum 0): nothing to load');
    expect(elfProblem(elfHeader((b) => b.writeUInt16LE(3, 56)))).toBe("program headers end at 232, past the file's 120 bytes");
    expect(elfProblem(elfHeader().subarray(0, 20))).toBe('20 bytes is shorter than an ELF-64 header (64)');
  });
});

describe('image loading', () => {
  test('raw image: at RAM base, vCPU 0 at RAM base', () => {
    const vm = new FakeVm();
    vm.setReg(0, 'pc', 0x1234n);
    expect(loadGuestImage(vm, Buffer.from([1, 2, 3, 4]))).toEqual({ format: 'raw', entry: RAM_BASE });
    expect(vm.readPhys(RAM_BASE, 4)).toEqual(Buffer.from([1, 2, 3, 4]));
    expect(vm.getReg(0, 'pc')).toBe(RAM_BASE);
  });

  test("ELF: the addon's loadElf loads it and is the one that refuses; vCPU 0 at e_entry", () => {
    const vm = new FakeVm();
    const entry = RAM_BASE + 0x80n;
    vm.loadElf = () => entry;
    expect(loadGuestImage(vm, elfHeader())).toEqual({ format: 'elf', entry });
    expect(vm.getReg(0, 'pc')).toBe(entry);
    // The addon's refusal (Rust elf.rs: e_type, e_machine, segments) reaches the caller as is.
    const refusal = Object.assign(new Error('bad ELF: e_machine is 62, not EM_AARCH64 (183)'), { code: 'ERR_BAD_ELF' });
    vm.loadElf = () => {
      throw refusal;
    };
    vm.setReg(0, 'pc', 0x1234n);
    expect(() => loadGuestImage(vm, elfHeader((b) => b.writeUInt16LE(62, 18)))).toThrow(refusal);
    expect(vm.getReg(0, 'pc')).toBe(0x1234n);
  });

  test('empty or oversized raw images are refused with the size / address', () => {
    const vm = new FakeVm();
    expect(() => loadGuestImage(vm, Buffer.alloc(0))).toThrow(expect.objectContaining({ code: 'ERR_BAD_ARGUMENT' }));
    expect(() => loadGuestImage(vm, Buffer.alloc(0x2_0000))).toThrow(expect.objectContaining({ code: 'ERR_OUTSIDE_RAM' }));
  });
});

describe('MMIO routing', () => {
  test('UART stores print, UART loads get their value, unknown addresses are described', () => {
    const out: Buffer[] = [];
    const vmm = new Vmm({ uart: (b) => out.push(b) });
    const vm = new FakeVm();
    const loads: bigint[] = [];
    vm.setMmioReadData = (_v, d) => void loads.push(d);
    expect(vmm.mmio(vm, { kind: 'mmio', vcpu: 0, addr: UART_BASE, len: 1, isWrite: true, data: 0x5an })).toBeUndefined();
    expect(vmm.mmio(vm, { kind: 'mmio', vcpu: 0, addr: UART_BASE + 0x18n, len: 4, isWrite: false, data: 0n })).toBeUndefined();
    const u = vmm.mmio(vm, { kind: 'mmio', vcpu: 0, addr: 0x0a00_0000n, len: 4, isWrite: false, data: 0n, pc: RAM_BASE });
    expect(Buffer.concat(out).toString()).toBe('Z');
    expect(loads).toEqual([0x90n, 0n]);
    expect(u && describeUnknownMmio(u)).toBe('vCPU 0: 4-byte MMIO load to 0xa000000 at pc 0x40000000: no device there (reads 0)');
    expect(vmm.unknownAccesses).toBe(1);
  });
});
