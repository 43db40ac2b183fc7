/**
 * `kvm-debug run` and `kvm-debug caps`: the error cases (missing image, bad ELF, no KVM
 * / not arm64 here, port in use) with clear messages and non-zero statuses, and whole
 * runs over a fake addon (same interface as the real one): UART on stdout, exit status,
 * and a GDB session over TCP ending by detach, disconnect and SIGTERM, each leaving
 * guest RAM identical to the image.
 */
import { createHash } from 'crypto';
import { EventEmitter } from 'events';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { PassThrough } from 'stream';
import { runCaps } from '../src/cli/caps';
import { emulatedHint, isCheckout } from '../src/vmm/host';
import { runCommand, parseRunArgs, type RunDeps } from '../src/cli/run';
import { encodePacket, PacketDecoder } from '../src/gdb/packet';
import { A64, PSCI_SYSTEM_OFF, RAM_BASE, UART, fakeCaps, fakeModule, loadConst32, type FakeVm } from './session.fake-vm';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
jest.setTimeout(20_000);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-debug-run-'));

function io(): { io: { stdin: NodeJS.ReadableStream; stdout: PassThrough; stderr: PassThrough }; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const o: Buffer[] = [];
  const e: Buffer[] = [];
  stdout.on('data', (b: Buffer) => o.push(b));
  stderr.on('data', (b: Buffer) => e.push(b));
  return {
    io: { stdin: new PassThrough(), stdout, stderr },
    out: () => Buffer.concat(o).toString(),
    err: () => Buffer.concat(e).toString(),
  };
}

function image(name: string, words: number[]): string {
  const b = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => b.writeUInt32LE(w >>> 0, i * 4));
  const f = path.join(tmp, name);
  fs.writeFileSync(f, b);
  return f;
}

function hello(text: string, spinNops = 0): number[] {
  const out = [...loadConst32(9, UART)];
  for (let i = 0; i < spinNops; i++) out.push(A64.NOP);
  for (const ch of Buffer.from(text)) out.push(A64.movz(0, ch), A64.strb(0, 9));
  out.push(...loadConst32(0, PSCI_SYSTEM_OFF), A64.HVC0);
  return out;
}

function deps(mod = fakeModule(fakeCaps())): RunDeps & { mod: typeof mod; signals: EventEmitter } {
  return { loadKvm: () => mod, signals: new EventEmitter(), mod };
}

/** The guest image region of a fake VM's RAM. */
function ramImage(vm: FakeVm | undefined, len: number): string {
  if (!vm) throw new Error('no VM was created');
  return sha(vm.ram.subarray(0, len));
}

