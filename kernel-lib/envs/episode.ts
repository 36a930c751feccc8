/**
 * Running a policy through one episode and recording the trajectory.
 *
 * Use `runEpisode` for synchronous policies (experts, random, a model that reads tensors with
 * dataSync) and `runEpisodeAsync` when the policy awaits. Both stop when the episode reports done
 * (success, a MiniShop purchase, or the horizon), so a trajectory always has 1..horizon steps.
 * The history handed to the policy is the steps so far; the policy must not mutate it.
 */

import { InvalidArgumentError } from "../errors";
import { Rng, Seed } from "../random";
import { AgentEnv, AsyncPolicy, Episode, Policy, StepResult, Task, Trajectory, TrajectoryStep } from "./types";

/**
 * Runs one episode of `env` on `task` with a synchronous policy until done or the horizon; returns
 * the recorded trajectory (observations, actions, rewards, success, score).
 */
export function runEpisode<T extends Task>(env: AgentEnv<T>, task: T, policy: Policy): Trajectory<T> {
  if (typeof policy !== "function") throw new InvalidArgumentError("policy", "a function (observation, admissible, history) => action", policy);
  const episode = env.reset(task);
  const steps: TrajectoryStep[] = [];
  let last: StepResult | null = null;
  while (!episode.done) {
    const observation = episode.observation, admissible = episode.admissibleActions();
    const action = policy(observation, admissible, steps);
    last = record(episode, steps, observation, admissible, action);
  }
  return finish(task, steps, episode, last);
}

/** `runEpisode` for a policy that returns a Promise (e.g. one backed by a worker or a remote model). */
export async function runEpisodeAsync<T extends Task>(env: AgentEnv<T>, task: T, policy: AsyncPolicy): Promise<Trajectory<T>> {
  if (typeof policy !== "function") throw new InvalidArgumentError("policy", "a function (observation, admissible, history) => action", policy);
  const episode = env.reset(task);
  const steps: TrajectoryStep[] = [];
  let last: StepResult | null = null;
  while (!episode.done) {
    const observation = episode.observation, admissible = episode.admissibleActions();
    const action = await policy(observation, admissible, steps);
    last = record(episode, steps, observation, admissible, action);
  }
  return finish(task, steps, episode, last);
}

function record(episode: Episode, steps: TrajectoryStep[], observation: string, admissible: string[], action: unknown): StepResult {
  if (typeof action !== "string") throw new InvalidArgumentError("policy result", "an action string", action);
  const result = episode.step(action);
  steps.push({ observation, admissible, action, reward: result.reward, valid: result.info.admissible });
  return result;
}

function finish<T extends Task>(task: T, steps: TrajectoryStep[], episode: Episode, last: StepResult | null): Trajectory<T> {
  const success = last?.info.success ?? false;
  return {
    task,
    steps,
    finalObservation: episode.observation,
    success,
    score: last?.info.score ?? 0,
    totalReward: steps.reduce((sum, s) => sum + s.reward, 0),
    stepCount: steps.length,
    hitHorizon: last?.info.truncated === true,
  };
}

/** Uniformly random admissible actions from a seeded stream: the "no knowledge" baseline. */
export function randomPolicy(seed: Seed): Policy {
  const rng = new Rng(seed).derive("random-policy");
  return (_observation, admissible) => rng.choice(admissible);
}
