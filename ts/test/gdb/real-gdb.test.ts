/**
 * Drives the server with the real gdb-multiarch against the in-memory fake
 * aarch64 target: proves target.xml, the packet layer and the stop replies
 * against the real client before the KVM path exists.
 */
import * as fs from 'fs';
import { existsSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { AddressInfo } from 'net';
import { REG_SYS0 } from '../../src/gdb/aarch64';
import { listen, type GdbListener } from '../../src/gdb/tcp';
import { expectCleanDetach, listenRecording, runBatch } from './client';
import { CLIENT_TEST_PROGRAM, FakeTarget, INSN, RAM_BASE } from './fake-target';

const GDB = '/usr/bin/gdb-multiarch';
const DATA = RAM_BASE + 0x800n;
const ESR_EL1 = REG_SYS0 + 4;

function runGdb(commands: string[]): Promise<{ out: string; code: number | null }> {
  return runBatch(GDB, ['-nx', '-batch', ...commands.flatMap((c) => ['-ex', c])]);
}

describe('real gdb-multiarch against the fake target', () => {
  let listener: GdbListener | undefined;
  afterEach(async () => {
    await listener?.close();
  });

  test('target remote, info registers, x/4i, break, continue, stepi, hbreak, watch, delete, detach', async () => {
    // scripts/setup.sh installs it, so a missing client is a set-up bug, not a skip.
    if (!existsSync(GDB)) throw new Error(`${GDB} is not installed: run scripts/setup.sh (apt-get install gdb-multiarch)`);
    const t = new FakeTarget();
    t.program(RAM_BASE, [...CLIENT_TEST_PROGRAM]);
    t.setReg(0, 0, DATA);
    t.setReg(0, ESR_EL1, 0xf2000123n);
    const original = Buffer.from(t.ram);
    const rec = await listenRecording(t);
    listener = rec.listener;
    const { port, ends } = rec;

    const { out, code } = await runGdb([
      'set architecture aarch64',
      `target remote 127.0.0.1:${port}`,
      'info registers',
      'info registers ESR_EL1',
      'x/4i $pc',
      'break *0x40000010',
      'continue',
      'stepi',
      'print/x $pc',
      'hbreak *0x40000018',
      'continue',
      'delete',
      'set $x1 = 0x1234',
      'set $pc = 0x40000000',
      'watch *(long *)0x40000800',
      'continue',
      'delete',
      'print/x $pc',
      'detach',
    ]);
    if (process.env.SHOW_GDB) console.log(out);
    // Shown on failure only.
    const ctx = `gdb output:\n${out}`;
    expect([ctx, code]).toEqual([ctx, 0]);
    expect(out).toMatch(/x0 +0x40000800/);
    expect(out).toMatch(/pc +0x40000000/);
    expect(out).toMatch(/cpsr +0x3c5/);
    expect(out).toMatch(/ESR_EL1 +0xf2000123/);
    expect(out).toMatch(/=> 0x40000000:\s+nop\n\s+0x40000004:\s+nop\n\s+0x40000008:\s+str\s+x1, \[x0\]/);
    expect(out).toMatch(/Breakpoint 1 at 0x40000010/);
    expect(out).toMatch(/Breakpoint 1, 0x0*40000010 in \?\? \(\)/);
    expect(out).toMatch(/\$1 = 0x40000014/);
    expect(out).toMatch(/Hardware assisted breakpoint 2 at 0x40000018/);
    expect(out).toMatch(/Breakpoint 2, 0x0*40000018 in \?\? \(\)/);
    expect(out).toMatch(/Hardware watchpoint 3: \*\(long \*\)0x40000800/);
    expect(out).toMatch(/Old value = 0\s+New value = 4660/);
    expect(out).toMatch(/\$2 = 0x4000000c/);
    expect(out).toMatch(/Detaching from program|detached/i);
    expect(out).not.toMatch(/Remote failure|Ignoring packet error|Bogus|malformed/i);

    // The guest did what gdb says it did, and detaching left no breakpoint behind.
    expect(t.ram.readBigUInt64LE(Number(DATA - RAM_BASE))).toBe(0x1234n);
    const expected = Buffer.from(original);
    expected.writeBigUInt64LE(0x1234n, Number(DATA - RAM_BASE));
    await expectCleanDetach(t, expected, ends);
  }, 90_000);

  test('gdb 13 reads 64 KiB per m at the default PacketSize, and the dump is the memory', async () => {
    if (!existsSync(GDB)) throw new Error(`${GDB} is not installed: run scripts/setup.sh (apt-get install gdb-multiarch)`);
    const t = new FakeTarget();
    for (let i = 0; i < t.ram.length; i += 4) t.ram.writeUInt32LE((i * 2654435761) >>> 0, i);
    listener = await listen(t, { port: 0 });
    const { port } = listener.address() as AddressInfo;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-debug-gdb-')), 'dump.bin');
    const { out, code } = await runGdb([
      'set architecture aarch64',
      `target remote 127.0.0.1:${port}`,
      'set debug remote 1',
      `dump binary memory ${file} 0x${RAM_BASE.toString(16)} 0x${(RAM_BASE + 0x10000n).toString(16)}`,
      'set debug remote 0',
      'detach',
    ]);
    const ctx = `gdb output:\n${out.slice(-2000)}`;
    expect([ctx, code]).toEqual([ctx, 0]);
    const sizes = [...out.matchAll(/Sending packet: \$m[0-9a-f]+,([0-9a-f]+)#/g)].map((m) => parseInt(m[1] as string, 16));
    expect(sizes).toEqual([0x10000]);
    expect(fs.readFileSync(file).equals(t.ram.subarray(0, 0x10000))).toBe(true);
  }, 90_000);

  test('a stepi with a breakpoint armed elsewhere: the packets gdb 13 sends, one thread list among them', async () => {
    if (!existsSync(GDB)) throw new Error(`${GDB} is not installed: run scripts/setup.sh (apt-get install gdb-multiarch)`);
    const t = new FakeTarget({ vcpus: 2 });
    t.program(RAM_BASE, [INSN.NOP, INSN.NOP, INSN.NOP, INSN.NOP, INSN.NOP, INSN.B_BACK2]);
    listener = await listen(t, { port: 0 });
    const { port } = listener.address() as AddressInfo;
    const { out, code } = await runGdb([
      'set architecture aarch64',
      `target remote 127.0.0.1:${port}`,
      'break *0x40000014',
      'set debug remote 1',
      'stepi',
      'stepi',
      'set debug remote 0',
      'info threads',
      'detach',
    ]);
    const ctx = `gdb output:\n${out.slice(-3000)}`;
    expect([ctx, code]).toEqual([ctx, 0]);
    const sent = [...out.matchAll(/Sending packet: \$([^#]*)#/g)].map((m) => m[1] as string);
    const steps = sent.slice(sent.findIndex((p) => p.startsWith('Z0')));
    console.log(`packets for two stepi (${steps.length}): ${steps.join(' ')}`);
    expect(steps.filter((p) => /^q[fs]ThreadInfo/.test(p))).toEqual([]);
    expect(steps.filter((p) => p.startsWith('qXfer:threads:read'))).toHaveLength(2);
    expect(steps.filter((p) => p.startsWith('vCont;s'))).toHaveLength(2);
    expect(out).toMatch(/^\*? +1 +Thread 1 "?[^\n]*vCPU 0/m);
    expect(out).toMatch(/^ +2 +Thread 2 [^\n]*vCPU 1/m);
  }, 90_000);
});