describe('run: argument and image errors', () => {
  test('usage errors name the value and exit 2', () => {
    expect(parseRunArgs([])).toBe('no image given (an ELF or raw image, or --kernel Image)');
    expect(parseRunArgs(['x', '--gdb', 'nohost'])).toBe('--gdb wants HOST:PORT (e.g. 127.0.0.1:1234), got "nohost"');
    expect(parseRunArgs(['x', '--vcpus', '0'])).toBe('--vcpus 0 is outside 1..512');
    expect(parseRunArgs(['x', '--debug', 'maybe'])).toBe('--debug wants require, auto or off, got "maybe"');
    expect(parseRunArgs(['x', '--wait'])).toBe('--wait needs --gdb or --gdb-unix');
    expect(parseRunArgs(['x', '--gdb', ':4000', '--mem', '8'])).toMatchObject({ image: 'x', gdb: { host: '127.0.0.1', port: 4000 }, memMib: 8 });
  });

  test('--kernel: the Linux options, their defaults, and what goes only with them', () => {
    expect(parseRunArgs(['--kernel', 'Image', '--initrd', 'r.cpio', '--append', 'console=ttyAMA0 rdinit=/init', '--vcpus', '2'])).toMatchObject({
      image: 'Image',
      kernel: true,
      initrd: 'r.cpio',
      append: 'console=ttyAMA0 rdinit=/init',
      vcpus: 2,
      memMib: 512,
    });
    expect(parseRunArgs(['--kernel', 'Image'])).toMatchObject({ append: 'console=ttyAMA0', memMib: 512 });
    expect(parseRunArgs(['--kernel=Image', '--kaslr-seed', '0x1234', '--dtb-out', 'b.dtb'])).toMatchObject({ kaslrSeed: 0x1234n, dtbOut: 'b.dtb' });
    expect(parseRunArgs(['g.elf'])).toMatchObject({ kernel: false, memMib: 64 });
    expect(parseRunArgs(['g.elf', '--initrd', 'r.cpio'])).toBe('--initrd goes with --kernel');
    expect(parseRunArgs(['g.elf', '--append', 'x'])).toBe('--append goes with --kernel');
    expect(parseRunArgs(['g.elf', '--kernel', 'Image'])).toBe('one image only, got "g.elf" and --kernel "Image"');
    expect(parseRunArgs(['--kernel'])).toBe('--kernel wants a file path');
    expect(parseRunArgs(['--kernel', 'I', '--kaslr-seed', 'lots'])).toBe('--kaslr-seed wants a 64-bit number, got "lots"');
  });

  test('--kernel with an initrd that does not exist: exit 2, named, before any host check', async () => {
    const t = io();
    const img = path.join(tmp, 'Image');
    fs.writeFileSync(img, Buffer.alloc(64));
    const missing = path.join(tmp, 'none.cpio');
    expect(await runCommand(['--kernel', img, '--initrd', missing], t.io, deps())).toBe(2);
    expect(t.err()).toBe(`kvm-debug run: image ${JSON.stringify(missing)} not found\n`);
  });

  test('a missing image: exit 2, the message names it', async () => {
    const t = io();
    const missing = path.join(tmp, 'nope.elf');
    expect(await runCommand([missing], t.io, deps())).toBe(2);
    expect(t.err()).toBe(`kvm-debug run: image ${JSON.stringify(missing)} not found\n`);
  });

  test('a bad ELF: exit 2, the message names the field', async () => {
    const b = Buffer.alloc(64);
    Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(b);
    b.writeUInt16LE(2, 16); // ET_EXEC
    b.writeUInt16LE(62, 18); // EM_X86_64
    const f = path.join(tmp, 'x86.elf');
    fs.writeFileSync(f, b);
    const t = io();
    const d = deps();
    expect(await runCommand([f], t.io, d)).toBe(2);
    expect(t.err()).toBe(`kvm-debug run: ${f}: bad ELF: e_machine 62 is not EM_AARCH64 (183)\n`);
    expect(d.mod.last).toBeUndefined(); // refused before any VM
    fs.writeFileSync(f, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2]));
    const t2 = io();
    expect(await runCommand([f], t2.io, d)).toBe(2);
    expect(t2.err()).toContain('bad ELF: 5 bytes is shorter than an ELF-64 header (64)');
  });

  test('no /dev/kvm on an x86_64 host: exit 1, says so and what to do', async () => {
    const f = image('hello-nokvm.bin', hello('x'));
    const caps = fakeCaps({ available: false, code: 'ERR_NO_KVM', reason: '/dev/kvm: No such file or directory', arch: 'x86_64', vmSupported: false });
    const t = io();
    expect(await runCommand([f], t.io, deps(fakeModule(caps)))).toBe(1);
    const msg = t.err();
    expect(msg).toContain('this host is x86_64, not arm64');
    expect(msg).toContain('npm start');
    expect(msg).toContain('no /dev/kvm (/dev/kvm: No such file or directory) [ERR_NO_KVM]: load the KVM module (modprobe kvm)');
  });

  test('permission denied on /dev/kvm: tells to join group kvm', async () => {
    const f = image('hello-perm.bin', hello('x'));
    const caps = fakeCaps({ available: false, code: 'ERR_KVM_PERMISSION', reason: 'EACCES' });
    const t = io();
    expect(await runCommand([f], t.io, deps(fakeModule(caps)))).toBe(1);
    expect(t.err()).toContain('join the kvm group');
  });

  test('this very host, with the real addon: a clear refusal, never a crash', async () => {
    if (process.arch === 'arm64' && fs.existsSync('/dev/kvm')) {
      console.log('skipped: this host has arm64 KVM (the arm64 lane covers the real run)');
      return;
    }
    const f = image('hello-real.bin', hello('x'));
    const t = io();
    expect(await runCommand([f], t.io)).toBe(1);
    expect(t.err()).toMatch(/^kvm-debug run: (cannot run .*(not arm64|\/dev\/kvm)|native backend unavailable)/);
  });
});

