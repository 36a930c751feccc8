/**
 * MAESTRO (specs/maestro.md): a Conductor that learns per-response reward weights for GRPO, on a
 * toy with three task types and five conflicting reward components.
 *   env.ts          prompts, types, gold answers, response parsing
 *   rewards.ts      the K = 5 components, the hidden true utility, the simplex grid
 *   bank-policy.ts  tier A: categorical response-bank policy (exact, fast)
 *   gru-policy.ts   tier B: tiny GRU policy, verbose SFT pre-training
 *   conductor.ts    the Conductor head, weight mappings, REINFORCE and gradient-bandit updates
 *   meta-reward.ts  what the Conductor is paid; the E[Â] ≡ 0 identity and its check
 *   arms.ts         arm names and the run configuration
 *   train.ts        the bi-level loop, runMaestroArm
 *   evaluate.ts     held-out true utility of a policy
 *   tuning.ts       static weight search (tuned arm) and the true-utility conflict
 */
export * from "./env";
export * from "./rewards";
export * from "./policy-types";
export * from "./bank-policy";
export * from "./gru-policy";
export * from "./conductor";
export * from "./meta-reward";
export * from "./arms";
export * from "./train";
export * from "./evaluate";
export * from "./tuning";
export * from "./study";
