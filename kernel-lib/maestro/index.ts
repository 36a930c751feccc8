/**
 * MAESTRO (specs/maestro.md), the method: a Conductor that learns per-response reward weights for
 * a GRPO loop — put it on your own loop: `act` on the policy's stopped-gradient hidden states,
 * weight the reward components with the returned w, pay it with a meta-reward and call
 * `reinforceUpdate` every M steps.
 *   conductor.ts    the Conductor head, weight mappings, REINFORCE and gradient-bandit updates
 *   meta-reward.ts  what the Conductor is paid (the paper's Â, an action-independent control, a
 *                   leave-one-out payoff with non-zero expectation); the E[Â] ≡ 0 identity's check
 * The toy study (env, rewards, policies, arms, sweep) is kernel-lib/studies/maestro.
 */
export * from "./conductor";
export * from "./meta-reward";
