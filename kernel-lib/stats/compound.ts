/**
 * Compound claims made of several comparisons that must ALL go one way — "the allocation sweep
 * peaks at 50%" means q = 0.5 beats every other q. The intersection–union test (Berger 1982)
 * rejects the compound null at level alpha when every component test rejects at alpha, so its
 * p-value is the largest component p and no multiplicity correction is needed (the opposite of
 * Holm, which is for "any of these"). The evidence shown is the weakest component. `anyOf` is
 * the other case — "at least one of these" — tested with Holm's correction.
 */
import { EmptyInputError, InvalidArgumentError } from "../errors";
import { studentTQuantile } from "./distributions";
import { holmVerdicts, insideMargin, PairedVerdict } from "./verdict";

/**
 * All of `verdicts` positive (or, with expect "negative", all negative): the weakest component
 * with p = max p, renamed for the reader; verdict "inconclusive" unless every component agrees. When a
 * component is significant the OTHER way after Holm's correction over the components, the compound
 * claim is contradicted: that component (the smallest adjusted p) is returned with its direction.
 * `labels[i]` names component i in the test name.
 *
 * With components made with a smallest effect of interest δ (`pairedVerdict`'s
 * `smallestEffectOfInterest`): each must clear δ for the compound verdict; and when one component
 * is negligible — its interval, widened to level 1 − alpha/k (Bonferroni over the k components,
 * since "some component is negligible" is an any-of conclusion), lies inside (−δ, +δ) — the compound
 * claim fails for that reason: that component is returned with `negligible: true` and the widened
 * interval. Otherwise `negligible` is false.
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
  const allHold = verdicts.every((v) => v.verdict === expect);
  if (!allHold) {
    const negligible = verdicts.map((v) => bonferroniNegligible(v, verdicts.length));
    const first = negligible.findIndex((x) => x !== null);
    if (first >= 0) {
      const v = verdicts[first];
      return { ...v, verdict: "inconclusive", negligible: true, interval: negligible[first],
        test: `intersection–union test over ${verdicts.length} comparisons, failed: ${labels[first]} is negligible (its interval at level 1 − alpha/${verdicts.length}, Bonferroni, inside ±δ; ${v.test})` };
    }
  }
  const weakest = verdicts.reduce((w, v, i) => (v.p > verdicts[w].p ? i : w), 0);
  const w = verdicts[weakest];
  const out: PairedVerdict = {
    ...w,
    verdict: allHold ? expect : "inconclusive",
    test: `intersection–union test over ${verdicts.length} comparisons (weakest: ${labels[weakest]}; ${w.test})`,
  };
  if (w.smallestEffectOfInterest !== undefined) out.negligible = false;
  return out;
}

/** A component's interval widened to level 1 − alpha/k when it then lies inside ±δ; else null. */
function bonferroniNegligible(v: PairedVerdict, k: number): PairedVerdict["interval"] {
  const delta = v.smallestEffectOfInterest, iv = v.interval;
  if (delta === undefined || iv === null || iv.se === undefined || iv.df === undefined) return null;
  const level = 1 - v.alpha / k;
  const half = iv.se === 0 ? 0 : studentTQuantile(1 - v.alpha / (2 * k), iv.df) * iv.se;
  const widened = { lo: v.estimate - half, hi: v.estimate + half, level, method: `${iv.method}, Bonferroni over ${k}`, se: iv.se, df: iv.df };
  return insideMargin(widened, delta) ? widened : null;
}

/**
 * "At least one of these" (e.g. "5% can be worse than 1%" on some target): Holm-adjusts the
 * components and returns the one with the smallest adjusted p, renamed — a family-wise test of
 * the existence claim. Inconclusive when no adjusted p reaches its alpha. With a smallest effect of
 * interest on the components, the result is `negligible` only when every component is.
 */
export function anyOf(verdicts: readonly PairedVerdict[], labels: readonly string[]): PairedVerdict {
  if (!Array.isArray(verdicts) || verdicts.length === 0) throw new EmptyInputError("verdicts", "at least one component comparison");
  if (!Array.isArray(labels) || labels.length !== verdicts.length) throw new InvalidArgumentError("labels", `one label per verdict (${verdicts.length})`, labels);
  const adjusted = holmVerdicts(verdicts);
  const strongest = adjusted.reduce((s, v, i) => (v.p < adjusted[s].p ? i : s), 0);
  const v = adjusted[strongest];
  const out: PairedVerdict = { ...v, test: `Holm over ${verdicts.length} comparisons (strongest: ${labels[strongest]}; ${v.test})` };
  // "At least one matters" fails as negligible only when every component is negligible.
  if (v.smallestEffectOfInterest !== undefined) out.negligible = verdicts.every((c) => c.negligible === true);
  return out;
}
