/**
 * The GDB remote protocol core. It does no I/O: `receive(bytes)` returns the
 * bytes to send now; replies that come later (stop replies after a resume, and
 * replies to packets queued while the guest ran or while the server was held by
 * `holdUntil`) are emitted as 'output' events.
 * Adapters (tcp.ts) move the bytes.
 *
 * Layers, as in daniel5151/gdbstub: framing (packet.ts) -> dispatch table built
 * from the command families -> one parser per family (commands/*.ts). qSupported
 * is derived from the same table (a family's features may depend on the target).
 * A handler owns its effect (QStartNoAckMode sets `ctx.noAck` itself).
 *
 * The server reads and writes the guest through a DebugTarget, keeps breakpoints
 * in a BreakpointTable, and resumes, interrupts and ends the guest through a
 * RunControl: a Session, or by default the table over a bare target.
 *
 * Events:
 * - 'output' (bytes: Buffer): asynchronous bytes to send.
 * - 'stop' (event: StopEvent): the guest stopped (after accounting by the table).
 * - 'end' (info: SessionEnd): detach, kill, exit or disconnect; breakpoints are removed.
 */

import { EventEmitter } from 'events';
import { BreakpointTable, type RemoveAllReport } from '../breakpoints';
import { messageOf } from '../errors';
import { slideAdvice } from '../kaslr';
import type { PolicyCapabilities } from '../policy';
import type { DebugTarget, ResumeAction, StopEvent } from '../target';
import { baseCommands } from './commands/base';
import { breakpointCommands } from './commands/breakpoints';
import {
  Errno,
  errnoFor,
  errorReply,
  type Command,
  type EsrDecoder,
  type Reply,
  type ServerContext,
} from './commands/common';
import { detachCommands } from './commands/detach';
import { killCommands } from './commands/kill';
import { lldbCommands } from './commands/lldb';
import { defaultEsrDecoder, monitorCommands } from './commands/monitor';
import { queryCommands } from './commands/query';
import { resumeCommands } from './commands/resume';
import { threadCommands } from './commands/threads';
import { ACK, DEFAULT_MAX_PACKET, encodePacket, NACK, PacketDecoder, type InputEvent } from './packet';
import { stopConsoleNote, stopReplyFor } from './stop';

/** errno for an over-long packet (Linux EMSGSIZE). */
const EMSGSIZE = 90;
/** Why the guest ends on gdb's `k`, and its exit code: the user asked for it, so not a failure. */
const GDB_KILL = 'killed by the debugger (gdb kill)';
const EXIT_GDB_KILL = 0;

/** Every command family, in the order the dispatch table is built. */
export const COMMAND_FAMILIES: readonly (readonly Command[])[] = [
  baseCommands,
  breakpointCommands,
  resumeCommands,
  threadCommands,
  queryCommands,
  lldbCommands,
  monitorCommands,
  detachCommands,
  killCommands,
];

/** The dispatch table, by command name: built once, shared by every connection (commands keep no state). */
const COMMANDS: ReadonlyMap<string, Command> = new Map(COMMAND_FAMILIES.flatMap((family) => family.map((cmd) => [cmd.name, cmd] as const)));

/** The qSupported reply's features: PacketSize, then each command's (some depend on the target). */
function supportedFeatures(target: DebugTarget, maxPacket: number): string[] {
  const out = [`PacketSize=${maxPacket.toString(16)}`];
  for (const cmd of COMMANDS.values()) {
    const f = typeof cmd.features === 'function' ? cmd.features(target) : cmd.features;
    if (f) out.push(...f);
  }
  return out;
}

/** How the server resumes, interrupts and ends the guest (a Session implements it). */
export interface RunControl {
  /** Resume per actions; resolves at the next stop, accounted by the table. */
  resume(actions: readonly ResumeAction[]): Promise<StopEvent>;
  /** Stop a running guest (gdb's 0x03); the resume resolves with SIGINT. */
  interrupt(): void;
  /** Stop debugging (breakpoints are already removed); the guest stays as it is. */
  detach(): unknown;
  /** End the guest (gdb's `k`), with the exit code and why. */
  kill(detail: string, code: number): unknown;
}

/** Options of a server. */
export interface GdbServerOptions {
  /** Largest raw packet accepted and advertised as PacketSize. Default DEFAULT_MAX_PACKET (0x20000). */
  maxPacket?: number;
  /** Capabilities for the breakpoint policy; default: the target's capabilities(). */
  capabilities?: PolicyCapabilities;
  /** An existing table to use (e.g. the session's); default: a new one over the target. */
  table?: BreakpointTable;
  /** Run control (e.g. the session); default: the table's resume and the target's detach/kill. */
  control?: RunControl;
  /** ESR decoder for `monitor esr`; default: ts/src/decode.ts. null: none. */
  decoder?: EsrDecoder | null;
  /** Diagnostics sink (invalid frames, removal conflicts). */
  log?: (message: string) => void;
  /**
   * The guest kernel's KASLR slide once known (ts/src/kaslr.ts), for `qOffsets`,
   * `monitor kaslr` and a note at the first stop after it is known. Absent: not a kernel.
   */
  kernelSlide?: () => bigint | undefined;
}

