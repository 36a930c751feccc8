/**
 * The arms (baselines, controls and ablations) of the MAESTRO study and the run configuration,
 * with its defaults per policy tier. An arm decides only how each response's reward weights are
 * chosen and a few Conductor settings; everything else (seeds, budget, env, GRPO settings) is
 * shared, so arms compare like for like.
 *
 * | arm                  | weights per response                                   |
 * | maestro              | Conductor, per-response actions, λ, every M steps, payoff Â |
 * | prompt-level         | Conductor, one action per group from the prompt state    |
 * | shared-action        | one action per group (drawn from its first response's h), |
 * |                      | per-response h in the buffer: isolates action sharing    |
 * | fixed-advantage      | maestro paid Â under fixed equal weights (action-        |
 * |                      | independent payoff: expected meta-gradient 0)            |
 * | loo-meta             | maestro paid R(w(a)) − leave-one-out mean of R(equal)    |
 * |                      | (non-zero expectation; meta-reward.ts)                   |
 * | aligned-meta         | maestro paid g_j·(R(w(a)) − R(equal)), g_j = ∇U_val·∇log π |
 * |                      | (target-informed: reads validation true utility; exact   |
 * |                      | in tier A, a REINFORCE estimate of ∇U in tier B)         |
 * | uniform-conductor    | the Conductor's action space, φ = 0 frozen (never updated)|
 * | no-entropy           | maestro with λ = 0                                      |
 * | every-step           | maestro with M = 1                                      |
 * | unnormalised         | maestro on raw-unit components                          |
 * | maestro-group        | maestro on group z-scored components (GDPO-style)       |
 * | equal                | static 1/K                                              |
 * | equal-group          | static 1/K on group z-scored components                 |
 * | random               | Dirichlet(1) per response                               |
 * | tuned                | static, best on a simplex grid (+ 1/K) by TRUE utility   |
 * |                      | on a validation set: "argmax" = predicted for a converged|
 * |                      | policy (tier A), "runs" = short runs (search cost reported)|
 * | oracle               | the true utility's weights of the prompt's true type    |
 * | single-<component>   | static one-hot (single-reward GRPO)                     |
 * | em-grpo              | reward = mean log-prob per emitted token under the       |
 * |                      | policy (entropy minimisation, the paper's best baseline) |
 * | init                 | no training: the initial (tier B: SFT) policy           |
 */
import { InvalidArgumentError, UnknownOptionError, assertKnownKeys, assertOneOf } from "../../errors";
import { ACTION_SAMPLING, ActionSampling, WEIGHT_MAPPINGS, WeightMapping } from "../../maestro/conductor";
import { META_REWARDS, MetaReward } from "../../maestro/meta-reward";
import { GRPO_AGGREGATIONS, GrpoAggregation } from "../../train/grpo";
import { STD_ESTIMATORS, StdEstimator } from "../../train/advantages";
import { CREATIVE_FAITHFULNESS, CreativeFaithfulness, NUM_COMPONENTS, REWARD_COMPONENTS } from "./rewards";
import { POLICY_TIERS, PolicyTier } from "./policy-types";

/** Every arm of the MAESTRO study (the module header's table says how each chooses a response's reward weights). */
export const MAESTRO_ARMS = [
  "maestro", "prompt-level", "no-entropy", "every-step", "unnormalised",
  "equal", "random", "tuned", "oracle",
  "single-faithfulness", "single-format", "single-creativity", "single-brevity", "single-preference",
  "shared-action", "fixed-advantage", "loo-meta", "uniform-conductor", "maestro-group", "equal-group", "em-grpo", "init", "aligned-meta",
] as const;
/** One of MAESTRO_ARMS. */
export type MaestroArm = (typeof MAESTRO_ARMS)[number];

/**
 * How the "tuned" arm searches static weights: "argmax" (tier A: predict each grid w's validation
 * true utility for a converged policy that answers with the bank response maximising wᵀr — exact
 * and cheap) or "runs" (a short static training run per grid point; its cost is reported).
 */
