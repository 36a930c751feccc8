/**
 * The agent contract shared by the expert, the random baseline and the transformer policy, and by
 * the drivers that run them (batched episodes, rollouts, evaluation).
 *
 * An agent decides for MANY episodes at once (`act(steps)`), because the transformer scores all
 * candidates of all waiting episodes in one forward batch; the drivers step episodes in lockstep
 * and hand the agent every episode's current step. A single-episode `Policy` for envs'
 * `runEpisode` is `agentPolicy(agent, task, …)` (policy.ts).
 *
 * Randomness is stateless: a stochastic choice at step s of episode e draws from the stream
 * `Rng(seed).derive(<agent label>, task.id, e, s)`. So a choice depends only on (seed, task,
 * episode index, step index, what the agent sees), never on how many other episodes run next to
 * it or in which order — a batched run equals the same episodes run one by one.
 */

import { assertKnownKeys, assertOneOf, InvalidArgumentError } from "../errors";
import type { Seed } from "../random";
import type { Task, TrajectoryStep } from "../envs/types";

/** The act modes an agent accepts: "greedy" (evaluation) or "sample" (rollouts). */
export const ACT_MODES = ["greedy", "sample"] as const;
/** greedy: the most likely admissible action (evaluation); sample: draw from the policy (rollouts). */
export type ActMode = (typeof ACT_MODES)[number];

/** What an agent sees of one episode at the moment it must act. */
export interface AgentStep {
  task: Task;
  observation: string;
  admissible: readonly string[];
  /** The episode's steps so far (read only). */
  history: readonly TrajectoryStep[];
  /** Index of the episode in its run (distinguishes the G samples of one task in a group). */
  episodeIndex: number;
  /** Number of steps already taken in this episode (= history.length). */
  stepIndex: number;
}

/** How an agent acts on one call: mode, seed and sampling temperature. */
export interface ActOptions {
  mode: ActMode;
  /** Seeds every stochastic choice (see the module header). */
  seed: Seed;
  /** Softmax temperature for mode "sample" (default 1); ignored by greedy choice. */
  temperature?: number;
}

/**
 * What `Agent.act` returns: one action per episode step given, in order, with the forward cost (and
 * log-probabilities when sampled).
 */
export interface ActResult {
  /** One action per step, in order. */
  actions: string[];
  /** Token positions pushed through forward passes to decide (0 for agents without a model). */
  forwardTokens: number;
  /** Forward passes (batches) run to decide. */
  forwardPasses: number;
  /**
   * In mode "sample", agents that know their distribution return log π(action | step) of each
   * chosen action at the sampling temperature (the behaviour log-probabilities RL reuses).
   */
  logProbs?: number[];
}

/**
 * An agent that acts in an AgentEnv: given the current steps of one or more episodes, it picks one
 * admissible action for each.
 */
export interface Agent {
  /** Short label for tables ("expert", "random", "transformer"). */
  readonly name: string;
  /** Context length of the agent's token view, if it has one (used to encode rollouts). */
  readonly contextLength?: number;
  act(steps: readonly AgentStep[], options: ActOptions): ActResult;
}

const ACT_KEYS = ["mode", "seed", "temperature"];

/** Validates act options and fills the default temperature. */
export function resolveActOptions(options: ActOptions): Required<ActOptions> {
  if (options === null || typeof options !== "object") throw new InvalidArgumentError("options", "an object {mode, seed, temperature?}", options);
  assertKnownKeys("options", options, ACT_KEYS);
  assertOneOf("options.mode", String(options.mode), ACT_MODES);
  assertSeed("options.seed", options.seed);
  const temperature = options.temperature ?? 1;
  if (typeof temperature !== "number" || !Number.isFinite(temperature) || temperature <= 0) {
    throw new InvalidArgumentError("options.temperature", "a finite number > 0", temperature);
  }
  return { mode: options.mode, seed: options.seed, temperature };
}

/** Throws InvalidArgumentError naming `argument` unless `seed` is a finite number or a string. */
export function assertSeed(argument: string, seed: unknown): asserts seed is Seed {
  if (!(typeof seed === "string" || (typeof seed === "number" && Number.isFinite(seed)))) {
    throw new InvalidArgumentError(argument, "a finite number or a string", seed);
  }
}
