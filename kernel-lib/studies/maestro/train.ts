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
 *   4. R = wᵀr → grpoStep (train/grpo.ts; aggregation, std normalisation, epochs and minibatches
 *      from the run config) on the policy, the sampler's behaviour log-probs as the old policy's;
 *   5. the buffer gets (h, a, payoff): payoff = the GRPO group advantage Â (the paper) or another
 *      meta-reward (meta-reward.ts);
 *   6. every M steps one REINFORCE update of the Conductor from the buffer, which is then cleared.
 * Logged per step beside wall-clock: generated tokens and forward work (sampling, the Conductor's
 * context pass, GRPO), the clip fraction, the share of zero-std groups, and the largest |Σ_group Â|
 * (the E[Â] ≡ 0 identity, checked on every step).
 * Everything stochastic draws from streams derived from the run seed by label, so two arms with
 * one seed see the same prompts (common random numbers) and a run is a pure function of
 * (config, seed) on a backend.
 *
 * Evaluation (never seen by training, except the oracle arm's reward): the TRUE utility on a
 * held-out prompt set, exact under the bank policy's π (tier A) or averaged over `evalSamples`
 * sampled responses (tier B).
 */
import { tf } from "../../tf";
import { Rng, Seed } from "../../random";
import { InvalidArgumentError } from "../../errors";
import { grpoStep } from "../../train/grpo";
import { groupNormalize, computeAdvantages } from "../../train/advantages";
import type { RolloutSample } from "../../train/rl-types";
import { ArmBehaviour, MaestroRunConfig, armBehaviour, resolveRunConfig } from "./arms";
import { Conductor, ConductorAction, ConductorExperience, sampleDirichlet } from "../../maestro/conductor";
import { groupSumCheck, metaRewards } from "../../maestro/meta-reward";
import { evaluatePolicy } from "./evaluate";
import { ResponseBankPolicy } from "./bank-policy";
import { bankTrueUtilities, bankUtilityAlignment, gruUtilityAlignment, gruUtilityGradient } from "./alignment";
import { GruResponsePolicy } from "./gru-policy";
import { MaestroPrompt, TASK_TYPES, repetitionRate } from "./env";
import type { MaestroRollout } from "./policy-types";
import { NUM_COMPONENTS, TRUE_UTILITY_WEIGHTS, componentIndex, dot } from "./rewards";
import { MaestroCurves, MaestroMetrics, MaestroRunResult, PerType, RunContext, createRunContext, restoreInitialPolicy } from "./run-context";
import { TunedSearchReport, searchStaticWeights } from "./tuning";

const emptyPerType = <T>(make: () => T): PerType<T> => ({ creative: make(), factual: make(), concise: make() });
const mean = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
const meanVector = (rows: readonly number[][], K: number) => Array.from({ length: K }, (_, k) => mean(rows.map((r) => r[k])));
const EQUAL_WEIGHTS = new Array<number>(NUM_COMPONENTS).fill(1 / NUM_COMPONENTS);
const FORMAT = componentIndex("format");

/** What `trainPolicy` returns: the per-step curves, the trained Conductor (caller disposes; null without one) and its actions per type over the last quarter. */
export interface TrainResult {
  /** Per-step training curves. */
  curves: MaestroCurves;
  /** The Conductor after training (Conductor arms), else null; the caller disposes it. */
  conductor: Conductor | null;
  /** Conductor actions per type over the last quarter of training, [type][k]; null without a Conductor. */
  actionHistogram: PerType<number[]> | null;
}

/** Conductor actions of one step: per response, the context it is credited with and the action. */
function conductorActions(conductor: Conductor, behaviour: ArmBehaviour, ctx: RunContext, prompts: readonly MaestroPrompt[], rollouts: readonly MaestroRollout[], rng: Rng): { contexts: number[][]; actions: ConductorAction[] } {
  const G = ctx.config.groupSize;
  if (behaviour.sampling === "per-response") {
    const contexts = ctx.policy.terminalHidden(rollouts);
    return { contexts, actions: conductor.act(contexts, rng) };
  }
  if (behaviour.sampling === "shared-action") {
    // One action per group, drawn from its first response's context; every response keeps its own h.
    const contexts = ctx.policy.terminalHidden(rollouts);
    const acts = conductor.act(prompts.map((_, p) => contexts[p * G]), rng);
    return { contexts, actions: rollouts.map((_, i) => acts[Math.floor(i / G)]) };
  }
  const promptContexts = ctx.policy.promptHidden(prompts);
  const acts = conductor.act(promptContexts, rng);
  return { contexts: rollouts.map((_, i) => promptContexts[Math.floor(i / G)]), actions: rollouts.map((_, i) => acts[Math.floor(i / G)]) };
}

/** The bi-level loop for `ctx.config.steps` (or `steps`) policy steps; the caller disposes the conductor. */
export function trainPolicy(ctx: RunContext, behaviour: ArmBehaviour, steps = ctx.config.steps, label = "train", evalPrompts: readonly MaestroPrompt[] = []): TrainResult {
  const { config: c, env, rewards, policy } = ctx;
  const K = NUM_COMPONENTS;
  const rng = ctx.rng.derive(label);
  const conductor = behaviour.weighting === "conductor"
    ? new Conductor({ inputSize: policy.hiddenSize, mapping: c.mapping, temperature: c.conductorTemperature, eta: c.eta, pMin: c.pMin, sigma: c.sigma })
    : null;
  const policyOptimizer = tf.train.adam(c.policyLearningRate);
  const conductorOptimizer = conductor === null || behaviour.frozen ? null : tf.train.adam(c.conductorLearningRate);
  const curves: MaestroCurves = {
    step: [], weightsByType: emptyPerType(() => []), componentsByType: emptyPerType(() => []), trueUtilityByType: emptyPerType(() => []),
    reward: [], length: [], repetition: [], secondsPerStep: [], kl: [], metaGradient: { step: [], norm: [], entropy: [], loss: [] },
    generatedTokens: [], forwardTokens: [], clipFraction: [], zeroStdGroups: [], advantageGroupSum: [], metaReward: [], heldOut: { step: [], trueUtility: [] },
  };
  const histogram = conductor === null ? null : emptyPerType(() => new Array<number>(K).fill(0));
  const grpoOptions = {
    optimizer: policyOptimizer, klBeta: c.klBeta, clipEpsilon: c.clipEpsilon, aggregation: c.aggregation,
    normalizeStd: c.normalizeStd, stdEstimator: c.stdEstimator, advantageEps: c.advantageEps, ppoEpochs: c.ppoEpochs,
    ...(c.minibatchSize > 0 ? { minibatchSize: c.minibatchSize } : {}),
  };
  const normalizeOptions = { normalizeStd: c.normalizeStd, stdEstimator: c.stdEstimator, eps: c.advantageEps };
  const every = c.curveEvalEvery;
  const heldOut = (s: number) => {
    if (evalPrompts.length === 0 || every === 0) return;
    curves.heldOut.step.push(s);
    curves.heldOut.trueUtility.push(evaluatePolicy(ctx, evalPrompts, `${label}-curve-${s}`).trueUtilityOverall);
  };
  // The target-informed payoff reads the true utility on the VALIDATION prompts (never the eval set).
  // Tier A: exact (utilities of every bank response, cached); tier B: a REINFORCE estimate of ∇U
  // from evalSamples responses per validation prompt, drawn afresh each step.
  let alignmentTargets: { prompts: MaestroPrompt[]; utilities: number[][] | null } | null = null;
  if (conductor !== null && c.metaReward === "alignment") {
    const prompts = env.promptSet("validation", c.validationPromptsPerType);
    if (policy instanceof ResponseBankPolicy) alignmentTargets = { prompts, utilities: bankTrueUtilities(policy, rewards, prompts) };
    else if (policy instanceof GruResponsePolicy) alignmentTargets = { prompts, utilities: null };
    else throw new InvalidArgumentError("config.metaReward", "\"alignment\" on the bank or GRU policy", c.metaReward);
  }
  let buffer: ConductorExperience[] = [];
  try {
    heldOut(0);
    for (let s = 0; s < steps; s++) {
      if (s % 10 === 0) ctx.onProgress?.(s / steps, `${label} step ${s}/${steps}`);
      const started = Date.now();
      const prompts = env.samplePrompts(c.promptsPerStep, rng.derive("prompts", s), `s${s}-`);
      const { rollouts, cost } = policy.sampleWithCost(prompts, c.groupSize, rng.derive("sample", s));
      const groupIds = rollouts.map((r) => r.groupId);
      const rawComponents = rollouts.map((r) => rewards.components(r.prompt, r.response));
      const normalised = c.normalizeRewards ? rawComponents : rollouts.map((r) => rewards.components(r.prompt, r.response, true));
      const scaled = c.formatScale === 1 ? rawComponents : rawComponents.map((r) => r.map((v, k) => (k === FORMAT ? c.formatScale * v : v)));
      const rewardComponents = c.componentCentering === "group" ? centreWithinGroups(scaled, groupIds) : scaled;
      let forwardTokens = cost.forwardTokens;

      // Weights and (for the Conductor) the contexts and actions that chose them.
      let weights: number[][];
      let acted: { contexts: number[][]; actions: ConductorAction[] } | null = null;
      const actRng = rng.derive("weights", s);
      if (conductor !== null) {
        acted = conductorActions(conductor, behaviour, ctx, prompts, rollouts, actRng);
        if (policy.tier === "gru" && behaviour.sampling !== "prompt-level") forwardTokens += rollouts.length * cost.sequenceLength;
        weights = acted.actions.map((a) => a.weights);
      } else if (behaviour.weighting === "dirichlet") {
        weights = rollouts.map(() => sampleDirichlet(actRng, K, 1));
      } else if (behaviour.weighting === "oracle") {
        weights = rollouts.map((r) => TRUE_UTILITY_WEIGHTS[r.prompt.type].slice());
      } else if (behaviour.weighting === "self-certainty") {
        weights = rollouts.map(() => new Array<number>(K).fill(0));
      } else {
        const w = behaviour.staticWeights;
        if (w === null) throw new InvalidArgumentError("behaviour.staticWeights", "a weight vector for a static arm", w);
        weights = rollouts.map(() => w.slice());
      }

      // em-grpo: the reward is the response's mean log-prob per emitted token (negative entropy estimate).
      const R = behaviour.weighting === "self-certainty"
        ? rollouts.map((r) => r.logProb / Math.max(1, r.actionMask.reduce((a, m) => a + m, 0)))
        : rollouts.map((_, i) => dot(weights[i], rewardComponents[i]));
      const samples: RolloutSample[] = rollouts.map((r, i) => ({ groupId: r.groupId, reward: R[i], tokens: r.tokens, actionMask: r.actionMask }));
      // g is ~1e-3 here, so the payoff would be dwarfed by the entropy bonus: each step's g is scaled
      // to unit RMS (a positive per-step factor, so the estimator's direction is unchanged).
      let alignment: number[] | undefined;
      if (alignmentTargets !== null && alignmentTargets.utilities !== null) alignment = unitRms(bankUtilityAlignment(policy as ResponseBankPolicy, alignmentTargets.prompts, alignmentTargets.utilities, rollouts));
      else if (alignmentTargets !== null) {
        const gru = policy as GruResponsePolicy;
        alignment = unitRms(gruUtilityAlignment(gru, gruUtilityGradient(gru, rewards, alignmentTargets.prompts, Math.max(2, c.evalSamples), rng.derive("alignment", s)), rollouts));
        // the target samples and the two shifted passes over the step's rollouts
        forwardTokens += alignmentTargets.prompts.length * Math.max(2, c.evalSamples) * (env.promptLength + env.maxResponseLength) + 2 * rollouts.length * cost.sequenceLength;
      }
      const grpo = grpoStep(policy.model, policy.reference, samples, { ...grpoOptions, oldLogProbs: rollouts.map((r) => r.behaviourLogProbs) });
      forwardTokens += grpo.cost.forwardTokens;
      const identity = groupSumCheck(grpo.advantages, groupIds);

      if (conductor !== null && acted !== null) {
        const { contexts, actions } = acted;
        const fixedRewards = rollouts.map((_, i) => dot(EQUAL_WEIGHTS, rewardComponents[i]));
        const payoff = metaRewards(c.metaReward, {
          advantages: grpo.advantages, rewards: R, fixedRewards, groupIds, alignment,
          fixedAdvantages: c.metaReward === "fixed-advantage" ? computeAdvantages(samples.map((x, i) => ({ ...x, reward: fixedRewards[i] })), normalizeOptions).episode : grpo.advantages,
        });
        curves.metaReward.push(mean(payoff));
        rollouts.forEach((r, i) => {
          buffer.push({ hidden: contexts[i], action: actions[i].action, z: actions[i].z, advantage: payoff[i] });
          if (histogram !== null && s >= Math.floor((3 * steps) / 4)) histogram[r.prompt.type][actions[i].action]++;
        });
        if ((s + 1) % c.conductorEvery === 0) {
          const stats = conductorOptimizer === null
            ? { metaGradientNorm: conductor.policyGradient(buffer).norm, entropy: NaN, loss: NaN }
            : conductor.reinforceUpdate(buffer, conductorOptimizer, c.entropyBonus);
          curves.metaGradient.step.push(s);
          curves.metaGradient.norm.push(stats.metaGradientNorm);
          curves.metaGradient.entropy.push(Number.isFinite(stats.entropy) ? stats.entropy : Math.log(K));
          curves.metaGradient.loss.push(Number.isFinite(stats.loss) ? stats.loss : 0);
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
      curves.generatedTokens.push(cost.generatedTokens);
      curves.forwardTokens.push(forwardTokens);
      curves.clipFraction.push(grpo.clipFraction);
      curves.zeroStdGroups.push(identity.constantGroups);
      curves.advantageGroupSum.push(identity.maxAbsSum);
      if (every > 0 && ((s + 1) % every === 0 || s === steps - 1)) heldOut(s + 1);
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

/** x scaled to root-mean-square 1 (all-zero x unchanged). */
function unitRms(x: number[]): number[] {
  const rms = Math.sqrt(x.reduce((a, v) => a + v * v, 0) / Math.max(1, x.length));
  return rms > 0 ? x.map((v) => v / rms) : x;
}

/** Each component z-scored within each group (all-equal groups → 0), as groupNormalize does. */
export function centreWithinGroups(components: readonly number[][], groupIds: readonly string[]): number[][] {
  const K = components[0]?.length ?? 0;
  const columns = Array.from({ length: K }, (_, k) => groupNormalize(components.map((r) => r[k]), groupIds));
  return components.map((_, i) => columns.map((col) => col[i]));
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
    const evalPrompts = ctx.env.promptSet("eval", c.evalPromptsPerType);
    const trained = trainPolicy(ctx, behaviour, behaviour.train ? c.steps : 0, "train", evalPrompts);
    conductor = trained.conductor;
    let weightsOf: ((prompt: MaestroPrompt, hidden: number[]) => number[]) | undefined;
    const cond = conductor;
    if (cond !== null) {
      weightsOf = behaviour.sampling !== "prompt-level"
        ? (_p, hidden) => cond.expectedWeights([hidden])[0]
        : (p) => cond.expectedWeights(ctx.policy.promptHidden([p]))[0];
    } else if (behaviour.weighting === "oracle") {
      weightsOf = (p) => TRUE_UTILITY_WEIGHTS[p.type].slice();
    } else if (behaviour.weighting === "dirichlet") {
      weightsOf = () => EQUAL_WEIGHTS.slice(); // Dirichlet(1)'s mean
    } else if (behaviour.weighting === "self-certainty") {
      weightsOf = () => new Array<number>(NUM_COMPONENTS).fill(0); // no component weights: the reward is the policy's own log-prob
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
      generatedTokensPerStep: mean(trained.curves.generatedTokens), forwardTokensPerStep: mean(trained.curves.forwardTokens),
      maxAdvantageGroupSum: trained.curves.advantageGroupSum.reduce((a, b) => Math.max(a, b), 0),
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
