/**
 * GRPO (Shao et al. 2024, DeepSeekMath) with optional GiGPO step-level advantages, generic over
 * the policy (anything with `forward(tokens) → logits [N, T, V]` and `trainableVariables()`: the
 * tiny transformer, with or without LoRA, or the GRU) and over the reward (the caller puts it in
 * `RolloutSample.reward`). One call = one GRPO iteration on one batch of rollouts:
 *
 * 1. old log-probs: the current policy scores the samples once, before any update, without a
 *    gradient (or `options.oldLogProbs`, e.g. the behaviour log-probs recorded while sampling);
 * 2. reference log-probs from the frozen `reference` (see createReference; null = no KL term);
 * 3. advantages (train/advantages.ts): episode-level group-normalised, or GiGPO with stepLevel;
 * 4. `ppoEpochs` passes over minibatches (default: the whole batch, one pass), one optimizer step
 *    per minibatch on the loss below.
 *
 * Loss, per action token t of sample i (actionMask = 1), ρ = exp(logp − logp_old):
 *   ℓ = −min(ρ·A, clip(ρ, 1 − ε, 1 + ε_high)·A) + β·k3,   k3 = exp(ref − logp) − (ref − logp) − 1
 * aggregated "sequenceLevel" (mean over each sample's action tokens, then over samples — the
 * original GRPO; the default) or "tokenLevel" (mean over all action tokens of the minibatch —
 * DAPO, long responses weigh more). k3 is Schulman's unbiased, always ≥ 0 estimator of
 * KL(π‖π_ref), as in the GRPO paper.
 *
 * Optimizer: pass `options.optimizer` (e.g. tf.train.adam(1e-3)) and keep it across calls — the
 * caller owns it, so Adam's moments persist from step to step, and disposes it at the end. With
 * only `learningRate`, each call makes a fresh Adam and disposes it (moments restart every call:
 * fine for a one-off step, worse for a training loop).
 */
import { tf } from "../tf";
import { InvalidArgumentError, NonFiniteError, ShapeError, EmptyInputError, assertKnownKeys, assertOneOf } from "../errors";
import { Rng, Seed, toRng } from "../random";
import { TinyTransformer } from "../models/transformer";
import { GruLanguageModel } from "../models/gru";
import { attachLora } from "../models/lora";
import { Advantages, StdEstimator, computeAdvantages } from "./advantages";
import { LogitsModel, tokenLogProbs } from "./logprobs";
import type { PhaseCost, RolloutSample } from "./rl-types";

/** A model GRPO can train: logits plus trainable variables. */
export interface PolicyModel extends LogitsModel {
  trainableVariables(): tf.Variable[];
}

/**
 * How the GRPO loss averages: "sequenceLevel" (mean over each sample's action tokens, then over
 * samples: the original GRPO, default) or "tokenLevel" (mean over all action tokens of the
 * minibatch).
 */
export const GRPO_AGGREGATIONS = ["sequenceLevel", "tokenLevel"] as const;
/** How the GRPO loss averages; see GRPO_AGGREGATIONS. */
export type GrpoAggregation = (typeof GRPO_AGGREGATIONS)[number];

/** Options of the GRPO loss (clip range, KL weight, aggregation). */
export interface GrpoLossOptions {
  /** ε: ratio clip range below 1 (and above 1 unless clipEpsilonHigh is set). Default 0.2. */
  clipEpsilon?: number;
  /** ε_high (DAPO "clip-higher"); default = clipEpsilon. */
  clipEpsilonHigh?: number;
  /** β, weight of the k3 KL to the reference. Default 0.04 (ignored when reference is null). */
  klBeta?: number;
  /** Default "sequenceLevel". */
  aggregation?: GrpoAggregation;
}

/**
 * Options of `grpoStep`: the loss options plus optimizer or learning rate, PPO epochs, minibatch
 * size, seed and the advantage settings.
 */
