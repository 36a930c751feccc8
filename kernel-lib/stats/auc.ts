/**
 * Does a score separate two labelled classes? The ROC AUC with an interval and a test that respect
 * clustering: when the data come from several seeds — each with its own base model, corpus and
 * score scale — pooling all rows into one AUC mixes scales and one i.i.d. bootstrap pretends the
 * rows are independent. Here instead:
 *  - the estimate is the mean of the per-cluster AUCs (one cluster = one AUC when unclustered);
 *  - the interval resamples rows within each cluster *and class* (a stratified bootstrap: never a
 *    one-class resample, nothing redrawn);
 *  - the p-value permutes labels within each cluster (seeded Monte Carlo; exact ranks are reused,
 *    so a permutation costs one pass), testing "the score carries no label information here".
 * The verdict is "positive" (AUC > 0.5, the score is higher on label 1), "negative" (lower) or
 * "inconclusive". It generalises over rows given these clusters, not over new seeds.
 */
import { EmptyInputError, InvalidArgumentError, assertFinite, assertKnownKeys } from "../errors";
import { Rng, Seed, toRng } from "../random";
import { averageRanks, rocAuc } from "../metrics/ranking";
import { groupIndices } from "./permutation";
import { normalQuantile } from "./distributions";
import type { Direction } from "./verdict";

/** Options of `aucVerdict` (all optional; defaults under `aucVerdict`). */
export interface AucVerdictOptions {
  clusters?: ArrayLike<number | string>;
  alpha?: number;
  /** Bootstrap resamples for the interval (default 2000). */
  resamples?: number;
  /** Label permutations for p (default 5000). */
  permutations?: number;
  seed?: Seed | Rng;
  /** Power for the minimum detectable effect (default 0.8). */
  power?: number;
}

/**
 * What `aucVerdict` returns: verdict, p, the (per-cluster mean) AUC, its interval and the minimum
 * detectable effect.
 */
export interface AucVerdict {
  verdict: Direction;
  p: number;
  test: string;
  /** Rows scored. */
  n: number;
  clusters: number;
  /** Mean of per-cluster AUCs. */
  estimate: number;
  perCluster: number[];
  interval: { lo: number; hi: number; level: number; method: string };
  /** Smallest |AUC − 0.5| detectable with `power` at `alpha` (normal approximation, bootstrap SE). */
  minDetectableEffect: number;
  alpha: number;
}

/**
 * Does `scores` separate `labels` (1/true = positive class)? The ROC AUC — the mean of per-cluster
 * AUCs when `clusters` (e.g. seeds) is given, since pooling rows across seeds mixes score scales —
 * with a stratified bootstrap interval, a within-cluster label-permutation p-value and a verdict:
 * "positive" (higher scores on label 1), "negative" or "inconclusive". Use it for "does the probe
 * score detect the planted conflict"; use {@link pairedVerdict} for "does arm A beat arm B".
 * Defaults: `alpha: 0.05`, `resamples: 2000`, `permutations: 5000`, `power: 0.8`; pass `seed`
 * for a reproducible interval and p.
 *
 * @example
 * ```ts
 * const v = lab.stats.aucVerdict([0.9, 0.8, 0.3, 0.2, 0.7, 0.1], [1, 1, 0, 0, 1, 0], { seed: 1 });
 * v.estimate;                                                      // 1: every positive scores higher
 * ```
 */
