import { AARCH64_REGISTERS, G_PACKET_BYTES, REG_CPSR, REG_PC, REG_SP, REG_SYS0, REG_V0 } from '../../src/gdb/aarch64';
import { checksum, encodePacket, toHex } from '../../src/gdb/packet';
import { commandName } from '../../src/gdb/server';
import { keepNote, MAX_NOTES, type ServerContext } from '../../src/gdb/commands/common';
import { defaultEsrDecoder } from '../../src/gdb/commands/monitor';
import { decodeText, summary } from '../../src/decode';
import { FakeTarget, INSN, HIGH_VA, MMIO_BASE, PSCI_SYSTEM_OFF, RAM_BASE } from './fake-target';
import { hexText, MemClient, unhexText } from './client';
import { ErrorCode, codedError } from '../../src/errors';

const le64 = (v: bigint): string => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b.toString('hex');
};

/** A stop reply without its expedited `<regnum>:<value>;` fields (tested on their own below). */
const bare = (r: string): string => r.replace(/(?<=;|^T[0-9a-f]{2})[0-9a-f]{2}:[0-9a-f]+;/g, '');
const bareAll = (rs: string[]): string[] => rs.map(bare);
/** Frame a payload as it is, with no escaping (a hostile client's bytes). */
const encodeRaw = (p: string): string => `$${p}#${checksum(Buffer.from(p, 'latin1')).toString(16).padStart(2, '0')}`;

function setup(vcpus = 1, opts: ConstructorParameters<typeof MemClient>[1] = {}): { t: FakeTarget; c: MemClient } {
  const t = new FakeTarget({ vcpus });
  return { t, c: new MemClient(t, opts) };
}

describe('dispatch', () => {
  test('command names', () => {
    const n = (s: string): string => commandName(Buffer.from(s));
    expect(n('qSupported:multiprocess+')).toBe('qSupported');
    expect(n('qXfer:features:read:target.xml:0,10')).toBe('qXfer');
    expect(n('vCont?')).toBe('vCont?');
    expect(n('vCont;c')).toBe('vCont');
    expect(n('qRcmd,6361')).toBe('qRcmd');
    expect(n('m4000,4')).toBe('m');
  });

  test('unknown packets get the empty reply and the session survives', () => {
    const { c } = setup();
    expect(c.req('vMustReplyEmpty')).toBe('');
    expect(c.req('qTStatus')).toBe('');
    expect(c.req('!')).toBe('');
    expect(bare(c.req('?'))).toBe('T05thread:01;');
  });

  test('qSupported is derived from the command table', () => {
    const { c } = setup();
    const feats = c.req('qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386').split(';');
    expect(feats).toEqual(
      expect.arrayContaining([
        'PacketSize=20000',
        'binary-upload+',
        'qXfer:features:read+',
        'qXfer:threads:read+',
        'swbreak+',
        'hwbreak+',
        'vContSupported+',
        'QStartNoAckMode+',
      ]),
    );
    expect(feats).toHaveLength(8);
    const off = new MemClient(new FakeTarget({ caps: { debugEnabled: false } }));
    expect(off.req('qSupported').split(';')).not.toContain('swbreak+');
    expect(new MemClient(new FakeTarget(), { maxPacket: 0x800 }).req('qSupported')).toMatch(/^PacketSize=800;/);
  });
});

describe('acks', () => {
  test('acks in ack mode, none after QStartNoAckMode', () => {
    const { c } = setup();
    c.req('?');
    expect(c.acks).toBe(1);
    expect(c.req('QStartNoAckMode')).toBe('OK');
    expect(c.acks).toBe(2); // the QStartNoAckMode packet itself is acked
    c.req('?');
    expect(c.acks).toBe(2);
    expect(c.server.noAckMode).toBe(true);
  });

  test('a bad checksum is nacked and the next packet still works; a nack resends', () => {
    const { c } = setup();
    expect(c.raw('$?#00')).toEqual([]);
    expect(c.nacks).toBe(1);
    expect(c.req('qC')).toBe('QC01');
    expect(c.raw('-')).toEqual(['QC01']);
  });

  test('a `-` resends only a reply still unacknowledged: a stray one after `+` changes nothing', () => {
    const { c } = setup();
    expect(c.req('qC')).toBe('QC01');
    expect(c.raw('+')).toEqual([]);
    expect(c.raw('-')).toEqual([]);
    // The client stays in step: the next request gets its own reply.
    expect(c.req('qAttached')).toBe('1');
    expect(c.raw('-')).toEqual(['1']);
    expect(c.raw('+-')).toEqual([]);
  });

  test('data ending in a lone escape is an invalid packet: nacked, nothing written', () => {
    const { t, c } = setup();
    const before = Buffer.from(t.ram);
    expect(c.raw(encodeRaw('X40000000,1:}'))).toEqual([]);
    expect(c.nacks).toBe(1);
    expect(t.ram.equals(before)).toBe(true);
    // Without acks there is no retransmission: the client gets an error instead.
    expect(c.req('QStartNoAckMode')).toBe('OK');
    expect(c.raw(encodeRaw('X40000000,1:}'))).toEqual(['E16']);
    expect(t.ram.equals(before)).toBe(true);
  });

  test('over-long packets get an error reply, not a crash', () => {
    const { c } = setup(1, { maxPacket: 64 });
    expect(c.req('M40000000,40:' + '00'.repeat(0x40))).toBe('E5a');
    expect(bare(c.req('?'))).toBe('T05thread:01;');
  });
});

