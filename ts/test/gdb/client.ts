/** An in-memory gdb client for the protocol core: frames requests, acks, decodes replies. */

import { execFile } from 'child_process';
import type { AddressInfo } from 'net';
import { GdbServer, type GdbServerOptions } from '../../src/gdb/server';
import { listen, type GdbListener } from '../../src/gdb/tcp';
import type { FakeTarget } from './fake-target';
import { encodePacket, PacketDecoder } from '../../src/gdb/packet';
import type { DebugTarget } from '../../src/target';

export class MemClient {
  readonly server: GdbServer;
  private readonly decoder = new PacketDecoder(1 << 20);
  /** Everything the server sent, raw. */
  readonly wire: Buffer[] = [];
  private readonly replies: string[] = [];
  acks = 0;
  nacks = 0;

  constructor(target: DebugTarget, options: GdbServerOptions = {}) {
    this.server = new GdbServer(target, { decoder: null, ...options });
    this.server.on('output', (bytes: Buffer) => this.take(bytes));
  }

  private take(bytes: Buffer): void {
    this.wire.push(bytes);
    for (const ev of this.decoder.push(bytes)) {
      if (ev.type === 'ack') this.acks++;
      else if (ev.type === 'nack') this.nacks++;
      else if (ev.type === 'packet') this.replies.push(ev.payload.toString('latin1'));
      else throw new Error(`server sent an invalid frame: ${ev.type}`);
    }
  }

  /** Send raw bytes; returns the replies they produced synchronously. */
  raw(bytes: Buffer | string): string[] {
    this.take(this.server.receive(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes));
    return this.replies.splice(0);
  }

  /** Send one packet; returns its single synchronous reply. */
  req(payload: string | Buffer): string {
    const r = this.raw(encodePacket(payload));
    if (r.length !== 1) throw new Error(`expected one reply to ${String(payload)}, got ${JSON.stringify(r)}`);
    return r[0] as string;
  }

  /** Send a resume packet; resolves with the asynchronous replies (stop reply last). */
  async resume(payload: string): Promise<string[]> {
    const now = this.raw(encodePacket(payload));
    await this.server.idle();
    return [...now, ...this.replies.splice(0)];
  }
}

export const hexText = (s: string): string => Buffer.from(s, 'utf8').toString('hex');
export const unhexText = (h: string): string => Buffer.from(h, 'hex').toString('utf8');

/** A real client run in batch mode: its stdout and stderr together, and its exit code. */
export function runBatch(file: string, args: string[]): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 60_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ out: `${stdout}\n${stderr}`, code: err ? ((err as { code?: number }).code ?? 1) : 0 });
    });
  });
}

/** A listener on a free loopback port over `target`, with the reasons its sessions ended. */
export async function listenRecording(target: DebugTarget): Promise<{ listener: GdbListener; port: number; ends: string[] }> {
  const listener = await listen(target, { port: 0 });
  const ends: string[] = [];
  listener.on('session-end', (e: { reason: string }) => ends.push(e.reason));
  return { listener, port: (listener.address() as AddressInfo).port, ends };
}

/**
 * After a client detached: RAM is `expectedRam` (what the client wrote, and no BRK of
 * ours), no breakpoint or watchpoint is left, the session ended by detach, and the target
 * was detached.
 */
export async function expectCleanDetach(t: FakeTarget, expectedRam: Buffer, ends: string[]): Promise<void> {
  expect(t.ram.equals(expectedRam)).toBe(true);
  expect(t.sw.size + t.hw.length + t.watch.length).toBe(0);
  await new Promise((r) => setTimeout(r, 50)); // the session-end event follows the OK
  expect(ends).toEqual(['detach']);
  expect(t.detached).toBe(true);
}
