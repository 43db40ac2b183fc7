/**
 * The aarch64 target description: register numbers, sizes and target.xml.
 *
 * GDB numbers registers in the order of target.xml (we also give each `regnum`
 * explicitly), and the `g` packet carries them in that same order, each in
 * target byte order (little-endian). One table drives both, so they agree.
 *
 * Features: org.gnu.gdb.aarch64.core and org.gnu.gdb.aarch64.fpu (the names and
 * layout gdb's aarch64 tdesc validation expects, as in gdb/features/aarch64-*.xml),
 * plus org.kvm-debug.aarch64.sys with the EL1 system registers of issue 3.
 */

/** A register of the description. */
export interface RegisterDef {
  /** GDB regnum. */
  regnum: number;
  /** Name as GDB shows it. */
  name: string;
  /** Size in bits. */
  bitsize: number;
  /** target.xml type. */
  type: string;
  /** Feature it belongs to. */
  feature: string;
  /** Register group (for `info registers` / `info all-registers`). */
  group?: string;
  /** The name the native addon's getReg/setReg take (docs/native-api.md). */
  kvmName: string;
}

/** gdb's aarch64 core feature name. */
export const FEATURE_CORE = 'org.gnu.gdb.aarch64.core';
/** gdb's aarch64 FP/SIMD feature name. */
export const FEATURE_FPU = 'org.gnu.gdb.aarch64.fpu';
/** Our EL1 system-register feature. */
export const FEATURE_SYS = 'org.kvm-debug.aarch64.sys';

/** Number of general-purpose registers x0..x30 (Arm ARM B1.2.1). */
const GPR_COUNT = 31;
/** Number of SIMD&FP registers v0..v31 (Arm ARM B1.2.1). */
const VREG_COUNT = 32;

/** Regnum of sp (after x0..x30). */
export const REG_SP = GPR_COUNT;
/** Regnum of pc. */
export const REG_PC = REG_SP + 1;
/** Regnum of cpsr (PSTATE as SPSR-format, 32 bits in gdb's core feature). */
export const REG_CPSR = REG_PC + 1;
/** Regnum of v0. */
export const REG_V0 = REG_CPSR + 1;
/** Regnum of fpsr. */
export const REG_FPSR = REG_V0 + VREG_COUNT;
/** Regnum of fpcr. */
export const REG_FPCR = REG_FPSR + 1;
/** Regnum of the first system register. */
export const REG_SYS0 = REG_FPCR + 1;

/** The EL1 system registers of org.kvm-debug.aarch64.sys, in regnum order (issue 3 list, then ID_AA64ISAR0_EL1). */
export const SYSTEM_REGISTERS = [
  'SP_EL0',
  'SP_EL1',
  'ELR_EL1',
  'SPSR_EL1',
  'ESR_EL1',
  'FAR_EL1',
  'VBAR_EL1',
  'SCTLR_EL1',
  'TCR_EL1',
  'TTBR0_EL1',
  'TTBR1_EL1',
  'MAIR_EL1',
  // Read-only: the instruction-set features (RNDR, atomics, ...); ts/src/kaslr.ts reads it too.
  'ID_AA64ISAR0_EL1',
] as const;

function buildRegisters(): RegisterDef[] {
  const regs: RegisterDef[] = [];
  for (let i = 0; i < GPR_COUNT; i++) {
    regs.push({ regnum: i, name: `x${i}`, bitsize: 64, type: 'int', feature: FEATURE_CORE, group: 'general', kvmName: `x${i}` });
  }
  const core = { feature: FEATURE_CORE, group: 'general' };
  regs.push({ regnum: REG_SP, name: 'sp', bitsize: 64, type: 'data_ptr', ...core, kvmName: 'sp' });
  regs.push({ regnum: REG_PC, name: 'pc', bitsize: 64, type: 'code_ptr', ...core, kvmName: 'pc' });
  // gdb's cpsr is PSTATE in SPSR layout, 32 bits; KVM's pstate is 64 bits (upper half RES0).
  regs.push({ regnum: REG_CPSR, name: 'cpsr', bitsize: 32, type: 'cpsr_flags', ...core, kvmName: 'pstate' });
  for (let i = 0; i < VREG_COUNT; i++) {
    const v = `v${i}`;
    regs.push({ regnum: REG_V0 + i, name: v, bitsize: 128, type: 'aarch64v', feature: FEATURE_FPU, group: 'vector', kvmName: v });
  }
  regs.push({ regnum: REG_FPSR, name: 'fpsr', bitsize: 32, type: 'int', feature: FEATURE_FPU, group: 'float', kvmName: 'fpsr' });
  regs.push({ regnum: REG_FPCR, name: 'fpcr', bitsize: 32, type: 'int', feature: FEATURE_FPU, group: 'float', kvmName: 'fpcr' });
  SYSTEM_REGISTERS.forEach((name, i) => {
    const sys = { feature: FEATURE_SYS, group: 'system', kvmName: name.toLowerCase() };
    regs.push({ regnum: REG_SYS0 + i, name, bitsize: 64, type: 'uint64', ...sys });
  });
  return regs;
}