describe('run over a fake addon', () => {
  test('UART on stdout, PSCI SYSTEM_OFF: exit 0', async () => {
    const f = image('hello.bin', hello('385\n'));
    const t = io();
    expect(await runCommand([f], t.io, deps())).toBe(0);
    expect(t.out()).toBe('385\n');
    expect(t.err()).toBe('kvm-debug: guest exited with status 0: PSCI SYSTEM_OFF from vCPU 0\n');
  });

  test('--debug off on a kernel without guest debug: still runs, and says why debugging is off', async () => {
    const f = image('hello2.bin', hello('ok'));
    const t = io();
    expect(await runCommand([f], t.io, deps(fakeModule(fakeCaps({ setGuestDebug: false }))))).toBe(0);
    expect(t.out()).toBe('ok');
    expect(t.err()).toContain('guest debugging is off: the kernel lacks KVM_CAP_SET_GUEST_DEBUG; the guest runs without it');
  });

  test('--debug require on such a kernel refuses to start with the reason', async () => {
    const f = image('hello3.bin', hello('ok'));
    const t = io();
    const d = deps(fakeModule(fakeCaps({ setGuestDebug: false })));
    expect(await runCommand([f, '--debug', 'require'], t.io, d)).toBe(1);
    expect(t.err()).toBe('kvm-debug run: debugging required but the kernel lacks KVM_CAP_SET_GUEST_DEBUG\n');
    expect(t.out()).toBe('');
  });

  test('a VM failure (KVM internal error) stops the run with status 1 and says what happened', async () => {
    const f = image('fault.bin', hello('x'));
    const t = io();
    const mod = fakeModule(fakeCaps(), (vm) => {
      vm.run = async (vcpu) => ({ kind: 'internalError', vcpu, suberror: 3 });
    });
    expect(await runCommand([f], t.io, deps(mod))).toBe(1);
    expect(t.err()).toBe(
      'kvm-debug: vCPU 0 stopped at pc 0x40000000: KVM internal error, suberror 3\n' +
        'kvm-debug: guest exited with status 1: KVM internal error, suberror 3\n',
    );
    expect(mod.last?.closed).toBe(true);
  });

  test('a port in use: exit 1, names the address, the VM is closed', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as net.AddressInfo).port;
    const f = image('hello4.bin', hello('x'));
    const t = io();
    const d = deps();
    try {
      expect(await runCommand([f, '--gdb', `127.0.0.1:${port}`, '--wait'], t.io, d)).toBe(1);
    } finally {
      busy.close();
    }
    expect(t.err()).toContain(`cannot listen on 127.0.0.1:${port}: address in use (EADDRINUSE)`);
    expect(d.mod.last?.closed).toBe(true);
  });

  test('a non-loopback --gdb without --allow-remote is refused (exit 2)', async () => {
    const f = image('hello5.bin', hello('x'));
    const t = io();
    expect(await runCommand([f, '--gdb', '0.0.0.0:0'], t.io, deps())).toBe(2);
    expect(t.err()).toContain('refusing to listen on 0.0.0.0');
  });
});

/** A minimal RSP client over TCP (acks on). */
class Rsp {
  private readonly dec = new PacketDecoder(1 << 20);
  private readonly replies: string[] = [];
  private waiters: (() => void)[] = [];
  constructor(readonly sock: net.Socket) {
    sock.on('error', () => undefined); // the server may close first (after D, k)
    sock.on('data', (b: Buffer) => {
      for (const ev of this.dec.push(b)) if (ev.type === 'packet') this.replies.push(ev.payload.toString('latin1'));
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    });
  }
  static connect(port: number): Promise<Rsp> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new Rsp(s)));
      s.on('error', reject);
    });
  }
  send(payload: string): void {
    this.sock.write(encodePacket(payload));
    this.sock.write('+');
  }
  async next(): Promise<string> {
    while (this.replies.length === 0) await new Promise<void>((r) => this.waiters.push(r));
    this.sock.write('+');
    return this.replies.shift() as string;
  }
  async req(payload: string): Promise<string> {
    this.send(payload);
    return this.next();
  }
}

