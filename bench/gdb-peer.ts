/**
 * The GDB server side by side with GNU gdbserver (Debian's), through the same client and
 * the same TCP loopback: our server over an in-memory target, gdbserver over a native
 * process stopped at its entry. The client is a minimal RSP client (no-ack mode, one
 * request in flight, as gdb itself works). Prints `m` MB/s at the largest request each
 * server allows (from its PacketSize), `g` per second, and the ratios. Then a real
 * gdb-multiarch steps each of them: `stepi` round trips per second and the packets gdb
 * sends per `stepi` (from `set debug remote 1`).
 * Run by `npm run bench` (bench/run.sh); `--quick` shortens it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import * as net from 'node:net';

const require = createRequire(import.meta.url);
const tcp = require('../../ts/dist/gdb/tcp.js') as typeof import('../ts/dist/gdb/tcp.js');
const aarch64 = require('../../ts/dist/gdb/aarch64.js') as typeof import('../ts/dist/gdb/aarch64.js');
const packet = require('../../ts/dist/gdb/packet.js') as typeof import('../ts/dist/gdb/packet.js');
const binding = require('../../ts/dist/binding.js') as typeof import('../ts/dist/binding.js');
/** The addon's `m` frame builder, as the KVM target uses it (Vm.readVirtReply). */
const hexReplyFrame = binding.loadNative().hexReplyFrame as (bytes: Uint8Array) => Buffer;
type DebugTarget = import('../ts/dist/target.js').DebugTarget;

const GDBSERVER = '/usr/bin/gdbserver';
const GDB = '/usr/bin/gdb-multiarch';
const QUICK = process.argv.includes('--quick');
const SECONDS = QUICK ? 1 : 3;
/** Timed `stepi` per server, and the steps whose packets are counted. */
const STEPS = QUICK ? 50 : 300;
const COUNTED_STEPS = 10;
const RAM_BASE = 0x4000_0000n;
const RAM_SIZE = 1 << 20;
/** A64 NOP (Arm ARM C6.2.238): the first page, where the bench target steps. */
const A64_NOP = 0xd503201f;

/**
 * 1 MiB of RAM (NOPs and a pattern) and one vCPU that only single-steps: pc moves 4 bytes a
 * step inside RAM. What `m`, `g` and gdb's `stepi` need, nothing more. Its `m` replies are
 * framed by the addon, as the KVM target's are.
 */
function memoryTarget(): DebugTarget {
  const ram = Buffer.alloc(RAM_SIZE);
  for (let i = 0; i < RAM_SIZE; i += 4) ram.writeUInt32LE(i < 0x1000 ? A64_NOP : (i * 2654435761) >>> 0, i);
  let pc = RAM_BASE;
  const readMemory = (_v: number, addr: bigint, len: number): Buffer => {
    const off = Number(addr - RAM_BASE);
    if (off < 0 || off + len > RAM_SIZE) throw Object.assign(new Error('outside RAM'), { code: 'ERR_OUTSIDE_RAM' });
    return ram.subarray(off, off + len);
  };
  const partial = {
    vcpuCount: () => 1,
    capabilities: () => ({ available: true, hwBreakpoints: 6, hwWatchpoints: 4, debugEnabled: true }),
    readMemory,
    readMemoryReply: (v: number, addr: bigint, len: number): Buffer => hexReplyFrame(readMemory(v, addr, len)),
    readRegister: (_v: number, regnum: number): Buffer => {
      const b = Buffer.alloc((aarch64.registerByNumber(regnum)?.bitsize ?? 64) / 8, 0x11);
      if (regnum === aarch64.REG_PC) b.writeBigUInt64LE(pc);
      return b;
    },
    resume: async (actions: readonly { vcpu: number | 'all'; step: boolean }[]) => {
      // gdb's `vCont;s:1;c`: vCPU 0's own action wins over the default for the rest.
      const mine = actions.find((a) => a.vcpu === 0) ?? actions.find((a) => a.vcpu === 'all');
      if (!mine?.step) throw new Error('the bench target only steps');
      pc = RAM_BASE + ((pc - RAM_BASE + 4n) % 0x1000n);
      return { vcpu: 0, reason: { kind: 'step' }, pc };
    },
    lastSyndrome: () => undefined,
    detach: () => undefined,
  };
  return partial as unknown as DebugTarget;
}