/** How a session ended. */
export interface SessionEnd {
  /** Why. */
  reason: 'detach' | 'kill' | 'exited' | 'disconnect';
  /** What removing the breakpoints did (conflicts included). */
  report: RemoveAllReport;
}

/** Split a payload into its command name and arguments. */
export function commandName(payload: Buffer): string {
  const first = payload[0];
  if (first === undefined) return '';
  const c = String.fromCharCode(first);
  if (c !== 'q' && c !== 'Q' && c !== 'v') return c;
  let i = 1;
  while (i < payload.length) {
    const b = payload[i] as number;
    if (b === 0x3a || b === 0x2c || b === 0x3b) break; // ':' ',' ';'
    if (b === 0x3f) {
      i++; // '?' ends a name and belongs to it (vCont?)
      break;
    }
    i++;
  }
  return payload.subarray(0, i).toString('latin1');
}

/** The protocol core for one client connection. */
export class GdbServer extends EventEmitter {
  readonly table: BreakpointTable;
  private readonly control: RunControl;
  private readonly decoder: PacketDecoder;
  private readonly ctx: ServerContext;
  private readonly log: (message: string) => void;
  /** The last reply sent and not yet acknowledged with `+`: what a `-` asks for again. */
  private unacked: Buffer | undefined;
  private runningPromise: Promise<void> | undefined;
  private holdPromise: Promise<void> | undefined;
  private readonly queued: Buffer[] = [];
  private ended = false;
  private slideAnnounced = false;

  constructor(
    readonly target: DebugTarget,
    options: GdbServerOptions = {},
  ) {
    super();
    const maxPacket = options.maxPacket ?? DEFAULT_MAX_PACKET;
    this.decoder = new PacketDecoder(maxPacket);
    this.log = options.log ?? (() => undefined);
    const caps = options.capabilities ?? target.capabilities();
    const table = options.table ?? new BreakpointTable(target, { capabilities: caps });
    this.table = table;
    this.control = options.control ?? {
      resume: (actions) => table.resume(actions),
      interrupt: () => table.interrupt(),
      detach: () => target.detach?.(),
      kill: () => target.kill?.(),
    };
    this.ctx = {
      target,
      table: this.table,
      maxPacket,
      decoder: options.decoder === null ? undefined : (options.decoder ?? defaultEsrDecoder),
      generalVcpu: 0,
      continueVcpu: 'all',
      lastStop: undefined,
      noAck: false,
      threadSuffix: false,
      listThreadsInStopReply: false,
      notes: [],
      unannounced: [],
      kernelSlide: options.kernelSlide,
      supported: supportedFeatures(target, maxPacket).join(';'),
    };
  }

  /** True while a resume is in flight. */
  get running(): boolean {
    return this.runningPromise !== undefined;
  }

  /** True after detach, kill, exit or disconnect. */
  get isEnded(): boolean {
    return this.ended;
  }

  /** No-ack mode is on. */
  get noAckMode(): boolean {
    return this.ctx.noAck;
  }

  /** True while packets are held by {@link holdUntil}. */
  get held(): boolean {
    return this.holdPromise !== undefined;
  }

  /** Resolves when no resume is in flight and nothing is held (for tests and orderly shutdown). */
  async idle(): Promise<void> {
    while (this.runningPromise || this.holdPromise) await (this.runningPromise ?? this.holdPromise);
  }

  /**
   * Hold incoming packets (acked, not answered) until `stopped` settles, then
   * answer them in order: for a client attaching to a running guest, whose
   * handover stop is still in flight (gdbserver stops the inferior before it
   * answers). A rejection is logged and releases the packets all the same.
   */
  holdUntil(stopped: Promise<unknown>): void {
    const p = stopped
      .then(
        () => undefined,
        (e: unknown) => this.log(`handover stop: ${e instanceof Error ? e.message : String(e)}`),
      )
      .then(() => {
        if (this.holdPromise === p) this.holdPromise = undefined;
        if (this.held) return;
        const out: Buffer[] = [];
        this.drainQueued(out);
        if (out.length > 0) this.emit('output', Buffer.concat(out));
      });
    this.holdPromise = p;
  }

