/**
 * The PRISM sweep study (notebook 02, `npm run sweep -- --study prism --preset quick`): every arm
 * of arms.ts on MiniALF and MiniShop over seeds. All arms of one (env, seed) share the base
 * policy, corpus, probe, pass rates and evaluation sets (study-base.ts), so differences between
 * arms are paired per seed.
 *
 * Grid (grid.ts order: seeds outermost, then env, arm, q): `q` (fraction routed to RL) varies only
 * for allocation-cv; every other arm carries q = 0.5. Each run's config carries its own env's settings (the
 * `settings` axis, paired with `env` by `include`), so a quick run can never be mistaken for a
 * default one (they are part of the config hash) and changing one env's settings reruns only that
 * env's runs; `studyVersion` changes whenever runOne's stored output changes shape.
 *
 * What a run stores: scalar results (seen/unseen success and score, regular vs conflict success,
 * routing statistics, cost per phase) that `toRecords()` turns into columns; per-family success,
 * the stepwise rounds and — on the "base" arm only — the probe scores and labels of every corpus
 * trajectory (for the AUC, histogram and Table 4 views) as arrays read back by prismStudyRuns().
 */
import { tf } from "../../tf";
import { initBackend } from "../../backend";
import { canonicalJson, JsonObject } from "../../experiments/canonical";
import type { PresetName } from "../../notebook";
import { InvalidArgumentError } from "../../errors";
import type { StudyGrid } from "../../experiments/grid";
import type { RunRecord } from "../../experiments/run-store";
import { RunContext, RunOutput, Study, defineStudy } from "../../experiments/sweep";
import { registerStudy } from "../../experiments/registry";
import type { EnvName } from "../../envs/types";
import { ALLOCATION_FRACTIONS, assertArm, PRISM_ARMS, PrismArm } from "./arms";
import { studyBase, PrismEnvSettings } from "./study-base";
import { runPrismArm, PrismArmResult } from "./study-run";

/** Bump when the shape of runOne's metrics changes (it is part of every config, hence the hash). */
export const PRISM_STUDY_VERSION = 6; // 2: per-task outcomes stored for paired tests; 3: truncated RL rollouts counted; 4: action-level RL, pre-RL evaluation, pre-training criterion; 5: d = 64, trimmed default arms; 6: one env's settings per config
/** The environments the PRISM study runs every arm on. */
export const PRISM_STUDY_ENVS: readonly EnvName[] = ["minialf", "minishop"];

/** Arms run only at the paper preset (ablations beyond the Gini comparisons, and GiGPO). */
const PAPER_ONLY_ARMS: readonly PrismArm[] = ["gigpo-100", "prism-kurtosis", "prism-cv", "inverse-kurtosis", "inverse-cv", "prism-gini-sqrtnumel", "allocation-cv"];

/** Arms each preset runs (the optional ones — GiGPO, √numel — only where there is time). */
export const PRISM_PRESET_ARMS: Readonly<Record<PresetName, readonly PrismArm[]>> = {
  quick: PRISM_ARMS.filter((a) => a !== "gigpo-100" && a !== "prism-gini-sqrtnumel"),
  // Default: the paper's main tables (Gini routing and its controls); the per-metric PRISM/Inverse
  // arms, √numel and the allocation sweep double its cost, so they run at the paper preset.
  default: PRISM_ARMS.filter((a) => !PAPER_ONLY_ARMS.includes(a)),
  paper: PRISM_ARMS,
};

