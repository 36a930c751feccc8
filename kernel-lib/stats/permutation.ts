/**
 * Sign-flip permutation tests for paired differences (arm A − arm B on the same unit: the same
 * seed, task or prompt). Under "no difference" the two arms of a pair are exchangeable, so each
 * difference is as likely to have either sign; the p-value is the share of sign patterns whose
 * statistic is at least as extreme as the observed one.
 *
 * Plain form: statistic Σ dᵢ (the mean, up to n). Stratified form (units within clusters, e.g.
 * tasks within seeds): statistic Σ_s mean_s(d) — every cluster weighs the same however many units
 * it has — and signs flip unit by unit *within* each cluster, so the test generalises over the
 * units of these clusters (tasks, for these trained models), conditional on the clusters.
 *
 * How p is computed, in order of preference:
 *  1. closed form when every non-zero weighted difference has the same size (binary outcomes with
 *     equal cluster sizes): the exact binomial of the sign test, any n;
 *  2. exact enumeration of all 2^m sign patterns of the m non-zero differences when m ≤ 20
 *     (a Gray-code walk: one addition per pattern);
 *  3. seeded Monte Carlo beyond: p = (1 + #{as extreme}) / (1 + resamples), never 0.
 * Zero differences cannot change sign and are left out of the pattern count.
 */
import { EmptyInputError, InvalidArgumentError, assertFinite, assertKnownKeys } from "../errors";
import { Rng, Seed, toRng } from "../random";
import { Alternative, checkAlternative, signTest } from "./sign-test";

/** Options of the sign-flip tests. */
export interface SignFlipOptions {
  alternative?: Alternative;
  /** Largest number of sign patterns enumerated exactly (default 2^20, at most 2^30). */
  maxExactPatterns?: number;
  /** Monte Carlo resamples beyond that (default 20000). */
  resamples?: number;
  /** Seed of the Monte Carlo stream (default 0, so a p-value is reproducible). */
  seed?: Seed | Rng;
}

/**
 * What a sign-flip test returns: p, the statistic, the method (exact or Monte Carlo), the non-zero
 * differences and the sign patterns used.
 */
export interface SignFlipResult {
  p: number;
  /** The observed statistic: the mean difference (plain) or the mean of cluster means (stratified). */
  statistic: number;
  /** "closed form", "exact" or "monte carlo". */
  method: "closed form" | "exact" | "monte carlo";
  /** Non-zero differences (the units whose sign can flip). */
  nonZero: number;
  /** Sign patterns enumerated, or Monte Carlo resamples drawn. */
  patterns: number;
}

const OPTION_KEYS = ["alternative", "maxExactPatterns", "resamples", "seed"];

/** Exact (or seeded Monte Carlo) sign-flip test of the mean of paired differences. */
export function signFlipTest(differences: ArrayLike<number>, options: SignFlipOptions = {}): SignFlipResult {
  checkDifferences(differences);
  const n = differences.length;
  const values = Float64Array.from(differences, (d) => d / n);
  return weightedSignFlip(values, options);
}

/**
 * Stratified sign-flip test: `clusters[i]` names the cluster (e.g. the seed) of `differences[i]`.
 * The statistic is the mean over clusters of each cluster's mean difference.
 */
export function stratifiedSignFlipTest(differences: ArrayLike<number>, clusters: ArrayLike<number | string>, options: SignFlipOptions = {}): SignFlipResult {
  checkDifferences(differences);
  const groups = groupIndices(clusters, differences.length);
  const values = new Float64Array(differences.length);
  for (const members of groups.values()) for (const i of members) values[i] = differences[i] / (members.length * groups.size);
  return weightedSignFlip(values, options);
}

