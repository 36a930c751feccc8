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
import { EmptyInputError, InvalidArgumentError, ShapeError, assertFinite, assertKnownKeys } from "../errors";
import { Rng, Seed, toRng } from "../random";
import { averageRanks, rocAuc, spearman } from "../metrics/ranking";
import { aucVerdict, AucVerdict } from "../stats/auc";
import { groupIndices } from "../stats/permutation";
import type { Direction } from "../stats/verdict";

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

export interface StratifiedAucOptions {
  alpha?: number;
  /** Label permutations within strata for p (default 5000, ≥ 100). */
  permutations?: number;
  /** Bootstrap resamples within stratum and class for the interval (default 2000, ≥ 100). */
  resamples?: number;
  seed?: Seed | Rng;
}

/** One stratum of `stratifiedAuc`. */
export interface StratumRow {
  stratum: number | string;
  n: number;
  nPositive: number;
  nNegative: number;
  /** Positive/negative pairs inside the stratum: its weight. */
  pairs: number;
  /** AUC inside the stratum; null when it lacks a class (then `excluded`). */
  auc: number | null;
  excluded: boolean;
}

export interface StratifiedAucResult {
  /** Σ_s pairs_s · AUC_s / Σ_s pairs_s: the share of same-stratum pairs the score orders right (ties ½). */
  estimate: number;
  /** The pooled AUC ignoring strata, for comparison. */
  rawAuc: number;
  p: number;
  verdict: Direction;
  test: string;
  interval: { lo: number; hi: number; level: number; method: string };
  strata: StratumRow[];
  /** Same-stratum pairs counted, and all positive/negative pairs: their ratio is the data kept. */
  pairs: number;
  totalPairs: number;
  /** Rows in excluded strata (they contribute no pair). */
  excludedRows: number;
  n: number;
  alpha: number;
}

const STRATIFIED_KEYS = ["alpha", "permutations", "resamples", "seed"];

/**
 * The AUC of `score` for `labels` within strata of a covariate (`strata[i]` names row i's stratum:
 * a step count, a loss bin, `${seed}/${bin}` to keep seeds apart too). Only pairs inside one
 * stratum count, so this is the AUC "controlling for" the stratifying variable: a score that is a
 * function of it alone scores 0.5. It controls only for what the strata hold fixed — a continuous
 * covariate still varies inside a bin — and for nothing else. p permutes labels within strata
 * (seeded Monte Carlo, two-sided on |AUC − 0.5|); the interval resamples within stratum and class.
 */
export function stratifiedAuc(score: ArrayLike<number>, labels: ArrayLike<boolean | number>, strata: ArrayLike<number | string>, options: StratifiedAucOptions = {}): StratifiedAucResult {
  assertKnownKeys("options", options, STRATIFIED_KEYS);
  const y = toLabels(labels);
  checkVector("score", score, y.length);
  const alpha = options.alpha ?? 0.05, permutations = options.permutations ?? 5000, resamples = options.resamples ?? 2000;
  if (!(alpha > 0 && alpha < 1)) throw new InvalidArgumentError("options.alpha", "a number in (0, 1)", alpha);
  if (!Number.isInteger(permutations) || permutations < 100) throw new InvalidArgumentError("options.permutations", "an integer ≥ 100", permutations);
  if (!Number.isInteger(resamples) || resamples < 100) throw new InvalidArgumentError("options.resamples", "an integer ≥ 100", resamples);
  const rows: StratumRow[] = [];
  const used: Array<{ pos: number[]; neg: number[]; ranks: number[]; pairs: number }> = [];
  let excludedRows = 0;
  for (const [stratum, idx] of groupIndices(strata, y.length, "strata")) {
    const pos = idx.filter((i) => y[i] === 1).map((i) => score[i]), neg = idx.filter((i) => y[i] === 0).map((i) => score[i]);
    const pairs = pos.length * neg.length;
    const auc = pairs === 0 ? null : rocAuc([...pos, ...neg], [...pos.map(() => 1), ...neg.map(() => 0)]);
    rows.push({ stratum, n: idx.length, nPositive: pos.length, nNegative: neg.length, pairs, auc, excluded: pairs === 0 });
    if (pairs === 0) excludedRows += idx.length;
    else used.push({ pos, neg, pairs, ranks: Array.from(averageRanks(idx.map((i) => score[i]))) });
  }
  const pairs = used.reduce((a, s) => a + s.pairs, 0);
  if (pairs === 0) throw new InvalidArgumentError("strata", "at least one stratum holding both classes (no pair of a positive and a negative shares a stratum)", `${rows.length} strata, none with both`);
  const estimate = rows.reduce((a, r) => a + (r.auc ?? 0) * r.pairs, 0) / pairs;
  const nPositive = y.reduce((a, b) => a + b, 0);
  const rng = toRng(options.seed ?? 0);

  // Within-stratum label permutation: ranks stay fixed, a permutation picks which n₁ ranks are "positive".
  const perm = rng.derive("stratified-auc-permutation");
  const observed = Math.abs(estimate - 0.5);
  let extreme = 0;
  for (let b = 0; b < permutations; b++) {
    let u = 0;
    for (const s of used) {
      const pool = s.ranks.slice(), n1 = s.pos.length;
      let sum = 0;
      for (let j = 0; j < n1; j++) {
        const k = j + perm.int(pool.length - j);
        [pool[j], pool[k]] = [pool[k], pool[j]];
        sum += pool[j];
      }
      u += sum - (n1 * (n1 + 1)) / 2;
    }
    if (Math.abs(u / pairs - 0.5) >= observed - 1e-12) extreme++;
  }
  const p = (1 + extreme) / (1 + permutations);

  const boot = rng.derive("stratified-auc-bootstrap");
  const draws = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let weighted = 0;
    for (const s of used) {
      const pos = s.pos.map(() => s.pos[boot.int(s.pos.length)]), neg = s.neg.map(() => s.neg[boot.int(s.neg.length)]);
      weighted += s.pairs * rocAuc([...pos, ...neg], [...pos.map(() => 1), ...neg.map(() => 0)]);
    }
    draws[b] = weighted / pairs;
  }
  draws.sort();
  const at = (q: number) => draws[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))];
  return {
    estimate, rawAuc: rocAuc(score, y), p, alpha,
    verdict: p < alpha && estimate !== 0.5 ? (estimate > 0.5 ? "positive" : "negative") : "inconclusive",
    test: `label permutation test within ${used.length} strata (${permutations} permutations)`,
    interval: { lo: at(alpha / 2), hi: at(1 - alpha / 2), level: 1 - alpha, method: "bootstrap within stratum and class" },
    strata: rows, pairs, totalPairs: nPositive * (y.length - nPositive), excludedRows, n: y.length,
  };
}

