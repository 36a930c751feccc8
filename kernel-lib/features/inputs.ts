/**
 * Shared input checks for the feature modules. Gradient matrices arrive either as one
 * Float32Array per example (what a per-example gradient loop or a PyTorch import gives) or as a
 * tf.Tensor2D [n, P] (what a batched gradient computation gives); both are validated the same
 * way so every public feature function raises the same typed errors for the same mistakes.
 */
import { tf } from "../tf";
import { EmptyInputError, InvalidArgumentError, NonFiniteError, ShapeError, assertFinite } from "../errors";

/** A batch of row vectors: one Float32Array per example, or a [n, P] tensor. */
export type RowBatch = readonly Float32Array[] | tf.Tensor2D;

export function isTensor(value: unknown): value is tf.Tensor {
  return value instanceof tf.Tensor;
}

/** Positive integer option check with a uniform message. */
export function assertPositiveInteger(argument: string, value: unknown): asserts value is number {
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
    throw new InvalidArgumentError(argument, "a positive integer", value);
  }
}

/**
 * Checks a batch of Float32Array rows: non-empty, each a Float32Array of length `width`
 * (when given), all finite. Returns the common row length.
 */
export function checkArrayRows(argument: string, rows: readonly Float32Array[], width?: number): number {
  if (!Array.isArray(rows)) throw new InvalidArgumentError(argument, "an array of Float32Array rows or a 2-D tensor", rows);
  if (rows.length === 0) throw new EmptyInputError(argument, "at least one row");
  const expected = width ?? (rows[0] instanceof Float32Array ? rows[0].length : -1);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (!(row instanceof Float32Array)) throw new InvalidArgumentError(`${argument}[${i}]`, "a Float32Array", row);
    if (row.length !== expected) throw new ShapeError(`${argument}[${i}]`, `[${expected}]`, [row.length]);
    assertFinite(`${argument}[${i}]`, row);
  }
  return expected;
}

/**
 * Checks a [n, width] tensor: rank 2, non-empty, width as expected, all finite (the finiteness
 * check runs on the backend; only the offending row is downloaded to name the first bad index).
 */
export function checkTensorRows(argument: string, rows: tf.Tensor, width?: number): number {
  if (rows.rank !== 2) throw new ShapeError(argument, `[n, ${width ?? "P"}] (rank 2)`, rows.shape);
  const [n, cols] = rows.shape as [number, number];
  if (n === 0) throw new EmptyInputError(argument, "at least one row");
  if (width !== undefined && cols !== width) throw new ShapeError(argument, `[n, ${width}]`, rows.shape);
  if (rows.dtype !== "float32") throw new InvalidArgumentError(argument, "a float32 tensor", rows.dtype);
  const badRows = tf.tidy(() => tf.logicalNot(tf.isFinite(rows)).any(1).dataSync());
  const first = badRows.findIndex((flag) => flag !== 0);
  if (first >= 0) {
    const row = tf.tidy(() => tf.slice(rows, [first, 0], [1, cols]).dataSync());
    throw new NonFiniteError(`${argument}[${first}]`, row.findIndex((x) => !Number.isFinite(x)));
  }
  return cols;
}

/** Dispatches to the array or tensor check. */
export function checkRows(argument: string, rows: RowBatch, width?: number): number {
  return isTensor(rows) ? checkTensorRows(argument, rows, width) : checkArrayRows(argument, rows as readonly Float32Array[], width);
}

export function numRows(rows: RowBatch): number {
  return isTensor(rows) ? rows.shape[0] : (rows as readonly Float32Array[]).length;
}
