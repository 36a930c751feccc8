/**
 * G2IS step 1, "core knowledge": PCA of the target (validation) gradient matrix V (n × d, rows
 * centred). Keep the fewest principal components whose cumulative explained-variance ratio
 * reaches `valK` (default 0.5); weights are their ratios renormalised to sum 1; components are
 * unit vectors K_i in PCA order (largest variance first).
 *
 * Which strategy when (chosen automatically, or forced with `method`):
 *  - "gram" when n ≤ d (the usual case: tens of targets, d = 512…8192): eigen-decompose the n×n
 *    Gram matrix X·Xᵀ of the centred rows; K_k = Xᵀu_k / √λ_k.
 *  - "covariance" when n > d: eigen-decompose Xᵀ·X (d×d) directly.
 * Both use the Jacobi solver (eigen.ts), limited to min(n, d) ≤ `maxEigenSize` (default 1024).
 * Ratios are λ_k / Σ‖x_i − x̄‖² (the same ratio as sklearn's explained_variance_ratio_; the n−1
 * divisor cancels). Rows are used as given: pass normalised features if the walk uses them.
 *
 * Sign (PCA fixes a component only up to sign; the walk picks its anchor and fallback order by
 * SIGNED cosine with K_i, so the sign decides which end of the pool the walk starts from). Default
 * "largest-positive": the official code runs sklearn's PCA, whose svd_flip (sklearn ≥ 1.5, V-based)
 * makes each component's largest-|entry| positive (first such entry on ties) — this option
 * reproduces sklearn's axes. "mean-aligned" is an ablation, not the official algorithm: flip K_i
 * so the mean target gradient projects non-negatively on it (falls back to largest-positive when
 * that projection is ~0).
 *
 * valK cut. Default "exceed", sklearn's rule for a float n_components: keep
 * searchsorted(cumsum, valK, side="right") + 1 components, i.e. keep adding while the cumulative
 * ratio is ≤ valK (a cumulative ratio of exactly valK takes one more). "reach" stops as soon as the
 * cumulative ratio is ≥ valK (within 1e-12). They differ only when a cumulative ratio equals valK.
 *
 * Degenerate targets (*open*): with one target row, or rows that are all identical, the centred
 * matrix is zero and PCA is undefined; then one component, the normalised mean target gradient,
 * is returned with weight 1 and `method: "mean-direction"` (rather than failing a one-example
 * target set).
 */
import { InvalidArgumentError, assertKnownKeys, assertOneOf } from "../errors";
import { symmetricEigen } from "./eigen";
import { FeatureRows, TargetSubtasks, assertInRange, checkRowsNamed, flattenTargets } from "./rows";

/** The component-sign rules of `coreKnowledge` (see the module header): "largest-positive" is the official one. */
export const COMPONENT_SIGNS = ["mean-aligned", "largest-positive"] as const;
/**
 * How a principal component's sign is fixed: "largest-positive" (scikit-learn's svd_flip, what the
 * official G2IS code gets; the default) or "mean-aligned" (towards the mean target gradient; an ablation).
 */
export type ComponentSign = (typeof COMPONENT_SIGNS)[number];
/** The PCA strategies of `coreKnowledge`: "auto" picks "gram" when n ≤ d, else "covariance". */
export const PCA_METHODS = ["auto", "gram", "covariance"] as const;
/** valK cut rules (see the module header). */
export const VALK_CUTS = ["exceed", "reach"] as const;
/** "exceed": sklearn's float n_components rule (official); "reach": stop at cumulative ≥ valK. */
export type ValKCut = (typeof VALK_CUTS)[number];
/** "gram" eigen-decomposes the n×n Gram matrix, "covariance" the d×d one; "auto" (default) takes the smaller. */
export type PcaMethod = (typeof PCA_METHODS)[number];

