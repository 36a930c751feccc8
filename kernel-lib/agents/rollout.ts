/**
 * GRPO input from an agent: for each task, G sampled episodes → `RolloutSample`s (train/rl-types).
 *
 *   groupId      the task id (GRPO compares the G samples of one task; a task listed twice in
 *                `tasks` makes one group of 2G samples);
 *   reward       "score": score / 100 (MiniALF: 1/0 on success; MiniShop: the WebShop-style
 *                score), or "success": 1/0 on success for both envs;
 *   tokens, actionMask   `tokenizer.encodeTrajectory(trajectory, contextLength)` — its lossMask
 *                is exactly the action tokens, so RL raises the likelihood of the chosen actions;
 *   tokenStep    for each token the index of the trajectory step whose action it belongs to
 *                (from the encoding's actionSpans), −1 off the action tokens;
 *   stepStateKeys for each step, a hash of what the agent could see there: the observation and
 *                the admissible actions (the observation alone is ambiguous in MiniALF: "fridge
 *                has egg" reads the same whether you hold something or not; the admissible set
 *                differs). Hidden state (object temperature, history) is not in the key, so two
 *                steps share a key when they LOOK the same — GiGPO's anchor-state notion. Keys
 *                are meant to be compared within one group (the trainer pairs them with groupId);
 *   stepReturns  the discounted return of the terminal reward from each step:
 *                γ^(n−1−t) · reward for step t of n (both envs pay only at the end).
 *
 * Caveat: when a trajectory is longer than contextLength, encodeTrajectory drops its oldest steps
 * (their actions get no mask) and the kept actions see less history than the policy saw when it
 * acted (encodeContext kept more). `stats.truncatedSamples` counts such samples: keep it at 0 by
 * choosing contextLength (MiniALF expert episodes fit 128; long failing episodes may not).
 */

import { assertKnownKeys, assertOneOf, EmptyInputError, InvalidArgumentError } from "../errors";
import type { Seed } from "../random";
import type { PhaseCost, RolloutSample } from "../train/rl-types";
import type { Tokenizer } from "../envs/tokenizer";
import type { AgentEnv, Task, Trajectory } from "../envs/types";
import { runEpisodesBatched } from "./episodes";
import { Agent, assertSeed } from "./types";

/**
 * Which reward a rollout sample carries: "score" (the env's 0–100 score / 100) or "success" (1 or
 * 0).
 */
export const ROLLOUT_REWARDS = ["score", "success"] as const;
/** Which reward a rollout sample carries; see ROLLOUT_REWARDS. */
export type RolloutReward = (typeof ROLLOUT_REWARDS)[number];

/**
 * Options of `collectRollouts`: group size, seed, temperature, discount, reward kind, context
 * length and tokenizer.
 */
export interface RolloutOptions {
  /** Sampled episodes per task (G ≥ 1; GRPO needs ≥ 2 for a non-zero advantage). */
  groupSize: number;
  seed: Seed;
  /** Sampling temperature (default 1). */
  temperature?: number;
  /** Discount of stepReturns (default 0.95). */
  gamma?: number;
  /** Default "score". */
  reward?: RolloutReward;
  /** Encoding length (default: the agent's contextLength; required for agents without one). */
  contextLength?: number;
  /** Tokenizer for the encoding (default: the agent's tokenizer, if it has one). */
  tokenizer?: Tokenizer;
}

/**
 * Statistics of one `collectRollouts` call (episodes, success, reward, groups with signal,
 * truncation).
 */
export interface RolloutStats {
  episodes: number;
  groups: number;
  successRate: number;
  meanScore: number;
  meanReward: number;
  envSteps: number;
  meanSteps: number;
  /** Groups whose rewards are not all equal (the only ones that give GRPO a learning signal). */
  groupsWithSignal: number;
  /** Samples whose encoding dropped old steps to fit contextLength. */
  truncatedSamples: number;
}

/** What `collectRollouts` returns: the GRPO samples, the trajectories and rollout statistics. */
export interface RolloutResult {
  samples: RolloutSample[];
  /** Trajectory i is sample i (task-major: the G episodes of tasks[0] first). */
  trajectories: Trajectory[];
  stats: RolloutStats;
  cost: PhaseCost;
}

const KEYS = ["groupSize", "seed", "temperature", "gamma", "reward", "contextLength", "tokenizer"];

/** Compact key of what is visible at a step (two independent 32-bit FNV-1a variants → 16 hex digits). */
export function stepStateKey(observation: string, admissible: readonly string[]): string {
  const text = `${observation}\u0000${admissible.join("\u0001")}`;
  let h1 = 0x811c9dc5, h2 = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
  }
  return (h1 >>> 0).toString(16).padStart(8, "0") + (h2 >>> 0).toString(16).padStart(8, "0");
}

/** γ^(n−1−t) · reward for t = 0 … n−1. */
export function discountedReturns(stepCount: number, terminalReward: number, gamma: number): number[] {
  return Array.from({ length: stepCount }, (_, t) => terminalReward * Math.pow(gamma, stepCount - 1 - t));
}