/** A one-request-at-a-time RSP client in no-ack mode. */
class Client {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: ((payload: string) => void) | undefined;
  private constructor(private readonly sock: net.Socket) {
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      for (;;) {
        while (this.buf.length > 0 && this.buf[0] !== 0x24) this.buf = this.buf.subarray(1); // acks
        const end = this.buf.indexOf(0x23);
        if (end < 0 || this.buf.length < end + 3) return;
        // Raw: gdbserver run-length encodes its replies (gdb docs "Binary Data"); see expand().
        const payload = this.buf.subarray(1, end).toString('latin1');
        this.buf = this.buf.subarray(end + 3);
        const w = this.waiter;
        this.waiter = undefined;
        w?.(payload);
      }
    });
  }

  static connect(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new Client(s)));
      s.once('error', reject);
    });
  }

  request(payload: string): Promise<string> {
    let sum = 0;
    for (let i = 0; i < payload.length; i++) sum = (sum + payload.charCodeAt(i)) & 0xff;
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.sock.write(`$${payload}#${sum.toString(16).padStart(2, '0')}`);
    });
  }

  async setup(): Promise<number> {
    this.sock.write('+');
    const feats = await this.request('qSupported:multiprocess+;swbreak+;hwbreak+;vContSupported+');
    this.sock.write('+');
    await this.request('QStartNoAckMode');
    this.sock.write('+'); // the OK to QStartNoAckMode is the last reply that wants an ack
    const size = /PacketSize=([0-9a-fA-F]+)/.exec(feats)?.[1];
    if (size === undefined) throw new Error(`no PacketSize in ${feats}`);
    return parseInt(size, 16);
  }

  close(): void {
    this.sock.destroy();
  }
}

/** A reply with its run-length encoding expanded (gdb docs "Binary Data"). */
function expand(reply: string): string {
  return (packet.expandRle(Buffer.from(reply, 'latin1')) ?? Buffer.alloc(0)).toString('latin1');
}

interface Figures {
  name: string;
  packetSize: number;
  mBytes: number;
  mbPerS: number;
  gPerS: number;
}

/** Reads `[base, base + span)` in `chunk` pieces for SECONDS, then `g` for SECONDS. */
async function measure(name: string, c: Client, packetSize: number, base: bigint, span: number): Promise<Figures> {
  // The largest `m` the server allows: its hex reply must fit PacketSize (as gdb sizes it).
  const chunk = Math.min(span, Math.floor(packetSize / 2) & ~0xf);
  let bytes = 0;
  let t0 = performance.now();
  // The first reply is checked whole; in the timed loop only for an error, so that the
  // client's RLE expansion (in JS here, in C in gdb) does not count against gdbserver.
  const first = expand(await c.request(`m${base.toString(16)},${chunk.toString(16)}`));
  if (first.length !== chunk * 2) throw new Error(`${name}: m gave ${first.slice(0, 40)}`);
  for (let off = 0; performance.now() - t0 < SECONDS * 1000; off = off + 2 * chunk > span ? 0 : off + chunk) {
    const r = await c.request(`m${(base + BigInt(off)).toString(16)},${chunk.toString(16)}`);
    if (r.startsWith('E')) throw new Error(`${name}: m at +${off} gave ${r.slice(0, 40)}`);
    bytes += chunk;
  }
  const mbPerS = bytes / 1e6 / ((performance.now() - t0) / 1000);
  let gs = 0;
  t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    const r = await c.request('g');
    if (r.startsWith('E')) throw new Error(`${name}: g gave ${r.slice(0, 40)}`);
    gs++;
  }
  return { name, packetSize, mBytes: chunk, mbPerS, gPerS: gs / ((performance.now() - t0) / 1000) };
}

