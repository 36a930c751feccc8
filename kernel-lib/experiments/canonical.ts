/**
 * Canonical JSON and the config hash that identifies a run in the run store.
 *
 * A run is identified by WHAT was run — {study, config, seed} — never by when or where, so the
 * same grid point always maps to the same hash and a resumed sweep can tell finished work from
 * new work. The hash is sha256 over canonical JSON: object keys sorted (recursively), no
 * whitespace, numbers as JSON.stringify writes them. `{a: 1, b: 2}` and `{b: 2, a: 1}` hash the
 * same; any change of a value, a key or the seed changes the hash.
 *
 * Values must be plain JSON: NaN/±Inf (JSON would write null), `undefined` (JSON would drop the
 * key), functions, class instances (Date, Map, typed arrays) are rejected with a typed error
 * naming the path, because silently normalising them would let two different configs collide.
 */
import { createHash } from "node:crypto";
import { InvalidArgumentError, NonFiniteError } from "../errors";

/** A JSON value (what configs and metrics may hold; hashed canonically by `configHash`). */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };
/** A JSON object (the shape of configs and metrics). */
export type JsonObject = { readonly [key: string]: JsonValue };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Canonical JSON text of `value`; `argument` names the value in errors (e.g. "config"). */
export function canonicalJson(value: unknown, argument = "value"): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean": return value ? "true" : "false";
    case "string": return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new NonFiniteError(argument);
      return JSON.stringify(value); // -0 becomes "0", as JSON would store it
  }
  if (Array.isArray(value)) return `[${value.map((v, i) => canonicalJson(v, `${argument}[${i}]`)).join(",")}]`;
  if (isPlainObject(value)) {
    const keys = Object.keys(value).sort();
    const parts = keys.map((key) => {
      const v = value[key];
      if (v === undefined) throw new InvalidArgumentError(`${argument}.${key}`, "a JSON value (undefined would be dropped)", "undefined");
      return `${JSON.stringify(key)}:${canonicalJson(v, `${argument}.${key}`)}`;
    });
    return `{${parts.join(",")}}`;
  }
  const got = typeof value === "object" ? ((value as object).constructor?.name ?? "object") : typeof value;
  throw new InvalidArgumentError(argument, "a plain JSON value (null, boolean, finite number, string, array, plain object)", got);
}

/** Checks `value` is plain JSON (same rules as canonicalJson) and narrows its type. */
export function assertJsonValue(argument: string, value: unknown): asserts value is JsonValue {
  canonicalJson(value, argument);
}

/** Checks `value` is a plain JSON object. */
export function assertJsonObject(argument: string, value: unknown): asserts value is JsonObject {
  if (!isPlainObject(value)) throw new InvalidArgumentError(argument, "a plain object", value);
  canonicalJson(value, argument);
}

/** sha256 (hex) of the canonical JSON of {study, config, seed}: the identity of a run. */
export function configHash(study: string, config: JsonObject, seed: number): string {
  if (typeof study !== "string" || study.length === 0) throw new InvalidArgumentError("study", "a non-empty string", study);
  if (!Number.isInteger(seed) || seed < 0) throw new InvalidArgumentError("seed", "a non-negative integer", seed);
  assertJsonObject("config", config);
  return createHash("sha256").update(canonicalJson({ study, config, seed }), "utf8").digest("hex");
}

/** A short human label of a value: strings as-is, everything else as canonical JSON. */
export function valueLabel(value: JsonValue): string {
  return typeof value === "string" ? value : canonicalJson(value);
}

/** Freezes a JSON value in place (recursively), so a study cannot mutate the config it was given. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
