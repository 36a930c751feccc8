/**
 * What one MAESTRO run is made of and returns: its context (config, env, rewards, policy, seeded
 * streams; `createRunContext` builds it, tier B pre-training included) and the JSON-serialisable
 * curves, metrics and result types of `runMaestroArm` (train.ts).
 */
import { tf } from "../../tf";
import { Rng, Seed } from "../../random";
import type { ResolvedRunConfig, MaestroArm } from "./arms";
import { ResponseBankPolicy } from "./bank-policy";
import { MaestroEnv, TaskType } from "./env";
import { GruResponsePolicy, pretrainVerbose } from "./gru-policy";
import type { MaestroPolicy } from "./policy-types";
import { RewardModel } from "./rewards";
import type { TunedSearchReport } from "./tuning";

/** One value per task type (creative, factual, concise). */
export type PerType<T> = Record<TaskType, T>;

/**
 * A run's training curves, one entry per policy step in a run's result (windowed means of
 * ⌈steps / 100⌉ steps once stored): weights, components and true utility per type, reward,
 * length, cost, GRPO diagnostics, the Conductor's payoff and meta-gradient, and the held-out
 * convergence curve. The figures of notebook 04 read these.
 */
export interface MaestroCurves {
  /** The policy step of each entry. */
  step: number[];
  /** [type][step][k]: mean reward weights applied to that type's responses (F1). */
  weightsByType: PerType<number[][]>;
  /** [type][step][k]: mean normalised reward components of that type's responses (F6). */
  componentsByType: PerType<number[][]>;
  /** [type][step]: mean true utility of the sampled responses. */
  trueUtilityByType: PerType<number[]>;
  /** Mean scalar reward R the policy was trained on. */
  reward: number[];
  /** Mean response length (tokens before <eos>) and repetition rate (F4). */
  length: number[];
  /** Share of a response's tokens that repeat an earlier token of it (F4). */
  repetition: number[];
  /** Wall-clock seconds of the step (sampling, rewards, Conductor, GRPO). */
  secondsPerStep: number[];
  /** GRPO's k3 KL to the reference. */
  kl: number[];
  /** Tokens the policy generated this step (bodies and <eos>; tier B without stopAtEos: every budget position). */
  generatedTokens: number[];
  /** Row-positions processed by forward passes this step: sampling + the Conductor's context pass + GRPO's scoring and update passes. */
  forwardTokens: number[];
  /** GRPO's clip fraction (0 whenever ppoEpochs = 1 with one minibatch: the ratio is then 1). */
  clipFraction: number[];
  /** Share of GRPO groups whose rewards are all equal (advantage exactly 0). */
  zeroStdGroups: number[];
  /** Largest |Σ Â| over the step's groups: 0 up to rounding (E[Â] ≡ 0, by construction). */
  advantageGroupSum: number[];
  /** Mean payoff the Conductor was paid this step (empty without a Conductor): 0 for Â, not for loo-fixed. */
  metaReward: number[];
  /** Held-out true utility every `curveEvalEvery` steps (and after the last): the convergence curve. */
  heldOut: { step: number[]; trueUtility: number[] };
  /** At each Conductor update (F5): the step, ‖∇ of −mean(Â·log π)‖, mean entropy, loss. */
  metaGradient: { step: number[]; norm: number[]; entropy: number[]; loss: number[] };
}

/**
 * A run's final numbers on the held-out prompts (expected over the policy's responses: exact in
 * tier A, sampled in tier B): true utility per type and overall, components, length, repetition,
 * the per-prompt values the paired tests use, final weights, Conductor actions, cost and the
 * E[Â] ≡ 0 identity's check.
 */
