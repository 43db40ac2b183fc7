/**
 * The native addon's KVM API as the suite uses it (contract: docs/native-api.md), its
 * loader, and one normalised shape for run() results so the cases read the same
 * whichever spelling the addon settles on. Anything unexpected fails loudly.
 */
import * as fs from 'fs';
import * as path from 'path';

/** A watchpoint of the VM. */
export interface Watchpoint {
  addr: bigint;
  len: number;
  kind: 'read' | 'write' | 'access';
}

/** What the suite needs of the addon's Vm (docs/native-api.md). */
export interface NativeVm {
  loadImage(gpa: bigint, bytes: Uint8Array): void;
  loadElf?(bytes: Uint8Array): bigint;
  resetVcpu(vcpu: number, entry: bigint): void;
  getReg(vcpu: number, name: string): bigint;
  setReg(vcpu: number, name: string, value: bigint): void;
  readPhys(gpa: bigint, len: number): Buffer;
  writePhys(gpa: bigint, bytes: Uint8Array): void;
  setMmioReadData(vcpu: number, data: bigint): void;
  readVirt?(vcpu: number, va: bigint, len: number): Buffer;
  translate?(vcpu: number, va: bigint): { pa: bigint };
  insertSwBreakpoint(gpa: bigint): void;
  insertSwBreakpointVirt(vcpu: number, va: bigint): bigint;
  insertHwBreakpoint(va: bigint): void;
  removeHwBreakpoint(va: bigint): void;
  hwBreakpoints(): bigint[];
  insertWatchpoint(w: Watchpoint): void;
  removeWatchpoint(w: Watchpoint): void;
  writeVirt?(vcpu: number, va: bigint, bytes: Uint8Array): void;
  removeSwBreakpoint(addr: bigint): void;
  removeAll(): unknown;
  reinjections?(vcpu: number): number;
  run(vcpu: number, opts?: { singleStep?: boolean; reportReinjections?: boolean }): Promise<unknown>;
  stop(vcpu: number): void;
  close(): void;
}

/** The addon module. */
export interface Native {
  kvmCapabilities(): Record<string, unknown> & { available?: boolean; reason?: string };
  Vm: { create(opts: { memMib: number; vcpus: number; ramBase?: bigint; board?: { consoleFd?: number } }): NativeVm };
}

/** Where the addon is looked for: $KVM_DEBUG_NATIVE (as ts/src/binding.ts), the lane's copy, the repository's. */
export function addonCandidates(): string[] {
  const name = 'kvm-debug.linux-arm64-gnu.node';
  const list = [
    process.env.KVM_DEBUG_NATIVE,
    '/lane/crates/node/' + name,
    path.resolve(__dirname, '../../../../../../crates/node', name),
  ];
  return list.filter((p): p is string => !!p);
}

/** Load the addon, or return why not (the runner prints it as the skip reason). */
export function loadNative(): { native: Native; from: string } | { reason: string } {
  if (process.arch !== 'arm64') return { reason: `process.arch is ${process.arch}, the suite needs arm64 KVM` };
  const tried: string[] = [];
  for (const p of addonCandidates()) {
    if (!fs.existsSync(p)) {
      tried.push(`${p} (absent)`);
      continue;
    }
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const native = require(p) as Native;
    return { native, from: p };
  }
  return { reason: `no native addon: ${tried.join(', ')}` };
}

/** Run results, normalised. */
export type Exit =
  | { kind: 'debug'; esr: number; ec: number; pc: bigint; far: bigint | undefined; cause: string; watch: Watchpoint | undefined; raw: unknown }
  | { kind: 'mmio'; addr: bigint; len: number; isWrite: boolean; data: bigint; raw: unknown }
  | { kind: 'shutdown'; raw: unknown }
  | { kind: 'reset'; raw: unknown }
  | { kind: 'interrupted'; raw: unknown }
  | { kind: 'other'; what: string; raw: unknown };

type Rec = Record<string, unknown>;

function big(v: unknown, what: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^(0x)?[0-9a-f]+$/i.test(v)) return BigInt(v.startsWith('0x') ? v : '0x' + v);
  throw new Error(`exit field ${what}: not an integer: ${String(v)}`);
}

function pick(r: Rec, ...names: string[]): unknown {
  for (const n of names) if (r[n] !== undefined) return r[n];
  return undefined;
}

/** Bytes of an MMIO store (Buffer/Uint8Array/array, little-endian) or a number -> value. */
function mmioData(v: unknown, len: number): bigint {
  if (v instanceof Uint8Array || Array.isArray(v)) {
    const b = Array.from(v as ArrayLike<number>).slice(0, len);
    return b.reduceRight((acc, x) => (acc << 8n) | BigInt(x), 0n);
  }
  return big(v ?? 0, 'data');
}

/** Map whatever run() resolved to onto {@link Exit}. */
export function normalizeExit(raw: unknown): Exit {
  if (typeof raw !== 'object' || raw === null) return { kind: 'other', what: String(raw), raw };
  const r = raw as Rec;
  const kind = String(pick(r, 'kind', 'reason', 'type') ?? '').toLowerCase();
  if (kind === 'debug') {
    const esr = Number(big(pick(r, 'esr', 'hsr', 'syndrome'), 'esr') & 0xffff_ffffn);
    const ecv = pick(r, 'ec');
    return {
      kind: 'debug',
      esr,
      ec: ecv === undefined ? esr >>> 26 : Number(ecv),
      pc: big(pick(r, 'pc'), 'pc'),
      far: pick(r, 'far') === undefined || pick(r, 'far') === null ? undefined : big(pick(r, 'far'), 'far'),
      cause: String(pick(r, 'cause') ?? ''),
      watch: (pick(r, 'watch') ?? undefined) as Watchpoint | undefined,
      raw,
    };
  }
  if (kind === 'mmio') {
    const len = Number(pick(r, 'len', 'length', 'size') ?? 0);
    return {
      kind: 'mmio',
      addr: big(pick(r, 'addr', 'address', 'gpa'), 'addr'),
      len,
      isWrite: Boolean(pick(r, 'isWrite', 'is_write', 'write')),
      data: mmioData(pick(r, 'data', 'value'), len),
      raw,
    };
  }
  if (kind === 'shutdown' || kind === 'systemoff' || kind === 'system_off') return { kind: 'shutdown', raw };
  if (kind === 'reset') return { kind: 'reset', raw };
  if (kind === 'interrupted') return { kind: 'interrupted', raw };
  if (kind === 'systemevent' || kind === 'system_event' || kind === 'system-event') {
    const ev = String(pick(r, 'event', 'type', 'eventType') ?? '').toLowerCase();
    if (ev.includes('shutdown') || ev === '1') return { kind: 'shutdown', raw };
    if (ev.includes('reset') || ev === '2') return { kind: 'reset', raw };
  }
  return { kind: 'other', what: kind || JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v)), raw };
}

/** Printable form of an exit for failure messages. */
export function showExit(e: Exit): string {
  switch (e.kind) {
    case 'debug':
      return `debug ec=0x${e.ec.toString(16)} esr=0x${e.esr.toString(16)} pc=0x${e.pc.toString(16)}` +
        (e.far === undefined ? '' : ` far=0x${e.far.toString(16)}`);
    case 'mmio':
      return `mmio ${e.isWrite ? 'write' : 'read'} addr=0x${e.addr.toString(16)} len=${e.len} data=0x${e.data.toString(16)}`;
    case 'other':
      return `other ${e.what}`;
    default:
      return e.kind;
  }
}
