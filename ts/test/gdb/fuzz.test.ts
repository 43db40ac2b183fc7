/**
 * Fuzz of the packet layer and the dispatcher, against the in-memory target: seeded random
 * and mutated packets, in frames good and bad, split and joined across reads, with acks,
 * nacks and interrupts between them. The server must never throw out of `receive`, never
 * hang, keep its heap bounded, leave guest memory alone except where a valid M/X wrote, and
 * answer `?` afterwards. FUZZ_PACKETS=N (e.g. 10000000) runs longer; FUZZ_SEED picks the seed.
 */
import * as v8 from 'v8';
import * as vm from 'vm';
import { encodePacket } from '../../src/gdb/packet';
import { GdbServer } from '../../src/gdb/server';
import { FakeTarget, INSN, RAM_BASE, RAM_SIZE } from './fake-target';

const PACKETS = Number(process.env.FUZZ_PACKETS ?? 1_000_000);
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
/** Wall-clock bound: a hang (or a pathological slowdown) fails instead of waiting forever. */
const TIME_LIMIT_MS = Number(process.env.FUZZ_TIME_LIMIT_MS ?? Math.max(240_000, PACKETS / 4));
/** Heap growth allowed over the whole run, after GC. */
const HEAP_SLACK = 32 << 20;

/** mulberry32: small, seeded, good enough to pick mutations. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const gc = (): void => {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
};

const hex = (n: bigint | number): string => n.toString(16);
const DATA = RAM_BASE + 0x8000n;

/** Well-formed packets of every family, the seeds of the mutations. */
function corpus(): string[] {
  const a = hex(RAM_BASE);
  return [
    '?', 'g', `G${'00'.repeat(8)}`, 'p1f', 'p20', 'P0=0100000000000000', 'P44=0000000000000000',
    `m${a},40`, `m${hex(DATA)},1000`, `M${hex(DATA)},4:01020304`, `X${hex(DATA + 8n)},4:abcd`, `x${a},20`,
    `Z0,${hex(RAM_BASE + 0x10n)},4`, `z0,${hex(RAM_BASE + 0x10n)},4`, `Z1,${hex(RAM_BASE + 0x20n)},4`,
    `z1,${hex(RAM_BASE + 0x20n)},4`, `Z2,${hex(DATA)},8`, `z2,${hex(DATA)},8`, `Z4,${hex(DATA)},4`,
    'qSupported:multiprocess+;swbreak+;hwbreak+', 'qXfer:features:read:target.xml:0,400',
    'qXfer:threads:read::0,100', 'qRcmd,627265616b706f696e7473', 'qRcmd,65737220307866323030303132', 'qRcmd,6b61736c72',
    'Hg1', 'Hg2', 'Hc-1', 'Hc0', 'T01', 'T02', 'qC', 'qfThreadInfo', 'qsThreadInfo', 'qAttached', 'qOffsets',
    'qSymbol::', 'vCont?', 'vCont;s:1', 'vCont;s:2;c', 's', 'c', 'QStartNoAckMode', 'vMustReplyEmpty',
    'qThreadExtraInfo,01',
  ];
}

const SPECIAL = [0x24, 0x23, 0x7d, 0x2a, 0x2b, 0x2d, 0x03, 0x00, 0xff, 0x2c, 0x3a, 0x3b];

function mutate(r: () => number, p: Buffer): Buffer {
  const b = Buffer.from(p);
  const pick = (): number => (r() < 0.5 ? (SPECIAL[Math.floor(r() * SPECIAL.length)] as number) : Math.floor(r() * 256));
  const n = 1 + Math.floor(r() * 4);
  let out = b;
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (out.length + 1));
    switch (Math.floor(r() * 6)) {
      case 0: // flip a byte
        if (out.length > 0) out[Math.min(at, out.length - 1)] = pick();
        break;
      case 1: // insert a byte
        out = Buffer.concat([out.subarray(0, at), Buffer.from([pick()]), out.subarray(at)]);
        break;
      case 2: // truncate
        out = out.subarray(0, at);
        break;
      case 3: // a random hex number (address, length, thread), sometimes huge
        out = Buffer.concat([out.subarray(0, at), Buffer.from(hex(Math.floor(r() * 2 ** (r() < 0.3 ? 53 : 20))), 'latin1'), out.subarray(at)]);
        break;
      case 4: // repeat a slice
        out = Buffer.concat([out, out.subarray(at, at + Math.floor(r() * 16))]);
        break;
      default: // random bytes
        out = Buffer.concat([out, Buffer.from(Array.from({ length: Math.floor(r() * 24) }, pick))]);
    }
  }
  return out;
}

/** One frame: usually well framed (escaped, right checksum), sometimes raw or wrongly summed. */
function frame(r: () => number, payload: Buffer): Buffer {
  const x = r();
  if (x < 0.8) return encodePacket(payload);
  if (x < 0.9) {
    const f = encodePacket(payload);
    f[f.length - 1] = 0x30 + Math.floor(r() * 10); // likely a wrong checksum
    return f;
  }
  if (x < 0.95) return Buffer.concat([Buffer.from('$'), payload, Buffer.from('#00')]);
  return payload; // bytes outside any frame: line noise
}

