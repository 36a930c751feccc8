/**
 * Concentration statistics of one vector — in gradlab, the PRISM probe vector of per-matrix
 * gradient norms (specs/prism.md "Score"). Plain JS with Float64 accumulation: probe vectors are
 * small and live on the CPU, so tfjs would only add transfer and tensor bookkeeping.
 *
 * Which to use when:
 *  - `gini`     the paper's main score; bounded in [0, (N−1)/N]; needs one sort (a radix sort
 *               above 2000 entries, see sort.ts: ~0.3 s for 10⁷ float32 values).
 *  - `kurtosis` / `excessKurtosis`  tail weight (Pearson m4/σ⁴, population moments); driven by the
 *               few largest entries, so it reacts to one outlier matrix more than Gini does.
 *  - `cv`       σ/μ (population σ); two linear passes, cheapest; unbounded (√(N−1) for one-hot).
 *  - `hoyer`    L1/L2 sparsity rescaled to [0, 1]: 0 uniform, 1 one-hot.
 *  - `entropy`  normalised Shannon entropy of x/Σx in [0, 1]; note it runs the OTHER way:
 *               1 = uniform (diffuse), 0 = one-hot (concentrated).
 *  - `topKMass` share of the total held by the k largest entries (default k = ⌈N/10⌉).
 *  - `l2`       magnitude; NOT scale-invariant — the "route by gradient magnitude" baseline.
 *
 * Input domain (decided here, tested in test/metrics.test.ts):
 *  | metric            | negatives | all zeros | N = 1       | constant vector |
 *  | gini              | error     | error     | 0           | 0               |
 *  | cv                | error     | error     | 0           | 0               |
 *  | hoyer             | error     | error     | 0 (conv.)   | 0               |
 *  | entropy           | error     | error     | 1 (conv.)   | 1               |
 *  | topKMass          | error     | error     | 1           | k/N             |
 *  | kurtosis (+excess)| allowed   | error     | error       | error (0/0)     |
 *  | l2                | allowed   | 0         | |x₀|        | |c|·√N          |
 * Any finite input gives a finite result, also at the ends of float64's range: every sum runs over
 * x/max|x| ∈ [−1, 1], never over x itself, so [1e308, 1e308, 1] cannot overflow Σx and subnormal
 * inputs never meet a reciprocal that overflows. test/numerics-extreme.test.ts checks this against
 * exact rational arithmetic: within 1e-12 for the bounded scores, relative 1e-10 for cv and
 * kurtosis when the spread is at least 1e-3 of max|x| (below that, x/max|x| − mean loses digits in
 * any float64 algorithm). The one exception is l2, whose value can exceed float64
 * (√3·1.7e308): that is an InvalidArgumentError, not a silent Infinity.
 * Gini/CV/Hoyer/entropy/top-k describe how a total of magnitudes is shared out, so a negative
 * entry has no meaning (CV's μ could even be ≤ 0); kurtosis is a shape statistic of any real
 * sample (shift- and scale-invariant), so signs are allowed, but it is 0/0 without spread.
 * For N = 1 the vector is both "uniform" and "one-hot"; every score reports the diffuse end.
 */

import { EmptyInputError, InvalidArgumentError, NonFiniteError, UnknownOptionError, assertKnownKeys } from "../errors";
import { sortedAscendingCopy, type SortedVector } from "./sort";

/** number[] | Float32Array | Float64Array (any array-like of numbers works). */
export type NumericVector = ArrayLike<number>;

/**
 * One validated vector plus the summaries every metric needs, computed in a single pass.
 * Shared by the batch form so each row is checked and sorted at most once.
 */
export class VectorSummary {
  readonly n: number;
  readonly min: number;
  readonly max: number;
  /**
   * max |x_i|: every sum is taken over x_i / maxAbs, so tiny or huge norms neither underflow nor
   * overflow. Division, not multiplication by 1/maxAbs: that reciprocal is Infinity below ~5.6e-309.
   */
  readonly maxAbs: number;
  /** Σ x_i / maxAbs, the sum in units of maxAbs: at most N, where Σ x_i itself can overflow. */
  readonly scaledSum: number;
  /** Index of the first negative entry, or −1. */
  readonly firstNegative: number;
  private sortedCache: SortedVector | null = null;

