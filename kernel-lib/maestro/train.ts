/**
 * The MAESTRO bi-level loop and `runMaestroArm`, one seeded run of one arm that returns
 * everything the notebook's figures need (F1–F6 of specs/maestro.md) as plain JSON.
 *
 * Each policy step:
 *   1. sample `promptsPerStep` prompts (types balanced) and G responses each;
 *   2. reward components r (K = 5) per response;
 *   3. weights w per response — the arm's rule (arms.ts); for the Conductor arms, actions from
 *      π_φ(· | h) with h the stopped-gradient terminal hidden state (per response) or the
 *      prompt-only state (prompt-level, one action per group);
 *   4. R = wᵀr → grpoStep (train/grpo.ts, unchanged) on the policy;
 *   5. the buffer gets (h, a, Â) with Â = the GRPO group advantages grpoStep computed;
 *   6. every M steps one REINFORCE update of the Conductor from the buffer, which is then cleared.
 * Everything stochastic draws from streams derived from the run seed by label, so two arms with
 * one seed see the same prompts (common random numbers) and a run is a pure function of
 * (config, seed) on a backend.
 *
 * Evaluation (never seen by training, except the oracle arm's reward): the TRUE utility on a
 * held-out prompt set, exact under the bank policy's π (tier A) or averaged over `evalSamples`
 * sampled responses (tier B).
 */
import { tf } from "../tf";
import { Rng, Seed } from "../random";
import { InvalidArgumentError } from "../errors";
import { grpoStep } from "../train/grpo";
import { groupNormalize } from "../train/advantages";
import type { RolloutSample } from "../train/rl-types";
import { ArmBehaviour, MaestroArm, MaestroRunConfig, ResolvedRunConfig, armBehaviour, resolveRunConfig } from "./arms";
import { ResponseBankPolicy } from "./bank-policy";
import { Conductor, ConductorExperience, sampleDirichlet } from "./conductor";
import { MaestroEnv, MaestroPrompt, TASK_TYPES, TaskType, repetitionRate } from "./env";
import { GruResponsePolicy, pretrainVerbose } from "./gru-policy";
import type { MaestroPolicy } from "./policy-types";
import { NUM_COMPONENTS, RewardModel, TRUE_UTILITY_WEIGHTS, dot } from "./rewards";
import { TunedSearchReport, searchStaticWeights } from "./tuning";

export type PerType<T> = Record<TaskType, T>;

export interface MaestroCurves {
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
  repetition: number[];
  secondsPerStep: number[];
  /** GRPO's k3 KL to the reference. */
  kl: number[];
  /** At each Conductor update (F5): the step, ‖∇ of −mean(Â·log π)‖, mean entropy, loss. */
  metaGradient: { step: number[]; norm: number[]; entropy: number[]; loss: number[] };
}

export interface MaestroMetrics {
  /** Final true utility per type (held-out eval set) and their mean (F3). */
  trueUtility: PerType<number>;
  trueUtilityOverall: number;
  /** Final mean normalised components per type (eval set). */
  components: PerType<number[]>;
  length: number;
  repetition: number;
  /** Per held-out prompt (same prompts, same order, for every arm of a seed): expected true utility and length. */
  promptUtility: number[];
  promptLength: number[];
  /** Mean wall-clock seconds per policy step (sampling, rewards, Conductor, GRPO). */
  secondsPerStep: number;
  /** Final mean weights per type on the eval responses — the F2 heatmap (static arms: their w). */
  finalWeights: PerType<number[]>;
  /** Conductor actions per type over the last quarter of training (F2), null without a Conductor. */
  actionHistogram: PerType<number[]> | null;
  pretrainSeconds: number;
  totalSeconds: number;
}

