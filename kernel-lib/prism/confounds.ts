/**
 * Confound controls for a probe score: does a concentration score separate a label (PRISM's planted
 * conflict) by itself, or only because the label goes with something simpler — trajectory length,
 * the loss? Use, in this order:
 *  1. `confoundTable` — the AUC against the label of every score AND every covariate (loss, action
 *     tokens, steps) side by side, each through `stats.aucVerdict` (interval, permutation p,
 *     clustered by seed when `clusters` is given). A covariate with an AUC near 1 is a confound a
 *     score must beat or be controlled for.
 *  2. `stratifiedAuc` — the AUC counting only positive/negative pairs inside the same stratum of a
 *     covariate (same step count; same loss bin), so the covariate cannot separate any pair that is
 *     counted. Strata that lack a class drop out and are listed; the p-value permutes labels within
 *     strata. For a continuous covariate make strata with `quantileBins`.
 *  3. `aucControllingFor` — every score's stratified AUC within quantile bins of one covariate (the
 *     loss), with the covariate's own AUC inside those bins (residual confounding the bins leave)
 *     and a partial Spearman correlation as a second, parametric-in-ranks view.
 * Per-trajectory covariates from encoded trajectories: covariates.ts. A matched design (regular
 * tasks with a length-matching detour, envs `detourFraction`) controls length by construction and
 * is stronger than any of these adjustments.
 */
import { EmptyInputError, InvalidArgumentError, assertKnownKeys } from "../errors";
import { Rng, Seed, toRng } from "../random";
import { spearman } from "../metrics/ranking";
import { aucVerdict, AucVerdict } from "../stats/auc";
import { groupIndices } from "../stats/permutation";
import type { Direction } from "../stats/verdict";
import { checkVector, pick, STRATIFIED_KEYS, stratifiedAuc, StratifiedAucOptions, StratifiedAucResult, quantileBins, toLabels } from "./stratified-auc";

export { stratifiedAuc, quantileBins } from "./stratified-auc";
export type { StratifiedAucOptions, StratifiedAucResult, StratumRow } from "./stratified-auc";

/** Options of `confoundTable`. */
export interface ConfoundTableOptions {
  /** Cluster of each row (e.g. the seed); AUCs are per-cluster means, resampled within cluster. */
  clusters?: ArrayLike<number | string>;
  alpha?: number;
  /** Bootstrap resamples per row (default 2000). */
  resamples?: number;
  /** Label permutations per row (default 5000). */
  permutations?: number;
  /** Each row draws from `seed` derived by its name, so adding a row changes no other row. */
  seed?: Seed | Rng;
}

/** One row of `confoundTable`: a score or a covariate against the label. */
export interface ConfoundRow {
  name: string;
  kind: "score" | "covariate";
  /** AUC (mean of per-cluster AUCs when clustered); > 0.5 = higher on label true. */
  auc: number;
  lo: number;
  hi: number;
  p: number;
  verdict: Direction;
  n: number;
  nPositive: number;
  nNegative: number;
  clusters: number;
  /** The test and interval method, as `aucVerdict` names them. */
  test: string;
  interval: string;
  /** The full `aucVerdict` behind the row (usable as claim evidence). */
  aucVerdict: AucVerdict;
}

const TABLE_KEYS = ["clusters", "alpha", "resamples", "permutations", "seed"];

/**
 * AUC against `labels` of every score and every covariate in one table (scores first, in input
 * order). Names must be distinct across the two records; every array needs one value per label.
 */
export function confoundTable(scores: Record<string, ArrayLike<number>>, covariates: Record<string, ArrayLike<number>>, labels: ArrayLike<boolean | number>, options: ConfoundTableOptions = {}): ConfoundRow[] {
  assertKnownKeys("options", options, TABLE_KEYS);
  const y = toLabels(labels);
  const columns = [...checkColumns("scores", scores, y.length, false).map((c) => ({ ...c, kind: "score" as const })),
    ...checkColumns("covariates", covariates, y.length, true).map((c) => ({ ...c, kind: "covariate" as const }))];
  const names = new Set<string>();
  for (const c of columns) {
    if (names.has(c.name)) throw new InvalidArgumentError(`covariates.${c.name}`, "a name not already used by scores");
    names.add(c.name);
  }
  const rng = toRng(options.seed ?? 0);
  const nPositive = y.reduce((a, b) => a + b, 0);
  return columns.map(({ name, kind, values }) => {
    const v = aucVerdict(values, y, { ...pick(options, ["clusters", "alpha", "resamples", "permutations"]), seed: rng.derive("confound", name) });
    return {
      name, kind, auc: v.estimate, lo: v.interval.lo, hi: v.interval.hi, p: v.p, verdict: v.verdict,
      n: v.n, nPositive, nNegative: v.n - nPositive, clusters: v.clusters, test: v.test, interval: v.interval.method, aucVerdict: v,
    };
  });
}

/**
 * Spearman's partial correlation of x and y given z: (ρxy − ρxz·ρyz) / √((1 − ρxz²)(1 − ρyz²)),
 * from rank correlations. It removes the part of the rank association that is linear in z's ranks;
 * a non-monotone or interacting dependence on z survives it. Null when a rank correlation is
 * undefined (a constant vector) or |ρxz| or |ρyz| is 1.
 */