/** The reward of a finished trajectory: 1/0 for "success", score/100 for "score". */
export function trajectoryReward(trajectory: Trajectory, reward: RolloutReward): number {
  return reward === "success" ? (trajectory.success ? 1 : 0) : trajectory.score / 100;
}

function rolloutSampleOptionsCheck(gamma: unknown, reward: unknown): void {
  if (typeof gamma !== "number" || !(gamma >= 0 && gamma <= 1)) throw new InvalidArgumentError("options.gamma", "a number in [0, 1]", gamma);
  assertOneOf("options.reward", String(reward), ROLLOUT_REWARDS);
}

/** One RolloutSample from a finished trajectory (see the module header for every field). */
export function rolloutSample(trajectory: Trajectory, tokenizer: Tokenizer, contextLength: number, options: { gamma?: number; reward?: RolloutReward } = {}): { sample: RolloutSample; droppedSteps: number } {
  assertKnownKeys("options", options, ["gamma", "reward"]);
  const gamma = options.gamma ?? 0.95, reward = options.reward ?? "score";
  rolloutSampleOptionsCheck(gamma, reward);
  const encoded = tokenizer.encodeTrajectory(trajectory, contextLength);
  const tokenStep = encoded.tokens.map(() => -1);
  for (const span of encoded.actionSpans) for (let t = span.start; t < span.end; t++) tokenStep[t] = span.step;
  const value = trajectoryReward(trajectory, reward);
  return {
    sample: {
      groupId: trajectory.task.id,
      reward: value,
      tokens: encoded.tokens,
      actionMask: encoded.lossMask,
      tokenStep,
      stepStateKeys: trajectory.steps.map((s) => stepStateKey(s.observation, s.admissible)),
      stepReturns: discountedReturns(trajectory.stepCount, value, gamma),
    },
    droppedSteps: encoded.droppedSteps,
  };
}

/**
 * GRPO rollouts: runs `options.groupSize` seeded episodes of `agent` per task and returns the
 * samples (tokens, action mask, reward, group id) that `train.computeAdvantages` / `train.grpoStep`
 * take, with the trajectories.
 */
export function collectRollouts<T extends Task>(env: AgentEnv<T>, tasks: readonly T[], agent: Agent & { tokenizer?: Tokenizer }, options: RolloutOptions): RolloutResult {
  if (options === null || typeof options !== "object") throw new InvalidArgumentError("options", "an object {groupSize, seed, …}", options);
  assertKnownKeys("options", options, KEYS);
  if (!Array.isArray(tasks) || tasks.length === 0) throw new EmptyInputError("tasks", "at least one task");
  const G = options.groupSize;
  if (!Number.isInteger(G) || G <= 0) throw new InvalidArgumentError("options.groupSize", "a positive integer", G);
  assertSeed("options.seed", options.seed);
  const gamma = options.gamma ?? 0.95, reward = options.reward ?? "score";
  rolloutSampleOptionsCheck(gamma, reward);
  const contextLength = options.contextLength ?? agent.contextLength;
  if (contextLength === undefined) throw new InvalidArgumentError("options.contextLength", `a positive integer (agent "${agent.name}" has no context length of its own)`);
  const tokenizer = options.tokenizer ?? agent.tokenizer;
  if (tokenizer === undefined) throw new InvalidArgumentError("options.tokenizer", `the env's Tokenizer (agent "${agent.name}" has none of its own)`);

  const repeated = tasks.flatMap((t) => Array.from({ length: G }, () => t));
  const run = runEpisodesBatched(env, repeated, agent, { mode: "sample", seed: options.seed, ...(options.temperature !== undefined ? { temperature: options.temperature } : {}), phase: "rollout" });
  const trajectories = run.trajectories as Trajectory[];
  let truncatedSamples = 0;
  const samples = trajectories.map((t, i) => {
    const { sample, droppedSteps } = rolloutSample(t, tokenizer, contextLength, { gamma, reward });
    if (droppedSteps > 0) truncatedSamples++;
    if (run.behaviourLogProbs !== undefined) {
      sample.behaviourLogProbs = run.behaviourLogProbs[i];
      sample.behaviourTemperature = options.temperature ?? 1;
    }
    return sample;
  });
  // By groupId, not by position: a task listed twice is one group of 2G samples.
  const groupRewards = new Map<string, number[]>();
  for (const s of samples) groupRewards.set(s.groupId, [...(groupRewards.get(s.groupId) ?? []), s.reward]);
  const groupsWithSignal = [...groupRewards.values()].filter((rewards) => rewards.some((r) => r !== rewards[0])).length;
  const n = trajectories.length;
  return {
    samples,
    trajectories,
    stats: {
      episodes: n,
      groups: groupRewards.size,
      successRate: trajectories.filter((t) => t.success).length / n,
      meanScore: trajectories.reduce((s, t) => s + t.score, 0) / n,
      meanReward: samples.reduce((s, x) => s + x.reward, 0) / n,
      envSteps: run.cost.envSteps,
      meanSteps: run.cost.envSteps / n,
      groupsWithSignal,
      truncatedSamples,
    },
    cost: run.cost,
  };
}
