/**
 * The evaluation harness: fixed evaluation sets per split, success / score per task family and
 * for regular vs. planted-conflict tasks, and mean ± std across seeds. Results are plain records
 * (numbers, strings, nested plain objects) so a notebook can hand them straight to a DataFrame.
 *
 * Use `evaluationSet(env, split, count, seed)` once per split and reuse it for every arm (the same
 * seed always gives the same tasks), `evaluateAgent` with mode "greedy" for the reported numbers
 * (mode "sample" measures the stochastic policy RL optimises), and `summariseSeeds` over the
 * results of one arm trained with different seeds.
 *
 * Evaluation sets hold half planted-conflict tasks by default (conflictFraction 0.5): a policy
 * that only learned the pre-training regularity then scores about half, and the per-kind rates
 * (`regular`, `conflict`) show which half it solves.
 */

import { assertKnownKeys, assertOneOf, EmptyInputError, InvalidArgumentError } from "../errors";
import type { Seed } from "../random";
import type { PhaseCost } from "../train/rl-types";
import { SPLITS, Split, AgentEnv, Task, Trajectory } from "../envs/types";
import { runEpisodesBatched } from "./episodes";
import { ACT_MODES, ActMode, Agent, assertSeed } from "./types";

/**
 * Share of planted-conflict tasks in an evaluation set by default: with half, a policy that only
 * learned the pre-training regularity scores about half, and the per-kind rates show which half it
 * solves.
 */
export const DEFAULT_EVALUATION_CONFLICT_FRACTION = 0.5;

/** The fixed evaluation tasks of a split: a pure function of (env, split, count, seed, conflictFraction). */
export function evaluationSet<T extends Task>(env: AgentEnv<T>, split: Split | string, count: number, seed: Seed, options: { conflictFraction?: number; families?: readonly string[] } = {}): T[] {
  const name = String(split);
  assertOneOf("split", name, SPLITS);
  assertKnownKeys("options", options, ["conflictFraction", "families"]);
  // Derived seed label keeps evaluation tasks apart from training tasks drawn with the same seed.
  return env.generateTasks({ split: name, count, seed: `evaluation/${String(seed)}`, conflictFraction: options.conflictFraction ?? DEFAULT_EVALUATION_CONFLICT_FRACTION, ...(options.families ? { families: options.families } : {}) });
}

/** Episodes, success rate and mean score of one slice of an evaluation. */
export interface RateRecord { n: number; successRate: number; meanScore: number }

/**
 * What `evaluateAgent` returns: success rate and mean score overall, per family and for regular vs
 * planted-conflict tasks (plain records, ready for a DataFrame).
 */
export interface EvaluationResult {
  agent: string;
  env: string;
  /** The tasks' split, or "mixed". */
  split: string;
  mode: ActMode;
  seed: Seed;
  episodes: number;
  successRate: number;
  /** Mean task score on the 0–100 scale (MiniALF: 100·success). */
  meanScore: number;
  meanSteps: number;
  envSteps: number;
  forwardTokens: number;
  seconds: number;
  perFamily: Record<string, RateRecord>;
  /** Tasks that follow the pre-training regularity … */
  regular: RateRecord;
  /** … and tasks that violate it (planted conflict). */
  conflict: RateRecord;
  cost: PhaseCost;
  /** The episodes themselves, only with keepTrajectories. */
  trajectories?: Trajectory[];
}

/**
 * Options of `evaluateAgent`: act mode (default "greedy"), seed, temperature, and whether to keep
 * the trajectories.
 */
export interface EvaluateOptions {
  mode?: ActMode;
  seed?: Seed;
  temperature?: number;
  keepTrajectories?: boolean;
}

function rates(trajectories: readonly Trajectory[]): RateRecord {
  const n = trajectories.length;
  if (n === 0) return { n: 0, successRate: NaN, meanScore: NaN };
  return { n, successRate: trajectories.filter((t) => t.success).length / n, meanScore: trajectories.reduce((s, t) => s + t.score, 0) / n };
}

/**
 * Runs `agent` on every task (greedy by default) and returns the success rate, mean score and
 * per-family results (and the trajectories with `keepTrajectories`).
 */
