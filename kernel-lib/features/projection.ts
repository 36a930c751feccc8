/**
 * Seeded random projection of per-example gradients from P to d dimensions (the LESS/TRAK step
 * that turns million-dimensional gradients into comparable d-dimensional features).
 *
 * Which strategy when:
 *  - `project(rows)` when all examples are in memory: each block of the projection matrix is
 *    generated once and applied to every example (in row chunks of `batchSize`).
 *  - `projectBatch(batch)` when examples stream in (e.g. straight out of a per-example gradient
 *    loop) and cannot all be held: call it per batch; it regenerates the blocks each call unless
 *    `cacheBytes` is large enough to keep them (P·d·4 bytes keeps the whole matrix). Generation
 *    costs about as much as multiplying ~100 examples, so stream in batches of ≥ 64, or cache.
 *  - `projectGroups(batch)` when a gradient is naturally several named tensors (LoRA A and B of
 *    each layer): they are treated as concatenated in the order given at construction (group k
 *    starts at offset Σ_{j<k} size_j) without ever concatenating them in memory.
 *  - `explicitProjectionMatrix` builds the whole P×d matrix in plain JS: a slow oracle for tests.
 *
 * The matrix R (P×d) is never held whole: rows [b·blockRows, (b+1)·blockRows) form block b, whose
 * entries come from an Rng stream derived from (seed, kind, d, blockRows, b) alone. So block b is
 * identical whatever order or subset of blocks is generated, and two projectors with the same
 * (seed, kind, outputDim, blockRows) share R on their common rows, even for different P. Changing
 * blockRows changes R. Entries are ±1/√d (Rademacher) or N(0,1)/√d (Gaussian), so E[RRᵀ] = I and
 * projected inner products are unbiased; a row of the output is xᵀR. Within a block the stream is
 * read column-major (entry (i, j) is position j·blockRows + i); Rademacher signs use all 32 bits
 * of each draw (bit k of word w is position 32w + k, 1 → +).
 */
import { tf } from "../tf";
import { Rng, Seed } from "../random";
import { InvalidArgumentError, assertKnownKeys, assertOneOf } from "../errors";
import { checkOptions, option } from "../options";
import { assertPositiveInteger, checkArrayRows, checkTensorRows, isTensor } from "./inputs";
import {
  GradientGroup, GradientGroupSpec, GroupedExample, GroupedTensors,
  checkGroupedExamples, checkGroupedTensors, layoutGroups, overlapping,
} from "./gradient-groups";

export type { GradientGroup, GradientGroupSpec, GroupedExample, GroupedTensors } from "./gradient-groups";

/** Distributions of R's entries: "rademacher" (±1/√d, default) or "gaussian" (N(0,1)/√d). */
export const PROJECTION_KINDS = ["rademacher", "gaussian"] as const;
/** The distribution of R's entries; see PROJECTION_KINDS. */
export type ProjectionKind = (typeof PROJECTION_KINDS)[number];
/** Rows of R per generated block (part of R's identity: changing it changes R). */
export const DEFAULT_PROJECTION_BLOCK_ROWS = 4096;
/** Examples per matMul inside `RandomProjector.project`. */
export const DEFAULT_PROJECTION_BATCH = 256;


/**
 * Options of RandomProjector; `outputDim` and `seed` are required, and one of `inputDim` /
 * `groups`.
 */
export interface RandomProjectorOptions {
  /** P, the gradient length. May be omitted when `groups` is given (then P = Σ sizes). */
  inputDim?: number;
  /** Named gradient groups, in the fixed order that defines their offsets. */
  groups?: readonly GradientGroupSpec[];
  /** d, the projected dimension (LESS uses 8192; toys 64–1024). */
  outputDim: number;
  kind?: ProjectionKind;
  seed: Seed;
  /** Rows of R per generated block (part of R's identity). Default 4096. */
  blockRows?: number;
  /** Examples per matMul inside `project`. Default 256. */
  batchSize?: number;
  /** Keep generated blocks up to this many bytes, so repeated `projectBatch` calls skip regeneration. Default 0. */
  cacheBytes?: number;
}


/** Peak working memory of a projection, in bytes, beyond the caller's inputs. */
export interface ProjectionMemory {
  blockMatrixBytes: number; // one block of R as float32, held twice (JS + backend)
  inputSliceBytes: number; // batchSize × blockRows columns copied for one matMul
  productBytes: number; // batchSize × d partial product
  accumulatorBytes: number; // n × d float64 accumulator + the float32 result
  cacheBytes: number; // the block cache's budget
  totalBytes: number;
}

