/**
 * The MAESTRO sweep study (notebook 04, `npm run sweep -- --study maestro --preset quick`): every
 * arm of arms.ts on the tier A response-bank policy, a subset on the tier B GRU policy, plus the
 * MAESTRO arm with the continuous action → weight mapping, over several seeds (arms share seeds:
 * common random numbers, so differences between arms are paired per seed).
 *
 * Grid (grid.ts: seeds outermost, then tier, arm, mapping — last varies fastest):
 *   tier "bank": every arm of MAESTRO_ARMS with mapping "discrete", plus maestro × "continuous";
 *   tier "gru":  the preset's `gruArms` subset (mapping "discrete").
 * `mapping` only matters to the Conductor arms; static arms carry "discrete" so their config stays
 * one point. Per-tier settings (steps, pre-training, eval sizes) sit in the fixed `bank` / `gru`
 * objects, so a quick run can never be mistaken for a default one (they are part of the hash), and
 * `studyVersion` changes whenever runOne's stored output changes shape, so old lines are not
 * silently reused.
 *
 * What a run stores (`metrics`, everything the notebook's F1–F6 and findings need, so a re-run
 * renders from the store alone): scalar results (true utility overall and per type, length,
 * repetition, seconds per step, meta-gradient summaries) that `toRecords()` turns into columns,
 * and, as arrays `toRecords()` leaves out (read them via `maestroStudyRuns(result.records)`), the
 * final weights / components / action histograms per type and the training curves. Curves are
 * means over consecutive windows of ⌈steps / curvePoints⌉ steps (`step` = the window's mean step)
 * rounded to 6 significant digits: smooth enough to read, small enough to store 100s of runs.
 */
import { tf } from "../tf";
import { initBackend } from "../backend";
import type { JsonObject } from "../experiments/canonical";
import { PresetName } from "../notebook";
import { InvalidArgumentError } from "../errors";
import type { StudyGrid } from "../experiments/grid";
import type { RunRecord } from "../experiments/run-store";
import { RunContext, RunOutput, Study, defineStudy } from "../experiments/sweep";
import { registerStudy } from "../experiments/registry";
import { MAESTRO_ARMS, MaestroArm, MaestroRunConfig, armBehaviour } from "./arms";
import type { WeightMapping } from "./conductor";
import { TASK_TYPES, TaskType } from "./env";
import type { PolicyTier } from "./policy-types";
import { MaestroRunResult, PerType, runMaestroArm } from "./train";

/** Bump when the shape of runOne's metrics changes (it is part of every config, hence the hash). */
export const MAESTRO_STUDY_VERSION = 2; // 2: per-prompt held-out utility and length stored for paired tests

/** Tier B arms at each preset (tier A always runs every arm). */
export const MAESTRO_GRU_ARMS: Readonly<Record<PresetName, readonly MaestroArm[]>> = {
  quick: ["equal", "maestro"],
  default: ["equal", "maestro", "oracle", "single-brevity"],
  paper: ["equal", "maestro", "oracle", "single-brevity", "random", "prompt-level", "tuned"],
};

type TierSettings = Omit<MaestroRunConfig, "arm" | "tier" | "mapping">;

const BANK: Record<PresetName, TierSettings> = {
  quick: { steps: 100, evalPromptsPerType: 20, validationPromptsPerType: 20 },
  default: { steps: 200, evalPromptsPerType: 40, validationPromptsPerType: 40 },
  paper: { steps: 400, evalPromptsPerType: 80, validationPromptsPerType: 80 },
};

const GRU: Record<PresetName, TierSettings> = {
  quick: { steps: 8, pretrainSteps: 40, promptsPerStep: 3, groupSize: 8, evalPromptsPerType: 3, evalSamples: 2 },
  default: { steps: 40, pretrainSteps: 150, evalPromptsPerType: 8, evalSamples: 4 },
  paper: { steps: 80, pretrainSteps: 200, evalPromptsPerType: 16, evalSamples: 8, validationPromptsPerType: 6, tunedSearchSteps: 20 },
};

const SEEDS: Record<PresetName, number[]> = { quick: [0, 1], default: [0, 1, 2, 3, 4], paper: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] };
const CURVE_POINTS = 100;

/** The grid config of one run, as stored. */
export interface MaestroStudyConfig {
  studyVersion: number;
  curvePoints: number;
  bank: TierSettings;
  gru: TierSettings;
  tier: PolicyTier;
  arm: MaestroArm;
  mapping: WeightMapping;
}

function grid(preset: PresetName): StudyGrid {
  const gruArms = MAESTRO_GRU_ARMS[preset];
  return {
    axes: { tier: ["bank", "gru"], arm: [...MAESTRO_ARMS], mapping: ["discrete", "continuous"] },
    fixed: { studyVersion: MAESTRO_STUDY_VERSION, curvePoints: CURVE_POINTS, bank: { ...BANK[preset] } as JsonObject, gru: { ...GRU[preset] } as JsonObject },
    include: (c) => {
      if (c.tier === "gru") return c.mapping === "discrete" && gruArms.includes(c.arm as MaestroArm);
      return c.mapping === "discrete" || c.arm === "maestro";
    },
    seeds: SEEDS[preset],
  };
}

