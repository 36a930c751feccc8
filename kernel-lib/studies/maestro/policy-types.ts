/**
 * What the MAESTRO loop needs from a policy, whatever its tier: grouped sampling, a GRPO-ready
 * token view of each sample, the stopped-gradient "terminal hidden state" the Conductor reads,
 * and the response distribution used for evaluation.
 *
 *  - tier A, ResponseBankPolicy (bank-policy.ts): a categorical choice among a fixed bank of
 *    responses per prompt — exact evaluation, milliseconds per step, for checking the maths;
 *  - tier B, GruResponsePolicy (gru-policy.ts): a tiny autoregressive GRU, pre-trained verbose.
 */
import type { LogitsModel } from "../../train/logprobs";
import type { PolicyModel } from "../../train/grpo";
import type { Rng } from "../../random";
import type { MaestroPrompt, ParsedResponse } from "./env";

/** The study's two policy tiers: "bank" (tier A, ResponseBankPolicy, exact) and "gru" (tier B, GruResponsePolicy, generates tokens and stops at <eos>). */
export const POLICY_TIERS = ["bank", "gru"] as const;
/** One of POLICY_TIERS. */
export type PolicyTier = (typeof POLICY_TIERS)[number];

/** One sampled response, with the token view grpoStep re-scores. */
export interface MaestroRollout {
  prompt: MaestroPrompt;
  /** GRPO group: every response to one prompt of one step shares it. */
  groupId: string;
  response: ParsedResponse;
  /** Prompt + response (+ padding), the batch's fixed length. */
  tokens: number[];
  /** 1 on the policy's own choices. */
  actionMask: number[];
  /** Per token, log p of the token under the policy that sampled it (0 off the action mask): GRPO's old log-probs. */
  behaviourLogProbs: number[];
  /** Σ of behaviourLogProbs: log p of the whole response (the em-grpo arm's reward reads it per token). */
  logProb: number;
}

/** The work of one `sampleWithCost` call. */
export interface SampleCost {
  /** Tokens the policy generated (each response's body and <eos>; every budget position without stopping at <eos>). */
  generatedTokens: number;
  /** Row-positions the policy's forward passes processed while sampling. */
  forwardTokens: number;
  /** Length of the rollouts' token rows (prompt + padded response): what GRPO scores per row. */
  sequenceLength: number;
}

/** One response of a policy's response distribution for a prompt, with its probability and Conductor context (evaluation). */
export interface WeightedResponse {
  /** The response as read (body up to <eos>). */
  response: ParsedResponse;
  /** Probability (tier A: exact π; tier B: 1/S for S samples). */
  probability: number;
  /** The Conductor's context for this response (same layout as terminalHidden). */
  hidden: number[];
}

/**
 * What the MAESTRO training loop needs from a policy, implemented by both tiers: sampling with
 * its cost, the model GRPO trains and its frozen reference, the Conductor's contexts (after the
 * response, after the prompt alone) and the response distribution for evaluation.
 */
export interface MaestroPolicy {
  /** Which tier this is. */
  readonly tier: PolicyTier;
  /** What grpoStep trains. */
  readonly model: PolicyModel;
  /** Frozen copy for the KL term (taken at construction / after pre-training). */
  readonly reference: LogitsModel;
  /** Length of the Conductor's context vector. */
  readonly hiddenSize: number;
  /** `groupSize` responses to each prompt, rollouts ordered prompt-major. */
  sample(prompts: readonly MaestroPrompt[], groupSize: number, rng: Rng): MaestroRollout[];
  /** `sample`, with the work it took. */
  sampleWithCost(prompts: readonly MaestroPrompt[], groupSize: number, rng: Rng): { rollouts: MaestroRollout[]; cost: SampleCost };
  /** Stopped-gradient state after prompt + response, one row per rollout (plain numbers). */
  terminalHidden(rollouts: readonly MaestroRollout[]): number[][];
  /** Stopped-gradient state after the prompt alone (the prompt-level Conductor's context). */
  promptHidden(prompts: readonly MaestroPrompt[]): number[][];
  /** Responses and their probabilities for evaluation; `samples` is used by sampling tiers only. */
  responseDistribution(prompts: readonly MaestroPrompt[], rng: Rng, samples: number): WeightedResponse[][];
  /** Refreshes the KL reference to the current weights (after pre-training). */
  resetReference(): void;
  /** Frees the policy's tensors. */
  dispose(): void;
}
