/**
 * The contract every agent environment of the PRISM study (MiniALF, MiniShop) follows.
 *
 * A `Task` is plain JSON data: the instruction, what it asks for (`goal`, the structured form of
 * the instruction text) and the hidden initial state (`world`). Tasks can be stored, shipped and
 * replayed; `env.reset(task)` rebuilds the same episode from them every time. `conflict` is the
 * ground-truth label of the planted conflict: true when the task violates the regularity that
 * holds in the pre-training distribution (see each env's header for what that regularity is).
 *
 * Strategy: generate task sets with `env.generateTasks`, drive episodes with `runEpisode`
 * (episode.ts) and a `Policy`, turn trajectories into token sequences with `Tokenizer`
 * (tokenizer.ts). Experts (experts.ts) see only `task.goal` (and `task.detour`, a length-matched
 * control) and the observations, never `world`.
 */

import type { Seed } from "../random";

/**
 * Task splits: "train", "seen" (held-in compositions, new instances) and "unseen" (held-out
 * compositions).
 */
export const SPLITS = ["train", "seen", "unseen"] as const;
/** A task split; see SPLITS. */
export type Split = (typeof SPLITS)[number];

/** The environments `createEnv` knows. */
export const ENV_NAMES = ["minialf", "minishop"] as const;
/** An environment `createEnv` knows; see ENV_NAMES. */
export type EnvName = (typeof ENV_NAMES)[number];

/**
 * A task: a reproducible id, env, split, family, instruction, whether (and which) conflict is
 * planted, an optional detour, the goal and the starting world.
 */
export interface Task<Goal = unknown, World = unknown> {
  /** Unique and reproducible: `<env>/<split>/<seed>/<index>`. */
  readonly id: string;
  readonly env: EnvName;
  readonly split: Split;
  readonly family: string;
  readonly instruction: string;
  /** True when this task violates the regularity of the pre-training distribution. */
  readonly conflict: boolean;
  /** Which regularity is violated (null when `conflict` is false). */
  readonly conflictKind: string | null;
  /**
   * Present only on REGULAR tasks generated with `detourFraction` > 0: the expert demonstration
   * takes a harmless detour that makes it as long as a conflict demonstration (a length-matched
   * control for the PRISM probe; see `TaskDetour`). Absent otherwise, so tasks generated without
   * the option are unchanged.
   */
  readonly detour?: TaskDetour;
  /** What the instruction asks for, structured. With `detour`, the only task fields an expert may read. */
  readonly goal: Goal;
  /** Hidden initial state; only the environment reads it. */
  readonly world: World;
}

/**
 * A harmless detour in a regular task's expert demonstration; the task stays regular
 * (`conflict` false) and is still solved. The environment ignores it; only the expert reads it.
 *  - MiniShop "wrong-size-first": on the target's page the expert first chooses `targets[0]`
 *    (a size the target offers that is not the requested one), then the requested size: 5 steps,
 *    like a page-two conflict (21 action tokens against the conflict's 22).
 *  - MiniALF "look-first": before going to the object's home place the expert looks into
 *    `targets` in order (go to each, open it if it is closed) — the places a search for a
 *    misplaced object would have visited, drawn as a misplacement is drawn; for Heat tasks one
 *    open surface (1 step, like the broken microwave's walk on to the stove).
 * Nothing in the instruction or observations announces it, so a policy cannot predict it: use
 * detour demonstrations as probe controls, not as SFT data you expect to be imitated exactly.
 */
export interface TaskDetour {
  readonly kind: "wrong-size-first" | "look-first";
  /** MiniShop: [the wrong size chosen first]. MiniALF: the places looked into before home, in order. */
  readonly targets: readonly string[];
}

/**
 * Options of `generateTasks`: split, count, seed, the share of planted-conflict tasks, families and
 * the share of regular tasks with a detour.
 */
export interface GenerateTasksOptions {
  split: Split;
  /** Number of tasks, a positive integer. */
  count: number;
  seed: Seed;
  /** Fraction of conflict tasks in [0, 1]; exactly round(count × fraction) are conflicts. Default 0. */
  conflictFraction?: number;
  /** Restrict to these task families (default: all, balanced). */
  families?: readonly string[];
  /**
   * Fraction of the REGULAR tasks, in [0, 1], that carry a length-matching detour (`Task.detour`);
   * exactly round(regular count × fraction). Default 0. Which tasks, labels and content are the
   * same as without the option, except that a MiniShop detour task's target may offer one more size.
   */
  detourFraction?: number;
}

/**
 * Details of one step: whether the action was admissible, success and score, and whether the
 * horizon cut the episode.
 */
export interface StepInfo {
  /** False when the action was not in the admissible set (the step still counts). */
  admissible: boolean;
  /** Whether the task is solved (MiniALF) or the purchase was a full match (MiniShop). */
  success?: boolean;
  /** Task score on a 0–100 scale: MiniALF 100·success, MiniShop the WebShop-style score. */
  score?: number;
  /** True when this step ended the episode only because the horizon was reached. */
  truncated?: boolean;
}

/** What `Episode.step` returns: the next observation, reward, done and step info. */
export interface StepResult {
  observation: string;
  reward: number;
  done: boolean;
  info: StepInfo;
}

/** One running episode: `step(action)` until done. */
export interface Episode<T extends Task = Task> {
  readonly task: T;
  /** The current observation (after reset: the opening observation). */
  readonly observation: string;
  readonly done: boolean;
  readonly stepCount: number;
  readonly horizon: number;
  /** Templated action strings that make sense in the current state, in a fixed order. */
  admissibleActions(): string[];
  step(action: string): StepResult;
}

/**
 * An environment for agents: draws seeded tasks (`generateTasks`), starts episodes (`reset`) and
 * lists its vocabulary (`vocabularyWords`).
 */
export interface AgentEnv<T extends Task = Task> {
  readonly name: EnvName;
  /** Maximum steps per episode; reaching it ends the episode with reward 0. */
  readonly horizon: number;
  readonly families: readonly string[];
  generateTasks(options: GenerateTasksOptions): T[];
  reset(task: T): Episode<T>;
  /** Every word any instruction, observation or action of this env can contain. */
  vocabularyWords(): string[];
}

/** One recorded step: what the policy saw, what it did, and what followed. */
export interface TrajectoryStep {
  /** Observation the policy saw before acting. */
  observation: string;
  admissible: string[];
  action: string;
  reward: number;
  /** Whether `action` was admissible. */
  valid: boolean;
}

/** A recorded episode: the task, every step, success and score (0–100). */
export interface Trajectory<T extends Task = Task> {
  task: T;
  steps: TrajectoryStep[];
  /** Observation after the last action (not used by the encoder: no action follows it). */
  finalObservation: string;
  success: boolean;
  score: number;
  /** Total reward. */
  totalReward: number;
  stepCount: number;
  /** True when the episode ended because the horizon was reached. */
  hitHorizon: boolean;
}

/** A policy maps what the agent can see (and its own past) to one action string. */
export type Policy = (observation: string, admissible: readonly string[], history: readonly TrajectoryStep[]) => string;
/** A policy that may answer asynchronously (for `runEpisodeAsync`). */
export type AsyncPolicy = (observation: string, admissible: readonly string[], history: readonly TrajectoryStep[]) => string | Promise<string>;
