/**
 * GRPO (optionally GiGPO) for an agent in an environment: each iteration draws tasks from the RL
 * task pool, samples G episodes per task with the current policy, and takes one grpoStep on them.
 * RL uses the tasks, never the expert's actions. The reference for the KL term is a frozen copy
 * of the policy at the start of this phase (for PRISM arms: the SFT'd policy).
 *
 * Costs: env steps, forward/backward token passes and wall-clock are summed over the phase
 * (rollout scoring + GRPO's own passes), so arms can be compared on compute as well as success.
 */
import { tf } from "../tf";
import { assertKnownKeys, assertOneOf, EmptyInputError, InvalidArgumentError } from "../errors";
import { Rng, Seed, toRng } from "../random";
import type { AgentEnv, Task } from "../envs/types";
import type { PhaseCost } from "../train/rl-types";
import { createReference, grpoStep } from "../train/grpo";
import { collectRollouts, RolloutReward } from "./rollout";
import { evaluateAgent } from "./evaluate";
import { actionGrpoStep } from "./action-grpo";
import type { TransformerAgent } from "./policy";
import { TinyTransformer } from "../models/transformer";

/**
 * Options of `trainAgentGrpo`: iterations, tasks and samples per iteration, learning rate, KL and
 * clip settings, reward, objective and evaluation schedule.
 */
export interface AgentGrpoOptions<T extends Task> {
  iterations: number;
  tasksPerIteration: number;
  groupSize: number;
  learningRate: number;
  seed: Seed | Rng;
  klBeta?: number;
  clipEpsilon?: number;
  ppoEpochs?: number;
  temperature?: number;
  reward?: RolloutReward;
  /** GiGPO-style step-level advantages on top of the episode-level ones. */
  stepLevel?: boolean;
  /**
   * What the ratio, clip and KL are taken on (default "tokens"): "tokens" = the chosen actions'
   * token log-likelihoods (GRPO as LLM agents run it, train/grpo.ts); "actions" = log π(a | s), the
   * softmax over admissible actions this agent actually samples from (action-grpo.ts).
   */
  objective?: AgentGrpoObjective;
  /** Episodes per optimizer step (default: the whole iteration's batch). */
  minibatchSize?: number;
  /** Evaluate greedily on these tasks every `evalEvery` iterations (and at the end). */
  evalTasks?: readonly T[];
  evalEvery?: number;
  onIteration?: (point: GrpoCurvePoint) => void;
  /**
   * Caller-owned optimizer and KL reference (neither disposed here). By default each call starts a
   * fresh Adam and freezes the policy as it is now as the reference; a phase run in rounds (the
   * stepwise arms) passes both so the rounds are one RL run with one anchor.
   */
  optimizer?: tf.Optimizer;
  reference?: TinyTransformer;
}

/**
 * One iteration of `trainAgentGrpo`: rollout success and reward, groups with signal, truncated
 * samples, loss, KL and (when evaluated) greedy success.
 */
export interface GrpoCurvePoint {
  iteration: number;
  rolloutSuccess: number;
  rolloutReward: number;
  groupsWithSignal: number;
  /** Rollouts whose encoding dropped old steps to fit the context (the policy saw less history than it acted on). */
  truncatedSamples: number;
  loss: number | null;
  kl: number | null;
  /** Greedy success on evalTasks, when evaluated at this iteration. */
  evalSuccess?: number;
}

/**
 * What GRPO optimises for an agent: "tokens" (the log-likelihood of every action token) or
 * "actions" (the log-probability of each chosen action among the admissible ones).
 */
export const AGENT_GRPO_OBJECTIVES = ["tokens", "actions"] as const;
/** What the ratio, clip and KL are taken on; see AGENT_GRPO_OBJECTIVES. */
export type AgentGrpoObjective = (typeof AGENT_GRPO_OBJECTIVES)[number];

/** What `trainAgentGrpo` returns: one curve point per iteration and the cost counters. */
export interface AgentGrpoResult {
  curve: GrpoCurvePoint[];
  cost: PhaseCost;
}

const KEYS = ["iterations", "tasksPerIteration", "groupSize", "learningRate", "seed", "klBeta", "clipEpsilon", "ppoEpochs",
  "temperature", "reward", "stepLevel", "objective", "minibatchSize", "evalTasks", "evalEvery", "onIteration", "optimizer", "reference"];

/**
 * What the loop would otherwise meet only later — a bad task drawn in iteration 7, evaluation
 * tasks reached after the last iteration, a step option first read by the first grpoStep — is
 * checked before the first rollout, so a bad input stops the call before any weight moves.
 */
function checkBeforeFirstStep<T extends Task>(env: AgentEnv<T>, taskPool: readonly T[], options: AgentGrpoOptions<T>): void {
  const finite = (name: keyof AgentGrpoOptions<T>, v: unknown, positive: boolean) => {
    if (v === undefined) return;
    if (typeof v !== "number" || !Number.isFinite(v) || (positive ? !(v > 0) : !(v >= 0))) throw new InvalidArgumentError(`options.${name}`, positive ? "a finite number > 0" : "a finite number ≥ 0", v);
  };
  finite("learningRate", options.learningRate, true);
  finite("klBeta", options.klBeta, false);
  finite("clipEpsilon", options.clipEpsilon, false);
  finite("temperature", options.temperature, true);
  for (const key of ["ppoEpochs", "minibatchSize"] as const) {
    const v = options[key];
    if (v !== undefined && (!Number.isInteger(v) || v <= 0)) throw new InvalidArgumentError(`options.${key}`, "a positive integer", v);
  }
  if (options.onIteration !== undefined && typeof options.onIteration !== "function") throw new InvalidArgumentError("options.onIteration", "a function (point)", options.onIteration);
  if (options.evalTasks !== undefined && !Array.isArray(options.evalTasks)) throw new InvalidArgumentError("options.evalTasks", "an array of tasks", options.evalTasks);
  const checkTasks = (argument: string, tasks: readonly T[]) => tasks.forEach((task, i) => {
    try {
      env.reset(task);
    } catch (error) {
      throw new InvalidArgumentError(`${argument}[${i}]`, `a task env ${env.name} accepts (${(error as Error).message})`);
    }
  });
  checkTasks("taskPool", taskPool);
  if (options.evalTasks !== undefined) checkTasks("options.evalTasks", options.evalTasks);
}

