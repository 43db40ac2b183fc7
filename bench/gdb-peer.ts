/**
 * The GDB server side by side with GNU gdbserver (Debian's), through the same client and
 * the same TCP loopback: our server over an in-memory target, gdbserver over a native
 * process stopped at its entry. The client is a minimal RSP client (no-ack mode, one
 * request in flight, as gdb itself works). Prints `m` MB/s at the largest request each
 * server allows (from its PacketSize), `g` per second, and the ratios.
 * Run by `npm run bench` (bench/run.sh); `--quick` shortens it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';

const require = createRequire(import.meta.url);
const tcp = require('../../ts/dist/gdb/tcp.js') as typeof import('../ts/dist/gdb/tcp.js');
const aarch64 = require('../../ts/dist/gdb/aarch64.js') as typeof import('../ts/dist/gdb/aarch64.js');
const packet = require('../../ts/dist/gdb/packet.js') as typeof import('../ts/dist/gdb/packet.js');
type DebugTarget = import('../ts/dist/target.js').DebugTarget;

const GDBSERVER = '/usr/bin/gdbserver';
const QUICK = process.argv.includes('--quick');
const SECONDS = QUICK ? 1 : 3;
const RAM_BASE = 0x4000_0000n;
const RAM_SIZE = 1 << 20;

/** 1 MiB of RAM and one vCPU's registers: what `m` and `g` need, nothing that runs. */
function memoryTarget(): DebugTarget {
  const ram = Buffer.alloc(RAM_SIZE);
  for (let i = 0; i < RAM_SIZE; i += 4) ram.writeUInt32LE((i * 2654435761) >>> 0, i);
  const partial = {
    vcpuCount: () => 1,
    capabilities: () => ({ available: true, hwBreakpoints: 6, hwWatchpoints: 4, debugEnabled: true }),
    readMemory: (_v: number, addr: bigint, len: number): Buffer => {
      const off = Number(addr - RAM_BASE);
      if (off < 0 || off + len > RAM_SIZE) throw Object.assign(new Error('outside RAM'), { code: 'ERR_OUTSIDE_RAM' });
      return ram.subarray(off, off + len);
    },
    readRegister: (_v: number, regnum: number): Buffer => Buffer.alloc((aarch64.registerByNumber(regnum)?.bitsize ?? 64) / 8, 0x11),
    lastSyndrome: () => undefined,
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

/** gdbserver on `/bin/sleep`, stopped at its entry: reads go to the dynamic loader's text at pc. */
async function gdbserver(): Promise<Figures> {
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const child: ChildProcess = spawn(GDBSERVER, ['--once', `127.0.0.1:${port}`, '/bin/sleep', '1000'], { stdio: 'ignore' });
  try {
    let c: Client | undefined;
    for (let i = 0; i < 100 && !c; i++) {
      try {
        c = await Client.connect(port);
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    if (!c) throw new Error('gdbserver did not listen');
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

function row(f: Figures): string {
  return `  ${f.name.padEnd(32)} PacketSize ${f.packetSize.toString(16).padStart(5)}  m ${String(f.mBytes).padStart(6)} B: ${f.mbPerS.toFixed(1).padStart(6)} MB/s   g: ${f.gPerS.toFixed(0).padStart(6)}/s`;
}

async function main(): Promise<void> {
  if (!existsSync(GDBSERVER)) throw new Error(`${GDBSERVER} is not installed: run scripts/setup.sh (apt-get install gdbserver)`);
  const a = await ours();
  const b = await gdbserver();
  console.log('\nGDB server vs gdbserver (same client, same loopback; largest m each allows):');
  console.log(row(a));
  console.log(row(b));
  console.log(`  ratio: m ${(a.mbPerS / b.mbPerS).toFixed(2)}x (target >= 1.0), g ${(a.gPerS / b.gPerS).toFixed(2)}x (target >= 1.0)`);
}

main().catch((e: unknown) => {
  console.error(`gdb-peer bench failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