async function ours(): Promise<Figures> {
  const listener = await tcp.listen(memoryTarget(), { port: 0 });
  const { port } = listener.address() as net.AddressInfo;
  const c = await Client.connect(port);
  try {
    return await measure('kvm-debug (in-memory target)', c, await c.setup(), RAM_BASE, RAM_SIZE);
  } finally {
    c.close();
    await listener.close();
  }
}

/** A loopback port nobody listens on now. */
function freePort(): Promise<number> {
  return new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/**
 * gdbserver on `/bin/sleep`, stopped at its entry, once it says it listens (a probe connection
 * would use up `--once`).
 */
async function startGdbserver(): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = spawn(GDBSERVER, ['--once', `127.0.0.1:${port}`, '/bin/sleep', '1000'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let said = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gdbserver did not listen: ${said}`)), 10_000);
    child.stderr?.on('data', (d: Buffer) => {
      said += d.toString();
      if (said.includes('Listening on port')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`gdbserver exited (${code}): ${said}`)));
  });
  child.stderr?.resume();
  return { child, port };
}

/** `m` and `g` against gdbserver: the reads go to the dynamic loader's text at its pc. */
async function gdbserver(): Promise<Figures> {
  const { child, port } = await startGdbserver();
  try {
    const c = await Client.connect(port);
    const packetSize = await c.setup();
    // rip is x86-64 register 16 in gdb's numbering, after rax..r15: bytes 128..135 of `g`.
    await c.request('?'); // as gdb does on connecting: selects the stopped thread
    const g = expand(await c.request('g'));
    if (!/^[0-9a-fx]{272,}/.test(g)) throw new Error(`gdbserver: g gave ${JSON.stringify(g.slice(0, 80))}`);
    const rip = Buffer.from(g.slice(256, 272), 'hex').readBigUInt64LE(0);
    const base = rip & ~0xfffn;
    const span = 64 * 1024; // the loader's text holds at least this much from its entry page
    const f = await measure('gdbserver 13 (native process)', c, packetSize, base, span);
    c.close();
    return f;
  } finally {
    child.kill('SIGKILL');
  }
}

interface StepFigures {
  name: string;
  msPerStep: number;
  packetsPerStep: number;
  /** The packets of the last counted step, for the reader. */
  sample: string[];
}

/**
 * A real gdb-multiarch against `port`: COUNTED_STEPS `stepi` with `set debug remote 1` (the
 * packets gdb sends), then STEPS timed `stepi` between two host-clock stamps.
 */
async function gdbStepi(name: string, port: number, settings: string[], end: 'detach' | 'kill'): Promise<StepFigures> {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'kvm-debug-bench-')), 'stepi.gdb');
  const counted = Array.from({ length: COUNTED_STEPS }, () => 'stepi');
  writeFileSync(
    file,
    [
      'set pagination off',
      'set confirm off',
      ...settings,
      `target remote 127.0.0.1:${port}`,
      'set debug remote 1',
      ...counted,
      'set debug remote 0',
      'shell date +%s%N',
      'set $i = 0',
      `while $i < ${STEPS}`,
      '  stepi',
      '  set $i = $i + 1',
      'end',
      'shell date +%s%N',
      'p $i',
      end,
      '',
    ].join('\n'),
  );
  const out = await new Promise<string>((resolve, reject) => {
    execFile(GDB, ['-nx', '-batch', '-x', file], { timeout: 300_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${name}: gdb failed: ${err.message}\n${String(stderr).slice(-2000)}`));
      else resolve(`${String(stdout)}\n${String(stderr)}`);
    });
  });
  const stamps = [...out.matchAll(/^(\d{18,})$/gm)].map((m) => BigInt(m[1] as string));
  if (stamps.length !== 2 || !new RegExp(`^\\$1 = ${STEPS}$`, 'm').test(out)) {
    throw new Error(`${name}: gdb did not run ${STEPS} stepi:\n${out.slice(-2000)}`);
  }
  // gdb 13 logs each request as `[remote] Sending packet: $...#xx`.
  const sent = [...out.matchAll(/Sending packet: \$([^#]*)#/g)].map((m) => m[1] as string);
  if (sent.length < COUNTED_STEPS) throw new Error(`${name}: no packets logged for the counted steps`);
  // The last counted step, after gdb's one-time work at the first stop (gdbserver: its
  // shared-library reads).
  let last = sent.length - 1;
  while (last > 0 && !/^(vCont;s|s)/.test(sent[last] as string)) last--;
  const sample = sent.slice(last);
  return {
    name,
    msPerStep: Number((stamps[1] as bigint) - (stamps[0] as bigint)) / 1e6 / STEPS,
    packetsPerStep: sent.length / COUNTED_STEPS,
    sample,
  };
}

async function oursStepi(): Promise<StepFigures> {
  const listener = await tcp.listen(memoryTarget(), { port: 0 });
  try {
    const { port } = listener.address() as net.AddressInfo;
    return await gdbStepi('kvm-debug (in-memory target)', port, ['set architecture aarch64'], 'detach');
  } finally {
    await listener.close();
  }
}

/** gdbserver's `stepi` is PTRACE_SINGLESTEP of a real process: in the loader, from its entry. */
async function gdbserverStepi(): Promise<StepFigures> {
  const { child, port } = await startGdbserver();
  try {
    // sysroot /: gdb reads the loader from this disk, not over the wire (the same machine).
    return await gdbStepi('gdbserver 13 (native process)', port, ['set sysroot /'], 'kill');
  } finally {
    child.kill('SIGKILL');
  }
}

function row(f: Figures): string {
  return `  ${f.name.padEnd(32)} PacketSize ${f.packetSize.toString(16).padStart(5)}  m ${String(f.mBytes).padStart(6)} B: ${f.mbPerS.toFixed(1).padStart(6)} MB/s   g: ${f.gPerS.toFixed(0).padStart(6)}/s`;
}

function stepRow(f: StepFigures): string {
  return `  ${f.name.padEnd(32)} ${f.msPerStep.toFixed(3).padStart(7)} ms/stepi  ${(1000 / f.msPerStep).toFixed(0).padStart(5)} stepi/s  ${f.packetsPerStep.toFixed(1).padStart(4)} packets/stepi; the last: ${f.sample.map((p) => p.slice(0, 24)).join(' ')}`;
}

async function main(): Promise<void> {
  for (const tool of [GDBSERVER, GDB]) {
    if (!existsSync(tool)) throw new Error(`${tool} is not installed: run scripts/setup.sh (apt-get install gdbserver gdb-multiarch)`);
  }
  const a = await ours();
  const b = await gdbserver();
  console.log('\nGDB server vs gdbserver (same client, same loopback; largest m each allows):');
  console.log(row(a));
  console.log(row(b));
  console.log(`  ratio: m ${(a.mbPerS / b.mbPerS).toFixed(2)}x (target >= 1.0), g ${(a.gPerS / b.gPerS).toFixed(2)}x (target >= 1.0)`);
  const sa = await oursStepi();
  const sb = await gdbserverStepi();
  console.log(`\nstepi through gdb-multiarch 13 (${STEPS} timed; packets from ${COUNTED_STEPS} with set debug remote 1):`);
  console.log(stepRow(sa));
  console.log(stepRow(sb));
  console.log(
    `  ratio: stepi time ${(sa.msPerStep / sb.msPerStep).toFixed(2)}x (lower is better), packets per stepi ${sa.packetsPerStep.toFixed(1)} vs ${sb.packetsPerStep.toFixed(1)}`,
  );
}

main().catch((e: unknown) => {
  console.error(`gdb-peer bench failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
