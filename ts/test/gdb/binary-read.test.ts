/**
 * The `x addr,length` binary memory read (GDB 16+, qSupported `binary-upload+`), wired in memory:
 * escapes on the wire, zero length, addresses outside RAM, and the packet size cap.
 */
import { ESCAPE, ESCAPE_XOR, PACKET_END, PACKET_START, RLE } from '../../src/gdb/packet';
import { escapedPrefix } from '../../src/gdb/commands/base';
import { FakeTarget, MMIO_BASE, RAM_BASE, RAM_SIZE } from './fake-target';
import { MemClient } from './client';

/** Every byte that must be escaped in a reply, with plain bytes around them. */
const SPECIAL = Buffer.from([0x00, PACKET_END, PACKET_START, ESCAPE, RLE, 0x03, 0xff]);

function setup(maxPacket?: number): { t: FakeTarget; c: MemClient } {
  const t = new FakeTarget();
  return { t, c: new MemClient(t, maxPacket === undefined ? {} : { maxPacket }) };
}

const hex = (a: bigint): string => a.toString(16);
const bytes = (reply: string): Buffer => Buffer.from(reply, 'latin1');

describe('x: binary memory read', () => {
  test('is advertised as binary-upload+ by the dispatch table', () => {
    const { c } = setup();
    expect(c.req('qSupported:multiprocess+').split(';')).toContain('binary-upload+');
  });

  test('returns b + the bytes, escaping # $ } * on the wire', () => {
    const { t, c } = setup();
    t.ram.set(SPECIAL, 0x40);
    const reply = c.req(`x${hex(RAM_BASE + 0x40n)},${SPECIAL.length.toString(16)}`);
    expect(bytes(reply)).toEqual(Buffer.concat([Buffer.from('b'), SPECIAL]));
    // What went over the wire: each special byte as '}' + (byte ^ 0x20), never raw.
    const frame = c.wire[c.wire.length - 1] ?? Buffer.alloc(0);
    const body = frame.subarray(frame.indexOf(PACKET_START) + 1, frame.lastIndexOf(PACKET_END));
    const escaped = [PACKET_END, PACKET_START, ESCAPE, RLE].map((b) => Buffer.from([ESCAPE, b ^ ESCAPE_XOR]));
    for (const e of escaped) expect(body.includes(e)).toBe(true);
    expect(body.length).toBe(1 + SPECIAL.length + escaped.length);
    // The same bytes through m, as hex.
    expect(c.req(`m${hex(RAM_BASE + 0x40n)},${SPECIAL.length.toString(16)}`)).toBe(SPECIAL.toString('hex'));
  });

  test('zero length is an empty b reply and reads nothing', () => {
    const { t, c } = setup();
    const touches = t.memoryTouches;
    expect(c.req(`x${hex(RAM_BASE)},0`)).toBe('b');
    expect(t.memoryTouches).toBe(touches);
  });

  test('outside guest memory is EFAULT, and the session survives', () => {
    const { t, c } = setup();
    expect(c.req('x10,4')).toBe('E0e');
    expect(c.req(`x${hex(MMIO_BASE)},4`)).toBe('E0e');
    expect(c.req(`x${hex(RAM_BASE + BigInt(RAM_SIZE) - 2n)},4`)).toBe('E0e'); // runs off the end of RAM
    t.ram.writeUInt32LE(0x11223344, 0);
    expect(bytes(c.req(`x${hex(RAM_BASE)},4`))).toEqual(Buffer.from([0x62, 0x44, 0x33, 0x22, 0x11]));
  });

  test('malformed requests are EINVAL and never touch guest memory', () => {
    const { t, c } = setup();
    const touches = t.memoryTouches;
    for (const p of ['x40000000', 'x40000000,', 'x,4', 'xzz,4', 'x40000000,1,2', 'xffffffffffffffff,2']) {
      expect([p, c.req(p)]).toEqual([p, 'E16']);
    }
    expect(t.memoryTouches).toBe(touches);
  });

  test('a request over the packet size cap is refused before the target is called', () => {
    const { t, c } = setup(64);
    const touches = t.memoryTouches;
    expect(c.req(`x${hex(RAM_BASE)},41`)).toBe('E16'); // 65 > PacketSize 64
    expect(t.memoryTouches).toBe(touches);
  });

  test('a reply that would not fit PacketSize once escaped carries fewer bytes', () => {
    const { t, c } = setup(64);
    // 40 plain bytes fill 63 bytes of room with 'b' ... then all escapes: cut where the next escape would overflow.
    t.ram.fill(0x11, 0, 40);
    t.ram.fill(RLE, 40, 64);
    const reply = bytes(c.req(`x${hex(RAM_BASE)},40`)); // asks for 64
    const data = reply.subarray(1);
    expect(reply[0]).toBe(0x62); // 'b'
    expect(data.length).toBe(40 + 11); // 40 + 2*11 = 62 <= 63, a 12th escape would make 64
    expect(data.equals(t.ram.subarray(0, data.length))).toBe(true);
    const frame = c.wire[c.wire.length - 1] ?? Buffer.alloc(0);
    expect(frame.length - 4).toBeLessThanOrEqual(64); // '$' '#xx' around the payload
    // Plain data: exactly the 63 bytes that fit after the 'b'.
    t.ram.fill(0x11, 0, 64);
    expect(bytes(c.req(`x${hex(RAM_BASE)},40`)).length).toBe(64);
  });

  test('escapedPrefix counts escapes as two bytes', () => {
    expect(escapedPrefix(SPECIAL, 100)).toBe(SPECIAL.length);
    expect(escapedPrefix(SPECIAL, 1)).toBe(1); // 0x00 fits, '#' needs 2
    expect(escapedPrefix(SPECIAL, 2)).toBe(1);
    expect(escapedPrefix(SPECIAL, 3)).toBe(2);
    expect(escapedPrefix(Buffer.alloc(0), 0)).toBe(0);
  });
});
