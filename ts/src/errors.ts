/**
 * Errors of the host. Both backends throw a plain JS `Error` whose `.code` is
 * the Rust core's stable `Error::code()`; errors made on the TS side use the
 * same shape and the same wording, so callers only ever test `.code`.
 */
import { types } from 'util';

/** An `Error` with a stable machine-readable `.code`. */
export interface CodedError extends Error {
  code: string;
}

/** Codes the host itself raises (the core's own codes come from Rust). */
export const ErrorCode = {
  /** A textual value is not a number, or needs more than 64 bits (core: ERR_BAD_VALUE). */
  BadValue: 'ERR_BAD_VALUE',
  /** A backend (native addon or wasm package) could not be loaded. */
  BackendUnavailable: 'ERR_BACKEND_UNAVAILABLE',
  /** A function argument has the wrong type or range. */
  BadArgument: 'ERR_BAD_ARGUMENT',
} as const;

/** Makes an `Error` with `.code`. */
export function codedError(code: string, message: string): CodedError {
  const e = new Error(message) as CodedError;
  e.code = code;
  return e;
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
