/**
 * Running many episodes in lockstep: at every round, every episode that is not done shows its
 * current step to the agent, the agent decides for all of them in ONE `act` call (for the
 * transformer: all candidates of all episodes in one chunked forward batch), then every episode
 * takes its action. Episodes that finish drop out of the next rounds.
 *
 * Use `runEpisodesBatched` for evaluation and rollouts (tens to hundreds of episodes): per-step
 * model overhead is paid once per round instead of once per episode. Trajectories are the same
 * records envs' `runEpisode` builds, and — because agents draw from stateless per-step streams
 * (types.ts) — the same actions as running each episode alone with `agentPolicy`.
 */

import { EmptyInputError, InvalidArgumentError } from "../errors";
import type { PhaseCost } from "../train/rl-types";
import type { AgentEnv, Episode, StepResult, Task, Trajectory, TrajectoryStep } from "../envs/types";
import { ActOptions, Agent, AgentStep, resolveActOptions } from "./types";

/**
 * What `runEpisodesBatched` returns: one trajectory per task, the cost, forward passes, rounds and
 * throughput.
 */
export interface BatchedRunResult<T extends Task = Task> {
  /** One trajectory per task, in the tasks' order. */
  trajectories: Trajectory<T>[];
  /** phase "episodes": wall-clock, forward token positions, env steps (no backward/optimizer). */
  cost: PhaseCost;
  /** Forward batches run by the agent. */
  forwardPasses: number;
  /** Lockstep rounds (= the longest episode's step count). */
  rounds: number;
  /** Environment steps per second of wall-clock (acting + env). */
  stepsPerSecond: number;
  /** Per trajectory and step, log π of the action taken, when the agent reported it at every step (see ActResult.logProbs). */
  behaviourLogProbs?: number[][];
}

interface Running<T extends Task> { task: T; episode: Episode<T>; steps: TrajectoryStep[]; last: StepResult | null; logProbs: number[] }

/** Options of `runEpisodesBatched`: how the agent acts, plus the label of the cost record. */
export interface BatchedRunOptions extends ActOptions {
  /** Label of the cost record (default "episodes"; evaluation and rollouts set their own). */
  phase?: string;
}

/**
 * Runs one episode per task in lockstep: at every step the agent scores all live episodes'
 * candidate actions in one batched call (far fewer forward passes than one episode at a time).
 */
export function runEpisodesBatched<T extends Task>(env: AgentEnv<T>, tasks: readonly T[], agent: Agent, options: BatchedRunOptions): BatchedRunResult<T> {
  if (env === null || typeof env !== "object" || typeof env.reset !== "function") throw new InvalidArgumentError("env", "an AgentEnv (createMiniAlf / createMiniShop)", env);
  if (!Array.isArray(tasks)) throw new InvalidArgumentError("tasks", "an array of tasks from env.generateTasks", tasks);
  if (tasks.length === 0) throw new EmptyInputError("tasks", "at least one task");
  if (agent === null || typeof agent !== "object" || typeof agent.act !== "function") throw new InvalidArgumentError("agent", "an Agent (TransformerAgent, randomAgent, expertAgent)", agent);
  if (options === null || typeof options !== "object") throw new InvalidArgumentError("options", "an object {mode, seed, temperature?, phase?}", options);
  const { phase = "episodes", ...actOptions } = options;
  if (typeof phase !== "string") throw new InvalidArgumentError("options.phase", "a string", phase);
  const act = resolveActOptions(actOptions);
  const started = Date.now();
  const running: Running<T>[] = tasks.map((task) => ({ task, episode: env.reset(task), steps: [], last: null, logProbs: [] }));
  let everyStepLogged = true;
  let forwardTokens = 0, forwardPasses = 0, envSteps = 0, rounds = 0;
  for (;;) {
    const active = running.map((r, index) => ({ r, index })).filter(({ r }) => !r.episode.done);
    if (active.length === 0) break;
    const views: AgentStep[] = active.map(({ r, index }) => ({
      task: r.task, observation: r.episode.observation, admissible: r.episode.admissibleActions(), history: r.steps, episodeIndex: index, stepIndex: r.steps.length,
    }));
    const decided = agent.act(views, act);
    if (!Array.isArray(decided.actions) || decided.actions.length !== views.length) {
      throw new InvalidArgumentError("agent.act", `one action per step (${views.length})`, decided.actions);
    }
    const logged = Array.isArray(decided.logProbs) && decided.logProbs.length === views.length;
    everyStepLogged &&= logged;
    forwardTokens += decided.forwardTokens;
    forwardPasses += decided.forwardPasses;
    active.forEach(({ r }, i) => {
      const action = decided.actions[i];
      if (typeof action !== "string") throw new InvalidArgumentError("agent.act actions", "action strings", action);
      const result = r.episode.step(action);
      r.steps.push({ observation: views[i].observation, admissible: views[i].admissible as string[], action, reward: result.reward, valid: result.info.admissible });
      r.last = result;
      if (logged) r.logProbs.push((decided.logProbs as number[])[i]);
    });
    envSteps += active.length;
    rounds += 1;
  }
  const seconds = (Date.now() - started) / 1000;
  const result: BatchedRunResult<T> = {
    trajectories: running.map((r) => toTrajectory(r)),
    cost: { phase, seconds, forwardTokens, backwardTokens: 0, optimizerSteps: 0, envSteps },
    forwardPasses,
    rounds,
    stepsPerSecond: seconds > 0 ? envSteps / seconds : Infinity,
  };
  if (everyStepLogged) result.behaviourLogProbs = running.map((r) => r.logProbs);
  return result;
}

/** The same record envs' runEpisode returns (kept field for field, so the two compare equal). */
function toTrajectory<T extends Task>(r: Running<T>): Trajectory<T> {
  return {
    task: r.task,
    steps: r.steps,
    finalObservation: r.episode.observation,
    success: r.last?.info.success ?? false,
    score: r.last?.info.score ?? 0,
    totalReward: r.steps.reduce((sum, s) => sum + s.reward, 0),
    stepCount: r.steps.length,
    hitHorizon: r.last?.info.truncated === true,
  };
}
