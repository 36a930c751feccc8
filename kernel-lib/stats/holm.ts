/**
 * Holm's step-down correction (Holm 1979) for a family of claims tested together — e.g. PRISM vs
 * its Inverse for each of three metrics: sort the k p-values, multiply the i-th smallest by
 * (k − i + 1), carry the running maximum so adjusted p-values keep their order, cap at 1. It
 * controls the family-wise error rate at alpha under any dependence between the tests.
 */
import { EmptyInputError, InvalidArgumentError } from "../errors";

/** Holm-adjusted p-values, in the order given. */
export function holmAdjust(pValues: readonly number[]): number[] {
  if (!Array.isArray(pValues)) throw new InvalidArgumentError("pValues", "an array of p-values", pValues);
  if (pValues.length === 0) throw new EmptyInputError("pValues", "at least one p-value");
  pValues.forEach((p, i) => { if (!(p >= 0 && p <= 1)) throw new InvalidArgumentError(`pValues[${i}]`, "a p-value in [0, 1]", p); });
  const k = pValues.length;
  const order = pValues.map((_, i) => i).sort((a, b) => pValues[a] - pValues[b]);
  const adjusted = new Array<number>(k);
  let running = 0;
  order.forEach((index, rank) => {
    running = Math.max(running, Math.min(1, (k - rank) * pValues[index]));
    adjusted[index] = running;
  });
  return adjusted;
}
