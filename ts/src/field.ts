/**
 * The field tree's shape, on its own so that the decoder web page (web/app.ts)
 * compiles it for the browser as it is: it imports nothing.
 */

/** One node of the core's field tree (crates/decode/src/field.rs `Field::to_json`). */
export interface Field {
  /** Architectural field name, e.g. `EC`, `ISS`, `WnR`. */
  name: string;
  /** Most significant bit, inclusive. */
  hi: number;
  /** Least significant bit, inclusive. */
  lo: number;
  /** The raw value, shifted down, as a `0x` hex string (64 bits do not fit a JSON number). */
  value: string;
  /** What the value means, or null. */
  meaning: string | null;
  /** Sub-fields, most significant first. */
  fields: Field[];
}