  constructor(readonly argument: string, readonly values: NumericVector) {
    if (values === null || typeof values !== "object" || typeof values.length !== "number") {
      throw new InvalidArgumentError(argument, "an array of numbers (number[], Float32Array or Float64Array)", values);
    }
    const n = values.length;
    if (n === 0) throw new EmptyInputError(argument);
    let min = Infinity, max = -Infinity, firstNegative = -1;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      // typeof check catches strings/undefined in a number[] that Number.isFinite alone would also reject,
      // but reporting them as non-finite is what the user needs to know.
      if (typeof v !== "number" || !Number.isFinite(v)) throw new NonFiniteError(argument, i);
      if (v < min) min = v;
      if (v > max) max = v;
      if (v < 0 && firstNegative < 0) firstNegative = i;
    }
    const maxAbs = Math.max(Math.abs(min), Math.abs(max));
    let scaledSum = 0;
    if (maxAbs > 0) for (let i = 0; i < n; i++) scaledSum += values[i] / maxAbs; // second pass: maxAbs is known only now
    this.n = n; this.min = min; this.max = max; this.firstNegative = firstNegative; this.maxAbs = maxAbs; this.scaledSum = scaledSum;
  }

  /**
   * Ascending copy, computed once: radix sort for long vectors, built-in sort for short ones
   * (see sort.ts). Float32Array input stays float32 — exact, and half the memory traffic.
   */
  sortedAscending(): SortedVector {
    if (this.sortedCache === null) this.sortedCache = sortedAscendingCopy(this.values);
    return this.sortedCache;
  }

  get isConstant(): boolean { return this.min === this.max; }

  /** Gini, CV, Hoyer, entropy and top-k are defined on magnitudes sharing a positive total. */
  requireNonNegativeNonZero(metric: string): void {
    if (this.firstNegative >= 0) {
      throw new InvalidArgumentError(`${this.argument}[${this.firstNegative}]`,
        `a non-negative value (${metric} measures how a total of magnitudes is shared; pass |x| if the sign is irrelevant)`,
        this.values[this.firstNegative]);
    }
    if (this.max === 0) {
      throw new InvalidArgumentError(this.argument,
        `at least one non-zero entry (${metric} is scale-invariant, so it is undefined for an all-zero vector)`, "all zeros");
    }
  }
}

function clamp(value: number, lo: number, hi: number): number {
  return value < lo ? lo : value > hi ? hi : value;
}

/**
 * Σ (2j − N − 1)·x_(j) / (N·Σx), j = 1..N on ascending x — algebraically the spec's
 * 2Σ j·x_(j)/(NΣx) − (N+1)/N, but without subtracting two near-equal numbers, so a constant
 * vector gives exactly 0 and small Ginis keep their relative precision.
 */
function giniOf(s: VectorSummary): number {
  s.requireNonNegativeNonZero("gini");
  if (s.isConstant) return 0;
  const sorted = s.sortedAscending(), n = s.n, maxAbs = s.maxAbs;
  let weighted = 0; // |term| ≤ N, so the sum stays below N² however large x is
  for (let j = 0; j < n; j++) weighted += (2 * j + 1 - n) * (sorted[j] / maxAbs);
  return clamp(weighted / (n * s.scaledSum), 0, (n - 1) / n);
}

/** Population central moments of x / maxAbs (scale-free, so no overflow in the 4th power). */
function centralMoments(s: VectorSummary): { mean: number; m2: number; m4: number } {
  const maxAbs = s.maxAbs, n = s.n, x = s.values;
  const mean = s.scaledSum / n;
  let m2 = 0, m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i] / maxAbs - mean, d2 = d * d;
    m2 += d2; m4 += d2 * d2;
  }
  return { mean, m2: m2 / n, m4: m4 / n };
}

