/**
 * `pairedVerdict`: the one entry point every directional sentence of a notebook goes through.
 * Given paired differences (arm A − arm B on the same units), it picks the test that fits the
 * data, runs it, and says "positive" / "negative" only when p < alpha; otherwise "inconclusive",
 * with the minimum detectable effect so a reader sees what n could and could not have found.
 *
 * Which test:
 *  - no clusters: the sign-flip permutation test of the mean (exact for ≤ 20 non-zero differences,
 *    seeded Monte Carlo beyond); when every difference is −1, 0 or +1 (binary outcomes: task solved
 *    by A and not B) that test *is* the exact McNemar test and is named so. Interval: Student t.
 *  - clusters (e.g. tasks within seeds), scope "within" (default): the stratified sign-flip test —
 *    signs flip task by task within each seed, every seed weighs the same; generalises over the
 *    tasks given these seeds' trained models. Interval: stratified t.
 *  - clusters, scope "between": the differences are averaged per cluster first and the plain test
 *    runs on the cluster means — generalises over seeds, but needs ≥ 6 of them to ever reach
 *    p < 0.05 two-sided.
 * The sign of a mean alone never produces a verdict, and ties (all differences 0) say so.
 *
 * Significant is not the same as large enough to matter: with thousands of prompts a +0.0006
 * difference is significant. A caller who can say how small an effect stops mattering passes
 * `smallestEffectOfInterest` (δ > 0, in the differences' units); the direction then also needs the
 * interval to clear δ, and an interval inside (−δ, +δ) is reported as `negligible` — an
 * equivalence result (see `pairedVerdict`). Without δ nothing changes.
 * Calibration (false-positive rate under simulated nulls, per test × n × distribution) is pinned
 * by test/stats-calibration.test.ts — including that scope "within" is anti-conservative for a
 * claim about new seeds when the effect varies by seed.
 */
import { InvalidArgumentError, UnknownOptionError, assertKnownKeys } from "../errors";
import type { Rng, Seed } from "../random";
import { MeanInterval, meanAndVariance, stratifiedInterval, tInterval } from "./intervals";
import { checkDifferences, groupIndices, signFlipTest, stratifiedSignFlipTest, SignFlipResult } from "./permutation";
import { minDetectableEffect, smallestAttainableP } from "./power";
import { Alternative, checkAlternative } from "./sign-test";
import { holmAdjust } from "./holm";

/** The direction of a verdict. */
export type Direction = "positive" | "negative" | "inconclusive";

/** Options of `pairedVerdict` (all optional; defaults under `pairedVerdict`). */
export interface PairedVerdictOptions {
  /** Significance level (default 0.05). */
  alpha?: number;
  alternative?: Alternative;
  /** Cluster label of each difference (e.g. its seed); enables the clustered tests. */
  clusters?: ArrayLike<number | string>;
  /** "within" (stratified, default) or "between" (over cluster means). */
  clusterScope?: "within" | "between";
  /** What a cluster is, for the test's name (default "seed"). */
  clusterName?: string;
  /** What a unit is, for the test's name (default "pair"). */
  unitName?: string;
  /** Power for the minimum detectable effect (default 0.8). */
  power?: number;
  /** Seed of a Monte Carlo p-value (default 0). */
  seed?: Seed | Rng;
  /** Monte Carlo resamples (default 20000). */
  resamples?: number;
  /**
   * The smallest effect of interest δ: a positive number in the differences' units below which an
   * effect does not matter for the claim at hand (e.g. a fraction of the gap between the best and
   * the default arm, or the seed-to-seed spread). Unset (the default): the verdict depends on p
   * alone, as before. Set: "positive" needs p < alpha AND interval lo ≥ δ ("negative": hi ≤ −δ),
   * and an interval inside (−δ, +δ) sets `negligible` — see `pairedVerdict` for the rule and why.
   */
  smallestEffectOfInterest?: number;
}

