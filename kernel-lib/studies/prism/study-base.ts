/**
 * The shared stage of the PRISM study for one (environment, seed, settings): everything every arm
 * starts from, built once per process and reused by all arms of that seed (common random numbers:
 * arms differ only in what they train on).
 *
 *   1. the base policy: a TinyTransformer pre-trained by SFT on expert trajectories of the
 *      REGULAR distribution (a small `pretrain.conflictFraction` of conflict demos may be mixed in
 *      so the base policy is not blind to them — the paper's base model is weak, not ignorant);
 *   2. the training corpus: `corpus.tasks` train-split tasks, half of them carrying the planted
 *      conflict (ground-truth label per trajectory), with their expert trajectories encoded to ONE
 *      context length;
 *   3. the PRISM probe of the frozen base policy on the corpus (one backward pass; the √numel
 *      scores rescale its raw vectors per matrix, as probe.ts's normalisation does);
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
import { expertPolicy } from "../../envs/experts";
import { runEpisode } from "../../envs/episode";
import { tokenizerFor, Tokenizer } from "../../envs/tokenizer";
import type { AgentEnv, EnvName, Task } from "../../envs/types";
import { TinyTransformer } from "../../models/transformer";
import { trainSft, SequenceExample } from "../../train/sft";
import type { PhaseCost } from "../../train/rl-types";
import { TransformerAgent } from "../../agents/policy";
import { collectRollouts } from "../../agents/rollout";
import { evaluationSet } from "../../agents/evaluate";
import { concentrationScores, METRIC_NAMES, MetricName } from "../../metrics/concentration";
import { probeTrajectories, ProbeResult } from "../../prism/probe";

/** Everything that determines the shared stage and the arms' training (per env). */
export interface PrismEnvSettings {
  /** Episode horizon (MiniALF expert episodes take ≤ 15 steps, MiniShop ≤ 5). */
  horizon: number;
  model: { dModel: number; nLayers: number; nHeads: number; contextLength: number };
  pretrain: { tasks: number; epochs: number; learningRate: number; conflictFraction: number };
  corpus: { tasks: number };
  sft: { epochs: number; batchSize: number; learningRate: number };
  /** RL iterations = ⌈epochs · |RL set| / tasksPerIteration⌉ (RL cost scales with its data). */
  rl: { epochs: number; tasksPerIteration: number; groupSize: number; learningRate: number; klBeta: number; temperature: number };
  hpt: { samples: number };
  eval: { tasks: number };
  stepwise: { rounds: number };
}

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
  /** Scores of the √numel-normalised probe vectors (no second backward pass). */
  sqrtNumelScores: Record<MetricName, number[]>;
  passRates: number[];
  passRateCost: PhaseCost;
  evalSets: { seen: Task[]; unseen: Task[] };
  pretrainSeconds: number;
  pretrainLoss: number;
  /** A new model holding the base policy's weights (the caller disposes it). */
  freshPolicy(): TinyTransformer;
}

const memo = new Map<string, StudyBase>();

/** Forget every memoised base (tests; a notebook that wants a cold rebuild). */
export function clearStudyBases(): void { memo.clear(); }

function modelConfig(tokenizer: Tokenizer, s: PrismEnvSettings, seed: number) {
  const m = s.model;
  return { vocabSize: tokenizer.size, dModel: m.dModel, nLayers: m.nLayers, nHeads: m.nHeads, dFF: 2 * m.dModel, maxLen: m.contextLength, seed };
}

export function studyBase(envName: EnvName, seed: number, settings: PrismEnvSettings): StudyBase {
  const key = canonicalJson({ envName, seed, settings, backend: tf.getBackend() }, "settings");
  const known = memo.get(key);
  if (known !== undefined) return known;

  const rng = new Rng(seed).derive("prism-study", envName);
  const env = createEnv(envName, { horizon: settings.horizon }) as unknown as AgentEnv<Task>;
  const tokenizer = tokenizerFor(env);
  const T = settings.model.contextLength;
  const encodeExpert = (t: Task) => tokenizer.encodeTrajectory(runEpisode(env, t, expertPolicy(t)), T);

  const pretrainTasks = env.generateTasks({ split: "train", count: settings.pretrain.tasks, seed: rng.derive("pretrain-tasks").tfSeed(), conflictFraction: settings.pretrain.conflictFraction });
  const initSeed = rng.derive("init").tfSeed();
  const model = new TinyTransformer(modelConfig(tokenizer, settings, initSeed));
  let weights: Array<{ name: string; shape: number[]; values: Float32Array }>;
  let pretrainSeconds: number, pretrainLoss: number;
  try {
    const pre = trainSft(model, pretrainTasks.map((t) => encodeExpert(t)), {
      epochs: settings.pretrain.epochs, batchSize: 16, learningRate: settings.pretrain.learningRate, seed: rng.derive("pretrain"),
    });
    pretrainSeconds = pre.cost.seconds;
    pretrainLoss = pre.epochLosses[pre.epochLosses.length - 1];
    weights = model.namedWeights().map(({ name, variable }) => ({ name, shape: variable.shape.slice(), values: variable.dataSync() as Float32Array }));
  } finally {
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
  const labels = corpus.map((t) => t.conflict);

  const base = freshPolicy();
  let probe: ProbeResult, passRates: number[], passRateCost: PhaseCost;
  try {
    const examples = demos.map((d, i) => ({ ...d, id: corpus[i].id, label: labels[i], group: corpus[i].family }));
    probe = probeTrajectories(base, examples, { batchSize: 32 });
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
    key, envName, env, tokenizer, settings, corpus, demos, labels, probe, sqrtNumelScores, passRates, passRateCost,
    evalSets: { seen: evaluationSet(env, "seen", settings.eval.tasks, evalSeed), unseen: evaluationSet(env, "unseen", settings.eval.tasks, evalSeed) },
    pretrainSeconds, pretrainLoss, freshPolicy,
  };
  memo.set(key, result);
  return result;
}
