/**
 * Power: the smallest true effect a test at the n in hand would detect with the given power
 * (default 80%) at level alpha — the minimum detectable effect (MDE). A verdict that is
 * "inconclusive" quotes it, so "no difference found" is never mistaken for "no difference".
 *
 *   MDE = (t_{1−α/2, df} + t_{power, df}) · SE      (one-sided: t_{1−α, df})
 *
 * the standard normal-theory formula with the observed standard error (Cohen 1988, ch. 2). It is
 * Infinity when the exact permutation test cannot reach alpha at all: with n sign-flippable
 * units the smallest attainable p is 2/2ⁿ two-sided (1/2ⁿ one-sided), so 5 seeds can never give
 * p < 0.05 two-sided, whatever the effect.
 */
import { InvalidArgumentError } from "../errors";
import { studentTQuantile } from "./distributions";
import { ALTERNATIVES, type Alternative } from "./sign-test";
import { checkOptions, option } from "../options";

/** Smallest p a sign-flip test over `units` independent units can produce. */
export function smallestAttainableP(units: number, alternative: Alternative = "two-sided"): number {
  if (!Number.isInteger(units) || units < 0) throw new InvalidArgumentError("units", "a non-negative integer", units);
  return Math.min(1, (alternative === "two-sided" ? 2 : 1) / 2 ** units);
}

/** Options of `minDetectableEffect`: the standard error, degrees of freedom, units, alpha and power. */
export interface MdeOptions {
  /** Standard error of the estimate at the n in hand. */
  se: number;
  /** Degrees of freedom of that standard error (Infinity for a normal quantile). */
  df: number;
  /** Independent units whose signs the test flips (decides the smallest attainable p). */
  units: number;
  alpha?: number;
  power?: number;
  alternative?: Alternative;
}

/** The minimum detectable effect (same units as the estimate); Infinity when undetectable. */
export function minDetectableEffect(options: MdeOptions): number {
  if (options === undefined) throw new InvalidArgumentError("options", "{se, df, units}");
  // se and df are not checked: a NaN or zero df (no spread to estimate) answers Infinity below.
  checkOptions("options", options, { se: option.any, df: option.any, units: option.nonNegativeInteger, alpha: option.any, power: option.any, alternative: option.oneOf(ALTERNATIVES) });
  const { se, df, units } = options;
  const alpha = options.alpha ?? 0.05, power = options.power ?? 0.8, alternative = options.alternative ?? "two-sided";
  if (!(alpha > 0 && alpha < 1)) throw new InvalidArgumentError("options.alpha", "a number in (0, 1)", alpha);
  if (!(power > 0 && power < 1)) throw new InvalidArgumentError("options.power", "a number in (0, 1)", power);
  if (smallestAttainableP(units, alternative) >= alpha) return Infinity;
  if (!(se >= 0) || !(df > 0)) return Infinity;
  const crit = studentTQuantile(alternative === "two-sided" ? 1 - alpha / 2 : 1 - alpha, df);
  return (crit + studentTQuantile(power, df)) * se;
}