/** All registers, indexed by regnum (regs[i].regnum === i). */
export const AARCH64_REGISTERS: readonly RegisterDef[] = buildRegisters();

/** Register by name (as in the table, e.g. 'pc', 'x0', 'ESR_EL1'). */
export function registerByName(name: string): RegisterDef | undefined {
  return AARCH64_REGISTERS.find((r) => r.name === name);
}

/** Register by GDB regnum. */
export function registerByNumber(regnum: number): RegisterDef | undefined {
  return AARCH64_REGISTERS[regnum];
}

/** Little-endian bytes of a register value, sized for the register (target byte order). */
export function encodeRegister(def: RegisterDef, value: bigint): Buffer {
  // Whole 64-bit words, low word first: a BigInt operation per byte cost `g` milliseconds in the lane.
  const words = Math.ceil(def.bitsize / 64);
  const out = Buffer.alloc(words * 8);
  const v = BigInt.asUintN(def.bitsize, value);
  out.writeBigUInt64LE(BigInt.asUintN(64, v));
  if (words === 2) out.writeBigUInt64LE(v >> 64n, 8);
  return out.subarray(0, def.bitsize / 8);
}

/** A register value from its little-endian bytes. */
export function decodeRegister(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i] as number);
  return v;
}

/** Total size in bytes of the `g` packet payload (all registers, in order). */
export const G_PACKET_BYTES = AARCH64_REGISTERS.reduce((n, r) => n + r.bitsize / 8, 0);

function reg(r: RegisterDef): string {
  const group = r.group ? ` group="${r.group}"` : '';
  return `    <reg name="${r.name}" bitsize="${r.bitsize}" type="${r.type}" regnum="${r.regnum}"${group}/>`;
}

/** PSTATE fields as SPSR_EL1 lays them out (Arm ARM C5.2.18). */
const CPSR_FLAGS = [
  '    <flags id="cpsr_flags" size="4">',
  '      <field name="SP" start="0" end="0"/>',
  '      <field name="EL" start="2" end="3" type="uint32"/>',
  '      <field name="nRW" start="4" end="4"/>',
  '      <field name="F" start="6" end="6"/>',
  '      <field name="I" start="7" end="7"/>',
  '      <field name="A" start="8" end="8"/>',
  '      <field name="D" start="9" end="9"/>',
  '      <field name="SS" start="21" end="21"/>',
  '      <field name="V" start="28" end="28"/>',
  '      <field name="C" start="29" end="29"/>',
  '      <field name="Z" start="30" end="30"/>',
  '      <field name="N" start="31" end="31"/>',
  '    </flags>',
];

/** The vector union types of gdb's aarch64-fpu.xml: v0..v31 view as d/s/h/b/q lanes. */
const FPU_TYPES = [
  '    <vector id="v2d" type="ieee_double" count="2"/>',
  '    <vector id="v2u" type="uint64" count="2"/>',
  '    <vector id="v2i" type="int64" count="2"/>',
  '    <vector id="v4f" type="ieee_single" count="4"/>',
  '    <vector id="v4u" type="uint32" count="4"/>',
  '    <vector id="v4i" type="int32" count="4"/>',
  '    <vector id="v8u" type="uint16" count="8"/>',
  '    <vector id="v8i" type="int16" count="8"/>',
  '    <vector id="v16u" type="uint8" count="16"/>',
  '    <vector id="v16i" type="int8" count="16"/>',
  '    <vector id="v1u" type="uint128" count="1"/>',
  '    <vector id="v1i" type="int128" count="1"/>',
  '    <union id="vnd"><field name="f" type="v2d"/><field name="u" type="v2u"/><field name="s" type="v2i"/></union>',
  '    <union id="vns"><field name="f" type="v4f"/><field name="u" type="v4u"/><field name="s" type="v4i"/></union>',
  '    <union id="vnh"><field name="u" type="v8u"/><field name="s" type="v8i"/></union>',
  '    <union id="vnb"><field name="u" type="v16u"/><field name="s" type="v16i"/></union>',
  '    <union id="vnq"><field name="u" type="v1u"/><field name="s" type="v1i"/></union>',
  '    <union id="aarch64v"><field name="d" type="vnd"/><field name="s" type="vns"/>' +
    '<field name="h" type="vnh"/><field name="b" type="vnb"/><field name="q" type="vnq"/></union>',
];

function feature(name: string, types: string[]): string {
  const regs = AARCH64_REGISTERS.filter((r) => r.feature === name).map(reg);
  return [`  <feature name="${name}">`, ...types, ...regs, '  </feature>'].join('\n');
}

/** The complete target.xml served through qXfer:features:read:target.xml. */
export const TARGET_XML = [
  '<?xml version="1.0"?>',
  '<!DOCTYPE target SYSTEM "gdb-target.dtd">',
  '<target version="1.0">',
  '  <architecture>aarch64</architecture>',
  feature(FEATURE_CORE, CPSR_FLAGS),
  feature(FEATURE_FPU, FPU_TYPES),
  feature(FEATURE_SYS, []),
  '</target>',
  '',
].join('\n');
