/**
 * Stop replies (gdb docs "Stop Reply Packets"): `T05thread:<id>;swbreak:;`,
 * `hwbreak:;`, `watch:<addr>;`, `rwatch:`/`awatch:`, `T02` for an interrupt, and
 * `W<code>` for an exit.
 */

import type { StopEvent } from '../target';
import { GDB_SIGTRAP, threadId } from './commands/common';

function sig(n: number): string {
  return (n & 0xff).toString(16).padStart(2, '0');
}

/** The stop-reply payload for an event. */
export function stopReply(ev: StopEvent): string {
  const r = ev.reason;
  const thread = `thread:${threadId(ev.vcpu)};`;
  switch (r.kind) {
    case 'exited':
      return `W${sig(r.code)}`;
    case 'signal':
      return `T${sig(r.signal)}${thread}`;
    case 'swbreak':
      return `T${sig(GDB_SIGTRAP)}${thread}swbreak:;`;
    case 'hwbreak':
      return `T${sig(GDB_SIGTRAP)}${thread}hwbreak:;`;
    case 'watch': {
      const name = r.watch === 'write' ? 'watch' : r.watch === 'read' ? 'rwatch' : 'awatch';
      return `T${sig(GDB_SIGTRAP)}${thread}${name}:${r.addr.toString(16)};`;
    }
    case 'step':
    case 'reinjected':
      return `T${sig(GDB_SIGTRAP)}${thread}`;
  }
}

/** Console text for events gdb has no stop-reason field for (sent as an `O` packet first). */
export function stopConsoleNote(ev: StopEvent): string | undefined {
  const r = ev.reason;
  if (r.kind !== 'reinjected') return undefined;
  return `kvm-debug: guest exception re-injected on vCPU ${ev.vcpu}: ESR 0x${r.esr.toString(16)} -> vector 0x${r.vector.toString(16)}\n`;
}
