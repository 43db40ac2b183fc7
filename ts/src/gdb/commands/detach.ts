/** Detach: `D` (or `D;pid`). Removes every breakpoint, restoring memory; the guest runs on. */

import type { Command } from './common';

/** The detach command family. */
export const detachCommands: Command[] = [{ name: 'D', handle: () => ({ kind: 'detach' }) }];
