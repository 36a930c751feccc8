/**
 * The MAESTRO reproduction (notebook 04): a toy with three task types and five conflicting reward
 * components on which the Conductor (kernel-lib/maestro, the method) is compared with static,
 * random, oracle and control weightings, over seeds. A study composes; the Conductor and its
 * payoffs live in kernel-lib/maestro.
 *   env.ts          prompts, types, gold answers (recoverable from the prompt), response parsing
 *   rewards.ts      the K = 5 components, the hidden true utility, the simplex grid
 *   policy-types.ts what the loop needs from a policy (rollouts, sampling cost)
 *   bank-policy.ts  tier A: categorical response-bank policy (exact, fast)
 *   gru-policy.ts   tier B: tiny GRU policy, verbose SFT pre-training, <eos>-stopping generation
 *   arms.ts         arm names (baselines, controls, ablations) and the run configuration
 *   run-context.ts  one run's context and result types
 *   train.ts        the bi-level loop, runMaestroArm
 *   evaluate.ts     held-out true utility of a policy
 *   alignment.ts    ∇U·∇log π per response for the target-informed Conductor payoff (exact in tier A, estimated in tier B)
 *   tuning.ts       static weight search (tuned arm, grid + 1/K) and the true-utility conflict
 *   study-grid.ts   presets, settings and the sweep grid
 *   study.ts        what a run stores, the registered sweep study, reading runs back
 *   report.ts       arm comparisons through the statistics layer and the claims' evidence
 */
export * from "./env";
export * from "./rewards";
export * from "./policy-types";
export * from "./bank-policy";
export * from "./gru-policy";
export * from "./arms";
export * from "./run-context";
export * from "./train";
export * from "./evaluate";
export * from "./tuning";
export * from "./alignment";
export * from "./study-grid";
export * from "./study";
export * from "./report";
