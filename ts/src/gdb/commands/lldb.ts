/**
 * LLDB's extensions to the protocol (lldb docs "GDB Remote Protocol Extensions",
 * lldb/docs/resources/lldbgdbremote.md): qHostInfo, qProcessInfo, qWatchpointSupportInfo,
 * QThreadSuffixSupported, QListThreadsInStopReply. gdb never sends them.
 */

import { ok, type Command, type ServerContext } from './common';

/**
 * What lldb is told it debugs: an aarch64 machine with no OS of its own. `none` keeps lldb's
 * process plugins from treating the guest as a Linux user process (no auxv, no shared
 * libraries); a kernel's symbol file (`target create vmlinux`) still names its own triple.
 */
export const LLDB_TRIPLE = 'aarch64-unknown-none';

/**
 * Arm watchpoints are taken before the access completes (Arm ARM D2.10.5, "Watchpoint
 * exceptions": the exception is synchronous, ELR points at the instruction), and the stop is
 * reported with the pc there. lldb assumes `after` unless told, so without this it would not
 * step over the access before re-arming and would stop at the same store for ever.
 */
const WATCHPOINT_EXCEPTIONS = 'before';

/** `key:value;` pairs, as LLDB's replies are written. */
function pairs(fields: Record<string, string | number>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}:${v};`)
    .join('');
}

function hexText(s: string): string {
  return Buffer.from(s, 'latin1').toString('hex');
}

const hostInfo: Command = {
  name: 'qHostInfo',
  handle: () =>
    ok(
      pairs({
        triple: hexText(LLDB_TRIPLE),
        endian: 'little',
        ptrsize: 8,
        watchpoint_exceptions_received: WATCHPOINT_EXCEPTIONS,
      }),
    ),
};

/** One process: the guest, pid 1 (lldb needs some pid to call the connection a process). */
const processInfo: Command = {
  name: 'qProcessInfo',
  handle: () => ok(pairs({ pid: 1, triple: hexText(LLDB_TRIPLE), endian: 'little', ptrsize: 8 })),
};

const watchpointInfo: Command = {
  name: 'qWatchpointSupportInfo',
  handle: (_args, ctx) => ok(pairs({ num: ctx.target.capabilities().hwWatchpoints })),
};

/** Turns on a per-connection flag and answers OK. */
function flag(name: string, set: (ctx: ServerContext) => void): Command {
  return {
    name,
    handle: (_args, ctx) => {
      set(ctx);
      return ok();
    },
  };
}

/** The LLDB command family. */
export const lldbCommands: Command[] = [
  hostInfo,
  processInfo,
  watchpointInfo,
  flag('QThreadSuffixSupported', (ctx) => {
    ctx.threadSuffix = true;
  }),
  flag('QListThreadsInStopReply', (ctx) => {
    ctx.listThreadsInStopReply = true;
  }),
];