/** A verdict's confidence interval: bounds, level, method, and the standard error and degrees of freedom it came from. */
export interface VerdictInterval {
  lo: number;
  hi: number;
  /** Confidence level, 1 − alpha. */
  level: number;
  /** "t" or "stratified t". */
  method: string;
  /** Standard error of the estimate (lets a family widen the interval, e.g. Bonferroni in `allOf`). */
  se?: number;
  /** Degrees of freedom of the t quantile. */
  df?: number;
}

/**
 * What `pairedVerdict` returns: the verdict, p, the test's name, the sample in words, the estimate
 * and interval, and the minimum detectable effect.
 */
export interface PairedVerdict {
  verdict: Direction;
  p: number;
  /** The test, named for a reader: "exact McNemar test", "stratified sign-flip permutation test (within seeds)", … */
  test: string;
  /** Paired units (differences); with scope "between", the number of clusters. */
  n: number;
  /** Clusters, when clustered. */
  clusters?: number;
  /** The sample in words: "128 tasks in 2 seeds", "5 seeds", "40 pairs". */
  sample: string;
  /** Mean difference (the mean of cluster means when stratified). */
  estimate: number;
  /** Confidence interval at level 1 − alpha (two-sided); null when n cannot give a spread. */
  interval: VerdictInterval | null;
  /** Smallest true effect detectable with `power` at `alpha`; Infinity when none is. */
  minDetectableEffect: number;
  /** Smallest p this test could produce at this n. */
  smallestAttainableP: number;
  alpha: number;
  alternative: Alternative;
  /** Differences given (paired units before any averaging per cluster). */
  pairs: number;
  /** Differences exactly 0 (ties). */
  ties: number;
  /** Set when a family correction changed p: the p before it, and the correction. */
  pUnadjusted?: number;
  correction?: string;
  /** The smallest effect of interest δ the verdict used; absent when none was given. */
  smallestEffectOfInterest?: number;
  /**
   * Present only with `smallestEffectOfInterest`: true when the interval lies inside (−δ, +δ), so
   * every effect the data allow is too small to matter (an equivalence result; `verdict` is then
   * "inconclusive" about a direction, since no direction that matters is left).
   */
  negligible?: boolean;
}

const OPTION_KEYS = ["alpha", "alternative", "clusters", "clusterScope", "clusterName", "unitName", "power", "seed", "resamples", "smallestEffectOfInterest"];