export interface MaestroMetrics {
  /** Final true utility per type (held-out eval set) and their mean (F3). */
  trueUtility: PerType<number>;
  /** Mean of `trueUtility` over the types. */
  trueUtilityOverall: number;
  /** Final mean normalised components per type (eval set). */
  components: PerType<number[]>;
  /** Mean response length, tokens before <eos>. */
  length: number;
  /** Mean repetition rate. */
  repetition: number;
  /** Per held-out prompt (same prompts, same order, for every arm of a seed): expected true utility and length. */
  promptUtility: number[];
  /** Per held-out prompt: expected response length (same order as promptUtility). */
  promptLength: number[];
  /** Mean wall-clock seconds per policy step (sampling, rewards, Conductor, GRPO). */
  secondsPerStep: number;
  /** Final mean weights per type on the eval responses — the F2 heatmap (static arms: their w). */
  finalWeights: PerType<number[]>;
  /** Conductor actions per type over the last quarter of training (F2), null without a Conductor. */
  actionHistogram: PerType<number[]> | null;
  /** Seconds of tier B's verbose pre-training (0 in tier A). */
  pretrainSeconds: number;
  /** Seconds of the whole run (pre-training, search, training, evaluation). */
  totalSeconds: number;
  /** Mean generated tokens and forward row-positions per policy step (the cost beside secondsPerStep). */
  generatedTokensPerStep: number;
  /** Mean forward row-positions per policy step (sampling, Conductor context, GRPO passes). */
  forwardTokensPerStep: number;
  /** Largest |Σ_group Â| over every step (the identity's check). */
  maxAdvantageGroupSum: number;
}

/** What `runMaestroArm` returns: the arm, tier, seed, resolved configuration, final metrics, curves, and the tuned search or static w where there is one. */
export interface MaestroRunResult {
  /** The arm that ran. */
  arm: MaestroArm;
  /** Its policy tier. */
  tier: ResolvedRunConfig["tier"];
  /** The run's seed. */
  seed: Seed;
  /** The configuration with every default filled in. */
  config: ResolvedRunConfig;
  /** Final held-out numbers. */
  metrics: MaestroMetrics;
  /** Per-step training curves. */
  curves: MaestroCurves;
  /** The tuned arm's search (best w, cost); null for other arms. */
  tunedSearch: TunedSearchReport | null;
  /** The static w the policy was trained with (static and tuned arms), else null. */
  staticWeights: number[] | null;
}

/** The pieces of one run; `runMaestroArm` builds and disposes it. */
export interface RunContext {
  config: ResolvedRunConfig;
  env: MaestroEnv;
  rewards: RewardModel;
  policy: MaestroPolicy;
  rng: Rng;
  pretrainSeconds: number;
  /** Policy weights right after construction / pre-training (restored between search runs). */
  initialWeights: Float32Array[];
  /** Progress within the run (share of policy steps done), for a sweep's display. */
  onProgress?: (fraction: number, note?: string) => void;
}

/**
 * Builds one run's pieces from a resolved config and a seed: the env and reward model (seeded from
 * the run seed, so every arm of a seed sees the same prompts and preference model), the tier's
 * policy (tier B pre-trained to be verbose first) and a copy of its initial weights. The caller
 * disposes `policy`; `runMaestroArm` does all of this for you.
 */
export function createRunContext(config: ResolvedRunConfig, seed: Seed): RunContext {
  const rng = new Rng(seed).derive("maestro-run");
  const env = new MaestroEnv({ seed: `${String(seed)}/env`, noise: config.noise, maxResponseLength: config.maxResponseLength });
  const rewards = new RewardModel(env, { seed: `${String(seed)}/preference`, normalize: config.normalizeRewards, creativeFaithfulness: config.creativeFaithfulness });
  let policy: MaestroPolicy;
  let pretrainSeconds = 0;
  if (config.tier === "bank") {
    policy = new ResponseBankPolicy(env);
  } else {
    const gru = new GruResponsePolicy(env, { seed: `${String(seed)}/gru`, hiddenSize: config.gruHiddenSize, embedSize: config.gruEmbedSize, stopAtEos: config.stopAtEos });
    try {
      if (config.pretrainSteps > 0) pretrainSeconds = pretrainVerbose(gru, { steps: config.pretrainSteps, seed: rng.derive("pretrain") }).cost.seconds;
    } catch (e) {
      gru.dispose();
      throw e;
    }
    policy = gru;
  }
  const initialWeights = policy.model.trainableVariables().map((v) => v.dataSync().slice() as Float32Array);
  return { config, env, rewards, policy, rng, pretrainSeconds, initialWeights };
}

/** Puts the policy back to its initial (pre-trained) weights and refreshes its KL reference. */
export function restoreInitialPolicy(ctx: RunContext): void {
  const vars = ctx.policy.model.trainableVariables();
  tf.tidy(() => vars.forEach((v, i) => v.assign(tf.tensor(ctx.initialWeights[i], v.shape, "float32"))));
  ctx.policy.resetReference();
}