export function aucVerdict(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>, options: AucVerdictOptions = {}): AucVerdict {
  assertKnownKeys("options", options, ["clusters", "alpha", "resamples", "permutations", "seed", "power"]);
  if (scores.length === 0) throw new EmptyInputError("scores", "at least one scored row");
  assertFinite("scores", scores);
  if (labels.length !== scores.length) throw new InvalidArgumentError("labels", `one label per score (${scores.length})`, `length ${labels.length}`);
  const alpha = options.alpha ?? 0.05, power = options.power ?? 0.8;
  const resamples = options.resamples ?? 2000, permutations = options.permutations ?? 5000;
  if (!(alpha > 0 && alpha < 1)) throw new InvalidArgumentError("options.alpha", "a number in (0, 1)", alpha);
  if (!Number.isInteger(resamples) || resamples < 100) throw new InvalidArgumentError("options.resamples", "an integer ≥ 100", resamples);
  if (!Number.isInteger(permutations) || permutations < 100) throw new InvalidArgumentError("options.permutations", "an integer ≥ 100", permutations);
  const y = Array.from(labels, (l, i) => {
    if (l === true || l === 1) return 1;
    if (l === false || l === 0) return 0;
    throw new InvalidArgumentError(`labels[${i}]`, "0/1 or a boolean", l);
  });
  const clusterLabels = options.clusters ?? new Array<number>(scores.length).fill(0);
  const groups = [...groupIndices(clusterLabels, scores.length, "options.clusters").entries()].map(([name, idx]) => {
    const pos = idx.filter((i) => y[i] === 1), neg = idx.filter((i) => y[i] === 0);
    if (pos.length === 0 || neg.length === 0) throw new InvalidArgumentError("labels", `both classes in every cluster (cluster ${String(name)} has ${pos.length} positive, ${neg.length} negative)`);
    return { idx, pos, neg };
  });
  const perCluster = groups.map((g) => rocAuc(g.idx.map((i) => scores[i]), g.idx.map((i) => y[i])));
  const estimate = mean(perCluster);
  const rng = toRng(options.seed ?? 0);

  // Stratified bootstrap: resample positives and negatives separately inside each cluster.
  const boot = rng.derive("auc-bootstrap");
  const draws = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    draws[b] = mean(groups.map((g) => {
      const pos = g.pos.map(() => scores[g.pos[boot.int(g.pos.length)]]), neg = g.neg.map(() => scores[g.neg[boot.int(g.neg.length)]]);
      return rocAuc([...pos, ...neg], [...pos.map(() => 1), ...neg.map(() => 0)]);
    }));
  }
  draws.sort();
  const at = (q: number) => draws[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))];
  const bootMean = draws.reduce((a, b) => a + b, 0) / resamples;
  const se = Math.sqrt(draws.reduce((a, b) => a + (b - bootMean) ** 2, 0) / (resamples - 1));

  // Label permutation within clusters: with ranks fixed, AUC = (Σ ranks of positives − n₁(n₁+1)/2) / (n₁n₀).
  const perm = rng.derive("auc-permutation");
  const rankSets = groups.map((g) => ({ ranks: Array.from(averageRanks(g.idx.map((i) => scores[i]))), n1: g.pos.length, n0: g.neg.length }));
  const observed = Math.abs(estimate - 0.5);
  let extreme = 0;
  for (let b = 0; b < permutations; b++) {
    const permuted = mean(rankSets.map(({ ranks, n1, n0 }) => {
      const pool = ranks.slice();
      let sum = 0;
      for (let j = 0; j < n1; j++) { // partial Fisher–Yates: the first n1 draws are the "positives"
        const k = j + perm.int(pool.length - j);
        [pool[j], pool[k]] = [pool[k], pool[j]];
        sum += pool[j];
      }
      return (sum - (n1 * (n1 + 1)) / 2) / (n1 * n0);
    }));
    if (Math.abs(permuted - 0.5) >= observed - 1e-12) extreme++;
  }
  const p = (1 + extreme) / (1 + permutations);
  const verdict: Direction = p < alpha && estimate !== 0.5 ? (estimate > 0.5 ? "positive" : "negative") : "inconclusive";
  const clustered = options.clusters !== undefined;
  return {
    verdict, p, n: scores.length, clusters: groups.length, estimate, perCluster,
    test: clustered && groups.length > 1 ? `label permutation test within ${groups.length} clusters (${permutations} permutations)` : `label permutation test (${permutations} permutations)`,
    interval: { lo: at(alpha / 2), hi: at(1 - alpha / 2), level: 1 - alpha, method: clustered && groups.length > 1 ? "bootstrap within cluster and class" : "bootstrap within class" },
    minDetectableEffect: (normalQuantile(1 - alpha / 2) + normalQuantile(power)) * se,
    alpha,
  };
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