export interface GrpoOptions extends GrpoLossOptions {
  /** The caller's optimizer, kept across calls (its state persists). Exclusive with learningRate. */
  optimizer?: tf.Optimizer;
  /** Without an optimizer: a fresh Adam with this rate for this call only. */
  learningRate?: number;
  /** Passes over the batch (default 1). */
  ppoEpochs?: number;
  /** Samples per optimizer step (default: all; larger values are clamped to the batch). */
  minibatchSize?: number;
  /** Shuffles minibatches each epoch when given (an Rng is advanced); else fixed order. */
  seed?: Seed | Rng;
  /** GiGPO step-level advantages (samples need tokenStep, stepStateKeys, stepReturns). */
  stepLevel?: boolean;
  /** ω of GiGPO, A = A_episode + ω·A_step (default 1). */
  stepWeight?: number;
  /** Divide advantages by the group std (default true; false = Dr. GRPO centring only). */
  normalizeStd?: boolean;
  stdEstimator?: StdEstimator;
  /** eps added to the group std (default 1e-6). */
  advantageEps?: number;
  /** log-probs [N][T] of the policy that generated the samples (default: the current policy's). */
  oldLogProbs?: number[][];
}

/** Diagnostics of one optimizer step, measured in its own forward pass (before it updates). */
export interface GrpoUpdateStats {
  epoch: number;
  samples: number;
  loss: number;
  policyLoss: number;
  kl: number;
  clipFraction: number;
  meanRatio: number;
  approxKL: number;
}

/** The per-call means of the update diagnostics (GrpoStepResult's first six fields). */
export type GrpoUpdateSummary = Pick<GrpoStepResult, "loss" | "policyLoss" | "kl" | "clipFraction" | "meanRatio" | "approxKL">;

/** Means over the updates of one call (every GRPO flavour reports these). */
export function summariseUpdates(updates: readonly GrpoUpdateStats[]): GrpoUpdateSummary {
  const mean = (key: keyof GrpoUpdateSummary) => updates.reduce((a, u) => a + u[key], 0) / updates.length;
  return {
    loss: mean("loss"), policyLoss: mean("policyLoss"), kl: mean("kl"), clipFraction: mean("clipFraction"),
    meanRatio: mean("meanRatio"), approxKL: mean("approxKL"),
  };
}

/**
 * What `grpoStep` returns: loss, policy loss, KL, clip fraction, mean ratio and approximate KL
 * (means over the call's updates), the advantages used, and the cost.
 */
export interface GrpoStepResult {
  /** policyLoss + β·kl; this and the five below are means over the updates of this call. */
  loss: number;
  policyLoss: number;
  /** Aggregated k3 estimate of KL(π‖π_ref) (0 without a reference). */
  kl: number;
  /** Share of action tokens where the clipped term is the smaller one (zero gradient there). */
  clipFraction: number;
  /** Mean of ρ over action tokens. */
  meanRatio: number;
  /** Mean over action tokens of (ρ − 1) − log ρ, a k3 estimate of KL(π_old‖π). */
  approxKL: number;
  /** Per sample: episode-level group advantage. */
  advantages: number[];
  /** Per sample and token: the advantage the loss used. */
  tokenAdvantages: number[][];
  /** Per sample and step: GiGPO step advantages; null unless stepLevel. */
  stepAdvantages: number[][] | null;
  updates: GrpoUpdateStats[];
  /** phase "rl"; envSteps is 0 — the caller adds its environment steps. */
  cost: PhaseCost;
}

/**
 * The tensors `grpoLoss` takes: current, old and reference log-probs, advantages and the action
 * mask.
 */
export interface GrpoLossInputs {
  /** Current policy log-probs [n, T] (differentiable). */
  logProbs: tf.Tensor2D;
  oldLogProbs: tf.Tensor2D;
  refLogProbs: tf.Tensor2D | null;
  advantages: tf.Tensor2D;
  /** 1 on action tokens; every row needs at least one for sequenceLevel. */
  mask: tf.Tensor2D;
}

const LOSS_KEYS = ["clipEpsilon", "clipEpsilonHigh", "klBeta", "aggregation"];
const STEP_KEYS = [...LOSS_KEYS, "optimizer", "learningRate", "ppoEpochs", "minibatchSize", "seed", "stepLevel", "stepWeight", "normalizeStd", "stdEstimator", "advantageEps", "oldLogProbs"];

