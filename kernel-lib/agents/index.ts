/**
 * Agents that act in MiniALF / MiniShop: the tiny-transformer policy (softmax over admissible
 * actions of the sequence log-likelihood), random and expert baselines, lockstep batched
 * episodes, GRPO rollouts (RolloutSample) and the evaluation harness.
 *
 *   const agent = new TransformerAgent(model, envs.tokenizerFor(env));           // contextLength = maxLen
 *   const seen = evaluationSet(env, "seen", 128, 0);
 *   const result = evaluateAgent(env, agent, seen, { mode: "greedy" });          // successRate, perFamily…
 *   const { samples } = collectRollouts(env, trainTasks, agent, { groupSize: 8, seed: 1 });
 */
export * from "./types";
export { scoreCandidates, prepareScoring, softmaxWithTemperature, argmax, DEFAULT_MAX_ROWS_PER_FORWARD, SCORING_STRATEGIES } from "./scoring";
export type { CandidateQuery, CandidateScores, ScoringStrategy, ScoringRow } from "./scoring";
export { TransformerAgent, randomAgent, expertAgent, agentPolicy, stepStream } from "./policy";
export type { TransformerAgentOptions } from "./policy";
export { runEpisodesBatched } from "./episodes";
export type { BatchedRunOptions, BatchedRunResult } from "./episodes";
export { collectRollouts, rolloutSample, stepStateKey, discountedReturns, trajectoryReward, ROLLOUT_REWARDS } from "./rollout";
export type { RolloutOptions, RolloutResult, RolloutStats, RolloutReward } from "./rollout";
export { evaluationSet, evaluateAgent, perFamilyRows, summariseSeeds, DEFAULT_EVALUATION_CONFLICT_FRACTION } from "./evaluate";
export type { EvaluationResult, EvaluateOptions, RateRecord, SeedSummaryRow } from "./evaluate";
export { saveAgent, loadAgent } from "./persist";
export { trainAgentGrpo, AGENT_GRPO_OBJECTIVES } from "./train-grpo";
export { actionGrpoStep, actionLogProbs, trajectoryDecisions } from "./action-grpo";
export type { ActionGrpoOptions, ActionGrpoResult, ScoredDecision } from "./action-grpo";
export type { AgentGrpoOptions, AgentGrpoResult, AgentGrpoObjective, GrpoCurvePoint } from "./train-grpo";