/** Options of `coreKnowledge`; every default is the official code's (scikit-learn PCA, valK 0.5). */
export interface CoreKnowledgeOptions {
  /** Cumulative explained-variance ratio to reach, in (0, 1]. Default 0.5. */
  valK?: number;
  /** Component sign: "largest-positive" (sklearn's svd_flip; default, official) or "mean-aligned" (ablation). */
  sign?: ComponentSign;
  /** How the valK threshold cuts the spectrum: "exceed" (sklearn; default) or "reach". */
  valKCut?: ValKCut;
  /** PCA strategy (default "auto": Gram matrix when n ≤ d, covariance otherwise; same components either way). */
  method?: PcaMethod;
  /** Largest eigenproblem the Jacobi solver is allowed (default 1024). */
  maxEigenSize?: number;
}

/** What `coreKnowledge` returns: the kept principal components of the target gradients, their weights and the spectrum. */
export interface CoreKnowledge {
  /** K_i, unit vectors, PCA order. */
  components: Float64Array[];
  /** w_i: kept variance ratios renormalised to sum 1. */
  weights: number[];
  /** The kept components' own explained-variance ratios. */
  varianceRatios: number[];
  /** Every non-trivial component's ratio, descending (the scree). */
  spectrum: number[];
  /** Σ of the kept ratios (≥ valK unless the spectrum ran out). */
  cumulativeRatio: number;
  /** The mean target row (what is subtracted before PCA). */
  mean: Float64Array;
  method: "gram" | "covariance" | "mean-direction";
  numTargets: number;
}

const OPTION_KEYS = ["valK", "sign", "valKCut", "method", "maxEigenSize"];
/** Eigenvalues below this fraction of the total variance are numerical zero (rank deficiency). */
const RELATIVE_ZERO = 1e-12;
/** valK is reached if the cumulative ratio is within this of it (so 0.5 reached "exactly" counts). */
const RATIO_SLACK = 1e-12;

/**
 * G2IS's "core knowledge": the principal components of the target (validation) gradients that
 * together explain `valK` of their variance (default 0.5, the paper's), each weighted by its share
 * of the kept variance — the directions the walk then fills, one budget share each. Defaults
 * reproduce the official code (scikit-learn's PCA sign and valK cut); see the module header for the
 * strategies, the sign and the one-row fallback.
 *
 * @example
 * ```ts
 * const row = (...xs: number[]) => Float32Array.from(xs); // feature rows are Float32Arrays
 * const targets = { algebra: [row(1, 0, 0, 0), row(0.9, 0.1, 0, 0)], geometry: [row(0, 0, 1, 0), row(0, 0.2, 0.8, 0)] };
 * const core = lab.g2is.coreKnowledge(targets, { valK: 0.5 });
 * core.components.length; // components kept (fewest whose cumulative ratio exceeds valK)
 * core.weights;           // their budget shares, summing to 1
 * ```
 */
