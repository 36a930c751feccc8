/**
 * The K = 5 conflicting reward components of the MAESTRO toy and the hidden true utility.
 *
 * | k | component    | normalised to [0, 1]                          | raw ("unnormalised") units        |
 * | 0 | faithfulness | multiset token-overlap F1 with the gold answer | same F1, [0, 1]                   |
 * | 1 | format       | share of 3 checks passed (below)               | checks passed, 0…3                |
 * | 2 | creativity   | Shannon entropy of the body's tokens / ln L    | entropy in nats, 0…ln L (≈2.5)    |
 * | 3 | brevity      | 1 − length / L                                 | tokens saved, L − length, 0…L     |
 * | 4 | preference   | σ(s) of a frozen random linear scorer          | the score s itself (≈ ±3)         |
 * L = maxResponseLength. Raw units differ by an order of magnitude on purpose: the
 * "unnormalised" ablation asks whether a learned weighting chases the largest scale.
 *
 * Choices (documented, options where they matter):
 *  - faithfulness on creative prompts (no gold): `creativeFaithfulness` "topic" (default: F1
 *    against the prompt's own content words — staying on topic, as a perplexity-based
 *    faithfulness would reward; it favours short echoing answers, so it CONFLICTS with
 *    creativity), "zero" (nothing to be faithful to) or "neutral" (a constant 0.5). With "zero"
 *    or "neutral" faithfulness is constant within creative prompts, so it becomes a clean type
 *    indicator and one static w (faithfulness-heavy plus creativity) is nearly best for every
 *    type — the conflict the study needs disappears (measured: the best single w is within
 *    0.05 true utility of every type's own best);
 *  - format checks: ends with <eos>; no token trigram occurs twice; bracket convention — the
 *    body is "[" … "]" with no other bracket inside;
 *  - the preference model: s = Σ_t u[token_t] / √L + b·(length/L − ½), u ~ N(0, 1) per token,
 *    frozen from the seed; b = `preferenceLengthBias` (default 4) makes it favour long outputs,
 *    as learned reward models are known to.
 *
 * The TRUE utility of a response to a prompt of type τ is u_τ · r (normalised r), with weights
 * that differ by type (creative: creativity + preference; factual: faithfulness + format;
 * concise: brevity + faithfulness). It is used only for evaluation: training never sees it
 * except in the "oracle" arm.
 */
import { InvalidArgumentError, UnknownOptionError, assertKnownKeys, assertOneOf } from "../../errors";
import { Rng, Seed } from "../../random";
import { CLOSE, MaestroEnv, MaestroPrompt, OPEN, ParsedResponse, TaskType, isStructural } from "./env";

/** The K = 5 reward components, in the order every weight vector and component vector uses (see the module header's table). */
export const REWARD_COMPONENTS = ["faithfulness", "format", "creativity", "brevity", "preference"] as const;
/** One of REWARD_COMPONENTS. */
export type RewardComponent = (typeof REWARD_COMPONENTS)[number];
/** K, the number of reward components (5). */
export const NUM_COMPONENTS = REWARD_COMPONENTS.length;

/** Hidden true-utility weights per task type (rows sum to 1), in REWARD_COMPONENTS order. */
export const TRUE_UTILITY_WEIGHTS: Readonly<Record<TaskType, readonly number[]>> = {
  creative: [0, 0.1, 0.5, 0, 0.4],
  factual: [0.6, 0.3, 0, 0.1, 0],
  concise: [0.4, 0.1, 0, 0.5, 0],
};

/** The component with the largest true-utility weight for each type. */
export const DOMINANT_COMPONENT: Readonly<Record<TaskType, RewardComponent>> = {
  creative: "creativity",
  factual: "faithfulness",
  concise: "brevity",
};

/**
 * Conventions for faithfulness on creative prompts, which have no gold answer: "topic" (default:
 * F1 against the prompt's own content words — it conflicts with creativity, which the study
 * needs), "zero" or "neutral" (0.5; both make faithfulness a clean type indicator).
 */
export const CREATIVE_FAITHFULNESS = ["topic", "zero", "neutral"] as const;
/** One of CREATIVE_FAITHFULNESS. */
export type CreativeFaithfulness = (typeof CREATIVE_FAITHFULNESS)[number];