export function evaluateAgent<T extends Task>(env: AgentEnv<T>, agent: Agent, tasks: readonly T[], options: EvaluateOptions = {}): EvaluationResult {
  assertKnownKeys("options", options, ["mode", "seed", "temperature", "keepTrajectories"]);
  const mode = options.mode ?? "greedy";
  assertOneOf("options.mode", String(mode), ACT_MODES);
  const seed = options.seed ?? 0;
  assertSeed("options.seed", seed);
  const run = runEpisodesBatched(env, tasks, agent, { mode, seed, ...(options.temperature !== undefined ? { temperature: options.temperature } : {}), phase: "evaluate" });
  const all = run.trajectories as Trajectory[];
  const overall = rates(all);
  const perFamily: Record<string, RateRecord> = {};
  for (const family of env.families) {
    const of = all.filter((t) => t.task.family === family);
    if (of.length > 0) perFamily[family] = rates(of);
  }
  const splits = new Set(tasks.map((t) => t.split));
  const result: EvaluationResult = {
    agent: agent.name,
    env: env.name,
    split: splits.size === 1 ? [...splits][0] : "mixed",
    mode,
    seed,
    episodes: all.length,
    successRate: overall.successRate,
    meanScore: overall.meanScore,
    meanSteps: run.cost.envSteps / all.length,
    envSteps: run.cost.envSteps,
    forwardTokens: run.cost.forwardTokens,
    seconds: run.cost.seconds,
    perFamily,
    regular: rates(all.filter((t) => !t.task.conflict)),
    conflict: rates(all.filter((t) => t.task.conflict)),
    cost: run.cost,
  };
  if (options.keepTrajectories === true) result.trajectories = all;
  return result;
}

/** One row per family plus "all": ready for a DataFrame / displayTable. */
export function perFamilyRows(result: EvaluationResult): Array<{ agent: string; split: string; family: string } & RateRecord> {
  const base = { agent: result.agent, split: result.split };
  return [
    ...Object.entries(result.perFamily).map(([family, r]) => ({ ...base, family, ...r })),
    { ...base, family: "all", n: result.episodes, successRate: result.successRate, meanScore: result.meanScore },
  ];
}

/** One row of `summariseSeeds`: a metric's mean, std, min and max across seeds. */
export interface SeedSummaryRow {
  metric: string;
  mean: number;
  /** Sample standard deviation across seeds (n − 1 in the denominator; 0 for a single seed). */
  std: number;
  n: number;
  min: number;
  max: number;
}

const SUMMARY_METRICS = ["successRate", "meanScore", "meanSteps", "envSteps", "forwardTokens", "seconds"] as const;

/**
 * mean ± std of each metric across results (e.g. one arm, three training seeds): the overall
 * metrics, then `regular.successRate`, `conflict.successRate` and `perFamily.<family>.successRate`.
 * Metrics missing (or NaN) in some result are summarised over the results that have them.
 */
export function summariseSeeds(results: readonly EvaluationResult[]): SeedSummaryRow[] {
  if (!Array.isArray(results)) throw new InvalidArgumentError("results", "an array of evaluateAgent results", results);
  if (results.length === 0) throw new EmptyInputError("results", "at least one evaluation result");
  const columns = new Map<string, number[]>();
  const add = (metric: string, value: number) => { if (Number.isFinite(value)) columns.set(metric, [...(columns.get(metric) ?? []), value]); };
  results.forEach((r, i) => {
    if (r === null || typeof r !== "object" || typeof r.successRate !== "number") throw new InvalidArgumentError(`results[${i}]`, "an evaluateAgent result", r);
    for (const m of SUMMARY_METRICS) add(m, r[m]);
    add("regular.successRate", r.regular.successRate);
    add("conflict.successRate", r.conflict.successRate);
    for (const [family, rec] of Object.entries(r.perFamily as Record<string, RateRecord>)) add(`perFamily.${family}.successRate`, rec.successRate);
  });
  return [...columns.entries()].map(([metric, values]) => {
    const n = values.length, mean = values.reduce((a, b) => a + b, 0) / n;
    const std = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
    return { metric, mean, std, n, min: Math.min(...values), max: Math.max(...values) };
  });
}
