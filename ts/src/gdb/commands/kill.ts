/** Kill: `k`. Removes every breakpoint and asks the target to kill the guest; no reply. */

import type { Command } from './common';

/** The kill command family. */
export const killCommands: Command[] = [{ name: 'k', handle: () => ({ kind: 'kill' }) }];