/**
 * Quantile bins 0 … k−1 of a continuous covariate: bin = ⌊k·(rank − 1)/n⌋ with average ranks, so
 * tied values share a bin and bins hold n/k rows each up to ties. With `within` (e.g. seeds) the
 * bins are cut inside each group, and the result names `${group}/${bin}` — a loss bin then means
 * the same quantile of each seed's own loss scale.
 */
export function quantileBins(values: ArrayLike<number>, k: number, options: { within?: ArrayLike<number | string> } = {}): Array<number | string> {
  assertKnownKeys("options", options, ["within"]);
  checkVector("values", values, values?.length ?? 0);
  if (!Number.isInteger(k) || k < 1 || k > values.length) throw new InvalidArgumentError("k", `an integer in [1, ${values.length}] (bins of at least one row)`, k);
  const groups = options.within === undefined ? new Map<number | string, number[]>([[0, Array.from({ length: values.length }, (_, i) => i)]]) : groupIndices(options.within, values.length, "options.within");
  const bins = new Array<number | string>(values.length);
  for (const [group, idx] of groups) {
    const ranks = averageRanks(idx.map((i) => values[i]), "values");
    idx.forEach((row, j) => {
      const bin = Math.min(k - 1, Math.floor((k * (ranks[j] - 1)) / idx.length));
      bins[row] = options.within === undefined ? bin : `${String(group)}/${bin}`;
    });
  }
  return bins;
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

export interface ControlledAucOptions extends StratifiedAucOptions {
  /** Quantile bins of the covariate (default 4). */
  bins?: number;
  /** Cut bins within each cluster (e.g. seed) and never pair rows of different clusters. */
  clusters?: ArrayLike<number | string>;
}

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
}

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
      pairsKept: s.pairs / s.totalPairs,
    };
  });
  return { residual, rows, bins };
}

/** Labels as 0/1: true/false or 1/0, both classes present. */
function toLabels(labels: ArrayLike<boolean | number>): number[] {
  if (labels === null || typeof labels !== "object" || typeof labels.length !== "number") throw new InvalidArgumentError("labels", "an array of booleans or 0/1", labels);
  if (labels.length === 0) throw new EmptyInputError("labels", "at least one labelled row");
  const y = Array.from(labels, (l, i): number => {
    if (l === true || l === 1) return 1;
    if (l === false || l === 0) return 0;
    throw new InvalidArgumentError(`labels[${i}]`, "true/false or 1/0", l);
  });
  const positives = y.reduce((a, b) => a + b, 0);
  if (positives === 0 || positives === y.length) throw new InvalidArgumentError("labels", "both classes present", `${positives} positive, ${y.length - positives} negative`);
  return y;
}

function checkVector(argument: string, values: ArrayLike<number>, n: number): void {
  if (values === null || typeof values !== "object" || typeof values.length !== "number") throw new InvalidArgumentError(argument, "an array of numbers", values);
  if (values.length === 0) throw new EmptyInputError(argument, "at least one value");
  if (values.length !== n) throw new ShapeError(argument, `[${n}] (one value per label)`, [values.length]);
  assertFinite(argument, values);
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

function pick<T extends object>(options: T, keys: readonly string[]): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([k, v]) => keys.includes(k) && v !== undefined)) as Partial<T>;
}