export const TUNED_SEARCH_STRATEGIES = ["argmax", "runs"] as const;
/** One of TUNED_SEARCH_STRATEGIES. */
export type TunedSearchStrategy = (typeof TUNED_SEARCH_STRATEGIES)[number];

/**
 * One MAESTRO run's configuration (`runMaestroArm`): only `arm` is required; every other field
 * has a per-tier default (`resolveRunConfig` fills them in; the defaults are the study's
 * "default" preset, chosen so tier A plateaus and tier B runs in minutes on 2 cores). Unknown
 * keys are refused.
 */
export interface MaestroRunConfig {
  /** Which arm: how each response's reward weights are chosen. */
  arm: MaestroArm;
  /** "bank" (tier A, default) or "gru" (tier B). */
  tier?: PolicyTier;
  /** Policy (GRPO) steps. Default bank 200, gru 40. */
  steps?: number;
  /** Prompts per step, ≥ 3 so every type is seen each step (default 6). */
  promptsPerStep?: number;
  /** GRPO group size G (default 8). */
  groupSize?: number;
  // environment and rewards
  /** Cue noise of the env (default 0.2, see MaestroEnvOptions). */
  noise?: number;
  /** Longest response, <eos> included (default 12). */
  maxResponseLength?: number;
  /** Faithfulness on creative prompts (default "topic": the convention that makes the components conflict). */
  creativeFaithfulness?: CreativeFaithfulness;
  /** Override of the arm's choice (every arm normalises except "unnormalised"). */
  normalizeRewards?: boolean;
  /**
   * "none" (default, the spec): R = wᵀr. "group": each component is z-scored within its GRPO
   * group before weighting (GDPO-style decoupled normalisation; train/advantages' groupNormalize),
   * so a component's level — e.g. a format score everyone passes — cannot dominate R.
   */
  componentCentering?: ComponentCentering;
  // Conductor
  /** Action → weight mapping (default "discrete"). */
  mapping?: WeightMapping;
  /** Discrete mapping's floor η (default 0.3). */
  eta?: number;
  /** Continuous mapping's floor p_min (default 0.02). */
  pMin?: number;
  /** Continuous mapping's exploration std σ (default 0.5). */
  sigma?: number;
  /** The Conductor's softmax temperature τ (default 1). */
  conductorTemperature?: number;
  /** M: Conductor update every M policy steps (default 4; "every-step" uses 1). */
  conductorEvery?: number;
  /** λ (default 0.01; "no-entropy" uses 0). */
  entropyBonus?: number;
  /** Adam rate of the Conductor (default 0.05). */
  conductorLearningRate?: number;
  /** The Conductor's payoff (meta-reward.ts): "advantage" (default, the paper), "fixed-advantage", "loo-fixed", "alignment" (exact in tier bank, estimated in tier gru). */
  metaReward?: MetaReward;
  /** Multiplies the format component of the TRAINING reward (default 1; the true utility is unchanged): sensitivity to a saturated component. */
  formatScale?: number;
  // GRPO (train/grpo.ts)
  /** "sequenceLevel" (default, the original GRPO; carries a length bias) or "tokenLevel" (DAPO). */
  aggregation?: GrpoAggregation;
  /** Divide advantages by the group std (default true; false = Dr. GRPO centring). */
  normalizeStd?: boolean;
  /** Group std estimator of the advantages (default "population", as GRPO implementations use). */
  stdEstimator?: StdEstimator;
  /** eps added to the group std (default 1e-6; TRL uses 1e-4). */
  advantageEps?: number;
  /** PPO passes over each batch (default 1: the ratio is 1 and the clip never binds). */
  ppoEpochs?: number;
  /** Responses per optimizer step (default 0 = the whole batch). */
  minibatchSize?: number;
  /** Tier B: stop each row at its <eos> (default true); false samples the full budget L (the cost comparison). */
  stopAtEos?: boolean;
  /** Held-out true utility every this many steps (the convergence curve; default steps/20 bank, steps/5 gru; 0 = off). */
  curveEvalEvery?: number;
  // policy
  /** Adam rate of the policy (default bank 0.05, gru 0.01). */
  policyLearningRate?: number;
  /** β of the k3 KL to the frozen reference (default 0.01). */
  klBeta?: number;
  /** PPO clip ε (default 0.2; binds only with ppoEpochs > 1). */
  clipEpsilon?: number;
  // tier B
  /** GRU hidden width (default 32). */
  gruHiddenSize?: number;
  /** GRU token-embedding width (default 16). */
  gruEmbedSize?: number;
  /** SFT steps of the verbose pre-training (default 150). */
  pretrainSteps?: number;
  // evaluation
  /** Held-out evaluation prompts per task type (default bank 40, gru 8). */
  evalPromptsPerType?: number;
  /** Responses sampled per eval prompt (tier B only; tier A is exact). Default 4. */
  evalSamples?: number;
  /** Validation prompts per type, for the tuned search and the aligned-meta payoff (default bank 40, gru 6). */
  validationPromptsPerType?: number;
  // tuned static weights
  /** Simplex grid step 1/divisions (default bank 4 → 70 points; gru 2 → 15 points). */
  tunedGridDivisions?: number;
  /** "argmax" (tier A: the bank response maximising wᵀr per prompt) or "runs" (a short static run per grid point). */
  tunedSearch?: TunedSearchStrategy;
  /** Steps of each search run ("runs" strategy; default steps / 2). */
  tunedSearchSteps?: number;
}