const OPTION_KEYS = ["inputDim", "groups", "outputDim", "kind", "seed", "blockRows", "batchSize", "cacheBytes"];

/** The Rng stream of block b. Exported so the oracle and tests derive exactly the same numbers. */
export function projectionBlockRng(seed: Seed, kind: ProjectionKind, outputDim: number, blockRows: number, blockIndex: number): Rng {
  return new Rng(seed).derive("random-projection", kind, outputDim, blockRows, blockIndex);
}

/**
 * The entries of block `blockIndex` (rows × outputDim, scaled by 1/√d). The block's stream is
 * read column by column with a fixed column length of `blockRows`: entry (i, j) of the block is
 * stream position j·blockRows + i, and a short last block (rows < blockRows) draws and discards
 * the missing positions, so its entries are those of the same block for any larger P.
 * `layout: "transposed"` stores R_bᵀ [d, rows] (the layout the projector multiplies with; written
 * sequentially), `"rows"` stores R_b [rows, d].
 */
export function generateProjectionBlock(
  seed: Seed, kind: ProjectionKind, outputDim: number, blockRows: number, blockIndex: number, rows: number,
  layout: "rows" | "transposed" = "rows",
): Float32Array {
  assertOneOf("kind", kind, PROJECTION_KINDS);
  assertPositiveInteger("outputDim", outputDim);
  assertPositiveInteger("blockRows", blockRows);
  if (!Number.isInteger(rows) || rows < 1 || rows > blockRows) throw new InvalidArgumentError("rows", `an integer in [1, ${blockRows}]`, rows);
  const rng = projectionBlockRng(seed, kind, outputDim, blockRows, blockIndex);
  const d = outputDim, scale = 1 / Math.sqrt(d), out = new Float32Array(rows * d);
  // Entry (i, j) lives at j·rows + i (transposed) or i·d + j (rows).
  const rowStep = layout === "transposed" ? 1 : d, colStep = layout === "transposed" ? rows : 1;
  if (kind === "rademacher" && layout === "transposed" && rows === blockRows) {
    // Full block, transposed: output index = stream position, so write IEEE bit patterns
    // directly (±scale differ only in the sign bit): the hot path, kept free of index arithmetic.
    const bits = new Uint32Array(out.buffer), plus = new Uint32Array(Float32Array.of(scale).buffer)[0], minus = (plus | 0x80000000) >>> 0;
    for (let p = 0; p < bits.length; p += 32) {
      let word = rng.nextUint32();
      const end = Math.min(bits.length, p + 32);
      for (let q = p; q < end; q++) { bits[q] = (word & 1) === 1 ? plus : minus; word >>>= 1; }
    }
  } else if (kind === "rademacher") {
    let word = 0, bitsLeft = 0;
    for (let j = 0; j < d; j++) {
      for (let i = 0, at = j * colStep; i < blockRows; i++, at += rowStep) {
        if (bitsLeft === 0) { word = rng.nextUint32(); bitsLeft = 32; }
        if (i < rows) out[at] = (word & 1) === 1 ? scale : -scale;
        word >>>= 1;
        bitsLeft--;
      }
    }
  } else {
    for (let j = 0; j < d; j++) {
      for (let i = 0, at = j * colStep; i < blockRows; i++, at += rowStep) {
        const z = rng.normal();
        if (i < rows) out[at] = z * scale;
      }
    }
  }
  return out;
}
/**
 * Seeded random projection of per-example gradients from P to d dimensions, xᵀR with R (P×d)
 * entries ±1/√d (Rademacher, the default) or N(0,1)/√d — the LESS/TRAK step that turns
 * million-dimensional gradients into comparable d-dimensional features while preserving inner
 * products in expectation (E[RRᵀ] = I). R is never held whole: it is generated block by block from
 * (seed, kind, outputDim, blockRows, block index) alone, so the same seed gives the same R in every
 * process, in any block order, and in `scripts/torch_probe.py` — pool and target features can be
 * computed in separate jobs. Use ONE projector (or one seed) for pool and target.
 *
 * Which method when:
 * - {@link RandomProjector.project} — all examples in memory: each block is generated once and
 *   applied to every example, `batchSize` rows per matMul.
 * - {@link RandomProjector.projectBatch} — examples stream in (straight out of a gradient loop):
 *   blocks are regenerated each call unless `cacheBytes` keeps them (P·d·4 bytes keeps all of R);
 *   generation costs about as much as multiplying ~100 examples, so stream batches of ≥ 64 or cache.
 * - {@link RandomProjector.projectGroups} — a gradient given as named pieces (LoRA A and B of each
 *   layer), projected as if concatenated in the order of `groups`, without concatenating them.
 *
 * Defaults and why: `kind: "rademacher"` (cheapest to generate, LESS's choice); `blockRows: 4096`
 * (part of R's identity: changing it changes R); `batchSize: 256`; `cacheBytes: 0` (no cache).
 * `outputDim`: LESS uses 8192; toy models 64–1024.
 *
 * @example
 * ```ts
 * const projector = new lab.features.RandomProjector({ inputDim: 1000, outputDim: 64, seed: 7 });
 * const rows = [new Float32Array(1000).fill(1), new Float32Array(1000).fill(-1)];
 * const features = lab.features.l2NormalizeRows(projector.project(rows)); // 2 rows of 64, unit length
 * ```
 */
