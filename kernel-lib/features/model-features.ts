/**
 * LESS features for any per-example model (a built-in one or a user's tf.LayersModel through
 * models.fromLayersModel): per-example gradients of the selected weights, flattened in group
 * order; for pool examples Adam-preconditioned with a checkpoint's optimizer state; then one
 * seeded random projection shared by pool and target, and unit rows (inner products = cosines).
 *
 * Which function when:
 *  - `perExampleGradientRows`: the flat gradients batch by batch (conflict cosines, checks, your
 *    own preconditioning); nothing is kept between batches.
 *  - `lessFeatures`: the projected, normalised features LESS scoring and the G2IS walk take; pass
 *    `sink` (a FeatureStoreWriter) to stream a large pool to disk instead of returning the rows.
 * The Adam state must be flattened in the same group order (features.adamStateFromOptimizer does
 * that for a tfjs optimizer; train.FlatAdam keeps it that way for the toy LoRA runs).
 * Strategy: "auto" (default) is the batched engine where the model allows it, else the loop
 * (see grads/per-example.ts); both give the same rows to float32 rounding.
 */
import { InvalidArgumentError, ShapeError, assertOneOf } from "../errors";
import { checkOptions, option } from "../options";
import type { AnyPerExampleModel, BatchOf, PreparedBatch } from "../models/dense-sites";
import { GRADIENT_STRATEGIES, GradientStrategy, perExampleGradients } from "../grads/per-example";
import type { MatrixInfo } from "../grads/groups";
import { ADAM_FEATURE_FORMS, AdamCheckpointState, AdamFeatureForm, adamPreconditionedFeatures } from "./adam";
import { RandomProjector } from "./projection";
import { l2NormalizeRows } from "./normalize";

/** Options of `perExampleGradientRows`. */
export interface GradientRowOptions {
  /** Weights to include (grads/groups.ts tokens). Default "trainable". */
  groups?: string[];
  /** "auto" (default), "batched" or "loop". */
  strategy?: GradientStrategy;
  /** Examples per gradient batch (memory: batchSize × P floats). Default 64. */
  batchSize?: number;
}

/** Options of `lessFeatures`. */
export interface LessFeatureOptions extends GradientRowOptions {
  /** "pool" → Adam-preconditioned with `adam`; "target" → the plain gradient (LESS's split). */
  role: "pool" | "target";
  /** One projector shared by pool and target; its inputDim must equal the selected parameter count. */
  projector: RandomProjector;
  /** The checkpoint's optimizer state, flattened in group order (required for role "pool"). */
  adam?: AdamCheckpointState;
  /** "less" (default: no bias correction, ε inside the root) or "bias-corrected"; see features/adam.ts. */
  form?: AdamFeatureForm;
  /** Stream each batch's features here instead of returning them. */
  sink?: { append(rows: readonly Float32Array[]): void };
  /** Called after each batch with the examples done so far and the total. */
  onProgress?: (done: number, total: number) => void;
  /**
   * First example to compute (default 0): the rows of examples before it are already in `sink`,
   * e.g. `start: writer.rows` after `FeatureStoreWriter.create(dir, { …, resume: true })`.
   */
  start?: number;
}

/** What a batch of gradient rows carries. */
export interface GradientRowBatch {
  /** Index of the batch's first example in the caller's set. */
  start: number;
  /** [example] flat gradient, groups concatenated in model order, each in its variable's layout. */
  rows: Float32Array[];
  losses: number[];
  /** The selected weights, in the order their values appear in a row. */
  matrices: MatrixInfo[];
}

const ROW_SPEC = { groups: option.array, strategy: option.oneOf(GRADIENT_STRATEGIES), batchSize: option.positiveInteger };

/**
 * Per-example flat gradients of `model` on `batch`, delivered batch by batch to `onBatch` (fresh
 * arrays, valid after the call). The whole set is validated first, so an error names the
 * caller's example index before any gradient is computed.
 */
export function perExampleGradientRows<M extends AnyPerExampleModel>(
  model: M, batch: BatchOf<M>, options: GradientRowOptions | undefined, onBatch: (rows: GradientRowBatch) => void,
): void {
  checkOptions("options", options, ROW_SPEC);
  if (typeof onBatch !== "function") throw new InvalidArgumentError("onBatch", "a function receiving each batch of rows", onBatch);
  const all: PreparedBatch = model.prepareBatch(batch);
  const size = options?.batchSize ?? 64;
  for (let start = 0; start < all.size; start += size) {
    const indices = Array.from({ length: Math.min(size, all.size - start) }, (_, j) => start + j);
    // Without rows() a model's batches are cut one example at a time.
    const chunks = typeof all.rows === "function" ? [all.rows(indices)] : indices.map((i) => all.example(i));
    for (const [c, chunk] of chunks.entries()) {
      const result = perExampleGradients(model, chunk, {
        groups: options?.groups, strategy: options?.strategy ?? "auto", fullVectors: true, fullVectorLimit: Number.MAX_SAFE_INTEGER,
      });
      const P = result.matrices.reduce((s, m) => s + m.numel, 0);
      const rows = result.fullVectors!.map((parts) => {
        const row = new Float32Array(P);
        let offset = 0;
        for (const part of parts) { row.set(part, offset); offset += part.length; }
        return row;
      });
      onBatch({ start: chunks.length === 1 ? start : start + c, rows, losses: result.losses, matrices: result.matrices });
    }
  }
}

