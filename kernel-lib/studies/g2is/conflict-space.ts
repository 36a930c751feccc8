/**
 * A feature space in which G2IS's conflict test can fire, and the measurements that say whether
 * it does. In LESS's Adam space Γ = (β1·m + (1−β1)·g)/√(v′+ε) every pool row shares the β1·m/√v′
 * term, so random pool pairs are strongly aligned and "no negative dot product" almost never
 * rejects anything. The "centred" space removes that shared part: per checkpoint, every pool row
 * minus the pool's mean row, renormalised to unit length (the clean twins of the planted conflicts
 * are centred by the same pool mean, so the planted check reads the same space). Checkpoints are
 * then combined as for G2IS (√η̂ weights, selection.ts). Targets are not centred: the PCA centres
 * them already, and they are plain gradients, not Adam features.
 *
 * The "plain" space is the other way to let the test fire: the pool's plain (SGD) projected
 * gradients (the features stage's pool-sgd store), in which the targets already live; the planted
 * check there compares a conflicting item's plain gradient with its twin's plain gradient.
 *
 * Which function when: `centredCheckpointFeatures` feeds the "g2is-centred" arm (and pool-sgd the
 * "g2is-plain" arm);
 * `plantedConflictRates` and `spaceNegativePairs` are the notebook's measurements of whether the
 * conflict test can separate a planted conflicting item from its clean twin, per space.
 */
import { InvalidArgumentError, UnknownOptionError } from "../../errors";
import { negativePairFraction } from "../../g2is/diagnostics";
import { combineCheckpoints } from "./selection";
import type { PreparedPipeline } from "./prepare";

/** The feature spaces the conflict diagnostics compare (see `WalkSpace`): LESS's Adam space, its mean-centred form, plain gradients. */
export const WALK_SPACES = ["less", "centred", "plain"] as const;
/** "less": LESS's Adam features (what G2IS uses); "centred": the same minus the pool mean row; "plain": plain (SGD) projected gradients. */
export type WalkSpace = (typeof WALK_SPACES)[number];

function checkSpace(space: string): asserts space is WalkSpace {
  if (!(WALK_SPACES as readonly string[]).includes(space)) throw new UnknownOptionError("space", space, WALK_SPACES);
}

/** The mean row of a set of rows. */
export function meanRow(rows: readonly Float32Array[]): Float64Array {
  if (!Array.isArray(rows) || rows.length === 0) throw new InvalidArgumentError("rows", "a non-empty array of rows", rows);
  const mean = new Float64Array(rows[0].length);
  for (const r of rows) for (let q = 0; q < mean.length; q++) mean[q] += r[q];
  for (let q = 0; q < mean.length; q++) mean[q] /= rows.length;
  return mean;
}

/** rows − mean, renormalised to unit length (a zero difference stays zero). */
export function centreRows(rows: readonly Float32Array[], mean: Float64Array): Float32Array[] {
  return rows.map((r, i) => {
    if (r.length !== mean.length) throw new InvalidArgumentError(`rows[${i}]`, `a row of width ${mean.length}`, r.length);
    const out = Float32Array.from(r, (x, q) => x - mean[q]);
    let s = 0;
    for (let q = 0; q < out.length; q++) s += out[q] * out[q];
    const norm = Math.sqrt(s);
    if (norm > 0) for (let q = 0; q < out.length; q++) out[q] /= norm;
    return out;
  });
}

const memo = new WeakMap<PreparedPipeline, { pool: Float32Array[][]; twins: Float32Array[][] }>();

/** Per checkpoint, pool and twin features centred by that checkpoint's pool mean (memoised per pipeline). */
export function centredCheckpointFeatures(p: PreparedPipeline): { pool: Float32Array[][]; twins: Float32Array[][] } {
  let m = memo.get(p);
  if (m === undefined) {
    const means = p.poolFeatures.map((rows) => meanRow(rows));
    m = { pool: p.poolFeatures.map((rows, c) => centreRows(rows, means[c])), twins: p.twinFeatures.map((rows, c) => (rows.length > 0 ? centreRows(rows, means[c]) : [])) };
    memo.set(p, m);
  }
  return m;
}

function spaceRows(p: PreparedPipeline, space: WalkSpace): { pool: Float32Array[][]; twins: Float32Array[][] } {
  if (space === "less") return { pool: p.poolFeatures, twins: p.twinFeatures };
  if (space === "plain") return { pool: p.poolFeaturesSgd, twins: p.twinPlainFeatures };
  return centredCheckpointFeatures(p);
}

/** One row per checkpoint and conflict kind of the planted check, in one space. */
export interface PlantedConflictRate {
  space: WalkSpace;
  checkpoint: number;
  kind: string;
  /** Conflicting items of this kind. */
  pairs: number;
  /** Conflicting item vs its own clean twin: how many dot products are negative. */
  negativeWithTwin: number;
  /** Chance: the twin vs the clean twin of another prompt (a fixed derangement), negative count. */
  negativeChance: number;
}

/**
 * The planted check in one space: for every conflicting pool item, is its dot product with its
 * clean twin negative (so the conflict test would keep the two apart)? Compared with a clean twin
 * against the next conflicting item's clean twin (cyclic shift within the kind).
 */
export function plantedConflictRates(p: PreparedPipeline, space: WalkSpace): PlantedConflictRate[] {
  checkSpace(space);
  const { pool, twins } = spaceRows(p, space);
  const dot = (a: Float32Array, b: Float32Array) => { let s = 0; for (let q = 0; q < a.length; q++) s += a[q] * b[q]; return s; };
  const kinds = [...new Set(p.dataset.twins.map((t) => p.dataset.pool[t.poolIndex].group))];
  return pool.flatMap((rows, c) => kinds.map((kind) => {
    const ks = p.dataset.twins.map((_, k) => k).filter((k) => p.dataset.pool[p.dataset.twins[k].poolIndex].group === kind);
    const negativeWithTwin = ks.filter((k) => dot(rows[p.dataset.twins[k].poolIndex], twins[c][k]) < 0).length;
    const negativeChance = ks.length < 2 ? 0 : ks.filter((k, i) => dot(twins[c][k], twins[c][ks[(i + 1) % ks.length]]) < 0).length;
    return { space, checkpoint: c, kind, pairs: ks.length, negativeWithTwin, negativeChance };
  }));
}

/** Share of pool pairs with a negative dot product in a space's combined (walk) features. */
export function spaceNegativePairs(p: PreparedPipeline, space: WalkSpace): { fraction: number; negative: number; pairs: number; exact: boolean } {
  checkSpace(space);
  const weights = p.checkpoints.map((c) => c.learningRate);
  return negativePairFraction(combineCheckpoints(spaceRows(p, space).pool, weights), { maxPairs: 200_000, seed: p.seed });
}