/**
 * GRPO on an agent in an env: rounds of rollouts on tasks drawn from `taskPool`, group-normalised
 * advantages and a clipped policy-gradient step; returns the curves and cost counters.
 */
export function trainAgentGrpo<T extends Task>(env: AgentEnv<T>, agent: TransformerAgent, taskPool: readonly T[], options: AgentGrpoOptions<T>): AgentGrpoResult {
  assertKnownKeys("options", options, KEYS);
  if (taskPool.length === 0) throw new EmptyInputError("taskPool", "at least one RL task");
  for (const key of ["iterations", "tasksPerIteration", "groupSize"] as const) {
    const v = options[key];
    if (!Number.isInteger(v) || v <= 0) throw new InvalidArgumentError(`options.${key}`, "a positive integer", v);
  }
  if (options.evalEvery !== undefined && (!Number.isInteger(options.evalEvery) || options.evalEvery <= 0)) {
    throw new InvalidArgumentError("options.evalEvery", "a positive integer", options.evalEvery);
  }
  const objective = options.objective ?? "tokens";
  assertOneOf("options.objective", String(objective), AGENT_GRPO_OBJECTIVES);
  checkBeforeFirstStep(env, taskPool, options);
  const rng = toRng(options.seed).derive("agent-grpo");
  if (options.optimizer !== undefined && !(options.optimizer instanceof tf.Optimizer)) throw new InvalidArgumentError("options.optimizer", "a tf.Optimizer", options.optimizer);
  if (options.reference !== undefined && !(options.reference instanceof TinyTransformer)) throw new InvalidArgumentError("options.reference", "a TinyTransformer (the frozen KL anchor)", options.reference);
  const reference = options.reference ?? createReference(agent.model);
  const optimizer = options.optimizer ?? tf.train.adam(options.learningRate);
  const cost: PhaseCost = { phase: "rl", seconds: 0, forwardTokens: 0, backwardTokens: 0, optimizerSteps: 0, envSteps: 0 };
  const curve: GrpoCurvePoint[] = [];
  const started = Date.now();
  // Walk the pool in shuffled passes so every RL task is used before any repeats.
  let order: number[] = [];
  let pass = 0;
  const nextTasks = (): T[] => {
    const out: T[] = [];
    while (out.length < options.tasksPerIteration) {
      if (order.length === 0) order = rng.derive("pass", pass++).shuffle(taskPool.map((_, i) => i));
      out.push(taskPool[order.shift()!]);
    }
    return out;
  };
  const evaluate = (): number => {
    const result = evaluateAgent(env, agent, options.evalTasks!, { mode: "greedy" });
    cost.envSteps += result.envSteps;
    cost.forwardTokens += result.forwardTokens;
    return result.successRate;
  };
  try {
    for (let iteration = 1; iteration <= options.iterations; iteration++) {
      const rollouts = collectRollouts(env, nextTasks(), agent, {
        groupSize: options.groupSize, seed: rng.derive("rollouts", iteration).tfSeed(),
        temperature: options.temperature, reward: options.reward,
      });
      cost.envSteps += rollouts.cost.envSteps;
      cost.forwardTokens += rollouts.cost.forwardTokens;
      let loss: number | null = null, kl: number | null = null;
      // Groups whose rewards are all equal carry no GRPO signal; a batch of only those is skipped.
      if (rollouts.stats.groupsWithSignal > 0) {
        const common = {
          optimizer, klBeta: options.klBeta, clipEpsilon: options.clipEpsilon, ppoEpochs: options.ppoEpochs,
          stepLevel: options.stepLevel, minibatchSize: options.minibatchSize, seed: rng.derive("minibatch", iteration),
        };
        const step = objective === "actions"
          ? actionGrpoStep(agent, reference, rollouts.trajectories, rollouts.samples, { ...common, temperature: options.temperature })
          : grpoStep(agent.model, reference, rollouts.samples, common);
        loss = step.loss; kl = step.kl;
        cost.forwardTokens += step.cost.forwardTokens;
        cost.backwardTokens += step.cost.backwardTokens;
        cost.optimizerSteps += step.cost.optimizerSteps;
      }
      const point: GrpoCurvePoint = {
        iteration, rolloutSuccess: rollouts.stats.successRate, rolloutReward: rollouts.stats.meanReward,
        groupsWithSignal: rollouts.stats.groupsWithSignal, truncatedSamples: rollouts.stats.truncatedSamples, loss, kl,
      };
      const evalDue = options.evalTasks !== undefined && options.evalTasks.length > 0 &&
        (iteration === options.iterations || (options.evalEvery !== undefined && iteration % options.evalEvery === 0));
      if (evalDue) point.evalSuccess = evaluate();
      curve.push(point);
      options.onIteration?.(point);
    }
  } finally {
    if (options.optimizer === undefined) optimizer.dispose();
    if (options.reference === undefined) reference.dispose();
    cost.seconds = (Date.now() - started) / 1000;
  }
  return { curve, cost };
}
