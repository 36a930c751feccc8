/**
 * Shared plumbing for the selection modules: validated feature rows packed into one contiguous
 * row-major Float32Array (so the walk and the graph index rows without chasing pointers), unit
 * normalisation that keeps all-zero rows at zero (the official G2IS code divides a zero row by
 * 1e-10, which leaves it zero), float64 dot products, and deterministic rankings.
 *
 * Rankings break ties by the lower index everywhere, so a selection never depends on the sort
 * implementation.
 */
import { EmptyInputError, InvalidArgumentError, ShapeError } from "../errors";
import { checkArrayRows } from "../features/inputs";
import { tf } from "../tf";

/** One Float32Array per example (pool or target feature rows). */
export type FeatureRows = readonly Float32Array[];

/** Target rows grouped by subtask: an array of groups, or a record keyed by subtask name. */
export type TargetSubtasks = readonly FeatureRows[] | Readonly<Record<string, FeatureRows>>;

export interface PackedRows {
  n: number;
  d: number;
  /** Row-major [n × d]. */
  data: Float32Array;
}

/** Validates rows (non-empty, equal width, finite) and copies them into one buffer. */
export function packRows(argument: string, rows: FeatureRows, width?: number): PackedRows {
  const d = checkRowsNamed(argument, rows, width);
  const data = new Float32Array(rows.length * d);
  for (let i = 0; i < rows.length; i++) data.set(rows[i], i * d);
  return { n: rows.length, d, data };
}

/**
 * Like features/inputs' checkArrayRows, but a width mismatch on the first row is reported as a
 * ShapeError naming `argument` (with what it must match), not an InvalidArgumentError.
 */
export function checkRowsNamed(argument: string, rows: FeatureRows, width?: number, widthSource?: string): number {
  if (!Array.isArray(rows)) throw new InvalidArgumentError(argument, "an array of Float32Array rows", rows);
  if (rows.length === 0) throw new EmptyInputError(argument, "at least one row");
  if (width !== undefined && rows[0] instanceof Float32Array && rows[0].length !== width) {
    throw new ShapeError(`${argument}[0]`, `[${width}]${widthSource ? ` (the width of ${widthSource})` : ""}`, [rows[0].length]);
  }
  return checkArrayRows(argument, rows, width);
}

/** Unit-normalised copy of packed rows (float64 norms); zero rows stay zero. Also returns the norms. */
export function normalizePacked(rows: PackedRows): { data: Float32Array; norms: Float64Array } {
  const { n, d, data } = rows, out = new Float32Array(n * d), norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = i * d, end = k + d; k < end; k++) s += data[k] * data[k];
    const norm = Math.sqrt(s);
    norms[i] = norm;
    if (norm === 0) continue;
    for (let k = i * d, end = k + d; k < end; k++) out[k] = data[k] / norm;
  }
  return { data: out, norms };
}

/** Σ_k a[aOff+k]·b[bOff+k] in float64. */
export function dotAt(a: ArrayLike<number>, aOffset: number, b: ArrayLike<number>, bOffset: number, d: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) s += a[aOffset + k] * b[bOffset + k];
  return s;
}

/** Flattens grouped targets into (names, groups) in a fixed order (array order, or record key order). */
export function namedGroups(argument: string, targets: TargetSubtasks): { names: string[]; groups: FeatureRows[] } {
  if (typeof targets !== "object" || targets === null) throw new InvalidArgumentError(argument, "an array of row groups or a record of them", targets);
  const entries: [string, FeatureRows][] = Array.isArray(targets)
    ? (targets as readonly FeatureRows[]).map((g, i) => [String(i), g])
    : Object.entries(targets as Record<string, FeatureRows>);
  if (entries.length === 0) throw new EmptyInputError(argument, "at least one subtask");
  for (const [name, group] of entries) {
    if (!Array.isArray(group)) throw new InvalidArgumentError(`${argument}.${name}`, "an array of Float32Array rows", group);
    if (group.length === 0) throw new EmptyInputError(`${argument}.${name}`, "at least one target example");
  }
  return { names: entries.map((e) => e[0]), groups: entries.map((e) => e[1]) };
}

