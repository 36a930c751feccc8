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
 * against central differences of U along ∇log π(y_j|x_j).
 *
 * Tier B (`gruUtilityAlignment`): the GRU's U = mean over target prompts of E_y[u(x, y)] has no
 * closed form, so ∇U is the REINFORCE estimate over `samples` responses per target prompt with a
 * leave-one-out baseline per prompt (unbiased), and g_j = ∇U·∇log π(y_j|x_j) is the directional
 * derivative of each rollout's log-probability along ∇U — one central difference of two batched
 * forward passes (θ ± h·∇U/‖∇U‖) instead of one backward pass per response. A noisy estimate of
 * the same quantity tier A computes exactly; test/maestro-objective.test.ts checks it against
 * per-rollout autodiff dot products.
 */
import { tf } from "../../tf";
import { EmptyInputError, InvalidArgumentError } from "../../errors";
import type { Rng } from "../../random";
import { tokenLogProbs } from "../../train/logprobs";
import { leaveOneOutMeans } from "../../maestro/meta-reward";
import { ResponseBankPolicy, bagOfTokens, buildResponseBank } from "./bank-policy";
import { GruResponsePolicy } from "./gru-policy";
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

/** log π(response) of each rollout under the GRU's current weights, as a tensor [N] (caller owns it). */
function responseLogProbs(policy: GruResponsePolicy, rollouts: readonly MaestroRollout[]): tf.Tensor1D {
  return tf.tidy(() => {
    const lp = tokenLogProbs(policy.model, rollouts.map((r) => r.tokens));
    const mask = tf.tensor2d(rollouts.map((r) => r.actionMask), lp.shape as [number, number], "float32");
    return tf.sum(tf.mul(lp, mask), 1) as tf.Tensor1D;
  });
}

/**
 * The REINFORCE estimate of ∇_θU for the GRU policy, U = mean over `targets` of the expected
 * true utility: `samples` responses per target, each weighted by its true utility minus the mean
 * of its prompt's other samples (leave-one-out: unbiased). One flat Float64Array in
 * trainableVariables() order.
 */
export function gruUtilityGradient(policy: GruResponsePolicy, rewards: RewardModel, targets: readonly MaestroPrompt[], samples: number, rng: Rng): Float64Array {
  if (!(policy instanceof GruResponsePolicy)) throw new InvalidArgumentError("policy", "the tier B GruResponsePolicy", policy);
  if (targets.length === 0) throw new EmptyInputError("targets", "at least one target prompt");
  if (!Number.isInteger(samples) || samples < 2) throw new InvalidArgumentError("samples", "an integer ≥ 2 (the leave-one-out baseline needs two samples per prompt)", samples);
  const drawn = policy.sample(targets, samples, rng);
  const u = drawn.map((r) => rewards.trueUtility(r.prompt, r.response));
  const baseline = leaveOneOutMeans(u, drawn.map((r) => r.groupId));
  const coef = u.map((x, i) => (x - baseline[i]) / drawn.length);
  const vars = policy.model.trainableVariables();
  const { value, grads } = tf.variableGrads(() => tf.tidy(() => tf.sum(tf.mul(responseLogProbs(policy, drawn), tf.tensor1d(coef, "float32"))) as tf.Scalar), vars);
  value.dispose();
  const parts = vars.map((v) => { const g = grads[v.name]; const data = g.dataSync(); g.dispose(); return data; });
  const out = new Float64Array(parts.reduce((a, d) => a + d.length, 0));
  let offset = 0;
  for (const d of parts) { out.set(d, offset); offset += d.length; }
  return out;
}

/**
 * g_j = ∇U·∇log π(y_j|x_j) for each rollout of the GRU policy, given ∇U (`gruUtilityGradient`):
 * ‖∇U‖ times the central difference of log π(y_j|x_j) along ∇U/‖∇U‖ with step h (default 1e-2,
 * large enough for float32 forward passes, small enough for the curvature of a tiny GRU). The
 * weights are restored exactly afterwards. All zeros when ∇U = 0.
 */
export function gruUtilityAlignment(policy: GruResponsePolicy, utilityGradient: Float64Array, rollouts: readonly MaestroRollout[], h = 1e-2): number[] {
  if (!(policy instanceof GruResponsePolicy)) throw new InvalidArgumentError("policy", "the tier B GruResponsePolicy", policy);
  if (rollouts.length === 0) return [];
  const vars = policy.model.trainableVariables();
  const sizes = vars.map((v) => v.size);
  if (utilityGradient.length !== sizes.reduce((a, b) => a + b, 0)) throw new InvalidArgumentError("utilityGradient", `${sizes.reduce((a, b) => a + b, 0)} values (the policy's parameters)`, utilityGradient.length);
  const norm = Math.sqrt(utilityGradient.reduce((a, v) => a + v * v, 0));
  if (!(norm > 0)) return rollouts.map(() => 0);
  const original = vars.map((v) => v.dataSync().slice() as Float32Array);
  const shifted = (sign: number): number[] => {
    let offset = 0;
    tf.tidy(() => vars.forEach((v, i) => {
      const moved = new Float32Array(sizes[i]);
      for (let k = 0; k < sizes[i]; k++) moved[k] = original[i][k] + sign * h * (utilityGradient[offset + k] / norm);
      offset += sizes[i];
      v.assign(tf.tensor(moved, v.shape, "float32"));
    }));
    const lp = responseLogProbs(policy, rollouts);
    const values = Array.from(lp.dataSync());
    lp.dispose();
    return values;
  };
  try {
    const plus = shifted(1), minus = shifted(-1);
    return plus.map((p, j) => (norm * (p - minus[j])) / (2 * h));
  } finally {
    tf.tidy(() => vars.forEach((v, i) => v.assign(tf.tensor(original[i], v.shape, "float32"))));
  }
}
