/**
 * Typed errors. Every error gradlab raises for bad input names the argument (or file) at fault
 * and what was expected, so a notebook user can fix the call without reading the source.
 * Catch `GradlabError` to catch them all; `code` is stable for programmatic checks.
 */

export type GradlabErrorCode =
  | "INVALID_ARGUMENT"
  | "SHAPE_MISMATCH"
  | "NON_FINITE"
  | "EMPTY_INPUT"
  | "UNKNOWN_OPTION"
  | "FILE_FORMAT"
  | "BACKEND_UNAVAILABLE"
  | "LOCKED";

/**
 * The base class of every gradlab error: a machine-readable `code` and a message naming the
 * argument or file at fault.
 */
export class GradlabError extends Error {
  readonly code: GradlabErrorCode;
  constructor(code: GradlabErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An argument has the wrong type or is out of its allowed range. */
export class InvalidArgumentError extends GradlabError {
  constructor(readonly argument: string, readonly expected: string, got?: unknown) {
    super("INVALID_ARGUMENT", `${argument}: expected ${expected}${got === undefined ? "" : `, got ${describe(got)}`}`);
  }
}

/** Tensor or array shapes that must agree do not. */
export class ShapeError extends GradlabError {
  constructor(readonly argument: string, readonly expected: string, got: readonly number[] | string) {
    super("SHAPE_MISMATCH", `${argument}: expected shape ${expected}, got ${typeof got === "string" ? got : `[${got.join(", ")}]`}`);
  }
}

/** NaN or ±Inf where only finite numbers make sense. */
export class NonFiniteError extends GradlabError {
  constructor(readonly argument: string, readonly index?: number) {
    super("NON_FINITE", `${argument}: contains NaN or Inf${index === undefined ? "" : ` (first at index ${index})`}`);
  }
}

/** An empty collection where at least one element is needed. */
export class EmptyInputError extends GradlabError {
  constructor(readonly argument: string, what = "at least one element") {
    super("EMPTY_INPUT", `${argument}: is empty; expected ${what}`);
  }
}

/** A name (option, preset, arm, metric, backend…) that is not one of the known ones. */
export class UnknownOptionError extends GradlabError {
  constructor(readonly argument: string, readonly value: string, readonly valid: readonly string[]) {
    super("UNKNOWN_OPTION", `${argument}: unknown value ${JSON.stringify(value)}; valid: ${valid.join(", ")}`);
  }
}

/** A file that is missing, truncated or not in the format it claims. */
export class FileFormatError extends GradlabError {
  constructor(readonly file: string, readonly problem: string) {
    super("FILE_FORMAT", `${file}: ${problem}`);
  }
}

/** A requested compute backend cannot be loaded here. */
export class BackendUnavailableError extends GradlabError {
  constructor(readonly backend: string, reason: string) {
    super("BACKEND_UNAVAILABLE", `backend ${backend} is unavailable: ${reason}`);
  }
}

/** Who holds a lock file (see experiments/lock.ts); null when the lock file is unreadable. */
export interface LockHolderInfo { pid: number; host: string; startedAt: string; command: string }

/**
 * A file (run store, cache stage, merge output) is locked by another writer. The message names
 * the holder — pid, host, since when, command — and how to break the lock if the holder is gone.
 */
export class StoreLockedError extends GradlabError {
  constructor(readonly target: string, readonly lockFile: string, readonly holder: LockHolderInfo | null, detail: string) {
    super("LOCKED", `${target}: locked by ${holder === null ? "an unknown process (unreadable lock file)" : `pid ${holder.pid} on host ${holder.host} since ${holder.startedAt} (${holder.command})`}; ${detail}`);
  }
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? value.slice(0, 57) + "..." : value);
  if (Array.isArray(value)) return `array of length ${value.length}`;
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return String(value);
}

/** Throws NonFiniteError naming `argument` if any value is NaN or ±Inf. */
export function assertFinite(argument: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new NonFiniteError(argument, i);
  }
}

/** Checks `value` is one of `valid` and narrows its type. */
export function assertOneOf<T extends string>(argument: string, value: string, valid: readonly T[]): asserts value is T {
  if (!(valid as readonly string[]).includes(value)) throw new UnknownOptionError(argument, value, valid);
}

/**
 * Rejects option keys the callee does not know, so a typo never silently falls back to a default;
 * options that are not an object at all (null, a number, an array) are an InvalidArgumentError.
 * options.ts builds `checkOptions` (keys and values) on this.
 */
export function assertKnownKeys(argument: string, options: object | undefined, known: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== "object" || Array.isArray(options)) throw new InvalidArgumentError(argument, "an options object", options);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new UnknownOptionError(`${argument}.${key}`, key, known);
  }
}