function pearsonKurtosisOf(s: VectorSummary): number {
  if (s.isConstant) {
    throw new InvalidArgumentError(s.argument,
      `a vector with spread (kurtosis m4/σ⁴ is 0/0 when all ${s.n} entries are equal${s.n === 1 ? ", as for N = 1" : ""})`, `constant ${s.min}`);
  }
  const { m2, m4 } = centralMoments(s);
  if (m2 === 0) throw new InvalidArgumentError(s.argument, "a vector with spread (variance underflowed to 0)", "near-constant values");
  return m4 / (m2 * m2);
}

function cvOf(s: VectorSummary): number {
  s.requireNonNegativeNonZero("cv");
  if (s.isConstant) return 0;
  const { mean, m2 } = centralMoments(s);
  return Math.sqrt(m2) / mean;
}

/** Σ (x/maxAbs)² — the squared L2 norm in units of maxAbs. */
function scaledSquareSum(s: VectorSummary): number {
  const maxAbs = s.maxAbs, x = s.values;
  let acc = 0;
  for (let i = 0; i < s.n; i++) { const v = x[i] / maxAbs; acc += v * v; }
  return acc;
}

function hoyerOf(s: VectorSummary): number {
  s.requireNonNegativeNonZero("hoyer");
  if (s.n === 1 || s.isConstant) return 0;
  const rootN = Math.sqrt(s.n);
  const l1OverL2 = s.scaledSum / Math.sqrt(scaledSquareSum(s));
  // Rounding can push L1/L2 a few ulps outside [1, √N]; the clamp removes only that.
  return clamp((rootN - l1OverL2) / (rootN - 1), 0, 1);
}

function entropyOf(s: VectorSummary): number {
  s.requireNonNegativeNonZero("entropy");
  if (s.n === 1 || s.isConstant) return 1;
  const x = s.values, maxAbs = s.maxAbs, total = s.scaledSum;
  let h = 0;
  for (let i = 0; i < s.n; i++) {
    if (x[i] > 0) { const p = x[i] / maxAbs / total; if (p > 0) h -= p * Math.log(p); } // 0·ln 0 = 0, also when p underflows
  }
  return clamp(h / Math.log(s.n), 0, 1);
}

/** Default k for top-k mass: the top 10% of entries, at least one. */
export function defaultTopK(n: number): number {
  return Math.max(1, Math.ceil(n / 10));
}

function topKMassOf(s: VectorSummary, k: number | undefined, argument = "k"): number {
  s.requireNonNegativeNonZero("topKMass");
  const kk = k ?? defaultTopK(s.n);
  if (!Number.isInteger(kk) || kk < 1 || kk > s.n) throw new InvalidArgumentError(argument, `an integer in [1, ${s.n}] (the vector's length)`, kk);
  if (kk === s.n) return 1;
  const sorted = s.sortedAscending(), maxAbs = s.maxAbs;
  let top = 0;
  for (let j = s.n - kk; j < s.n; j++) top += sorted[j] / maxAbs;
  return clamp(top / s.scaledSum, 0, 1);
}

function l2Of(s: VectorSummary): number {
  if (s.maxAbs === 0) return 0;
  const norm = s.maxAbs * Math.sqrt(scaledSquareSum(s));
  if (norm === Infinity) {
    throw new InvalidArgumentError(s.argument, "a vector whose Euclidean norm fits in float64 (at most 1.8e308)",
      `a norm of ${s.maxAbs.toExponential(3)}·√${scaledSquareSum(s).toPrecision(4)}`);
  }
  return norm;
}

// ---- public single-vector functions ----------------------------------------------------------

