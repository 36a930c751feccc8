/**
 * Percentile bootstrap confidence intervals, seeded. Use for a statistic of many independent rows
 * whose sampling distribution has no handy closed form (Spearman ρ, say). Resamples indices with
 * replacement; a resample on which the statistic is undefined is redrawn, and the count of redraws
 * is reported. Not for a handful of values: a percentile bootstrap over 2–5 seeds excludes 0 far
 * more often than its nominal 5% (use `pairedVerdict`); not for AUCs (use `aucVerdict`, which
 * resamples within class and cluster).
 *
 * `clusterBootstrapInterval` resamples whole clusters (e.g. seeds) for a statistic of clustered
 * rows; it needs enough clusters to mean anything (≥ 10 is a common rule of thumb).
 */
import { EmptyInputError, InvalidArgumentError } from "../errors";
import { checkOptions, option } from "../options";
import { Rng, Seed, toRng } from "../random";

/** Options of the bootstrap intervals: resamples, level and seed. */
export interface BootstrapOptions {
  resamples?: number;
  /** Central coverage, e.g. 0.95. */
  level?: number;
  seed: Seed | Rng;
}

/** A bootstrap interval: estimate, bounds, level, resamples, and how many resamples were redrawn. */
export interface BootstrapInterval {
  estimate: number;
  lo: number;
  hi: number;
  level: number;
  resamples: number;
  /** Resamples redrawn because the statistic threw or was not finite on them. */
  redrawn: number;
}

/** `statistic(indices)` computes the statistic on the sample rows at those indices. */
export function bootstrapInterval(n: number, statistic: (indices: number[]) => number, options: BootstrapOptions): BootstrapInterval {
  // options are required (the seed is): a missing object or a statistic that is not a function is
  // named here, not found as a TypeError inside the resampling loop.
  if (options === undefined) throw new InvalidArgumentError("options", "{seed, resamples?, level?} (the seed makes the interval reproducible)");
  checkOptions("options", options, { resamples: option.any, level: option.any, seed: option.any }); // checked below and by toRng
  if (options.seed === undefined) throw new InvalidArgumentError("options.seed", "a seed (number, string or Rng)");
  if (typeof statistic !== "function") throw new InvalidArgumentError("statistic", "a function (indices) => number", statistic);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("n", "a non-negative integer", n);
  if (n === 0) throw new EmptyInputError("n", "a sample of at least one row");
  const resamples = options.resamples ?? 1000;
  const level = options.level ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 10) throw new InvalidArgumentError("options.resamples", "an integer ≥ 10", resamples);
  if (!(level > 0 && level < 1)) throw new InvalidArgumentError("options.level", "a number in (0, 1)", level);
  const all = Array.from({ length: n }, (_, i) => i);
  const estimate = statistic(all);
  const rng = toRng(options.seed).derive("bootstrap");
  const values: number[] = [];
  let redrawn = 0;
  while (values.length < resamples) {
    if (redrawn > 20 * resamples) throw new InvalidArgumentError("statistic", "a statistic defined on most resamples");
    const idx = all.map(() => rng.int(n));
    let v: number;
    try {
      v = statistic(idx);
    } catch {
      redrawn++;
      continue;
    }
    if (!Number.isFinite(v)) { redrawn++; continue; }
    values.push(v);
  }
  values.sort((a, b) => a - b);
  const at = (q: number) => values[Math.min(values.length - 1, Math.max(0, Math.floor(q * values.length)))];
  return { estimate, lo: at((1 - level) / 2), hi: at(1 - (1 - level) / 2), level, resamples, redrawn };
}

/**
 * Cluster bootstrap: resamples whole clusters with replacement; `statistic(clusterIndices)` gets
 * the indices of the clusters drawn (0 … clusters−1, repeats allowed) and computes the statistic
 * on their rows.
 */
export function clusterBootstrapInterval(clusters: number, statistic: (clusterIndices: number[]) => number, options: BootstrapOptions): BootstrapInterval {
  if (!Number.isInteger(clusters) || clusters < 2) throw new InvalidArgumentError("clusters", "an integer ≥ 2 (one cluster has no between-cluster spread)", clusters);
  return bootstrapInterval(clusters, statistic, options);
}
