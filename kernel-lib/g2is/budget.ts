/**
 * G2IS step 2, budgets: B = floor(N · trainK) items in total, b_i = floor(B · w_i) per component,
 * and the B − Σ b_i leftover units go one each to the components with the largest remainders
 * B·w_i − b_i, so Σ b_i = B exactly (the largest-remainder method of the official code).
 *
 * Defaults follow the official code; the alternatives are options:
 *  - remainder ties: the official `np.argsort(fractional)[::-1]` hands a tied unit to the HIGHER
 *    component index (numpy sorts arrays of ≤ 16 entries stably; no G2IS run has more components
 *    with tied remainders); "lower-index" is the other rule.
 *  - floors: the official code floors bare (`int(N * train_k)`, `np.floor(B * w)`), so 0.29 · 100 =
 *    28.999999999999996 gives 28; "tolerant" forgives a relative 1e-9 below an integer (gives 29).
 */
import { EmptyInputError, InvalidArgumentError, assertOneOf } from "../errors";
import { checkOptions, option } from "../options";
import { assertInRange } from "./rows";

/** Remainder tie rules of `splitBudget`. */
export const REMAINDER_TIES = ["higher-index", "lower-index"] as const;
/** Which component gets a leftover unit when remainders tie: "higher-index" is numpy's (official). */
export type RemainderTies = (typeof REMAINDER_TIES)[number];
/** Floor rules of `totalBudget` / `splitBudget`. */
export const BUDGET_FLOORS = ["bare", "tolerant"] as const;
/** "bare": Math.floor as the official int()/np.floor; "tolerant": forgives 1e-9 relative below an integer. */
export type BudgetFloor = (typeof BUDGET_FLOORS)[number];

/** What `componentBudgets` returns: the total budget B and its split over the components (Σ b_i = B). */
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

function floorBy(rule: BudgetFloor): (x: number) => number {
  return rule === "tolerant" ? tolerantFloor : Math.floor;
}

/** B = floor(N · trainK) for trainK ∈ (0, 1]; `floor` "bare" (official, default) or "tolerant". */
export function totalBudget(poolSize: number, trainK: number, floor: BudgetFloor = "bare"): number {
  if (!Number.isInteger(poolSize) || poolSize < 1) throw new InvalidArgumentError("poolSize", "a positive integer", poolSize);
  assertInRange("trainK", trainK, 0, 1, true);
  assertOneOf("floor", floor, BUDGET_FLOORS);
  return floorBy(floor)(poolSize * trainK);
}

/**
 * Splits `total` over components by the largest-remainder method. Weights are renormalised to sum 1.
 * `ties` (default "higher-index", numpy's) decides who gets a unit when remainders are equal.
 */
export function splitBudget(total: number, weights: readonly number[], ties: RemainderTies = "higher-index", floor: BudgetFloor = "bare"): number[] {
  if (!Number.isInteger(total) || total < 0) throw new InvalidArgumentError("total", "a non-negative integer", total);
  if (!Array.isArray(weights)) throw new InvalidArgumentError("weights", "an array of non-negative numbers", weights);
  if (weights.length === 0) throw new EmptyInputError("weights", "at least one component weight");
  let sum = 0;
  weights.forEach((w, i) => {
    if (typeof w !== "number" || !Number.isFinite(w) || w < 0) throw new InvalidArgumentError(`weights[${i}]`, "a finite number ≥ 0", w);
    sum += w;
  });
  if (!(sum > 0)) throw new InvalidArgumentError("weights", "a positive sum", sum);
  assertOneOf("ties", ties, REMAINDER_TIES);
  assertOneOf("floor", floor, BUDGET_FLOORS);
  const exact = weights.map((w) => (total * w) / sum);
  const budgets = exact.map((x) => Math.min(total, floorBy(floor)(x)));
  let leftover = total - budgets.reduce((a, b) => a + b, 0);
  if (leftover < 0) { // the slack rounded up one unit too many somewhere: take it back from the smallest remainders
    const byRemainder = exact.map((_, i) => i).sort((a, b) => (exact[a] - budgets[a]) - (exact[b] - budgets[b]) || b - a);
    for (const i of byRemainder) { if (leftover === 0) break; if (budgets[i] > 0) { budgets[i]--; leftover++; } }
  }
  const tieOrder = ties === "higher-index" ? (a: number, b: number) => b - a : (a: number, b: number) => a - b;
  const order = exact.map((_, i) => i).sort((a, b) => ((exact[b] - budgets[b]) - (exact[a] - budgets[a])) || tieOrder(a, b));
  for (let r = 0; r < leftover; r++) budgets[order[r % order.length]]++;
  return budgets;
}

/** Options of `componentBudgets`. */
export interface ComponentBudgetOptions {
  /** Fraction of the pool, B = floor(N·trainK). Default 0.01. */
  trainK?: number;
  /** Absolute B instead of trainK. */
  budget?: number;
  /** Remainder tie rule (default "higher-index", official). */
  remainderTies?: RemainderTies;
  /** Floor rule (default "bare", official). */
  budgetFloor?: BudgetFloor;
}

/** B from (N, trainK) — or an explicit `budget` — split over the component weights. */
export function componentBudgets(poolSize: number, weights: readonly number[], options: ComponentBudgetOptions = {}): ComponentBudgets {
  checkOptions("options", options, { // trainK / budget values are checked below, against poolSize
    trainK: option.any, budget: option.any, remainderTies: option.oneOf(REMAINDER_TIES), budgetFloor: option.oneOf(BUDGET_FLOORS),
  });
  const floor = options.budgetFloor ?? "bare";
  let total: number;
  if (options.budget !== undefined) {
    if (!Number.isInteger(options.budget) || options.budget < 1) throw new InvalidArgumentError("options.budget", "a positive integer", options.budget);
    total = options.budget;
  } else {
    total = totalBudget(poolSize, options.trainK ?? 0.01, floor);
    if (total < 1) throw new InvalidArgumentError("options.trainK", `a fraction with floor(N · trainK) ≥ 1 (N = ${poolSize})`, options.trainK ?? 0.01);
  }
  if (total > poolSize) throw new InvalidArgumentError("options.budget", `at most the pool size ${poolSize}`, total);
  return { total, budgets: splitBudget(total, weights, options.remainderTies ?? "higher-index", floor) };
}
