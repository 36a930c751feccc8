/**
 * Reading the MAESTRO study's runs for tables, figures and the claims ledger (notebook 04): arm
 * comparisons through the statistics layer and the numbers behind the identity claims. A mean
 * alone never decides a direction: `comparePrompts` and `compareRuns` do.
 *
 * Which comparison when:
 *  - `comparePrompts`: held-out true utility (or length) of two arms, paired PROMPT by prompt
 *    (every arm of a seed is evaluated on the same prompts), stratified sign-flip test within
 *    seeds — generalises over prompts for these seeds' trained policies;
 *  - `compareRuns`: a quantity measured once per run (seconds or generated tokens per step, a
 *    weight margin), paired over seeds — needs ≥ 6 seeds to reach p < 0.05 two-sided;
 *  - `convergenceGain`: how much an arm's held-out true utility still rose over the last quarter
 *    of training (a plateau check, descriptive).
 */
import { EmptyInputError, InvalidArgumentError } from "../../errors";
import { checkOptions, option } from "../../options";
import type { Rng, Seed } from "../../random";
import { pairedVerdict, PairedVerdict } from "../../stats/verdict";
import { ALTERNATIVES, type Alternative } from "../../stats/sign-test";
import { TASK_TYPES, TaskType } from "./env";
import type { PolicyTier } from "./policy-types";
import { DOMINANT_COMPONENT, REWARD_COMPONENTS } from "./rewards";
import type { MaestroStudyRun } from "./study";

/** The runs of one variant (arm, "(continuous)", "[setting]") in one tier, by seed. */
export function variantRuns(runs: readonly MaestroStudyRun[], tier: PolicyTier, variant: string): MaestroStudyRun[] {
  if (!Array.isArray(runs)) throw new InvalidArgumentError("runs", "an array of MaestroStudyRun (maestroStudyRuns)", runs);
  return runs.filter((r) => r.tier === tier && r.variant === variant).sort((x, y) => x.seed - y.seed);
}

/** Which per-prompt held-out value `comparePrompts` pairs: expected true utility or expected response length. */
export type PromptMetric = "promptUtility" | "promptLength";

/** Options of `comparePrompts` and `compareRuns`, passed on to `stats.pairedVerdict`. */
export interface CompareOptions {
  /** Default "two-sided". */
  alternative?: Alternative;
  /** Drives a Monte Carlo p (default 0). */
  seed?: Seed | Rng;
  /**
   * The smallest effect of interest δ in the compared metric's units (true utility, tokens, …):
   * a direction then needs the interval to clear δ, and an interval inside ±δ is "negligible"
   * (see `stats.pairedVerdict`). Unset by default: p alone decides, as before.
   */
  smallestEffectOfInterest?: number;
}

const COMPARE_SPEC = { alternative: option.oneOf(ALTERNATIVES), seed: option.any, smallestEffectOfInterest: option.positiveNumber }; // seed: checked by pairedVerdict

function pairs(runs: readonly MaestroStudyRun[], tier: PolicyTier, a: string, b: string): [MaestroStudyRun, MaestroStudyRun][] {
  const other = new Map(variantRuns(runs, tier, b).map((r) => [r.seed, r]));
  const out = variantRuns(runs, tier, a).filter((r) => other.has(r.seed)).map((r) => [r, other.get(r.seed) as MaestroStudyRun] as [MaestroStudyRun, MaestroStudyRun]);
  if (out.length === 0) throw new EmptyInputError("runs", `seeds on which both ${a} and ${b} ran in tier ${tier}`);
  return out;
}

