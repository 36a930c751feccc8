/**
 * What the Conductor is paid (its "meta-reward"), and the identity that makes the paper's payoff
 * an objective of zero.
 *
 * The paper pays each response's action with that response's GRPO group advantage Â. Group-
 * normalised advantages sum to zero in every group, for every draw of actions, so the meta-
 * objective J(φ) = E[mean Â] is identically 0 for every Conductor φ — per-response or
 * prompt-level sampling alike — and ∇J = 0. The per-response REINFORCE estimator Σ_j Â_j ∇log π(a_j|h_j)
 * is non-zero in expectation only because it ignores how a_j moves its siblings' advantages
 * (through the group mean and std): it is each response's OWN-payoff gradient, "emphasise what this
 * response already scores highest on", not the gradient of any objective (test/maestro-objective.test.ts
 * checks Σ_group Â = 0 on every step of a run; `groupSumCheck` is that check; in float64 the sum is
 * 0 up to G·ε·|R| / (std + eps), about 2e-9 in a near-tie group at eps = 1e-6).
 *
 * Payoffs (`MetaReward`):
 *  - "advantage" (the paper): Â_j of R = w(a_j)ᵀr_j, group-normalised.
 *  - "fixed-advantage" (control): Â_j of R = w_fixedᵀr_j (fixed weights, equal by default): the
 *    payoff does not depend on the action, so the expected REINFORCE gradient is 0 — what is left
 *    of a Conductor's drift is noise.
 *  - "loo-fixed" (ours, non-zero expectation): R_j(w(a_j)) − mean_{i≠j} R_i(w_fixed), the
 *    response's reward under its sampled weights against a leave-one-out baseline of its siblings'
 *    rewards under fixed weights. The baseline does not depend on a_j, so this is an unbiased
 *    REINFORCE estimator of ∇ E[w(a)ᵀr]: a real objective, but one that still prefers whichever
 *    component is highest for the response (the level-chasing the paper's payoff shows), now by
 *    construction rather than by accident. Stated so a reader does not expect it to find the
 *    hidden true utility, which no payoff above sees.
 *  - "alignment" (ours, target-informed): g_j · (R_j(w(a_j)) − R_j(w_fixed)), where g_j = ∇_θU ·
 *    ∇_θ log π(y_j | x_j) says how much raising response j's probability would raise a TARGET
 *    objective U of the policy (the caller computes it; the study uses the true utility on a
 *    validation set, so this payoff sees what the paper's does not — an upper bound on what a
 *    better payoff could buy, like the oracle arm). The subtracted term does not depend on a_j, so
 *    REINFORCE on it is unbiased for ∇ Σ_j g_j E[w(a_j)ᵀr_j]: emphasise, on each response, the
 *    components that are high where pushing the response up helps U.
 */
import { EmptyInputError, InvalidArgumentError, NonFiniteError, ShapeError } from "../errors";

/** The payoffs `metaRewards` can pay a Conductor with (see the module header for each). */
export const META_REWARDS = ["advantage", "fixed-advantage", "loo-fixed", "alignment"] as const;
/** One of META_REWARDS: "advantage" (the paper's Â), "fixed-advantage" (control), "loo-fixed" and "alignment" (ours). */
export type MetaReward = (typeof META_REWARDS)[number];

/** Members of each group, in first-seen order of the group ids. */
function groups(groupIds: readonly string[]): number[][] {
  const members = new Map<string, number[]>();
  groupIds.forEach((g, i) => {
    const list = members.get(g);
    if (list === undefined) members.set(g, [i]); else list.push(i);
  });
  return [...members.values()];
}

function checkValues(argument: string, values: readonly number[], n: number): void {
  if (!Array.isArray(values) || values.length !== n) throw new ShapeError(argument, `[${n}] (one value per response)`, Array.isArray(values) ? [values.length] : "not an array");
  values.forEach((v, i) => { if (typeof v !== "number" || !Number.isFinite(v)) throw new NonFiniteError(argument, i); });
}