/** MaestroRunConfig with every default filled in (what a run records as its configuration). */
export type ResolvedRunConfig = Required<MaestroRunConfig>;

/** How components enter R: "none" (R = wᵀr, the paper) or "group" (each component z-scored within its GRPO group first, GDPO-style). */
export const COMPONENT_CENTERING = ["none", "group"] as const;
/** One of COMPONENT_CENTERING. */
export type ComponentCentering = (typeof COMPONENT_CENTERING)[number];

/**
 * Where an arm's per-response weights come from: a Conductor, a static w, a Dirichlet draw
 * (random), the true type's utility weights (oracle), or no weights at all (em-grpo's
 * self-certainty reward).
 */
export type WeightingKind = "conductor" | "static" | "dirichlet" | "oracle" | "self-certainty";

/** What an arm means for the training loop (`armBehaviour`): its weighting, sampling, and whether it trains, is tuned or frozen. */
export interface ArmBehaviour {
  /** Where the weights come from. */
  weighting: WeightingKind;
  /** For "static" (tuned: filled in after the search). */
  staticWeights: number[] | null;
  /** How Conductor actions are drawn (per response, per prompt, shared). */
  sampling: ActionSampling;
  /** True for "tuned": static weights chosen by a search first. */
  tuned: boolean;
  /** Conductor never updated (uniform-conductor). */
  frozen: boolean;
  /** False only for "init": evaluate the initial policy. */
  train: boolean;
}

const CONFIG_KEYS = [
  "arm", "tier", "steps", "promptsPerStep", "groupSize", "noise", "maxResponseLength", "creativeFaithfulness", "normalizeRewards", "componentCentering",
  "mapping", "eta", "pMin", "sigma", "conductorTemperature", "conductorEvery", "entropyBonus", "conductorLearningRate",
  "metaReward", "formatScale", "aggregation", "normalizeStd", "stdEstimator", "advantageEps", "ppoEpochs", "minibatchSize", "stopAtEos", "curveEvalEvery",
  "policyLearningRate", "klBeta", "clipEpsilon", "gruHiddenSize", "gruEmbedSize", "pretrainSteps",
  "evalPromptsPerType", "evalSamples", "validationPromptsPerType", "tunedGridDivisions", "tunedSearch", "tunedSearchSteps",
];

function integer(config: MaestroRunConfig, key: keyof MaestroRunConfig, lo: number): void {
  const v = config[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo) throw new InvalidArgumentError(`config.${key}`, `an integer ≥ ${lo}`, v);
}

function nonNegative(config: MaestroRunConfig, key: keyof MaestroRunConfig, positive = false): void {
  const v = config[key];
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || (positive && v === 0)) throw new InvalidArgumentError(`config.${key}`, positive ? "a finite number > 0" : "a finite number ≥ 0", v);
}