export class RandomProjector {
  /** P, the gradient length. */
  readonly inputDim: number;
  /** d, the projected dimension. */
  readonly outputDim: number;
  /** The distribution of R's entries. */
  readonly kind: ProjectionKind;
  /** The seed R is generated from. */
  readonly seed: Seed;
  /** Rows of R per generated block (part of R's identity). */
  readonly blockRows: number;
  /** Examples per matMul inside `project`. */
  readonly batchSize: number;
  /** Bytes of generated blocks kept for later `projectBatch` calls. */
  readonly cacheBytes: number;
  /** Number of blocks R is generated in: ⌈inputDim / blockRows⌉. */
  readonly numBlocks: number;
  /** The group layout (offsets in declaration order), or null if built from `inputDim` alone. */
  readonly groups: readonly GradientGroup[] | null;
  private readonly cache = new Map<number, Float32Array>();
  private cachedBytes = 0;

  constructor(options: RandomProjectorOptions) {
    if (typeof options !== "object" || options === null) throw new InvalidArgumentError("options", "an options object", options);
    assertKnownKeys("options", options, OPTION_KEYS);
    const { inputDim, groups, outputDim, kind = "rademacher", seed, blockRows = DEFAULT_PROJECTION_BLOCK_ROWS, batchSize = DEFAULT_PROJECTION_BATCH, cacheBytes = 0 } = options;
    this.groups = groups === undefined ? null : layoutGroups(groups);
    const groupTotal = this.groups === null ? undefined : this.groups.reduce((s, g) => s + g.size, 0);
    if (inputDim === undefined && groupTotal === undefined) throw new InvalidArgumentError("inputDim", "a positive integer (or `groups` to derive it)");
    if (inputDim !== undefined) assertPositiveInteger("inputDim", inputDim);
    if (inputDim !== undefined && groupTotal !== undefined && inputDim !== groupTotal) {
      throw new InvalidArgumentError("inputDim", `the sum of the group sizes (${groupTotal})`, inputDim);
    }
    assertPositiveInteger("outputDim", outputDim);
    assertOneOf("kind", kind, PROJECTION_KINDS);
    if (seed === undefined) throw new InvalidArgumentError("seed", "a number or string (projections must be reproducible)");
    new Rng(seed); // validates the seed's type now rather than at the first block
    assertPositiveInteger("blockRows", blockRows);
    assertPositiveInteger("batchSize", batchSize);
    if (typeof cacheBytes !== "number" || !(cacheBytes >= 0)) throw new InvalidArgumentError("cacheBytes", "a non-negative number", cacheBytes);
    this.inputDim = (inputDim ?? groupTotal) as number;
    this.outputDim = outputDim;
    this.kind = kind;
    this.seed = seed;
    this.blockRows = blockRows;
    this.batchSize = batchSize;
    this.cacheBytes = cacheBytes;
    this.numBlocks = Math.ceil(this.inputDim / blockRows);
  }

  /** Rows [start, end) of R that block b covers (the last block may be short). */
  blockRange(blockIndex: number): [number, number] {
    if (!Number.isInteger(blockIndex) || blockIndex < 0 || blockIndex >= this.numBlocks) {
      throw new InvalidArgumentError("blockIndex", `an integer in [0, ${this.numBlocks - 1}]`, blockIndex);
    }
    const start = blockIndex * this.blockRows;
    return [start, Math.min(this.inputDim, start + this.blockRows)];
  }

  /** Block b of R, row-major [rows, d]. A pure function of (seed, kind, d, blockRows, b). */
  block(blockIndex: number): Float32Array {
    const [start, end] = this.blockRange(blockIndex);
    return generateProjectionBlock(this.seed, this.kind, this.outputDim, this.blockRows, blockIndex, end - start, "rows");
  }

