/**
 * Attribution quality, independent of downstream accuracy: the linear datamodeling score (LDS;
 * Park et al., "TRAK", ICML 2023) and a TRAK-style kernel scorer.
 *
 *  - `linearDatamodelingScore(scores, subsets, losses)`: for each target example z, the Spearman
 *    correlation, over M random training subsets S_j, between the loss the attribution predicts,
 *    −Σ_{i∈S_j} τ(z, i), and the loss measured after training on S_j. Convention: τ(z, i) > 0 means
 *    "training on i lowers z's loss" (a LESS cosine, a TRAK score). LDS is reported per target
 *    example and averaged; a target whose measured losses or predictions do not vary has no ρ
 *    (NaN, counted in `undefinedTargets`, left out of the mean).
 *  - `kernelScores(pool, targets, {lambda})`: τ(z, i) = φ_zᵀ (ΦᵀΦ + λI)⁻¹ φ_i with Φ the pool's
 *    feature rows — TRAK's one-step Newton kernel on whatever features it is given (TRAK uses
 *    plain projected gradients; pass what you have and name it). λ is relative to the mean
 *    diagonal of ΦᵀΦ (default 1e-2). Cholesky in float64; d up to a few thousand.
 */
import { EmptyInputError, InvalidArgumentError, ShapeError } from "../errors";
import { checkOptions, option } from "../options";
import { spearman } from "../metrics/ranking";
import { FeatureRows, checkRowsNamed } from "./rows";

/** The LDS of one attribution: per target example, and their mean. */
export interface LdsResult {
  /** ρ per target example (NaN where undefined). */
  perTarget: number[];
  /** Mean of the defined ρ (NaN if none). */
  mean: number;
  subsets: number;
  undefinedTargets: number;
}

/**
 * LDS of an attribution. scores[z][i]: target z, pool row i. subsets[j]: the pool rows of subset j.
 * losses[j][z]: target z's loss after training on subset j.
 */
export function linearDatamodelingScore(scores: readonly ArrayLike<number>[], subsets: readonly (readonly number[])[], losses: readonly (readonly number[])[]): LdsResult {
  if (!Array.isArray(scores) || scores.length === 0) throw new EmptyInputError("scores", "one score row per target example");
  if (!Array.isArray(subsets) || subsets.length < 3) throw new InvalidArgumentError("subsets", "at least 3 training subsets", Array.isArray(subsets) ? subsets.length : subsets);
  if (!Array.isArray(losses) || losses.length !== subsets.length) throw new ShapeError("losses", `[${Array.isArray(subsets) ? subsets.length : "?"}, ${scores.length}] (one loss row per subset)`, Array.isArray(losses) ? [losses.length] : String(losses));
  const poolSize = scores[0].length;
  scores.forEach((row, z) => { if (row.length !== poolSize) throw new ShapeError(`scores[${z}]`, `[${poolSize}]`, [row.length]); });
  subsets.forEach((s, j) => { if (!Array.isArray(s) || !s.every((i) => Number.isInteger(i) && i >= 0 && i < poolSize)) throw new InvalidArgumentError(`subsets[${j}]`, `pool row indices in [0, ${poolSize})`, s); });
  losses.forEach((row, j) => {
    if (!Array.isArray(row) || row.length !== scores.length) throw new ShapeError(`losses[${j}]`, `[${scores.length}]`, Array.isArray(row) ? [row.length] : String(row));
    row.forEach((v, z) => { if (!Number.isFinite(v)) throw new InvalidArgumentError(`losses[${j}][${z}]`, "a finite loss", v); });
  });
  const perTarget = scores.map((row, z) => {
    const predicted = subsets.map((s) => -s.reduce((sum: number, i: number) => sum + row[i], 0));
    const measured = losses.map((l) => l[z]);
    const spread = (v: number[]) => v.some((x) => x !== v[0]);
    return spread(predicted) && spread(measured) ? spearman(predicted, measured) : NaN;
  });
  const defined = perTarget.filter((r) => Number.isFinite(r));
  return { perTarget, mean: defined.length > 0 ? defined.reduce((a, b) => a + b, 0) / defined.length : NaN, subsets: subsets.length, undefinedTargets: perTarget.length - defined.length };
}

/** Options of `kernelScores`. */
export interface KernelScoreOptions {
  /** Ridge λ relative to the mean diagonal of ΦᵀΦ. Default 1e-2. */
  lambda?: number;
}

/** TRAK-style kernel attribution τ(z, i) = φ_zᵀ (ΦᵀΦ + λI)⁻¹ φ_i; rows: targets, columns: pool. */
export function kernelScores(pool: FeatureRows, targets: FeatureRows, options: KernelScoreOptions = {}): Float64Array[] {
  checkOptions("options", options, { lambda: option.positiveNumber });
  const d = checkRowsNamed("pool", pool);
  checkRowsNamed("targets", targets, d, "pool");
  const n = pool.length;
  const gram = new Float64Array(d * d);
  for (const row of pool) for (let a = 0; a < d; a++) { const ra = row[a]; if (ra === 0) continue; for (let b = a; b < d; b++) gram[a * d + b] += ra * row[b]; }
  let trace = 0;
  for (let a = 0; a < d; a++) trace += gram[a * d + a];
  const lambda = (options.lambda ?? 1e-2) * Math.max(trace / d, Number.MIN_VALUE);
  for (let a = 0; a < d; a++) { gram[a * d + a] += lambda; for (let b = a + 1; b < d; b++) gram[b * d + a] = gram[a * d + b]; }
  const chol = cholesky(gram, d);
  return targets.map((t) => {
    const w = choleskySolve(chol, d, Float64Array.from(t)); // (ΦᵀΦ + λI)⁻¹ φ_z
    return Float64Array.from({ length: n }, (_, i) => { let s = 0; const r = pool[i]; for (let q = 0; q < d; q++) s += w[q] * r[q]; return s; });
  });
}

function cholesky(a: Float64Array, d: number): Float64Array {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * d + j];
      for (let k = 0; k < j; k++) s -= l[i * d + k] * l[j * d + k];
      if (i === j) {
        if (!(s > 0)) throw new InvalidArgumentError("pool", "features whose ridge-regularised Gram matrix is positive definite", `pivot ${s} at ${i}`);
        l[i * d + i] = Math.sqrt(s);
      } else l[i * d + j] = s / l[j * d + j];
    }
  }
  return l;
}

function choleskySolve(l: Float64Array, d: number, b: Float64Array): Float64Array {
  const y = new Float64Array(d);
  for (let i = 0; i < d; i++) { let s = b[i]; for (let k = 0; k < i; k++) s -= l[i * d + k] * y[k]; y[i] = s / l[i * d + i]; }
  const x = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) { let s = y[i]; for (let k = i + 1; k < d; k++) s -= l[k * d + i] * x[k]; x[i] = s / l[i * d + i]; }
  return x;
}
