/**
 * Threads, one per vCPU (thread id = vCPU index + 1): H, T, qfThreadInfo,
 * qsThreadInfo, qC, qAttached, qThreadExtraInfo.
 */

import { Errno, errorReply, ok, parseThread, threadId, type Command } from './common';

const setThread: Command = {
  name: 'H',
  handle: (args, ctx) => {
    const text = args.toString('latin1');
    const op = text[0];
    const sel = parseThread(text.slice(1), ctx.target.vcpuCount());
    if ((op !== 'g' && op !== 'c') || sel === undefined) return errorReply(Errno.EINVAL);
    if (op === 'g') {
      // g/m need one vCPU: 'any' and 'all' mean the current one.
      if (typeof sel === 'object') ctx.generalVcpu = sel.vcpu;
    } else {
      ctx.continueVcpu = typeof sel === 'object' ? sel.vcpu : 'all';
    }
    return ok();
  },
};

const alive: Command = {
  name: 'T',
  handle: (args, ctx) => {
    const sel = parseThread(args.toString('latin1'), ctx.target.vcpuCount());
    return typeof sel === 'object' ? ok() : errorReply(Errno.ENOENT);
  },
};

const firstInfo: Command = {
  name: 'qfThreadInfo',
  handle: (_args, ctx) => {
    const ids: string[] = [];
    for (let v = 0; v < ctx.target.vcpuCount(); v++) ids.push(threadId(v));
    return ok(`m${ids.join(',')}`);
  },
};

const nextInfo: Command = { name: 'qsThreadInfo', handle: () => ok('l') };

const current: Command = {
  name: 'qC',
  handle: (_args, ctx) => ok(`QC${threadId(ctx.lastStop?.vcpu ?? ctx.generalVcpu)}`),
};

/** Attached to an existing guest: on quit gdb detaches instead of killing it. */
const attached: Command = { name: 'qAttached', handle: () => ok('1') };

const extraInfo: Command = {
  name: 'qThreadExtraInfo',
  handle: (args, ctx) => {
    const sel = parseThread(args.toString('latin1').replace(/^,/, ''), ctx.target.vcpuCount());
    if (typeof sel !== 'object') return errorReply(Errno.ENOENT);
    return ok(Buffer.from(`vCPU ${sel.vcpu}`, 'latin1').toString('hex'));
  },
};

/** The thread command family. */
export const threadCommands: Command[] = [setThread, alive, firstInfo, nextInfo, current, attached, extraInfo];
