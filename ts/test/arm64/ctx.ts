/** The loaded addon, shared by the cases (set once by run.ts before any case runs). */
import type { Native } from './native';

let loaded: Native | undefined;

export function setNative(n: Native): void {
  loaded = n;
}

export function native(): Native {
  if (!loaded) throw new Error('the native addon is not loaded');
  return loaded;
}