/**
 * Per-env settings by preset. Why these values (measured; README "PRISM study settings"):
 * - context 256: no rollout is truncated, even one that wanders to the horizon (at 128, 27 of 32
 *   MiniALF rollouts lost their first steps; MiniShop's longest-observation adversary needs 240);
 * - MiniShop's conflict is "sold-out" (perceivable: the page says so) while its base pre-trains on
 *   "page-two" demos — it has learned to page on, never what a sold-out page means; with page-two
 *   conflicts RL did not learn MiniShop at all, and with sold-out demos in pre-training the base
 *   solved every conflict already (README "PRISM study settings");
 * - grouped-query attention (2 kv heads of 4) and dFF = 3·d: matrices of four different sizes;
 * - pre-training to ≥ 80% greedy success on fresh regular tasks (checked after every epoch);
 * - RL with the action-level objective, 2 PPO epochs × minibatches of 32 episodes (4 optimizer
 *   steps per iteration, so the ratio and clip act), success as reward (what is evaluated).
 */
export function prismEnvSettings(env: EnvName, preset: PresetName): PrismEnvSettings {
  const alf = env === "minialf";
  const scale = { quick: 0, default: 1, paper: 2 }[preset];
  return {
    horizon: alf ? 20 : 8,
    ...(alf ? {} : { shopConflict: "sold-out" as const }),
    // d = 64 where RL must learn (at d = 32 GRPO did not move held-out success); quick is a smoke test.
    model: { dModel: [32, 64, 64][scale], nLayers: 2, nHeads: 4, nKvHeads: 2, ffMultiplier: 3, contextLength: 256 },
    pretrain: {
      tasks: [128, 512, 512][scale], maxEpochs: [2, 12, 12][scale], learningRate: 3e-3, conflictFraction: 0.1, criterion: 0.8, validationTasks: [16, 64, 64][scale],
      ...(alf ? {} : { shopConflict: "page-two" as const }),
    },
    corpus: { tasks: [24, 128, 128][scale] },
    sft: { epochs: 4, batchSize: 16, learningRate: 3e-3 },
    rl: {
      epochs: [1, 4, 4][scale], tasksPerIteration: [4, 16, 16][scale], groupSize: [4, 8, 8][scale], learningRate: [1e-3, 3e-4, 3e-4][scale], klBeta: 0.02, temperature: 1,
      objective: "actions", ppoEpochs: 2, minibatchSize: [8, 32, 32][scale], reward: "success",
    },
    hpt: { samples: 4 },
    eval: { tasks: [12, 128, 128][scale] },
    // The paper preset shares every default setting, so its first two seeds are the default runs (one store).
    stepwise: { rounds: [2, 3, 3][scale] },
  };
}

const SEEDS: Record<PresetName, number[]> = { quick: [0], default: [0, 1], paper: [0, 1, 2, 3, 4] };

/** The grid config of one run, as stored. */
export interface PrismStudyConfig {
  studyVersion: number;
  env: EnvName;
  /** This env's settings (prismEnvSettings(env, preset)). */
  settings: PrismEnvSettings;
  arm: PrismArm;
  q: number;
}

/** The preset's grid: env × its settings × arm × q, over the preset's seeds. */
export function prismStudyGrid(preset: PresetName): StudyGrid {
  const arms = PRISM_PRESET_ARMS[preset];
  const perEnv = new Map(PRISM_STUDY_ENVS.map((env) => [env, canonicalJson(prismEnvSettings(env, preset) as unknown as JsonObject)]));
  return {
    axes: {
      env: [...PRISM_STUDY_ENVS],
      settings: PRISM_STUDY_ENVS.map((env) => prismEnvSettings(env, preset) as unknown as JsonObject),
      arm: [...arms], q: [...ALLOCATION_FRACTIONS],
    },
    fixed: { studyVersion: PRISM_STUDY_VERSION },
    // Each env runs with its own settings; q = 0.5 of the allocation sweep is prism-cv (a median
    // split), so it is not run twice.
    include: (c) => canonicalJson(c.settings) === perEnv.get(c.env as EnvName) && (c.arm === "allocation-cv" ? c.q !== 0.5 : c.q === 0.5),
    seeds: SEEDS[preset],
  };
}

const round6 = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(6)) : x);

