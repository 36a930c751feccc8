/**
 * The layout of a gradient given as named groups (e.g. the LoRA A and B matrices of each layer):
 * group k occupies offsets [Σ_{j<k} size_j, Σ_{j≤k} size_j) of the virtual concatenation, in the
 * order the groups were declared, whatever the key order of the objects passed later. Used by
 * `RandomProjector.projectGroups` to read a block's columns straight from the groups.
 */
import { tf } from "../tf";
import { EmptyInputError, InvalidArgumentError, ShapeError, UnknownOptionError, assertFinite } from "../errors";
import { assertPositiveInteger, checkTensorRows, isTensor } from "./inputs";

/** A named slice of the flattened gradient, e.g. `{ name: "layer0.q.loraA", size: 4 * 64 }`. */
export interface GradientGroupSpec { name: string; size: number }
/** A named gradient group with its offset in the concatenated gradient. */
export interface GradientGroup extends GradientGroupSpec { offset: number }

/** One example's gradient as named groups (Float32Array per group). */
export type GroupedExample = Readonly<Record<string, Float32Array>>;
/** A batch's gradient as one tensor per group, each [n, ...] (flattened row-major per example). */
export type GroupedTensors = Readonly<Record<string, tf.Tensor>>;

/** Validates the declared groups and assigns offsets in declaration order. */
export function layoutGroups(groups: readonly GradientGroupSpec[]): GradientGroup[] {
  if (!Array.isArray(groups)) throw new InvalidArgumentError("groups", "an array of { name, size }", groups);
  if (groups.length === 0) throw new EmptyInputError("groups", "at least one gradient group");
  const seen = new Set<string>();
  let offset = 0;
  return groups.map((g, i) => {
    if (typeof g?.name !== "string" || g.name === "") throw new InvalidArgumentError(`groups[${i}].name`, "a non-empty string", g?.name);
    if (seen.has(g.name)) throw new InvalidArgumentError(`groups[${i}].name`, "a name not used by an earlier group", g.name);
    seen.add(g.name);
    assertPositiveInteger(`groups[${i}].size`, g.size);
    const out = { name: g.name, size: g.size, offset };
    offset += g.size;
    return out;
  });
}

/** The groups that intersect columns [c0, c1). */
export function overlapping(groups: readonly GradientGroup[], c0: number, c1: number): GradientGroup[] {
  return groups.filter((g) => g.offset < c1 && g.offset + g.size > c0);
}

export function checkGroupedExamples(examples: readonly GroupedExample[], groups: readonly GradientGroup[]): void {
  if (examples.length === 0) throw new EmptyInputError("batch", "at least one example");
  const names = groups.map((g) => g.name);
  examples.forEach((example, i) => {
    if (typeof example !== "object" || example === null) throw new InvalidArgumentError(`batch[${i}]`, "a record of Float32Array groups", example);
    for (const key of Object.keys(example)) {
      if (!names.includes(key)) throw new UnknownOptionError(`batch[${i}]`, key, names);
    }
    for (const g of groups) {
      const values = example[g.name];
      if (values === undefined) throw new InvalidArgumentError(`batch[${i}].${g.name}`, "a Float32Array (group missing)");
      if (!(values instanceof Float32Array)) throw new InvalidArgumentError(`batch[${i}].${g.name}`, "a Float32Array", values);
      if (values.length !== g.size) throw new ShapeError(`batch[${i}].${g.name}`, `[${g.size}]`, [values.length]);
      assertFinite(`batch[${i}].${g.name}`, values);
    }
  });
}

/** Validates one [n, ...] tensor per declared group; returns n. */
export function checkGroupedTensors(tensors: GroupedTensors, groups: readonly GradientGroup[]): number {
  if (typeof tensors !== "object" || tensors === null) throw new InvalidArgumentError("batch", "an array of grouped examples or a record of tensors", tensors);
  const names = groups.map((g) => g.name);
  for (const key of Object.keys(tensors)) {
    if (!names.includes(key)) throw new UnknownOptionError("batch", key, names);
  }
  let n = -1;
  for (const g of groups) {
    const t = tensors[g.name];
    if (!isTensor(t)) throw new InvalidArgumentError(`batch.${g.name}`, "a tensor [n, ...] (group missing)", t);
    if (t.rank < 1 || (n >= 0 && t.shape[0] !== n) || t.size !== t.shape[0] * g.size) {
      throw new ShapeError(`batch.${g.name}`, `[${n >= 0 ? n : "n"}, ...] with ${g.size} values per example`, t.shape);
    }
    n = t.shape[0];
    const flat = tf.reshape(t, [n, g.size]);
    try {
      checkTensorRows(`batch.${g.name}`, flat, g.size);
    } finally {
      flat.dispose();
    }
  }
  return n;
}
