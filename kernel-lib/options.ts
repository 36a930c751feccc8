/**
 * The options contract: every public function that takes an options object rejects a key it does
 * not know and a value it cannot use, with a typed error naming the argument and the key
 * (`options.int46: unknown value "int46"; valid: int64`, `options.force: expected one of …`), so
 * a typo never silently falls back to a default.
 *
 * `checkOptions(argument, options, spec)` is the one validator: `spec` maps every known key to a
 * check of its value (from `option.*`, or `option.any` where the callee checks the value itself,
 * e.g. against the data). Unknown keys go through `assertKnownKeys` (errors.ts), so both spellings
 * of the contract produce the same UnknownOptionError. A check runs only on keys that are present
 * and not undefined: defaults stay the callee's business.
 *
 * test/options-contract.test.ts walks the exported API and fails for any function that takes an
 * options object and accepts an unknown key.
 */
import { InvalidArgumentError, assertKnownKeys, assertOneOf } from "./errors";

/** Throws a typed error naming `argument` (e.g. "options.int64") unless `value` is acceptable. */
export type OptionCheck = (argument: string, value: unknown) => void;

/** Every known key of an options object and the check of its value. */
export type OptionSpec = Readonly<Record<string, OptionCheck>>;

/**
 * Validates an options object: `undefined` is accepted (all defaults); anything else must be a
 * plain object whose keys are all in `spec`, and every present value must pass its key's check.
 * Returns the options typed as the caller's interface.
 */
export function checkOptions<T extends object>(argument: string, options: T | undefined, spec: OptionSpec): T | undefined {
  if (options === undefined) return undefined;
  assertKnownKeys(argument, options, Object.keys(spec));
  for (const [key, check] of Object.entries(spec)) {
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined) check(`${argument}.${key}`, value);
  }
  return options;
}

function numberCheck(expected: string, ok: (v: number) => boolean): OptionCheck {
  return (argument, value) => {
    if (typeof value !== "number" || !ok(value)) throw new InvalidArgumentError(argument, expected, value);
  };
}

/** Value checks for `checkOptions` specs. */
export const option = {
  /** Any value: the callee checks it (against its data, or by passing it on to a checked call). */
  any: (() => undefined) as OptionCheck,
  boolean: ((argument, value) => {
    if (typeof value !== "boolean") throw new InvalidArgumentError(argument, "true or false", value);
  }) as OptionCheck,
  string: ((argument, value) => {
    if (typeof value !== "string") throw new InvalidArgumentError(argument, "a string", value);
  }) as OptionCheck,
  function: ((argument, value) => {
    if (typeof value !== "function") throw new InvalidArgumentError(argument, "a function", value);
  }) as OptionCheck,
  /** A plain object (not null, not an array). */
  object: ((argument, value) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new InvalidArgumentError(argument, "an object", value);
  }) as OptionCheck,
  array: ((argument, value) => {
    if (!Array.isArray(value)) throw new InvalidArgumentError(argument, "an array", value);
  }) as OptionCheck,
  /** One of a fixed set of strings (UnknownOptionError listing them). */
  oneOf(valid: readonly string[]): OptionCheck {
    return (argument, value) => {
      if (typeof value !== "string") throw new InvalidArgumentError(argument, `one of ${valid.join(", ")}`, value);
      assertOneOf(argument, value, valid);
    };
  },
  positiveInteger: numberCheck("a positive integer", (v) => Number.isInteger(v) && v > 0),
  nonNegativeInteger: numberCheck("a non-negative integer", (v) => Number.isInteger(v) && v >= 0),
  positiveNumber: numberCheck("a finite number > 0", (v) => Number.isFinite(v) && v > 0),
  nonNegativeNumber: numberCheck("a finite number ≥ 0", (v) => Number.isFinite(v) && v >= 0),
  finiteNumber: numberCheck("a finite number", (v) => Number.isFinite(v)),
  /** A number in [0, 1]. */
  fraction: numberCheck("a number in [0, 1]", (v) => v >= 0 && v <= 1),
  /** Either of two checks (e.g. a number or a string). */
  either(first: OptionCheck, second: OptionCheck, expected: string): OptionCheck {
    return (argument, value) => {
      try {
        first(argument, value);
      } catch {
        try {
          second(argument, value);
        } catch {
          throw new InvalidArgumentError(argument, expected, value);
        }
      }
    };
  },
};
