/**
 * Where the GDB server listens unless told otherwise, and which hosts are loopback. A
 * module of its own so that `run` can print and parse addresses without loading the
 * server (it loads ts/src/gdb/tcp.ts only with --gdb/--gdb-unix: startup time counts).
 */

/** Loopback host names that need no `allowRemote`. */
export const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
/** Default TCP host. */
export const DEFAULT_HOST = '127.0.0.1';
