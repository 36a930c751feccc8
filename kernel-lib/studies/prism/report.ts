/**
 * Reading the PRISM study's runs for tables, figures and computed findings (notebook 02): mean ±
 * std over seeds per (env, arm, q) for tables, and comparisons between two arms through the
 * statistics layer — paired task by task (every arm of a seed is evaluated on the same tasks),
 * stratified by seed — and display names in the paper's terms. A mean alone never decides a
 * direction: `compareArms` does.
 */
import { Rng, Seed } from "../../random";
import { EmptyInputError, InvalidArgumentError } from "../../errors";
import { pairedVerdict, PairedVerdict } from "../../stats/verdict";
import { ALTERNATIVES, type Alternative } from "../../stats/sign-test";
import { checkOptions, option } from "../../options";
import type { EnvName } from "../../envs/types";
import { assertArm, PrismArm } from "./arms";
import type { PrismStudyRun } from "./study";

/** Each arm's label in tables and charts, with its SFT:RL data shares as the paper writes them ("Random 50:50"). */
export const ARM_LABELS: Readonly<Record<PrismArm, string>> = {
  "base": "Base", "sft-100": "SFT 100:–", "grpo-100": "GRPO –:100", "gigpo-100": "GiGPO –:100", "sft-then-rl": "SFT-then-RL 100:100", "sft-then-rl-matched": "SFT-then-RL, PRISM's steps",
  "random": "Random 50:50", "hpt": "HPT-like 50:50", "prism-gini": "PRISM-Gini 50:50", "prism-kurtosis": "PRISM-Kurtosis 50:50",
  "prism-cv": "PRISM-CV 50:50", "inverse-gini": "Inverse-Gini", "inverse-kurtosis": "Inverse-Kurtosis", "inverse-cv": "Inverse-CV",
  "magnitude": "Magnitude (L2) 50:50", "prism-gini-sqrtnumel": "PRISM-Gini √numel", "allocation-cv": "PRISM-CV q",
  "stepwise-static": "Gini rounds, static routes", "stepwise-reprobe": "Gini rounds, re-probed routes",
};

/** A metric of a run: a stored scalar, or a function of the run. */
export type RunMetric = string | ((run: PrismStudyRun) => number);

function value(run: PrismStudyRun, metric: RunMetric): number {
  if (typeof metric === "function") return metric(run);
  const v = (run.metrics as Record<string, unknown>)[metric] ?? run.cost[metric];
  if (typeof v !== "number") throw new InvalidArgumentError("metric", `a stored scalar metric or cost (run ${run.env}/${run.arm}/seed ${run.seed} has no "${metric}")`, metric);
  return v;
}

/**
 * One arm's metric over seeds in one env (`armStats`): mean, sample std, n seeds and the value per
 * seed. Descriptive only — comparisons between arms go through `armVerdict`/`pairedVerdict`.
 */
export interface ArmStats { env: EnvName; arm: PrismArm; q: number; mean: number; std: number; n: number; bySeed: Map<number, number> }

/** mean ± sample std over seeds of one arm (and q) in one env; n = 0 when the arm has no runs. */
export function armStats(runs: readonly PrismStudyRun[], env: EnvName, arm: PrismArm, metric: RunMetric, q = 0.5): ArmStats {
  assertArm("arm", arm);
  const bySeed = new Map<number, number>();
  for (const r of runs) if (r.env === env && r.arm === arm && r.q === q) bySeed.set(r.seed, value(r, metric));
  const v = [...bySeed.values()];
  const n = v.length;
  const mean = n === 0 ? NaN : v.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(v.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { env, arm, q, mean, std, n, bySeed };
}

/** Per-task outcome vectors a run stores for each evaluation split (0/1 success, 0–100 score). */
export type TaskMetric = "seenTaskSuccess" | "seenTaskScore" | "unseenTaskSuccess" | "unseenTaskScore";

/** Per-task paired differences between two arms (`taskDifferences`), with the seed of each as its cluster. */
export interface TaskDifferences {
  /** metric(a) − metric(b) per evaluation task, seed by seed. */
  differences: number[];
  /** The seed of each difference (the cluster). */
  clusters: number[];
  seeds: number[];
}

/**
 * Paired per-task differences between two arms: every arm of a seed is evaluated on the same task
 * set, so task i of arm a pairs with task i of arm b; seeds on which both ran, in order.
 */
export function taskDifferences(runs: readonly PrismStudyRun[], env: EnvName, a: PrismArm, b: PrismArm, metric: TaskMetric, qa = 0.5, qb = 0.5): TaskDifferences {
  assertArm("a", a); assertArm("b", b);
  const bySeed = (arm: PrismArm, q: number) => new Map(runs.filter((r) => r.env === env && r.arm === arm && r.q === q).map((r) => [r.seed, r.metrics[metric]]));
  const sa = bySeed(a, qa), sb = bySeed(b, qb);
  const seeds = [...sa.keys()].filter((s) => sb.has(s)).sort((x, y) => x - y);
  if (seeds.length === 0) throw new EmptyInputError("runs", `seeds on which both ${a} and ${b} ran in ${env}`);
  const differences: number[] = [], clusters: number[] = [];
  for (const seed of seeds) {
    const x = sa.get(seed), y = sb.get(seed);
    if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length) {
      throw new InvalidArgumentError("runs", `per-task "${metric}" vectors of equal length for ${a} and ${b} (seed ${seed})`);
    }
    x.forEach((v, i) => { differences.push(v - y[i]); clusters.push(seed); });
  }
  return { differences, clusters, seeds };
}