describe('fuzz: the packet layer and the dispatcher', () => {
  test(`${PACKETS.toLocaleString('en')} seeded packets (seed ${SEED}): no throw, no hang, bounded heap, memory intact`, async () => {
    const r = rng(SEED);
    const t = new FakeTarget({ vcpus: 2 });
    // A guest that can run: NOPs, a store loop for the watchpoints, and a branch back.
    t.program(RAM_BASE, [INSN.NOP, INSN.NOP, INSN.STR_X1_X0, INSN.NOP, INSN.NOP, INSN.LDR_X1_X0, INSN.NOP, INSN.B_BACK2]);
    t.setReg(0, 0, DATA);
    const before = Buffer.from(t.ram);
    // What valid M/X packets wrote: the only guest memory allowed to change.
    const written: [bigint, number][] = [];
    const writeMemory = t.writeMemory.bind(t);
    t.writeMemory = (vcpu: number, addr: bigint, bytes: Buffer): void => {
      writeMemory(vcpu, addr, bytes);
      written.push([addr, bytes.length]);
    };
    const seeds = corpus().map((s) => Buffer.from(s, 'latin1'));
    let server = new GdbServer(t, { decoder: null });
    let servers = 1;
    const started = Date.now();
    gc();
    const heap0 = process.memoryUsage().heapUsed;
    let pending: Buffer[] = [];
    for (let i = 0; i < PACKETS; i++) {
      const base = seeds[Math.floor(r() * seeds.length)] as Buffer;
      // Now and then the client detaches or kills (long sessions otherwise: state must stay bounded).
      const end = r() < 1 / 50_000 ? Buffer.from(r() < 0.5 ? 'D' : 'k') : undefined;
      const payload = end ?? (r() < 0.15 ? base : mutate(r, base));
      pending.push(frame(r, payload));
      const y = r();
      if (y < 0.02) pending.push(Buffer.from([0x2b]));
      else if (y < 0.04) pending.push(Buffer.from([0x2d]));
      else if (y < 0.05) pending.push(Buffer.from([0x03]));
      // Feed one to four frames per read, cut at a random point now and then.
      if (pending.length < 1 + Math.floor(r() * 4) && i + 1 < PACKETS) continue;
      let bytes = Buffer.concat(pending);
      pending = [];
      if (r() < 0.1 && bytes.length > 1) {
        const cut = 1 + Math.floor(r() * (bytes.length - 1));
        pending.push(bytes.subarray(cut));
        bytes = bytes.subarray(0, cut);
      }
      try {
        server.receive(bytes);
      } catch (e) {
        throw new Error(`receive threw at packet ${i} (seed ${SEED}) on ${JSON.stringify(bytes.toString('latin1'))}: ${String(e)}`);
      }
      if (server.running || server.isEnded) {
        // A resume: stop it the way gdb does (0x03), and wait for the stop to be answered.
        if (server.running) server.receive(Buffer.from([0x03]));
        await server.idle();
      }
      if (server.isEnded) {
        server = new GdbServer(t, { decoder: null }); // the next connection
        servers++;
      }
      if (i % 65_536 === 0) {
        t.calls.length = 0; // the fake's own call log is the harness's, not the server's
        t.resumes.length = 0;
        if (Date.now() - started > TIME_LIMIT_MS) throw new Error(`over ${TIME_LIMIT_MS} ms at packet ${i}: a hang or a slowdown`);
      }
    }
    if (server.running) server.receive(Buffer.from([0x03]));
    await server.idle();
    t.calls.length = 0;
    t.resumes.length = 0;
    gc();
    const heapGrowth = process.memoryUsage().heapUsed - heap0;
    // The server still answers, and its last connection ends cleanly: every breakpoint out.
    const fresh = new GdbServer(t, { decoder: null });
    const reply = fresh.receive(encodePacket('?')).toString('latin1');
    expect(reply).toMatch(/^\+\$(T05thread:0[12];|S05|W00)/);
    server.disconnect();
    fresh.disconnect();
    expect(t.sw.size + t.hw.length + t.watch.length).toBe(0);
    // Guest memory: unchanged outside what valid M/X packets wrote.
    const allowed = new Uint8Array(RAM_SIZE);
    for (const [addr, len] of written) {
      const off = Number(addr - RAM_BASE);
      for (let k = Math.max(0, off); k < Math.min(RAM_SIZE, off + len); k++) allowed[k] = 1;
    }
    const changed: number[] = [];
    for (let k = 0; k < RAM_SIZE; k++) if (!allowed[k] && t.ram[k] !== before[k]) changed.push(k);
    expect(changed.slice(0, 8)).toEqual([]);
    const secs = (Date.now() - started) / 1000;
    console.log(
      `fuzz: ${PACKETS.toLocaleString('en')} packets in ${secs.toFixed(1)} s (${Math.round(PACKETS / secs).toLocaleString('en')}/s), ` +
        `seed ${SEED}, ${servers} connections, ${written.length} M/X writes, heap +${(heapGrowth / 1048576).toFixed(1)} MiB after GC`,
    );
    expect(heapGrowth).toBeLessThan(HEAP_SLACK);
  }, 600_000);
});
