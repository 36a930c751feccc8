/**
 * Row L2-normalisation and cosine-similarity matrices for projected gradient features (LESS and
 * G2IS score by cosine, so features are normalised once and compared by inner products).
 *
 * Which strategy when:
 *  - `l2NormalizeRows` once per feature matrix; a zero row (an example with zero gradient) is an
 *    error by default because its cosine is undefined; `{ zeroRows: "keep" }` leaves it zero, so
 *    its cosine with everything (itself included) reads 0.
 *  - `cosineSimilarityMatrix(a, b)` for the full [n × m] matrix (pool × target scores, or a small
 *    pool × pool). Arrays are multiplied in row blocks of `blockRows` (default 1024) so only one
 *    block's inputs and outputs are on the backend at a time; tensors in → one matMul, tensor out.
 *  - `forEachCosineBlock(a, b, fn)` when the full matrix is too big to keep (pool × pool for a
 *    k-NN graph): each block of rows of the matrix is handed to `fn` and then dropped.
 */
import { tf } from "../tf";
import { InvalidArgumentError, ShapeError, assertKnownKeys, assertOneOf } from "../errors";
import { RowBatch, assertPositiveInteger, checkArrayRows, checkRows, checkTensorRows, isTensor } from "./inputs";

/**
 * What to do with an all-zero row when normalising: "error" (default: a zero gradient usually means
 * a bug) or "keep" (leave it zero).
 */
export const ZERO_ROW_POLICIES = ["error", "keep"] as const;
/** What to do with an all-zero row; see ZERO_ROW_POLICIES. */
export type ZeroRowPolicy = (typeof ZERO_ROW_POLICIES)[number];
/** Options of `l2NormalizeRows`: what to do with all-zero rows. */
export interface NormalizeOptions { zeroRows?: ZeroRowPolicy }
/** Options of the cosine functions: zero-row policy and rows per block. */
export interface CosineOptions extends NormalizeOptions { blockRows?: number }
/** Rows per block when cosine matrices are computed blockwise (bounds memory to blockRows × n). */
export const DEFAULT_COSINE_BLOCK_ROWS = 1024;

/** Each row divided by its L2 norm (arrays: float64 norms; tensors: on the backend, caller disposes). */
export function l2NormalizeRows(rows: readonly Float32Array[], options?: NormalizeOptions): Float32Array[];
export function l2NormalizeRows(rows: tf.Tensor2D, options?: NormalizeOptions): tf.Tensor2D;
export function l2NormalizeRows(rows: RowBatch, options: NormalizeOptions = {}): Float32Array[] | tf.Tensor2D {
  const policy = zeroRowPolicy(options, ["zeroRows"]);
  if (isTensor(rows)) return normalizeTensor("rows", rows, policy);
  return normalizeArrays("rows", rows as readonly Float32Array[], policy);
}

/** cos(a_i, b_j) for all pairs: arrays → n rows of length m; tensors → a [n, m] tensor. */
export function cosineSimilarityMatrix(a: readonly Float32Array[], b: readonly Float32Array[], options?: CosineOptions): Float32Array[];
export function cosineSimilarityMatrix(a: tf.Tensor2D, b: tf.Tensor2D, options?: CosineOptions): tf.Tensor2D;
export function cosineSimilarityMatrix(a: RowBatch, b: RowBatch, options: CosineOptions = {}): Float32Array[] | tf.Tensor2D {
  if (isTensor(a) !== isTensor(b)) throw new InvalidArgumentError("b", `the same kind as a (${isTensor(a) ? "a tensor" : "an array of Float32Array"})`, b);
  if (isTensor(a) && isTensor(b)) {
    const policy = zeroRowPolicy(options, ["zeroRows", "blockRows"]);
    const width = checkTensorRows("a", a);
    checkTensorRows("b", b);
    if (b.shape[1] !== width) throw new ShapeError("b", `[m, ${width}] (the width of a)`, b.shape);
    const an = normalizeTensor("a", a, policy), bn = normalizeTensor("b", b, policy);
    try {
      return tf.matMul(an, bn, false, true) as tf.Tensor2D;
    } finally {
      an.dispose();
      bn.dispose();
    }
  }
  const m = (b as readonly Float32Array[]).length;
  const out: Float32Array[] = [];
  forEachCosineBlock(a as readonly Float32Array[], b as readonly Float32Array[], (_start, values, rows) => {
    for (let i = 0; i < rows; i++) out.push(values.slice(i * m, (i + 1) * m));
  }, options);
  return out;
}