/** What the Base arm's record keeps of the shared probe (for the AUC, confound and histogram views). */
export interface StoredProbe {
  scores: Record<string, number[]>; labels: boolean[]; families: string[]; sqrtNumelGini: number[]; passRates: number[];
  covariates: { loss: number[]; actionTokens: number[]; steps: number[] };
  detour: { scores: Record<string, number[]>; loss: number[]; actionTokens: number[]; steps: number[] };
}

/** Flattens an arm result into the stored metrics and cost (pure). */
export function prismStudyOutput(r: PrismArmResult, probe?: StoredProbe): RunOutput {
  const finite = (x: number) => (Number.isFinite(x) ? x : -1); // the store keeps finite numbers only; -1 marks "not applicable"
  const metrics: Record<string, unknown> = {
    seenSuccess: r.seen.successRate, seenScore: r.seen.meanScore, seenRegular: finite(r.seen.regularSuccess), seenConflict: finite(r.seen.conflictSuccess),
    unseenSuccess: r.unseen.successRate, unseenScore: r.unseen.meanScore, unseenRegular: finite(r.unseen.regularSuccess), unseenConflict: finite(r.unseen.conflictSuccess),
    sftSize: r.sftSize, rlSize: r.rlSize, rlFraction: r.rlFraction,
    conflictShareSft: finite(r.conflictShareSft), conflictShareRl: finite(r.conflictShareRl), routingTies: r.routingTies,
    rlIterations: r.rlIterations, rlRollouts: r.rlRollouts, rlTruncatedRollouts: r.rlTruncatedRollouts, rlRolloutSuccess: finite(r.rlRolloutSuccess), rlGroupsWithSignal: finite(r.rlGroupsWithSignal),
    trainSeconds: r.trainSeconds, evalSeconds: r.evalSeconds,
    seenPerFamily: r.seen.perFamily, unseenPerFamily: r.unseen.perFamily,
    preRlSeenTaskSuccess: r.preRlSeenTaskSuccess, seenTaskSuccess: r.seen.taskSuccess, seenTaskScore: r.seen.taskScore.map(round6), unseenTaskSuccess: r.unseen.taskSuccess, unseenTaskScore: r.unseen.taskScore.map(round6),
    stepwise: r.stepwise.map((s) => ({ round: s.round, giniAuc: round6(s.giniAuc), rhoWithBase: round6(s.rhoWithBase), routeChanges: s.routeChanges, conflictShareRl: finite(s.conflictShareRl) })),
  };
  const rounded = (x: Record<string, number[]>) => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, v.map(round6)]));
  if (probe !== undefined) {
    metrics.probe = {
      ...probe, scores: rounded(probe.scores), sqrtNumelGini: probe.sqrtNumelGini.map(round6), covariates: rounded(probe.covariates),
      detour: { scores: rounded(probe.detour.scores), ...rounded({ loss: probe.detour.loss, actionTokens: probe.detour.actionTokens, steps: probe.detour.steps }) },
    };
  }
  const cost: Record<string, number> = {};
  for (const [phase, c] of Object.entries(r.cost)) for (const [k, v] of Object.entries(c)) cost[`${phase}.${k}`] = v;
  cost.seconds = r.cost.probe.seconds + r.cost.passRate.seconds + r.cost.sft.seconds + r.cost.rl.seconds;
  return { metrics: metrics as JsonObject, cost };
}

/**
 * The study's runOne: one arm, one env, one seed. A process without a tfjs backend yet (the sweep
 * CLI) first gets the project's preferred one, as a notebook does through startNotebook.
 */