/** Options of `new RewardModel(env, ...)`: only `seed` is required; defaults in the field docs. */
export interface RewardOptions {
  /** Seed of the frozen preference model. */
  seed: Seed;
  /** Components in [0, 1] (default true); false gives the raw units of the module header. */
  normalize?: boolean;
  /** Faithfulness on creative prompts (default "topic", see CREATIVE_FAITHFULNESS). */
  creativeFaithfulness?: CreativeFaithfulness;
  /** b in the preference score s = Σ u / √L + b·(length/L − ½) (default 4: favours long outputs, as learned reward models do). */
  preferenceLengthBias?: number;
}

/**
 * The toy's K = 5 conflicting reward components of a response (`components`, normalised to [0, 1]
 * by default) and its hidden true utility (`trueUtility`, evaluation only). The preference model
 * is frozen from the seed. See the module header for each component and the choices behind them.
 */
export class RewardModel {
  /** Whether `components` normalises to [0, 1] by default (false: raw units, the "unnormalised" arm). */
  readonly normalize: boolean;
  /** The creative-prompt faithfulness convention. */
  readonly creativeFaithfulness: CreativeFaithfulness;
  /** The preference model's length bias b. */
  readonly preferenceLengthBias: number;
  /** The frozen preference model's per-token weights u (float64, length = vocabulary). */
  readonly preferenceWeights: readonly number[];
  private readonly L: number;

  constructor(readonly env: MaestroEnv, options: RewardOptions) {
    if (!(env instanceof MaestroEnv)) throw new InvalidArgumentError("env", "a MaestroEnv", env);
    if (options === null || typeof options !== "object") throw new InvalidArgumentError("options", "a RewardOptions object", options);
    assertKnownKeys("options", options, ["seed", "normalize", "creativeFaithfulness", "preferenceLengthBias"]);
    this.normalize = options.normalize ?? true;
    if (typeof this.normalize !== "boolean") throw new InvalidArgumentError("options.normalize", "true or false", this.normalize);
    this.creativeFaithfulness = options.creativeFaithfulness ?? "topic";
    assertOneOf("options.creativeFaithfulness", this.creativeFaithfulness, CREATIVE_FAITHFULNESS);
    this.preferenceLengthBias = options.preferenceLengthBias ?? 4;
    if (typeof this.preferenceLengthBias !== "number" || !Number.isFinite(this.preferenceLengthBias)) throw new InvalidArgumentError("options.preferenceLengthBias", "a finite number", this.preferenceLengthBias);
    const rng = new Rng(options.seed).derive("preference-model");
    this.preferenceWeights = Array.from({ length: env.vocabSize }, () => rng.normal());
    this.L = env.maxResponseLength;
  }

  /** The K components of a response (normalised unless this model or `normalize` says raw). */
  components(prompt: MaestroPrompt, response: ParsedResponse, normalize = this.normalize): number[] {
    const f = this.faithfulness(prompt, response.body);
    const checks = formatChecks(response);
    const passed = checks.endsWithEos + checks.noRepeatedTrigram + checks.bracketed;
    const h = tokenEntropy(response.body);
    const len = response.body.length;
    const s = this.preferenceScore(response.body);
    if (!normalize) return [f, passed, h, this.L - len, s];
    // (min: ln n / ln L can round to 1 + 1e-16 when the body has L distinct tokens)
    return [f, passed / 3, Math.min(1, h / Math.log(this.L)), 1 - len / this.L, sigmoid(s)];
  }

  /** u_τ · r with normalised components, whatever this model's `normalize` is. */
  trueUtility(prompt: MaestroPrompt, response: ParsedResponse): number {
    return dot(TRUE_UTILITY_WEIGHTS[prompt.type], this.components(prompt, response, true));
  }