/** Fills defaults, applies the arm's overrides and validates every field. */
export function resolveRunConfig(config: MaestroRunConfig): ResolvedRunConfig {
  if (config === null || typeof config !== "object") throw new InvalidArgumentError("config", "a MaestroRunConfig object", config);
  assertKnownKeys("config", config, CONFIG_KEYS);
  if (typeof config.arm !== "string" || !(MAESTRO_ARMS as readonly string[]).includes(config.arm)) {
    throw new UnknownOptionError("config.arm", String(config.arm), MAESTRO_ARMS);
  }
  const tier = config.tier ?? "bank";
  assertOneOf("config.tier", tier, POLICY_TIERS);
  const bank = tier === "bank";
  const steps = config.steps ?? (bank ? 200 : 40);
  const r: ResolvedRunConfig = {
    tier, steps, promptsPerStep: 6, groupSize: 8,
    noise: 0.2, maxResponseLength: 12, creativeFaithfulness: "topic", normalizeRewards: config.arm !== "unnormalised", componentCentering: config.arm === "maestro-group" || config.arm === "equal-group" ? "group" : "none",
    mapping: "discrete", eta: 0.3, pMin: 0.02, sigma: 0.5, conductorTemperature: 1,
    conductorEvery: config.arm === "every-step" ? 1 : 4, entropyBonus: config.arm === "no-entropy" ? 0 : 0.01, conductorLearningRate: 0.05,
    metaReward: config.arm === "fixed-advantage" ? "fixed-advantage" : config.arm === "loo-meta" ? "loo-fixed" : config.arm === "aligned-meta" ? "alignment" : "advantage", formatScale: 1,
    aggregation: "sequenceLevel", normalizeStd: true, stdEstimator: "population", advantageEps: 1e-6, ppoEpochs: 1, minibatchSize: 0, stopAtEos: true,
    curveEvalEvery: Math.max(1, Math.ceil(steps / (bank ? 20 : 5))),
    policyLearningRate: bank ? 0.05 : 0.01, klBeta: 0.01, clipEpsilon: 0.2,
    gruHiddenSize: 32, gruEmbedSize: 16, pretrainSteps: 150,
    evalPromptsPerType: bank ? 40 : 8, evalSamples: 4, validationPromptsPerType: bank ? 40 : 6,
    tunedGridDivisions: bank ? 4 : 2, tunedSearch: bank ? "argmax" : "runs", tunedSearchSteps: Math.max(1, Math.floor(steps / 2)),
    ...Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)),
  } as ResolvedRunConfig;
  // The arm's defining settings win over a conflicting explicit value only where the arm IS that setting.
  if (config.arm === "every-step" && config.conductorEvery !== undefined && config.conductorEvery !== 1) throw new InvalidArgumentError("config.conductorEvery", "1 or unset for the every-step arm", config.conductorEvery);
  if (config.arm === "no-entropy" && config.entropyBonus !== undefined && config.entropyBonus !== 0) throw new InvalidArgumentError("config.entropyBonus", "0 or unset for the no-entropy arm", config.entropyBonus);
  if (config.arm === "unnormalised" && config.normalizeRewards === true) throw new InvalidArgumentError("config.normalizeRewards", "false or unset for the unnormalised arm", true);
  const armSetting = <K extends keyof MaestroRunConfig>(key: K, arms: readonly MaestroArm[], value: MaestroRunConfig[K]) => {
    if (arms.includes(config.arm) && config[key] !== undefined && config[key] !== value) throw new InvalidArgumentError(`config.${key}`, `${JSON.stringify(value)} or unset for the ${config.arm} arm`, config[key]);
  };
  armSetting("componentCentering", ["maestro-group", "equal-group"], "group");
  armSetting("metaReward", ["fixed-advantage"], "fixed-advantage");
  armSetting("metaReward", ["loo-meta"], "loo-fixed");
  armSetting("metaReward", ["aligned-meta"], "alignment");
  integer(r, "steps", 1);
  integer(r, "ppoEpochs", 1);
  integer(r, "minibatchSize", 0);
  integer(r, "curveEvalEvery", 0);
  integer(r, "promptsPerStep", 3);
  integer(r, "groupSize", 2);
  integer(r, "maxResponseLength", 6);
  integer(r, "conductorEvery", 1);
  integer(r, "gruHiddenSize", 1);
  integer(r, "gruEmbedSize", 1);
  integer(r, "pretrainSteps", 0);
  integer(r, "evalPromptsPerType", 1);
  integer(r, "evalSamples", 1);
  integer(r, "validationPromptsPerType", 1);
  integer(r, "tunedGridDivisions", 1);
  integer(r, "tunedSearchSteps", 1);
  for (const key of ["eta", "pMin", "entropyBonus", "klBeta", "clipEpsilon", "noise", "formatScale", "advantageEps"] as const) nonNegative(r, key);
  for (const key of ["sigma", "conductorTemperature", "conductorLearningRate", "policyLearningRate"] as const) nonNegative(r, key, true);
  if (r.noise > 1) throw new InvalidArgumentError("config.noise", "a probability in [0, 1]", r.noise);
  assertOneOf("config.mapping", r.mapping, WEIGHT_MAPPINGS);
  assertOneOf("config.creativeFaithfulness", r.creativeFaithfulness, CREATIVE_FAITHFULNESS);
  assertOneOf("config.tunedSearch", r.tunedSearch, TUNED_SEARCH_STRATEGIES);
  assertOneOf("config.componentCentering", r.componentCentering, COMPONENT_CENTERING);
  assertOneOf("config.metaReward", r.metaReward, META_REWARDS);
  assertOneOf("config.aggregation", r.aggregation, GRPO_AGGREGATIONS);
  assertOneOf("config.stdEstimator", r.stdEstimator, STD_ESTIMATORS);
  for (const key of ["normalizeStd", "stopAtEos"] as const) if (typeof r[key] !== "boolean") throw new InvalidArgumentError(`config.${key}`, "true or false", r[key]);
  if (typeof r.normalizeRewards !== "boolean") throw new InvalidArgumentError("config.normalizeRewards", "true or false", r.normalizeRewards);
  if (r.tunedSearch === "argmax" && tier !== "bank" && config.arm === "tuned") throw new InvalidArgumentError("config.tunedSearch", "\"runs\" for tier gru (argmax needs the response bank)", r.tunedSearch);
  return r;
}

