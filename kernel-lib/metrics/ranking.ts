/**
 * Rank statistics the notebooks need next to the concentration scores:
 *  - `spearman(x, y)`  Spearman's ρ with average ranks for ties (= Pearson correlation of the
 *    ranks). Use it to compare two scores (Gini vs L2, Gini vs kurtosis) without assuming a
 *    linear relation.
 *  - `rocAuc(scores, labels)`  ROC AUC as the Mann–Whitney probability that a random positive
 *    outscores a random negative, ties counting 1/2. Use it to ask whether a score separates a
 *    ground-truth label (PRISM's planted-conflict trajectories).
 * Both are O(n log n) through one sort; test/metrics.test.ts checks them against O(n²) pair loops.
 */

import { EmptyInputError, InvalidArgumentError, NonFiniteError, ShapeError } from "../errors";
import type { NumericVector } from "./concentration";

function checkFiniteVector(argument: string, values: NumericVector): void {
  if (values === null || typeof values !== "object" || typeof values.length !== "number") {
    throw new InvalidArgumentError(argument, "an array of numbers", values);
  }
  if (values.length === 0) throw new EmptyInputError(argument);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== "number" || !Number.isFinite(v)) throw new NonFiniteError(argument, i);
  }
}

/**
 * 1-based ranks, ties receiving the mean of the ranks they span (so [10, 20, 20, 30] → [1, 2.5, 2.5, 4]).
 */
export function averageRanks(values: NumericVector, argument = "values"): Float64Array {
  checkFiniteVector(argument, values);
  const n = values.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(n);
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && values[order[end]] === values[order[start]]) end++;
    const rank = (start + 1 + end) / 2; // mean of ranks start+1 … end
    for (let j = start; j < end; j++) ranks[order[j]] = rank;
    start = end;
  }
  return ranks;
}

/** Spearman's rank correlation ρ ∈ [−1, 1] of paired samples (average ranks for ties). */
export function spearman(x: NumericVector, y: NumericVector): number {
  checkFiniteVector("x", x);
  checkFiniteVector("y", y);
  if (x.length !== y.length) throw new ShapeError("y", `[${x.length}] (same length as x)`, [y.length]);
  const n = x.length;
  if (n < 2) throw new InvalidArgumentError("x", "at least 2 paired values (a correlation needs spread)", `${n} value`);
  const rx = averageRanks(x, "x"), ry = averageRanks(y, "y");
  const mean = (n + 1) / 2; // average ranks always sum to n(n+1)/2
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = rx[i] - mean, dy = ry[i] - mean;
    sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
  }
  if (sxx === 0) throw new InvalidArgumentError("x", "at least two distinct values (all values tie, so ρ is 0/0)", "constant");
  if (syy === 0) throw new InvalidArgumentError("y", "at least two distinct values (all values tie, so ρ is 0/0)", "constant");
  const rho = sxy / Math.sqrt(sxx * syy);
  return rho < -1 ? -1 : rho > 1 ? 1 : rho;
}

/** Labels as booleans: true/false or 1/0 (anything else is an error naming the index). */
function toBinaryLabels(labels: ArrayLike<number | boolean>, n: number): Uint8Array {
  if (labels === null || typeof labels !== "object" || typeof labels.length !== "number") {
    throw new InvalidArgumentError("labels", "an array of 0/1 or booleans", labels);
  }
  if (labels.length !== n) throw new ShapeError("labels", `[${n}] (same length as scores)`, [labels.length]);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = labels[i];
    if (v === true || v === 1) out[i] = 1;
    else if (v !== false && v !== 0) throw new InvalidArgumentError(`labels[${i}]`, "0, 1, true or false", v);
  }
  return out;
}

/**
 * ROC AUC = P(score of a random positive > score of a random negative) + ½·P(tie), computed as
 * the Mann–Whitney U from average ranks: (R₊ − n₊(n₊+1)/2) / (n₊·n₋). 0.5 = no separation,
 * 1 = every positive above every negative, 0 = every positive below.
 */
export function rocAuc(scores: NumericVector, labels: ArrayLike<number | boolean>): number {
  checkFiniteVector("scores", scores);
  const positive = toBinaryLabels(labels, scores.length);
  let nPos = 0;
  for (let i = 0; i < positive.length; i++) nPos += positive[i];
  const nNeg = scores.length - nPos;
  if (nPos === 0 || nNeg === 0) {
    throw new InvalidArgumentError("labels", "both classes present (AUC compares positives with negatives)", `${nPos} positive, ${nNeg} negative`);
  }
  const ranks = averageRanks(scores, "scores");
  let rankSumPos = 0;
  for (let i = 0; i < ranks.length; i++) if (positive[i]) rankSumPos += ranks[i];
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}
