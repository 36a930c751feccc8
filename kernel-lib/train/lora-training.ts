/**
 * LoRA training with inspectable optimizer state: the warm-up that produces LESS checkpoints and
 * the fine-tuning every selection is evaluated with (identical code, so "identical
 * hyper-parameters" is literally the same call).
 *
 * The LoRA parameters are handled as ONE flat vector in `loraParameterNames(model)` order — the
 * order of `model.parameterGroups()` restricted to adapters, each matrix row-major [out, in],
 * which is also the order and layout of grads/perExampleGradients' `fullVectors`. So a checkpoint's
 * m and v line up element for element with a per-example gradient, as the Adam-preconditioned
 * features require.
 *
 * Which mode when:
 *  - `epochs` (the warm-up): passes over the data, a checkpoint (weights, Adam m/v/step, the
 *    epoch's mean learning rate) after every epoch;
 *  - `steps` (evaluation fine-tuning): a fixed number of updates whatever the selection's size, so
 *    every arm gets the same compute; epochs are reshuffled as needed.
 * Minibatches come from a seeded shuffle; gradients from tf.variableGrads on the masked
 * response-token loss; the update from FlatAdam (adam.ts).
 */
import { tf } from "../tf";
import { EmptyInputError, InvalidArgumentError, ShapeError, assertKnownKeys, assertOneOf } from "../errors";
import { Rng, Seed } from "../random";
import type { TinyTransformer } from "../models/transformer";
import type { AdamCheckpointState } from "../features/adam";
import { AdamHyperParameters, FlatAdam, linearScheduleLr } from "./flat-adam";

/** One LoRA training example: tokens and a loss mask. */
export interface TrainingExample {
  tokens: number[];
  lossMask: number[];
}

/**
 * One LESS warm-up checkpoint: epoch, step, the epoch's mean learning rate, the LoRA parameters and
 * the Adam state.
 */
export interface LoraCheckpoint {
  /** 1-based epoch this checkpoint ends. */
  epoch: number;
  /** Updates taken so far. */
  step: number;
  /** Mean learning rate over the epoch's updates (LESS's checkpoint weight η). */
  learningRate: number;
  /** The LoRA parameters, flat, in loraParameterNames order. */
  params: Float32Array;
  adam: Required<AdamCheckpointState>;
}

/**
 * Options of `trainLora`: `epochs` (warm-up) or `steps` (evaluation fine-tuning), and the optimizer
 * settings.
 */
export interface LoraTrainingOptions {
  /** Passes over the data (checkpoint after each). Give `epochs` or `steps`. */
  epochs?: number;
  /** Total updates (no checkpoints). */
  steps?: number;
  batchSize: number;
  /** Peak learning rate. */
  learningRate: number;
  /** "linear" (HF warm-up + linear decay, LESS's choice; default) or "constant". */
  schedule?: "linear" | "constant";
  /** Warm-up share of the updates for "linear". Default 0.03. */
  warmupFraction?: number;
  adam?: Partial<AdamHyperParameters>;
  seed: Seed;
}

/**
 * What `trainLora` returns: per-step losses and learning rates, checkpoints, the optimizer, seconds
 * and tokens.
 */
export interface LoraTrainingResult {
  stepLosses: number[];
  /** Learning rate used by each update. */
  learningRates: number[];
  checkpoints: LoraCheckpoint[];
  optimizer: FlatAdam;
  seconds: number;
  tokens: number;
}

const OPTION_KEYS = ["epochs", "steps", "batchSize", "learningRate", "schedule", "warmupFraction", "adam", "seed"];

/** Names of the LoRA matrices in the flat-vector order (A, B per adapted matrix, model order). */
export function loraParameterNames(model: TinyTransformer): string[] {
  if (model.loraAdapters === null) throw new InvalidArgumentError("model", "a TinyTransformer with LoRA attached (attachLora)");
  return model.parameterGroups().filter((g) => g.part === "loraA" || g.part === "loraB").map((g) => g.name);
}

/** The LoRA parameters as one flat vector. */
export function readLoraParameters(model: TinyTransformer): Float32Array {
  const vars = loraParameterNames(model).map((n) => model.weight(n));
  const out = new Float32Array(vars.reduce((s, v) => s + v.size, 0));
  let offset = 0;
  for (const v of vars) { out.set(v.dataSync() as Float32Array, offset); offset += v.size; }
  return out;
}

/** Overwrites the LoRA parameters from a flat vector (length must match). */
export function writeLoraParameters(model: TinyTransformer, params: Float32Array): void {
  const vars = loraParameterNames(model).map((n) => model.weight(n));
  const size = vars.reduce((s, v) => s + v.size, 0);
  if (!(params instanceof Float32Array) || params.length !== size) throw new InvalidArgumentError("params", `a Float32Array of ${size} LoRA parameters`, params);
  let offset = 0;
  for (const v of vars) {
    const values = params.subarray(offset, offset + v.size);
    tf.tidy(() => v.assign(tf.tensor(values, v.shape, "float32")));
    offset += v.size;
  }
}