export async function runPrismStudyPoint(config: JsonObject, seed: number, context?: Pick<RunContext, "progress">): Promise<RunOutput> {
  if (tf.engine().backendName == null) await initBackend();
  const c = config as unknown as PrismStudyConfig;
  assertArm("config.arm", c.arm);
  if (!PRISM_STUDY_ENVS.includes(c.env)) throw new InvalidArgumentError("config.env", PRISM_STUDY_ENVS.join(" or "), c.env);
  context?.progress(0, "base stage");
  const base = studyBase(c.env, seed, c.settings);
  context?.progress(0.1, c.arm);
  const result = runPrismArm(base, c.arm, c.q, seed, (f, note) => context?.progress(0.1 + 0.9 * f, note));
  const four = (x: Record<string, number[]>) => ({ gini: x.gini, kurtosis: x.kurtosis, cv: x.cv, l2: x.l2 });
  const probe = c.arm === "base" ? {
    scores: four(base.probe.scores), labels: base.labels, families: base.corpus.map((t) => t.family), sqrtNumelGini: base.sqrtNumelScores.gini, passRates: base.passRates,
    covariates: base.covariates, detour: { ...base.detour, scores: four(base.detour.scores) },
  } : undefined;
  const out = prismStudyOutput(result, probe);
  // The shared stage's one-off costs, so the notebook can state them (pre-training is common to all arms).
  (out.metrics as Record<string, unknown>).pretrainSeconds = base.pretrainSeconds;
  (out.metrics as Record<string, unknown>).probeSeconds = base.probe.seconds;
  (out.metrics as Record<string, unknown>).pretrainEpochs = base.pretrainEpochs;
  (out.metrics as Record<string, unknown>).pretrainValidation = base.pretrainValidation.map(round6);
  (out.metrics as Record<string, unknown>).pretrainCriterionMet = base.pretrainCriterionMet ? 1 : 0;
  return out;
}

/**
 * The registered PRISM sweep study (quick, default and paper presets): run it with
 * `runSweep(prismStudy, { preset })` or `npm run sweep -- --study prism`, read it back with
 * `prismStudyRuns`.
 */
export const prismStudy: Study<JsonObject> = registerStudy(defineStudy({
  name: "prism",
  description: "PRISM: SFT-vs-RL routing by gradient concentration, every arm on MiniALF and MiniShop",
  presets: { quick: prismStudyGrid("quick"), default: prismStudyGrid("default"), paper: prismStudyGrid("paper") },
  // Arms of one env and seed share the pre-trained base policy (memoised per process).
  affinity: (config, seed) => `${String(config.env)}/${seed}`,
}, runPrismStudyPoint));

// ---------------------------------------------------------------- reading runs back

/** One stored PRISM run, typed for the report helpers: its grid point, seed, metrics (scalars and per-task arrays) and cost counters. */
export interface PrismStudyRun {
  env: EnvName;
  arm: PrismArm;
  q: number;
  seed: number;
  metrics: Record<string, number> & {
    seenPerFamily: Record<string, number>;
    unseenPerFamily: Record<string, number>;
    preRlSeenTaskSuccess: number[]; pretrainValidation: number[];
    seenTaskSuccess: number[]; seenTaskScore: number[]; unseenTaskSuccess: number[]; unseenTaskScore: number[];
    stepwise: Array<{ round: number; giniAuc: number; rhoWithBase: number; routeChanges: number; conflictShareRl: number }>;
    probe?: StoredProbe;
  };
  cost: Record<string, number>;
}

/** Typed view of a sweep's ok records (failed ones are left out; count them from the summary). */
export function prismStudyRuns(records: readonly RunRecord[]): PrismStudyRun[] {
  if (!Array.isArray(records)) throw new InvalidArgumentError("records", "an array of run records", records);
  return records.filter((r) => r.status === "ok").map((r) => {
    const c = r.config as unknown as PrismStudyConfig;
    if (r.study !== "prism" || c.studyVersion !== PRISM_STUDY_VERSION) {
      throw new InvalidArgumentError("records", `prism study records of version ${PRISM_STUDY_VERSION}`, `${r.study} v${String(c.studyVersion)}`);
    }
    return { env: c.env, arm: c.arm, q: c.q, seed: r.seed, metrics: r.metrics as unknown as PrismStudyRun["metrics"], cost: { ...r.cost.counters, seconds: r.cost.seconds } };
  });
}
