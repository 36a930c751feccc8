/**
 * Study grids: which runs a preset stands for, as a deterministic list of {config, seed}.
 *
 * A grid is `axes` (each a list of values; the configs are their cartesian product), `fixed`
 * settings shared by every config (model size, steps …; part of the config, hence of the hash,
 * so a quick run is never mistaken for a paper run), an optional `include` predicate to drop
 * combinations that make no sense, and `seeds`.
 *
 * Order: seeds outermost, then the axes in the order their keys were written (last key varies
 * fastest). Seeds outermost means that after the first pass every arm has one result, so a sweep
 * stopped half-way still gives a complete (if noisier) picture.
 *
 * `only` restricts the grid: {axis: value or [values]}. A string matches a value's label (strings
 * as themselves, anything else as canonical JSON, so "1" matches 1 — what a command line passes);
 * other values match by canonical equality; an array always means "any of", so an array-valued
 * axis value must be wrapped: {shape: [[2, 3]]}. Unknown axes or values are errors listing the
 * valid ones — a typo must never silently select nothing.
 */
import { EmptyInputError, InvalidArgumentError, UnknownOptionError, assertKnownKeys } from "../errors";
import { JsonObject, JsonValue, assertJsonObject, assertJsonValue, canonicalJson, valueLabel } from "./canonical";
import { RESERVED_COLUMNS } from "./run-store";

/** A study's grid for one preset: axes (cartesian product), fixed values and seeds. */
export interface StudyGrid {
  /** Axis name → its values; configs are the cartesian product. `{}` means one config. */
  axes: Readonly<Record<string, readonly JsonValue[]>>;
  /** Settings shared by every config of this preset. */
  fixed?: JsonObject;
  /** Drops combinations (called with the full config, fixed settings included). */
  include?: (config: JsonObject) => boolean;
  /** Seeds every config runs with (non-negative integers). */
  seeds: readonly number[];
}

/** Restricts a grid: axis name → the value (or values) to keep. */
export type OnlyFilter = Readonly<Record<string, JsonValue>>;