/**
 * LoRA training with inspectable Adam state: `epochs` for the LESS warm-up (a checkpoint with
 * weights, m, v, step and mean learning rate after every epoch), `steps` for evaluation fine-tuning
 * (the same number of updates for every selection arm).
 */
export function trainLora(model: TinyTransformer, examples: readonly TrainingExample[], options: LoraTrainingOptions): LoraTrainingResult {
  assertKnownKeys("options", options, OPTION_KEYS);
  if (!Array.isArray(examples) || examples.length === 0) throw new EmptyInputError("examples", "at least one training example");
  const positiveInt = (name: string, v: unknown) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new InvalidArgumentError(`options.${name}`, "a positive integer", v);
  };
  if ((options.epochs === undefined) === (options.steps === undefined)) throw new InvalidArgumentError("options", "exactly one of epochs or steps", options);
  if (options.epochs !== undefined) positiveInt("epochs", options.epochs);
  if (options.steps !== undefined) positiveInt("steps", options.steps);
  positiveInt("batchSize", options.batchSize);
  if (!(options.learningRate > 0) || !Number.isFinite(options.learningRate)) throw new InvalidArgumentError("options.learningRate", "a finite number > 0", options.learningRate);
  const schedule = options.schedule ?? "linear";
  assertOneOf("options.schedule", schedule, ["linear", "constant"]);
  const warmupFraction = options.warmupFraction ?? 0.03;
  if (!(warmupFraction >= 0 && warmupFraction < 1)) throw new InvalidArgumentError("options.warmupFraction", "a number in [0, 1)", warmupFraction);

  examples.forEach((e, i) => {
    if (e === null || typeof e !== "object" || !Array.isArray(e.tokens) || !Array.isArray(e.lossMask)) throw new InvalidArgumentError(`examples[${i}]`, "{tokens: number[], lossMask: number[]}", e);
  });
  const T = examples[0].tokens.length;
  examples.forEach((e, i) => {
    if (e.tokens.length !== T || e.lossMask.length !== T) throw new ShapeError(`examples[${i}]`, `tokens and lossMask of length ${T} (minibatches are shuffled, so all examples share one length)`, [e.tokens.length, e.lossMask.length]);
  });
  const names = loraParameterNames(model);
  // The whole set is validated before the first update, in the caller's order: a bad example stops
  // the call before any weight moves, and the error names its index in `examples` (not its
  // position in a shuffled minibatch).
  const prepared = model.prepareBatch({ tokens: examples.map((e) => e.tokens), lossMask: examples.map((e) => e.lossMask) });
  const vars = names.map((n) => model.weight(n));
  const params = readLoraParameters(model);
  const optimizer = new FlatAdam(params.length, options.adam ?? {});
  const stepsPerEpoch = Math.ceil(examples.length / options.batchSize);
  const total = options.steps ?? stepsPerEpoch * options.epochs!;
  const warmupSteps = Math.ceil(total * warmupFraction);
  const rng = new Rng(options.seed).derive("lora-training-order");
  const stepLosses: number[] = [], learningRates: number[] = [], checkpoints: LoraCheckpoint[] = [];
  const grads = new Float32Array(params.length);
  const started = performance.now();
  let tokens = 0, order: number[] = [], cursor = 0, epochLrSum = 0, epochSteps = 0;

  for (let step = 0; step < total; step++) {
    if (cursor >= order.length) { order = rng.shuffle(examples.map((_, i) => i)); cursor = 0; }
    const rows = order.slice(cursor, cursor + options.batchSize);
    cursor += options.batchSize;
    const batch = prepared.rows(rows);
    const { value, grads: named } = tf.variableGrads(() => model.loss(batch), vars);
    let offset = 0;
    for (const v of vars) { grads.set(named[v.name].dataSync() as Float32Array, offset); offset += v.size; }
    stepLosses.push(value.dataSync()[0]);
    value.dispose();
    for (const g of Object.values(named)) g.dispose();
    const lr = schedule === "constant" ? options.learningRate : linearScheduleLr(options.learningRate, step, total, warmupSteps);
    optimizer.update(params, grads, lr);
    writeLoraParameters(model, params);
    learningRates.push(lr);
    tokens += rows.length * T;
    epochLrSum += lr;
    epochSteps++;
    const epochDone = options.epochs !== undefined && (step + 1) % stepsPerEpoch === 0;
    if (epochDone) {
      checkpoints.push({ epoch: (step + 1) / stepsPerEpoch, step: step + 1, learningRate: epochLrSum / epochSteps, params: params.slice(), adam: optimizer.state() });
      epochLrSum = 0;
      epochSteps = 0;
    }
  }
  return { stepLosses, learningRates, checkpoints, optimizer, seconds: (performance.now() - started) / 1000, tokens };
}
