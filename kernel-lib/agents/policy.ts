/**
 * Agents: the tiny-transformer policy, the uniform random baseline and the expert planner, all
 * behind the batched `Agent` contract (types.ts), plus `agentPolicy` to drive any of them through
 * envs' single-episode `runEpisode`.
 *
 * The transformer policy's distribution over the admissible actions A(s) of a state is
 *
 *     π(a | s) = softmax_{a ∈ A(s)} ( log p_θ(a | ctx(s)) / temperature ),
 *
 * "softmax over admissible actions of the sequence log-likelihood": log p_θ(a | ctx) is the
 * model's summed log-probability of the action's tokens, teacher-forced after the context that
 * `tokenizer.encodeContext` builds (<bos> instruction, recent steps, <obs> observation <act>).
 * Greedy mode takes the argmax (evaluation), sample mode draws from π (rollouts). RL training
 * (GRPO) raises the likelihood of the chosen actions' tokens (the rollouts' actionMask), which
 * raises their score and so their probability under π; SFT does the same for expert actions.
 * Actions are scored without an end marker: the env's action templates are prefix-free, and the
 * softmax over the admissible set normalises anyway.
 *
 * Use `TransformerAgent` for a trained model, `randomAgent(seed)` as the no-knowledge baseline,
 * `expertAgent()` for the planner (reads only the task's goal and the observations).
 */

import { assertKnownKeys, assertOneOf, InvalidArgumentError } from "../errors";
import { Rng, Seed } from "../random";
import { expertPolicy } from "../envs/experts";
import type { Tokenizer } from "../envs/tokenizer";
import type { Policy, Task } from "../envs/types";
import type { TinyTransformer } from "../models/transformer";
import { argmax, CandidateQuery, DEFAULT_MAX_ROWS_PER_FORWARD, SCORING_STRATEGIES, ScoringStrategy, scoreCandidates, softmaxWithTemperature } from "./scoring";
import { ActOptions, ActResult, Agent, AgentStep, assertSeed, resolveActOptions } from "./types";

/**
 * Options of TransformerAgent: context length, candidate-scoring strategy and rows per forward
 * pass.
 */
export interface TransformerAgentOptions {
  /** Tokens of context the policy sees, candidate action included (default: the model's maxLen). */
  contextLength?: number;
  /** Candidate rows per forward batch when scoring (memory vs. per-call overhead; default 256). */
  maxRowsPerForward?: number;
  /** How candidates are scored (scoring.ts); both exact. Default "shared-prefix" (fast). */
  scoring?: ScoringStrategy;
}

/** The stream for a stochastic choice: a pure function of (seed, label, task, episode, step). */
export function stepStream(seed: Seed, label: string, step: Pick<AgentStep, "task" | "episodeIndex" | "stepIndex">): Rng {
  return new Rng(seed).derive(label, step.task.id, step.episodeIndex, step.stepIndex);
}

/**
 * The tiny-transformer policy: a softmax over the admissible actions of their sequence
 * log-likelihood given the episode so far (truncated to `contextLength` tokens). `act` picks
 * greedily or samples.
 */
export class TransformerAgent implements Agent {
  readonly name = "transformer";
  readonly contextLength: number;
  readonly maxRowsPerForward: number;
  readonly scoring: ScoringStrategy;

  constructor(readonly model: TinyTransformer, readonly tokenizer: Tokenizer, options: TransformerAgentOptions = {}) {
    if (model === null || typeof model !== "object" || typeof model.forward !== "function") throw new InvalidArgumentError("model", "a TinyTransformer", model);
    if (tokenizer === null || typeof tokenizer !== "object" || typeof tokenizer.encodeContext !== "function") throw new InvalidArgumentError("tokenizer", "the env's Tokenizer", tokenizer);
    if (options === null || typeof options !== "object") throw new InvalidArgumentError("options", "an object", options);
    assertKnownKeys("options", options, ["contextLength", "maxRowsPerForward", "scoring"]);
    if (tokenizer.size !== model.config.vocabSize) {
      throw new InvalidArgumentError("tokenizer", `a vocabulary of the model's size ${model.config.vocabSize} (this env's tokenizer has ${tokenizer.size}; wrong env?)`);
    }
    this.contextLength = options.contextLength ?? model.config.maxLen;
    if (!Number.isInteger(this.contextLength) || this.contextLength < 2 || this.contextLength > model.config.maxLen) {
      throw new InvalidArgumentError("options.contextLength", `an integer in [2, maxLen=${model.config.maxLen}]`, this.contextLength);
    }
    this.maxRowsPerForward = options.maxRowsPerForward ?? DEFAULT_MAX_ROWS_PER_FORWARD;
    if (!Number.isInteger(this.maxRowsPerForward) || this.maxRowsPerForward <= 0) {
      throw new InvalidArgumentError("options.maxRowsPerForward", "a positive integer", this.maxRowsPerForward);
    }
    this.scoring = options.scoring ?? "shared-prefix";
    assertOneOf("options.scoring", String(this.scoring), SCORING_STRATEGIES);
  }

