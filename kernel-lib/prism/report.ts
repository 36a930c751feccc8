/**
 * Reading the PRISM study's runs for tables, figures and computed findings (notebook 02): mean ±
 * std over seeds per (env, arm, q), paired differences between two arms on the same seeds (common
 * random numbers) with a bootstrap interval over seeds, and display names in the paper's terms.
 *
 * Intervals: with fewer than 3 seeds no interval is given (`ci: null`) — a bootstrap over two
 * values is not an interval worth printing; the per-seed differences are returned instead.
 */
import { Rng, Seed } from "../random";
import { EmptyInputError, InvalidArgumentError } from "../errors";
import { bootstrapInterval } from "../metrics/bootstrap";
import type { EnvName } from "../envs/types";
import { assertArm, PrismArm } from "./arms";
import type { PrismStudyRun } from "./study";

export const ARM_LABELS: Readonly<Record<PrismArm, string>> = {
  "base": "Base", "sft-100": "SFT 100:–", "grpo-100": "GRPO –:100", "gigpo-100": "GiGPO –:100", "sft-then-rl": "SFT-then-RL 100:100",
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

export interface PairedDifference { mean: number; perSeed: number[]; seeds: number[]; ci: { lo: number; hi: number } | null }

/** metric(a) − metric(b) on the seeds both arms ran; a 95% bootstrap CI over seeds when n ≥ 3. */
export function pairedDifference(runs: readonly PrismStudyRun[], env: EnvName, a: PrismArm, b: PrismArm, metric: RunMetric, seed: Seed | Rng, qa = 0.5, qb = 0.5): PairedDifference {
  const sa = armStats(runs, env, a, metric, qa).bySeed, sb = armStats(runs, env, b, metric, qb).bySeed;
  const seeds = [...sa.keys()].filter((s) => sb.has(s)).sort((x, y) => x - y);
  if (seeds.length === 0) throw new EmptyInputError("runs", `seeds on which both ${a} and ${b} ran in ${env}`);
  const perSeed = seeds.map((s) => sa.get(s)! - sb.get(s)!);
  const mean = perSeed.reduce((x, y) => x + y, 0) / perSeed.length;
  const ci = perSeed.length >= 3
    ? bootstrapInterval(perSeed.length, (idx) => idx.reduce((x, i) => x + perSeed[i], 0) / idx.length, { seed, resamples: 2000 })
    : null;
  return { mean, perSeed, seeds, ci: ci === null ? null : { lo: ci.lo, hi: ci.hi } };
}

/** "45.3 ± 2.1" (×scale, one decimal), or "n/a". */
export function meanStdText(s: Pick<ArmStats, "mean" | "std" | "n">, scale = 100, digits = 1): string {
  if (s.n === 0 || !Number.isFinite(s.mean)) return "n/a";
  return s.n > 1 ? `${(scale * s.mean).toFixed(digits)} ± ${(scale * s.std).toFixed(digits)}` : (scale * s.mean).toFixed(digits);
}

/** "+3.1 points (95% CI [−1.0, 7.2], n = 4 seeds)" or "+3.1 points (n = 2 seeds: −1.0, +7.2; too few for an interval)". */
export function differenceText(d: PairedDifference, scale = 100, unit = "points"): string {
  const f = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(scale * x).toFixed(1)}`;
  if (d.ci !== null) return `${f(d.mean)} ${unit} (95% CI [${f(d.ci.lo)}, ${f(d.ci.hi)}], n = ${d.perSeed.length} seeds)`;
  return `${f(d.mean)} ${unit} (n = ${d.perSeed.length} seed${d.perSeed.length === 1 ? "" : "s"}${d.perSeed.length > 1 ? `: ${d.perSeed.map(f).join(", ")}` : ""}; too few for an interval)`;
}

/** Whether a difference is clearly positive (CI above 0), clearly negative, or neither. */
export function verdict(d: PairedDifference): "beat" | "lost to" | "did not clearly beat" {
  if (d.ci !== null && d.ci.lo > 0) return "beat";
  if (d.ci !== null && d.ci.hi < 0) return "lost to";
  return "did not clearly beat";
}