  /**
   * R_bᵀ [d, rows], from the cache when present. The projector multiplies R_bᵀ·X_bᵀ rather than
   * X_b·R_b: on wasm (XNNPACK) the right operand is re-packed per call, so it should be the small
   * one (the batch's slice). Measured here: ~13× faster matMul for one example, ~1.5× for 100.
   */
  private transposedBlock(blockIndex: number): Float32Array {
    const cached = this.cache.get(blockIndex);
    if (cached !== undefined) return cached;
    const [start, end] = this.blockRange(blockIndex);
    const values = generateProjectionBlock(this.seed, this.kind, this.outputDim, this.blockRows, blockIndex, end - start, "transposed");
    if (this.cachedBytes + values.byteLength <= this.cacheBytes) {
      this.cache.set(blockIndex, values);
      this.cachedBytes += values.byteLength;
    }
    return values;
  }

  /** Drops every cached block of R (they are regenerated on demand, bit-identical). */
  clearCache(): void {
    this.cache.clear();
    this.cachedBytes = 0;
  }

  /** Projects every example: [n, P] → [n, d]. Arrays in, arrays out; a tensor in, a tensor out (caller disposes). */
  project(vectors: readonly Float32Array[]): Float32Array[];
  project(vectors: tf.Tensor2D): tf.Tensor2D;
  project(vectors: readonly Float32Array[] | tf.Tensor2D): Float32Array[] | tf.Tensor2D {
    if (isTensor(vectors)) {
      checkTensorRows("vectors", vectors, this.inputDim);
      const x = vectors;
      const acc = this.accumulate(x.shape[0], (r0, r1, c0, c1) => tf.transpose(tf.slice(x, [r0, c0], [r1 - r0, c1 - c0])));
      return tf.tensor2d(Float32Array.from(acc), [x.shape[0], this.outputDim]);
    }
    const rows = vectors as readonly Float32Array[];
    checkArrayRows("vectors", rows, this.inputDim);
    const acc = this.accumulate(rows.length, (r0, r1, c0, c1) => {
      const buf = new Float32Array((r1 - r0) * (c1 - c0));
      for (let i = r0; i < r1; i++) writeColumn(buf, r1 - r0, i - r0, rows[i], c0, c1, 0);
      return tf.tensor2d(buf, [c1 - c0, r1 - r0]);
    });
    return splitRows(acc, rows.length, this.outputDim);
  }

  /**
   * Projects one batch of a stream; same values as `project` on those rows. Working memory is
   * bounded by `memoryBound(batch length)`; blocks are regenerated per call unless cached.
   */
  projectBatch(batch: readonly Float32Array[]): Float32Array[];
  projectBatch(batch: tf.Tensor2D): tf.Tensor2D;
  projectBatch(batch: readonly Float32Array[] | tf.Tensor2D): Float32Array[] | tf.Tensor2D {
    return isTensor(batch) ? this.project(batch) : this.project(batch as readonly Float32Array[]);
  }

  /**
   * Projects gradients given as named groups, concatenated in the construction order of
   * `groups`: either one record of Float32Arrays per example, or one [n, ...] tensor per group.
   */
  projectGroups(batch: readonly GroupedExample[]): Float32Array[];
  projectGroups(batch: GroupedTensors): tf.Tensor2D;
  projectGroups(batch: readonly GroupedExample[] | GroupedTensors): Float32Array[] | tf.Tensor2D {
    const groups = this.groups;
    if (groups === null) throw new InvalidArgumentError("groups", "a group layout given at construction to use projectGroups");
    if (Array.isArray(batch)) {
      const examples = batch as readonly GroupedExample[];
      checkGroupedExamples(examples, groups);
      const acc = this.accumulate(examples.length, (r0, r1, c0, c1) => {
        const buf = new Float32Array((r1 - r0) * (c1 - c0));
        for (const g of overlapping(groups, c0, c1)) {
          const lo = Math.max(c0, g.offset), hi = Math.min(c1, g.offset + g.size);
          for (let i = r0; i < r1; i++) writeColumn(buf, r1 - r0, i - r0, examples[i][g.name], lo - g.offset, hi - g.offset, lo - c0);
        }
        return tf.tensor2d(buf, [c1 - c0, r1 - r0]);
      });
      return splitRows(acc, examples.length, this.outputDim);
    }
    const tensors = batch as GroupedTensors;
    const n = checkGroupedTensors(tensors, groups);
    const acc = this.accumulate(n, (r0, r1, c0, c1) => {
      const pieces = overlapping(groups, c0, c1).map((g) => {
        const lo = Math.max(c0, g.offset), hi = Math.min(c1, g.offset + g.size);
        return tf.slice(tf.reshape(tensors[g.name], [n, g.size]), [r0, lo - g.offset], [r1 - r0, hi - lo]) as tf.Tensor2D;
      });
      return tf.transpose(pieces.length === 1 ? pieces[0] : tf.concat2d(pieces, 1));
    });
    return tf.tensor2d(Float32Array.from(acc), [n, this.outputDim]);
  }

