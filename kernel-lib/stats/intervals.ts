/**
 * Confidence intervals for a mean paired difference, closed form (no resampling, so they are the
 * same on every run):
 *  - `tInterval`: mean ± t_{1−α/2, n−1} · s/√n over independent differences (n ≥ 2);
 *  - `stratifiedInterval`: for units within clusters, the mean of cluster means ± t · SE with
 *    SE² = Σ_s s_s² / (n_s S²) and Welch–Satterthwaite degrees of freedom — the interval that
 *    matches the stratified sign-flip test (it treats the clusters as fixed).
 * Both return `null` when the data cannot give a spread (n < 2, or a cluster with one unit).
 */
import { EmptyInputError, InvalidArgumentError, assertFinite } from "../errors";
import { studentTQuantile } from "./distributions";
import { groupIndices } from "./permutation";

/**
 * A confidence interval of a mean: estimate, bounds, level, standard error, degrees of freedom and
 * method.
 */
export interface MeanInterval {
  estimate: number;
  lo: number;
  hi: number;
  /** Central coverage, e.g. 0.95. */
  level: number;
  /** Standard error of the estimate. */
  se: number;
  /** Degrees of freedom of the t quantile used. */
  df: number;
  method: "t" | "stratified t";
}

function checkLevel(level: number): void {
  if (!(level > 0 && level < 1)) throw new InvalidArgumentError("level", "a number in (0, 1)", level);
}

/** Sample mean and unbiased variance. */
export function meanAndVariance(values: ArrayLike<number>): { mean: number; variance: number; n: number } {
  const n = values.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i];
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  return { mean, variance: n > 1 ? ss / (n - 1) : NaN, n };
}

/** Student-t interval of the mean of independent differences; null when n < 2. */
export function tInterval(differences: ArrayLike<number>, level = 0.95): MeanInterval | null {
  if (differences.length === 0) throw new EmptyInputError("differences", "at least one paired difference");
  assertFinite("differences", differences);
  checkLevel(level);
  const { mean, variance, n } = meanAndVariance(differences);
  if (n < 2) return null;
  const se = Math.sqrt(variance / n);
  const half = se === 0 ? 0 : studentTQuantile(1 - (1 - level) / 2, n - 1) * se;
  return { estimate: mean, lo: mean - half, hi: mean + half, level, se, df: n - 1, method: "t" };
}

/** Interval of the mean of cluster means; null when a cluster has fewer than 2 units. */
export function stratifiedInterval(differences: ArrayLike<number>, clusters: ArrayLike<number | string>, level = 0.95): MeanInterval | null {
  if (differences.length === 0) throw new EmptyInputError("differences", "at least one paired difference");
  assertFinite("differences", differences);
  checkLevel(level);
  const groups = [...groupIndices(clusters, differences.length).values()];
  const S = groups.length;
  let estimate = 0, se2 = 0, dfDenominator = 0;
  for (const members of groups) {
    const { mean, variance, n } = meanAndVariance(members.map((i) => differences[i]));
    if (n < 2) return null;
    estimate += mean / S;
    const a = variance / (n * S * S);
    se2 += a;
    dfDenominator += (a * a) / (n - 1);
  }
  const se = Math.sqrt(se2);
  const df = dfDenominator > 0 ? (se2 * se2) / dfDenominator : groups.reduce((s, g) => s + g.length - 1, 0);
  const half = se === 0 ? 0 : studentTQuantile(1 - (1 - level) / 2, df) * se;
  return { estimate, lo: estimate - half, hi: estimate + half, level, se, df, method: "stratified t" };
}
