/**
 * LESS scoring (Xia et al., ICML 2024) on plain feature matrices:
 *
 *   score_i = max_s  mean_{j ∈ subtask s}  Σ_c η_c · cos(Γ_{c,i}, g_{c,j})
 *
 * Γ_c are the pool features at checkpoint c (Adam-preconditioned, projected), g_c the target
 * (validation) gradients at the same checkpoint, grouped by subtask; η_c is that epoch's mean
 * learning rate. Like the released LESS code (matching.py), the η_c are renormalised to sum to 1
 * (ranking does not change; the scale of the scores does) — pass `normalizeWeights: false` to
 * keep them as given.
 *
 * Strategy: for each checkpoint the normalised pool is streamed in blocks of `blockRows` rows
 * (one tfjs matMul per block against all of that checkpoint's normalised target rows),
 * and each block is reduced to per-subtask means at once, so only an N × (#subtasks) float64
 * accumulator is kept — never the N × n_targets matrix. Cost: N·n·d multiply-adds per checkpoint
 * on the backend. All-zero rows score 0 (like torch's normalize with eps), not an error.
 */
import { EmptyInputError, InvalidArgumentError, ShapeError, assertKnownKeys } from "../errors";
import { assertPositiveInteger } from "../features/inputs";
import {
  FeatureRows, TargetSubtasks, checkRowsNamed, forEachProductBlock, namedGroups, normalizePacked, packRows, topKIndices,
} from "./rows";

/** One warm-up checkpoint's inputs to `lessScores`: pool features, target gradients by subtask and the epoch's learning rate. */
export interface LessCheckpoint {
  /** Γ_c: pool features at this checkpoint, one row per pool example (N × d). */
  pool: FeatureRows;
  /** g_c: target features at this checkpoint, grouped by subtask (same subtasks and counts at every checkpoint). */
  targets: TargetSubtasks;
  /** η_c: the epoch's mean learning rate (> 0). */
  weight: number;
}

/** Options of `lessScores`; the defaults are LESS's own (weights renormalised). */
export interface LessOptions {
  /** Pool rows per matMul block (default 1024). */
  blockRows?: number;
  /** Renormalise the checkpoint weights to sum 1, as LESS does (default true). */
  normalizeWeights?: boolean;
}

/** What `lessScores` returns: each pool row's LESS score (max over subtasks) and the per-subtask scores behind it. */
export interface LessScores {
  /** score_i = max over subtasks of the subtask score. */
  scores: Float64Array;
  /** Per subtask s (in `subtasks` order): mean_j Σ_c η_c cos(Γ_{c,i}, g_{c,j}) for every pool row i. */
  subtaskScores: Float64Array[];
  subtasks: string[];
  /** The η_c actually used (renormalised unless `normalizeWeights: false`). */
  weights: number[];
}

const OPTION_KEYS = ["blockRows", "normalizeWeights"];

/**
 * LESS scores of every pool row (see the module header): the checkpoint-weighted cosine with each
 * target subtask's gradients, averaged over the subtask, maximised over subtasks — the released
 * `matching.py`, including its renormalised checkpoint weights. `selectLess` keeps the top-k.
 *
 * @example
 * ```ts
 * const row = (...xs: number[]) => Float32Array.from(xs); // feature rows are Float32Arrays
 * const checkpoint = (lr: number) => ({
 *   pool: [row(1, 0, 0), row(0, 1, 0), row(0.7, 0.7, 0), row(0, 0, 1)],
 *   targets: { math: [row(1, 0.1, 0)], code: [row(0, 0, 1)] },
 *   weight: lr,
 * });
 * const less = lab.g2is.lessScores([checkpoint(2e-3), checkpoint(1e-3)]);
 * less.scores;   // Float64Array(4): rows 0 and 3 score highest (one per subtask)
 * less.weights;  // [2/3, 1/3]
 * ```
 */
