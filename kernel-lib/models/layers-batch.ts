/**
 * Batches and per-example losses for a user's tf.LayersModel (see layers-adapter.ts): inputs and
 * targets are read once into plain Float32Arrays with their per-example shapes, so a prepared
 * batch holds no tensor and can be cut into sub-batches (`rows`) or single examples for free.
 *
 * Which loss when (the model's training loss must be the mean of these over examples, as in
 * Keras, for the Adam state and the per-example gradients to describe the same objective):
 *  - "sparse-categorical-crossentropy": the model ends in softmax (Keras' default,
 *    `fromLogits: false`); targets are class ids; L = −log clip(p_y, 1e-7, 1 − 1e-7) after
 *    renormalising p, exactly what `model.compile({loss: "sparseCategoricalCrossentropy"})` trains.
 *  - "sparse-categorical-crossentropy-logits": the model outputs logits; L = −log softmax(z)_y.
 *  - "mean-squared-error": L = mean over output entries of (y − t)² (Keras' "meanSquaredError").
 *  - a function `(outputs, targets) => losses [B]` for anything else (called inside a tidy; it
 *    must treat each example separately, or per-example gradients mean nothing).
 */
import { tf } from "../tf";
import { EmptyInputError, InvalidArgumentError, NonFiniteError, ShapeError } from "../errors";
import type { PreparedBatch } from "./dense-sites";
import { oneHotFloat } from "./ops";

/** The built-in per-example losses of the tf.LayersModel adapter (see the module header). */
export const LAYERS_LOSSES = ["sparse-categorical-crossentropy", "sparse-categorical-crossentropy-logits", "mean-squared-error"] as const;

/** A custom per-example loss: outputs [B, …] and targets [B, …] in, losses [B] out. */
export type LayersLossFunction = (outputs: tf.Tensor, targets: tf.Tensor) => tf.Tensor1D;

/** A built-in loss name or a custom per-example loss. */
export type LayersLoss = (typeof LAYERS_LOSSES)[number] | LayersLossFunction;

/** Nested number arrays of any depth (one level per tensor dimension). */
export type NestedNumbers = number | NestedNumbers[];

/** What a notebook passes: the model's single input and the targets, as tensors or nested arrays. */
export interface LayersBatch {
  /** [B, …the model's input shape]. */
  inputs: tf.Tensor | NestedNumbers[];
  /** Class ids [B] for the cross-entropy losses, [B, …the output shape] for mean-squared-error. */
  targets: tf.Tensor | NestedNumbers[];
}

/** A validated batch: inputs and targets as flat float32 arrays with per-example shapes. */
export class PreparedLayersBatch implements PreparedBatch {
  /** Rows per example at a dense site; the adapter reports per-example (not per-position) norms. */
  readonly length = 1;

  /**
   * @param inputs     B × ∏inputShape values, example-major.
   * @param inputShape one example's input shape.
   * @param targets    B × ∏targetShape values, example-major.
   * @param targetShape one example's target shape ([] for a class id).
   */
  constructor(
    readonly inputs: Float32Array, readonly inputShape: readonly number[],
    readonly targets: Float32Array, readonly targetShape: readonly number[], readonly size: number,
  ) {}

  /** The one-example batch holding example `index`. */
  example(index: number): PreparedLayersBatch {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) throw new InvalidArgumentError("index", `an integer in [0, ${this.size})`, index);
    return this.rows([index]);
  }

  /** The sub-batch of the given examples, in that order. */
  rows(indices: readonly number[]): PreparedLayersBatch {
    const I = product(this.inputShape), O = product(this.targetShape);
    const inputs = new Float32Array(indices.length * I), targets = new Float32Array(indices.length * O);
    indices.forEach((index, j) => {
      if (!Number.isInteger(index) || index < 0 || index >= this.size) throw new InvalidArgumentError(`indices[${j}]`, `an integer in [0, ${this.size})`, index);
      inputs.set(this.inputs.subarray(index * I, (index + 1) * I), j * I);
      targets.set(this.targets.subarray(index * O, (index + 1) * O), j * O);
    });
    return new PreparedLayersBatch(inputs, this.inputShape, targets, this.targetShape, indices.length);
  }

  /** The inputs as a [B, …inputShape] tensor (caller disposes). */
  inputTensor(): tf.Tensor {
    return tf.tensor(this.inputs, [this.size, ...this.inputShape]);
  }

  /** The targets as a [B, …targetShape] tensor (caller disposes). */
  targetTensor(): tf.Tensor {
    return tf.tensor(this.targets, [this.size, ...this.targetShape]);
  }
}

