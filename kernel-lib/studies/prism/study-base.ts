/**
 * The shared stage of the PRISM study for one (environment, seed, settings): everything every arm
 * starts from, built once per process and reused by all arms of that seed (common random numbers:
 * arms differ only in what they train on).
 *
 *   1. the base policy: a TinyTransformer pre-trained by SFT on expert trajectories of the
 *      REGULAR distribution (a small `pretrain.conflictFraction` of conflict demos may be mixed in
 *      so the base policy is not blind to them — the paper's base model is weak, not ignorant),
 *      epoch by epoch until it passes `pretrain.criterion` on fresh regular tasks;
 *   2. the training corpus: `corpus.tasks` train-split tasks, half of them carrying the planted
 *      conflict (ground-truth label per trajectory), with their expert trajectories encoded to ONE
 *      context length;
 *   3. the PRISM probe of the frozen base policy on the corpus (one backward pass; the √numel
 *      scores rescale its raw vectors per matrix, as probe.ts's normalisation does), with each
 *      trajectory's loss, action tokens and steps, and the probe of a length-matched control set
 *      (regular tasks whose expert takes a detour as long as a conflict demonstration);
 *   4. the base policy's pass rate on every corpus task (HPT's routing signal): `hpt.samples`
 *      sampled episodes per task;
 *   5. the fixed evaluation sets (seen and unseen split, half conflict).
 * Weights are kept as plain Float32Arrays (no tensors live between runs); `freshPolicy()` builds a
 * new model from them for one arm, which the arm disposes.
 *
 * Memoised in-process by a hash of (env, seed, settings): a sweep in one process (notebook, CLI)
 * builds it once per seed and env. A resumed sweep in a new process rebuilds it — deterministic
 * from the seed on one backend, so resumed arms start from the same base as the others.
 */
import { tf } from "../../tf";
import { Rng } from "../../random";
import { canonicalJson } from "../../experiments/canonical";
import { createEnv } from "../../envs";
import type { ShopConflict } from "../../envs/minishop-catalog";
import { InvalidArgumentError } from "../../errors";
import { expertPolicy } from "../../envs/experts";
import { runEpisode } from "../../envs/episode";
import { tokenizerFor, Tokenizer } from "../../envs/tokenizer";
import type { AgentEnv, EnvName, Task } from "../../envs/types";
import { TinyTransformer } from "../../models/transformer";
import { trainSft, SequenceExample } from "../../train/sft";
import type { PhaseCost } from "../../train/rl-types";
import { TransformerAgent } from "../../agents/policy";
import { collectRollouts, RolloutReward } from "../../agents/rollout";
import type { AgentGrpoObjective } from "../../agents/train-grpo";
import { evaluateAgent, evaluationSet } from "../../agents/evaluate";
import { concentrationScores, METRIC_NAMES, MetricName } from "../../metrics/concentration";
import { probeTrajectories, ProbeResult } from "../../prism/probe";
import { probeCovariates, trajectoryCovariates } from "../../prism/covariates";

/** Everything that determines the shared stage and the arms' training (per env). */
export interface PrismEnvSettings {
  /** Episode horizon (MiniALF expert episodes take ≤ 15 steps, MiniShop ≤ 5). */
  horizon: number;
  /**
   * MiniShop only: its planted conflict ("page-two" when absent; see minishop-catalog.ts). Absent
   * for MiniALF, so MiniALF's settings — and its runs' hashes — do not depend on it.
   */
  shopConflict?: ShopConflict;
  /** Grouped-query attention (nKvHeads < nHeads) and dFF = ffMultiplier·dModel give matrices of different sizes, as in a real LM (the √numel ablation needs the spread). */
  model: { dModel: number; nLayers: number; nHeads: number; nKvHeads: number; ffMultiplier: number; contextLength: number };
  /**
   * Pre-training runs epoch by epoch (one Adam throughout) until the policy's greedy success on
   * `validationTasks` fresh REGULAR train-split tasks reaches `criterion`, or `maxEpochs` pass —
   * so the base embodies the regularity by a stated test, not by a guessed budget.
   */
  pretrain: {
    tasks: number; maxEpochs: number; learningRate: number; conflictFraction: number; criterion: number; validationTasks: number;
    /**
     * MiniShop only: the conflict kind of the pre-training demos when it differs from the study's
     * (`shopConflict`). With "page-two" demos under a "sold-out" study the base has learned to page
     * on but never seen a sold-out page, so RL has a cue to learn and an action it can sample.
     */
    shopConflict?: ShopConflict;
  };
  corpus: { tasks: number };
  sft: { epochs: number; batchSize: number; learningRate: number };
  /** RL iterations = ⌈epochs · |RL set| / tasksPerIteration⌉ (RL cost scales with its data). */
  rl: {
    epochs: number; tasksPerIteration: number; groupSize: number; learningRate: number; klBeta: number; temperature: number;
    /** The action-level objective (log π over admissible actions) unless a study ablates it; PPO epochs × minibatches > 1 so the ratio and clip act. */
    objective: AgentGrpoObjective; ppoEpochs: number; minibatchSize: number; reward: RolloutReward;
  };
  hpt: { samples: number };
  eval: { tasks: number };
  stepwise: { rounds: number };
}