/** What `groupSumCheck` returns: how far from zero the per-group sums are, against the values' scale. */
export interface GroupSumCheck {
  /** Largest |Σ_group value| over the groups. */
  maxAbsSum: number;
  /** Largest |value| seen (the scale the sum is small against). */
  maxAbs: number;
  /** Number of groups. */
  groups: number;
  /** Share of groups whose values are all equal (zero-std groups: their advantages are exactly 0). */
  constantGroups: number;
}

/** Σ of `values` within each group (advantages: 0 up to rounding, the E[Â] ≡ 0 identity). */
export function groupSumCheck(values: readonly number[], groupIds: readonly string[]): GroupSumCheck {
  if (!Array.isArray(groupIds) || groupIds.length === 0) throw new EmptyInputError("groupIds", "one group id per value");
  checkValues("values", values, groupIds.length);
  let maxAbsSum = 0, maxAbs = 0, constant = 0;
  const members = groups(groupIds);
  for (const idx of members) {
    let s = 0;
    for (const i of idx) { s += values[i]; maxAbs = Math.max(maxAbs, Math.abs(values[i])); }
    maxAbsSum = Math.max(maxAbsSum, Math.abs(s));
    if (idx.every((i) => values[i] === values[idx[0]])) constant++;
  }
  return { maxAbsSum, maxAbs, groups: members.length, constantGroups: constant / members.length };
}

/**
 * Leave-one-out baseline: for each response, the mean of `values` over the OTHER members of its
 * group (0 for a group of one).
 */
export function leaveOneOutMeans(values: readonly number[], groupIds: readonly string[]): number[] {
  checkValues("values", values, groupIds.length);
  const out = new Array<number>(values.length).fill(0);
  for (const idx of groups(groupIds)) {
    if (idx.length < 2) continue;
    const total = idx.reduce((a, i) => a + values[i], 0);
    for (const i of idx) out[i] = (total - values[i]) / (idx.length - 1);
  }
  return out;
}

/**
 * What `metaRewards` reads, one value per response (aligned with `groupIds`): the sampled-weight
 * rewards and their advantages, the same under fixed weights, and for "alignment" the per-response
 * alignment g_j. A payoff reads only the fields it needs.
 */
export interface MetaRewardInputs {
  /** GRPO advantages of the rewards the policy was trained on (R under the sampled weights). */
  advantages: readonly number[];
  /** R_j under the sampled weights. */
  rewards: readonly number[];
  /** R_j under the fixed weights. */
  fixedRewards: readonly number[];
  /** GRPO advantages of fixedRewards (the same normalisation as `advantages`). */
  fixedAdvantages: readonly number[];
  /** The group (prompt) of each response; a payoff is computed within groups. */
  groupIds: readonly string[];
  /** "alignment" only: g_j = ∇U · ∇log π(y_j | x_j) per response. */
  alignment?: readonly number[];
}

/** Each response's payoff to the Conductor under `kind` (see the module header). */
export function metaRewards(kind: MetaReward, inputs: MetaRewardInputs): number[] {
  if (!(META_REWARDS as readonly string[]).includes(kind)) throw new InvalidArgumentError("kind", `one of ${META_REWARDS.join(", ")}`, kind);
  const n = inputs.groupIds.length;
  if (kind === "advantage") { checkValues("inputs.advantages", inputs.advantages, n); return inputs.advantages.slice(); }
  if (kind === "fixed-advantage") { checkValues("inputs.fixedAdvantages", inputs.fixedAdvantages, n); return inputs.fixedAdvantages.slice(); }
  checkValues("inputs.rewards", inputs.rewards, n);
  checkValues("inputs.fixedRewards", inputs.fixedRewards, n);
  if (kind === "alignment") {
    const g = inputs.alignment;
    if (g === undefined) throw new InvalidArgumentError("inputs.alignment", "one ∇U·∇log π value per response for the \"alignment\" payoff", g);
    checkValues("inputs.alignment", g, n);
    return inputs.rewards.map((r, i) => g[i] * (r - inputs.fixedRewards[i]));
  }
  const baseline = leaveOneOutMeans(inputs.fixedRewards, inputs.groupIds);
  return inputs.rewards.map((r, i) => r - baseline[i]);
}