function gdbPort(err: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const poll = (): void => {
      const m = /GDB server on 127\.0\.0\.1:(\d+)/.exec(err());
      if (m) return resolve(Number(m[1]));
      if (Date.now() - t0 > 5000) return reject(new Error(`no GDB server line in: ${err()}`));
      setTimeout(poll, 5);
    };
    poll();
  });
}

describe('run --gdb over a fake addon: cleanup on every ending', () => {
  const words = hello('done\n', 400);
  const bp = RAM_BASE + 8n * 4n; // one of the NOPs
  const never = RAM_BASE + BigInt(words.length + 8) * 4n; // past the HVC: never reached
  const hexa = (v: bigint): string => v.toString(16);

  test('break, continue, stop reply, step, detach: the guest runs to its end, RAM identical', async () => {
    const f = image('gdb1.bin', words);
    const t = io();
    const d = deps();
    const done = runCommand([f, '--gdb', '127.0.0.1:0', '--wait'], t.io, d);
    const c = await Rsp.connect(await gdbPort(t.err));
    expect(await c.req(`Z0,${hexa(bp)},4`)).toBe('OK');
    expect(ramImage(d.mod.last, words.length * 4)).not.toBe(sha(fs.readFileSync(f)));
    expect(await c.req('c')).toMatch(/^T05thread:01;swbreak:;1d:[0-9a-f]{16};1f:[0-9a-f]{16};20:[0-9a-f]{16};$/);
    expect(await c.req('s')).toMatch(/^T05thread:01;1d:[0-9a-f]{16};1f:[0-9a-f]{16};20:[0-9a-f]{16};$/);
    expect(await c.req(`p20`)).toBe(Buffer.from((bp + 4n).toString(16).padStart(16, '0'), 'hex').reverse().toString('hex'));
    expect(await c.req('D')).toBe('OK');
    expect(await done).toBe(0);
    expect(t.out()).toBe('done\n');
    expect(ramImage(d.mod.last, words.length * 4)).toBe(sha(fs.readFileSync(f)));
    expect(t.err()).toContain('debugger detach: 1 breakpoint(s) removed');
  });

  test('the client disconnects while the guest runs: breakpoints removed, the guest runs to its end', async () => {
    const f = image('gdb2.bin', words);
    const t = io();
    const d = deps();
    const done = runCommand([f, '--gdb', '127.0.0.1:0', '--wait'], t.io, d);
    const c = await Rsp.connect(await gdbPort(t.err));
    expect(await c.req(`Z0,${hexa(never)},4`)).toBe('OK');
    c.send('c');
    c.sock.destroy();
    expect(await done).toBe(0);
    expect(t.out()).toBe('done\n');
    expect(ramImage(d.mod.last, words.length * 4 + 64)).toBe(sha(Buffer.concat([fs.readFileSync(f), Buffer.alloc(64)])));
    expect(t.err()).toContain('debugger disconnect: 1 breakpoint(s) removed');
  });

  test('SIGTERM while debugging: exit 143, no BRK left in guest memory', async () => {
    const spin = [A64.NOP, A64.b(0)];
    const f = image('gdb3.bin', spin);
    const t = io();
    const d = deps();
    const done = runCommand([f, '--gdb', '127.0.0.1:0', '--wait'], t.io, d);
    const c = await Rsp.connect(await gdbPort(t.err));
    expect(await c.req(`Z0,${hexa(RAM_BASE + 0x40n)},4`)).toBe('OK');
    c.send('c');
    await new Promise((r) => setTimeout(r, 30));
    d.signals.emit('SIGTERM', 'SIGTERM');
    expect(await done).toBe(143);
    expect(d.mod.last?.word(RAM_BASE + 0x40n)).toBe(0);
    expect(d.mod.last?.sw.size).toBe(0);
    expect(d.mod.last?.closed).toBe(true);
    expect(t.err()).toContain('SIGTERM: stopping the guest and removing breakpoints');
    c.sock.destroy();
  });

  test('the guest exits while gdb continues: the client gets W00, status 0', async () => {
    const f = image('gdbexit.bin', hello('bye'));
    const t = io();
    const done = runCommand([f, '--gdb', '127.0.0.1:0', '--wait'], t.io, deps());
    const c = await Rsp.connect(await gdbPort(t.err));
    expect(await c.req('c')).toBe('W00');
    expect(await done).toBe(0);
    expect(t.out()).toBe('bye');
    c.sock.destroy();
  });

  test('gdb kill ends the run', async () => {
    const f = image('gdb4.bin', [A64.NOP, A64.b(0)]);
    const t = io();
    const d = deps();
    const done = runCommand([f, '--gdb', '127.0.0.1:0', '--wait'], t.io, d);
    const c = await Rsp.connect(await gdbPort(t.err));
    expect(await c.req(`Z0,${hexa(RAM_BASE)},4`)).toBe('OK');
    c.send('k');
    expect(await done).toBe(0);
    expect(d.mod.last?.word(RAM_BASE)).toBe(A64.NOP);
    c.sock.destroy();
  });

  test('monitor caps shows the debugging verdict', async () => {
    const f = image('gdb5.bin', hello('x'));
    const t = io();
    const done = runCommand([f, '--gdb', '127.0.0.1:0', '--wait'], t.io, deps());
    const c = await Rsp.connect(await gdbPort(t.err));
    const text = Buffer.from(await c.req(`qRcmd,${Buffer.from('caps').toString('hex')}`), 'hex').toString();
    expect(text).toContain('debugging:              on');
    expect(await c.req('D')).toBe('OK');
    expect(await done).toBe(0);
    c.sock.destroy();
  });
});