/** The shared stage of one (env, seed, settings) that every arm starts from; built by `studyBase`. */
export interface StudyBase {
  key: string;
  envName: EnvName;
  env: AgentEnv<Task>;
  tokenizer: Tokenizer;
  settings: PrismEnvSettings;
  corpus: Task[];
  demos: SequenceExample[];
  labels: boolean[];
  probe: ProbeResult;
  /** Per corpus trajectory: probe loss, action tokens and steps (the confounds the AUC table shows beside the scores). */
  covariates: { loss: number[]; actionTokens: number[]; steps: number[] };
  /**
   * The length-matched control: regular tasks whose expert takes a harmless detour as long as a
   * conflict demonstration (half the corpus size), probed by the same base policy.
   */
  detour: { scores: Record<MetricName, number[]>; loss: number[]; actionTokens: number[]; steps: number[] };
  /** Scores of the √numel-normalised probe vectors (no second backward pass). */
  sqrtNumelScores: Record<MetricName, number[]>;
  passRates: number[];
  passRateCost: PhaseCost;
  evalSets: { seen: Task[]; unseen: Task[] };
  pretrainSeconds: number;
  pretrainLoss: number;
  /** Epochs pre-training took, the validation success after each, and whether the criterion was met. */
  pretrainEpochs: number;
  pretrainValidation: number[];
  pretrainCriterionMet: boolean;
  /** A new model holding the base policy's weights (the caller disposes it). */
  freshPolicy(): TinyTransformer;
}

const memo = new Map<string, StudyBase>();

/** Forget every memoised base (tests; a notebook that wants a cold rebuild). */
export function clearStudyBases(): void { memo.clear(); }

function modelConfig(tokenizer: Tokenizer, s: PrismEnvSettings, seed: number) {
  const m = s.model;
  return { vocabSize: tokenizer.size, dModel: m.dModel, nLayers: m.nLayers, nHeads: m.nHeads, nKvHeads: m.nKvHeads, dFF: m.ffMultiplier * m.dModel, maxLen: m.contextLength, seed };
}

/**
 * The shared stage for (env, seed, settings) — base policy pre-trained to its criterion, corpus,
 * probe, length-matched control, pass rates and evaluation sets (module comment) — built once per
 * process and memoised; deterministic from the seed on one backend.
 */