  /** The context tokens and candidate tokens the policy scores for one step. */
  query(step: Pick<AgentStep, "task" | "history" | "observation" | "admissible">): CandidateQuery {
    if (step.admissible.length === 0) throw new InvalidArgumentError("admissible", "at least one admissible action");
    const candidates = step.admissible.map((a) => this.tokenizer.encodeAction(a));
    const reserved = Math.max(...candidates.map((c) => c.length));
    const context = this.tokenizer.encodeContext(step.task.instruction, step.history, step.observation, this.contextLength, reserved);
    return { context, candidates };
  }

  /** log p_θ(a | ctx) for every admissible action of every step, in one batched scoring call. */
  scoreSteps(steps: ReadonlyArray<Pick<AgentStep, "task" | "history" | "observation" | "admissible">>): { scores: number[][]; forwardTokens: number; forwardPasses: number } {
    return scoreCandidates(this.model, steps.map((s) => this.query(s)), { strategy: this.scoring, maxRowsPerForward: this.maxRowsPerForward });
  }

  /** π(· | s) over `step.admissible` (see the module header). */
  actionProbabilities(step: Pick<AgentStep, "task" | "history" | "observation" | "admissible">, temperature = 1): number[] {
    return softmaxWithTemperature(this.scoreSteps([step]).scores[0], temperature);
  }

  /**
   * Picks one admissible action per given episode step: greedy (the highest sequence
   * log-likelihood) or sampled from the softmax over the admissible actions.
   */
  act(steps: readonly AgentStep[], options: ActOptions): ActResult {
    const { mode, seed, temperature } = resolveActOptions(options);
    if (steps.length === 0) return { actions: [], forwardTokens: 0, forwardPasses: 0 };
    const { scores, forwardTokens, forwardPasses } = this.scoreSteps(steps);
    const logProbs: number[] = [];
    const actions = steps.map((step, i) => {
      if (mode === "greedy") return step.admissible[argmax(scores[i])];
      const pi = softmaxWithTemperature(scores[i], temperature);
      const index = stepStream(seed, "transformer-sample", step).categorical(pi);
      logProbs.push(Math.log(pi[index]));
      return step.admissible[index];
    });
    return mode === "greedy" ? { actions, forwardTokens, forwardPasses } : { actions, forwardTokens, forwardPasses, logProbs };
  }
}

/**
 * Uniformly random admissible actions (in either mode: it has no preference to be greedy about).
 * Its own seed and the run's seed both enter the stream, so seeds of a sweep give other draws.
 */
export function randomAgent(seed: Seed = 0): Agent {
  assertSeed("seed", seed);
  return {
    name: "random",
    act(steps, options) {
      const { seed: runSeed } = resolveActOptions(options);
      const actions = steps.map((step) => stepStream(`${String(seed)}|${String(runSeed)}`, "random-agent", step).choice(step.admissible));
      return { actions, forwardTokens: 0, forwardPasses: 0 };
    },
  };
}

/** The env's expert planner as an agent (deterministic; ignores mode and seed). */
export function expertAgent(): Agent {
  return {
    name: "expert",
    act(steps, options) {
      resolveActOptions(options);
      const actions = steps.map((s) => expertPolicy(s.task)(s.observation, s.admissible, s.history));
      return { actions, forwardTokens: 0, forwardPasses: 0 };
    },
  };
}

/**
 * A single-episode `Policy` for envs' `runEpisode(env, task, policy)`: asks `agent` one step at a
 * time as episode `episodeIndex` (default 0) of a run with these options. `counters`, if given,
 * accumulates the forward cost.
 */
export function agentPolicy(agent: Agent, task: Task, options: ActOptions & { episodeIndex?: number }, counters?: { forwardTokens: number; forwardPasses: number }): Policy {
  const { episodeIndex = 0, ...act } = options;
  resolveActOptions(act);
  if (!Number.isInteger(episodeIndex) || episodeIndex < 0) throw new InvalidArgumentError("options.episodeIndex", "a non-negative integer", episodeIndex);
  return (observation, admissible, history) => {
    const result = agent.act([{ task, observation, admissible, history, episodeIndex, stepIndex: history.length }], act);
    if (counters !== undefined) { counters.forwardTokens += result.forwardTokens; counters.forwardPasses += result.forwardPasses; }
    return result.actions[0];
  };
}