/** The run configuration runMaestroArm gets for a grid point. */
export function maestroStudyRunConfig(config: JsonObject): MaestroRunConfig {
  const c = config as unknown as MaestroStudyConfig;
  if (c.tier !== "bank" && c.tier !== "gru") throw new InvalidArgumentError("config.tier", "\"bank\" or \"gru\"", c.tier);
  const settings = c[c.tier];
  if (settings === null || typeof settings !== "object") throw new InvalidArgumentError(`config.${c.tier}`, "the tier's settings object", settings);
  return { ...settings, arm: c.arm, tier: c.tier, mapping: c.mapping };
}

// ---------------------------------------------------------------- what a run stores

export interface MaestroStudyCurves {
  step: number[];
  weightsByType: PerType<number[][]>;
  componentsByType: PerType<number[][]>;
  trueUtilityByType: PerType<number[]>;
  reward: number[];
  length: number[];
  repetition: number[];
  secondsPerStep: number[];
  kl: number[];
  metaGradient: { step: number[]; norm: number[]; entropy: number[]; loss: number[] };
}

export interface MaestroStudyMetrics {
  trueUtility: number;
  trueUtilityByType: PerType<number>;
  length: number;
  repetition: number;
  /** Per held-out prompt, the same prompts in the same order for every arm of a seed. */
  promptUtility: number[];
  promptLength: number[];
  secondsPerStep: number;
  totalSeconds: number;
  pretrainSeconds: number;
  /** Mean over the last quarter of training of the trained-on scalar reward R. */
  finalReward: number;
  /** Conductor arms only: ‖meta-gradient‖ mean and max over updates, π's entropy at the last update. */
  metaGradientMeanNorm?: number;
  metaGradientMaxNorm?: number;
  conductorEntropy?: number;
  /** Arrays (not columns of toRecords): [type][k]. */
  finalWeights: PerType<number[]>;
  components: PerType<number[]>;
  /** Conductor arms only: actions per type over the last quarter of training. */
  actionHistogram?: PerType<number[]>;
  /** Static and tuned arms: the w trained with. */
  staticWeights?: number[];
  tunedSearch?: { bestWeights: number[]; bestValidationUtility: number; gridPoints: number; policySteps: number; evaluations: number; seconds: number };
  curves: MaestroStudyCurves;
}

const round = (x: number) => Number(x.toPrecision(6));
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Means over consecutive windows of `width` entries (the last window may be shorter). */
export function windowMeans(values: readonly number[], width: number): number[] {
  if (!Number.isInteger(width) || width < 1) throw new InvalidArgumentError("width", "a positive integer", width);
  const out: number[] = [];
  for (let i = 0; i < values.length; i += width) out.push(round(mean(values.slice(i, i + width))));
  return out;
}

function windowRows(rows: readonly number[][], width: number): number[][] {
  const K = rows[0]?.length ?? 0;
  const columns = Array.from({ length: K }, (_, k) => windowMeans(rows.map((r) => r[k]), width));
  return columns[0]?.map((_, i) => columns.map((col) => col[i])) ?? [];
}

function perType<T, U>(value: PerType<T>, f: (v: T) => U): PerType<U> {
  return Object.fromEntries(TASK_TYPES.map((t) => [t, f(value[t])])) as PerType<U>;
}