/**
 * Arm a vs arm b through the statistics layer: per-task paired differences, stratified by seed
 * (exact McNemar for success, sign-flip permutation for scores). `seed` drives a Monte Carlo p.
 */
export function compareArms(runs: readonly PrismStudyRun[], env: EnvName, a: PrismArm, b: PrismArm, metric: TaskMetric, options: { seed?: Seed | Rng; qa?: number; qb?: number; alternative?: Alternative } = {}): PairedVerdict & { seeds: number[] } {
  checkOptions("options", options, { seed: option.any, qa: option.fraction, qb: option.fraction, alternative: option.oneOf(ALTERNATIVES) }); // seed: checked by pairedVerdict
  const d = taskDifferences(runs, env, a, b, metric, options.qa ?? 0.5, options.qb ?? 0.5);
  const v = pairedVerdict(d.differences, { clusters: d.clusters, unitName: "task", clusterName: "seed", seed: options.seed, alternative: options.alternative });
  return { ...v, seeds: d.seeds };
}

/** "45.3 ± 2.1" (×scale, one decimal), or "n/a". */
export function meanStdText(s: Pick<ArmStats, "mean" | "std" | "n">, scale = 100, digits = 1): string {
  if (s.n === 0 || !Number.isFinite(s.mean)) return "n/a";
  return s.n > 1 ? `${(scale * s.mean).toFixed(digits)} ± ${(scale * s.std).toFixed(digits)}` : (scale * s.mean).toFixed(digits);
}

/** One arm's RL effect: greedy seen success after RL vs just before it, paired per task. */
export interface RlEffect extends PairedVerdict {
  env: EnvName;
  arm: PrismArm;
  seeds: number[];
  /** Mean seen success before and after RL (over the paired tasks of every seed). */
  before: number;
  after: number;
  /** RL rollouts run and how many were truncated to fit the context, summed over seeds. */
  rollouts: number;
  truncated: number;
}

/**
 * The RL effect of `arm` in `env`: seen success after RL minus success of the same policy just
 * before RL (after its SFT), task by task, stratified by seed (exact McNemar). It isolates what
 * the RL phase did, which arm-vs-arm comparisons cannot. Stepwise arms store no pre-RL
 * evaluation (their RL is interleaved with SFT) and are refused.
 */
export function rlEffect(runs: readonly PrismStudyRun[], env: EnvName, arm: PrismArm, options: { seed?: Seed | Rng; q?: number } = {}): RlEffect {
  checkOptions("options", options, { seed: option.any, q: option.fraction }); // seed: checked by pairedVerdict
  assertArm("arm", arm);
  const q = options.q ?? 0.5;
  const own = runs.filter((r) => r.env === env && r.arm === arm && r.q === q).sort((x, y) => x.seed - y.seed);
  const withPre = own.filter((r) => Array.isArray(r.metrics.preRlSeenTaskSuccess) && r.metrics.preRlSeenTaskSuccess.length > 0);
  if (withPre.length === 0) throw new EmptyInputError("runs", `runs of ${arm} in ${env} with a pre-RL evaluation (arms with a one-shot RL phase)`);
  const differences: number[] = [], clusters: number[] = [];
  let before = 0, after = 0, rollouts = 0, truncated = 0;
  for (const r of withPre) {
    const pre = r.metrics.preRlSeenTaskSuccess, post = r.metrics.seenTaskSuccess;
    if (pre.length !== post.length) throw new InvalidArgumentError("runs", `pre- and post-RL vectors of equal length (${arm}, seed ${r.seed})`);
    pre.forEach((p, i) => { differences.push(post[i] - p); clusters.push(r.seed); before += p; after += post[i]; });
    rollouts += r.metrics.rlRollouts; truncated += r.metrics.rlTruncatedRollouts;
  }
  const v = pairedVerdict(differences, { clusters, unitName: "task", clusterName: "seed", seed: options.seed });
  return { ...v, env, arm, seeds: withPre.map((r) => r.seed), before: before / differences.length, after: after / differences.length, rollouts, truncated };
}
