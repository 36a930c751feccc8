/**
 * Token batches for the sequence models (transformer, GRU): validation of tokens and loss masks,
 * and the masked next-token cross-entropy that is both the training loss and the PRISM probe loss.
 *
 * Loss-mask convention: lossMask[b][t] = 1 marks token t as a *target* — a response/action token
 * the model must predict from tokens 0 … t−1 (logits at position t−1). Position 0 has nothing
 * before it, so its mask must be 0. Per-example loss = mean cross-entropy over that example's
 * target tokens (so long and short responses weigh the same); the batch loss = mean over examples.
 * An example without any target token is an error, not a silent 0/0.
 *
 * Errors name rows by the caller's example index: a function that cuts a larger set into batches
 * (the probe, SFT minibatches, feature batches) passes `rows` — the index of each batch row in its
 * input — or, better, prepares the whole set once and cuts the prepared batch with `rows()`.
 */
import { tf } from "../tf";
import { oneHotFloat } from "./ops";
import { EmptyInputError, InvalidArgumentError, NonFiniteError, ShapeError } from "../errors";
import type { PreparedBatch } from "./dense-sites";

/** Token ids or mask values as a [B, T] tensor or nested array. */
export type TokenInput = tf.Tensor | number[][];

/**
 * A batch for the token models: token ids and a loss mask (1 on target tokens), one row per
 * example.
 */
export interface TokenBatch {
  tokens: TokenInput;
  /** 1 = target token (its prediction enters the loss), 0 = context or padding. */
  lossMask: TokenInput;
}

/**
 * A token batch after validation (`prepareBatch` of a token model): tokens, loss mask and the
 * per-position cross-entropy weights; `rows(indices)` cuts a sub-batch.
 */
export class PreparedTokenBatch implements PreparedBatch {
  /** Cross-entropy weight of the prediction made at position t: mask[t+1] / targets in the row. */
  readonly predictionWeights: Float32Array;

  constructor(readonly tokens: Int32Array, readonly lossMask: Float32Array, readonly size: number, readonly length: number) {
    this.predictionWeights = new Float32Array(size * length);
    for (let b = 0; b < size; b++) {
      let count = 0;
      for (let t = 1; t < length; t++) count += lossMask[b * length + t];
      for (let t = 0; t + 1 < length; t++) this.predictionWeights[b * length + t] = lossMask[b * length + t + 1] / count;
    }
  }

  /**
   * The rows `indices` (in that order) as a batch of their own, without validating again: how a
   * caller that validated a whole set up front cuts it into minibatches (same numbers bit for bit
   * as preparing each minibatch from its arrays).
   */
  rows(indices: readonly number[]): PreparedTokenBatch {
    if (!Array.isArray(indices) || indices.length === 0) throw new InvalidArgumentError("indices", "a non-empty array of row indices", indices);
    const T = this.length;
    const tokens = new Int32Array(indices.length * T), lossMask = new Float32Array(indices.length * T);
    indices.forEach((index, j) => {
      if (!Number.isInteger(index) || index < 0 || index >= this.size) throw new InvalidArgumentError(`indices[${j}]`, `an integer in [0, ${this.size})`, index);
      tokens.set(this.tokens.subarray(index * T, (index + 1) * T), j * T);
      lossMask.set(this.lossMask.subarray(index * T, (index + 1) * T), j * T);
    });
    return new PreparedTokenBatch(tokens, lossMask, indices.length, T);
  }

  example(index: number): PreparedTokenBatch {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) throw new InvalidArgumentError("index", `an integer in [0, ${this.size})`, index);
    const T = this.length;
    return new PreparedTokenBatch(this.tokens.slice(index * T, (index + 1) * T), this.lossMask.slice(index * T, (index + 1) * T), 1, T);
  }

  /** The tokens as an int32 [B, T] tensor (caller disposes / tidies). */
  tokensTensor(): tf.Tensor2D {
    return tf.tensor2d(this.tokens, [this.size, this.length], "int32");
  }

  /** Next token of each position (0 at the last position, whose weight is 0). */
  nextTokens(): Int32Array {
    const out = new Int32Array(this.size * this.length);
    for (let b = 0; b < this.size; b++) {
      for (let t = 0; t + 1 < this.length; t++) out[b * this.length + t] = this.tokens[b * this.length + t + 1];
    }
    return out;
  }
}

/**
 * Which example of the caller's input each batch row is, for error messages: the index of row 0
 * (rows are consecutive) or one index per row (a shuffled minibatch). Default 0: the batch is the
 * caller's whole input.
 */
export type RowIndex = number | readonly number[];

/** The caller's index of batch row `b`. */
export function rowIndexOf(rows: RowIndex | undefined, b: number): number {
  if (rows === undefined) return b;
  return typeof rows === "number" ? rows + b : rows[b] ?? b;
}