function nonNegative(name: string, v: unknown): number {
  if (typeof v !== "number" || !(v >= 0) || !Number.isFinite(v)) throw new InvalidArgumentError(`options.${name}`, "a finite number ≥ 0", v);
  return v;
}

function positiveInteger(name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new InvalidArgumentError(`options.${name}`, "a positive integer", v);
  return v;
}

function resolveLossOptions(options: GrpoLossOptions): Required<GrpoLossOptions> {
  const clipEpsilon = nonNegative("clipEpsilon", options.clipEpsilon ?? 0.2);
  const clipEpsilonHigh = nonNegative("clipEpsilonHigh", options.clipEpsilonHigh ?? clipEpsilon);
  const klBeta = nonNegative("klBeta", options.klBeta ?? 0.04);
  const aggregation = options.aggregation ?? "sequenceLevel";
  assertOneOf("options.aggregation", aggregation, GRPO_AGGREGATIONS);
  return { clipEpsilon, clipEpsilonHigh, klBeta, aggregation };
}

/**
 * The GRPO loss (scalar, differentiable through logProbs) and its diagnostics
 * stats = [policyLoss, kl, clipFraction, meanRatio, approxKL]. Caller owns both tensors.
 */
export function grpoLoss(inputs: GrpoLossInputs, options: GrpoLossOptions = {}): { loss: tf.Scalar; stats: tf.Tensor1D } {
  assertKnownKeys("options", options, LOSS_KEYS);
  const o = resolveLossOptions(options);
  const { logProbs, oldLogProbs, refLogProbs, advantages, mask } = inputs;
  const shape = logProbs.shape;
  const others: Array<[string, tf.Tensor | null]> = [["oldLogProbs", oldLogProbs], ["refLogProbs", refLogProbs], ["advantages", advantages], ["mask", mask]];
  for (const [name, t] of others) {
    if (t !== null && (t.rank !== 2 || t.shape[0] !== shape[0] || t.shape[1] !== shape[1])) throw new ShapeError(`inputs.${name}`, `[${shape.join(", ")}] (logProbs' shape)`, t.shape);
  }
  return tf.tidy(() => {
    const m = mask;
    const tokenCount = tf.sum(m);
    const tokenMean = (x: tf.Tensor) => tf.div(tf.sum(tf.mul(x, m)), tokenCount);
    const aggregate = (x: tf.Tensor) => (o.aggregation === "tokenLevel" ? tokenMean(x) : tf.mean(tf.div(tf.sum(tf.mul(x, m), 1), tf.sum(m, 1))));
    // Masked positions get log-ratio 0: their log-probs may be anything (even garbage supplied
    // old log-probs) and exp of a large difference would turn 0·Inf into NaN.
    const logRatio = tf.mul(tf.sub(logProbs, oldLogProbs), m);
    const ratio = tf.exp(logRatio);
    const unclipped = tf.mul(ratio, advantages);
    const clipped = tf.mul(tf.clipByValue(ratio, 1 - o.clipEpsilon, 1 + o.clipEpsilonHigh), advantages);
    const policyLoss = aggregate(tf.neg(tf.minimum(unclipped, clipped)));
    let kl: tf.Tensor = tf.scalar(0);
    if (refLogProbs !== null) {
      const d = tf.mul(tf.sub(refLogProbs, logProbs), m);
      kl = aggregate(tf.sub(tf.sub(tf.exp(d), d), 1));
    }
    const loss = tf.add(policyLoss, tf.mul(kl, o.klBeta)) as tf.Scalar;
    // Clipping binds exactly where the clipped surrogate is strictly the smaller one.
    const clipFraction = tokenMean(tf.cast(tf.less(clipped, unclipped), "float32"));
    const approxKL = tokenMean(tf.sub(tf.sub(ratio, 1), logRatio));
    const stats = tf.stack([policyLoss, kl, clipFraction, tokenMean(ratio), approxKL]) as tf.Tensor1D;
    return { loss, stats };
  });
}