/** ∏ of a shape (1 for a scalar). */
export function product(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** Reads a tensor or nested array into flat values and a shape; every value must be finite. */
export function readNested(argument: string, input: unknown): { values: Float32Array; shape: number[] } {
  if (input instanceof tf.Tensor) {
    if (input.rank === 0) throw new ShapeError(argument, "[batch, …] (rank ≥ 1)", input.shape);
    const values = Float32Array.from(input.dataSync() as ArrayLike<number>);
    checkFinite(argument, values, input.shape);
    return { values, shape: input.shape.slice() };
  }
  if (!Array.isArray(input)) throw new InvalidArgumentError(argument, "a tensor or a nested array [batch, …]", input);
  const shape: number[] = [];
  for (let level: unknown = input; Array.isArray(level); level = level[0]) {
    if (level.length === 0) throw new EmptyInputError(argument, "no empty dimension");
    shape.push(level.length);
  }
  const values = new Float32Array(product(shape));
  let at = 0;
  const walk = (node: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof node !== "number") throw new InvalidArgumentError(`${argument}${path}`, "a number", node);
      if (!Number.isFinite(node)) throw new NonFiniteError(`${argument}${path}`, 0);
      values[at++] = node;
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw new ShapeError(`${argument}${path}`, `${shape[depth]} entries (every row alike)`, Array.isArray(node) ? [node.length] : "not an array");
    }
    node.forEach((child, i) => walk(child, depth + 1, `${path}[${i}]`));
  };
  walk(input, 0, "");
  return { values, shape };
}

function checkFinite(argument: string, values: Float32Array, shape: readonly number[]): void {
  const per = product(shape.slice(1));
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) throw new NonFiniteError(`${argument}[${Math.floor(i / per)}]`, i % per);
}

/**
 * Per-example losses [B] of `outputs` against `targets` (both tensors with batch dimension B).
 * Call inside a tidy.
 */
export function layersPerExampleLoss(loss: LayersLoss, outputs: tf.Tensor, targets: tf.Tensor): tf.Tensor1D {
  if (typeof loss === "function") {
    const out = loss(outputs, targets);
    if (!(out instanceof tf.Tensor) || out.rank !== 1 || out.shape[0] !== outputs.shape[0]) {
      throw new ShapeError("options.loss (its result)", `per-example losses [${outputs.shape[0]}]`, out instanceof tf.Tensor ? out.shape : typeof out);
    }
    return out;
  }
  const B = outputs.shape[0];
  if (loss === "mean-squared-error") return tf.mean(tf.reshape(tf.square(tf.sub(outputs, targets)), [B, -1]), 1) as tf.Tensor1D;
  const classes = outputs.shape[outputs.rank - 1];
  const onehot = oneHotFloat(tf.cast(tf.reshape(targets, [B]), "int32") as tf.Tensor1D, classes);
  if (loss === "sparse-categorical-crossentropy-logits") return tf.neg(tf.sum(tf.mul(tf.logSoftmax(outputs), onehot), -1)) as tf.Tensor1D;
  // Keras (tfjs-layers categoricalCrossentropy): renormalise, clip to [ε, 1−ε] with ε = 1e-7, −Σ t·log p.
  const p = tf.clipByValue(tf.div(outputs, tf.sum(outputs, -1, true)), 1e-7, 1 - 1e-7);
  return tf.neg(tf.sum(tf.mul(tf.log(p), onehot), -1)) as tf.Tensor1D;
}
