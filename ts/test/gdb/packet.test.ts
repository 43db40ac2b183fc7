import {
  checksum,
  decodeFrame,
  encodePacket,
  escape,
  expandRle,
  fromHex,
  PacketDecoder,
  toHex,
  unescape,
  type InputEvent,
} from '../../src/gdb/packet';
import { loadNative } from '../../src/binding';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const frame = (body: string): Buffer => {
  const raw = b(body);
  return Buffer.concat([b('$'), raw, b(`#${checksum(raw).toString(16).padStart(2, '0')}`)]);
};
const packets = (evs: InputEvent[]): string[] =>
  evs.map((e) => (e.type === 'packet' ? e.payload.toString('latin1') : `<${e.type}${e.type === 'invalid' ? `:${e.reason}` : ''}>`));

describe('framing', () => {
  test('checksum is the modulo-256 sum', () => {
    expect(checksum(b('OK'))).toBe(0x9a);
    expect(encodePacket('OK').toString('latin1')).toBe('$OK#9a');
    expect(encodePacket('').toString('latin1')).toBe('$#00');
  });

  test('checksum matches a per-byte sum at every length and alignment, and over all-0xff runs', () => {
    const perByte = (bytes: Uint8Array): number => bytes.reduce((a, c) => a + c, 0) & 0xff;
    const base = Buffer.alloc(2200);
    for (let i = 0; i < base.length; i++) base[i] = (i * 131 + (i >> 3)) & 0xff;
    for (let off = 0; off < 4; off++) {
      for (const len of [0, 1, 2, 3, 4, 5, 7, 8, 9, 511, 512, 513, 514, 515, 1024, 2049]) {
        const view = base.subarray(off, off + len);
        expect([off, len, checksum(view)]).toEqual([off, len, perByte(view)]);
      }
    }
    // The lanes' worst case: every byte 0xff, across several folds.
    const ones = Buffer.alloc(4096 + 3, 0xff).subarray(1);
    expect(checksum(ones)).toBe(perByte(ones));
  });

  test('a whole packet decodes; the same bytes split anywhere decode identically', () => {
    const bytes = Buffer.concat([frame('qSupported:swbreak+'), b('+'), frame('g')]);
    expect(packets(new PacketDecoder().push(bytes))).toEqual(['qSupported:swbreak+', '<ack>', 'g']);
    for (let cut = 1; cut < bytes.length; cut++) {
      const d = new PacketDecoder();
      const evs = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
      expect(packets(evs)).toEqual(['qSupported:swbreak+', '<ack>', 'g']);
    }
  });

  test('incomplete input is held, not rejected', () => {
    const d = new PacketDecoder();
    expect(d.push(b('$m4000,4'))).toEqual([]);
    expect(d.push(b('#'))).toEqual([]);
    expect(d.push(b('9'))).toEqual([]);
    expect(d.pending).toBe(10);
    expect(decodeFrame(b('$g#6'), 100)).toEqual({ status: 'incomplete' });
  });

  test('a bad checksum is invalid, and the stream goes on', () => {
    const d = new PacketDecoder();
    expect(packets(d.push(b('$g#00$g#67')))).toEqual(['<invalid:checksum>', 'g']);
    expect(packets(d.push(b('$g#zz')))).toEqual(['<invalid:checksum>']);
  });

  test('acks, nacks, the interrupt byte and line noise between packets', () => {
    expect(packets(new PacketDecoder().push(b('+-\x03\r\nxx+')))).toEqual(['<ack>', '<nack>', '<interrupt>', '<ack>']);
  });

  test('escapes: } then byte^0x20, binary-safe', () => {
    const data = Buffer.from([0x00, 0x23, 0x24, 0x7d, 0x2a, 0xff, 0x03]);
    const esc = escape(data);
    expect(esc).toEqual(Buffer.from([0x00, 0x7d, 0x03, 0x7d, 0x04, 0x7d, 0x5d, 0x7d, 0x0a, 0xff, 0x03]));
    expect(unescape(esc)).toEqual(data);
    const framed = encodePacket(Buffer.concat([b('X40000000,7:'), data]));
    const evs = new PacketDecoder().push(framed);
    expect(evs).toEqual([{ type: 'packet', payload: Buffer.concat([b('X40000000,7:'), data]) }]);
  });

  test('every byte value, repeated and adjacent, frames and decodes back; the checksum is the sum mod 256', () => {
    const data = Buffer.alloc(4096);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 8)) & 0xff;
    data.fill(0x7d, 100, 110); // a run of escapes
    const framed = encodePacket(data);
    const body = framed.subarray(1, framed.length - 3);
    let sum = 0;
    for (const c of body) sum += c;
    expect(framed.subarray(framed.length - 3).toString('latin1')).toBe(`#${(sum & 0xff).toString(16).padStart(2, '0')}`);
    expect(new PacketDecoder(1 << 16).push(framed)).toEqual([{ type: 'packet', payload: data }]);
    // Nothing to escape: the payload goes out as it is.
    const hex = Buffer.from(data.toString('hex'), 'latin1');
    expect(escape(hex)).toBe(hex);
  });

  test('run-length encoding is expanded: c*n repeats c n-29 times', () => {
    expect(expandRle(b('0* '))?.toString()).toBe('0000'); // ' ' = 32 -> 3 more
    expect(expandRle(b('a*"b'))?.toString()).toBe('aaaaaab'); // '"' = 34 -> 5 more
    expect(expandRle(b('*!'))).toBeUndefined();
    const evs = new PacketDecoder().push(frame('M40000000,4:000*"'));
    expect(packets(evs)).toEqual(['M40000000,4:00000000']);
    expect(packets(new PacketDecoder().push(frame('*!')))).toEqual(['<invalid:bad-rle>']);
  });

  test('over-long packets are invalid without buffering them, and the stream resyncs', () => {
    const d = new PacketDecoder(16);
    expect(d.push(b('$' + 'a'.repeat(20)))).toEqual([]);
    expect(d.pending).toBe(0); // not kept
    expect(packets(d.push(b('a'.repeat(1000))))).toEqual([]);
    expect(packets(d.push(b('#00+')))).toEqual(['<invalid:too-long>', '<ack>']);
    expect(packets(d.push(frame('g')))).toEqual(['g']);
    expect(packets(new PacketDecoder(4).push(frame('abcdef')))).toEqual(['<invalid:too-long>']);
    expect(packets(new PacketDecoder(6).push(frame('abcdef')))).toEqual(['abcdef']);
  });

  test('a new $ inside a packet truncates the old one', () => {
    expect(packets(new PacketDecoder().push(Buffer.concat([b('$abc'), frame('g')])))).toEqual(['<invalid:truncated>', 'g']);
  });

  test('odd or non-hex strings do not parse', () => {
    expect(fromHex('abc')).toBeUndefined();
    expect(fromHex('zz')).toBeUndefined();
    expect(fromHex('0aFF')).toEqual(Buffer.from([0x0a, 0xff]));
  });
});

describe("the addon's m reply frames (crates/node/src/rsp.rs)", () => {
  // The KVM path is native-only, so this is the native build whatever KVM_DEBUG_BACKEND says.
  const hexReplyFrame = loadNative().hexReplyFrame as (bytes: Uint8Array) => Buffer;

  test('are the bytes encodePacket(toHex(bytes)) gives, for every byte value and sizes up to 64 KiB', () => {
    let seed = 7;
    const random = (n: number): Buffer => {
      const out = Buffer.alloc(n);
      for (let i = 0; i < n; i++) out[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      return out;
    };
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    for (const bytes of [Buffer.alloc(0), all, random(1), random(4095), random(0x10000), Buffer.alloc(0x10000, 0xff)]) {
      expect(hexReplyFrame(bytes).equals(encodePacket(toHex(bytes)))).toBe(true);
    }
  });
});
