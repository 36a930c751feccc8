/**
 * Group-relative advantages for GRPO and GiGPO (pure JS, no tensors).
 *
 * Episode level (GRPO): samples sharing a groupId (one prompt / task) are compared with each
 * other, A_i = (r_i − mean_g) / (std_g + eps). Choices, all options:
 * - `stdEstimator` "population" (÷G, default: a group with rewards {1,0,0,1} gets exactly ±1
 *   before eps) or "sample" (÷(G−1), what TRL's torch `.std()` computes);
 * - `normalizeStd: false` only centres (Dr. GRPO: dividing by std up-weights near-unanimous
 *   groups, a difficulty bias);
 * - a group whose values are all equal — including every group of size 1 — carries no
 *   comparison signal: its advantages are exactly 0 (not 0/eps noise).
 *
 * Step level (GiGPO, Feng et al. 2025): within one episode group, every decision step taken in
 * the same environment state (an "anchor state", named by `stepStateKeys`) forms a step group;
 * the step's advantage is the group-normalised `stepReturns` within its step group (same options
 * and rules). Each action token then carries A = A_episode + ω·A_step of the step it belongs to
 * (`tokenStep`), ω = `stepWeight` (default 1). A state visited once in the group gives A_step = 0,
 * so GiGPO falls back to GRPO where no states repeat.
 */
import { EmptyInputError, InvalidArgumentError, NonFiniteError, ShapeError, assertKnownKeys, assertOneOf } from "../errors";
import type { RolloutSample } from "./rl-types";

/**
 * Standard deviation used to normalise group rewards: "population" (divide by n) or "sample" (n −
 * 1).
 */
export const STD_ESTIMATORS = ["population", "sample"] as const;
/** The standard deviation estimator for group normalisation; see STD_ESTIMATORS. */
export type StdEstimator = (typeof STD_ESTIMATORS)[number];

/** Options of `groupNormalize`. */
export interface GroupNormalizeOptions {
  /** Divide by the group's std (default true); false = only subtract the group mean. */
  normalizeStd?: boolean;
  /** Default "population". */
  stdEstimator?: StdEstimator;
  /** Added to the std (default 1e-6). */
  eps?: number;
}

/** Options of `computeAdvantages`. */
export interface AdvantageOptions extends GroupNormalizeOptions {
  /** GiGPO: add anchor-state step advantages (needs tokenStep, stepStateKeys, stepReturns). */
  stepLevel?: boolean;
  /** ω in A = A_episode + ω·A_step (default 1). */
  stepWeight?: number;
}

/** What `computeAdvantages` returns: per-sample episode advantages (and step advantages with GiGPO). */
export interface Advantages {
  /** Per sample: the episode-level group-relative advantage (MAESTRO's meta-reward Â). */
  episode: number[];
  /** Per sample and step: the anchor-state step advantage; null unless stepLevel. */
  step: number[][] | null;
  /** Per sample and token: what the loss uses; 0 where actionMask is 0. */
  token: number[][];
}

const NORMALIZE_KEYS = ["normalizeStd", "stdEstimator", "eps"];
const ADVANTAGE_KEYS = [...NORMALIZE_KEYS, "stepLevel", "stepWeight"];

interface ResolvedNormalize { normalizeStd: boolean; stdEstimator: StdEstimator; eps: number }

function resolveNormalize(options: GroupNormalizeOptions, prefix: string): ResolvedNormalize {
  const normalizeStd = options.normalizeStd ?? true;
  const stdEstimator = options.stdEstimator ?? "population";
  const eps = options.eps ?? 1e-6;
  if (typeof normalizeStd !== "boolean") throw new InvalidArgumentError(`${prefix}.normalizeStd`, "true or false", normalizeStd);
  assertOneOf(`${prefix}.stdEstimator`, stdEstimator, STD_ESTIMATORS);
  if (typeof eps !== "number" || !(eps >= 0) || !Number.isFinite(eps)) throw new InvalidArgumentError(`${prefix}.eps`, "a finite number ≥ 0", eps);
  return { normalizeStd, stdEstimator, eps };
}

/**
 * values normalised within the groups named by `groupKeys` (same length): (v − mean) / (std + eps),
 * or v − mean without std; groups of equal values (and singletons) → 0.
 */
export function groupNormalize(values: readonly number[], groupKeys: readonly string[], options: GroupNormalizeOptions = {}): number[] {
  assertKnownKeys("options", options, NORMALIZE_KEYS);
  const resolved = resolveNormalize(options, "options");
  if (!Array.isArray(values)) throw new InvalidArgumentError("values", "an array of numbers", values);
  if (!Array.isArray(groupKeys) || groupKeys.length !== values.length) throw new ShapeError("groupKeys", `[${values.length}] (one key per value)`, Array.isArray(groupKeys) ? [groupKeys.length] : "not an array");
  values.forEach((v, i) => { if (typeof v !== "number" || !Number.isFinite(v)) throw new NonFiniteError("values", i); });
  return normalizeGroups(values, groupKeys, resolved);
}