/**
 * The verdict on paired differences (arm A − arm B on the same units: tasks, prompts, examples):
 * picks the test that fits, runs it, and says "positive" / "negative" only when p < alpha, else
 * "inconclusive" — with the minimum detectable effect, so a reader sees what n could have found.
 * Use it for every directional sentence of a notebook ("A beats B"); {@link verdictText} prints it.
 *
 * Which test it runs:
 * - no `clusters`: the sign-flip permutation test of the mean (exact for ≤ 20 non-zero
 *   differences, seeded Monte Carlo beyond); with differences in {−1, 0, +1} (solved by A and not
 *   B) it is the exact McNemar test and named so. Interval: Student t.
 * - `clusters` (e.g. each difference's seed), `clusterScope: "within"` (default): the stratified
 *   sign-flip test, signs flipped unit by unit within each cluster, every cluster weighted the same.
 *   Generalises over units given these seeds' models (anti-conservative for new seeds when the
 *   effect varies by seed).
 * - `clusterScope: "between"`: the test on the per-cluster means — generalises over seeds, but
 *   needs ≥ 6 clusters to reach p < 0.05 two-sided.
 *
 * Defaults: `alpha: 0.05`, `alternative: "two-sided"`, `power: 0.8` for the detectable effect.
 * Pass `seed` when n is large enough for the Monte Carlo test, so the p-value is reproducible.
 *
 * **A smallest effect of interest** (`smallestEffectOfInterest: δ`, unset by default). A p-value
 * says whether an effect is there, not whether it matters; with many paired units a difference of
 * no practical consequence is significant. With δ set:
 * - "positive" needs p < alpha AND the interval's lower bound ≥ δ ("negative": upper bound ≤ −δ):
 *   every effect the data allow is at least δ in that direction;
 * - an interval entirely inside (−δ, +δ) sets `negligible: true` (verdict "inconclusive"): an
 *   equivalence result — whatever the sign, the effect is below what matters. This is the
 *   two-one-sided-tests (TOST) logic; using the 1 − alpha interval where TOST at level alpha needs
 *   only 1 − 2·alpha makes it conservative (each side errs at most alpha/2);
 * - anything else (significant, but the interval straddles δ; or not significant and wide) is
 *   "inconclusive".
 * Why the interval: "lower bound of the two-sided 1 − alpha t interval ≥ δ" is the one-sided t
 * test of the shifted null H0: effect ≤ δ at level alpha/2, and the same interval gives the
 * equivalence result, so one set of numbers answers "is it there?" and "does it matter?";
 * requiring p < alpha as well keeps the permutation test's calibration for the direction. So a
 * true effect at or below δ is called "positive" at most about alpha/2 of the time
 * (test/stats-calibration.test.ts simulates it). The interval is two-sided at 1 − alpha whatever
 * `alternative` is, so with a one-sided alternative the rule is more conservative still.
 *
 * @example
 * ```ts
 * const a = [0.61, 0.58, 0.70, 0.66, 0.59, 0.71, 0.64, 0.68];     // arm A per task
 * const b = [0.55, 0.57, 0.62, 0.60, 0.60, 0.65, 0.58, 0.61];     // arm B, same tasks
 * const seeds = [0, 0, 0, 0, 1, 1, 1, 1];
 * const v = lab.stats.pairedVerdict(a.map((x, i) => x - b[i]), { clusters: seeds, seed: 1 });
 * v.verdict;                                                       // "positive" (p = 0.023)
 * lab.stats.verdictText(v, { scale: 100, unit: "SR points" });     // "+4.88 SR points [95% CI …]; … — positive"
 * ```
 */
