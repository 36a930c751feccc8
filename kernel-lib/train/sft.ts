/**
 * Supervised fine-tuning: Adam on the masked next-token cross-entropy (target tokens only — the
 * action/response tokens), minibatches shuffled from a seed. Generic over any sequence model that
 * exposes `loss(batch)` and `trainableVariables()` (the transformer, with or without LoRA).
 * Returns the loss curve and hardware-independent cost counters next to the wall-clock.
 */
import { tf } from "../tf";
import { Rng, Seed, toRng } from "../random";
import { assertKnownKeys, EmptyInputError, InvalidArgumentError, ShapeError } from "../errors";
import type { PreparedTokenBatch, TokenBatch } from "../models/token-batch";

/** One SFT example: tokens and a loss mask (1 on target tokens). */
export interface SequenceExample {
  tokens: number[];
  /** 1 on target tokens (predicted from everything before them), 0 elsewhere. */
  lossMask: number[];
}

/**
 * A model `trainSft` can train: validates and prepares batches, computes the loss, and lists its
 * trainable variables.
 */
export interface TrainableSequenceModel {
  /** Validates tokens and masks (vocabulary, maximum length, 0/1 targets) once, for the whole set. */
  prepareBatch(batch: TokenBatch): PreparedTokenBatch;
  loss(batch: PreparedTokenBatch): tf.Scalar;
  trainableVariables(): tf.Variable[];
}

/**
 * Options of `trainSft`: epochs, batch size, learning rate, seed, an optional step cap, step
 * callback and optimizer.
 */
export interface SftOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: Seed | Rng;
  /** Stop after this many optimizer steps even mid-epoch. */
  maxSteps?: number;
  /** Called after every step with the step's mean loss. */
  onStep?: (step: number, loss: number) => void;
  /**
   * A caller-owned optimizer (not disposed here; `learningRate` is then only validated): lets a
   * phase split into rounds — pre-training to a criterion, stepwise arms — keep Adam's moments
   * across calls, so the rounds add up to one uninterrupted run.
   */
  optimizer?: tf.Optimizer;
}

/** Hardware-independent cost counters of a training phase. */
export interface CostCounters {
  /** Token positions pushed through a forward pass. */
  forwardTokens: number;
  /** Token positions pushed through a backward pass. */
  backwardTokens: number;
  /** Optimizer steps taken. */
  optimizerSteps: number;
  seconds: number;
}

/** What `trainSft` returns: per-step and per-epoch losses and the cost counters. */
export interface SftResult {
  stepLosses: number[];
  /** Mean step loss of each (possibly partial) epoch. */
  epochLosses: number[];
  cost: CostCounters;
}

const SFT_KEYS = ["epochs", "batchSize", "learningRate", "seed", "maxSteps", "onStep", "optimizer"];

/**
 * Supervised fine-tuning: Adam on the masked next-token cross-entropy, seeded shuffled minibatches;
 * returns the loss curve and hardware-independent cost counters.
 */
export function trainSft(model: TrainableSequenceModel, examples: readonly SequenceExample[], options: SftOptions): SftResult {
  assertKnownKeys("options", options, SFT_KEYS);
  if (!Array.isArray(examples)) throw new InvalidArgumentError("examples", "an array of {tokens, lossMask}", examples);
  if (examples.length === 0) throw new EmptyInputError("examples", "at least one training example");
  const positive = (name: keyof SftOptions, v: unknown, integer: boolean) => {
    if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
      throw new InvalidArgumentError(`options.${name}`, integer ? "a positive integer" : "a positive number", v);
    }
  };
  positive("epochs", options.epochs, true);
  positive("batchSize", options.batchSize, true);
  positive("learningRate", options.learningRate, false);
  if (options.maxSteps !== undefined) positive("maxSteps", options.maxSteps, true);
  if (options.onStep !== undefined && typeof options.onStep !== "function") throw new InvalidArgumentError("options.onStep", "a function (step, loss)", options.onStep);
  examples.forEach((e, i) => {
    if (e === null || typeof e !== "object" || !Array.isArray(e.tokens) || !Array.isArray(e.lossMask)) throw new InvalidArgumentError(`examples[${i}]`, "{tokens: number[], lossMask: number[]}", e);
  });
  const T = examples[0].tokens.length;
  examples.forEach((e, i) => {
    if (e.tokens.length !== T || e.lossMask.length !== T) throw new ShapeError(`examples[${i}]`, `tokens and lossMask of length ${T}`, [e.tokens.length, e.lossMask.length]);
  });
  if (model === null || typeof model !== "object" || typeof model.prepareBatch !== "function") throw new InvalidArgumentError("model", "a sequence model with prepareBatch, loss and trainableVariables (TinyTransformer, GruLanguageModel)", model);
  // The whole set is validated before the first step, in the caller's order: a bad example
  // stops the call before any weight moves, and its error names the caller's index (minibatches
  // are shuffled, so a per-batch check would name a position in some random batch).
  const prepared = model.prepareBatch({ tokens: examples.map((e) => e.tokens), lossMask: examples.map((e) => e.lossMask) });

  const rng = toRng(options.seed).derive("sft-order");
  if (options.optimizer !== undefined && !(options.optimizer instanceof tf.Optimizer)) throw new InvalidArgumentError("options.optimizer", "a tf.Optimizer", options.optimizer);
  const optimizer = options.optimizer ?? tf.train.adam(options.learningRate);
  const variables = model.trainableVariables();
  const stepLosses: number[] = [];
  const epochLosses: number[] = [];
  const cost: CostCounters = { forwardTokens: 0, backwardTokens: 0, optimizerSteps: 0, seconds: 0 };
  const started = Date.now();
  try {
    outer: for (let epoch = 0; epoch < options.epochs; epoch++) {
      const order = rng.shuffle(examples.map((_, i) => i));
      let sum = 0, count = 0;
      for (let start = 0; start < order.length; start += options.batchSize) {
        if (options.maxSteps !== undefined && cost.optimizerSteps >= options.maxSteps) break outer;
        const rows = order.slice(start, start + options.batchSize);
        const batch = prepared.rows(rows);
        const lossTensor = optimizer.minimize(() => model.loss(batch), true, variables);
        const loss = lossTensor === null ? NaN : lossTensor.dataSync()[0];
        lossTensor?.dispose();
        cost.forwardTokens += rows.length * T;
        cost.backwardTokens += rows.length * T;
        cost.optimizerSteps++;
        stepLosses.push(loss);
        sum += loss; count++;
        options.onStep?.(cost.optimizerSteps, loss);
      }
      if (count > 0) epochLosses.push(sum / count);
    }
  } finally {
    if (options.optimizer === undefined) optimizer.dispose();
    cost.seconds = (Date.now() - started) / 1000;
  }
  return { stepLosses, epochLosses, cost };
}
