/**
 * The contract between whatever produces rollouts (agents in envs/, the MAESTRO toy) and the
 * policy-gradient trainers (GRPO, GiGPO) in train/. Trainers never look inside an environment:
 * they see token sequences, which tokens were the policy's own choices, a group to compare
 * against, and rewards.
 */

/** One sampled response or trajectory. */
export interface RolloutSample {
  /** Samples sharing a groupId are compared with each other (GRPO: the same task or prompt). */
  groupId: string;
  /** Scalar outcome reward of the whole sample (e.g. 1 on success, a score / 100, R = wᵀr). */
  reward: number;
  /** The sequence as the policy re-scores it, padded to the batch's fixed length. */
  tokens: number[];
  /** 1 on tokens the policy chose (its actions / response), 0 on prompt, observations, padding. */
  actionMask: number[];
  /**
   * Optional step structure (for GiGPO-style step-level grouping): for each token, the index of
   * the decision step it belongs to (-1 where actionMask is 0) …
   */
  tokenStep?: number[];
  /** … and for each step, a key naming the environment state it was taken in (anchor state). */
  stepStateKeys?: string[];
  /** … and for each step, the (discounted) return from that step on. */
  stepReturns?: number[];
  /**
   * For each step, log π(a_t | s_t) of the action taken, as the sampling policy computed it when
   * it acted (at temperature `behaviourTemperature`). The action-level update uses these as its
   * "old" log-probabilities instead of scoring every rollout a second time.
   */
  behaviourLogProbs?: number[];
  behaviourTemperature?: number;
}

/** Hardware-independent cost counters every training phase reports (plus wall-clock). */
export interface PhaseCost {
  phase: string;
  seconds: number;
  forwardTokens: number;
  backwardTokens: number;
  optimizerSteps: number;
  envSteps: number;
}
