/**
 * Compound claims made of several comparisons that must ALL go one way — "the allocation sweep
 * peaks at 50%" means q = 0.5 beats every other q. The intersection–union test (Berger 1982)
 * rejects the compound null at level alpha when every component test rejects at alpha, so its
 * p-value is the largest component p and no multiplicity correction is needed (the opposite of
 * Holm, which is for "any of these"). The evidence shown is the weakest component. `anyOf` is
 * the other case — "at least one of these" — tested with Holm's correction.
 */
import { EmptyInputError, InvalidArgumentError } from "../errors";
import { holmVerdicts, PairedVerdict } from "./verdict";

/**
 * All of `verdicts` positive (or, with expect "negative", all negative): the weakest component
 * with p = max p, renamed for the reader; verdict "inconclusive" unless every component agrees. When a
 * component is significant the OTHER way after Holm's correction over the components, the compound
 * claim is contradicted: that component (the smallest adjusted p) is returned with its direction.
 * `labels[i]` names component i in the test name.
 */
export function allOf(verdicts: readonly PairedVerdict[], labels: readonly string[], expect: "positive" | "negative" = "positive"): PairedVerdict {
  if (!Array.isArray(verdicts) || verdicts.length === 0) throw new EmptyInputError("verdicts", "at least one component comparison");
  if (!Array.isArray(labels) || labels.length !== verdicts.length) throw new InvalidArgumentError("labels", `one label per verdict (${verdicts.length})`, labels);
  // A contradiction is an "any of these goes the other way" claim, so it is Holm-corrected.
  const adjusted = holmVerdicts(verdicts);
  const against = adjusted.map((v, i) => i).filter((i) => adjusted[i].verdict !== "inconclusive" && adjusted[i].verdict !== expect);
  if (against.length > 0) {
    const strongest = against.reduce((s, i) => (adjusted[i].p < adjusted[s].p ? i : s), against[0]);
    const v = adjusted[strongest];
    return { ...v, test: `intersection–union over ${verdicts.length} comparisons, contradicted by ${labels[strongest]} (${v.test}; ${against.length} significant the other way after Holm)` };
  }
  const weakest = verdicts.reduce((w, v, i) => (v.p > verdicts[w].p ? i : w), 0);
  const w = verdicts[weakest];
  return {
    ...w,
    verdict: verdicts.every((v) => v.verdict === expect) ? expect : "inconclusive",
    test: `intersection–union test over ${verdicts.length} comparisons (weakest: ${labels[weakest]}; ${w.test})`,
  };
}

/**
 * "At least one of these" (e.g. "5% can be worse than 1%" on some target): Holm-adjusts the
 * components and returns the one with the smallest adjusted p, renamed — a family-wise test of
 * the existence claim. Inconclusive when no adjusted p reaches its alpha.
 */
export function anyOf(verdicts: readonly PairedVerdict[], labels: readonly string[]): PairedVerdict {
  if (!Array.isArray(verdicts) || verdicts.length === 0) throw new EmptyInputError("verdicts", "at least one component comparison");
  if (!Array.isArray(labels) || labels.length !== verdicts.length) throw new InvalidArgumentError("labels", `one label per verdict (${verdicts.length})`, labels);
  const adjusted = holmVerdicts(verdicts);
  const strongest = adjusted.reduce((s, v, i) => (v.p < adjusted[s].p ? i : s), 0);
  const v = adjusted[strongest];
  return { ...v, test: `Holm over ${verdicts.length} comparisons (strongest: ${labels[strongest]}; ${v.test})` };
}
