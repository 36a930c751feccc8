/**
 * The MAESTRO Conductor: a linear head on the policy's stopped-gradient terminal hidden state,
 *   logits = h·W + b,   π_φ(· | h) = softmax(logits / τ)   over K "emphasis" actions,
 * trained as a contextual bandit whose payoff is the response's GRPO advantage Â.
 *
 * Action → reward-weight mappings (both implemented; `mapping` option):
 *  - "discrete" (default): a ~ π_φ, w(a) = (1 − η)·e_a + (η/K)·1 (η = 0.3): one emphasised
 *    component plus a floor on every other one.
 *  - "continuous": what is sampled is a Gaussian perturbation of the tempered logits,
 *    z = logits/τ + σ·ε, ε ~ N(0, I); w(z) = normalise(max(softmax(z), p_min)). The Conductor is
 *    then a Gaussian policy over z with mean logits/τ and fixed σ, so log π(z | h) =
 *    −‖z − logits/τ‖² / (2σ²) + const and REINFORCE is the usual Gaussian score function. Its own
 *    entropy is constant (fixed σ), so the entropy bonus acts on softmax(logits/τ) instead — it
 *    keeps the mean weights from collapsing to one component. Why not a Dirichlet: its
 *    log-density gradient blows up near the simplex faces, and the Gaussian keeps a clean closed
 *    form to test against.
 *
 * Sampling: per response (each response of a group draws its own action; the paper's choice) or
 * prompt-level (one action per group, from the prompt-only state). With prompt-level sampling
 * every response of a group shares (h, a), and GRPO advantages sum to zero within a group, so
 * Σ Â·∇log π(a|h) = 0: the meta-gradient vanishes (up to rounding) — see test/maestro.test.ts.
 *
 * Updates from a buffer of (h, a, Â):
 *  - `reinforceUpdate`: loss = −mean(Â·log π(a|h)) − λ·mean(H(π(·|h))), one optimizer step;
 *  - `gradientBanditUpdate`: Sutton & Barto's gradient bandit (§2.8), preferences moved by
 *    α(R − baseline)(1[a] − π) (here R − baseline = Â) and pushed through the linear head
 *    (∂logits/∂W = h). For the linear softmax head this IS the REINFORCE gradient step (SGD, λ = 0):
 *    ∂ log π(a|h)/∂logits = (1[a] − π)/τ.
 * `policyGradient` gives the REINFORCE part of the gradient in closed form (float64), whose norm
 * is the "meta-gradient norm" of figure F5.
 *
 * What it optimises (meta-reward.ts): paid with Â, its expected payoff J(φ) = E[mean Â] is 0 for
 * every φ (Â sums to zero in every group), so REINFORCE on Â is not the gradient of an objective;
 * each response's payoff Â contains the Conductor's own choice — E[Â | a] grows with (1 − η)·r_a
 * of that very response — so the bandit drifts toward the component with the highest LEVEL. On the
 * toy's default configuration that is "format" for every task type (notebook 04's F2 and its "Why"
 * finding; test/maestro.test.ts asserts favourite action = highest-level component on one seed).
 */
import { tf } from "../tf";
import { EmptyInputError, InvalidArgumentError, NonFiniteError, ShapeError, assertKnownKeys, assertOneOf } from "../errors";
import { Rng, Seed } from "../random";

/** K when `numComponents` is not given: the five components of the MAESTRO toy (kernel-lib/studies/maestro). */
const DEFAULT_COMPONENTS = 5;

/**
 * The action → reward-weight mappings a Conductor can use (`mapping` option; default "discrete"):
 * "discrete" emphasises one component, w(a) = (1 − η)·e_a + (η/K)·1; "continuous" samples logits
 * z around the Conductor's own and uses w = normalise(max(softmax(z), p_min)) (see the module header).
 */