/** How an arm picks weights. */
export function armBehaviour(arm: MaestroArm): ArmBehaviour {
  assertOneOf("arm", arm, MAESTRO_ARMS);
  const base = { staticWeights: null, sampling: "per-response" as ActionSampling, tuned: false, frozen: false, train: true };
  const conductor = (sampling: ActionSampling, frozen = false): ArmBehaviour => ({ ...base, weighting: "conductor", sampling, frozen });
  const fixed = (w: number[]): ArmBehaviour => ({ ...base, weighting: "static", staticWeights: w });
  const equal = () => new Array<number>(NUM_COMPONENTS).fill(1 / NUM_COMPONENTS);
  if (arm.startsWith("single-")) {
    const k = (REWARD_COMPONENTS as readonly string[]).indexOf(arm.slice("single-".length));
    return fixed(Array.from({ length: NUM_COMPONENTS }, (_, i) => (i === k ? 1 : 0)));
  }
  switch (arm) {
    case "equal": case "equal-group": return fixed(equal());
    case "init": return { ...fixed(equal()), train: false };
    case "random": return { ...base, weighting: "dirichlet" };
    case "oracle": return { ...base, weighting: "oracle" };
    case "em-grpo": return { ...base, weighting: "self-certainty" };
    case "tuned": return { ...base, weighting: "static", tuned: true };
    case "prompt-level": return conductor("prompt-level");
    case "shared-action": return conductor("shared-action");
    case "uniform-conductor": return conductor("per-response", true);
    default: return conductor("per-response"); // maestro, no-entropy, every-step, unnormalised, maestro-group, fixed-advantage, loo-meta, aligned-meta
  }
}

export { ACTION_SAMPLING };