function validateSamples(samples: readonly RolloutSample[]): { N: number; T: number; mask: Float32Array } {
  if (!Array.isArray(samples as unknown)) throw new InvalidArgumentError("samples", "an array of RolloutSample", samples);
  if (samples.length === 0) throw new EmptyInputError("samples", "at least one rollout sample");
  const N = samples.length;
  const first = samples[0];
  const T = first !== null && typeof first === "object" && Array.isArray(first.tokens) ? first.tokens.length : 0;
  if (T < 2) throw new ShapeError("samples[0].tokens", "length ≥ 2 (a token to act and one before it)", [T]);
  const mask = new Float32Array(N * T);
  samples.forEach((s, i) => {
    if (s === null || typeof s !== "object") throw new InvalidArgumentError(`samples[${i}]`, "a RolloutSample object", s);
    if (!Array.isArray(s.tokens) || s.tokens.length !== T) throw new ShapeError(`samples[${i}].tokens`, `length ${T} (every sample padded to one length)`, Array.isArray(s.tokens) ? [s.tokens.length] : "not an array");
    if (!Array.isArray(s.actionMask) || s.actionMask.length !== T) throw new ShapeError(`samples[${i}].actionMask`, `length ${T} (the tokens' length)`, Array.isArray(s.actionMask) ? [s.actionMask.length] : "not an array");
    if (typeof s.reward !== "number" || !Number.isFinite(s.reward)) throw new NonFiniteError(`samples[${i}].reward`);
    let count = 0;
    s.actionMask.forEach((v, t) => {
      if (v !== 0 && v !== 1) throw new InvalidArgumentError(`samples[${i}].actionMask[${t}]`, "0 or 1", v);
      if (t === 0 && v === 1) throw new InvalidArgumentError(`samples[${i}].actionMask[0]`, "0 (the first token has nothing to be predicted from)", v);
      mask[i * T + t] = v;
      count += v;
    });
    if (count === 0) throw new InvalidArgumentError(`samples[${i}].actionMask`, `at least one action token (1) — sample ${i} has none`, "all zeros");
  });
  return { N, T, mask };
}

/**
 * Every sample's token ids against the policy's vocabulary, before the first update: minibatches
 * are scored one at a time (and not at all up front when oldLogProbs is given and there is no
 * reference), so a bad id in a later minibatch would otherwise throw after earlier steps moved
 * the weights, naming its row in that minibatch. The vocabulary size is read from one sample's
 * logits (a one-row forward), so any LogitsModel works.
 */
function checkSampleTokenIds(policy: LogitsModel, samples: readonly RolloutSample[]): void {
  const V = vocabularySize(policy, samples[0].tokens.length);
  samples.forEach((s, i) => s.tokens.forEach((id, t) => {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= V) throw new InvalidArgumentError(`samples[${i}].tokens[${t}]`, `an integer token id in [0, ${V})`, id);
  }));
}

/**
 * The policy's vocabulary size: from its config where it has one (TinyTransformer), so every
 * GRPO step does not pay a forward pass for it; otherwise from the logits of one row of id 0
 * (valid in any vocabulary), which also checks the length against the model's context.
 */
function vocabularySize(policy: LogitsModel, length: number): number {
  const configured = (policy as { config?: { vocabSize?: unknown } }).config?.vocabSize;
  if (typeof configured === "number" && Number.isInteger(configured) && configured > 0) return configured;
  const probe = tf.tidy(() => policy.forward([new Array<number>(length).fill(0)]));
  const V = probe.shape[2];
  probe.dispose();
  return V;
}

function readLogProbs(argument: string, values: unknown, N: number, T: number): Float32Array {
  if (!Array.isArray(values) || values.length !== N) throw new ShapeError(argument, `[${N}, ${T}] (one row per sample)`, Array.isArray(values) ? [values.length] : "not an array");
  const out = new Float32Array(N * T);
  values.forEach((row: unknown, i) => {
    if (!Array.isArray(row) || row.length !== T) throw new ShapeError(`${argument}[${i}]`, `length ${T}`, Array.isArray(row) ? [row.length] : "not an array");
    row.forEach((v: unknown, t) => {
      if (typeof v !== "number" || !Number.isFinite(v)) throw new NonFiniteError(`${argument}[${i}]`, t);
      out[i * T + t] = v;
    });
  });
  return out;
}