export const WEIGHT_MAPPINGS = ["discrete", "continuous"] as const;
/** One of WEIGHT_MAPPINGS: how a Conductor action becomes reward weights. */
export type WeightMapping = (typeof WEIGHT_MAPPINGS)[number];
/** "shared-action": one action per group drawn from its first response's context (the other half of the prompt-level ablation). */
export const ACTION_SAMPLING = ["per-response", "prompt-level", "shared-action"] as const;
/**
 * One of ACTION_SAMPLING: "per-response" (the paper's: each response draws its own action from its
 * own context), "prompt-level" (one action per group from the prompt-only context: the
 * meta-gradient then cancels exactly) or "shared-action" (one action per group, credited with each
 * response's own context).
 */
export type ActionSampling = (typeof ACTION_SAMPLING)[number];

/**
 * Options of `new Conductor(...)`. Only `inputSize` is required; the defaults (K = 5, discrete
 * mapping, τ = 1, η = 0.3, p_min = 0.02, σ = 0.5, zero initial weights) are the MAESTRO toy's, and
 * the zero init makes the first policy uniform so a run needs no seed until `initScale` > 0.
 */
export interface ConductorOptions {
  /** Width of the hidden state the Conductor reads (the policy's terminal hidden size). */
  inputSize: number;
  /** K (default 5, the MAESTRO toy's components). */
  numComponents?: number;
  /** Action → weight mapping (default "discrete"; see WEIGHT_MAPPINGS). */
  mapping?: WeightMapping;
  /** Softmax temperature τ (default 1). */
  temperature?: number;
  /** Discrete mapping's floor η (default 0.3). */
  eta?: number;
  /** Continuous mapping's floor p_min (default 0.02). */
  pMin?: number;
  /** Continuous mapping's exploration std σ in logit space (default 0.5). */
  sigma?: number;
  /** Std of the initial weights (default 0: a uniform π at the start, no seed needed). */
  initScale?: number;
  /** Seed of the initial weights; required when `initScale` > 0. */
  seed?: Seed;
}

/** One sampled action: `action` is the emphasised component (discrete) or argmax of z (continuous). */
export interface ConductorAction {
  action: number;
  /** The sampled logit vector (continuous mapping), else null. */
  z: number[] | null;
  weights: number[];
}

/** One bandit observation. */
export interface ConductorExperience {
  hidden: number[];
  action: number;
  z: number[] | null;
  /** The meta-reward: the response's GRPO group advantage. */
  advantage: number;
}

/** What one `reinforceUpdate` reports: the loss, the policy's entropy and the meta-gradient norm before the step. */
export interface ConductorUpdateStats {
  /** The REINFORCE loss −mean(Â·log π(a|h)) − λ·mean(H) before the step. */
  loss: number;
  /** mean H(π(·|h)) over the buffer (before the update). */
  entropy: number;
  /** ‖∇φ of −mean(Â·log π(a|h))‖₂ before the update (entropy term excluded). */
  metaGradientNorm: number;
  /** Buffer entries the update used. */
  samples: number;
}

const OPTION_KEYS = ["inputSize", "numComponents", "mapping", "temperature", "eta", "pMin", "sigma", "initScale", "seed"];

function positive(argument: string, v: unknown): number {
  if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) throw new InvalidArgumentError(argument, "a finite number > 0", v);
  return v;
}

/**
 * The MAESTRO Conductor for your own GRPO loop: a linear softmax head on the policy's (stopped-
 * gradient) hidden state that picks an emphasis action per response and maps it to reward weights
 * (`act`, `expectedWeights`), trained as a contextual bandit from a buffer of (h, a, payoff) with
 * `reinforceUpdate` (REINFORCE + entropy bonus λ, one optimizer step) or `gradientBanditUpdate`.
 * What the paper's payoff optimises (nothing: E[Â] ≡ 0) and the alternatives are in
 * `maestro.metaRewards`. Tensors: the weights are two tf.Variables; call `dispose()` when done.
 *
 * @example
 * ```ts
 * const conductor = new lab.maestro.Conductor({ inputSize: 16 });          // uniform at the start
 * const [a] = conductor.act([hidden], new lab.Rng(0));                     // a.weights: w(a), sums to 1
 * const reward = lab.studies.maestro.dot(a.weights, components);           // R = wᵀr
 * // … after GRPO: buffer.push({ hidden, action: a.action, z: a.z, advantage: payoff });
 * conductor.reinforceUpdate(buffer, optimizer, 0.01);
 * conductor.dispose();
 * ```
 */
