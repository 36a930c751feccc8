/**
 * The AUC of a score within strata of a covariate (confounds.ts, step 2): only positive/negative
 * pairs inside one stratum count, so the covariate cannot separate any counted pair; the p-value
 * permutes labels within strata. `quantileBins` turns a continuous covariate into strata. The
 * label/vector checks here are shared with confounds.ts (not part of the public API).
 */
import { EmptyInputError, InvalidArgumentError, ShapeError, assertFinite, assertKnownKeys } from "../errors";
import { Rng, Seed, toRng } from "../random";
import { averageRanks, rocAuc } from "../metrics/ranking";
import { groupIndices } from "../stats/permutation";
import { normalQuantile } from "../stats/distributions";
import type { AucVerdict } from "../stats/auc";
import type { Direction } from "../stats/verdict";

/** Options of `stratifiedAuc`. */
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

/** An `AucVerdict` (usable as claim evidence; `clusters` / `perCluster` are the counted strata and their AUCs) plus the strata detail. */
export interface StratifiedAucResult extends AucVerdict {
  /** Σ_s pairs_s · AUC_s / Σ_s pairs_s: the share of same-stratum pairs the score orders right (ties ½). */
  estimate: number;
  /** The pooled AUC ignoring strata, for comparison. */
  rawAuc: number;
  p: number;
  verdict: Direction;
  test: string;
  interval: { lo: number; hi: number; level: number; method: string };
  /** Smallest |AUC − 0.5| detectable with 80% power at `alpha` (bootstrap SE, as `aucVerdict`); with the fields above, usable as claim evidence. */
  minDetectableEffect: number;
  strata: StratumRow[];
  /** Same-stratum pairs counted, and all positive/negative pairs: their ratio is the data kept. */
  pairs: number;
  totalPairs: number;
  /** Rows in excluded strata (they contribute no pair). */
  excludedRows: number;
  n: number;
  alpha: number;
}

export const STRATIFIED_KEYS = ["alpha", "permutations", "resamples", "seed"];

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
  const bootMean = draws.reduce((a, b) => a + b, 0) / resamples;
  const se = Math.sqrt(draws.reduce((a, b) => a + (b - bootMean) ** 2, 0) / (resamples - 1));
  draws.sort();
  const at = (q: number) => draws[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))];
  return {
    estimate, rawAuc: rocAuc(score, y), p, alpha,
    verdict: p < alpha && estimate !== 0.5 ? (estimate > 0.5 ? "positive" : "negative") : "inconclusive",
    test: `label permutation test within ${used.length} strata (${permutations} permutations)`,
    interval: { lo: at(alpha / 2), hi: at(1 - alpha / 2), level: 1 - alpha, method: "bootstrap within stratum and class" },
    // As stats.aucVerdict: normal approximation with the bootstrap SE, 80% power.
    minDetectableEffect: (normalQuantile(1 - alpha / 2) + normalQuantile(0.8)) * se,
    clusters: used.length, perCluster: rows.filter((r) => r.auc !== null).map((r) => r.auc as number),
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

/** Labels as 0/1: true/false or 1/0, both classes present. */
export function toLabels(labels: ArrayLike<boolean | number>): number[] {
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

export function checkVector(argument: string, values: ArrayLike<number>, n: number): void {
  if (values === null || typeof values !== "object" || typeof values.length !== "number") throw new InvalidArgumentError(argument, "an array of numbers", values);
  if (values.length === 0) throw new EmptyInputError(argument, "at least one value");
  if (values.length !== n) throw new ShapeError(argument, `[${n}] (one value per label)`, [values.length]);
  assertFinite(argument, values);
}

export function pick<T extends object>(options: T, keys: readonly string[]): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([k, v]) => keys.includes(k) && v !== undefined)) as Partial<T>;
}