export function coreKnowledge(targets: FeatureRows | TargetSubtasks, options: CoreKnowledgeOptions = {}): CoreKnowledge {
  assertKnownKeys("options", options, OPTION_KEYS);
  const valK = options.valK ?? 0.5;
  assertInRange("options.valK", valK, 0, 1, true);
  const sign = options.sign ?? "largest-positive";
  assertOneOf("options.sign", sign, COMPONENT_SIGNS);
  const valKCut = options.valKCut ?? "exceed";
  assertOneOf("options.valKCut", valKCut, VALK_CUTS);
  const requested = options.method ?? "auto";
  assertOneOf("options.method", requested, PCA_METHODS);
  const maxEigenSize = options.maxEigenSize ?? 1024;
  if (!Number.isInteger(maxEigenSize) || maxEigenSize < 1) throw new InvalidArgumentError("options.maxEigenSize", "a positive integer", maxEigenSize);
  const rows = flattenTargets("targets", targets);
  const d = checkRowsNamed("targets", rows), n = rows.length;

  const mean = new Float64Array(d);
  for (const row of rows) for (let k = 0; k < d; k++) mean[k] += row[k];
  for (let k = 0; k < d; k++) mean[k] /= n;
  const x = new Float64Array(n * d);
  let total = 0, rawScale = 0;
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) {
    const value = rows[i][k] - mean[k];
    x[i * d + k] = value;
    total += value * value;
    rawScale += rows[i][k] * rows[i][k];
  }

  if (!(total > RELATIVE_ZERO * rawScale)) {
    const norm = euclidean(mean);
    if (norm === 0) throw new InvalidArgumentError("targets", "at least one non-zero target row", "all-zero rows");
    return {
      components: [mean.map((m) => m / norm)], weights: [1], varianceRatios: [1], spectrum: [], cumulativeRatio: 1,
      mean, method: "mean-direction", numTargets: n,
    };
  }

  const method = requested === "auto" ? (n <= d ? "gram" : "covariance") : requested;
  const size = method === "gram" ? n : d;
  if (size > maxEigenSize) {
    throw new InvalidArgumentError("targets", `min(n, d) ≤ ${maxEigenSize} for the Jacobi PCA (or raise options.maxEigenSize)`, `a ${method} matrix of size ${size}`);
  }
  const { values, vectors } = method === "gram" ? symmetricEigen(gram(x, n, d), n) : symmetricEigen(covariance(x, n, d), d);

  const spectrum: number[] = [], components: Float64Array[] = [];
  let cumulative = 0;
  for (let k = 0; k < values.length; k++) {
    if (!(values[k] > RELATIVE_ZERO * total)) break;
    const ratio = values[k] / total;
    spectrum.push(ratio);
    if (valKCut === "exceed" ? cumulative <= valK : cumulative < valK - RATIO_SLACK) {
      components.push(orient(method === "gram" ? principalAxisFromGram(x, n, d, vectors[k]) : vectors[k], mean, sign));
      cumulative += ratio;
    }
  }
  const varianceRatios = spectrum.slice(0, components.length);
  const kept = varianceRatios.reduce((a, b) => a + b, 0);
  return {
    components, weights: varianceRatios.map((r) => r / kept), varianceRatios, spectrum, cumulativeRatio: kept,
    mean, method, numTargets: n,
  };
}

function gram(x: Float64Array, n: number, d: number): Float64Array {
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += x[i * d + k] * x[j * d + k];
    g[i * n + j] = s;
    g[j * n + i] = s;
  }
  return g;
}

function covariance(x: Float64Array, n: number, d: number): Float64Array {
  const c = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let a = 0; a < d; a++) {
      const xa = x[o + a];
      if (xa === 0) continue;
      for (let b = a; b < d; b++) c[a * d + b] += xa * x[o + b];
    }
  }
  for (let a = 0; a < d; a++) for (let b = a + 1; b < d; b++) c[b * d + a] = c[a * d + b];
  return c;
}

/** Xᵀu, renormalised to unit length (= Xᵀu/√λ up to rounding). */
function principalAxisFromGram(x: Float64Array, n: number, d: number, u: Float64Array): Float64Array {
  const axis = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    if (u[i] === 0) continue;
    for (let k = 0; k < d; k++) axis[k] += u[i] * x[i * d + k];
  }
  const norm = euclidean(axis);
  for (let k = 0; k < d; k++) axis[k] /= norm;
  return axis;
}

function orient(axis: Float64Array, mean: Float64Array, sign: ComponentSign): Float64Array {
  const out = Float64Array.from(axis);
  let flip = false, decided = false;
  if (sign === "mean-aligned") {
    let projection = 0, meanNorm = 0;
    for (let k = 0; k < out.length; k++) { projection += out[k] * mean[k]; meanNorm += mean[k] * mean[k]; }
    if (Math.abs(projection) > 1e-9 * Math.sqrt(meanNorm)) { flip = projection < 0; decided = true; }
  }
  if (!decided) {
    let best = 0;
    for (let k = 1; k < out.length; k++) if (Math.abs(out[k]) > Math.abs(out[best]) + 1e-15) best = k;
    flip = out[best] < 0;
  }
  if (flip) for (let k = 0; k < out.length; k++) out[k] = -out[k];
  return out;
}

function euclidean(values: Float64Array): number {
  let s = 0;
  for (let k = 0; k < values.length; k++) s += values[k] * values[k];
  return Math.sqrt(s);
}