export class Conductor {
  /** Width of the hidden state it reads. */
  readonly inputSize: number;
  /** Number of reward components (and discrete actions). */
  readonly K: number;
  /** The action → weight mapping. */
  readonly mapping: WeightMapping;
  /** Softmax temperature τ. */
  readonly temperature: number;
  /** Discrete mapping's floor η. */
  readonly eta: number;
  /** Continuous mapping's floor p_min. */
  readonly pMin: number;
  /** Continuous mapping's exploration std σ. */
  readonly sigma: number;
  /** Weights [inputSize, K] of the linear head. */
  readonly W: tf.Variable;
  /** Bias [K] of the linear head. */
  readonly b: tf.Variable;

  constructor(options: ConductorOptions) {
    if (options === null || typeof options !== "object") throw new InvalidArgumentError("options", "a ConductorOptions object", options);
    assertKnownKeys("options", options, OPTION_KEYS);
    const { inputSize } = options;
    if (typeof inputSize !== "number" || !Number.isInteger(inputSize) || inputSize < 1) throw new InvalidArgumentError("options.inputSize", "a positive integer", inputSize);
    this.inputSize = inputSize;
    this.K = options.numComponents ?? DEFAULT_COMPONENTS;
    if (!Number.isInteger(this.K) || this.K < 2) throw new InvalidArgumentError("options.numComponents", "an integer ≥ 2", this.K);
    this.mapping = options.mapping ?? "discrete";
    assertOneOf("options.mapping", this.mapping, WEIGHT_MAPPINGS);
    this.temperature = positive("options.temperature", options.temperature ?? 1);
    this.eta = options.eta ?? 0.3;
    if (typeof this.eta !== "number" || !(this.eta >= 0 && this.eta <= 1)) throw new InvalidArgumentError("options.eta", "a number in [0, 1]", this.eta);
    this.pMin = options.pMin ?? 0.02;
    if (typeof this.pMin !== "number" || !(this.pMin >= 0 && this.pMin * this.K < 1)) throw new InvalidArgumentError("options.pMin", `a number in [0, 1/K = ${1 / this.K})`, this.pMin);
    this.sigma = positive("options.sigma", options.sigma ?? 0.5);
    const initScale = options.initScale ?? 0;
    if (typeof initScale !== "number" || !(initScale >= 0) || !Number.isFinite(initScale)) throw new InvalidArgumentError("options.initScale", "a finite number ≥ 0", initScale);
    if (initScale > 0 && options.seed === undefined) throw new InvalidArgumentError("options.seed", "a seed when initScale > 0");
    const rng = new Rng(options.seed ?? 0).derive("conductor-init");
    const values = Float32Array.from({ length: inputSize * this.K }, () => (initScale > 0 ? rng.normal() * initScale : 0));
    const W0 = tf.tensor2d(values, [inputSize, this.K]), b0 = tf.zeros([this.K]);
    this.W = tf.variable(W0, true);
    this.b = tf.variable(b0, true);
    W0.dispose(); b0.dispose();
  }

  /** Raw logits h·W + b per row (float64 from the current weights). */
  logits(hidden: readonly number[][]): number[][] {
    this.checkHidden("hidden", hidden);
    const W = this.W.dataSync(), b = this.b.dataSync(), K = this.K, D = this.inputSize;
    return hidden.map((h) => {
      const out = Array.from(b, Number);
      for (let d = 0; d < D; d++) {
        const x = h[d];
        if (x === 0) continue;
        for (let k = 0; k < K; k++) out[k] += x * W[d * K + k];
      }
      return out;
    });
  }

