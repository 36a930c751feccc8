/**
 * The MAESTRO sweep study (notebook 04, `npm run sweep -- --study maestro --preset quick`): every
 * arm of arms.ts on the tier A response-bank policy, a subset on the tier B GRU policy, the
 * MAESTRO arm with the continuous action → weight mapping, and sensitivity settings, over several
 * seeds (arms share seeds: common random numbers, so differences between arms are paired per seed).
 *
 * Grid (grid.ts: seeds outermost, then tier, arm, mapping, setting — last varies fastest):
 *   tier "bank": every arm of MAESTRO_ARMS with mapping "discrete", plus maestro × "continuous";
 *   tier "gru":  the preset's `gruArms` subset (mapping "discrete");
 *   setting: "default" for all of those, plus the sensitivity settings of MAESTRO_SETTINGS on the
 *   arms each one names (format scale ×0.5, λ, GRPO's std normalisation / eps / epochs and
 *   aggregation, and tier B's full-budget generation for the cost comparison).
 * `mapping` only matters to the Conductor arms; static arms carry "discrete" so their config stays
 * one point. Per-tier settings (steps, pre-training, eval sizes) sit in the fixed `bank` / `gru`
 * objects, so a quick run can never be mistaken for a default one (they are part of the hash), and
 * `studyVersion` changes whenever runOne's stored output changes shape, so old lines are not
 * silently reused.
 *
 * Budgets: tier A runs 600 steps at default (the oracle arm's held-out utility plateaus by then:
 * 0.85 at 200 steps vs 0.91 at 800 in the review's runs), tier B 40 (a GRU run is ~100× slower per
 * step); every run stores its held-out true-utility curve so convergence is shown, not assumed.
 *
 * What a run stores (`metrics`, everything the notebook's figures and findings need, so a re-run
 * renders from the store alone): scalar results (true utility overall and per type, length,
 * repetition, seconds, generated tokens and forward work per step, meta-gradient summaries, the
 * largest |Σ_group Â|) that `toRecords()` turns into columns, and, as arrays `toRecords()` leaves
 * out (read them via `maestroStudyRuns(result.records)`), the final weights / components / action
 * histograms per type and the training curves. Curves are means over consecutive windows of
 * ⌈steps / curvePoints⌉ steps (`step` = the window's mean step) rounded to 6 significant digits.
 */
import { tf } from "../../tf";
import { initBackend } from "../../backend";
import type { JsonObject } from "../../experiments/canonical";
import { InvalidArgumentError } from "../../errors";
import type { RunRecord } from "../../experiments/run-store";
import { RunContext, RunOutput, Study, defineStudy } from "../../experiments/sweep";
import { registerStudy } from "../../experiments/registry";
import { MaestroArm, armBehaviour } from "./arms";
import type { WeightMapping } from "../../maestro/conductor";
import { TASK_TYPES } from "./env";
import type { PolicyTier } from "./policy-types";
import type { MaestroCurves, MaestroRunResult, PerType } from "./run-context";
import { runMaestroArm } from "./train";
import { CURVE_POINTS, MAESTRO_STUDY_VERSION, MaestroStudyConfig, maestroStudyGrid, maestroStudyRunConfig } from "./study-grid";

// ---------------------------------------------------------------- what a run stores

/**
 * The curves a run stores: MaestroCurves' series, windowed — means per window, except
 * `advantageGroupSum`, whose window MAXIMA are kept (the E[Â] ≡ 0 check survives windowing), and
 * `heldOut`, kept at its own steps.
 */
export type MaestroStudyCurves = MaestroCurves;

/**
 * The metrics one MAESTRO run stores in the run store (what notebook 04 reads back through
 * `maestroStudyRuns`): held-out true utility, length and repetition, the per-prompt values the
 * paired tests use, cost per step, the identity's check, GRPO diagnostics, the Conductor's payoff,
 * meta-gradient and final weights, the tuned search, and the windowed curves.
 */