  /** Peak working memory (bytes) for projecting `numExamples` examples, excluding the inputs. */
  memoryBound(numExamples: number): ProjectionMemory {
    assertPositiveInteger("numExamples", numExamples);
    const chunk = Math.min(numExamples, this.batchSize), rows = Math.min(this.blockRows, this.inputDim), d = this.outputDim;
    const m = {
      blockMatrixBytes: 2 * rows * d * 4,
      inputSliceBytes: 2 * chunk * rows * 4,
      productBytes: 2 * chunk * d * 4,
      accumulatorBytes: numExamples * d * (8 + 4),
      cacheBytes: this.cacheBytes,
    };
    return { ...m, totalBytes: m.blockMatrixBytes + m.inputSliceBytes + m.productBytes + m.accumulatorBytes + m.cacheBytes };
  }

  /**
   * The streaming core: for each block b of R, for each chunk of examples, Y_chunkᵀ += R_bᵀ·X_bᵀ
   * where X_bᵀ [block rows, chunk] is the chunk's columns of block b, transposed
   * (`sliceTransposed(r0, r1, c0, c1)` builds it); the sum is kept in a float64 [n × d]
   * accumulator. Blocks are the outer loop so each is generated once per call.
   */
  private accumulate(n: number, sliceTransposed: (r0: number, r1: number, c0: number, c1: number) => tf.Tensor2D): Float64Array {
    const d = this.outputDim, acc = new Float64Array(n * d);
    for (let b = 0; b < this.numBlocks; b++) {
      const [start, end] = this.blockRange(b);
      const blockT = tf.tensor2d(this.transposedBlock(b), [d, end - start]);
      try {
        for (let r0 = 0; r0 < n; r0 += this.batchSize) {
          const r1 = Math.min(n, r0 + this.batchSize), cn = r1 - r0;
          const part = tf.tidy(() => tf.matMul(blockT, sliceTransposed(r0, r1, start, end)));
          const values = part.dataSync(); // [d, cn]
          part.dispose();
          for (let i = 0; i < cn; i++) {
            const base = (r0 + i) * d;
            for (let j = 0; j < d; j++) acc[base + j] += values[j * cn + i];
          }
        }
      } finally {
        blockT.dispose();
      }
    }
    return acc;
  }
}

/** Writes src[from..to) down column `col` of a row-major [*, cols] buffer, starting at row `rowOffset`. */
function writeColumn(buf: Float32Array, cols: number, col: number, src: Float32Array, from: number, to: number, rowOffset: number): void {
  for (let k = from, at = rowOffset * cols + col; k < to; k++, at += cols) buf[at] = src[k];
}

/**
 * Slow oracle: the whole P×d matrix R in float64, generated entry by entry from the same block
 * streams. Only for tests and tiny P (refuses more than 5e7 entries).
 */
export function explicitProjectionMatrix(options: { inputDim: number; outputDim: number; kind: ProjectionKind; seed: Seed; blockRows: number }): Float64Array {
  checkOptions("options", options, {
    inputDim: option.positiveInteger, outputDim: option.positiveInteger, kind: option.oneOf(PROJECTION_KINDS), seed: option.any, blockRows: option.positiveInteger,
  });
  const { inputDim: P, outputDim: d, kind, seed, blockRows } = options;
  if (P * d > 5e7) throw new InvalidArgumentError("inputDim × outputDim", "at most 5e7 entries for the explicit oracle", P * d);
  const scale = 1 / Math.sqrt(d), R = new Float64Array(P * d);
  for (let b = 0; b * blockRows < P; b++) {
    const rng = projectionBlockRng(seed, kind, d, blockRows, b);
    let word = 0;
    for (let position = 0; position < blockRows * d; position++) {
      let value: number;
      if (kind === "rademacher") {
        if (position % 32 === 0) word = rng.nextUint32();
        value = ((word >>> (position % 32)) & 1) === 1 ? scale : -scale;
      } else {
        value = rng.normal() * scale;
      }
      const row = b * blockRows + (position % blockRows), col = Math.floor(position / blockRows);
      if (row < P) R[row * d + col] = value;
    }
  }
  return R;
}

function splitRows(acc: Float64Array, n: number, d: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (let i = 0; i < n; i++) out.push(Float32Array.from(acc.subarray(i * d, (i + 1) * d)));
  return out;
}
