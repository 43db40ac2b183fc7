/**
 * The guest's console on the host's terminal for `kvm-debug run --kernel`: the
 * board's PL011 prints straight to stdout from Rust (no exit crosses into JS);
 * what the user types goes to its receive FIFO (vm.consoleInput).
 *
 * - stdin a terminal: raw mode, every key goes to the guest; Ctrl-A x quits (as
 *   QEMU's -serial stdio), Ctrl-A Ctrl-A sends one Ctrl-A.
 * - stdin not a terminal (a pipe, a file, CI): its text goes to the guest line by
 *   line, as it arrives.
 */

/** The escape character (Ctrl-A) and the keys after it. */
export const ESCAPE = 0x01;
/** Ctrl-A x: quit. */
const QUIT = 0x78;

/** Where typed bytes go and what quitting does. */
export interface ConsoleSink {
  /** Bytes for the guest's UART. */
  input(bytes: Buffer): void;
  /** The user typed the quit sequence. */
  quit(): void;
}

/**
 * The escape-sequence state machine of the interactive console: returns the bytes
 * to forward, and calls `quit` on Ctrl-A x. Pure apart from `quit`.
 */
export function escapeFilter(quit: () => void): (chunk: Buffer) => Buffer {
  let pendingEscape = false;
  return (chunk) => {
    const out: number[] = [];
    for (const b of chunk) {
      if (pendingEscape) {
        pendingEscape = false;
        if (b === QUIT) {
          quit();
          return Buffer.from(out);
        }
        if (b === ESCAPE) out.push(ESCAPE);
        continue;
      }
      if (b === ESCAPE) pendingEscape = true;
      else out.push(b);
    }
    return Buffer.from(out);
  };
}

/** Attach stdin to the guest console; returns the detach function (restores the terminal). */
export function attachConsole(stdin: NodeJS.ReadableStream, sink: ConsoleSink): () => void {
  const tty = stdin as NodeJS.ReadStream;
  const interactive = tty.isTTY === true && typeof tty.setRawMode === 'function';
  let onData: (d: Buffer | string) => void;
  if (interactive) {
    const filter = escapeFilter(() => sink.quit());
    tty.setRawMode(true);
    onData = (d) => {
      const bytes = filter(typeof d === 'string' ? Buffer.from(d) : d);
      if (bytes.length > 0) sink.input(bytes);
    };
  } else {
    let partial = '';
    onData = (d) => {
      partial += typeof d === 'string' ? d : d.toString('utf8');
      const nl = partial.lastIndexOf('\n');
      if (nl < 0) return;
      sink.input(Buffer.from(partial.slice(0, nl + 1)));
      partial = partial.slice(nl + 1);
    };
  }
  stdin.on('data', onData);
  stdin.resume();
  return () => {
    stdin.off('data', onData);
    stdin.pause();
    if (interactive) tty.setRawMode(false);
  };
}
