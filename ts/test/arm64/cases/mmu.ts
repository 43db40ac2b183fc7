// MMU on, with stage-1 tables built by the test: a breakpoint set by virtual address stops
// the guest at that VA. Tables: 4K granule, 39-bit VA (start at level 1), identity 1 GiB
// block over RAM and an alias VA_ALIAS -> RAM_BASE mapped by 4K pages (L1 -> L2 -> L3).
import { test } from '../harness';
import { native } from '../ctx';
import { EC_BRK64, EC_SOFTWARE_STEP, RAM_BASE, expectEq, hex, withGuest, GuestVm } from '../guest';

const PT_BASE = RAM_BASE + 0x10_0000n; // guests/README.md: RAM_BASE + 1 MiB
const L1 = PT_BASE;
const L2 = PT_BASE + 0x1000n;
const L3 = PT_BASE + 0x2000n;
const VA_ALIAS = 0xc000_0000n;
const PAGE = 0x1000n;
const ENTRIES = 512;

// VMSAv8-64 descriptors (Arm ARM D8.3): bits[1:0], AttrIndx[4:2], AP[7:6], SH[9:8], AF[10].
const DESC_BLOCK = 0b01n;
const DESC_TABLE = 0b11n; // also "page" at level 3
const SH_INNER = 3n << 8n;
const AF = 1n << 10n;
const NORMAL_ATTRS = AF | SH_INNER; // AttrIndx 0 (MAIR attr0), AP 00: EL1 read/write

const MAIR_NORMAL_WB = 0xffn; // MAIR_EL1 Attr0: Normal, Inner/Outer Write-Back RW-allocate
// TCR_EL1 (Arm ARM D17.2.131): T0SZ=25 (39-bit VA), IRGN0/ORGN0=WB-WA, SH0=Inner, TG0=4K,
// EPD1=1 (no TTBR1 walks), IPS=0b010 (40-bit PA).
const TCR = 25n | (1n << 8n) | (1n << 10n) | (3n << 12n) | (0n << 14n) | (1n << 23n) | (2n << 32n);
const L1_SHIFT = 30n;
const L2_SHIFT = 21n;

export function buildTables(g: GuestVm): void {
  const l1 = Buffer.alloc(0x1000);
  const l2 = Buffer.alloc(0x1000);
  const l3 = Buffer.alloc(0x1000);
  l1.writeBigUInt64LE(RAM_BASE | NORMAL_ATTRS | DESC_BLOCK, Number(RAM_BASE >> L1_SHIFT) * 8);
  l1.writeBigUInt64LE(L2 | DESC_TABLE, Number(VA_ALIAS >> L1_SHIFT) * 8);
  l2.writeBigUInt64LE(L3 | DESC_TABLE, Number((VA_ALIAS >> L2_SHIFT) & 511n) * 8);
  for (let i = 0; i < ENTRIES; i++) l3.writeBigUInt64LE((RAM_BASE + BigInt(i) * PAGE) | NORMAL_ATTRS | DESC_TABLE, i * 8);
  g.vm.writePhys(L1, l1);
  g.vm.writePhys(L2, l2);
  g.vm.writePhys(L3, l3);
  const params = g.sym('mmu_params');
  g.writeU64(params, MAIR_NORMAL_WB);
  g.writeU64(params + 8n, TCR);
  g.writeU64(params + 16n, L1);
  g.writeU64(params + 24n, VA_ALIAS - RAM_BASE);
}

/** mmu.S: va_target runs CALLS = 5 times, adding STEP = 7 each. */
const CALLS = 5;

test('MMU on (test-built tables): breakpoint by virtual address', () =>
  withGuest(native(), 'mmu', async (g) => {
    buildTables(g);
    const toVa = (pa: bigint) => pa - RAM_BASE + VA_ALIAS;
    // Stop once the guest runs in the alias (a breakpoint by PA: the MMU is still off now).
    g.vm.insertSwBreakpoint(g.sym('va_main'));
    g.expectDebug(await g.runToStop(), EC_BRK64, toVa(g.sym('va_main')), 'stop at va_main, in the alias');
    g.vm.removeSwBreakpoint(g.sym('va_main'));
    const target = toVa(g.sym('va_target'));
    if (!g.vm.translate) throw new Error('addon has no translate()');
    expectEq(g.vm.translate(0, target).pa, g.sym('va_target'), `translate(${hex(target)})`);
    insertByVa(g, target);
    let hits = 0;
    for (;;) {
      const e = await g.runToStop();
      if (e.kind === 'shutdown') break;
      g.expectDebug(e, EC_BRK64, target, `hit ${hits + 1} at the VA`);
      hits++;
      removeByVa(g, target);
      g.expectDebug(await g.runToStop(true), EC_SOFTWARE_STEP, target + 4n, 'step over');
      insertByVa(g, target);
    }
    expectEq(hits, CALLS, 'hits at the VA');
    expectEq(g.readU64(g.sym('result')), BigInt(CALLS * 7), 'result');
  }));

// By VA: the addon walks vCPU 0's stage-1 tables and patches the PA it maps to, in one call.
function insertByVa(g: GuestVm, va: bigint): void {
  if (!g.vm.translate) throw new Error('addon has no translate()');
  expectEq(g.vm.insertSwBreakpointVirt(0, va), g.vm.translate(0, va).pa, `PA patched for ${hex(va)}`);
}
function removeByVa(g: GuestVm, va: bigint): void {
  if (!g.vm.translate) throw new Error('addon has no translate()');
  g.vm.removeSwBreakpoint(g.vm.translate(0, va).pa);
}