export interface MaestroRunResult {
  arm: MaestroArm;
  tier: ResolvedRunConfig["tier"];
  seed: Seed;
  config: ResolvedRunConfig;
  metrics: MaestroMetrics;
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

export function createRunContext(config: ResolvedRunConfig, seed: Seed): RunContext {
  const rng = new Rng(seed).derive("maestro-run");
  const env = new MaestroEnv({ seed: `${String(seed)}/env`, noise: config.noise, maxResponseLength: config.maxResponseLength });
  const rewards = new RewardModel(env, { seed: `${String(seed)}/preference`, normalize: config.normalizeRewards, creativeFaithfulness: config.creativeFaithfulness });
  let policy: MaestroPolicy;
  let pretrainSeconds = 0;
  if (config.tier === "bank") {
    policy = new ResponseBankPolicy(env);
  } else {
    const gru = new GruResponsePolicy(env, { seed: `${String(seed)}/gru`, hiddenSize: config.gruHiddenSize, embedSize: config.gruEmbedSize });
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

const emptyPerType = <T>(make: () => T): PerType<T> => ({ creative: make(), factual: make(), concise: make() });
const mean = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
const meanVector = (rows: readonly number[][], K: number) => Array.from({ length: K }, (_, k) => mean(rows.map((r) => r[k])));

export interface TrainResult {
  curves: MaestroCurves;
  conductor: Conductor | null;
  actionHistogram: PerType<number[]> | null;
}

/** The bi-level loop for `ctx.config.steps` (or `steps`) policy steps; the caller disposes the conductor. */
export function trainPolicy(ctx: RunContext, behaviour: ArmBehaviour, steps = ctx.config.steps, label = "train"): TrainResult {
  const { config: c, env, rewards, policy } = ctx;
  const K = NUM_COMPONENTS;
  const rng = ctx.rng.derive(label);
  const conductor = behaviour.weighting === "conductor"
    ? new Conductor({ inputSize: policy.hiddenSize, mapping: c.mapping, temperature: c.conductorTemperature, eta: c.eta, pMin: c.pMin, sigma: c.sigma })
    : null;
  const policyOptimizer = tf.train.adam(c.policyLearningRate);
  const conductorOptimizer = conductor === null ? null : tf.train.adam(c.conductorLearningRate);
  const curves: MaestroCurves = {
    step: [], weightsByType: emptyPerType(() => []), componentsByType: emptyPerType(() => []), trueUtilityByType: emptyPerType(() => []),
    reward: [], length: [], repetition: [], secondsPerStep: [], kl: [], metaGradient: { step: [], norm: [], entropy: [], loss: [] },
  };
  const histogram = conductor === null ? null : emptyPerType(() => new Array<number>(K).fill(0));
  let buffer: ConductorExperience[] = [];
  try {
    for (let s = 0; s < steps; s++) {
      if (s % 10 === 0) ctx.onProgress?.(s / steps, `${label} step ${s}/${steps}`);
      const started = Date.now();
      const prompts = env.samplePrompts(c.promptsPerStep, rng.derive("prompts", s), `s${s}-`);
      const rollouts = policy.sample(prompts, c.groupSize, rng.derive("sample", s));
      const rawComponents = rollouts.map((r) => rewards.components(r.prompt, r.response));
      const normalised = c.normalizeRewards ? rawComponents : rollouts.map((r) => rewards.components(r.prompt, r.response, true));
      const rewardComponents = c.componentCentering === "group" ? centreWithinGroups(rawComponents, rollouts.map((r) => r.groupId)) : rawComponents;

      // Weights and (for the Conductor) the contexts and actions that chose them.
      let weights: number[][];
      let contexts: number[][] | null = null;
      let actions: { action: number; z: number[] | null }[] | null = null;
      const actRng = rng.derive("weights", s);
      if (conductor !== null) {
        if (behaviour.sampling === "per-response") {
          contexts = policy.terminalHidden(rollouts);
          const acts = conductor.act(contexts, actRng);
          actions = acts; weights = acts.map((a) => a.weights);
        } else {
          const promptContexts = policy.promptHidden(prompts);
          const acts = conductor.act(promptContexts, actRng);
          contexts = rollouts.map((_, i) => promptContexts[Math.floor(i / c.groupSize)]);
          actions = rollouts.map((_, i) => acts[Math.floor(i / c.groupSize)]);
          weights = actions.map((_, i) => acts[Math.floor(i / c.groupSize)].weights);
        }
      } else if (behaviour.weighting === "dirichlet") {
        weights = rollouts.map(() => sampleDirichlet(actRng, K, 1));
      } else if (behaviour.weighting === "oracle") {
        weights = rollouts.map((r) => TRUE_UTILITY_WEIGHTS[r.prompt.type].slice());
      } else {
        const w = behaviour.staticWeights;
        if (w === null) throw new InvalidArgumentError("behaviour.staticWeights", "a weight vector for a static arm", w);
        weights = rollouts.map(() => w.slice());
      }

      const R = rollouts.map((_, i) => dot(weights[i], rewardComponents[i]));
      const samples: RolloutSample[] = rollouts.map((r, i) => ({ groupId: r.groupId, reward: R[i], tokens: r.tokens, actionMask: r.actionMask }));
      const grpo = grpoStep(policy.model, policy.reference, samples, { optimizer: policyOptimizer, klBeta: c.klBeta, clipEpsilon: c.clipEpsilon });

      if (conductor !== null && contexts !== null && actions !== null) {
        const ctxs = contexts, acts = actions;
        rollouts.forEach((r, i) => {
          buffer.push({ hidden: ctxs[i], action: acts[i].action, z: acts[i].z, advantage: grpo.advantages[i] });
          if (histogram !== null && s >= Math.floor((3 * steps) / 4)) histogram[r.prompt.type][acts[i].action]++;
        });
        if ((s + 1) % c.conductorEvery === 0) {
          const stats = conductor.reinforceUpdate(buffer, conductorOptimizer as tf.Optimizer, c.entropyBonus);
          curves.metaGradient.step.push(s);
          curves.metaGradient.norm.push(stats.metaGradientNorm);
          curves.metaGradient.entropy.push(stats.entropy);
          curves.metaGradient.loss.push(stats.loss);
          buffer = [];
        }
      }

      const seconds = (Date.now() - started) / 1000;
      curves.step.push(s);
      for (const type of TASK_TYPES) {
        const idx = rollouts.map((r, i) => (r.prompt.type === type ? i : -1)).filter((i) => i >= 0);
        curves.weightsByType[type].push(meanVector(idx.map((i) => weights[i]), K));
        curves.componentsByType[type].push(meanVector(idx.map((i) => normalised[i]), K));
        curves.trueUtilityByType[type].push(mean(idx.map((i) => dot(TRUE_UTILITY_WEIGHTS[type], normalised[i]))));
      }
      curves.reward.push(mean(R));
      curves.length.push(mean(rollouts.map((r) => r.response.body.length)));
      curves.repetition.push(mean(rollouts.map((r) => repetitionRate(r.response.body))));
      curves.secondsPerStep.push(seconds);
      curves.kl.push(grpo.kl);
    }
  } catch (e) {
    conductor?.dispose();
    throw e;
  } finally {
    policyOptimizer.dispose();
    conductorOptimizer?.dispose();
  }
  return { curves, conductor, actionHistogram: histogram };
}

/** Each component z-scored within each group (all-equal groups → 0), as groupNormalize does. */
export function centreWithinGroups(components: readonly number[][], groupIds: readonly string[]): number[][] {
  const K = components[0]?.length ?? 0;
  const columns = Array.from({ length: K }, (_, k) => groupNormalize(components.map((r) => r[k]), groupIds));
  return components.map((_, i) => columns.map((col) => col[i]));
}

export interface PolicyEvaluation {
  trueUtility: PerType<number>;
  trueUtilityOverall: number;
  components: PerType<number[]>;
  length: number;
  repetition: number;
  /** Mean weights per type the weighting would give the eval responses. */
  weights: PerType<number[]>;
  /** Per prompt, in the order given: expected true utility and expected response length (for paired tests across arms). */
  promptUtility: number[];
  promptLength: number[];
}

/** Expected true utility etc. of the current policy on `prompts`. */
export function evaluatePolicy(ctx: RunContext, prompts: readonly MaestroPrompt[], label: string, weightsOf?: (prompt: MaestroPrompt, hidden: number[]) => number[]): PolicyEvaluation {
  const K = NUM_COMPONENTS;
  const dist = ctx.policy.responseDistribution(prompts, ctx.rng.derive("eval", label), ctx.config.evalSamples);
  const byType = emptyPerType(() => ({ utility: [] as number[], components: [] as number[][], weights: [] as number[][] }));
  let length = 0, repetition = 0;
  const promptUtility: number[] = [], promptLength: number[] = [];
  prompts.forEach((prompt, i) => {
    let u = 0, len = 0, rep = 0;
    const comp = new Array<number>(K).fill(0), w = new Array<number>(K).fill(0);
    for (const { response, probability, hidden } of dist[i]) {
      const r = ctx.rewards.components(prompt, response, true);
      u += probability * dot(TRUE_UTILITY_WEIGHTS[prompt.type], r);
      len += probability * response.body.length;
      rep += probability * repetitionRate(response.body);
      r.forEach((v, k) => { comp[k] += probability * v; });
      if (weightsOf !== undefined) weightsOf(prompt, hidden).forEach((v, k) => { w[k] += probability * v; });
    }
    const t = byType[prompt.type];
    t.utility.push(u); t.components.push(comp); t.weights.push(w);
    promptUtility.push(u); promptLength.push(len);
    length += len / prompts.length;
    repetition += rep / prompts.length;
  });
  const trueUtility = emptyPerType(() => 0);
  const components = emptyPerType<number[]>(() => []);
  const weights = emptyPerType<number[]>(() => []);
  for (const type of TASK_TYPES) {
    trueUtility[type] = mean(byType[type].utility);
    components[type] = meanVector(byType[type].components, K);
    weights[type] = meanVector(byType[type].weights, K);
  }
  return { trueUtility, trueUtilityOverall: mean(TASK_TYPES.map((t) => trueUtility[t])), components, length, repetition, weights, promptUtility, promptLength };
}

/**
 * One seeded run of one arm: build env + policy (tier B: pre-train verbose), for the tuned arm
 * search the static weights first, train, evaluate on the held-out set. JSON-serialisable result.
 */
export function runMaestroArm(config: MaestroRunConfig, seed: Seed, onProgress?: (fraction: number, note?: string) => void): MaestroRunResult {
  const c = resolveRunConfig(config);
  if (typeof seed !== "number" && typeof seed !== "string") throw new InvalidArgumentError("seed", "a number or string", seed);
  const started = Date.now();
  const behaviour = armBehaviour(c.arm);
  const ctx = createRunContext(c, seed);
  ctx.onProgress = onProgress;
  let conductor: Conductor | null = null;
  try {
    let tunedSearch: TunedSearchReport | null = null;
    if (behaviour.tuned) {
      tunedSearch = searchStaticWeights(ctx);
      behaviour.staticWeights = tunedSearch.bestWeights.slice();
      restoreInitialPolicy(ctx);
    }
    const trained = trainPolicy(ctx, behaviour);
    conductor = trained.conductor;
    const evalPrompts = ctx.env.promptSet("eval", c.evalPromptsPerType);
    let weightsOf: ((prompt: MaestroPrompt, hidden: number[]) => number[]) | undefined;
    const cond = conductor;
    if (cond !== null) {
      weightsOf = behaviour.sampling === "per-response"
        ? (_p, hidden) => cond.expectedWeights([hidden])[0]
        : (p) => cond.expectedWeights(ctx.policy.promptHidden([p]))[0];
    } else if (behaviour.weighting === "oracle") {
      weightsOf = (p) => TRUE_UTILITY_WEIGHTS[p.type].slice();
    } else if (behaviour.weighting === "dirichlet") {
      weightsOf = () => new Array<number>(NUM_COMPONENTS).fill(1 / NUM_COMPONENTS); // Dirichlet(1)'s mean
    } else {
      const w = behaviour.staticWeights as number[];
      weightsOf = () => w.slice();
    }
    const evaluation = evaluatePolicy(ctx, evalPrompts, "final", weightsOf);
    const metrics: MaestroMetrics = {
      trueUtility: evaluation.trueUtility, trueUtilityOverall: evaluation.trueUtilityOverall, components: evaluation.components,
      length: evaluation.length, repetition: evaluation.repetition,
      promptUtility: evaluation.promptUtility, promptLength: evaluation.promptLength,
      secondsPerStep: mean(trained.curves.secondsPerStep),
      finalWeights: evaluation.weights, actionHistogram: trained.actionHistogram,
      pretrainSeconds: ctx.pretrainSeconds, totalSeconds: (Date.now() - started) / 1000,
    };
    return {
      arm: c.arm, tier: c.tier, seed, config: c, metrics, curves: trained.curves, tunedSearch,
      staticWeights: behaviour.weighting === "static" ? (behaviour.staticWeights as number[]).slice() : null,
    };
  } finally {
    conductor?.dispose();
    ctx.policy.dispose();
  }
}
