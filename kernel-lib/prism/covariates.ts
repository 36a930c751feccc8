/**
 * Per-trajectory covariates a probe score must be checked against (confounds.ts): how long each
 * encoded trajectory is, counted the ways that matter to the probe, and the probe's own loss.
 * Right-padding to one context length does not remove length: a causal model's gradients ignore
 * the padding, so a trajectory with more action tokens still has a different loss gradient.
 */
import { EmptyInputError, InvalidArgumentError, ShapeError } from "../errors";
import type { EncodedTrajectory } from "../envs/tokenizer";
import type { ProbeResult } from "./probe";

/** Length covariates, one value per trajectory (a type, not an interface, so it passes as a Record). */
export type TrajectoryCovariates = {
  /** Tokens under the loss mask: the action tokens the probe's loss averages over. */
  actionTokens: number[];
  /** Steps the encoding kept (its action spans); older steps dropped by truncation are not counted. */
  steps: number[];
  /** Tokens before padding (instruction, observations, actions, markers). */
  tokens: number[];
};

/** Action-token count, kept step count and unpadded length of each encoded trajectory. */
export function trajectoryCovariates(encoded: ReadonlyArray<Pick<EncodedTrajectory, "lossMask" | "actionSpans" | "length">>): TrajectoryCovariates {
  if (!Array.isArray(encoded)) throw new InvalidArgumentError("encoded", "an array of encoded trajectories", encoded);
  if (encoded.length === 0) throw new EmptyInputError("encoded", "at least one encoded trajectory");
  const out: TrajectoryCovariates = { actionTokens: [], steps: [], tokens: [] };
  encoded.forEach((e, i) => {
    if (e === null || typeof e !== "object" || !Array.isArray(e.lossMask) || !Array.isArray(e.actionSpans) || !Number.isInteger(e.length)) {
      throw new InvalidArgumentError(`encoded[${i}]`, "an EncodedTrajectory (lossMask, actionSpans, length)", e);
    }
    let masked = 0;
    for (const m of e.lossMask) {
      if (m !== 0 && m !== 1) throw new InvalidArgumentError(`encoded[${i}].lossMask`, "0/1 entries", m);
      masked += m;
    }
    const spanTokens = e.actionSpans.reduce((a: number, s: { start: number; end: number }) => a + (s.end - s.start), 0);
    if (spanTokens !== masked) throw new InvalidArgumentError(`encoded[${i}]`, `action spans covering exactly the ${masked} masked tokens`, `${spanTokens} span tokens`);
    out.actionTokens.push(masked);
    out.steps.push(e.actionSpans.length);
    out.tokens.push(e.length);
  });
  return out;
}

/**
 * The covariates of probed trajectories in the shape `confoundTable` takes: the probe's per-
 * trajectory `loss` plus `trajectoryCovariates(encoded)`; `encoded[i]` must be the trajectory
 * probed as row i.
 */
export function probeCovariates(result: Pick<ProbeResult, "losses">, encoded: ReadonlyArray<Pick<EncodedTrajectory, "lossMask" | "actionSpans" | "length">>): { loss: number[] } & TrajectoryCovariates {
  const lengths = trajectoryCovariates(encoded);
  if (result.losses.length !== encoded.length) throw new ShapeError("encoded", `[${result.losses.length}] (one per probed trajectory)`, [encoded.length]);
  return { loss: result.losses.slice(), ...lengths };
}