/**
 * Projected, unit-normalised LESS features of every example of `batch`, for any per-example model
 * (a built-in one or a user's tf.LayersModel through `models.fromLayersModel`): the per-example
 * gradient of the selected weights, flattened in group order; for `role: "pool"`
 * Adam-preconditioned with a checkpoint's optimizer state (`adam`, e.g. from
 * {@link adamStateFromOptimizer}); for `role: "target"` left plain (LESS's asymmetry: the target
 * side uses SGD gradients); then projected by `projector` and scaled to unit length, so inner
 * products of features are cosines — what `g2is.lessScores` and the G2IS walk take.
 *
 * Use it for the features; use `perExampleGradientRows` for the flat, unprojected gradients. Rows
 * start at `start` (default 0) and come back in the caller's order, or an empty array when `sink`
 * (a FeatureStoreWriter) took them. For a pool too large for one job, split `batch` into slices
 * (one job each, the same projector seed) or stream into a FeatureStoreWriter and resume with
 * `start` after a crash. Strategy "auto" (default) is the batched engine where the model allows it.
 *
 * @example
 * ```ts
 * const { tf } = lab;
 * const net = tf.sequential({ layers: [tf.layers.dense({ units: 4, inputShape: [3], activation: "relu" }), tf.layers.dense({ units: 2 })] });
 * const model = lab.models.fromLayersModel(net, { loss: "mean-squared-error" });
 * const batch = { inputs: [[1, 2, 3], [4, 5, 6], [0, 1, 0]], targets: [[1, 0], [0, 1], [1, 1]] };
 * const optimizer = tf.train.adam(0.01);
 * net.compile({ optimizer, loss: "meanSquaredError" });
 * await net.fit(tf.tensor2d(batch.inputs), tf.tensor2d(batch.targets), { epochs: 2, verbose: 0 }); // Adam needs moments
 * const P = 3 * 4 + 4 + 4 * 2 + 2;                                  // every trainable weight
 * const projector = new lab.features.RandomProjector({ inputDim: P, outputDim: 8, seed: 0 });
 * const adam = await lab.features.adamStateFromOptimizer(optimizer, model);
 * const pool = lab.features.lessFeatures(model, batch, { role: "pool", projector, adam });
 * const target = lab.features.lessFeatures(model, batch, { role: "target", projector });
 * ```
 */
export function lessFeatures<M extends AnyPerExampleModel>(model: M, batch: BatchOf<M>, options: LessFeatureOptions): Float32Array[] {
  if (options === undefined || options === null) throw new InvalidArgumentError("options", "{role, projector, …}");
  checkOptions("options", options, {
    ...ROW_SPEC, role: option.any, projector: option.any, adam: option.object, form: option.oneOf(ADAM_FEATURE_FORMS), sink: option.object, onProgress: option.function,
    start: option.nonNegativeInteger,
  });
  assertOneOf("options.role", options.role, ["pool", "target"]);
  if (!(options.projector instanceof RandomProjector)) throw new InvalidArgumentError("options.projector", "a RandomProjector (one shared by pool and target)", options.projector);
  if (options.role === "pool" && options.adam === undefined) throw new InvalidArgumentError("options.adam", "the checkpoint's Adam state for pool features");
  if (options.sink !== undefined && typeof options.sink.append !== "function") throw new InvalidArgumentError("options.sink", "an object with append(rows) (a FeatureStoreWriter)", options.sink);
  const { projector } = options;
  const out: Float32Array[] = [];
  const all: PreparedBatch = model.prepareBatch(batch);
  const start = options.start ?? 0;
  if (start > all.size) throw new InvalidArgumentError("options.start", `an example index in [0, ${all.size}]`, start);
  if (start > 0 && typeof all.rows !== "function") throw new InvalidArgumentError("options.start", "0 for a model whose batches cannot be cut (no rows())", start);
  if (start === all.size) return out;
  const prepared = start === 0 ? all : (all.rows as (indices: readonly number[]) => PreparedBatch)(Array.from({ length: all.size - start }, (_, j) => start + j));
  let done = start;
  perExampleGradientRows(model, prepared, { groups: options.groups, strategy: options.strategy, batchSize: options.batchSize }, ({ rows }) => {
    const P = rows[0].length;
    if (projector.inputDim !== P) throw new ShapeError("options.projector", `a projector with inputDim ${P} (the selected parameter count)`, [projector.inputDim]);
    if (options.adam !== undefined && options.role === "pool" && options.adam.m.length !== P) {
      throw new ShapeError("options.adam.m", `[${P}] (the selected parameters, in group order)`, [options.adam.m.length]);
    }
    const directions = options.role === "pool" ? adamPreconditionedFeatures(rows, options.adam!, { form: options.form ?? "less" }) : rows;
    const features = l2NormalizeRows(projector.project(directions), { zeroRows: "keep" });
    if (options.sink) options.sink.append(features); else for (const row of features) out.push(row);
    done += features.length;
    if (options.onProgress) options.onProgress(done, all.size);
  });
  return out;
}
