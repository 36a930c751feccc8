/**
 * A small MLP classifier / regressor (e.g. MAESTRO's conductor, toy probes). Layers are
 * `layer{i}.weight` [out, in] (dense sites for grads/: module "hidden" or "output") plus
 * `layer{i}.bias` [out] (not sites: their per-example gradient is just Σδ and is not reported).
 *
 * Loss per example: cross-entropy of the target class (classification) or the mean over outputs
 * of the squared error (regression); the batch loss is the mean over examples.
 */
import { tf } from "../tf";
import { EmptyInputError, InvalidArgumentError, NonFiniteError, ShapeError, assertKnownKeys, assertOneOf } from "../errors";
import { Rng, Seed } from "../random";
import { LinearFn, ParameterGroup, PerExampleModel, PreparedBatch, plainLinear } from "./dense-sites";
import { oneHotFloat } from "./ops";
import { readMatrix } from "./token-batch";
import { WeightStore, assertInteger, matrixShape, normalValues } from "./weights";

/**
 * The MlpModel losses: "classification" (cross-entropy of the target class) or "regression" (mean
 * squared error over outputs).
 */
export const MLP_TASKS = ["classification", "regression"] as const;
/** Hidden-layer activations an MlpModel accepts. */
export const MLP_ACTIVATIONS = ["relu", "tanh"] as const;

/** Configuration of an MlpModel (sizes, task, activation, seed). */
export interface MlpConfig {
  inputSize: number;
  hiddenSizes: number[];
  outputSize: number;
  task: (typeof MLP_TASKS)[number];
  /** Default "relu". */
  activation?: (typeof MLP_ACTIVATIONS)[number];
  seed: Seed;
}
/** An MlpConfig with every default filled in. */
export type ResolvedMlpConfig = Required<MlpConfig>;

/** A batch for MlpModel: inputs and targets (class ids or values). */
export interface MlpBatch {
  inputs: tf.Tensor | number[][];
  /** Class ids [B] (classification) or targets [B, outputSize] (regression). */
  targets: tf.Tensor | number[] | number[][];
}

/** An MLP batch after validation (`MlpModel.prepareBatch`): flat inputs and targets. */
export class PreparedMlpBatch implements PreparedBatch {
  readonly length = 1;
  constructor(readonly inputs: Float32Array, readonly targets: Float32Array, readonly size: number, readonly inputSize: number, readonly targetSize: number) {}
  example(index: number): PreparedMlpBatch {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) throw new InvalidArgumentError("index", `an integer in [0, ${this.size})`, index);
    const { inputSize: I, targetSize: O } = this;
    return new PreparedMlpBatch(this.inputs.slice(index * I, (index + 1) * I), this.targets.slice(index * O, (index + 1) * O), 1, I, O);
  }
}

/**
 * A small MLP classifier / regressor with the per-example contract (weights [out, in] are dense
 * sites; biases are not reported).
 */
export class MlpModel implements PerExampleModel<MlpBatch, PreparedMlpBatch> {
  readonly kind = "mlp" as const;
  readonly config: ResolvedMlpConfig;
  private readonly store = new WeightStore();
  private readonly widths: number[];

  constructor(config: MlpConfig) {
    if (config === null || typeof config !== "object") throw new InvalidArgumentError("config", "an MlpConfig object", config);
    assertKnownKeys("config", config, ["inputSize", "hiddenSizes", "outputSize", "task", "activation", "seed"]);
    this.config = { ...config, activation: config.activation ?? "relu" };
    assertInteger("config.inputSize", config.inputSize, 1);
    assertInteger("config.outputSize", config.outputSize, 1);
    if (!Array.isArray(config.hiddenSizes)) throw new InvalidArgumentError("config.hiddenSizes", "an array of layer widths", config.hiddenSizes);
    config.hiddenSizes.forEach((h, i) => assertInteger(`config.hiddenSizes[${i}]`, h, 1));
    assertOneOf("config.task", config.task, MLP_TASKS);
    assertOneOf("config.activation", this.config.activation, MLP_ACTIVATIONS);
    if (config.task === "classification" && config.outputSize < 2) throw new InvalidArgumentError("config.outputSize", "≥ 2 classes for classification", config.outputSize);
    if (typeof config.seed !== "number" && typeof config.seed !== "string") throw new InvalidArgumentError("config.seed", "a number or string", config.seed);
    this.widths = [config.inputSize, ...config.hiddenSizes, config.outputSize];
    const rng = new Rng(config.seed).derive("mlp-init");
    for (let i = 0; i + 1 < this.widths.length; i++) {
      const [inDim, out] = [this.widths[i], this.widths[i + 1]];
      // He init for relu, Glorot-like for tanh.
      const std = (this.config.activation === "relu" ? Math.SQRT2 : 1) / Math.sqrt(inDim);
      this.store.add(`layer${i}.weight`, normalValues(rng.derive(`layer${i}`), out * inDim, std), [out, inDim]);
      this.store.add(`layer${i}.bias`, new Float32Array(out), [out]);
    }
  }

  /** Number of weight layers (hidden layers + the output layer). */
  get numLayers(): number {
    return this.widths.length - 1;
  }

  parameterGroups(): ParameterGroup[] {
    return Array.from({ length: this.numLayers }, (_, i) => {
      const v = this.store.get(`layer${i}.weight`);
      return { name: `layer${i}.weight`, layer: i, module: i + 1 < this.numLayers ? "hidden" : "output", part: "weight" as const, shape: matrixShape(v), trainable: v.trainable };
    });
  }

  weight(name: string): tf.Variable {
    return this.store.get(name);
  }

