/**
 * The exact k-NN graph's engine: cosine similarities of unit rows in blocks, each similarity
 * computed once. The matrix is symmetric, so only block pairs (I, J) with I ≤ J are multiplied —
 * half the N²·d work — and each value updates two rows' top-k lists: row i with neighbour j and
 * row j with neighbour i (within a diagonal block, only entries above its diagonal are used).
 *
 * Why the result does not depend on how the pairs are split (parallel/ runs them on several
 * threads): every similarity comes from exactly one block product, and a row's top-k is a pure
 * function of the set of (neighbour, similarity) candidates it sees under a total order —
 * higher similarity first, then lower index — so partial lists kept per thread and merged
 * (`mergeTopK`) equal the lists of one thread that saw every pair.
 */
import { tf } from "../tf";

/**
 * Running top-k lists for n rows: [n × k] indices and similarities, how many each holds, and
 * `floor[i]`, the similarity a candidate must reach to enter row i's list (−∞ until it is full) —
 * checked inline so that the ~N² candidates that cannot enter cost one comparison each.
 */
export interface TopK { n: number; k: number; index: Int32Array; similarity: Float64Array; count: Int32Array; floor: Float64Array }

export function emptyTopK(n: number, k: number): TopK {
  return { n, k, index: new Int32Array(n * k).fill(-1), similarity: new Float64Array(n * k), count: new Int32Array(n), floor: new Float64Array(n).fill(-Infinity) };
}

/** Offers neighbour j with similarity s to row i's list (kept sorted by the total order). */
function offer(top: TopK, i: number, j: number, s: number): void {
  const { k, index, similarity, count } = top;
  const base = i * k;
  const filled = count[i];
  if (filled === k) {
    const lastS = similarity[base + k - 1], lastJ = index[base + k - 1];
    if (!(s > lastS || (s === lastS && j < lastJ))) return;
  }
  let p = filled < k ? filled : k - 1;
  if (filled < k) count[i] = filled + 1;
  while (p > 0) {
    const prevS = similarity[base + p - 1], prevJ = index[base + p - 1];
    if (!(s > prevS || (s === prevS && j < prevJ))) break;
    similarity[base + p] = prevS;
    index[base + p] = prevJ;
    p--;
  }
  similarity[base + p] = s;
  index[base + p] = j;
  if (count[i] === k) top.floor[i] = similarity[base + k - 1];
}

/** The block pairs (I ≤ J) of n rows in blocks of `blockRows`, in row-major order. */
export function blockPairs(n: number, blockRows: number): Array<[number, number]> {
  const blocks = Math.ceil(n / blockRows);
  const pairs: Array<[number, number]> = [];
  for (let I = 0; I < blocks; I++) for (let J = I; J < blocks; J++) pairs.push([I, J]);
  return pairs;
}

/**
 * Runs block pairs of unit rows `unit` [n × d] into `top` (one backend matMul per pair, against
 * a transposed copy of block J made once per block).
 */
export function accumulatePairs(top: TopK, unit: Float32Array, d: number, blockRows: number, pairs: ReadonlyArray<readonly [number, number]>): void {
  const n = top.n;
  const span = (B: number): [number, number] => [B * blockRows, Math.min(n, (B + 1) * blockRows)];
  const left = new Map<number, tf.Tensor2D>(), right = new Map<number, tf.Tensor2D>();
  const leftOf = (I: number) => {
    let t = left.get(I);
    if (t === undefined) {
      const [a, b] = span(I);
      t = tf.tensor2d(unit.subarray(a * d, b * d), [b - a, d]);
      left.set(I, t);
    }
    return t;
  };
  const rightOf = (J: number) => {
    let t = right.get(J);
    if (t === undefined) {
      const [a, b] = span(J), rows = b - a;
      const transposed = new Float32Array(d * rows);
      for (let r = 0; r < rows; r++) for (let q = 0; q < d; q++) transposed[q * rows + r] = unit[(a + r) * d + q];
      t = tf.tensor2d(transposed, [d, rows]);
      right.set(J, t);
    }
    return t;
  };
  try {
    for (const [I, J] of pairs) {
      const [i0, i1] = span(I), [j0, j1] = span(J);
      const width = j1 - j0;
      const block = tf.matMul(leftOf(I), rightOf(J));
      const values = block.dataSync() as Float32Array;
      block.dispose();
      const floor = top.floor;
      for (let r = 0; r < i1 - i0; r++) {
        const i = i0 + r, row = r * width;
        for (let c = I === J ? r + 1 : 0; c < width; c++) {
          const s = values[row + c], j = j0 + c;
          // ≥: an equal similarity may still enter on the lower-index tie rule (offer decides).
          if (s >= floor[i]) offer(top, i, j, s);
          if (s >= floor[j]) offer(top, j, i, s);
        }
      }
    }
  } finally {
    for (const t of [...left.values(), ...right.values()]) t.dispose();
  }
}

/** Merges partial lists of the same rows (from different pair subsets) into `into`. */
export function mergeTopK(into: TopK, part: TopK): void {
  for (let i = 0; i < part.n; i++) {
    for (let q = 0; q < part.count[i]; q++) offer(into, i, part.index[i * part.k + q], part.similarity[i * part.k + q]);
  }
}
