/**
 * The oracle arm: a reference for "does the selection pick the complements?". For each target, the
 * pool groups it is HYPOTHESISED to need — the planted complements of a composition (MULN needs
 * single-digit MUL, ADD and carries; SORTDESC needs SORT and REVERSE), a target's own families
 * otherwise, and for the real-text target the GSM8K source itself (a source oracle) — and the arm
 * fine-tunes on B rows drawn uniformly (seeded) from the clean (non-conflicting) pool items of those
 * groups. If fine-tuning on the oracle set does not beat random, the hypothesised complements do
 * not help this model, and a selection's "complement share" has no ground truth to be scored on.
 */
import { UnknownOptionError } from "../../errors";
import { Rng } from "../../random";
import { MULTI_SUBTASKS } from "./pool";
import type { SelectionDataset } from "./dataset";

/** Target → the pool groups the oracle arm draws from. */
export const ORACLE_GROUPS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  MULN: ["MUL1", "ADD", "ADD-carry"],
  SORTDESC: ["SORT", "REV"],
  multi: [...MULTI_SUBTASKS],
  "single-ADD": ["ADD"],
  union: [...new Set(["MUL1", "ADD", "ADD-carry", "SORT", "REV", ...MULTI_SUBTASKS])],
  gsm8k: ["gsm8k"],
});

/**
 * B pool indices drawn uniformly without replacement from the clean items of the target's oracle
 * groups (all of them, in index order, when there are fewer than B); a pure function of the seed.
 */
export function oracleSelection(dataset: SelectionDataset, target: string, budget: number, seed: number | string): number[] {
  const groups = ORACLE_GROUPS[target];
  if (groups === undefined) throw new UnknownOptionError("target", target, Object.keys(ORACLE_GROUPS));
  const eligible = dataset.pool.map((e, i) => (groups.includes(e.group) && !e.conflict ? i : -1)).filter((i) => i >= 0);
  if (eligible.length <= budget) return eligible;
  return new Rng(seed).derive("oracle", target).sampleIndices(eligible.length, budget).map((k) => eligible[k]);
}