/** Either plain rows or grouped rows → all rows, in group order. */
export function flattenTargets(argument: string, targets: FeatureRows | TargetSubtasks): FeatureRows {
  if (Array.isArray(targets) && (targets.length === 0 || targets[0] instanceof Float32Array)) {
    if (targets.length === 0) throw new EmptyInputError(argument, "at least one target row");
    return targets as FeatureRows;
  }
  return namedGroups(argument, targets as TargetSubtasks).groups.flat();
}

/** Indices sorted by descending score, ties by ascending index. */
export function argsortDescending(scores: ArrayLike<number>): Int32Array {
  const order = Int32Array.from({ length: scores.length }, (_, i) => i);
  order.sort((a, b) => (scores[b] - scores[a]) || (a - b));
  return order;
}

/**
 * The k highest-scoring indices, best first, ties by lower index; O(n·k) worst case but O(n) for
 * the typical k ≪ n (most scores fail the threshold test).
 */
export function topKIndices(scores: ArrayLike<number>, k: number, argument = "k"): number[] {
  if (!Number.isInteger(k) || k < 0 || k > scores.length) throw new InvalidArgumentError(argument, `an integer in [0, ${scores.length}]`, k);
  const idx: number[] = [], val: number[] = [];
  for (let i = 0; i < scores.length && k > 0; i++) {
    const v = scores[i];
    if (Number.isNaN(v)) throw new InvalidArgumentError("scores", "no NaN", `NaN at ${i}`);
    if (idx.length === k && !(v > val[k - 1])) continue; // a tie keeps the earlier (lower) index
    let p = idx.length === k ? k - 1 : idx.length;
    while (p > 0 && val[p - 1] < v) p--;
    if (idx.length === k) { idx.pop(); val.pop(); }
    idx.splice(p, 0, i);
    val.splice(p, 0, v);
  }
  return idx;
}

export function assertInRange(argument: string, value: unknown, low: number, high: number, lowOpen: boolean): asserts value is number {
  if (typeof value !== "number" || !Number.isFinite(value) || (lowOpen ? value <= low : value < low) || value > high) {
    throw new InvalidArgumentError(argument, `a number in ${lowOpen ? "(" : "["}${low}, ${high}]`, value);
  }
}

/**
 * Streams L·Rᵀ for row-major L [n × d] and R [m × d] in blocks of `blockRows` rows of L:
 * `onBlock(rowStart, values, rows)` gets row-major [rows × m] (valid only during the call).
 * R is uploaded once, already transposed to [d × m]: tfjs-wasm's matMul with transposeB = true
 * measured ~10× slower here (5000 × 512 self-product: 19 s against 1.9 s; LESS with 20k pool
 * rows × 64 targets: 2 s against 0.1 s per checkpoint), which is why this does not go through
 * features' forEachCosineBlock. Pass unit rows to get cosines.
 */
export function forEachProductBlock(
  left: Float32Array, n: number, d: number, right: Float32Array, m: number, blockRows: number,
  onBlock: (rowStart: number, values: Float32Array, rows: number) => void,
): void {
  const transposed = new Float32Array(d * m);
  for (let j = 0; j < m; j++) for (let q = 0; q < d; q++) transposed[q * m + j] = right[j * d + q];
  const rightT = tf.tensor2d(transposed, [d, m]);
  try {
    for (let start = 0; start < n; start += blockRows) {
      const end = Math.min(n, start + blockRows);
      const block = tf.tidy(() => tf.matMul(tf.tensor2d(left.subarray(start * d, end * d), [end - start, d]), rightT));
      const values = block.dataSync() as Float32Array;
      block.dispose();
      onBlock(start, values, end - start);
    }
  } finally {
    rightT.dispose();
  }
}
