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
  interval: { lo: number; hi: number; level: number; method: string } | null;
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
}

const OPTION_KEYS = ["alpha", "alternative", "clusters", "clusterScope", "clusterName", "unitName", "power", "seed", "resamples"];

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
  return {
    verdict: direction(result.p, estimate, alpha, alternative), p: result.p, test, n, clusters, sample, estimate,
    interval: interval === null ? null : { lo: interval.lo, hi: interval.hi, level, method: interval.method },
    minDetectableEffect: mde, smallestAttainableP: smallestAttainableP(units, alternative), alpha, alternative, pairs: differences.length, ties,
  };
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
 * adjusted p (the estimates, intervals and MDEs are unchanged).
 */
export function holmVerdicts(verdicts: readonly PairedVerdict[]): PairedVerdict[] {
  const adjusted = holmAdjust(verdicts.map((v) => v.p));
  return verdicts.map((v, i) => ({
    ...v, p: adjusted[i], pUnadjusted: v.p, correction: `Holm over ${verdicts.length}`,
    verdict: direction(adjusted[i], v.estimate, v.alpha, v.alternative),
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
  if (v.verdict !== "inconclusive") conclusion = v.verdict;
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