/** log-probs of the whole batch as plain numbers, no gradient recorded. */
function scoreWithoutGrad(model: LogitsModel, tokens: number[][]): Float32Array {
  const t = tokenLogProbs(model, tokens);
  const values = t.dataSync().slice() as Float32Array;
  t.dispose();
  return values;
}

/** Rows `rows` of a flat [N, T] buffer, in that order, as a flat [rows.length, T] buffer. */
export function pickRows(source: Float32Array, rows: readonly number[], T: number): Float32Array {
  const out = new Float32Array(rows.length * T);
  rows.forEach((r, j) => out.set(source.subarray(r * T, (r + 1) * T), j * T));
  return out;
}

/** One GRPO iteration (see the module header). `reference` null = no KL term. */
export function grpoStep(policy: PolicyModel, reference: LogitsModel | null, samples: readonly RolloutSample[], options: GrpoOptions): GrpoStepResult {
  if (options === null || typeof options !== "object") throw new InvalidArgumentError("options", "a GrpoOptions object", options);
  assertKnownKeys("options", options, STEP_KEYS);
  if (policy === null || typeof policy !== "object" || typeof policy.forward !== "function" || typeof policy.trainableVariables !== "function") {
    throw new InvalidArgumentError("policy", "a model with forward(tokens) and trainableVariables()", policy);
  }
  if (reference !== null && (typeof reference !== "object" || typeof reference?.forward !== "function")) {
    throw new InvalidArgumentError("reference", "a model with forward(tokens), or null for no KL term", reference);
  }
  const lossOptions = resolveLossOptions(options);
  if (options.optimizer !== undefined && options.learningRate !== undefined) throw new InvalidArgumentError("options.learningRate", "omitted when options.optimizer is given (the optimizer has its own rate)", options.learningRate);
  if (options.optimizer === undefined && options.learningRate === undefined) throw new InvalidArgumentError("options", "an optimizer (kept across steps) or a learningRate");
  if (options.optimizer !== undefined && !(options.optimizer instanceof tf.Optimizer)) throw new InvalidArgumentError("options.optimizer", "a tf.Optimizer", options.optimizer);
  if (options.learningRate !== undefined && !(options.learningRate > 0 && Number.isFinite(options.learningRate))) throw new InvalidArgumentError("options.learningRate", "a finite number > 0", options.learningRate);
  const ppoEpochs = positiveInteger("ppoEpochs", options.ppoEpochs ?? 1);
  const { N, T, mask } = validateSamples(samples);
  checkSampleTokenIds(policy, samples);
  const minibatchSize = Math.min(positiveInteger("minibatchSize", options.minibatchSize ?? N), N);
  const variables = policy.trainableVariables();
  if (variables.length === 0) throw new InvalidArgumentError("policy", "at least one trainable variable");

  const started = Date.now();
  const cost: PhaseCost = { phase: "rl", seconds: 0, forwardTokens: 0, backwardTokens: 0, optimizerSteps: 0, envSteps: 0 };
  const advantages: Advantages = computeAdvantages(samples, {
    normalizeStd: options.normalizeStd, stdEstimator: options.stdEstimator, eps: options.advantageEps,
    stepLevel: options.stepLevel, stepWeight: options.stepWeight,
  });
  const tokenAdvantages = Float32Array.from(advantages.token.flat());
  const tokens = samples.map((s) => s.tokens);
  let oldLogProbs: Float32Array;
  if (options.oldLogProbs !== undefined) {
    oldLogProbs = readLogProbs("options.oldLogProbs", options.oldLogProbs, N, T);
  } else {
    oldLogProbs = scoreWithoutGrad(policy, tokens);
    cost.forwardTokens += N * T;
  }
  let refLogProbs: Float32Array | null = null;
  if (reference !== null) {
    refLogProbs = scoreWithoutGrad(reference, tokens);
    cost.forwardTokens += N * T;
  }

  const rng = options.seed === undefined ? null : toRng(options.seed);
  const ownOptimizer = options.optimizer === undefined;
  const optimizer = options.optimizer ?? tf.train.adam(options.learningRate as number);
  const updates: GrpoUpdateStats[] = [];
  try {
    const all = Array.from({ length: N }, (_, i) => i);
    for (let epoch = 0; epoch < ppoEpochs; epoch++) {
      const order = rng === null ? all : rng.shuffle(all);
      for (let start = 0; start < N; start += minibatchSize) {
        const rows = order.slice(start, start + minibatchSize);
        const n = rows.length;
        const rowTokens = rows.map((i) => tokens[i]);
        // The diagnostics are computed in the loss closure (same forward pass) and kept out of
        // the optimizer's tidy.
        const kept: tf.Tensor1D[] = [];
        let loss: number, stats: number[];
        // Gradients first, step after the loss is known finite: a NaN never reaches the weights.
        // The diagnostics are computed in the loss closure (same forward pass) and kept.
        const { value, grads } = tf.variableGrads(() => {
          const batch = (source: Float32Array) => tf.tensor2d(pickRows(source, rows, T), [n, T]);
          const out = grpoLoss({
            logProbs: tokenLogProbs(policy, rowTokens),
            oldLogProbs: batch(oldLogProbs),
            refLogProbs: refLogProbs === null ? null : batch(refLogProbs),
            advantages: batch(tokenAdvantages),
            mask: batch(mask),
          }, lossOptions);
          kept.push(tf.keep(out.stats));
          return out.loss;
        }, variables);
        try {
          loss = value.dataSync()[0];
          stats = Array.from(kept[0].dataSync());
          if (!Number.isFinite(loss)) throw new NonFiniteError(`GRPO loss (epoch ${epoch}, minibatch at ${start}; try a smaller learning rate)`);
          optimizer.applyGradients(grads);
        } finally {
          value.dispose();
          kept.forEach((t) => t.dispose());
          Object.values(grads).forEach((t) => t.dispose());
        }
        const [policyLoss, kl, clipFraction, meanRatio, approxKL] = stats;
        updates.push({ epoch, samples: n, loss, policyLoss, kl, clipFraction, meanRatio, approxKL });
        cost.forwardTokens += n * T;
        cost.backwardTokens += n * T;
        cost.optimizerSteps++;
      }
    }
  } finally {
    if (ownOptimizer) optimizer.dispose();
    cost.seconds = (Date.now() - started) / 1000;
  }
  return {
    ...summariseUpdates(updates),
    advantages: advantages.episode, tokenAdvantages: advantages.token, stepAdvantages: advantages.step,
    updates, cost,
  };
}