  /** Multiset F1 of the body's non-structural tokens against the gold answer (creative: see header). */
  faithfulness(prompt: MaestroPrompt, body: readonly number[]): number {
    let reference = prompt.gold;
    if (reference === null) {
      if (this.creativeFaithfulness === "zero") return 0;
      if (this.creativeFaithfulness === "neutral") return 0.5;
      reference = prompt.content;
    }
    const words = body.filter((t) => !isStructural(t));
    if (words.length === 0) return 0;
    const remaining = new Map<number, number>();
    for (const g of reference) remaining.set(g, (remaining.get(g) ?? 0) + 1);
    let overlap = 0;
    for (const w of words) {
      const c = remaining.get(w) ?? 0;
      if (c > 0) { overlap++; remaining.set(w, c - 1); }
    }
    if (overlap === 0) return 0;
    const precision = overlap / words.length, recall = overlap / reference.length;
    return (2 * precision * recall) / (precision + recall);
  }

  preferenceScore(body: readonly number[]): number {
    let s = 0;
    for (const t of body) s += this.preferenceWeights[t] ?? 0;
    return s / Math.sqrt(this.L) + this.preferenceLengthBias * (body.length / this.L - 0.5);
  }
}

/** The three format checks of a response, each 1 (passed) or 0: the format component is their mean. */
export interface FormatChecks {
  /** The response ended with <eos> within the length budget. */
  endsWithEos: number;
  /** No token trigram occurs twice in the body. */
  noRepeatedTrigram: number;
  /** The body is "[" … "]" with no other bracket inside. */
  bracketed: number;
}

/** The format checks of one response (see FormatChecks). */
export function formatChecks(response: ParsedResponse): FormatChecks {
  const b = response.body;
  const seen = new Set<string>();
  let repeated = false;
  for (let t = 0; t + 2 < b.length && !repeated; t++) {
    const key = `${b[t]},${b[t + 1]},${b[t + 2]}`;
    if (seen.has(key)) repeated = true;
    seen.add(key);
  }
  const inner = b.slice(1, -1);
  const bracketed = b.length >= 2 && b[0] === OPEN && b[b.length - 1] === CLOSE && !inner.includes(OPEN) && !inner.includes(CLOSE);
  return { endsWithEos: response.hasEos ? 1 : 0, noRepeatedTrigram: repeated ? 0 : 1, bracketed: bracketed ? 1 : 0 };
}

/** Shannon entropy (nats) of the token frequencies of a body; 0 for an empty body. */
export function tokenEntropy(body: readonly number[]): number {
  if (body.length === 0) return 0;
  const counts = new Map<number, number>();
  for (const t of body) counts.set(t, (counts.get(t) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) { const p = c / body.length; h -= p * Math.log(p); }
  return h;
}

/** The logistic function 1/(1 + e^(−x)), computed without overflow for large |x| (the preference component's squashing). */
export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** Σ a_i·b_i over a's length: a reward wᵀr from weights and components. */
export function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** The index of a component name (UnknownOptionError listing the valid ones otherwise). */
export function componentIndex(name: string, argument = "component"): number {
  const k = (REWARD_COMPONENTS as readonly string[]).indexOf(name);
  if (k < 0) throw new UnknownOptionError(argument, name, REWARD_COMPONENTS);
  return k;
}

/** Checks a weight vector: K finite non-negative entries (not necessarily summing to 1). */
export function checkWeights(argument: string, w: unknown): number[] {
  if (!Array.isArray(w) || w.length !== NUM_COMPONENTS) throw new InvalidArgumentError(argument, `an array of ${NUM_COMPONENTS} weights (${REWARD_COMPONENTS.join(", ")})`, w);
  w.forEach((v, i) => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new InvalidArgumentError(`${argument}[${i}]`, "a finite number ≥ 0", v);
  });
  return w.slice();
}

/** Every point of the simplex {w ≥ 0, Σw = 1} with coordinates in multiples of 1/divisions. */
export function simplexGrid(dimensions: number, divisions: number): number[][] {
  if (!Number.isInteger(dimensions) || dimensions < 1) throw new InvalidArgumentError("dimensions", "a positive integer", dimensions);
  if (!Number.isInteger(divisions) || divisions < 1 || divisions > 20) throw new InvalidArgumentError("divisions", "an integer in [1, 20]", divisions);
  const out: number[][] = [];
  const walk = (prefix: number[], left: number) => {
    if (prefix.length === dimensions - 1) { out.push([...prefix, left].map((c) => c / divisions)); return; }
    for (let c = left; c >= 0; c--) walk([...prefix, c], left - c);
  };
  walk([], divisions);
  return out;
}