/** One point of an expanded grid: a config and a seed. */
export interface GridPoint {
  config: JsonObject;
  seed: number;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Checks a seed list: non-empty, non-negative integers, no repeats. */
export function validateSeeds(argument: string, seeds: unknown): readonly number[] {
  if (!Array.isArray(seeds)) throw new InvalidArgumentError(argument, "an array of non-negative integers", seeds);
  if (seeds.length === 0) throw new EmptyInputError(argument, "at least one seed");
  const seen = new Set<number>();
  seeds.forEach((s, i) => {
    if (!Number.isInteger(s) || s < 0) throw new InvalidArgumentError(`${argument}[${i}]`, "a non-negative integer", s);
    if (seen.has(s)) throw new InvalidArgumentError(`${argument}[${i}]`, "a seed not listed before", s);
    seen.add(s);
  });
  return seeds as number[];
}

/** Validates a grid's structure (names, values, no duplicate values, no key collisions). */
export function validateGrid(argument: string, grid: StudyGrid): void {
  if (grid === null || typeof grid !== "object") throw new InvalidArgumentError(argument, "a grid {axes, fixed?, include?, seeds}", grid);
  assertKnownKeys(argument, grid, ["axes", "fixed", "include", "seeds"]);
  if (grid.axes === null || typeof grid.axes !== "object" || Array.isArray(grid.axes)) throw new InvalidArgumentError(`${argument}.axes`, "an object of axis name → values", grid.axes);
  const fixed = grid.fixed ?? {};
  assertJsonObject(`${argument}.fixed`, fixed);
  if (grid.include !== undefined && typeof grid.include !== "function") throw new InvalidArgumentError(`${argument}.include`, "a function (config) => boolean", grid.include);
  validateSeeds(`${argument}.seeds`, grid.seeds);
  const names = [...Object.keys(grid.axes), ...Object.keys(fixed)];
  for (const name of names) {
    if (!NAME.test(name)) throw new InvalidArgumentError(`${argument}: config key ${JSON.stringify(name)}`, "an identifier (letters, digits, _)", name);
    if ((RESERVED_COLUMNS as readonly string[]).includes(name)) throw new InvalidArgumentError(`${argument}: config key ${JSON.stringify(name)}`, `a name not among the run store's columns (${RESERVED_COLUMNS.join(", ")})`, name);
  }
  for (const [axis, values] of Object.entries(grid.axes)) {
    const where = `${argument}.axes.${axis}`;
    if (!Array.isArray(values)) throw new InvalidArgumentError(where, "an array of values", values);
    if (values.length === 0) throw new EmptyInputError(where, "at least one value");
    if (axis in fixed) throw new InvalidArgumentError(where, "an axis not also set in fixed", axis);
    const seen = new Set<string>();
    values.forEach((v, i) => {
      assertJsonValue(`${where}[${i}]`, v);
      const key = canonicalJson(v);
      if (seen.has(key)) throw new InvalidArgumentError(`${where}[${i}]`, "a value not listed before", v);
      seen.add(key);
    });
  }
}

function filterValueMatches(filter: JsonValue, value: JsonValue): boolean {
  return typeof filter === "string" ? valueLabel(value) === filter : canonicalJson(filter) === canonicalJson(value);
}

/** Validates `only` against the grid's axes and returns, per axis, the allowed values. */
function resolveOnly(grid: StudyGrid, only: OnlyFilter | undefined): Map<string, JsonValue[]> {
  const allowed = new Map<string, JsonValue[]>();
  if (only === undefined) return allowed;
  if (only === null || typeof only !== "object" || Array.isArray(only)) throw new InvalidArgumentError("only", "an object {axis: value or [values]}", only);
  const axes = Object.keys(grid.axes);
  for (const [axis, wanted] of Object.entries(only)) {
    if (!axes.includes(axis)) throw new UnknownOptionError("only", axis, axes.length > 0 ? axes : ["(this grid has no axes)"]);
    const values = grid.axes[axis];
    const list = Array.isArray(wanted) ? (wanted as JsonValue[]) : [wanted as JsonValue];
    if (list.length === 0) throw new EmptyInputError(`only.${axis}`, "at least one value");
    for (const w of list) {
      assertJsonValue(`only.${axis}`, w);
      if (!values.some((v) => filterValueMatches(w, v))) throw new UnknownOptionError(`only.${axis}`, valueLabel(w), values.map(valueLabel));
    }
    allowed.set(axis, values.filter((v) => list.some((w) => filterValueMatches(w, v))));
  }
  return allowed;
}

/** The grid's runs in deterministic order (see the module header). */
export function expandGrid(grid: StudyGrid, options: { seeds?: readonly number[]; only?: OnlyFilter } = {}): GridPoint[] {
  assertKnownKeys("options", options, ["seeds", "only"]);
  const seeds = options.seeds !== undefined ? validateSeeds("seeds", options.seeds) : grid.seeds;
  const allowed = resolveOnly(grid, options.only);
  const axes = Object.entries(grid.axes).map(([name, values]) => [name, allowed.get(name) ?? values] as const);
  let configs: Record<string, JsonValue>[] = [{ ...(grid.fixed ?? {}) }];
  for (const [name, values] of axes) {
    const next: Record<string, JsonValue>[] = [];
    for (const partial of configs) for (const v of values) next.push({ ...partial, [name]: v });
    configs = next;
  }
  if (grid.include !== undefined) configs = configs.filter((c) => grid.include!(c));
  const points: GridPoint[] = [];
  for (const seed of seeds) for (const config of configs) points.push({ config, seed });
  return points;
}

/** Parses command-line `key=value` filters (repeat a key for "any of"). */
export function parseOnlyArguments(items: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new InvalidArgumentError("--only", "key=value", item);
    const key = item.slice(0, eq), value = item.slice(eq + 1);
    (out[key] ??= []).push(value);
  }
  return out;
}