export function studyBase(envName: EnvName, seed: number, settings: PrismEnvSettings): StudyBase {
  const key = canonicalJson({ envName, seed, settings, backend: tf.getBackend() }, "settings");
  const known = memo.get(key);
  if (known !== undefined) return known;

  const rng = new Rng(seed).derive("prism-study", envName);
  // Conflict kinds are MiniShop's alone (an absent one is the env's default).
  for (const [argument, kind] of [["settings.shopConflict", settings.shopConflict], ["settings.pretrain.shopConflict", settings.pretrain.shopConflict]] as const) {
    if (kind !== undefined && envName !== "minishop") throw new InvalidArgumentError(argument, "only for minishop", kind);
  }
  const makeEnv = (conflict: ShopConflict | undefined) =>
    createEnv(envName, envName === "minishop" ? { horizon: settings.horizon, conflict } : { horizon: settings.horizon }) as unknown as AgentEnv<Task>;
  const env = makeEnv(settings.shopConflict);
  const tokenizer = tokenizerFor(env);
  const T = settings.model.contextLength;
  const encodeExpert = (t: Task) => tokenizer.encodeTrajectory(runEpisode(env, t, expertPolicy(t)), T);

  // Pre-training demos may carry another conflict kind (same catalogue rules, so the study's
  // tokenizer covers them); the episodes still run in the study's env (a task carries its world).
  const pretrainEnv = settings.pretrain.shopConflict === undefined ? env : makeEnv(settings.pretrain.shopConflict);
  const pretrainTasks = pretrainEnv.generateTasks({ split: "train", count: settings.pretrain.tasks, seed: rng.derive("pretrain-tasks").tfSeed(), conflictFraction: settings.pretrain.conflictFraction });
  const initSeed = rng.derive("init").tfSeed();
  const model = new TinyTransformer(modelConfig(tokenizer, settings, initSeed));
  let weights: Array<{ name: string; shape: number[]; values: Float32Array }>;
  let pretrainSeconds = 0, pretrainLoss = NaN;
  const pretrainValidation: number[] = [];
  const validation = env.generateTasks({ split: "train", count: settings.pretrain.validationTasks, seed: rng.derive("pretrain-validation").tfSeed(), conflictFraction: 0 });
  const optimizer = tf.train.adam(settings.pretrain.learningRate);
  try {
    const demos = pretrainTasks.map((t) => encodeExpert(t));
    const agent = new TransformerAgent(model, tokenizer);
    while (pretrainValidation.length < settings.pretrain.maxEpochs) {
      const epoch = pretrainValidation.length;
      const pre = trainSft(model, demos, { epochs: 1, batchSize: 16, learningRate: settings.pretrain.learningRate, seed: rng.derive("pretrain", epoch), optimizer });
      pretrainSeconds += pre.cost.seconds;
      pretrainLoss = pre.epochLosses[0];
      pretrainValidation.push(evaluateAgent(env, agent, validation, { mode: "greedy" }).successRate);
      if (pretrainValidation[epoch] >= settings.pretrain.criterion) break;
    }
    weights = model.namedWeights().map(({ name, variable }) => ({ name, shape: variable.shape.slice(), values: variable.dataSync() as Float32Array }));
  } finally {
    optimizer.dispose();
    model.dispose();
  }
  const freshPolicy = () => {
    const fresh = new TinyTransformer(modelConfig(tokenizer, settings, initSeed));
    const byName = new Map(fresh.namedWeights().map((w) => [w.name, w.variable]));
    for (const w of weights) tf.tidy(() => byName.get(w.name)!.assign(tf.tensor(w.values, w.shape)));
    return fresh;
  };

  const corpus = env.generateTasks({ split: "train", count: settings.corpus.tasks, seed: rng.derive("corpus").tfSeed(), conflictFraction: 0.5 });
  const encoded = corpus.map((t) => encodeExpert(t));
  const demos = encoded.map((e) => ({ tokens: e.tokens, lossMask: e.lossMask }));
  const lengths = trajectoryCovariates(encoded);
  const labels = corpus.map((t) => t.conflict);

  const base = freshPolicy();
  let probe: ProbeResult, passRates: number[], passRateCost: PhaseCost;
  let detour: StudyBase["detour"];
  try {
    const examples = demos.map((d, i) => ({ ...d, id: corpus[i].id, label: labels[i], group: corpus[i].family }));
    probe = probeTrajectories(base, examples, { batchSize: 32 });
    const detourTasks = env.generateTasks({ split: "train", count: Math.max(2, Math.round(settings.corpus.tasks / 2)), seed: rng.derive("detour").tfSeed(), conflictFraction: 0, detourFraction: 1 });
    const detourEncoded = detourTasks.map((t) => encodeExpert(t));
    const detourProbe = probeTrajectories(base, detourEncoded.map((e, i) => ({ tokens: e.tokens, lossMask: e.lossMask, id: detourTasks[i].id, label: false })), { batchSize: 32 });
    const dc = probeCovariates(detourProbe, detourEncoded);
    detour = { scores: detourProbe.scores, loss: dc.loss, actionTokens: dc.actionTokens, steps: dc.steps };
    const started = Date.now();
    const rollouts = collectRollouts(env, corpus, new TransformerAgent(base, tokenizer), {
      groupSize: settings.hpt.samples, seed: rng.derive("pass-rate").tfSeed(), temperature: 1, reward: "success",
    });
    const successes = new Map<string, number>();
    for (const s of rollouts.samples) successes.set(s.groupId, (successes.get(s.groupId) ?? 0) + s.reward);
    passRates = corpus.map((t) => (successes.get(t.id) ?? 0) / settings.hpt.samples);
    passRateCost = { phase: "pass-rate", seconds: (Date.now() - started) / 1000, forwardTokens: rollouts.cost.forwardTokens, backwardTokens: 0, optimizerSteps: 0, envSteps: rollouts.cost.envSteps };
  } finally {
    base.dispose();
  }

  const scale = probe.matrices.map((m) => 1 / Math.sqrt(m.numel));
  const rows = concentrationScores(probe.vectors.map((v) => v.map((x, j) => x * scale[j])), METRIC_NAMES);
  const sqrtNumelScores = Object.fromEntries(METRIC_NAMES.map((m) => [m, rows.map((r) => r[m])])) as Record<MetricName, number[]>;
  const evalSeed = `prism/${seed}`;
  const result: StudyBase = {
    key, envName, env, tokenizer, settings, corpus, demos, labels, probe, sqrtNumelScores, detour: detour!,
    covariates: { loss: probe.losses, actionTokens: lengths.actionTokens, steps: lengths.steps }, passRates, passRateCost,
    evalSets: { seen: evaluationSet(env, "seen", settings.eval.tasks, evalSeed), unseen: evaluationSet(env, "unseen", settings.eval.tasks, evalSeed) },
    pretrainSeconds, pretrainLoss, pretrainEpochs: pretrainValidation.length, pretrainValidation,
    pretrainCriterionMet: pretrainValidation[pretrainValidation.length - 1] >= settings.pretrain.criterion, freshPolicy,
  };
  memo.set(key, result);
  return result;
}