export function partialSpearman(x: ArrayLike<number>, y: ArrayLike<number>, z: ArrayLike<number>): number | null {
  checkVector("x", x, x?.length ?? 0);
  checkVector("y", y, x.length);
  checkVector("z", z, x.length);
  let rxy: number, rxz: number, ryz: number;
  try {
    rxy = spearman(x, y); rxz = spearman(x, z); ryz = spearman(y, z);
  } catch (e) {
    if (e instanceof InvalidArgumentError) return null;
    throw e;
  }
  const denominator = Math.sqrt((1 - rxz * rxz) * (1 - ryz * ryz));
  if (!(denominator > 1e-12)) return null;
  return Math.max(-1, Math.min(1, (rxy - rxz * ryz) / denominator));
}

/** Options of `aucControllingFor`. */
export interface ControlledAucOptions extends StratifiedAucOptions {
  /** Quantile bins of the covariate (default 4). */
  bins?: number;
  /** Cut bins within each cluster (e.g. seed) and never pair rows of different clusters. */
  clusters?: ArrayLike<number | string>;
}

/**
 * One score under the control: raw AUC, AUC within covariate bins with interval, p and verdict, and
 * the partial Spearman correlation.
 */
export interface ControlledAucRow {
  name: string;
  rawAuc: number;
  /** Within-bin AUC (`stratifiedAuc` over the covariate's quantile bins). */
  controlledAuc: number;
  lo: number;
  hi: number;
  p: number;
  verdict: Direction;
  /** Partial Spearman of score and label given the covariate (mean over clusters when clustered). */
  partialSpearman: number | null;
  /** Share of all positive/negative pairs that fall in one bin and are counted. */
  pairsKept: number;
  /** The full within-bin result (test, interval, minimum detectable effect: usable as claim evidence). */
  result: StratifiedAucResult;
}

/**
 * What `aucControllingFor` returns: each score's AUC within bins of the covariate, the covariate's
 * own AUC within its bins, and the bins.
 */
export interface ControlledAucResult {
  /** The covariate's own AUC within its bins: how far it still separates the label inside a bin. */
  residual: StratifiedAucResult;
  rows: ControlledAucRow[];
  bins: Array<number | string>;
}

const CONTROLLED_KEYS = [...STRATIFIED_KEYS, "bins", "clusters"];

/**
 * Each score's association with the label controlling for one covariate (e.g. the probe loss): its
 * AUC within quantile bins of the covariate (bins cut per cluster when clustered), and its partial
 * Spearman given the covariate. What this controls for: the covariate's level between bins, and
 * (partial ρ) the part linear in its ranks. What it does not: the covariate's spread inside a bin —
 * read `residual`: a residual AUC far from 0.5 means the bins are too coarse and a score correlated
 * with the covariate can still look informative — and any covariate not named (length, say: control
 * it too, with strata `${steps}/${bin}`, or with the detour design).
 */
export function aucControllingFor(scores: Record<string, ArrayLike<number>>, labels: ArrayLike<boolean | number>, covariate: ArrayLike<number>, options: ControlledAucOptions = {}): ControlledAucResult {
  assertKnownKeys("options", options, CONTROLLED_KEYS);
  const y = toLabels(labels);
  checkVector("covariate", covariate, y.length);
  const columns = checkColumns("scores", scores, y.length, false);
  const groups = options.clusters === undefined ? [Array.from({ length: y.length }, (_, i) => i)] : [...groupIndices(options.clusters, y.length, "options.clusters").values()];
  const bins = quantileBins(covariate, options.bins ?? 4, options.clusters === undefined ? {} : { within: options.clusters });
  const stratified = pick(options, STRATIFIED_KEYS) as StratifiedAucOptions;
  const rng = toRng(options.seed ?? 0);
  const residual = stratifiedAuc(covariate, y, bins, { ...stratified, seed: rng.derive("controlled", "residual") });
  const rows = columns.map(({ name, values }) => {
    const s = stratifiedAuc(values, y, bins, { ...stratified, seed: rng.derive("controlled", name) });
    const partials = groups.map((idx) => partialSpearman(idx.map((i) => values[i]), idx.map((i) => y[i]), idx.map((i) => covariate[i])));
    return {
      name, rawAuc: s.rawAuc, controlledAuc: s.estimate, lo: s.interval.lo, hi: s.interval.hi, p: s.p, verdict: s.verdict,
      partialSpearman: partials.includes(null) ? null : (partials as number[]).reduce((a, b) => a + b, 0) / partials.length,
      pairsKept: s.pairs / s.totalPairs, result: s,
    };
  });
  return { residual, rows, bins };
}

function checkColumns(argument: string, record: Record<string, ArrayLike<number>>, n: number, allowEmpty: boolean): Array<{ name: string; values: ArrayLike<number> }> {
  if (record === null || typeof record !== "object" || Array.isArray(record)) throw new InvalidArgumentError(argument, "a record name → one value per row", record);
  const entries = Object.entries(record);
  if (entries.length === 0 && !allowEmpty) throw new EmptyInputError(argument, "at least one named score");
  return entries.map(([name, values]) => {
    checkVector(`${argument}.${name}`, values, n);
    return { name, values };
  });
}
