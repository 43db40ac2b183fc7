/**
 * Execution: c/s/C/S and vCont (c, C, s, S, t), vCont?.
 *
 * All-stop: a resume runs until the first stop, then every vCPU is stopped.
 * Signals given with C/S/vCont;C/S cannot be delivered into a VM and are dropped.
 * An optional resume address is validated and written to PC before resuming.
 */

import { REG_PC } from '../aarch64';
import { parseHexBig } from '../packet';
import type { ResumeAction } from '../../target';
import { Errno, errnoFor, errorReply, parseThread, type Command, type Reply, type ServerContext } from './common';

function withAddr(addrText: string | undefined, ctx: ServerContext, actions: ResumeAction[]): Reply {
  if (addrText !== undefined && addrText !== '') {
    const addr = parseHexBig(addrText);
    if (addr === undefined || addr >= 1n << 64n) return errorReply(Errno.EINVAL);
    const bytes = Buffer.alloc(8);
    bytes.writeBigUInt64LE(addr);
    const vcpu = ctx.continueVcpu === 'all' ? ctx.generalVcpu : ctx.continueVcpu;
    try {
      ctx.target.writeRegister(vcpu, REG_PC, bytes);
    } catch (e) {
      return errorReply(errnoFor(e));
    }
  }
  return { kind: 'resume', actions };
}

function stepVcpu(ctx: ServerContext): number {
  return ctx.continueVcpu === 'all' ? (ctx.lastStop?.vcpu ?? ctx.generalVcpu) : ctx.continueVcpu;
}

const cont: Command = {
  name: 'c',
  handle: (args, ctx) => withAddr(args.toString('latin1'), ctx, [{ vcpu: 'all', step: false }]),
};

const step: Command = {
  name: 's',
  handle: (args, ctx) => withAddr(args.toString('latin1'), ctx, [{ vcpu: stepVcpu(ctx), step: true }]),
};

function withSignal(args: Buffer, ctx: ServerContext, actions: ResumeAction[]): Reply {
  const [sig, addr] = args.toString('latin1').split(';');
  if (!sig || !/^[0-9a-fA-F]{2}$/.test(sig)) return errorReply(Errno.EINVAL);
  return withAddr(addr, ctx, actions);
}

const contSig: Command = {
  name: 'C',
  handle: (args, ctx) => withSignal(args, ctx, [{ vcpu: 'all', step: false }]),
};

const stepSig: Command = {
  name: 'S',
  handle: (args, ctx) => withSignal(args, ctx, [{ vcpu: stepVcpu(ctx), step: true }]),
};

/** Parse `;action[:thread]...` of vCont; undefined when malformed. */
export function parseVCont(text: string, vcpuCount: number): ResumeAction[] | undefined {
  if (!text.startsWith(';')) return undefined;
  const actions: ResumeAction[] = [];
  for (const part of text.slice(1).split(';')) {
    const [act, tid, extra] = part.split(':');
    if (!act || extra !== undefined) return undefined;
    const op = act[0];
    if (op === 'C' || op === 'S') {
      if (!/^[CS][0-9a-fA-F]{2}$/.test(act)) return undefined;
    } else if (act.length !== 1 || (op !== 'c' && op !== 's' && op !== 't')) {
      return undefined;
    }
    let vcpu: number | 'all' = 'all';
    if (tid !== undefined) {
      const sel = parseThread(tid, vcpuCount);
      if (sel === undefined || sel === 'any') return undefined;
      vcpu = sel === 'all' ? 'all' : sel.vcpu;
    }
    // 't' (stop) keeps that thread stopped: in all-stop, not resuming it is enough.
    if (op === 't') continue;
    actions.push({ vcpu, step: op === 's' || op === 'S' });
  }
  return actions;
}

const vCont: Command = {
  name: 'vCont',
  handle: (args, ctx) => {
    const actions = parseVCont(args.toString('latin1'), ctx.target.vcpuCount());
    if (!actions) return errorReply(Errno.EINVAL);
    if (actions.length === 0) return errorReply(Errno.EINVAL);
    return { kind: 'resume', actions };
  },
};

const vContQuery: Command = {
  name: 'vCont?',
  features: ['vContSupported+'],
  handle: () => ({ kind: 'reply', data: 'vCont;c;C;s;S;t' }),
};

/** The resume command family. */
export const resumeCommands: Command[] = [cont, step, contSig, stepSig, vCont, vContQuery];