/** a − b per held-out prompt, stratified by seed (see the module header). */
export function comparePrompts(runs: readonly MaestroStudyRun[], tier: PolicyTier, a: string, b: string, metric: PromptMetric = "promptUtility", options: CompareOptions = {}): PairedVerdict & { seeds: number[] } {
  checkOptions("options", options, COMPARE_SPEC);
  if (metric !== "promptUtility" && metric !== "promptLength") throw new InvalidArgumentError("metric", "\"promptUtility\" or \"promptLength\"", metric);
  const differences: number[] = [], clusters: number[] = [];
  const matched = pairs(runs, tier, a, b);
  for (const [x, y] of matched) {
    const u = x.metrics[metric], v = y.metrics[metric];
    if (u.length !== v.length) throw new InvalidArgumentError("runs", `per-prompt "${metric}" of equal length for ${a} and ${b} (seed ${x.seed})`);
    u.forEach((value, i) => { differences.push(value - v[i]); clusters.push(x.seed); });
  }
  const verdict = pairedVerdict(differences, { clusters, unitName: "prompt", clusterName: "seed", alternative: options.alternative, seed: options.seed, smallestEffectOfInterest: options.smallestEffectOfInterest });
  return { ...verdict, seeds: matched.map(([x]) => x.seed) };
}

/** a − b of a once-per-run quantity, paired over seeds. */
export function compareRuns(runs: readonly MaestroStudyRun[], tier: PolicyTier, a: string, b: string, metric: (run: MaestroStudyRun) => number, options: CompareOptions = {}): PairedVerdict & { seeds: number[] } {
  checkOptions("options", options, COMPARE_SPEC);
  if (typeof metric !== "function") throw new InvalidArgumentError("metric", "a function of a run", metric);
  const matched = pairs(runs, tier, a, b);
  const verdict = pairedVerdict(matched.map(([x, y]) => metric(x) - metric(y)), { unitName: "seed", alternative: options.alternative, seed: options.seed, smallestEffectOfInterest: options.smallestEffectOfInterest });
  return { ...verdict, seeds: matched.map(([x]) => x.seed) };
}

/**
 * Per type: how much more final weight the run's Conductor gives that type's dominant true-utility
 * component (creative → creativity, …) than the most weight any OTHER type gives it. > 0 for every
 * type = type-dependent weights in the paper's sense.
 */
export function typeMargins(run: MaestroStudyRun): Record<TaskType, number> {
  const w = run.metrics.finalWeights;
  return Object.fromEntries(TASK_TYPES.map((t) => {
    const k = REWARD_COMPONENTS.indexOf(DOMINANT_COMPONENT[t]);
    const others = TASK_TYPES.filter((o) => o !== t).map((o) => w[o][k]).reduce((x, y) => Math.max(x, y), -Infinity);
    return [t, w[t][k] - others];
  })) as Record<TaskType, number>;
}

/** The largest |Σ_group Â| any step of any of `runs` saw (the E[Â] ≡ 0 identity's check) and over how many steps. */
export function advantageIdentityCheck(runs: readonly MaestroStudyRun[]): { value: number; runs: number; steps: number } {
  if (!Array.isArray(runs) || runs.length === 0) throw new EmptyInputError("runs", "at least one run");
  let value = 0, steps = 0;
  for (const r of runs) {
    value = Math.max(value, r.metrics.maxAdvantageGroupSum);
    steps += r.metrics.curves.step.length === 0 ? 0 : Math.round(r.metrics.curves.step[r.metrics.curves.step.length - 1]) + 1;
  }
  return { value, runs: runs.length, steps };
}

/**
 * Mean over the variant's seeds of (held-out true utility at the end − at 75% of training): near
 * 0 once the arm has plateaued. NaN when its runs stored fewer than two held-out points.
 */
export function convergenceGain(runs: readonly MaestroStudyRun[], tier: PolicyTier, variant: string): { gain: number; final: number; seeds: number } {
  const own = variantRuns(runs, tier, variant).filter((r) => r.metrics.curves.heldOut.step.length >= 2);
  if (own.length === 0) return { gain: NaN, final: NaN, seeds: 0 };
  let gain = 0, final = 0;
  for (const r of own) {
    const { step, trueUtility } = r.metrics.curves.heldOut;
    const last = step[step.length - 1];
    let i = 0;
    while (i + 1 < step.length && step[i + 1] <= 0.75 * last) i++;
    gain += (trueUtility[trueUtility.length - 1] - trueUtility[i]) / own.length;
    final += trueUtility[trueUtility.length - 1] / own.length;
  }
  return { gain, final, seeds: own.length };
}