export interface MaestroStudyMetrics {
  /** Held-out true utility, mean over types. */
  trueUtility: number;
  /** Held-out true utility per type. */
  trueUtilityByType: PerType<number>;
  /** Held-out mean response length (tokens before <eos>). */
  length: number;
  /** Held-out mean repetition rate. */
  repetition: number;
  /** Per held-out prompt, the same prompts in the same order for every arm of a seed. */
  promptUtility: number[];
  /** Per held-out prompt: expected response length (same order as promptUtility). */
  promptLength: number[];
  /** Mean wall-clock seconds per policy step (shared machine: noisy). */
  secondsPerStep: number;
  /** Seconds of the whole run. */
  totalSeconds: number;
  /** Seconds of tier B's verbose pre-training (0 in tier A). */
  pretrainSeconds: number;
  /** Mean generated tokens and forward row-positions per policy step (0 for the init arm). */
  generatedTokensPerStep: number;
  /** Mean forward row-positions per policy step (0 for the init arm). */
  forwardTokensPerStep: number;
  /** Largest |Σ_group Â| over every step: 0 up to rounding. */
  maxAdvantageGroupSum: number;
  /** Mean over training of the clip fraction and of the share of zero-std groups. */
  clipFraction: number;
  /** Mean share of GRPO groups whose rewards were all equal. */
  zeroStdGroups: number;
  /** Mean payoff the Conductor was paid per step (Conductor arms). */
  metaRewardMean?: number;
  /** Mean over the last quarter of training of the trained-on scalar reward R. */
  finalReward: number;
  /** Conductor arms only: ‖meta-gradient‖ mean and max over updates, π's entropy at the last update. */
  metaGradientMeanNorm?: number;
  /** Conductor arms only: the largest ‖meta-gradient‖ over updates (≈ 0 for prompt-level actions). */
  metaGradientMaxNorm?: number;
  /** Conductor arms only: the entropy of π at the last update. */
  conductorEntropy?: number;
  /** Arrays (not columns of toRecords): [type][k]. */
  finalWeights: PerType<number[]>;
  /** Held-out mean normalised components, [type][k]. */
  components: PerType<number[]>;
  /** Conductor arms only: actions per type over the last quarter of training. */
  actionHistogram?: PerType<number[]>;
  /** Static and tuned arms: the w trained with. */
  staticWeights?: number[];
  /** Tuned arm only: the search's chosen w, its predicted validation utility and its cost. */
  tunedSearch?: { bestWeights: number[]; bestValidationUtility: number; gridPoints: number; policySteps: number; evaluations: number; seconds: number };
  /** The windowed training curves (CURVE_POINTS points). */
  curves: MaestroStudyCurves;
}

const round = (x: number) => Number(x.toPrecision(6));
const mean = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

/** Maxima over consecutive windows of `width` entries (full precision). */
function windowMaxima(values: readonly number[], width: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i += width) out.push(values.slice(i, i + width).reduce((a, b) => Math.max(a, b), 0));
  return out;
}

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
    generatedTokens: windowMeans(c.generatedTokens, width),
    forwardTokens: windowMeans(c.forwardTokens, width),
    clipFraction: windowMeans(c.clipFraction, width),
    zeroStdGroups: windowMeans(c.zeroStdGroups, width),
    advantageGroupSum: windowMaxima(c.advantageGroupSum, width),
    metaReward: windowMeans(c.metaReward, width),
    heldOut: { step: c.heldOut.step.slice(), trueUtility: c.heldOut.trueUtility.map(round) },
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
    generatedTokensPerStep: m.generatedTokensPerStep,
    forwardTokensPerStep: m.forwardTokensPerStep,
    maxAdvantageGroupSum: m.maxAdvantageGroupSum,
    clipFraction: mean(c.clipFraction),
    zeroStdGroups: mean(c.zeroStdGroups),
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
  if (c.metaReward.length > 0) out.metaRewardMean = mean(c.metaReward);
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

/**
 * The MAESTRO study, registered for `npm run sweep -- --study maestro` and notebook 04: presets
 * quick / default / paper (seeds, per-tier budgets, tier B arm subsets and sensitivity settings in
 * study-grid.ts; default: 6 seeds, the fewest with which a two-sided test over seeds can reach
 * p < 0.05), each grid point one `runMaestroArm` whose metrics go to reports/runs/maestro.jsonl.
 *
 * @example
 * ```ts
 * const sweep = await lab.experiments.runSweep(lab.studies.maestro.maestroStudy, { preset: "quick" });
 * const runs = lab.studies.maestro.maestroStudyRuns(sweep.records);
 * ```
 */
export const maestroStudy: Study<JsonObject> = registerStudy(defineStudy({
  name: "maestro",
  description: "MAESTRO Conductor vs static, random and oracle reward weights (tier A: every arm; tier B: a subset)",
  presets: { quick: maestroStudyGrid("quick"), default: maestroStudyGrid("default"), paper: maestroStudyGrid("paper") },
}, runMaestroStudyPoint));

// ---------------------------------------------------------------- reading runs back

/** One ok run of the study, typed. */
export interface MaestroStudyRun {
  arm: MaestroArm;
  tier: PolicyTier;
  mapping: WeightMapping;
  setting: string;
  /** The arm, with " (continuous)" for the continuous-mapping Conductor and " [setting]" off the default setting: one name per variant. */
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
    const setting = c.setting ?? "default";
    const base = conductor && c.mapping === "continuous" ? `${c.arm} (continuous)` : c.arm;
    return {
      arm: c.arm, tier: c.tier, mapping: c.mapping, setting, seed: r.seed, conductor,
      variant: setting === "default" ? base : `${base} [${setting}]`,
      metrics: r.metrics as unknown as MaestroStudyMetrics,
    };
  });
}
