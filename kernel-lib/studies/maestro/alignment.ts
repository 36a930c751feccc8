/**
 * The target-informed payoff's alignment g_j = ∇_θU · ∇_θ log π(y_j | x_j) for the tier A bank
 * policy (meta-reward.ts, "alignment"), exact in float64: U is the mean expected TRUE utility over
 * a set of target prompts (the study uses the validation set, never the held-out eval set), θ the
 * bank policy's (W, b) with logits = x·W + b.
 *
 *   ∂U/∂logits(x_t) = (1/T) π_t ⊙ (u_t − π_t·u_t) =: δ_t,    ∂log π(j|x)/∂logits(x) = e_j − π(x),
 * and ∂logits/∂W = x, ∂logits/∂b = 1, so
 *   g_j = Σ_t (x_t·x_j + 1) · δ_t·(e_{y_j} − π(x_j)),
 * computed through M = Σ_t [x_t; 1] δ_tᵀ once per call. test/maestro-objective.test.ts checks g_j
 * against central differences of U along ∇log π(y_j|x_j). Tier B would need a second autodiff
 * pass per response; it is not offered there.
 */
import { EmptyInputError, InvalidArgumentError } from "../../errors";
import { ResponseBankPolicy, bagOfTokens, buildResponseBank } from "./bank-policy";
import { MaestroPrompt, VOCAB_SIZE } from "./env";
import type { MaestroRollout } from "./policy-types";
import type { RewardModel } from "./rewards";

/** Per target prompt, the true utility of every bank response (fixed for a run: cache it). */
export function bankTrueUtilities(policy: ResponseBankPolicy, rewards: RewardModel, targets: readonly MaestroPrompt[]): number[][] {
  if (targets.length === 0) throw new EmptyInputError("targets", "at least one target prompt");
  return targets.map((p) => buildResponseBank(policy.env, p).map((r) => rewards.trueUtility(p, r)));
}

/** The mean expected true utility of the bank policy over `targets` (float64; `utilities` from bankTrueUtilities). */
export function bankTargetUtility(policy: ResponseBankPolicy, targets: readonly MaestroPrompt[], utilities: readonly number[][]): number {
  const probs = policy.model.probabilities(targets);
  return probs.reduce((a, p, t) => a + p.reduce((s, pk, k) => s + pk * utilities[t][k], 0), 0) / targets.length;
}

/** g_j for each rollout of the bank policy (see the module header). */
export function bankUtilityAlignment(policy: ResponseBankPolicy, targets: readonly MaestroPrompt[], utilities: readonly number[][], rollouts: readonly MaestroRollout[]): number[] {
  if (!(policy instanceof ResponseBankPolicy)) throw new InvalidArgumentError("policy", "the tier A ResponseBankPolicy (the alignment payoff is exact for it only)", policy);
  if (targets.length === 0) throw new EmptyInputError("targets", "at least one target prompt");
  if (utilities.length !== targets.length) throw new InvalidArgumentError("utilities", `one row of bank utilities per target (${targets.length})`, utilities.length);
  const B = policy.bankSize, V = VOCAB_SIZE, P = policy.env.promptLength;
  const M = Array.from({ length: V + 1 }, () => new Float64Array(B));
  policy.model.probabilities(targets).forEach((pi, t) => {
    const mean = pi.reduce((s, pk, k) => s + pk * utilities[t][k], 0);
    const delta = pi.map((pk, k) => (pk * (utilities[t][k] - mean)) / targets.length);
    const x = bagOfTokens(targets[t].tokens, P);
    for (let v = 0; v < V; v++) if (x[v] !== 0) for (let k = 0; k < B; k++) M[v][k] += x[v] * delta[k];
    for (let k = 0; k < B; k++) M[V][k] += delta[k];
  });
  const probs = policy.model.probabilities(rollouts.map((r) => r.prompt));
  return rollouts.map((r, j) => {
    const slot = r.tokens[r.tokens.length - 1];
    const x = bagOfTokens(r.prompt.tokens, P);
    let g = 0;
    for (let k = 0; k < B; k++) {
      let col = M[V][k];
      for (let v = 0; v < V; v++) if (x[v] !== 0) col += x[v] * M[v][k];
      g += ((k === slot ? 1 : 0) - probs[j][k]) * col;
    }
    return g;
  });
}