  /** π_φ(· | h) = softmax(logits / τ) per row. */
  probabilities(hidden: readonly number[][]): number[][] {
    return this.logits(hidden).map((l) => softmaxT(l, this.temperature));
  }

  /** Discrete mapping: w(a) = (1 − η)·e_a + (η/K)·1. */
  discreteWeights(action: number): number[] {
    if (!Number.isInteger(action) || action < 0 || action >= this.K) throw new InvalidArgumentError("action", `an integer in [0, ${this.K})`, action);
    return Array.from({ length: this.K }, (_, k) => (k === action ? 1 - this.eta : 0) + this.eta / this.K);
  }

  /** Continuous mapping: normalise(max(softmax(z), p_min)). */
  continuousWeights(z: readonly number[]): number[] {
    const p = softmaxT(z, 1).map((v) => Math.max(v, this.pMin));
    const s = p.reduce((a, c) => a + c, 0);
    return p.map((v) => v / s);
  }

  /** One independent action per row of `hidden` (per-response sampling). */
  act(hidden: readonly number[][], rng: Rng): ConductorAction[] {
    const logits = this.logits(hidden);
    return logits.map((l) => {
      if (this.mapping === "discrete") {
        const action = rng.categorical(softmaxT(l, this.temperature));
        return { action, z: null, weights: this.discreteWeights(action) };
      }
      const z = l.map((v) => v / this.temperature + this.sigma * rng.normal());
      return { action: argmax(z), z, weights: this.continuousWeights(z) };
    });
  }

  /** E_a[w(a) | h] (discrete) or the noise-free w(logits/τ) (continuous), per row. */
  expectedWeights(hidden: readonly number[][]): number[][] {
    return this.logits(hidden).map((l) => {
      if (this.mapping === "continuous") return this.continuousWeights(l.map((v) => v / this.temperature));
      const p = softmaxT(l, this.temperature);
      return p.map((pk) => (1 - this.eta) * pk + this.eta / this.K);
    });
  }