export function pairedVerdict(differences: ArrayLike<number>, options: PairedVerdictOptions = {}): PairedVerdict {
  checkDifferences(differences);
  assertKnownKeys("options", options, OPTION_KEYS);
  const alpha = options.alpha ?? 0.05;
  if (!(alpha > 0 && alpha < 1)) throw new InvalidArgumentError("options.alpha", "a number in (0, 1)", alpha);
  const alternative = checkAlternative("options.alternative", options.alternative);
  const sesoi = options.smallestEffectOfInterest;
  if (sesoi !== undefined && !(typeof sesoi === "number" && Number.isFinite(sesoi) && sesoi > 0)) throw new InvalidArgumentError("options.smallestEffectOfInterest", "a positive finite number in the differences' units", sesoi);
  const scope = options.clusterScope ?? "within";
  if (scope !== "within" && scope !== "between") throw new UnknownOptionError("options.clusterScope", String(scope), ["within", "between"]);
  const clusterName = options.clusterName ?? "seed";
  const unitName = options.unitName ?? "pair";
  const flip = { alternative, seed: options.seed, resamples: options.resamples };
  const level = 1 - alpha;
  const binary = Array.from(differences).every((d) => d === 0 || d === 1 || d === -1);
  const ties = Array.from(differences).filter((d) => d === 0).length;

  let result: SignFlipResult, interval: MeanInterval | null, units: number, n: number, clusters: number | undefined, test: string, sample: string;
  let equalWeights = options.clusters === undefined; // every unit weighs 1/n in the estimate
  const plural = (k: number, word: string) => `${k} ${word}${k === 1 ? "" : "s"}`;
  if (options.clusters === undefined) {
    result = signFlipTest(differences, flip);
    interval = tInterval(differences, level);
    n = units = differences.length;
    test = binary ? "exact McNemar test" : `${methodName(result)} sign-flip permutation test`;
    sample = plural(n, unitName);
  } else {
    const groups = [...groupIndices(options.clusters, differences.length, "options.clusters").values()];
    clusters = groups.length;
    if (scope === "within") {
      equalWeights = groups.every((g) => g.length === groups[0].length);
      result = stratifiedSignFlipTest(differences, options.clusters, flip);
      interval = stratifiedInterval(differences, options.clusters, level);
      n = units = differences.length;
      test = binary && result.method === "closed form" ? `stratified exact McNemar test (${unitName}s within ${clusterName}s)`
        : `stratified ${methodName(result)} sign-flip permutation test (${unitName}s within ${clusterName}s)`;
      sample = `${plural(n, unitName)} in ${plural(clusters, clusterName)}`;
    } else {
      const means = groups.map((members) => meanAndVariance(members.map((i) => differences[i])).mean);
      result = signFlipTest(means, flip);
      interval = tInterval(means, level);
      n = units = means.length;
      test = `${methodName(result)} sign-flip permutation test over ${clusterName} means`;
      sample = `${plural(n, clusterName)} (${plural(differences.length, unitName)})`;
    }
  }
  const estimate = result.statistic;
  const fallbackSe = Math.sqrt(meanAndVariance(differences).variance / differences.length);
  let mde = minDetectableEffect({ se: interval?.se ?? fallbackSe, df: interval?.df ?? Math.max(1, n - 1), units, alpha, power: options.power, alternative });
  // Binary outcomes, equally weighted units: the test is a sign test, and no estimate below k/n can
  // reach p < alpha (k = fewest discordant units, all one way, that can), so no smaller effect is
  // detectable — whatever the observed SE says (0 for a tie, tiny with few discordant pairs).
  if (binary && equalWeights) mde = Math.max(mde, fewestSignificantUnits(alpha, alternative) / differences.length);
  const shown: VerdictInterval | null = interval === null ? null : { lo: interval.lo, hi: interval.hi, level, method: interval.method, se: interval.se, df: interval.df };
  const verdict: PairedVerdict = {
    verdict: decide(result.p, estimate, alpha, alternative, shown, sesoi), p: result.p, test, n, clusters, sample, estimate,
    interval: shown,
    minDetectableEffect: mde, smallestAttainableP: smallestAttainableP(units, alternative), alpha, alternative, pairs: differences.length, ties,
  };
  if (sesoi !== undefined) { verdict.smallestEffectOfInterest = sesoi; verdict.negligible = insideMargin(shown, sesoi); }
  return verdict;
}

/** Whether an interval lies strictly inside (−δ, +δ) (false without an interval). */
export function insideMargin(interval: { lo: number; hi: number } | null, smallestEffectOfInterest: number): boolean {
  return interval !== null && interval.lo > -smallestEffectOfInterest && interval.hi < smallestEffectOfInterest;
}

/** The direction from p, then, with a smallest effect of interest δ, only if the interval clears δ on that side. */
function decide(p: number, estimate: number, alpha: number, alternative: Alternative, interval: { lo: number; hi: number } | null, sesoi: number | undefined): Direction {
  const d = direction(p, estimate, alpha, alternative);
  if (sesoi === undefined || d === "inconclusive") return d;
  if (interval === null) return "inconclusive";
  if (d === "positive") return interval.lo >= sesoi ? d : "inconclusive";
  return interval.hi <= -sesoi ? d : "inconclusive";
}

/** Fewest same-signed non-zero units whose sign-flip p can fall below alpha. */
function fewestSignificantUnits(alpha: number, alternative: Alternative): number {
  let k = 0;
  while (smallestAttainableP(k, alternative) >= alpha) k++;
  return k;
}

function methodName(r: SignFlipResult): string {
  return r.method === "monte carlo" ? `Monte Carlo (${r.patterns} resamples)` : "exact";
}

