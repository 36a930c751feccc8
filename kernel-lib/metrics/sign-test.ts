/**
 * Exact two-sided sign test for paired binary outcomes (e.g. the same evaluation tasks solved
 * before and after a training phase): only the changed pairs count — `gained` turned 0 → 1,
 * `lost` turned 1 → 0 — and under "no effect" each change is a fair coin.
 *
 *   p = min(1, 2 · P[Binomial(gained + lost, ½) ≤ min(gained, lost)]),  p = 1 with no changes.
 *
 * Computed in log space (lgamma-free: a running log of binomial coefficients), so hundreds of
 * changed pairs neither overflow nor underflow to a wrong 0.
 */
import { InvalidArgumentError } from "../errors";

export function signTest(gained: number, lost: number): number {
  for (const [name, v] of [["gained", gained], ["lost", lost]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new InvalidArgumentError(name, "a non-negative integer count", v);
  }
  const n = gained + lost;
  if (n === 0) return 1;
  const k = Math.min(gained, lost);
  // log C(n, j) − n·log 2, summed for j = 0…k with log-sum-exp.
  const terms: number[] = [];
  let logChoose = 0;
  for (let j = 0; j <= k; j++) {
    if (j > 0) logChoose += Math.log(n - j + 1) - Math.log(j);
    terms.push(logChoose - n * Math.LN2);
  }
  const top = Math.max(...terms);
  const tail = Math.exp(top) * terms.reduce((s, t) => s + Math.exp(t - top), 0);
  return Math.min(1, 2 * tail);
}