  /** The differentiable REINFORCE loss −mean(Â·log π(a|h)) − λ·mean(H); caller owns the scalars. */
  loss(buffer: readonly ConductorExperience[], entropyBonus: number): { loss: tf.Scalar; entropy: tf.Scalar } {
    this.checkBuffer(buffer);
    if (typeof entropyBonus !== "number" || !(entropyBonus >= 0) || !Number.isFinite(entropyBonus)) throw new InvalidArgumentError("entropyBonus", "a finite number ≥ 0", entropyBonus);
    const n = buffer.length, K = this.K;
    return tf.tidy(() => {
      const H = tf.tensor2d(buffer.flatMap((e) => e.hidden), [n, this.inputSize]);
      const adv = tf.tensor1d(buffer.map((e) => e.advantage));
      const scaled = tf.div(tf.add(tf.matMul(H, this.W), this.b), this.temperature);
      const logp = tf.logSoftmax(scaled);
      const entropy = tf.mean(tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), 1))) as tf.Scalar;
      let picked: tf.Tensor;
      if (this.mapping === "discrete") {
        const onehot = tf.tensor2d(buffer.flatMap((e) => Array.from({ length: K }, (_, k) => (k === e.action ? 1 : 0))), [n, K]);
        picked = tf.sum(tf.mul(logp, onehot), 1);
      } else {
        const Z = tf.tensor2d(buffer.flatMap((e) => e.z as number[]), [n, K]);
        picked = tf.div(tf.sum(tf.square(tf.sub(Z, scaled)), 1), -2 * this.sigma * this.sigma);
      }
      const pg = tf.neg(tf.mean(tf.mul(adv, picked)));
      return { loss: tf.sub(pg, tf.mul(entropy, entropyBonus)) as tf.Scalar, entropy };
    });
  }

  /**
   * Closed-form gradient of −mean(Â·log π(a|h)) w.r.t. (W, b), float64. ∂(−Â log π)/∂logits is
   * −Â(1[a] − π)/τ (discrete) or −Â(z − logits/τ)/(σ²τ) (continuous); ∂logits/∂W = h.
   */
  policyGradient(buffer: readonly ConductorExperience[]): { W: Float64Array; b: Float64Array; norm: number } {
    this.checkBuffer(buffer);
    const D = this.inputSize, K = this.K, n = buffer.length, tau = this.temperature;
    const gW = new Float64Array(D * K), gb = new Float64Array(K);
    const logits = this.logits(buffer.map((e) => e.hidden));
    buffer.forEach((e, i) => {
      let delta: number[];
      if (this.mapping === "discrete") {
        const p = softmaxT(logits[i], tau);
        delta = p.map((pk, k) => ((k === e.action ? 1 : 0) - pk) / tau);
      } else {
        const z = e.z as number[];
        delta = logits[i].map((l, k) => (z[k] - l / tau) / (this.sigma * this.sigma * tau));
      }
      for (let k = 0; k < K; k++) {
        const g = (-e.advantage * delta[k]) / n;
        gb[k] += g;
        for (let d = 0; d < D; d++) if (e.hidden[d] !== 0) gW[d * K + k] += e.hidden[d] * g;
      }
    });
    let ss = 0;
    for (const v of gW) ss += v * v;
    for (const v of gb) ss += v * v;
    return { W: gW, b: gb, norm: Math.sqrt(ss) };
  }

  /** One optimizer step on the REINFORCE loss (the caller keeps the optimizer across updates). */
  reinforceUpdate(buffer: readonly ConductorExperience[], optimizer: tf.Optimizer, entropyBonus: number): ConductorUpdateStats {
    if (!(optimizer instanceof tf.Optimizer)) throw new InvalidArgumentError("optimizer", "a tf.Optimizer", optimizer);
    const metaGradientNorm = this.policyGradient(buffer).norm;
    let entropy = NaN;
    const lossTensor = optimizer.minimize(() => {
      const out = this.loss(buffer, entropyBonus);
      entropy = out.entropy.dataSync()[0];
      out.entropy.dispose();
      return out.loss;
    }, true, [this.W, this.b]);
    const loss = lossTensor === null ? NaN : lossTensor.dataSync()[0];
    lossTensor?.dispose();
    if (!Number.isFinite(loss)) throw new NonFiniteError("Conductor REINFORCE loss (try a smaller conductor learning rate)");
    return { loss, entropy, metaGradientNorm, samples: buffer.length };
  }

  /**
   * Sutton & Barto's gradient-bandit update through the linear head, in float64: for each entry,
   * preferences move by α·Â·(1[a] − π(·|h)) (scaled by 1/τ, the preferences being logits/τ), and
   * W, b by that times h, 1 — averaged over the buffer. Discrete mapping only.
   */
  gradientBanditUpdate(buffer: readonly ConductorExperience[], stepSize: number): void {
    positive("stepSize", stepSize);
    if (this.mapping !== "discrete") throw new InvalidArgumentError("mapping", "\"discrete\" (the gradient bandit is defined for a categorical policy)", this.mapping);
    this.checkBuffer(buffer);
    const D = this.inputSize, K = this.K, n = buffer.length;
    const W = Float64Array.from(this.W.dataSync()), b = Float64Array.from(this.b.dataSync());
    const probs = this.probabilities(buffer.map((e) => e.hidden));
    buffer.forEach((e, i) => {
      for (let k = 0; k < K; k++) {
        const step = (stepSize * e.advantage * ((k === e.action ? 1 : 0) - probs[i][k])) / (this.temperature * n);
        b[k] += step;
        for (let d = 0; d < D; d++) W[d * K + k] += step * e.hidden[d];
      }
    });
    this.setParameters(W, b);
  }

  /** Copies of the head's weights W (row-major [inputSize, K]) and bias b. */
  getParameters(): { W: Float32Array; b: Float32Array } {
    return { W: this.W.dataSync().slice() as Float32Array, b: this.b.dataSync().slice() as Float32Array };
  }

  /** Overwrites W (inputSize·K values, row-major) and b (K values). */
  setParameters(W: ArrayLike<number>, b: ArrayLike<number>): void {
    if (W.length !== this.inputSize * this.K) throw new ShapeError("W", `${this.inputSize}×${this.K} values`, [W.length]);
    if (b.length !== this.K) throw new ShapeError("b", `${this.K} values`, [b.length]);
    tf.tidy(() => {
      this.W.assign(tf.tensor2d(Float32Array.from(W), [this.inputSize, this.K]));
      this.b.assign(tf.tensor1d(Float32Array.from(b)));
    });
  }

  /** Frees the two weight variables. */
  dispose(): void {
    this.W.dispose();
    this.b.dispose();
  }

  private checkHidden(argument: string, hidden: readonly number[][]): void {
    if (!Array.isArray(hidden)) throw new InvalidArgumentError(argument, "an array of hidden-state rows", hidden);
    hidden.forEach((h, i) => {
      if (!Array.isArray(h) || h.length !== this.inputSize) throw new ShapeError(`${argument}[${i}]`, `length ${this.inputSize} (the Conductor's inputSize)`, Array.isArray(h) ? [h.length] : "not an array");
      for (let d = 0; d < h.length; d++) if (!Number.isFinite(h[d])) throw new NonFiniteError(`${argument}[${i}]`, d);
    });
  }

  private checkBuffer(buffer: readonly ConductorExperience[]): void {
    if (!Array.isArray(buffer)) throw new InvalidArgumentError("buffer", "an array of {hidden, action, z, advantage}", buffer);
    if (buffer.length === 0) throw new EmptyInputError("buffer", "at least one (h, a, Â) entry");
    this.checkHidden("buffer[].hidden", buffer.map((e) => e.hidden));
    buffer.forEach((e, i) => {
      if (!Number.isFinite(e.advantage)) throw new NonFiniteError(`buffer[${i}].advantage`);
      if (this.mapping === "discrete" && !(Number.isInteger(e.action) && e.action >= 0 && e.action < this.K)) throw new InvalidArgumentError(`buffer[${i}].action`, `an integer in [0, ${this.K})`, e.action);
      if (this.mapping === "continuous" && (!Array.isArray(e.z) || e.z.length !== this.K)) throw new ShapeError(`buffer[${i}].z`, `length ${this.K} (the sampled logits)`, Array.isArray(e.z) ? [e.z.length] : "missing");
    });
  }
}

/** softmax(x / τ), float64, max-shifted. */
export function softmaxT(x: readonly number[], tau: number): number[] {
  let max = -Infinity;
  for (const v of x) max = Math.max(max, v / tau);
  const e = x.map((v) => Math.exp(v / tau - max));
  const s = e.reduce((a, c) => a + c, 0);
  return e.map((v) => v / s);
}

function argmax(x: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** A Dirichlet(α·1) draw (the "random per-response weights" baseline), via normalised Gammas. */
export function sampleDirichlet(rng: Rng, K: number, alpha = 1): number[] {
  const g = Array.from({ length: K }, () => sampleGamma(rng, alpha));
  const s = g.reduce((a, c) => a + c, 0);
  return g.map((v) => v / s);
}

/** Gamma(shape, 1) by Marsaglia & Tsang (shape < 1 via the boost u^(1/shape)). */
function sampleGamma(rng: Rng, shape: number): number {
  if (shape < 1) {
    let u = 0; while (u === 0) u = rng.uniform();
    return sampleGamma(rng, shape + 1) * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3, c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number, v: number;
    do { x = rng.normal(); v = 1 + c * x; } while (v <= 0);
    v = v * v * v;
    const u = rng.uniform();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}