describe('registers', () => {
  test('g carries every register in regnum order, little-endian', () => {
    const { t, c } = setup();
    t.setReg(0, 0, 0x1122334455667788n);
    t.setReg(0, REG_PC, 0x40000010n);
    t.setReg(0, REG_CPSR, 0x3c5n);
    t.setReg(0, REG_SYS0 + 4, 0xf2000123n); // ESR_EL1
    const g = Buffer.from(c.req('g'), 'hex');
    expect(g.length).toBe(G_PACKET_BYTES);
    let off = 0;
    for (const r of AARCH64_REGISTERS) {
      const n = r.bitsize / 8;
      expect(g.subarray(off, off + n)).toEqual(t.readRegister(0, r.regnum));
      off += n;
    }
    expect(g.readBigUInt64LE(0)).toBe(0x1122334455667788n);
    expect(c.req('p20')).toBe(le64(0x40000010n)); // regnum 32 = pc
    expect(c.req('p21')).toBe('c5030000'); // cpsr is 32-bit
    expect(c.req(`p${(REG_SYS0 + 4).toString(16)}`)).toBe(le64(0xf2000123n));
  });

  test('G and P write; bad lengths and regnums are refused before touching the target', () => {
    const { t, c } = setup();
    const g = Buffer.alloc(G_PACKET_BYTES, 0xab);
    expect(c.req(`G${g.toString('hex')}`)).toBe('OK');
    expect(t.reg(0, 5)).toBe(0xababababababababn);
    expect(c.req(`P${REG_V0.toString(16)}=${'11'.repeat(16)}`)).toBe('OK');
    expect(t.readRegister(0, REG_V0)).toEqual(Buffer.alloc(16, 0x11));
    const before = t.calls.length;
    expect(c.req(`G${g.toString('hex').slice(2)}`)).toBe('E16'); // short
    expect(c.req(`G${g.toString('hex')}0`)).toBe('E16'); // odd hex
    expect(c.req('P1f=1234')).toBe('E16'); // wrong size for sp
    expect(c.req('P1f=123')).toBe('E16'); // odd hex
    expect(c.req('P1f=zz00000000000000')).toBe('E16');
    expect(c.req('p999')).toBe('E16');
    expect(c.req('pzz')).toBe('E16');
    expect(t.calls.length).toBe(before);
  });
});

describe('memory', () => {
  test('m reads; M and X write, binary-safe', () => {
    const { t, c } = setup();
    t.program(RAM_BASE, [INSN.ADD_X0_1]);
    expect(c.req('m40000000,4')).toBe('00040091');
    expect(c.req('M40000010,4:deadbeef')).toBe('OK');
    expect(t.word(RAM_BASE + 0x10n)).toBe(0xefbeadde);
    const bin = Buffer.from([0x23, 0x24, 0x7d, 0x2a, 0x00, 0x03]);
    expect(c.req(Buffer.concat([Buffer.from('X40000020,6:'), bin]))).toBe('OK');
    expect(c.req('m40000020,6')).toBe(bin.toString('hex'));
    expect(c.req('X40000000,0:')).toBe('OK'); // the probe gdb sends
  });

  test('a virtual address is read through the translation', () => {
    const { t, c } = setup();
    t.program(RAM_BASE + 0x100n, [0x01020304]);
    expect(c.req(`m${(HIGH_VA + 0x100n).toString(16)},4`)).toBe('04030201');
  });

  test('outside guest memory is EFAULT, and the session survives', () => {
    const { c } = setup();
    expect(c.req('m10,4')).toBe('E0e');
    expect(c.req(`m${MMIO_BASE.toString(16)},4`)).toBe('E0e');
    expect(c.req('m4000fffe,4')).toBe('E0e'); // runs off the end of RAM
    expect(c.req('M10,1:00')).toBe('E0e');
    expect(c.req('m40000000,1')).toBe('1f');
  });

  test('malformed memory requests never touch guest memory', () => {
    const { t, c } = setup();
    const touches = t.memoryTouches;
    for (const p of [
      'M40000000,4:0011', // length does not match the data
      'M40000000,2:001122', // longer data than the length
      'M40000000,2:001', // odd hex
      'M40000000,2:zz11',
      'M40000000:00',
      'Mzz,1:00',
      'm40000000',
      'm40000000,',
      'm,4',
      'mffffffffffffffff,2', // wraps past 2^64
      'm40000000,fffffffffffff',
    ]) {
      expect([p, c.req(p)]).toEqual([p, 'E16']);
    }
    expect(c.req(Buffer.concat([Buffer.from('X40000000,4:'), Buffer.from([1, 2, 3])]))).toBe('E16');
    expect(t.memoryTouches).toBe(touches);
  });

  test('m longer than a packet holds is answered with fewer bytes', () => {
    const { c } = setup(1, { maxPacket: 64 });
    expect(c.req('m40000000,40')).toHaveLength(64);
  });
});

