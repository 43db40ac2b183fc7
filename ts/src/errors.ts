/**
 * Errors of the host. Both backends throw a plain JS `Error` whose `.code` is
 * the Rust core's stable `Error::code()`; errors made on the TS side use the
 * same shape and the same wording, so callers only ever test `.code`.
 */
import { types } from 'util';

/** An `Error` with a stable machine-readable `.code`, and the address it is about. */
export interface CodedError extends Error {
  code: string;
  /** The offending address, when the error is about one. */
  addr?: bigint;
}

/**
 * Every code the host raises or tests for. Those the Rust core also raises
 * (docs/native-api.md) are spelled exactly as the addon spells them.
 */
export const ErrorCode = {
  /** A textual value is not a number, or needs more than 64 bits (core: ERR_BAD_VALUE). */
  BadValue: 'ERR_BAD_VALUE',
  /** A backend (native addon or wasm package) could not be loaded. */
  BackendUnavailable: 'ERR_BACKEND_UNAVAILABLE',
  /** A function argument has the wrong type or range (core: ERR_BAD_ARGUMENT). */
  BadArgument: 'ERR_BAD_ARGUMENT',
  /** No such vCPU (core: ERR_BAD_VCPU). */
  BadVcpu: 'ERR_BAD_VCPU',
  /** The operation needs the guest stopped (or running) and it is not. */
  BadState: 'ERR_BAD_STATE',
  /** A guest-physical range outside RAM (core). */
  OutsideRam: 'ERR_OUTSIDE_RAM',
  /** A stage-1 walk failed; the walker's own code is the error's `.fault` (core). */
  Translation: 'ERR_TRANSLATION',
  /** The guest rewrote our BRK; its bytes were left alone (core). */
  PatchConflict: 'ERR_PATCH_CONFLICT',
  /** The address already holds a breakpoint instruction (core). */
  AlreadyPatched: 'ERR_ALREADY_PATCHED',
  /** Every hardware breakpoint or watchpoint slot is in use, or there are none (core). */
  HwSlots: 'ERR_HW_SLOTS',
  /** Guest debugging is off for this VM (core), with the reason. */
  DebugOff: 'ERR_DEBUG_OFF',
  /** `--debug require` and debugging cannot be had. */
  DebugUnavailable: 'ERR_DEBUG_UNAVAILABLE',
  /** A software breakpoint on memory we cannot patch, and no hardware slot to fall back on. */
  NotWritable: 'ERR_NOT_WRITABLE',
  /** A watchpoint length the debug registers cannot cover. */
  BadLength: 'ERR_BAD_LENGTH',
  /** A code breakpoint not on an instruction boundary (core: ERR_MISALIGNED). */
  Misaligned: 'ERR_MISALIGNED',
} as const;

/** One of the {@link ErrorCode} values. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Makes an `Error` with `.code` (the one way errors are made in TS). With
 * `addr`, the message names it and `.addr` holds it.
 */
export function codedError(code: string, message: string, addr?: bigint): CodedError {
  const e = new Error(addr === undefined ? message : `${message} (address 0x${addr.toString(16)})`) as CodedError;
  e.code = code;
  if (addr !== undefined) e.addr = addr;
  return e;
}

/** The `.code` of anything thrown (a TS error or an addon error, of any realm), if it has one. */
export function errorCode(e: unknown): string | undefined {
  return isCodedError(e) ? e.code : undefined;
}

/**
 * True when `e` is an `Error` (of any realm: the addon's errors are not
 * `instanceof Error` inside jest's sandbox) carrying a string `.code`.
 */
export function isCodedError(e: unknown): e is CodedError {
  return isError(e) && typeof (e as Partial<CodedError>).code === 'string';
}

/** True when `e` is an `Error` of any realm. */
export function isError(e: unknown): e is Error {
  return types.isNativeError(e) || e instanceof Error;
}

/** The message of anything thrown. */
export function messageOf(e: unknown): string {
  return isError(e) ? e.message : String(e);
}

/**
 * ERR_BAD_VALUE with the core's wording (`bad value "<text>": <why>`,
 * crates/decode/src/error.rs `Error::BadValue`), naming the value.
 */
export function badValue(text: string, why: string): CodedError {
  return codedError(ErrorCode.BadValue, `bad value ${JSON.stringify(text)}: ${why}`);
}
