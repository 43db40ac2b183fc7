/**
 * Drives the server with Debian's real lldb (`gdb-remote`) against the in-memory aarch64
 * target: LLDB is the second client. It learns the registers from target.xml, asks
 * qHostInfo/qProcessInfo, names threads in register packets (QThreadSuffixSupported) and
 * reads the thread list from stop replies (QListThreadsInStopReply).
 */
import { existsSync } from 'fs';
import { REG_PC } from '../../src/gdb/aarch64';
import type { GdbListener } from '../../src/gdb/tcp';
import { expectCleanDetach, listenRecording, runBatch } from './client';
import { CLIENT_TEST_PROGRAM, FakeTarget, INSN, RAM_BASE } from './fake-target';

const LLDB = '/usr/bin/lldb';
const DATA = RAM_BASE + 0x800n;
const hex = (v: bigint): string => `0x${v.toString(16)}`;

/** lldb in batch mode; each command is echoed as `(lldb) <command>` before its output. */
function runLldb(commands: string[]): Promise<{ out: string; code: number | null }> {
  // auto-confirm: `delete` of every breakpoint asks first, and a batch run has nobody to answer.
  return runBatch(LLDB, ['--no-lldbinit', '--batch', '-O', 'settings set auto-confirm true', ...commands.flatMap((c) => ['-o', c])]);
}

/** The output of the command `cmd` (up to the next prompt). */
function after(out: string, cmd: string): string {
  const start = out.indexOf(`(lldb) ${cmd}\n`);
  if (start < 0) return '';
  const rest = out.slice(start + cmd.length + 8);
  const end = rest.indexOf('(lldb) ');
  return end < 0 ? rest : rest.slice(0, end);
}

describe('real lldb against the fake target', () => {
  let listener: GdbListener | undefined;
  afterEach(async () => {
    await listener?.close();
  });

  test('gdb-remote, registers, memory, disassemble, break, stepi, hardware break, watch, threads, detach', async () => {
    // scripts/setup.sh installs it, so a missing client is a set-up bug, not a skip.
    if (!existsSync(LLDB)) throw new Error(`${LLDB} is not installed: run scripts/setup.sh (apt-get install lldb)`);
    const t = new FakeTarget({ vcpus: 2 });
    t.program(RAM_BASE, [...CLIENT_TEST_PROGRAM]);
    t.program(RAM_BASE + 0x40n, [INSN.NOP, INSN.NOP, INSN.B_BACK2]); // vCPU 1 spins here
    t.setReg(0, 0, DATA);
    t.setReg(0, 1, 0xabcdn);
    t.setReg(1, REG_PC, RAM_BASE + 0x40n);
    const original = Buffer.from(t.ram);
    const rec = await listenRecording(t);
    listener = rec.listener;
    const { port, ends } = rec;

    const { out, code } = await runLldb([
      `gdb-remote 127.0.0.1:${port}`,
      'register read x0 pc cpsr',
      `memory read -s4 -fx -c4 ${hex(RAM_BASE)}`,
      `disassemble -s ${hex(RAM_BASE)} -c 3`,
      `watchpoint set expression -w write -s 8 -- ${hex(DATA)}`,
      'continue',
      'register read pc',
      'watchpoint delete',
      `breakpoint set -a ${hex(RAM_BASE + 0x10n)}`,
      'continue',
      'stepi',
      'register read pc',
      'breakpoint delete',
      `breakpoint set -H -a ${hex(RAM_BASE + 0x18n)}`,
      'continue',
      'breakpoint delete',
      'register write x1 0x1234',
      'register read x1',
      `memory write ${hex(DATA + 8n)} 0x11 0x22`,
      `memory read -c2 ${hex(DATA + 8n)}`,
      'thread list',
      'thread select 2',
      'register read pc',
      'detach',
    ]);
    if (process.env.SHOW_LLDB) require('fs').writeFileSync(process.env.SHOW_LLDB, out);
    // Shown on failure only.
    const ctx = `lldb output:\n${out}`;
    expect([ctx, code]).toEqual([ctx, 0]);
    // Stops are printed as lldb's process events arrive, not always right after the command:
    // they are looked for in the whole output; command results (register, memory) in place.
    expect(out).toMatch(/Process 1 stopped\n\* thread #1, stop reason = signal SIGTRAP\n\s+frame #0: 0x0000000040000000/);
    expect(after(out, 'register read x0 pc cpsr')).toMatch(/x0 = 0x0000000040000800\n\s+pc = 0x0000000040000000\n\s+cpsr = 0x000003c5/);
    expect(after(out, `memory read -s4 -fx -c4 ${hex(RAM_BASE)}`)).toMatch(/0x40000000: 0xd503201f 0xd503201f 0xf9000001 0xd503201f/);
    expect(after(out, `disassemble -s ${hex(RAM_BASE)} -c 3`)).toMatch(/0x40000000: nop\s+\n.*0x40000004: nop\s+\n.*0x40000008: str\s+x1, \[x0\]/);
    // The watchpoint stops before the store (Arm ARM D2.10.5); lldb steps over it, then reports.
    expect(out).toMatch(/Watchpoint 1 hit:\nold value: -721215457\nnew value: 43981/);
    expect(out).toMatch(/stop reason = watchpoint 1\n\s+frame #0: 0x000000004000000c/);
    expect(after(out, 'register read pc')).toMatch(/pc = 0x000000004000000c/);
    expect(out).toMatch(/stop reason = breakpoint 1\.1\n\s+frame #0: 0x0000000040000010/);
    expect(out).toMatch(/stop reason = instruction step into\n\s+frame #0: 0x0000000040000014/);
    expect(out).toMatch(/stop reason = breakpoint 2\.1\n\s+frame #0: 0x0000000040000018/);
    expect(after(out, 'register read x1')).toMatch(/x1 = 0x0000000000001234/);
    expect(after(out, `memory read -c2 ${hex(DATA + 8n)}`)).toMatch(/0x40000808: 11 22/);
    const threads = after(out, 'thread list');
    expect(threads).toMatch(/\* thread #1: tid = 0x0001, 0x0000000040000018/);
    const pc1 = /thread #2: tid = 0x0002, (0x000000004000004[048])/.exec(threads)?.[1];
    expect([threads, pc1]).toEqual([threads, expect.any(String)]);
    expect(out).toMatch(new RegExp(`\\* thread #2\\n\\s+frame #0: ${pc1 as string}`));
    // The second `register read pc` is thread 2's, through `p20;thread:0002;`.
    expect(out.split('(lldb) register read pc\n')[3]).toMatch(new RegExp(`^\\s+pc = ${pc1 as string}\\n`));
    expect(out).toMatch(/Process 1 detached/);
    expect(out).not.toMatch(/error:/);

    // The guest did what lldb says it did, and detaching left no breakpoint behind.
    const expected = Buffer.from(original);
    expected.writeBigUInt64LE(0xabcdn, Number(DATA - RAM_BASE));
    expected.writeUInt16LE(0x2211, Number(DATA + 8n - RAM_BASE));
    await expectCleanDetach(t, expected, ends);
  }, 90_000);
});
