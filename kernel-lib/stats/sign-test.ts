/**
 * Exact sign test for paired binary outcomes — McNemar's exact test: the same evaluation tasks
 * scored under arm A and arm B (or before and after a training phase). Only discordant pairs count:
 * `aOnly` tasks solved by A and not B, `bOnly` the reverse. Under "no difference" each discordant
 * pair is a fair coin, so
 *
 *   two-sided p = min(1, 2 · P[Binomial(aOnly + bOnly, ½) ≤ min(aOnly, bOnly)]),  p = 1 with none;
 *   "greater" (A better) p = P[Binomial(m, ½) ≥ aOnly];  "less" the mirror.
 *
 * This is the sign-flip permutation test of the paired differences (each in {−1, 0, +1}) computed
 * in closed form, so it has no size limit: it is what `pairedVerdict` uses for binary outcomes.
 * Tails are summed in log space, iteratively (no recursion, no spread of large arrays).
 */
import { InvalidArgumentError, UnknownOptionError } from "../errors";
import { binomialHalfLowerTail } from "./distributions";

/** Which direction a test looks for: either, A > B ("greater"), or A < B ("less"). */
export type Alternative = "two-sided" | "greater" | "less";
/** Test alternatives: "two-sided" (default), "greater" (mean > 0), "less" (mean < 0). */
export const ALTERNATIVES: readonly Alternative[] = ["two-sided", "greater", "less"];

/** Checks an `alternative` option and returns it (default two-sided). */
export function checkAlternative(argument: string, value: unknown): Alternative {
  if (value === undefined) return "two-sided";
  if (typeof value !== "string" || !(ALTERNATIVES as readonly string[]).includes(value)) throw new UnknownOptionError(argument, String(value), ALTERNATIVES);
  return value as Alternative;
}

/**
 * Exact McNemar / sign test from the discordant counts. `aOnly` = pairs where A succeeded and B
 * did not (for before/after: tasks gained), `bOnly` the reverse (tasks lost).
 */
export function signTest(aOnly: number, bOnly: number, alternative: Alternative = "two-sided"): number {
  for (const [name, v] of [["aOnly", aOnly], ["bOnly", bOnly]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new InvalidArgumentError(name, "a non-negative integer count", v);
  }
  checkAlternative("alternative", alternative);
  const n = aOnly + bOnly;
  if (n === 0) return 1;
  if (alternative === "greater") return binomialHalfLowerTail(bOnly, n);
  if (alternative === "less") return binomialHalfLowerTail(aOnly, n);
  return Math.min(1, 2 * binomialHalfLowerTail(Math.min(aOnly, bOnly), n));
}

/** Counts of a paired binary comparison: both, A only, B only, neither. */
export interface DiscordantCounts { both: number; aOnly: number; bOnly: number; neither: number }

/** Tallies two equally long outcome vectors (booleans or 0/1) task by task. */
export function discordantCounts(a: ArrayLike<boolean | number>, b: ArrayLike<boolean | number>): DiscordantCounts {
  if (a.length !== b.length) throw new InvalidArgumentError("b", `outcomes for the same ${a.length} tasks as a`, `length ${b.length}`);
  const counts = { both: 0, aOnly: 0, bOnly: 0, neither: 0 };
  for (let i = 0; i < a.length; i++) {
    const x = binary("a", a[i], i), y = binary("b", b[i], i);
    if (x && y) counts.both++; else if (x) counts.aOnly++; else if (y) counts.bOnly++; else counts.neither++;
  }
  return counts;
}

function binary(argument: string, v: boolean | number, i: number): boolean {
  if (v === true || v === 1) return true;
  if (v === false || v === 0) return false;
  throw new InvalidArgumentError(`${argument}[${i}]`, "a binary outcome (true/false or 1/0)", v);
}