describe('breakpoints', () => {
  test('Z0..Z4 insert through the table, z removes, refcounts hold', () => {
    const { t, c } = setup();
    expect(c.req('Z0,40000008,4')).toBe('OK');
    expect(t.word(RAM_BASE + 8n)).toBe(INSN.BRK0);
    expect(c.req('Z0,40000008,4')).toBe('OK');
    expect(c.req('z0,40000008,4')).toBe('OK');
    expect(t.word(RAM_BASE + 8n)).toBe(INSN.BRK0); // one reference left
    expect(c.req('z0,40000008,4')).toBe('OK');
    expect(t.word(RAM_BASE + 8n)).toBe(INSN.NOP);
    expect(c.req('z0,40000008,4')).toBe('E02');
    expect(c.req('Z1,40000010,4')).toBe('OK');
    expect(c.req('Z2,40000100,8')).toBe('OK');
    expect(c.req('Z3,40000200,4')).toBe('OK');
    expect(c.req('Z4,40000300,1')).toBe('E1c'); // both watchpoint slots used
    expect(t.hw.map((b) => b.addr)).toEqual([0x40000010n]);
    expect(t.watch.map((b) => b.kind)).toEqual(['watch-write', 'watch-read']);
    expect(c.req('z3,40000200,4')).toBe('OK');
    expect(c.req('Z4,40000300,1')).toBe('OK');
  });

  test('malformed Z packets are refused before the target is called', () => {
    const { t, c } = setup();
    const before = t.calls.length;
    for (const p of ['Z5,40000000,4', 'Z0,40000000,2', 'Z0,40000000', 'Z0,zz,4', 'Z2,40000000,0', 'Z0,,4', 'z9,0,4']) {
      expect([p, c.req(p)]).toEqual([p, 'E16']);
    }
    expect(t.calls.length).toBe(before);
  });

  test('a sw breakpoint on unwritable memory becomes hw, and monitor breakpoints says so', () => {
    const { t, c } = setup();
    expect(c.req(`Z0,${MMIO_BASE.toString(16)},4`)).toBe('OK');
    expect(t.hw.map((b) => b.addr)).toEqual([MMIO_BASE]);
    const out = unhexText(c.req(`qRcmd,${hexText('monitor breakpoints'.replace('monitor ', ''))}`));
    expect(out).toMatch(/#1 sw \(as hw\) va 0x9000000/);
    expect(out).toMatch(/placed as a hardware breakpoint/);
    expect(c.req('Z0,dead0000,4')).toBe('OK'); // unmapped VA: the second slot
    expect(c.req('Z0,beef0000,4')).toBe('E0e'); // no slot left: refused
    expect(unhexText(c.req(`qRcmd,${hexText('breakpoints')}`))).toMatch(/all 2 hardware breakpoint slots are in use/);
  });

  test('the next stop reply is preceded by the policy notes, on gdb\'s console (O packets), once', async () => {
    const { t, c } = setup();
    t.program(RAM_BASE, [INSN.ADD_X0_1, INSN.ADD_X0_1]);
    expect(c.req(`Z0,${MMIO_BASE.toString(16)},4`)).toBe('OK');
    expect(c.req('Z1,40000004,4')).toBe('OK');
    const first = await c.resume('c');
    const consoleText = first.filter((p) => p.startsWith('O')).map((p) => Buffer.from(p.slice(1), 'hex').toString());
    expect(consoleText).toEqual([expect.stringMatching(/^kvm-debug: software breakpoint at 0x9000000 placed as a hardware breakpoint: .*\n$/)]);
    expect(first[first.length - 1]).toMatch(/^T05thread:01;hwbreak:;/);
    expect(c.req('z1,40000004,4')).toBe('OK');
    expect(c.req('Z1,40000004,4')).toBe('OK');
    expect((await c.resume('s')).filter((p) => p.startsWith('O'))).toEqual([]);
  });

  test('notes are kept newest-last and bounded: a flood of refused Z packets does not grow the server', () => {
    const ctx = { notes: [] as string[], unannounced: [] as string[] } as unknown as ServerContext;
    for (let i = 0; i < 1000; i++) keepNote(ctx, `n${i}`, i % 2 === 0);
    expect(ctx.notes).toHaveLength(MAX_NOTES);
    expect(ctx.notes[MAX_NOTES - 1]).toBe('n999');
    expect(ctx.unannounced).toHaveLength(MAX_NOTES);
    expect(ctx.unannounced[MAX_NOTES - 1]).toBe('n998');
  });

  test('a code breakpoint off an instruction boundary is refused where Z is parsed', () => {
    const { t, c } = setup();
    expect(c.req('Z0,40000002,4')).toBe('E16');
    expect(c.req('Z1,40000006,4')).toBe('E16');
    expect(t.sw.size + t.hw.length).toBe(0);
    // Watchpoints have no such rule.
    expect(c.req('Z2,40000802,2')).toBe('OK');
  });

  test('a breakpoint on an address the guest already patched is refused', () => {
    const { t, c } = setup();
    t.program(RAM_BASE + 0x40n, [INSN.BRK0 | (0x123 << 5)]);
    expect(c.req('Z0,40000040,4')).toBe('E11');
    expect(bare(c.req('?'))).toBe('T05thread:01;');
  });
});

describe('threads', () => {
  test('one thread per vCPU: qfThreadInfo, qsThreadInfo, T, H, qC, qAttached', () => {
    const { t, c } = setup(3);
    expect(c.req('qfThreadInfo')).toBe('m01,02,03');
    expect(c.req('qsThreadInfo')).toBe('l');
    expect(c.req('T02')).toBe('OK');
    expect(c.req('T04')).toBe('E02');
    expect(c.req('qAttached')).toBe('1');
    expect(unhexText(c.req('qThreadExtraInfo,03'))).toBe('vCPU 2');
    t.setReg(2, 3, 0x33n);
    expect(c.req('Hg3')).toBe('OK');
    expect(c.req('p3')).toBe(le64(0x33n));
    expect(c.req('Hg0')).toBe('OK'); // any: keeps the current one
    expect(c.req('p3')).toBe(le64(0x33n));
    expect(c.req('Hg9')).toBe('E16');
    expect(c.req('Hx1')).toBe('E16');
    expect(c.req('Hc-1')).toBe('OK');
    expect(c.req('qC')).toBe('QC03');
  });

  test('qXfer:threads:read gives every vCPU in one document, in windows', () => {
    const { c } = setup(2);
    const doc = '<?xml version="1.0"?>\n<threads><thread id="01" core="0">vCPU 0</thread><thread id="02" core="1">vCPU 1</thread></threads>\n';
    expect(c.req('qXfer:threads:read::0,1000')).toBe(`l${doc}`);
    expect(c.req('qXfer:threads:read::0,10')).toBe(`m${doc.slice(0, 0x10)}`);
    expect(c.req('qXfer:threads:read::10,1000')).toBe(`l${doc.slice(0x10)}`);
    expect(c.req('qXfer:threads:read:x:0,10')).toBe('E02');
  });
});

describe('queries', () => {
  test('qXfer:features:read serves target.xml in windows', () => {
    const { c } = setup();
    let xml = '';
    for (let off = 0; ; ) {
      const r = c.req(`qXfer:features:read:target.xml:${off.toString(16)},200`);
      expect(r[0] === 'm' || r[0] === 'l').toBe(true);
      xml += r.slice(1);
      off += r.length - 1;
      if (r[0] === 'l') break;
    }
    expect(xml).toMatch(/^<\?xml/);
    expect(xml).toMatch(/<\/target>\n$/);
    expect(c.req('qXfer:features:read:other.xml:0,100')).toBe('E02');
    expect(c.req('qXfer:features:read:target.xml:zz,100')).toBe('E16');
    expect(c.req('qXfer:memory-map:read::0,100')).toBe('');
    expect(c.req('qOffsets')).toBe('Text=0;Data=0;Bss=0');
  });

  test('qOffsets gives the kernel\'s KASLR slide once known, 0 before', () => {
    let slide: bigint | undefined;
    const c = new MemClient(new FakeTarget(), { kernelSlide: () => slide });
    expect(c.req('qOffsets')).toBe('Text=0;Data=0;Bss=0');
    slide = 0x1e0_0000n;
    expect(c.req('qOffsets')).toBe('Text=1e00000;Data=1e00000;Bss=1e00000');
  });

  test('the first stop after the slide is known says it on gdb\'s console, once; a slide of 0 is not news', async () => {
    const consoleOf = (ps: string[]): string[] => ps.filter((p) => p.startsWith('O')).map((p) => Buffer.from(p.slice(1), 'hex').toString());
    let slide: bigint | undefined;
    const t = new FakeTarget();
    t.program(RAM_BASE, [INSN.ADD_X0_1, INSN.ADD_X0_1, INSN.ADD_X0_1]);
    const c = new MemClient(t, { kernelSlide: () => slide });
    expect(consoleOf(await c.resume('s'))).toEqual([]);
    slide = 0x1e0_0000n;
    expect(consoleOf(await c.resume('s'))).toEqual(['kvm-debug: KASLR slide 0x1e00000; in gdb: symbol-file kernel.sym -o 0x1e00000\n']);
    expect(consoleOf(await c.resume('s'))).toEqual([]);
    const z = new MemClient(new FakeTarget(), { kernelSlide: () => 0n });
    expect(consoleOf(await z.resume('s'))).toEqual([]);
  });
});

describe('monitor', () => {
  const mon = (c: MemClient, cmd: string): string => unhexText(c.req(`qRcmd,${hexText(cmd)}`));

  test('caps shows the capability summary and why debugging is off', () => {
    const { c } = setup();
    expect(mon(c, 'caps')).toMatch(/hardware breakpoints: +2/);
    const off = new MemClient(new FakeTarget({ caps: { debugEnabled: false, setGuestDebug: false, reason: 'the kernel lacks KVM_CAP_SET_GUEST_DEBUG' } }), { decoder: null });
    const text = mon(off, 'caps');
    expect(text).toMatch(/debugging: +off/);
    expect(text).toMatch(/reason: +the kernel lacks KVM_CAP_SET_GUEST_DEBUG/);
  });

  test('esr decodes the last syndrome or a given value with the decoder', () => {
    const seen: bigint[] = [];
    const decoder = {
      summary: (v: bigint): string => (seen.push(v), `EC 0x${(v >> 26n).toString(16)}`),
      decodeText: (v: bigint): string => `tree of 0x${v.toString(16)}`,
    };
    const { t, c } = setup(1, { decoder });
    expect(mon(c, 'esr')).toMatch(/no syndrome yet/);
    expect(mon(c, 'esr 0xf2000123')).toBe('ESR 0xf2000123: EC 0x3c\ntree of 0xf2000123\n');
    expect(mon(c, 'esr nonsense')).toMatch(/nonsense/);
    t.program(RAM_BASE, [INSN.BRK0 | (0x7 << 5)]);
    return c.resume('c').then(() => {
      expect(mon(c, 'esr')).toMatch(/^ESR 0xf2000007: EC 0x3c/);
      expect(seen).toEqual([0xf2000123n, 0xf2000007n]);
    });
  });

  test('esr uses the decode API of ts/src/decode.ts by default', () => {
    // Both backends are built by the test command: a decode API that does not load fails here.
    const want = `ESR 0xf2000123: ${summary(0xf2000123n)}\n${decodeText(0xf2000123n)}`;
    const c = new MemClient(new FakeTarget(), { decoder: defaultEsrDecoder });
    const out = mon(c, 'esr 0xf2000123');
    expect(out.trimEnd()).toBe(want.trimEnd());
    expect(out).toMatch(/BRK/);
  });

  test('kaslr: not a kernel, not known yet, then the slide with the symbol-file command', () => {
    expect(mon(setup().c, 'kaslr')).toBe('not a kernel guest: no KASLR slide\n');
    let slide: bigint | undefined;
    const c = new MemClient(new FakeTarget(), { kernelSlide: () => slide });
    expect(mon(c, 'kaslr')).toMatch(/^KASLR slide not known yet: the kernel has not relocated itself/);
    slide = 0x2a0_0000n;
    expect(mon(c, 'kaslr')).toBe('KASLR slide 0x2a00000; in gdb: symbol-file kernel.sym -o 0x2a00000\n');
  });

  test('unknown monitor commands print help; bad hex is an error', () => {
    const { c } = setup();
    expect(mon(c, 'frobnicate')).toMatch(/unknown monitor command "frobnicate".*caps \| esr/);
    expect(c.req('qRcmd,6')).toBe('E16');
  });
});

describe('execution and stop replies', () => {
  test('continue to a sw breakpoint: T05 with swbreak and the thread', async () => {
    const { t, c } = setup();
    expect(c.req('Z0,40000010,4')).toBe('OK');
    expect(bareAll(await c.resume('c'))).toEqual(['T05thread:01;swbreak:;']);
    expect(t.reg(0, REG_PC)).toBe(0x40000010n);
    expect(bare(c.req('?'))).toBe('T05thread:01;swbreak:;');
  });

  test('step: s and vCont;s; the table steps over the breakpoint under the PC', async () => {
    const { t, c } = setup();
    expect(bareAll(await c.resume('s'))).toEqual(['T05thread:01;']);
    expect(t.reg(0, REG_PC)).toBe(0x40000004n);
    expect(c.req('Z0,40000008,4')).toBe('OK');
    expect(bareAll(await c.resume('vCont;s:1'))).toEqual(['T05thread:01;']); // lands on the BRK
    expect(t.reg(0, REG_PC)).toBe(0x40000008n);
    expect(bareAll(await c.resume('vCont;s:1'))).toEqual(['T05thread:01;swbreak:;']); // executes it
    expect(t.reg(0, REG_PC)).toBe(0x40000008n);
    expect(bareAll(await c.resume('vCont;s:1'))).toEqual(['T05thread:01;']); // stepped over
    expect(t.reg(0, REG_PC)).toBe(0x4000000cn);
    expect(t.word(RAM_BASE + 8n)).toBe(INSN.BRK0); // back in place
  });

  test('hwbreak, watch/rwatch/awatch stop replies', async () => {
    const { t, c } = setup();
    t.program(RAM_BASE, [INSN.STR_X1_X0, INSN.LDR_X1_X0]);
    t.setReg(0, 0, RAM_BASE + 0x800n);
    expect(c.req('Z2,40000800,8')).toBe('OK');
    expect(bareAll(await c.resume('c'))).toEqual(['T05thread:01;watch:40000800;']);
    expect(c.req('z2,40000800,8')).toBe('OK');
    expect(c.req('Z3,40000804,4')).toBe('OK');
    // The 8-byte load at 0x800 overlaps the watch at 0x804: gdb only recognises an address in its range.
    expect(bareAll(await c.resume('c'))).toEqual(['T05thread:01;rwatch:40000804;']);
    expect(c.req('z3,40000804,4')).toBe('OK');
    expect(c.req('Z4,40000800,1')).toBe('OK');
    expect(bareAll(await c.resume('c'))).toEqual(['T05thread:01;awatch:40000800;']);
    expect(c.req('z4,40000800,1')).toBe('OK');
    expect(c.req('Z1,40000010,4')).toBe('OK');
    expect(bareAll(await c.resume('c'))).toEqual(['T05thread:01;hwbreak:;']);
  });

  test('c addr resumes at the address; C/S drop the signal', async () => {
    const { t, c } = setup();
    expect(c.req('Z0,40000108,4')).toBe('OK');
    expect(bareAll(await c.resume('c40000100'))).toEqual(['T05thread:01;swbreak:;']);
    expect(t.reg(0, REG_PC)).toBe(0x40000108n);
    expect(bareAll(await c.resume('S05'))).toEqual(['T05thread:01;']);
    expect(c.req('Czz')).toBe('E16');
    expect(c.req('czz')).toBe('E16');
  });

  test('vCont? and malformed vCont', () => {
    const { c } = setup(2);
    expect(c.req('vCont?')).toBe('vCont;c;C;s;S;t');
    for (const p of ['vCont', 'vCont;x', 'vCont;c:9', 'vCont;s:1:2', 'vCont;C5', 'vCont;t']) expect([p, c.req(p)]).toEqual([p, 'E16']);
  });

  test('vCont with two vCPUs: the stop names the vCPU that stopped', async () => {
    const { t, c } = setup(2);
    t.setReg(1, REG_PC, RAM_BASE + 0x400n);
    expect(c.req('Z0,40000404,4')).toBe('OK');
    expect(bareAll(await c.resume('vCont;c'))).toEqual(['T05thread:02;swbreak:;']);
    expect(c.req('qC')).toBe('QC02');
  });

  test('interrupt byte stops a running guest with SIGINT; packets sent meanwhile are answered after', async () => {
    const { t, c } = setup(1);
    t.program(RAM_BASE, [INSN.NOP, INSN.NOP, INSN.B_BACK2]);
    expect(c.raw('$c#63')).toEqual([]);
    expect(c.server.running).toBe(true);
    expect(c.raw('$qC#b4')).toEqual([]); // queued
    c.raw('\x03');
    await c.server.idle();
    expect(bareAll(c.raw(''))).toEqual(['T02thread:01;', 'QC01']);
    const wire = Buffer.concat(c.wire).toString('latin1');
    expect(wire).toMatch(/\$T02thread:01;(?:[0-9a-f]{2}:[0-9a-f]{16};){3}#[0-9a-f]{2}.*\$QC01#/);
  });

  test('exit: W with the code, and breakpoints are removed', async () => {
    const { t, c } = setup();
    t.program(RAM_BASE, [INSN.HVC0]);
    t.setReg(0, 0, PSCI_SYSTEM_OFF);
    t.setReg(0, 1, 3n);
    expect(c.req('Z0,40000100,4')).toBe('OK');
    const ends: string[] = [];
    c.server.on('end', (e: { reason: string }) => ends.push(e.reason));
    expect(bareAll(await c.resume('c'))).toEqual(['W03']);
    expect(ends).toEqual(['exited']);
    expect(t.word(RAM_BASE + 0x100n)).toBe(INSN.NOP);
  });

  test('a re-injected guest exception is told on the console before the stop reply', async () => {
    const { t, c } = setup();
    t.program(RAM_BASE, [INSN.BRK0 | (0x123 << 5)]);
    const replies = await c.resume('c');
    expect(replies).toHaveLength(2);
    expect(replies[0]?.[0]).toBe('O');
    expect(unhexText(replies[0]?.slice(1) ?? '')).toMatch(/re-injected.*ESR 0xf2000123/);
    expect(bare(replies[1] ?? '')).toBe('T05thread:01;');
  });
});

describe('expedited registers in stop replies', () => {
  test('T replies carry x29, sp and pc of the stopping vCPU, little-endian; ? too; W none', async () => {
    const { t, c } = setup(2);
    t.setReg(1, REG_PC, RAM_BASE + 0x400n);
    t.setReg(1, 29, 0x1122334455667788n);
    t.setReg(1, REG_SP, 0x40008000n);
    expect(c.req('Z0,40000404,4')).toBe('OK');
    const want = `T05thread:02;swbreak:;1d:${le64(0x1122334455667788n)};1f:${le64(0x40008000n)};20:${le64(0x40000404n)};`;
    expect(await c.resume('vCont;c')).toEqual([want]);
    expect(c.req('?')).toBe(want);
    t.program(RAM_BASE + 0x408n, [INSN.HVC0]);
    t.setReg(1, 0, PSCI_SYSTEM_OFF);
    t.setReg(1, 1, 0n);
    expect(await c.resume('vCont;s:2')).toEqual([`T05thread:02;1d:${le64(0x1122334455667788n)};1f:${le64(0x40008000n)};20:${le64(0x40000408n)};`]);
    expect(await c.resume('vCont;c')).toEqual(['W00']);
  });

  test('a register that cannot be read is left out; the stop still goes out', async () => {
    const { t, c } = setup();
    const read = t.readRegister.bind(t);
    let reads = 0;
    t.readRegister = (vcpu: number, regnum: number): Buffer => {
      reads++;
      if (regnum === REG_SP) throw codedError(ErrorCode.BadArgument, `regnum ${regnum}`);
      return read(vcpu, regnum);
    };
    expect(c.req('Z0,40000010,4')).toBe('OK');
    expect(await c.resume('c')).toEqual([`T05thread:01;swbreak:;1d:${le64(t.reg(0, 29))};20:${le64(0x40000010n)};`]);
    expect(reads).toBe(3); // once per stop
  });
});

describe('holding packets until a handover stop completes', () => {
  test('packets sent while the target is still stopping are answered after, in order', async () => {
    const { t, c } = setup();
    t.setReg(0, 0, 0x42n);
    // A guest still running: register reads fail until its stop completes (asynchronously).
    let running = true;
    const read = t.readRegister.bind(t);
    t.readRegister = (vcpu: number, regnum: number): Buffer => {
      if (running) throw codedError(ErrorCode.BadState, 'vCPU is running');
      return read(vcpu, regnum);
    };
    const stopped = new Promise<void>((resolve) =>
      setTimeout(() => {
        running = false;
        resolve();
      }, 20),
    );
    c.server.holdUntil(stopped);
    expect(c.server.held).toBe(true);
    expect(c.raw('$qSupported#37')).toEqual([]);
    expect(c.raw('$?#3f$p0#a0$qC#b4')).toEqual([]);
    expect(c.acks).toBe(4); // acked at once, answered later
    await c.server.idle();
    expect(c.server.held).toBe(false);
    const replies = c.raw('');
    expect(replies).toHaveLength(4);
    expect(replies[0]).toMatch(/^PacketSize=/);
    expect(replies[1]).toMatch(/^T05thread:01;1d:/);
    expect(replies.slice(2)).toEqual([le64(0x42n), 'QC01']);
    expect(c.req('p0')).toBe(le64(0x42n)); // and it goes on as usual
  });

  test('a failed handover stop still releases the packets', async () => {
    const { c } = setup();
    c.server.holdUntil(Promise.reject(new Error('stop failed')));
    expect(c.raw('$qC#b4')).toEqual([]);
    await c.server.idle();
    expect(c.raw('')).toEqual(['QC01']);
  });
});

describe('detach and kill', () => {
  test('D removes every breakpoint (restoring memory), detaches, replies OK', () => {
    const { t, c } = setup();
    const original = Buffer.from(t.ram);
    c.req('Z0,40000000,4');
    c.req('Z0,40000040,4');
    c.req('Z1,40000080,4');
    expect(c.req('D;1')).toBe('OK');
    expect(t.detached).toBe(true);
    expect(t.ram.equals(original)).toBe(true);
    expect(t.hw).toEqual([]);
  });

  test('k removes breakpoints and kills without a reply', () => {
    const { t, c } = setup();
    c.req('Z0,40000000,4');
    expect(c.raw('$k#6b')).toEqual([]);
    expect(t.killed).toBe(true);
    expect(t.sw.size).toBe(0);
  });

  test('disconnect removes breakpoints and reports a conflict without losing the rest', () => {
    const { t, c } = setup();
    c.req('Z0,40000000,4');
    c.req('Z0,40000040,4');
    t.program(RAM_BASE, [INSN.ADD_X0_1]); // the guest rewrote our BRK
    const end = c.server.disconnect();
    expect(end?.report.conflicts.map((x) => x.code)).toEqual(['ERR_PATCH_CONFLICT']);
    expect(end?.report.removed.map((e) => e.addr)).toEqual([0x40000040n]);
    expect(t.word(RAM_BASE)).toBe(INSN.ADD_X0_1); // the guest's bytes are left alone
    expect(t.word(RAM_BASE + 0x40n)).toBe(INSN.NOP);
    expect(checksum(Buffer.from('x'))).toBe(0x78);
  });
});

describe("LLDB's packets", () => {
  const fields = (r: string): Record<string, string> =>
    Object.fromEntries(r.split(';').filter(Boolean).map((kv) => kv.split(':') as [string, string]));

  test('qHostInfo and qProcessInfo: an aarch64 machine, little-endian, watchpoints taken before the access', () => {
    const { c } = setup();
    const host = fields(c.req('qHostInfo'));
    expect(unhexText(host.triple as string)).toBe('aarch64-unknown-none');
    expect(host).toMatchObject({ endian: 'little', ptrsize: '8', watchpoint_exceptions_received: 'before' });
    const proc = fields(c.req('qProcessInfo'));
    expect(proc).toMatchObject({ pid: '1', endian: 'little', ptrsize: '8', triple: host.triple });
  });

  test('qWatchpointSupportInfo counts the target\'s watchpoint slots', () => {
    const { t, c } = setup();
    expect(c.req('qWatchpointSupportInfo:')).toBe(`num:${t.capabilities().hwWatchpoints};`);
  });

  test('QThreadSuffixSupported: register packets name their vCPU; refused before it is on', () => {
    const { t, c } = setup(2);
    t.setReg(1, 3, 0x3333n);
    t.setReg(0, 3, 0x1111n);
    expect(c.req('p3;thread:0002;')).toBe('E16'); // not negotiated: malformed
    expect(c.req('QThreadSuffixSupported')).toBe('OK');
    expect(c.req('p3;thread:0002;')).toBe(le64(0x3333n));
    expect(c.req('p3')).toBe(le64(0x1111n)); // no suffix: the Hg vCPU
    expect(c.req(`P3=${le64(0x4444n)};thread:0002;`)).toBe('OK');
    expect(t.reg(1, 3)).toBe(0x4444n);
    expect(t.reg(0, 3)).toBe(0x1111n);
    expect(c.req('g;thread:0002;').slice(3 * 16, 4 * 16)).toBe(le64(0x4444n));
    const g = Buffer.from(c.req('g;thread:0001;'), 'hex');
    g.writeBigUInt64LE(0x5555n, 3 * 8);
    expect(c.req(`G${g.toString('hex')};thread:0002;`)).toBe('OK');
    expect(t.reg(1, 3)).toBe(0x5555n);
    expect(c.req('p3;thread:0003;')).toBe('E16'); // no vCPU 2
    expect(c.req('p3;thread:zz;')).toBe('E16');
  });

  test('QListThreadsInStopReply: T replies list every thread and its pc; gdb\'s replies do not', async () => {
    const { t, c } = setup(2);
    t.setReg(1, REG_PC, RAM_BASE + 0x40n);
    expect(c.req('?')).not.toMatch(/threads:/);
    expect(c.req('QListThreadsInStopReply')).toBe('OK');
    expect(c.req('?')).toMatch(/;threads:01,02;thread-pcs:40000000,40000040;$/);
    const [stop] = await c.resume('vCont;s:1');
    expect(stop).toMatch(/^T05thread:01;.*;threads:01,02;thread-pcs:40000004,40000040;$/);
  });
});

describe('memory replies the target frames itself (DebugTarget.readMemoryReply)', () => {
  test('m sends the target\'s frame as it is, clamped to PacketSize; errors and a resend still work', () => {
    const t = new FakeTarget();
    const asked: [bigint, number][] = [];
    const framed = Object.assign(t, {
      readMemoryReply: (vcpu: number, addr: bigint, len: number): Buffer => {
        asked.push([addr, len]);
        return encodePacket(`${toHex(t.readMemory(vcpu, addr, len))}`);
      },
    });
    const c = new MemClient(framed, { maxPacket: 0x100 });
    t.ram.write('ok!', 0x10);
    expect(c.req('m40000010,3')).toBe('6f6b21');
    expect(c.req('m40000000,100')).toHaveLength(0x100); // 0x80 bytes: their hex fills PacketSize
    expect(asked).toEqual([
      [RAM_BASE + 0x10n, 3],
      [RAM_BASE, 0x80],
    ]);
    expect(c.req('m10,4')).toBe('E0e'); // outside RAM: the target's error, as for readMemory
    const before = c.wire.length;
    c.raw('-'); // the last reply (E0e) is still unacknowledged: sent again, whole
    expect(c.wire.slice(before).map((w) => w.toString('latin1')).join('')).toBe('$E0e#da');
  });
});