export function lessScores(checkpoints: readonly LessCheckpoint[], options: LessOptions = {}): LessScores {
  assertKnownKeys("options", options, OPTION_KEYS);
  const blockRows = options.blockRows ?? 1024;
  assertPositiveInteger("options.blockRows", blockRows);
  if (!Array.isArray(checkpoints)) throw new InvalidArgumentError("checkpoints", "an array of { pool, targets, weight }", checkpoints);
  if (checkpoints.length === 0) throw new EmptyInputError("checkpoints", "at least one checkpoint");

  // Validate everything before computing anything.
  let N = -1, names: string[] = [], counts: number[] = [];
  const prepared = checkpoints.map((cp, c) => {
    const at = `checkpoints[${c}]`;
    if (typeof cp !== "object" || cp === null) throw new InvalidArgumentError(at, "an object { pool, targets, weight }", cp);
    assertKnownKeys(at, cp, ["pool", "targets", "weight"]);
    if (typeof cp.weight !== "number" || !Number.isFinite(cp.weight) || cp.weight <= 0) {
      throw new InvalidArgumentError(`${at}.weight`, "a finite number > 0 (the epoch's mean learning rate)", cp.weight);
    }
    const d = checkRowsNamed(`${at}.pool`, cp.pool);
    if (N === -1) N = cp.pool.length;
    else if (cp.pool.length !== N) throw new ShapeError(`${at}.pool`, `[${N}, d] (the pool size of checkpoints[0])`, [cp.pool.length, d]);
    const groups = namedGroups(`${at}.targets`, cp.targets);
    groups.groups.forEach((g, s) => checkRowsNamed(`${at}.targets.${groups.names[s]}`, g, d, `${at}.pool`));
    const groupCounts = groups.groups.map((g) => g.length);
    if (c === 0) { names = groups.names; counts = groupCounts; } else if (
      groups.names.length !== names.length || groups.names.some((nm, s) => nm !== names[s] || groupCounts[s] !== counts[s])
    ) {
      throw new ShapeError(`${at}.targets`, `subtasks ${names.map((nm, s) => `${nm}:${counts[s]}`).join(", ")} (as checkpoints[0])`,
        groups.names.map((nm, s) => `${nm}:${groupCounts[s]}`).join(", "));
    }
    return { pool: cp.pool, targets: groups.groups.flat(), weight: cp.weight, d };
  });

  const weightSum = prepared.reduce((s, p) => s + p.weight, 0);
  const weights = prepared.map((p) => (options.normalizeWeights ?? true ? p.weight / weightSum : p.weight));
  const S = names.length;
  const starts: number[] = [];
  counts.reduce((offset, count) => { starts.push(offset); return offset + count; }, 0);
  const nTargets = counts.reduce((a, b) => a + b, 0);
  const subtaskScores = names.map(() => new Float64Array(N));

  prepared.forEach((cp, c) => {
    const eta = weights[c];
    const pool = normalizePacked(packRows(`checkpoints[${c}].pool`, cp.pool)).data;
    const targets = normalizePacked(packRows(`checkpoints[${c}].targets`, cp.targets, cp.d)).data;
    forEachProductBlock(pool, N, cp.d, targets, nTargets, blockRows, (rowStart, values, rows) => {
      for (let r = 0; r < rows; r++) {
        const base = r * nTargets;
        for (let s = 0; s < S; s++) {
          let sum = 0;
          for (let j = starts[s], end = starts[s] + counts[s]; j < end; j++) sum += values[base + j];
          subtaskScores[s][rowStart + r] += eta * (sum / counts[s]);
        }
      }
    });
  });

  const scores = new Float64Array(N).fill(-Infinity);
  for (const column of subtaskScores) for (let i = 0; i < N; i++) if (column[i] > scores[i]) scores[i] = column[i];
  return { scores, subtaskScores, subtasks: names, weights };
}

/** LESS selection: the k best pool rows by `lessScores`, best first, ties by lower index. */
export function selectLess(checkpoints: readonly LessCheckpoint[], k: number, options: LessOptions = {}): { indices: number[]; scores: Float64Array } {
  const { scores } = lessScores(checkpoints, options);
  return { indices: topKIndices(scores, k, "k"), scores };
}