describe('run --gdb: attach to a running guest, interrupt, Unix socket', () => {
  test('without --wait a connecting client stops the running guest; 0x03 interrupts; SIGINT ends it (130)', async () => {
    const f = image('spin1.bin', [A64.NOP, A64.add(0, 0, 1), A64.b(-1)]);
    const t = io();
    const d = deps();
    const done = runCommand([f, '--gdb', '127.0.0.1:0'], t.io, d);
    const port = await gdbPort(t.err);
    await new Promise((r) => setTimeout(r, 30)); // the guest is spinning
    const c = await Rsp.connect(port);
    await new Promise((r) => setTimeout(r, 30)); // the handover interrupt settles
    expect(d.mod.last?.isRunning(0)).toBe(false);
    const x0 = await c.req('p0');
    expect(x0).toMatch(/^[0-9a-f]{16}$/);
    expect(x0).not.toBe('0000000000000000'); // it ran before we attached
    c.send('c');
    await new Promise((r) => setTimeout(r, 30));
    c.sock.write(Buffer.from([0x03]));
    expect(await c.next()).toMatch(/^T02thread:01;1d:/);
    expect(await c.req(`Z0,${(RAM_BASE + 4n).toString(16)},4`)).toBe('OK');
    d.signals.emit('SIGINT', 'SIGINT');
    expect(await done).toBe(130);
    expect(d.mod.last?.word(RAM_BASE + 4n)).toBe(A64.add(0, 0, 1));
    c.sock.destroy();
  });

  test('without --wait, packets sent at once on connect wait for the handover stop and are answered in order', async () => {
    const f = image('spin2.bin', [A64.NOP, A64.add(0, 0, 1), A64.b(-1)]);
    const t = io();
    const d = deps();
    const done = runCommand([f, '--gdb', '127.0.0.1:0'], t.io, d);
    const port = await gdbPort(t.err);
    await new Promise((r) => setTimeout(r, 30)); // the guest is spinning
    const c = await Rsp.connect(port);
    c.send('p0'); // no pause: the handover stop is still in flight
    c.send('qC');
    const x0 = await c.next();
    expect(x0).toMatch(/^[0-9a-f]{16}$/);
    expect(x0).not.toBe('0000000000000000');
    expect(await c.next()).toBe('QC01');
    expect(d.mod.last?.isRunning(0)).toBe(false);
    d.signals.emit('SIGINT', 'SIGINT');
    expect(await done).toBe(130);
    c.sock.destroy();
  });

  test('--gdb-unix serves on a Unix socket', async () => {
    const f = image('unix.bin', hello('u'));
    const sock = path.join(tmp, 'gdb.sock');
    const t = io();
    const done = runCommand([f, '--gdb-unix', sock, '--wait'], t.io, deps());
    for (let i = 0; i < 200 && !t.err().includes('GDB server on'); i++) await new Promise((r) => setTimeout(r, 5));
    expect(t.err()).toContain(`GDB server on ${sock}; waiting for the debugger`);
    const s = net.connect(sock);
    await new Promise((r) => s.once('connect', r));
    const c = new Rsp(s);
    expect(await c.req('D')).toBe('OK');
    expect(await done).toBe(0);
    expect(t.out()).toBe('u');
    s.destroy();
  });
});