/**
 * Streams the cosine matrix of two arrays of rows in blocks of `blockRows` rows of a:
 * `onBlock(rowStart, values, rows)` gets `values` row-major [rows × m] (valid only during the call).
 */
export function forEachCosineBlock(
  a: readonly Float32Array[], b: readonly Float32Array[],
  onBlock: (rowStart: number, values: Float32Array, rows: number) => void,
  options: CosineOptions = {},
): void {
  const policy = zeroRowPolicy(options, ["zeroRows", "blockRows"]);
  const blockRows = options.blockRows ?? DEFAULT_COSINE_BLOCK_ROWS;
  assertPositiveInteger("options.blockRows", blockRows);
  if (typeof onBlock !== "function") throw new InvalidArgumentError("onBlock", "a function (rowStart, values, rows) => void", onBlock);
  if (isTensor(a) || isTensor(b)) throw new InvalidArgumentError(isTensor(a) ? "a" : "b", "an array of Float32Array rows (use cosineSimilarityMatrix for tensors)");
  const width = checkArrayRows("a", a);
  if (Array.isArray(b) && b.length > 0 && b[0] instanceof Float32Array && b[0].length !== width) {
    throw new ShapeError("b[0]", `[${width}] (the width of a)`, [b[0].length]);
  }
  checkArrayRows("b", b, width);
  const an = normalizeArrays("a", a, policy), bn = normalizeArrays("b", b, policy);
  const bTensor = tf.tensor2d(packRows(bn, 0, bn.length, width), [bn.length, width]);
  try {
    for (let start = 0; start < an.length; start += blockRows) {
      const end = Math.min(an.length, start + blockRows);
      const block = tf.tidy(() => tf.matMul(tf.tensor2d(packRows(an, start, end, width), [end - start, width]), bTensor, false, true));
      const values = block.dataSync() as Float32Array;
      block.dispose();
      onBlock(start, values, end - start);
    }
  } finally {
    bTensor.dispose();
  }
}

function zeroRowPolicy(options: NormalizeOptions, known: string[]): ZeroRowPolicy {
  if (typeof options !== "object" || options === null) throw new InvalidArgumentError("options", "an options object", options);
  assertKnownKeys("options", options, known);
  const policy = options.zeroRows ?? "error";
  assertOneOf("options.zeroRows", policy, ZERO_ROW_POLICIES);
  return policy;
}

function zeroRowError(argument: string, index: number): InvalidArgumentError {
  return new InvalidArgumentError(`${argument}[${index}]`, "a row with non-zero L2 norm (or options.zeroRows = \"keep\")", "an all-zero row");
}

function normalizeArrays(argument: string, rows: readonly Float32Array[], policy: ZeroRowPolicy): Float32Array[] {
  checkRows(argument, rows);
  return rows.map((row, i) => {
    let sumSquares = 0;
    for (let k = 0; k < row.length; k++) sumSquares += row[k] * row[k];
    const norm = Math.sqrt(sumSquares), out = new Float32Array(row.length);
    if (norm === 0) {
      if (policy === "error") throw zeroRowError(argument, i);
      return out;
    }
    for (let k = 0; k < row.length; k++) out[k] = row[k] / norm;
    return out;
  });
}

function normalizeTensor(argument: string, rows: tf.Tensor2D, policy: ZeroRowPolicy): tf.Tensor2D {
  checkTensorRows(argument, rows);
  return tf.tidy(() => {
    const norms = tf.norm(rows, "euclidean", 1, true);
    if (policy === "error") {
      const zero = norms.dataSync().findIndex((x) => x === 0);
      if (zero >= 0) throw zeroRowError(argument, zero);
    }
    // A zero row divided by 1 stays zero ("keep").
    const safe = tf.where(tf.equal(norms, 0), tf.onesLike(norms), norms);
    return tf.div(rows, safe) as tf.Tensor2D;
  });
}

function packRows(rows: readonly Float32Array[], start: number, end: number, width: number): Float32Array {
  const buf = new Float32Array((end - start) * width);
  for (let i = start; i < end; i++) buf.set(rows[i], (i - start) * width);
  return buf;
}