function normalizeGroups(values: readonly number[], keys: readonly string[], o: ResolvedNormalize): number[] {
  const members = new Map<string, number[]>();
  keys.forEach((k, i) => {
    const list = members.get(k);
    if (list === undefined) members.set(k, [i]); else list.push(i);
  });
  const out = new Array<number>(values.length).fill(0);
  for (const idx of members.values()) {
    const group = idx.map((i) => values[i]);
    if (group.every((v) => v === group[0])) continue; // no comparison signal: exactly 0
    const mean = group.reduce((a, b) => a + b, 0) / group.length;
    let scale = 1;
    if (o.normalizeStd) {
      const ss = group.reduce((a, v) => a + (v - mean) * (v - mean), 0);
      const std = Math.sqrt(ss / (o.stdEstimator === "sample" ? group.length - 1 : group.length));
      scale = std + o.eps;
    }
    idx.forEach((i) => { out[i] = (values[i] - mean) / scale; });
  }
  return out;
}

/** Episode-level (GRPO) or, with stepLevel, GiGPO advantages of a batch of rollouts. */
export function computeAdvantages(samples: readonly RolloutSample[], options: AdvantageOptions = {}): Advantages {
  if (options === null || typeof options !== "object") throw new InvalidArgumentError("options", "an AdvantageOptions object", options);
  assertKnownKeys("options", options, ADVANTAGE_KEYS);
  const normalize = resolveNormalize(options, "options");
  const stepLevel = options.stepLevel ?? false;
  const stepWeight = options.stepWeight ?? 1;
  if (typeof stepLevel !== "boolean") throw new InvalidArgumentError("options.stepLevel", "true or false", stepLevel);
  if (typeof stepWeight !== "number" || !Number.isFinite(stepWeight)) throw new InvalidArgumentError("options.stepWeight", "a finite number", stepWeight);
  // (checked through `unknown`: Array.isArray would narrow a readonly array to any[])
  if (!Array.isArray(samples as unknown)) throw new InvalidArgumentError("samples", "an array of RolloutSample", samples);
  if (samples.length === 0) throw new EmptyInputError("samples", "at least one rollout sample");

  samples.forEach((s, i) => {
    if (s === null || typeof s !== "object") throw new InvalidArgumentError(`samples[${i}]`, "a RolloutSample object", s);
    if (typeof s.groupId !== "string") throw new InvalidArgumentError(`samples[${i}].groupId`, "a string", s.groupId);
    if (typeof s.reward !== "number" || !Number.isFinite(s.reward)) throw new NonFiniteError(`samples[${i}].reward`);
    if (!Array.isArray(s.actionMask)) throw new InvalidArgumentError(`samples[${i}].actionMask`, "an array of 0/1", s.actionMask);
  });
  const episode = normalizeGroups(samples.map((s) => s.reward), samples.map((s) => s.groupId), normalize);
  if (!stepLevel) {
    const token = samples.map((s, i) => s.actionMask.map((m) => (m === 1 ? episode[i] : 0)));
    return { episode, step: null, token };
  }

  // Flatten every (sample, step) into one list keyed by its anchor (episode group, state).
  const stepValues: number[] = [];
  const anchorKeys: string[] = [];
  const stepOffset: number[] = [];
  samples.forEach((s, i) => {
    const keys = s.stepStateKeys, returns = s.stepReturns;
    if (!Array.isArray(keys)) throw new InvalidArgumentError(`samples[${i}].stepStateKeys`, "an array of state keys (stepLevel needs the step structure)", keys);
    if (!Array.isArray(returns) || returns.length !== keys.length) throw new ShapeError(`samples[${i}].stepReturns`, `[${keys.length}] (one return per step)`, Array.isArray(returns) ? [returns.length] : "missing");
    if (!Array.isArray(s.tokenStep) || s.tokenStep.length !== s.actionMask.length) throw new ShapeError(`samples[${i}].tokenStep`, `[${s.actionMask.length}] (one step index per token)`, Array.isArray(s.tokenStep) ? [s.tokenStep.length] : "missing");
    stepOffset.push(stepValues.length);
    keys.forEach((key, k) => {
      if (typeof key !== "string") throw new InvalidArgumentError(`samples[${i}].stepStateKeys[${k}]`, "a string", key);
      if (typeof returns[k] !== "number" || !Number.isFinite(returns[k])) throw new NonFiniteError(`samples[${i}].stepReturns`, k);
      stepValues.push(returns[k]);
      anchorKeys.push(JSON.stringify([s.groupId, key]));
    });
  });
  const flatStep = normalizeGroups(stepValues, anchorKeys, normalize);
  const step = samples.map((s, i) => flatStep.slice(stepOffset[i], stepOffset[i] + (s.stepStateKeys as string[]).length));
  const token = samples.map((s, i) => s.actionMask.map((m, t) => {
    if (m !== 1) return 0;
    const k = (s.tokenStep as number[])[t];
    if (!Number.isInteger(k) || k < 0 || k >= step[i].length) throw new InvalidArgumentError(`samples[${i}].tokenStep[${t}]`, `a step index in [0, ${step[i].length}) on an action token`, k);
    return episode[i] + stepWeight * step[i][k];
  }));
  return { episode, step, token };
}