function direction(p: number, estimate: number, alpha: number, alternative: Alternative): Direction {
  if (!(p < alpha) || estimate === 0) return "inconclusive";
  if (alternative === "greater") return estimate > 0 ? "positive" : "inconclusive";
  if (alternative === "less") return estimate < 0 ? "negative" : "inconclusive";
  return estimate > 0 ? "positive" : "negative";
}

/**
 * Holm-corrects a family of verdicts tested together and recomputes each direction from its
 * adjusted p (the estimates, intervals and MDEs are unchanged). A verdict made with a smallest
 * effect of interest keeps that rule (the direction still needs the interval to clear δ) and its
 * `negligible` flag, which rests on the interval, not on p.
 */
export function holmVerdicts(verdicts: readonly PairedVerdict[]): PairedVerdict[] {
  const adjusted = holmAdjust(verdicts.map((v) => v.p));
  return verdicts.map((v, i) => ({
    ...v, p: adjusted[i], pUnadjusted: v.p, correction: `Holm over ${verdicts.length}`,
    verdict: decide(adjusted[i], v.estimate, v.alpha, v.alternative, v.interval, v.smallestEffectOfInterest),
  }));
}

/** Options of `verdictText`: scale, unit and digits of the printed numbers. */
export interface VerdictTextOptions {
  /** Multiplies estimates (e.g. 100 for success rates in points). */
  scale?: number;
  /** Unit after the numbers, e.g. "SR points". */
  unit?: string;
  digits?: number;
}

/**
 * One sentence fragment for a verdict: "+3.1 SR points [95% CI −1.0, +7.2]; exact McNemar test,
 * n = 128 pairs, p = 0.21 — inconclusive (n detects only effects above 9.8 SR points)".
 */
export function verdictText(v: PairedVerdict, options: VerdictTextOptions = {}): string {
  assertKnownKeys("options", options, ["scale", "unit", "digits"]);
  const scale = options.scale ?? 1, digits = options.digits ?? 2, unit = options.unit ? ` ${options.unit}` : "";
  const num = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(scale * x).toFixed(digits)}`;
  const ci = v.interval === null ? "no interval at this n" : `${Math.round(100 * v.interval.level)}% CI ${num(v.interval.lo)}, ${num(v.interval.hi)}`;
  const p = `p = ${formatP(v.p)}${v.correction ? ` (${v.correction})` : ""}`;
  let conclusion: string;
  const margin = v.smallestEffectOfInterest === undefined ? "" : `${Math.abs(scale * v.smallestEffectOfInterest).toFixed(digits)}${unit}`;
  if (v.verdict !== "inconclusive") conclusion = margin === "" ? v.verdict : `${v.verdict} (the interval clears the smallest effect of interest, ${margin})`;
  else if (v.negligible === true) conclusion = `negligible (the interval lies inside ±${margin}, the smallest effect of interest${v.p < v.alpha ? `; significant, p < ${v.alpha}, but too small to matter` : ""})`;
  else if (margin !== "" && v.p < v.alpha && v.estimate !== 0) conclusion = `inconclusive (significant, p < ${v.alpha}, but the interval reaches below the smallest effect of interest, ${margin})`;
  else if (v.ties === v.pairs) conclusion = `tie (all ${v.pairs} differences are 0)`;
  else if (!Number.isFinite(v.minDetectableEffect)) conclusion = `inconclusive (at this n the test cannot reach p < ${v.alpha}: smallest attainable p = ${formatP(v.smallestAttainableP)})`;
  else conclusion = `inconclusive (this n detects only effects above ${Math.abs(scale * v.minDetectableEffect).toFixed(digits)}${unit})`;
  return `${num(v.estimate)}${unit} [${ci}]; ${v.test}, n = ${v.sample}, ${p} — ${conclusion}`;
}

/** p-values for text: 3 decimals from 0.001, one significant digit in exponent form below, "< 1e-6" below that. */
export function formatP(p: number): string {
  if (p < 1e-6) return "< 1e-6";
  return p >= 0.001 ? p.toFixed(3) : p.toExponential(1);
}
