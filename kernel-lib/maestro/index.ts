/**
 * MAESTRO (specs/maestro.md): a Conductor that learns per-response reward weights for GRPO, on a
 * toy with three task types and five conflicting reward components.
 *   env.ts          prompts, types, gold answers, response parsing
 *   rewards.ts      the K = 5 components, the hidden true utility, the simplex grid
 *   bank-policy.ts  tier A: categorical response-bank policy (exact, fast)
 *   gru-policy.ts   tier B: tiny GRU policy, verbose SFT pre-training
 *   conductor.ts    the Conductor head, weight mappings, REINFORCE and gradient-bandit updates
 *   arms.ts         arm names and the run configuration
 *   train.ts        the bi-level loop, evaluation, runMaestroArm
 *   tuning.ts       static weight search (tuned arm) and the true-utility conflict
 */
export * from "./env";
export * from "./rewards";
export * from "./policy-types";
export * from "./bank-policy";
export * from "./gru-policy";
export * from "./conductor";
export * from "./arms";
export * from "./train";
export * from "./tuning";
export * from "./study";
