/**
 * Monitor commands: `qRcmd,<hex command>`; the reply is the hex-encoded output.
 *
 *   monitor caps             capability summary, and why debugging is off if it is
 *   monitor esr [value]      decode the last syndrome, or the value given
 *   monitor breakpoints      the BreakpointTable, with policy notes
 *   monitor kaslr            the kernel's KASLR slide, and how to load symbols at it
 *   monitor help
 */

import { decodeText, parseValue, summary } from '../../decode';
import { slideAdvice } from '../../kaslr';
import { fromHex } from '../packet';
import { Errno, errorReply, ok, type Command, type EsrDecoder, type ServerContext } from './common';

/** The decode API of ts/src/decode.ts (native or wasm backend, loaded on first use). */
export const defaultEsrDecoder: EsrDecoder = { summary: (v) => summary(v), decodeText: (v) => decodeText(v) };

function hex(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}

function caps(ctx: ServerContext): string {
  const c = ctx.target.capabilities();
  const lines = [
    `KVM available:          ${c.available ? 'yes' : 'no'}`,
    `KVM_CAP_SET_GUEST_DEBUG: ${c.setGuestDebug ? 'yes' : 'no'}`,
    `guest-debug control mask: ${hex(c.guestDebugControlMask ?? 0)}`,
    `hardware breakpoints:   ${c.hwBreakpoints}`,
    `hardware watchpoints:   ${c.hwWatchpoints}`,
    `debugging:              ${c.debugEnabled === false ? 'off' : 'on'}`,
  ];
  if (c.reason !== undefined) lines.push(`reason:                 ${c.reason}`);
  return lines.join('\n') + '\n';
}

function esr(arg: string, ctx: ServerContext): string {
  let value: bigint | undefined;
  if (arg === '') {
    value = ctx.target.lastSyndrome();
    if (value === undefined) return 'no syndrome yet: the guest has not stopped on a debug exception\n';
  } else {
    try {
      value = parseValue(arg);
    } catch (e) {
      return `${e instanceof Error ? e.message : String(e)}\n`;
    }
  }
  if (!ctx.decoder) return `ESR ${hex(value)} (no decoder available)\n`;
  try {
    return `ESR ${hex(value)}: ${ctx.decoder.summary(value)}\n${ctx.decoder.decodeText(value).replace(/\n?$/, '\n')}`;
  } catch (e) {
    return `ESR ${hex(value)}: cannot decode: ${e instanceof Error ? e.message : String(e)}\n`;
  }
}

function breakpoints(ctx: ServerContext): string {
  const rows = ctx.table.list().map((e) => {
    const pa = e.pa === undefined ? '-' : hex(e.pa);
    const kind = e.installed === e.requested ? e.requested : `${e.requested} (as ${e.installed})`;
    const shot = e.oneShotRefs > 0 ? ` one-shot ${e.oneShotRefs}` : '';
    return `#${e.id} ${kind} va ${hex(e.addr)} pa ${pa} len ${e.length} refs ${e.refs}${shot} hits ${e.hits}`;
  });
  const out = rows.length > 0 ? rows : ['no breakpoints'];
  for (const n of ctx.notes.slice(-8)) out.push(`note: ${n}`);
  return out.join('\n') + '\n';
}

function kaslr(ctx: ServerContext): string {
  if (!ctx.kernelSlide) return 'not a kernel guest: no KASLR slide\n';
  const slide = ctx.kernelSlide();
  if (slide === undefined) return 'KASLR slide not known yet: the kernel has not relocated itself (it does before start_kernel)\n';
  return `${slideAdvice(slide)}\n`;
}

const HELP = 'monitor commands: caps | esr [value] | breakpoints | kaslr | help\n';

/** Run a monitor command line; the text to print. */
export function runMonitor(line: string, ctx: ServerContext): string {
  const [cmd = '', ...rest] = line.trim().split(/\s+/);
  const arg = rest.join(' ');
  switch (cmd) {
    case 'caps':
      return caps(ctx);
    case 'esr':
      return esr(arg, ctx);
    case 'breakpoints':
      return breakpoints(ctx);
    case 'kaslr':
      return kaslr(ctx);
    case 'help':
    case '':
      return HELP;
    default:
      return `unknown monitor command ${JSON.stringify(cmd)}; ${HELP}`;
  }
}

const rcmd: Command = {
  name: 'qRcmd',
  handle: (args, ctx) => {
    const text = args.toString('latin1');
    const bytes = text.startsWith(',') ? fromHex(text.slice(1)) : undefined;
    if (!bytes) return errorReply(Errno.EINVAL);
    return ok(Buffer.from(runMonitor(bytes.toString('utf8'), ctx), 'utf8').toString('hex'));
  },
};

/** The monitor command family. */
export const monitorCommands: Command[] = [rcmd];