/** Reads a [B, T] numeric input into a flat array, checking rectangularity and finiteness. */
export function readMatrix(argument: string, input: TokenInput, rows?: RowIndex): { values: Float64Array | Float32Array | Int32Array; shape: [number, number] } {
  const name = (b: number) => `${argument}[${rowIndexOf(rows, b)}]`;
  if (input instanceof tf.Tensor) {
    if (input.rank !== 2) throw new ShapeError(argument, "[batch, length]", input.shape);
    if (input.size === 0) throw new EmptyInputError(argument, "at least one example and one position");
    const values = input.dataSync() as Float32Array | Int32Array;
    const shape = input.shape as number[];
    for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) throw new NonFiniteError(name(Math.floor(i / shape[1])), i % shape[1]);
    return { values: values.slice(), shape: [shape[0], shape[1]] };
  }
  if (!Array.isArray(input)) throw new InvalidArgumentError(argument, "a [batch, length] tensor or array of arrays", input);
  if (input.length === 0) throw new EmptyInputError(argument, "at least one example");
  const T = Array.isArray(input[0]) ? input[0].length : -1;
  if (T <= 0) throw new ShapeError(argument, "[batch, length] with length ≥ 1", Array.isArray(input[0]) ? [input.length, 0] : "a flat array");
  const values = new Float64Array(input.length * T);
  input.forEach((row, b) => {
    if (!Array.isArray(row) || row.length !== T) throw new ShapeError(name(b), `length ${T} (all rows equal)`, Array.isArray(row) ? [row.length] : "not an array");
    for (let t = 0; t < T; t++) {
      const v = row[t];
      if (typeof v !== "number") throw new InvalidArgumentError(`${name(b)}[${t}]`, "a number", v);
      if (!Number.isFinite(v)) throw new NonFiniteError(name(b), t);
      values[b * T + t] = v;
    }
  });
  return { values, shape: [input.length, T] };
}

/** Validates token ids: integers in [0, vocabSize), length ≤ maxLen. `rows`: see RowIndex. */
export function readTokens(argument: string, input: TokenInput, vocabSize: number, maxLen: number, minLength = 1, rows?: RowIndex): { tokens: Int32Array; shape: [number, number] } {
  const { values, shape } = readMatrix(argument, input, rows);
  if (shape[1] > maxLen) throw new ShapeError(argument, `[batch, length ≤ ${maxLen}] (maxLen)`, shape);
  if (shape[1] < minLength) throw new ShapeError(argument, `[batch, length ≥ ${minLength}] (a next-token loss needs a token to predict from)`, shape);
  const tokens = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < 0 || v >= vocabSize) {
      throw new InvalidArgumentError(`${argument}[${rowIndexOf(rows, Math.floor(i / shape[1]))}][${i % shape[1]}]`, `an integer token id in [0, ${vocabSize})`, v);
    }
    tokens[i] = v;
  }
  return { tokens, shape };
}

/**
 * Validates a batch of tokens + loss mask for a model with this vocabulary and maximum length.
 * `rows` names the rows in errors by the caller's example index (see RowIndex).
 */
export function prepareTokenBatch(batch: TokenBatch | PreparedTokenBatch, vocabSize: number, maxLen: number, rows?: RowIndex): PreparedTokenBatch {
  if (batch instanceof PreparedTokenBatch) return batch;
  if (batch === null || typeof batch !== "object") throw new InvalidArgumentError("batch", "an object {tokens, lossMask}", batch);
  if (batch.tokens === undefined) throw new InvalidArgumentError("batch.tokens", "a [batch, length] array of token ids");
  if (batch.lossMask === undefined) throw new InvalidArgumentError("batch.lossMask", "a [batch, length] 0/1 array");
  const { tokens, shape } = readTokens("tokens", batch.tokens, vocabSize, maxLen, 2, rows);
  const mask = readMatrix("lossMask", batch.lossMask, rows);
  if (mask.shape[0] !== shape[0] || mask.shape[1] !== shape[1]) throw new ShapeError("lossMask", `[${shape[0]}, ${shape[1]}] (the tokens' shape)`, mask.shape);
  const [B, T] = shape;
  const lossMask = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    let count = 0;
    for (let t = 0; t < T; t++) {
      const v = mask.values[b * T + t];
      if (v !== 0 && v !== 1) throw new InvalidArgumentError(`lossMask[${rowIndexOf(rows, b)}][${t}]`, "0 or 1", v);
      if (t === 0 && v === 1) throw new InvalidArgumentError(`lossMask[${rowIndexOf(rows, b)}][0]`, "0 (the first token has no prediction; mark targets from position 1 on)", v);
      lossMask[b * T + t] = v;
      count += v;
    }
    if (count === 0) throw new EmptyInputError(`lossMask[${rowIndexOf(rows, b)}]`, `at least one target token per example; example ${rowIndexOf(rows, b)} has none`);
  }
  return new PreparedTokenBatch(tokens, lossMask, B, T);
}

/**
 * Per-example masked next-token cross-entropy [B] from logits [B·T, V] (row b·T + t predicts
 * token t+1 of example b). Call inside a tidy.
 */
export function maskedNextTokenLosses(logits: tf.Tensor2D, batch: PreparedTokenBatch): tf.Tensor1D {
  const [B, T] = [batch.size, batch.length];
  const vocab = logits.shape[1];
  const targets = oneHotFloat(tf.tensor1d(batch.nextTokens(), "int32"), vocab);
  const nll = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), targets), -1));
  const weights = tf.tensor1d(batch.predictionWeights, "float32");
  return tf.sum(tf.reshape(tf.mul(nll, weights), [B, T]), 1) as tf.Tensor1D;
}
