import * as net from 'net';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { BUSY_MESSAGE, listen, type GdbListener } from '../../src/gdb/tcp';
import { encodePacket } from '../../src/gdb/packet';
import { REHEARSED_PACKETS } from '../../src/gdb/rehearse';
import { FakeTarget, INSN, RAM_BASE } from './fake-target';

function connect(addr: net.AddressInfo | string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = typeof addr === 'string' ? net.connect(addr) : net.connect(addr.port, addr.address);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Read from a socket until `done(text)` holds or it closes. */
function readUntil(s: net.Socket, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const finish = (): void => {
      s.off('data', onData);
      resolve(text);
    };
    const onData = (d: Buffer): void => {
      text += d.toString('latin1');
      if (done(text)) finish();
    };
    s.on('data', onData);
    s.once('close', finish);
  });
}

async function exchange(s: net.Socket, payload: string): Promise<string> {
  const got = readUntil(s, (t) => /\$[^#]*#[0-9a-f]{2}$/.test(t));
  s.write(encodePacket(payload));
  return got;
}

describe('TCP and Unix socket adapter', () => {
  let listener: GdbListener | undefined;
  afterEach(async () => {
    await listener?.close();
    listener = undefined;
  });

  test('listens on 127.0.0.1 by default and serves a client', async () => {
    listener = await listen(new FakeTarget(), { port: 0 });
    const addr = listener.address();
    expect(typeof addr).toBe('object');
    if (typeof addr === 'string') return;
    expect(addr.address).toBe('127.0.0.1');
    const s = await connect(addr);
    expect(await exchange(s, 'qC')).toMatch(/^\+\$QC01#/);
    s.destroy();
  });

  test('binding elsewhere needs allowRemote', async () => {
    await expect(listen(new FakeTarget(), { host: '0.0.0.0', port: 0 })).rejects.toMatchObject({ code: 'ERR_REMOTE_BIND' });
    listener = await listen(new FakeTarget(), { host: '0.0.0.0', port: 0, allowRemote: true });
    expect(listener.address()).toMatchObject({ address: '0.0.0.0' });
  });

  test('a port in use is a clear error', async () => {
    listener = await listen(new FakeTarget(), { port: 0 });
    const addr = listener.address() as net.AddressInfo;
    await expect(listen(new FakeTarget(), { port: addr.port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  test('one client at a time: a second is told and closed; the first carries on', async () => {
    listener = await listen(new FakeTarget(), { port: 0 });
    const addr = listener.address() as net.AddressInfo;
    const first = await connect(addr);
    expect(await exchange(first, '?')).toMatch(/T05thread:01;/);
    const second = await connect(addr);
    const said = await readUntil(second, () => false); // until closed
    expect(said).toBe(BUSY_MESSAGE);
    expect(await exchange(first, 'qC')).toMatch(/QC01/);
    first.destroy();
  });

  test('client disconnect removes its breakpoints; the next client is accepted', async () => {
    const t = new FakeTarget();
    listener = await listen(t, { port: 0 });
    const addr = listener.address() as net.AddressInfo;
    const ended = new Promise<string>((r) => listener?.once('session-end', (e: { reason: string }) => r(e.reason)));
    const s = await connect(addr);
    expect(await exchange(s, 'Z0,40000010,4')).toMatch(/\$OK#/);
    expect(t.word(RAM_BASE + 0x10n)).toBe(INSN.BRK0);
    s.destroy();
    expect(await ended).toBe('disconnect');
    expect(t.word(RAM_BASE + 0x10n)).toBe(INSN.NOP);
    expect(t.detached).toBe(true);
    const again = await connect(addr);
    expect(await exchange(again, 'qC')).toMatch(/QC01/);
    again.destroy();
  });

  test('detach replies OK, then the server closes the connection', async () => {
    listener = await listen(new FakeTarget(), { port: 0 });
    const s = await connect(listener.address());
    const all = readUntil(s, () => false);
    s.write(encodePacket('D'));
    expect(await all).toMatch(/^\+\$OK#9a$/);
  });

  test('a Unix socket works the same', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvm-debug-gdb-'));
    try {
      const path = join(dir, 'gdb.sock');
      listener = await listen(new FakeTarget(), { path });
      expect(listener.address()).toBe(path);
      const s = await connect(path);
      expect(await exchange(s, 'qAttached')).toMatch(/\$1#31/);
      s.destroy();
    } finally {
      await listener?.close();
      listener = undefined;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the connect rehearsal (ts/src/gdb/rehearse.ts)', () => {
  test('every rehearsed packet is answered as on a real guest: the paths gdb and lldb take are the ones compiled', async () => {
    const l = await listen(new FakeTarget(), { port: 0 });
    const replies = await l.rehearsal;
    await l.close();
    // vMustReplyEmpty, qTStatus and qSymbol:: are answered empty; everything else has a payload.
    expect(replies).toHaveLength(REHEARSED_PACKETS.length);
    // The one error is gdb's own probe below RAM (m3ffffffc,4), answered as on a real guest.
    const errors = REHEARSED_PACKETS.filter((_p, i) => /^E[0-9a-f]{2}$/.test(replies[i] as string));
    expect(errors).toEqual(['m3ffffffc,4']);
    expect(replies[0]).toMatch(/^PacketSize=/);
  });

  test('the port opens only once the rehearsal is done: a client that connects at once has the thread to itself', async () => {
    const l = await listen(new FakeTarget(), { port: 0 });
    // Settled already: its callback runs before the next turn of the event loop.
    const settled = await Promise.race([l.rehearsal.then(() => true), new Promise<boolean>((r) => setImmediate(() => r(false)))]);
    const s = await connect(l.address() as net.AddressInfo);
    try {
      expect(settled).toBe(true);
      expect(await l.rehearsal).toHaveLength(REHEARSED_PACKETS.length);
      expect(await exchange(s, 'qC')).toMatch(/^\+\$QC01#/);
    } finally {
      s.destroy();
      await l.close();
    }
  });

  test('listen rehearses with the real target read as gdb first reads it, and never changed', async () => {
    const t = new FakeTarget();
    const used = new Set<string>();
    const watched = new Proxy(t, {
      get(obj, prop, recv) {
        const v = Reflect.get(obj, prop, recv) as unknown;
        if (typeof v === 'function' && typeof prop === 'string') used.add(prop);
        return v;
      },
    });
    const ram = Buffer.from(t.ram);
    const l = await listen(watched, { port: 0 });
    expect(await l.rehearsal).toHaveLength(REHEARSED_PACKETS.length);
    await l.close();
    // `?` (pc, sp, x29 of vCPU 0), then 4 bytes at pc and before it, as gdb's connect reads them.
    const changing = ['writeRegister', 'writeMemory', 'insertBreakpoint', 'removeBreakpoint', 'resume', 'interrupt', 'detach', 'kill'];
    expect(changing.filter((m) => used.has(m))).toEqual([]);
    expect(['capabilities', 'readRegister', 'readMemory'].filter((m) => used.has(m))).toEqual(['capabilities', 'readRegister', 'readMemory']);
    expect(t.ram.equals(ram)).toBe(true);
    expect(t.calls).toEqual([]);
  });
});
