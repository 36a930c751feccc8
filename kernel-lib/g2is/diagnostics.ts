/**
 * Diagnostics of a G2IS selection, computed from what the walk reports and from the selections
 * themselves (no re-running):
 *  - `totalRejections`: the walk's turned-down candidates summed over components, per scan
 *    (neighbour, fallback) and constraint (excluded, conflict, consistency) — how often each of
 *    G2IS's constraints actually decided something.
 *  - `jaccard` / `selectionStability`: overlap of selections made under different seeds (or
 *    settings): |A ∩ B| / |A ∪ B| for every pair; two empty selections count as identical (1).
 *  - `negativePairFraction`: the share of row pairs with a negative dot product in a feature
 *    space — an upper bound on how often the walk's conflict test can fire there. Exact over all
 *    pairs up to `maxPairs` (default 200 000), else a seeded uniform sample of that many pairs.
 */
import { EmptyInputError, InvalidArgumentError } from "../errors";
import { checkOptions, option } from "../options";
import { Rng } from "../random";
import { FeatureRows, checkRowsNamed } from "./rows";
import type { RejectionCounts, WalkRejections } from "./walk";

/** Sums the components' rejection counts (per scan and constraint; conflictRows summed too). */
export function totalRejections(components: readonly { rejections: WalkRejections }[]): WalkRejections {
  if (!Array.isArray(components)) throw new InvalidArgumentError("components", "an array of walk components", components);
  const zero = (): RejectionCounts => ({ excluded: 0, conflict: 0, consistency: 0 });
  const total: WalkRejections = { neighbour: zero(), fallback: zero(), conflictRows: 0 };
  components.forEach((c, i) => {
    const r = c?.rejections;
    if (r === undefined || r.neighbour === undefined || r.fallback === undefined) throw new InvalidArgumentError(`components[${i}].rejections`, "a walk's rejection counts", r);
    for (const scan of ["neighbour", "fallback"] as const) {
      for (const key of ["excluded", "conflict", "consistency"] as const) total[scan][key] += r[scan][key];
    }
    total.conflictRows += r.conflictRows;
  });
  return total;
}

function checkIndexList(name: string, list: unknown): asserts list is readonly number[] {
  if (!Array.isArray(list) || !list.every((j) => Number.isInteger(j) && j >= 0)) throw new InvalidArgumentError(name, "an array of non-negative integer row indices", list);
}

/** |A ∩ B| / |A ∪ B| of two index lists (duplicates ignored); 1 when both are empty. */
export function jaccard(a: readonly number[], b: readonly number[]): number {
  checkIndexList("a", a);
  checkIndexList("b", b);
  const sa = new Set(a), sb = new Set(b);
  let both = 0;
  for (const j of sa) if (sb.has(j)) both++;
  const union = sa.size + sb.size - both;
  return union === 0 ? 1 : both / union;
}

/** Pairwise Jaccard overlaps of several selections and their summary. */
export interface SelectionStability {
  /** Jaccard of every pair (i < j), in order (0,1), (0,2), …, (1,2), … */
  pairs: { i: number; j: number; jaccard: number }[];
  mean: number;
  min: number;
  max: number;
}

/** Pairwise Jaccard overlap of ≥ 2 selections (e.g. one per seed). */
export function selectionStability(selections: readonly (readonly number[])[]): SelectionStability {
  if (!Array.isArray(selections) || selections.length < 2) throw new InvalidArgumentError("selections", "an array of at least two index lists", selections);
  selections.forEach((s, i) => checkIndexList(`selections[${i}]`, s));
  const pairs: SelectionStability["pairs"] = [];
  for (let i = 0; i < selections.length; i++) for (let j = i + 1; j < selections.length; j++) pairs.push({ i, j, jaccard: jaccard(selections[i], selections[j]) });
  const values = pairs.map((p) => p.jaccard);
  return { pairs, mean: values.reduce((x, y) => x + y, 0) / values.length, min: Math.min(...values), max: Math.max(...values) };
}

/** Options of `negativePairFraction`. */
export interface NegativePairOptions {
  /** Largest number of pairs computed (all pairs if there are no more; else a sample). Default 200 000. */
  maxPairs?: number;
  /** Seed of the pair sample. Default 0. */
  seed?: number | string;
}

/** Share of row pairs (i ≠ j) with a negative dot product; exact, or sampled beyond maxPairs. */
export function negativePairFraction(rows: FeatureRows, options: NegativePairOptions = {}): { fraction: number; negative: number; pairs: number; exact: boolean } {
  checkOptions("options", options, { maxPairs: option.positiveInteger, seed: option.any });
  const d = checkRowsNamed("rows", rows), n = rows.length;
  if (n < 2) throw new EmptyInputError("rows", "at least two rows");
  const maxPairs = options.maxPairs ?? 200_000, all = (n * (n - 1)) / 2;
  const dot = (i: number, j: number) => { let s = 0; for (let q = 0; q < d; q++) s += rows[i][q] * rows[j][q]; return s; };
  let negative = 0, pairs = 0;
  if (all <= maxPairs) {
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) { pairs++; if (dot(i, j) < 0) negative++; }
    return { fraction: negative / pairs, negative, pairs, exact: true };
  }
  const rng = new Rng(options.seed ?? 0).derive("negative-pairs");
  while (pairs < maxPairs) {
    const i = rng.int(n), j = rng.int(n);
    if (i === j) continue;
    pairs++;
    if (dot(i, j) < 0) negative++;
  }
  return { fraction: negative / pairs, negative, pairs, exact: false };
}