/** The stored metrics and cost of one run result (pure; see the module header). */
export function maestroStudyOutput(result: MaestroRunResult, curvePoints = CURVE_POINTS): RunOutput {
  const { metrics: m, curves: c, config } = result;
  const width = Math.max(1, Math.ceil(c.step.length / curvePoints));
  const metaWidth = Math.max(1, Math.ceil(c.metaGradient.step.length / curvePoints));
  const curves: MaestroStudyCurves = {
    step: windowMeans(c.step, width),
    weightsByType: perType(c.weightsByType, (rows) => windowRows(rows, width)),
    componentsByType: perType(c.componentsByType, (rows) => windowRows(rows, width)),
    trueUtilityByType: perType(c.trueUtilityByType, (v) => windowMeans(v, width)),
    reward: windowMeans(c.reward, width),
    length: windowMeans(c.length, width),
    repetition: windowMeans(c.repetition, width),
    secondsPerStep: windowMeans(c.secondsPerStep, width),
    kl: windowMeans(c.kl, width),
    metaGradient: {
      step: windowMeans(c.metaGradient.step, metaWidth),
      norm: windowMeans(c.metaGradient.norm, metaWidth),
      entropy: windowMeans(c.metaGradient.entropy, metaWidth),
      loss: windowMeans(c.metaGradient.loss, metaWidth),
    },
  };
  const lastQuarter = c.reward.slice(Math.floor((3 * c.reward.length) / 4));
  const out: MaestroStudyMetrics = {
    trueUtility: m.trueUtilityOverall,
    trueUtilityByType: { ...m.trueUtility },
    length: m.length,
    repetition: m.repetition,
    promptUtility: m.promptUtility.map(round),
    promptLength: m.promptLength.map(round),
    secondsPerStep: m.secondsPerStep,
    totalSeconds: m.totalSeconds,
    pretrainSeconds: m.pretrainSeconds,
    finalReward: mean(lastQuarter),
    finalWeights: perType(m.finalWeights, (w) => w.map(round)),
    components: perType(m.components, (w) => w.map(round)),
    curves,
  };
  const norms = c.metaGradient.norm;
  if (norms.length > 0) {
    // Full precision: the prompt-level claim is about how close to 0 these are.
    out.metaGradientMeanNorm = mean(norms);
    out.metaGradientMaxNorm = norms.reduce((a, b) => Math.max(a, b), -Infinity); // no spread: one norm per step, unbounded
    out.conductorEntropy = c.metaGradient.entropy[c.metaGradient.entropy.length - 1];
  }
  if (m.actionHistogram !== null) out.actionHistogram = perType(m.actionHistogram, (h) => h.slice());
  if (result.staticWeights !== null) out.staticWeights = result.staticWeights.slice();
  const search = result.tunedSearch;
  if (search !== null) {
    out.tunedSearch = {
      bestWeights: search.bestWeights.slice(), bestValidationUtility: search.bestValidationUtility, gridPoints: search.gridPoints,
      policySteps: search.cost.policySteps, evaluations: search.cost.evaluations, seconds: search.cost.seconds,
    };
  }
  const responses = config.steps * config.promptsPerStep * config.groupSize;
  return {
    metrics: out as unknown as JsonObject,
    cost: {
      policySteps: config.steps, responses, pretrainSteps: config.tier === "gru" ? config.pretrainSteps : 0,
      conductorUpdates: norms.length, searchPolicySteps: search?.cost.policySteps ?? 0, seconds: m.totalSeconds,
    },
  };
}

/**
 * The study's runOne: one arm, one tier, one seed. A process that has not chosen a tfjs backend
 * yet (the sweep CLI) first gets the project's preferred one, as a notebook does through
 * startNotebook — otherwise tfjs silently defaults to its pure-JS cpu backend, ~5× slower here.
 * A backend already in use (notebook, tests' useBackend) is never changed.
 */
export async function runMaestroStudyPoint(config: JsonObject, seed: number, context?: Pick<RunContext, "progress">): Promise<RunOutput> {
  if (tf.engine().backendName == null) await initBackend();
  const c = config as unknown as MaestroStudyConfig;
  return maestroStudyOutput(runMaestroArm(maestroStudyRunConfig(config), seed, (f, note) => context?.progress(f, note)), c.curvePoints);
}

export const maestroStudy: Study<JsonObject> = registerStudy(defineStudy({
  name: "maestro",
  description: "MAESTRO Conductor vs static, random and oracle reward weights (tier A: every arm; tier B: a subset)",
  presets: { quick: grid("quick"), default: grid("default"), paper: grid("paper") },
}, runMaestroStudyPoint));

// ---------------------------------------------------------------- reading runs back

/** One ok run of the study, typed. */
export interface MaestroStudyRun {
  arm: MaestroArm;
  tier: PolicyTier;
  mapping: WeightMapping;
  /** The arm, with " (continuous)" for the continuous-mapping Conductor: one name per variant. */
  variant: string;
  /** True for the arms whose weights a Conductor chooses. */
  conductor: boolean;
  seed: number;
  metrics: MaestroStudyMetrics;
}

/** Typed view of a sweep's ok records (failed ones are left out; count them from the summary). */
export function maestroStudyRuns(records: readonly RunRecord[]): MaestroStudyRun[] {
  if (!Array.isArray(records)) throw new InvalidArgumentError("records", "an array of run records", records);
  return records.filter((r) => r.status === "ok").map((r) => {
    const c = r.config as unknown as MaestroStudyConfig;
    if (r.study !== "maestro" || c.studyVersion !== MAESTRO_STUDY_VERSION) {
      throw new InvalidArgumentError("records", `maestro study records of version ${MAESTRO_STUDY_VERSION}`, `${r.study} v${String(c.studyVersion)}`);
    }
    const conductor = armBehaviour(c.arm).weighting === "conductor";
    return {
      arm: c.arm, tier: c.tier, mapping: c.mapping, seed: r.seed, conductor,
      variant: conductor && c.mapping === "continuous" ? `${c.arm} (continuous)` : c.arm,
      metrics: r.metrics as unknown as MaestroStudyMetrics,
    };
  });
}