  /** Feed bytes from the client; returns the bytes to send right away. */
  receive(bytes: Buffer): Buffer {
    const out: Buffer[] = [];
    for (const ev of this.decoder.push(bytes)) this.onInput(ev, out);
    return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out);
  }

  /** The client went away: remove every breakpoint (restoring memory) and detach. */
  disconnect(): SessionEnd | undefined {
    if (this.ended) return undefined;
    return this.end('disconnect');
  }

  private onInput(ev: InputEvent, out: Buffer[]): void {
    switch (ev.type) {
      case 'ack':
        this.unacked = undefined;
        return;
      case 'nack':
        // Only a reply still unacknowledged is sent again: a stray `-` after a `+` must not
        // put the client one reply behind (gdb docs "Packet Acknowledgment").
        if (this.unacked && !this.ctx.noAck) out.push(this.unacked);
        return;
      case 'interrupt':
        if (this.running) this.control.interrupt();
        return;
      case 'invalid':
        this.log(`invalid packet: ${ev.detail}`);
        if (ev.reason === 'too-long') {
          if (!this.ctx.noAck) out.push(Buffer.from([ACK]));
          this.send(errorReply(EMSGSIZE), out);
        } else if (!this.ctx.noAck) {
          out.push(Buffer.from([NACK]));
        } else {
          // No retransmission without acks: answer so the client does not wait forever.
          this.send(errorReply(Errno.EINVAL), out);
        }
        return;
      case 'packet':
        if (!this.ctx.noAck) out.push(Buffer.from([ACK]));
        if (this.ended) return;
        if (this.running || this.held) {
          this.queued.push(ev.payload);
          return;
        }
        this.dispatch(ev.payload, out);
        return;
    }
  }

  private send(reply: Reply, out: Buffer[]): void {
    if (reply.kind !== 'reply' && reply.kind !== 'frame') return;
    const framed = reply.kind === 'frame' ? reply.frame : encodePacket(reply.data);
    this.unacked = framed;
    out.push(framed);
  }

  private dispatch(payload: Buffer, out: Buffer[]): void {
    const name = commandName(payload);
    const cmd = COMMANDS.get(name);
    if (!cmd) {
      this.send({ kind: 'reply', data: '' }, out);
      return;
    }
    let reply: Reply;
    try {
      reply = cmd.handle(payload.subarray(name.length), this.ctx);
    } catch (e) {
      // A parser bug or an unexpected target error must not end the session.
      this.log(`${name}: ${e instanceof Error ? e.message : String(e)}`);
      reply = errorReply(errnoFor(e));
    }
    switch (reply.kind) {
      case 'reply':
      case 'frame':
        this.send(reply, out);
        return;
      case 'resume':
        this.startResume(reply.actions);
        return;
      case 'detach': {
        this.end('detach');
        this.send({ kind: 'reply', data: 'OK' }, out);
        return;
      }
      case 'kill':
        this.end('kill');
        return;
    }
  }

  private end(reason: SessionEnd['reason']): SessionEnd {
    this.ended = true;
    const report = this.table.removeAll();
    for (const c of report.conflicts) this.log(`breakpoint #${c.entry.id} at 0x${c.entry.addr.toString(16)}: ${c.message}`);
    try {
      const done =
        reason === 'kill' ? this.control.kill(GDB_KILL, EXIT_GDB_KILL) : reason !== 'exited' ? this.control.detach() : undefined;
      if (done instanceof Promise) done.catch((e: unknown) => this.log(`${reason}: ${messageOf(e)}`));
    } catch (e) {
      this.log(`${reason}: ${messageOf(e)}`);
    }
    const info: SessionEnd = { reason, report };
    this.emit('end', info);
    return info;
  }

  private startResume(actions: ResumeAction[]): void {
    const p = this.control
      .resume(actions)
      .then(
        (ev) => this.onStop(ev),
        (e: unknown) => {
          this.log(`resume: ${e instanceof Error ? e.message : String(e)}`);
          const out: Buffer[] = [];
          this.send(errorReply(errnoFor(e)), out);
          return out;
        },
      )
      .then((out) => {
        this.runningPromise = undefined;
        this.drainQueued(out);
        if (out.length > 0) this.emit('output', Buffer.concat(out));
      });
    this.runningPromise = p;
  }

  /** Answer packets that arrived while the guest ran (or while held), in order, until one resumes it. */
  private drainQueued(out: Buffer[]): void {
    while (!this.running && !this.held && this.queued.length > 0 && !this.ended) {
      const next = this.queued.shift() as Buffer;
      this.dispatch(next, out);
    }
  }

  /** Once, at the first stop where the kernel's slide is known and not 0: tell gdb's user. */
  private announceSlide(): void {
    if (this.slideAnnounced || !this.ctx.kernelSlide) return;
    const slide = this.ctx.kernelSlide();
    if (slide === undefined) return;
    this.slideAnnounced = true;
    if (slide !== 0n) this.ctx.unannounced.push(slideAdvice(slide));
  }

  private onStop(ev: StopEvent): Buffer[] {
    const out: Buffer[] = [];
    this.ctx.lastStop = ev;
    this.ctx.generalVcpu = ev.vcpu;
    this.emit('stop', ev);
    if (this.ended) return out; // the client is gone: nobody to tell
    // Console output before the stop reply (gdb docs "Stop Reply Packets", `O`): what the
    // breakpoint policy decided since the last stop, then what explains this stop.
    this.announceSlide();
    const notes = this.ctx.unannounced.splice(0).map((n) => `kvm-debug: ${n}\n`);
    const note = stopConsoleNote(ev);
    if (note !== undefined) notes.push(note);
    for (const n of notes) out.push(encodePacket(`O${Buffer.from(n, 'utf8').toString('hex')}`));
    this.send({ kind: 'reply', data: stopReplyFor(this.target, ev, this.ctx.listThreadsInStopReply) }, out);
    if (ev.reason.kind === 'exited') this.end('exited');
    return out;
  }
}
