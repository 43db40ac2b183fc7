/**
 * A header check of guest images, done in TS before any KVM call so `kvm-debug run`
 * names a bad ELF on any host (the addon's loadElf does the loading itself).
 * Field offsets: System V gABI "ELF Header", ELF-64 (elf.h Elf64_Ehdr).
 */

/** ELF magic: 0x7f 'E' 'L' 'F' (e_ident[EI_MAG0..3]). */
export const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
/** e_ident[EI_CLASS] offset; ELFCLASS64 = 2. */
const EI_CLASS = 4;
const ELFCLASS64 = 2;
/** e_ident[EI_DATA] offset; ELFDATA2LSB = 1. */
const EI_DATA = 5;
const ELFDATA2LSB = 1;
/** e_type offset; ET_EXEC = 2. */
const E_TYPE = 16;
const ET_EXEC = 2;
/** e_machine offset; EM_AARCH64 = 183 (elf.h). */
const E_MACHINE = 18;
const EM_AARCH64 = 183;
/** e_phoff, e_phentsize, e_phnum offsets (Elf64_Ehdr). */
const E_PHOFF = 32;
const E_PHENTSIZE = 54;
const E_PHNUM = 56;
/** sizeof(Elf64_Ehdr), sizeof(Elf64_Phdr). */
const EHDR64_SIZE = 64;
const PHDR64_SIZE = 56;

/** True when the bytes start with the ELF magic (then they must be a valid ELF). */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= ELF_MAGIC.length && Buffer.from(bytes.subarray(0, 4)).equals(ELF_MAGIC);
}

/** Why these ELF bytes cannot be an arm64 guest, or undefined when the header is fine. */
export function elfProblem(bytes: Uint8Array): string | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < EHDR64_SIZE) return `${b.length} bytes is shorter than an ELF-64 header (${EHDR64_SIZE})`;
  if (b[EI_CLASS] !== ELFCLASS64) return `EI_CLASS ${b[EI_CLASS]} is not ELFCLASS64 (${ELFCLASS64})`;
  if (b[EI_DATA] !== ELFDATA2LSB) return `EI_DATA ${b[EI_DATA]} is not little-endian (ELFDATA2LSB ${ELFDATA2LSB})`;
  const machine = b.readUInt16LE(E_MACHINE);
  if (machine !== EM_AARCH64) return `e_machine ${machine} is not EM_AARCH64 (${EM_AARCH64})`;
  const type = b.readUInt16LE(E_TYPE);
  if (type !== ET_EXEC) return `e_type ${type} is not ET_EXEC (${ET_EXEC})`;
  const phoff = b.readBigUInt64LE(E_PHOFF);
  const phentsize = b.readUInt16LE(E_PHENTSIZE);
  const phnum = b.readUInt16LE(E_PHNUM);
  if (phnum === 0) return 'no program headers (e_phnum 0): nothing to load';
  if (phentsize !== PHDR64_SIZE) return `e_phentsize ${phentsize} is not ${PHDR64_SIZE}`;
  const end = phoff + BigInt(phnum * phentsize);
  if (end > BigInt(b.length)) return `program headers end at ${end}, past the file's ${b.length} bytes`;
  return undefined;
}