/**
 * A frozen copy of a policy to anchor the KL term: same config, same weights (LoRA adapters
 * included), every variable non-trainable, independent of later updates to `model`. The caller
 * disposes it.
 */
export function createReference<M extends TinyTransformer | GruLanguageModel>(model: M): M {
  let copy: TinyTransformer | GruLanguageModel;
  if (model instanceof TinyTransformer) {
    const transformer = new TinyTransformer(model.config);
    if (model.loraAdapters !== null) attachLora(transformer, model.loraAdapters.options);
    copy = transformer;
  } else if (model instanceof GruLanguageModel) {
    copy = new GruLanguageModel(model.config);
  } else {
    throw new InvalidArgumentError("model", "a TinyTransformer or GruLanguageModel", model);
  }
  const targets = new Map(copy.namedWeights().map((w) => [w.name, w.variable]));
  for (const { name, variable } of model.namedWeights()) {
    const target = targets.get(name);
    if (target === undefined) throw new InvalidArgumentError("model", `weights the copy also has (missing ${name})`, name);
    // tfjs tensors are immutable: the copy shares the current buffer, and the policy's next
    // optimizer step assigns the policy a new one, leaving the copy's value unchanged.
    target.assign(variable);
    target.trainable = false;
  }
  return copy as M;
}
