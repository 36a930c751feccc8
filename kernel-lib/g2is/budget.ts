/**
 * G2IS step 2, budgets: B = floor(N · trainK) items in total, b_i = floor(B · w_i) per component,
 * and the B − Σ b_i leftover units go one each to the components with the largest remainders
 * B·w_i − b_i (ties → lower component index), so Σ b_i = B exactly (the largest-remainder
 * method, as in the official code).
 *
 * Floors carry a relative slack of 1e-9: in binary floating point 0.29 · 100 is 28.999999999999996,
 * and a bare floor would give 1% of 300 or 29% of 100 one item short. The official code uses a
 * bare `int(N * train_k)`; the slack only changes such representation artefacts.
 */
import { EmptyInputError, InvalidArgumentError } from "../errors";
import { checkOptions, option } from "../options";
import { assertInRange } from "./rows";

export interface ComponentBudgets {
  /** B. */
  total: number;
  /** b_i, one per weight; Σ b_i = B. */
  budgets: number[];
}

/** floor(x) that forgives representation error just below an integer. */
export function tolerantFloor(x: number): number {
  return Math.floor(x + 1e-9 * Math.max(1, Math.abs(x)));
}

/** B = floor(N · trainK) for trainK ∈ (0, 1]. */
export function totalBudget(poolSize: number, trainK: number): number {
  if (!Number.isInteger(poolSize) || poolSize < 1) throw new InvalidArgumentError("poolSize", "a positive integer", poolSize);
  assertInRange("trainK", trainK, 0, 1, true);
  return tolerantFloor(poolSize * trainK);
}

/** Splits `total` over components by the largest-remainder method. Weights are renormalised to sum 1. */
export function splitBudget(total: number, weights: readonly number[]): number[] {
  if (!Number.isInteger(total) || total < 0) throw new InvalidArgumentError("total", "a non-negative integer", total);
  if (!Array.isArray(weights)) throw new InvalidArgumentError("weights", "an array of non-negative numbers", weights);
  if (weights.length === 0) throw new EmptyInputError("weights", "at least one component weight");
  let sum = 0;
  weights.forEach((w, i) => {
    if (typeof w !== "number" || !Number.isFinite(w) || w < 0) throw new InvalidArgumentError(`weights[${i}]`, "a finite number ≥ 0", w);
    sum += w;
  });
  if (!(sum > 0)) throw new InvalidArgumentError("weights", "a positive sum", sum);
  const exact = weights.map((w) => (total * w) / sum);
  const budgets = exact.map((x) => Math.min(total, tolerantFloor(x)));
  let leftover = total - budgets.reduce((a, b) => a + b, 0);
  if (leftover < 0) { // the slack rounded up one unit too many somewhere: take it back from the smallest remainders
    const byRemainder = exact.map((_, i) => i).sort((a, b) => (exact[a] - budgets[a]) - (exact[b] - budgets[b]) || b - a);
    for (const i of byRemainder) { if (leftover === 0) break; if (budgets[i] > 0) { budgets[i]--; leftover++; } }
  }
  const order = exact.map((_, i) => i).sort((a, b) => ((exact[b] - budgets[b]) - (exact[a] - budgets[a])) || a - b);
  for (let r = 0; r < leftover; r++) budgets[order[r % order.length]]++;
  return budgets;
}

/** B from (N, trainK) — or an explicit `budget` — split over the component weights. */
export function componentBudgets(poolSize: number, weights: readonly number[], options: { trainK?: number; budget?: number } = {}): ComponentBudgets {
  checkOptions("options", options, { trainK: option.any, budget: option.any }); // values checked below, against poolSize
  let total: number;
  if (options.budget !== undefined) {
    if (!Number.isInteger(options.budget) || options.budget < 1) throw new InvalidArgumentError("options.budget", "a positive integer", options.budget);
    total = options.budget;
  } else {
    total = totalBudget(poolSize, options.trainK ?? 0.01);
    if (total < 1) throw new InvalidArgumentError("options.trainK", `a fraction with floor(N · trainK) ≥ 1 (N = ${poolSize})`, options.trainK ?? 0.01);
  }
  if (total > poolSize) throw new InvalidArgumentError("options.budget", `at most the pool size ${poolSize}`, total);
  return { total, budgets: splitBudget(total, weights) };
}