  /** Every weight and bias with its stable name ("layer0.weight", …), in model order. */
  namedWeights(): Array<{ name: string; variable: tf.Variable }> {
    return this.store.named();
  }

  /** The variables an optimizer should update. */
  trainableVariables(): tf.Variable[] {
    return this.store.named().map((w) => w.variable).filter((v) => v.trainable);
  }

  prepareBatch(batch: MlpBatch | PreparedMlpBatch): PreparedMlpBatch {
    if (batch instanceof PreparedMlpBatch) return batch;
    if (batch === null || typeof batch !== "object") throw new InvalidArgumentError("batch", "an object {inputs, targets}", batch);
    const inputs = this.readInputs(batch.inputs);
    const B = inputs.length / this.config.inputSize;
    const O = this.config.task === "classification" ? 1 : this.config.outputSize;
    if (batch.targets === undefined) throw new InvalidArgumentError("batch.targets", this.config.task === "classification" ? "class ids [batch]" : `targets [batch, ${O}]`);
    const raw = batch.targets instanceof tf.Tensor ? { values: batch.targets.dataSync(), shape: batch.targets.shape as number[] } : flatten(batch.targets);
    const expected = this.config.task === "classification" ? [B] : [B, O];
    if (raw.shape.length !== expected.length || raw.shape.some((d, i) => d !== expected[i])) throw new ShapeError("targets", `[${expected.join(", ")}]`, raw.shape);
    const targets = new Float32Array(raw.values.length);
    for (let i = 0; i < targets.length; i++) {
      const v = raw.values[i];
      if (!Number.isFinite(v)) throw new NonFiniteError("targets", i);
      if (this.config.task === "classification" && (!Number.isInteger(v) || v < 0 || v >= this.config.outputSize)) {
        throw new InvalidArgumentError(`targets[${i}]`, `a class id in [0, ${this.config.outputSize})`, v);
      }
      targets[i] = v;
    }
    return new PreparedMlpBatch(inputs, targets, B, this.config.inputSize, O);
  }

  /** Outputs [B, outputSize] (logits or predictions); with returnHidden also the last hidden layer's activations. */
  forward(inputs: tf.Tensor | number[][]): tf.Tensor2D;
  forward(inputs: tf.Tensor | number[][], options: { returnHidden: true }): { outputs: tf.Tensor2D; hidden: tf.Tensor2D };
  forward(inputs: tf.Tensor | number[][], options: { returnHidden?: boolean } = {}): tf.Tensor2D | { outputs: tf.Tensor2D; hidden: tf.Tensor2D } {
    assertKnownKeys("options", options, ["returnHidden"]);
    const values = this.readInputs(inputs);
    const B = values.length / this.config.inputSize;
    return tf.tidy(() => {
      const { outputs, hidden } = this.run(tf.tensor2d(values, [B, this.config.inputSize]), plainLinear);
      return options.returnHidden ? { outputs, hidden } : outputs;
    });
  }

  perExampleLosses(batch: MlpBatch | PreparedMlpBatch, linear: LinearFn = plainLinear): tf.Tensor1D {
    const p = this.prepareBatch(batch);
    return tf.tidy(() => {
      const { outputs } = this.run(tf.tensor2d(p.inputs, [p.size, p.inputSize]), linear);
      if (this.config.task === "classification") {
        const targets = oneHotFloat(tf.tensor1d(Int32Array.from(p.targets), "int32"), this.config.outputSize);
        return tf.neg(tf.sum(tf.mul(tf.logSoftmax(outputs), targets), 1)) as tf.Tensor1D;
      }
      return tf.mean(tf.square(tf.sub(outputs, tf.tensor2d(p.targets, [p.size, p.targetSize]))), 1) as tf.Tensor1D;
    });
  }

  /**
   * The batch loss: the mean over examples of each example's loss (cross-entropy or mean squared
   * error).
   */
  loss(batch: MlpBatch | PreparedMlpBatch): tf.Scalar {
    return tf.tidy(() => tf.mean(this.perExampleLosses(batch)) as tf.Scalar);
  }

  /** Frees every weight's memory; the model cannot be used afterwards. */
  dispose(): void {
    this.store.dispose();
  }

  private readInputs(inputs: tf.Tensor | number[][]): Float32Array {
    const { values, shape } = readMatrix("inputs", inputs);
    if (shape[1] !== this.config.inputSize) throw new ShapeError("inputs", `[batch, ${this.config.inputSize}]`, shape);
    return Float32Array.from(values);
  }

  private run(x: tf.Tensor2D, linear: LinearFn): { outputs: tf.Tensor2D; hidden: tf.Tensor2D } {
    let h = x;
    let hidden = x;
    for (let i = 0; i < this.numLayers; i++) {
      const pre = tf.add(linear(`layer${i}.weight`, h, this.store.get(`layer${i}.weight`) as tf.Tensor2D), this.store.get(`layer${i}.bias`)) as tf.Tensor2D;
      if (i + 1 === this.numLayers) return { outputs: pre, hidden };
      h = this.config.activation === "relu" ? tf.relu(pre) : tf.tanh(pre);
      hidden = h;
    }
    throw new Error("unreachable: an MLP has at least one layer");
  }
}

function flatten(values: number[] | number[][]): { values: Float64Array; shape: number[] } {
  if (!Array.isArray(values)) throw new InvalidArgumentError("targets", "an array", values);
  if (values.length === 0) throw new EmptyInputError("targets");
  if (!Array.isArray(values[0])) {
    return { values: Float64Array.from(values as number[], (v) => (typeof v === "number" ? v : NaN)), shape: [values.length] };
  }
  const { values: flat, shape } = readMatrix("targets", values as number[][]);
  return { values: Float64Array.from(flat), shape };
}