/** Unit indices per cluster, in first-seen order; checks lengths and labels. */
export function groupIndices(clusters: ArrayLike<number | string>, n: number, argument = "clusters"): Map<number | string, number[]> {
  if (clusters.length !== n) throw new InvalidArgumentError(argument, `one cluster label per difference (${n})`, `length ${clusters.length}`);
  const groups = new Map<number | string, number[]>();
  for (let i = 0; i < n; i++) {
    const c = clusters[i];
    if (!(typeof c === "string" || (typeof c === "number" && Number.isFinite(c)))) throw new InvalidArgumentError(`${argument}[${i}]`, "a finite number or a string", c);
    const members = groups.get(c);
    if (members) members.push(i); else groups.set(c, [i]);
  }
  return groups;
}

/** Checks a vector of paired differences: array-like, non-empty, finite. */
export function checkDifferences(differences: ArrayLike<number>): void {
  if (differences === null || typeof differences !== "object" || typeof differences.length !== "number") throw new InvalidArgumentError("differences", "an array of numbers", differences);
  if (differences.length === 0) throw new EmptyInputError("differences", "at least one paired difference");
  assertFinite("differences", differences);
}

/** The test on T = Σ vᵢ against T* = Σ εᵢ vᵢ with independent fair signs εᵢ. */
function weightedSignFlip(values: Float64Array, options: SignFlipOptions): SignFlipResult {
  assertKnownKeys("options", options, OPTION_KEYS);
  const alternative = checkAlternative("options.alternative", options.alternative);
  const maxExact = options.maxExactPatterns ?? 2 ** 20;
  const resamples = options.resamples ?? 20000;
  // Above 2^30 the walk would take minutes (and its 32-bit Gray-code arithmetic breaks past 2^32).
  if (!Number.isInteger(maxExact) || maxExact < 1 || maxExact > 2 ** 30) throw new InvalidArgumentError("options.maxExactPatterns", "an integer in [1, 2^30]", maxExact);
  if (!Number.isInteger(resamples) || resamples < 100) throw new InvalidArgumentError("options.resamples", "an integer ≥ 100", resamples);

  const nonZero = Array.from(values).filter((v) => v !== 0);
  let statistic = 0, scale = 0;
  for (const v of nonZero) { statistic += v; scale += Math.abs(v); }
  const m = nonZero.length;
  if (m === 0) return { p: 1, statistic: 0, method: "closed form", nonZero: 0, patterns: 1 };
  // Sums that differ only by rounding must count as "as extreme" (the observed pattern itself, ties).
  const tol = 1e-9 * scale;
  const asExtreme = (t: number) => alternative === "greater" ? t >= statistic - tol : alternative === "less" ? t <= statistic + tol : Math.abs(t) >= Math.abs(statistic) - tol;

  const size = Math.abs(nonZero[0]);
  if (nonZero.every((v) => Math.abs(Math.abs(v) - size) <= 1e-12 * size)) {
    const positive = nonZero.filter((v) => v > 0).length;
    return { p: signTest(positive, m - positive, alternative), statistic, method: "closed form", nonZero: m, patterns: 2 ** Math.min(m, 1023) };
  }
  if (m <= Math.log2(maxExact)) {
    // Gray code: pattern g and g+1 differ in one sign, so each step is one update of the sum.
    let t = -statistic; // all signs flipped: every εᵢ = −1
    const signs = new Int8Array(m).fill(-1);
    let count = asExtreme(t) ? 1 : 0;
    const total = 2 ** m;
    for (let g = 1; g < total; g++) {
      const bit = 31 - Math.clz32(g & -g);
      t += -2 * signs[bit] * nonZero[bit];
      signs[bit] = -signs[bit] as -1 | 1;
      if (asExtreme(t)) count++;
    }
    return { p: count / total, statistic, method: "exact", nonZero: m, patterns: total };
  }
  const rng = toRng(options.seed ?? 0).derive("sign-flip");
  let count = 0;
  for (let b = 0; b < resamples; b++) {
    let t = 0;
    for (let i = 0; i < m; i++) t += rng.rademacher() * nonZero[i];
    if (asExtreme(t)) count++;
  }
  return { p: (1 + count) / (1 + resamples), statistic, method: "monte carlo", nonZero: m, patterns: resamples };
}
