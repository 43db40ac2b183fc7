/**
 * Socket adapters for the protocol core: TCP (127.0.0.1 by default) or a Unix
 * socket. One client at a time: a second connection gets a one-line message and
 * is closed. Each connection gets a fresh GdbServer; when the client goes away
 * (or detaches, or kills) its breakpoints are removed and memory restored.
 */

import { EventEmitter } from 'events';
import * as net from 'net';
import type { DebugTarget } from '../target';
import { DEFAULT_HOST, LOOPBACK } from './address';
import { DEFAULT_MAX_PACKET, PacketDecoder, encodePacket } from './packet';
import { REHEARSED_PACKETS, rehearsalServerOptions, rehearseTargetReads } from './rehearse';
import { GdbServer, type GdbServerOptions, type SessionEnd } from './server';

export { DEFAULT_HOST } from './address';
/** What a second client reads before it is closed. */
export const BUSY_MESSAGE = 'kvm-debug: another debugger is already connected; one client at a time\n';

/** Where and how to listen. */
export interface ListenOptions {
  /** TCP host; default 127.0.0.1. */
  host?: string;
  /** TCP port; 0 picks a free one. Default 1234. Ignored with `path`. */
  port?: number;
  /** Listen on this Unix socket path instead of TCP. */
  path?: string;
  /** Required to bind a non-loopback host (the protocol has no authentication). */
  allowRemote?: boolean;
  /** Options for each connection's GdbServer. */
  server?: GdbServerOptions;
  /** Rehearse gdb's and lldb's connect over loopback on a stand-in target before the port opens (default true). */
  rehearse?: boolean;
}

/** A listening GDB server. Events: 'connect' (GdbServer), 'refused' (), 'session-end' (SessionEnd). */
export class GdbListener extends EventEmitter {
  private active: { socket: net.Socket; server: GdbServer } | undefined;

  constructor(
    private readonly srv: net.Server,
    private readonly target: DebugTarget,
    private readonly options: ListenOptions,
  ) {
    super();
    srv.on('connection', (socket) => this.onConnection(socket));
  }

  /** The bound address: `{ address, port }` for TCP, the path for a Unix socket. */
  address(): net.AddressInfo | string {
    const a = this.srv.address();
    if (a === null) throw new Error('not listening');
    return a;
  }

  /** The current client's protocol core, if one is connected. */
  get session(): GdbServer | undefined {
    return this.active?.server;
  }

  /**
   * The connect rehearsal's replies (ts/src/gdb/rehearse.ts), settled before the port opens;
   * empty when it was off, and only those before the failure when it failed (it only saves
   * time: the first client compiles what it did not).
   */
  rehearsal: Promise<string[]> = Promise.resolve([]);

  /** Read the real target as gdb first does, then rehearse the connect (a loopback client against a stand-in listener). */
  rehearse(): Promise<string[]> {
    rehearseTargetReads(this.target);
    const replies: string[] = [];
    this.rehearsal = rehearseOverLoopback(this.target, replies).then(
      () => replies,
      (e: unknown) => {
        this.options.server?.log?.(`connect rehearsal: ${e instanceof Error ? e.message : String(e)}`);
        return replies;
      },
    );
    return this.rehearsal;
  }

  /** Stop listening and drop the client (its breakpoints are removed). */
  async close(): Promise<void> {
    await this.rehearsal;
    this.active?.socket.destroy();
    await new Promise<void>((resolve) => this.srv.close(() => resolve()));
  }

  private onConnection(socket: net.Socket): void {
    if (this.active) {
      socket.end(BUSY_MESSAGE);
      this.emit('refused');
      return;
    }
    socket.setNoDelay?.(true);
    const server = new GdbServer(this.target, this.options.server);
    this.active = { socket, server };
    const write = (bytes: Buffer): void => {
      if (bytes.length > 0 && !socket.destroyed) socket.write(bytes);
    };
    server.on('output', write);
    server.on('end', (info: SessionEnd) => {
      this.emit('session-end', info);
      // Let the reply in flight (OK to D) go out first.
      setImmediate(() => socket.end());
    });
    socket.on('data', (data: Buffer) => write(server.receive(data)));
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => {
      server.disconnect();
      if (this.active?.socket === socket) this.active = undefined;
    });
    this.emit('connect', server);
  }
}

/**
 * Start listening, once the connect rehearsal is done: gdb connects as soon as the port opens
 * (the arm64 lane's within half a second), and a rehearsal still running then made its
 * `target remote` up to 3x QEMU's time. Rejects on a non-loopback host without `allowRemote`,
 * or a bind error (e.g. EADDRINUSE).
 */
export async function listen(target: DebugTarget, options: ListenOptions = {}): Promise<GdbListener> {
  const host = options.host ?? DEFAULT_HOST;
  if (options.path === undefined && !LOOPBACK.has(host) && !options.allowRemote) {
    const e = new Error(
      `refusing to listen on ${host}: the GDB protocol has no authentication; pass allowRemote to bind a non-loopback address`,
    ) as Error & { code: string };
    e.code = 'ERR_REMOTE_BIND';
    throw e;
  }
  const srv = net.createServer();
  const listener = new GdbListener(srv, target, options);
  // Before the first client: compile the connect path on a stand-in (ts/src/gdb/rehearse.ts).
  if (options.rehearse !== false) await listener.rehearse();
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    const done = (): void => {
      srv.off('error', reject);
      resolve(listener);
    };
    if (options.path !== undefined) srv.listen(options.path, done);
    else srv.listen(options.port ?? 1234, host, done);
  });
}

/** How long the rehearsal waits for one reply (the emulated machine answers in milliseconds). */
const REHEARSAL_REPLY_MS = 10_000;

/**
 * gdb's and lldb's connect (REHEARSED_PACKETS) from a loopback client to a second listener over
 * a stand-in with `target`'s capabilities, one request at a time as they send it. Pushes the
 * replies' payloads to `replies`. Both ends are closed.
 */
async function rehearseOverLoopback(target: DebugTarget, replies: string[]): Promise<void> {
  const stand = rehearsalServerOptions(target.capabilities());
  const l = await listen(stand.target, { host: DEFAULT_HOST, port: 0, rehearse: false, server: stand.server });
  const { port } = l.address() as net.AddressInfo;
  const socket = net.connect(port, DEFAULT_HOST);
  socket.setNoDelay(true);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const decoder = new PacketDecoder(DEFAULT_MAX_PACKET);
    let waiting: { resolve: (payload: string) => void; reject: (e: Error) => void } | undefined;
    socket.on('data', (d: Buffer) => {
      for (const ev of decoder.push(d)) if (ev.type === 'packet') waiting?.resolve(ev.payload.toString('latin1'));
    });
    socket.once('close', () => waiting?.reject(new Error('the stand-in closed the connection')));
    socket.write('+');
    for (const p of REHEARSED_PACKETS) {
      replies.push(
        await new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no reply to ${p}`)), REHEARSAL_REPLY_MS);
          waiting = {
            resolve: (r) => {
              clearTimeout(timer);
              resolve(r);
            },
            reject: (e) => {
              clearTimeout(timer);
              reject(e);
            },
          };
          socket.write(encodePacket(p));
        }),
      );
    }
  } finally {
    socket.destroy();
    await l.close();
  }
}