describe('caps', () => {
  test('human-readable and JSON, with the debug verdict', async () => {
    const t = io();
    expect(await runCaps([], t.io, () => fakeModule(fakeCaps({ hwBreakpoints: 6, hwWatchpoints: 4 })))).toBe(0);
    expect(t.out()).toContain('hardware breakpoints:     6');
    expect(t.out()).toContain('guest debugging:          on (--debug auto)');
    const j = io();
    expect(await runCaps(['--json'], j.io, () => fakeModule(fakeCaps({ setGuestDebug: false })))).toBe(0);
    const obj = JSON.parse(j.out()) as Record<string, unknown>;
    expect(obj.debug).toEqual({ mode: 'auto', enabled: false, reason: 'the kernel lacks KVM_CAP_SET_GUEST_DEBUG' });
    expect(obj.hwBreakpoints).toBe(2);
  });

  test('no KVM on x86_64: the report says why run is not possible', async () => {
    const t = io();
    const caps = fakeCaps({ available: false, code: 'ERR_NO_KVM', reason: 'absent', arch: 'x86_64', vmSupported: false, setGuestDebug: false });
    expect(await runCaps([], t.io, () => fakeModule(caps))).toBe(0);
    expect(t.out()).toContain('KVM:                      unavailable: absent [ERR_NO_KVM]');
    expect(t.out()).toContain('not possible here: this host is x86_64, not arm64');
    const bad = io();
    expect(await runCaps(['--bogus'], bad.io, () => fakeModule(caps))).toBe(2);
    expect(bad.err()).toContain('kvm-debug caps: unknown option --bogus');
  });

  test('--debug require exits 1 when guest debugging is unavailable, naming why; 0 when it is there', async () => {
    const off = io();
    expect(await runCaps(['--debug', 'require'], off.io, () => fakeModule(fakeCaps({ setGuestDebug: false })))).toBe(1);
    expect(off.err()).toBe('kvm-debug caps: --debug require: guest debugging is unavailable here: debugging required but the kernel lacks KVM_CAP_SET_GUEST_DEBUG [ERR_DEBUG_UNAVAILABLE]\n');
    expect(off.out()).toContain('guest debugging:');
    const on = io();
    expect(await runCaps(['--debug=require', '--json'], on.io, () => fakeModule(fakeCaps({})))).toBe(0);
    expect((JSON.parse(on.out()) as { debug: unknown }).debug).toEqual({ mode: 'require', enabled: true });
    const auto = io();
    expect(await runCaps(['--debug', 'auto'], auto.io, () => fakeModule(fakeCaps({ setGuestDebug: false })))).toBe(0);
    const bad = io();
    expect(await runCaps(['--debug', 'maybe'], bad.io, () => fakeModule(fakeCaps({})))).toBe(2);
    expect(bad.err()).toContain('--debug wants require, auto or off, got "maybe"');
  });
});

describe('advice on a host without arm64 KVM', () => {
  test('a checkout points at npm start; an installed package at an arm64 host and what works anywhere', () => {
    expect(isCheckout()).toBe(true);
    expect(isCheckout(os.tmpdir())).toBe(false);
    expect(emulatedHint(true)).toContain('npm start');
    expect(emulatedHint(false)).not.toMatch(/npm (start|run)/);
    expect(emulatedHint(false)).toContain('arm64 Linux host with /dev/kvm');
    expect(emulatedHint(false)).toContain('`kvm-debug decode`');
  });
});
