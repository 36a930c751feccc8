/**
 * Parameter-group selection and aggregation for per-example gradients.
 *
 * Selection tokens (options.groups): an exact matrix name ("layer1.gate"), a module type ("q"),
 * a layer ("layer1"), "trainable" (the default: what an optimizer would update — the 7·L base
 * matrices of a plain transformer, only the A/B adapters while LoRA is attached) or "all".
 * The result keeps the model's order, whatever the order of the tokens.
 *
 * Aggregation: a layer's (or module type's) norm is the Frobenius norm of the concatenation of its
 * matrices' gradients, √(Σ‖G‖²) — the only aggregation that stays a norm of a gradient.
 */
import { EmptyInputError, InvalidArgumentError, UnknownOptionError } from "../errors";
import type { ParameterGroup } from "../models/dense-sites";

/** A selected matrix, as reported next to its norms. */
export interface MatrixInfo {
  name: string;
  layer: number;
  module: string;
  part: ParameterGroup["part"];
  shape: [number, number];
  numel: number;
  /** Present only for a variable stored [in, out] (a Keras Dense kernel); see ParameterGroup.layout. */
  layout?: "in-out";
}

/**
 * The parameter groups `selection` names: matrix names, module types, "layer{i}", "trainable"
 * (default) or "all". Throws on a name that matches nothing.
 */
export function selectGroups(all: readonly ParameterGroup[], selection: readonly string[] = ["trainable"]): ParameterGroup[] {
  if (!Array.isArray(selection)) throw new InvalidArgumentError("options.groups", "an array of matrix names, module types, layer{i}, \"trainable\" or \"all\"", selection);
  if (selection.length === 0) throw new EmptyInputError("options.groups", "at least one matrix name, module type or layer");
  const chosen = new Set<string>();
  for (const token of selection) {
    const hits = all.filter((g) => matches(g, token));
    if (hits.length === 0) {
      const valid = ["trainable", "all", ...new Set(all.map((g) => g.module)), ...new Set(all.map((g) => `layer${g.layer}`)), all[0]?.name ?? ""];
      throw new UnknownOptionError("options.groups", String(token), valid.filter((v) => v !== ""));
    }
    hits.forEach((g) => chosen.add(g.name));
  }
  const selected = all.filter((g) => chosen.has(g.name));
  if (selected.length === 0) throw new EmptyInputError("options.groups", "at least one matrix (the model has no trainable matrices: pass names or \"all\")");
  return selected;
}

function matches(group: ParameterGroup, token: string): boolean {
  if (token === "all") return true;
  if (token === "trainable") return group.trainable;
  return group.name === token || group.module === token || token === `layer${group.layer}`;
}

/** The public description (name, layer, module, shape, numel) of each parameter group, in order. */
export function describeGroups(groups: readonly ParameterGroup[]): MatrixInfo[] {
  return groups.map((g) => {
    const info: MatrixInfo = { name: g.name, layer: g.layer, module: g.module, part: g.part, shape: [g.shape[0], g.shape[1]], numel: g.shape[0] * g.shape[1] };
    if (g.layout === "in-out") info.layout = "in-out";
    return info;
  });
}

/** Per-example norms aggregated by a key (layer or module) as √(Σ norm²). */
export interface AggregatedNorms<K> {
  /** The distinct keys in first-seen order. */
  keys: K[];
  /** [example][key]: √(Σ over the key's matrices of norm²). */
  norms: number[][];
}

/** Combines per-matrix norms [B][N] into per-key norms, key = keyOf(matrix index). */
export function aggregateNorms<K>(norms: readonly (readonly number[])[], keys: readonly K[]): AggregatedNorms<K> {
  const distinct = [...new Set(keys)];
  const slot = keys.map((k) => distinct.indexOf(k));
  return {
    keys: distinct,
    norms: norms.map((row) => {
      const sums = new Array<number>(distinct.length).fill(0);
      row.forEach((n, i) => { sums[slot[i]] += n * n; });
      return sums.map(Math.sqrt);
    }),
  };
}