/** Gini coefficient of a non-negative vector: 0 = all equal, (N−1)/N = one-hot. */
export function gini(x: NumericVector): number { return giniOf(new VectorSummary("x", x)); }
/** Pearson kurtosis m4/σ⁴ with population moments (3 for a normal sample). Any sign allowed. */
export function kurtosis(x: NumericVector): number { return pearsonKurtosisOf(new VectorSummary("x", x)); }
/** Excess kurtosis = Pearson kurtosis − 3. */
export function excessKurtosis(x: NumericVector): number { return pearsonKurtosisOf(new VectorSummary("x", x)) - 3; }
/** Coefficient of variation σ/μ with population σ, for a non-negative vector. */
export function cv(x: NumericVector): number { return cvOf(new VectorSummary("x", x)); }
/** Hoyer sparsity (√N − L1/L2)/(√N − 1): 0 = uniform, 1 = one-hot. */
export function hoyer(x: NumericVector): number { return hoyerOf(new VectorSummary("x", x)); }
/** Normalised Shannon entropy H(x/Σx)/ln N: 1 = uniform, 0 = one-hot. */
export function entropy(x: NumericVector): number { return entropyOf(new VectorSummary("x", x)); }
/** Sum of the k largest entries over the total (k defaults to ⌈N/10⌉). */
export function topKMass(x: NumericVector, k?: number): number { return topKMassOf(new VectorSummary("x", x), k); }
/** Euclidean norm (any sign; 0 for an all-zero vector). */
export function l2(x: NumericVector): number { return l2Of(new VectorSummary("x", x)); }

// ---- registry and batch form -----------------------------------------------------------------

/** Every metric by name, so callers (sweeps, notebooks' parameter cells) can pick one by string. */
export const METRICS = { gini, kurtosis, excessKurtosis, cv, hoyer, entropy, topKMass, l2 } as const;
/** A registered concentration metric; see METRIC_NAMES. */
export type MetricName = keyof typeof METRICS;
/** Names of every registered concentration metric (what `probeTrajectories` scores by default). */
export const METRIC_NAMES = Object.keys(METRICS) as MetricName[];

/** Higher = more concentrated for every metric except `entropy` (reversed) and `l2` (magnitude). */
export const HIGHER_IS_MORE_CONCENTRATED: Readonly<Record<MetricName, boolean>> = {
  gini: true, kurtosis: true, excessKurtosis: true, cv: true, hoyer: true, entropy: false, topKMass: true, l2: false,
};

/** Options of `concentrationScores`. */
export interface ConcentrationOptions {
  /** k for `topKMass` (default ⌈N/10⌉ per row). */
  topK?: number;
}

function isMetricName(name: unknown): name is MetricName {
  return typeof name === "string" && Object.prototype.hasOwnProperty.call(METRICS, name);
}

/** The metric function named `name`; an unknown name lists the valid ones. */
export function metricByName(name: string, argument = "metric"): (x: NumericVector) => number {
  if (!isMetricName(name)) throw new UnknownOptionError(argument, String(name), METRIC_NAMES);
  return METRICS[name];
}

function computeMetric(name: MetricName, s: VectorSummary, options: ConcentrationOptions): number {
  switch (name) {
    case "gini": return giniOf(s);
    case "kurtosis": return pearsonKurtosisOf(s);
    case "excessKurtosis": return pearsonKurtosisOf(s) - 3;
    case "cv": return cvOf(s);
    case "hoyer": return hoyerOf(s);
    case "entropy": return entropyOf(s);
    case "topKMass": return topKMassOf(s, options.topK, "options.topK");
    case "l2": return l2Of(s);
  }
}

/**
 * Every requested metric for every row: `[{gini, kurtosis, …}, …]`. Each row is validated and
 * sorted once; errors name the row (`vectors[3][7]: expected a non-negative value …`).
 * Rows may have different lengths. Use `Float32Array.subarray` to pass rows of a flat matrix
 * without copying.
 */
export function concentrationScores<M extends MetricName = MetricName>(
  vectors: readonly NumericVector[],
  metrics: readonly M[] = METRIC_NAMES as M[],
  options: ConcentrationOptions = {},
): Array<Record<M, number>> {
  if (!Array.isArray(vectors as unknown)) throw new InvalidArgumentError("vectors", "an array of vectors", vectors);
  if (!Array.isArray(metrics as unknown)) throw new InvalidArgumentError("metrics", "an array of metric names", metrics);
  assertKnownKeys("options", options, ["topK"]);
  for (const m of metrics) if (!isMetricName(m)) throw new UnknownOptionError("metrics", String(m), METRIC_NAMES);
  return vectors.map((row, i) => {
    const summary = new VectorSummary(`vectors[${i}]`, row);
    const record = {} as Record<M, number>;
    for (const m of metrics) record[m] = computeMetric(m, summary, options);
    return record;
  });
}
