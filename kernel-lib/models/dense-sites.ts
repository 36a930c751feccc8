/**
 * The contract between the models and the per-example gradient engine (kernel-lib/grads).
 *
 * Every dense projection a model applies goes through a `LinearFn` callback, `y = x·Wᵀ`, with
 * W stored PyTorch-style as [out, in] and no bias. Normally the callback is `plainLinear`; the
 * gradient engine substitutes its own to record each projection's input x and output-gradient δ
 * (batched strategy) or to attach zero probes (loop strategy), without the model knowing.
 * Because there is no bias, a matrix's per-example gradient is exactly Σ_rows δ_rowᵀ x_row.
 *
 * Row convention: the rows of `x` passed to a LinearFn are example-major — `[B × r, in]` with
 * example b owning rows b·r … b·r + r − 1 — and a site may be called several times per forward
 * (a GRU's recurrent matrix once per step). The engine concatenates an example's rows over calls
 * in call order; for the models here that makes row t the token / step t.
 */
import { tf } from "../tf";
import { matMulFast } from "./ops";

/** y = x·Wᵀ for x [rows, in], W [out, in]. */
export type LinearFn = (site: string, x: tf.Tensor2D, weight: tf.Tensor2D) => tf.Tensor2D;

/** The default projection; see models/ops.ts for why the transpose is explicit. */
export const plainLinear: LinearFn = (_site, x, weight) => matMulFast(x, tf.transpose(weight));

/** One dense matrix of a model: the unit of a probe vector. */
export interface ParameterGroup {
  /** Stable weight name, e.g. "layer1.gate" or "layer0.q.loraA". */
  name: string;
  /** Layer index (0-based); models without layers use 0, a head after the layers uses nLayers. */
  layer: number;
  /** Module type, e.g. "q" … "down" for the transformer (LoRA adapters carry their base module's). */
  module: string;
  /** "weight" for a model matrix, "loraA"/"loraB" for an adapter. */
  part: "weight" | "loraA" | "loraB";
  /**
   * The variable's own shape as a matrix: [out, in] for layout "out-in" (the default and every
   * built-in model), [in, out] for layout "in-out" (a Keras Dense kernel). A bias of length `out`
   * is [out, 1]; any other tensor is [∏ leading dims, last dim]. Full gradient vectors are the
   * variable's values row-major in this shape, the order an optimizer's state has too.
   */
  shape: [number, number];
  /**
   * How the variable is stored relative to the LinearFn's W [out, in]: "out-in" (W itself, the
   * default when absent) or "in-out" (Wᵀ; the model passes `transpose(variable)` to the LinearFn).
   */
  layout?: "out-in" | "in-out";
  /** Whether an optimizer updates it (base matrices are frozen while LoRA is attached). */
  trainable: boolean;
}

/** A validated batch in the model's own representation. */
export interface PreparedBatch {
  /** Number of examples B. */
  readonly size: number;
  /** Rows per example of every dense site (tokens / steps; 1 for an MLP). */
  readonly length: number;
  /** The one-example batch holding example `index`. */
  example(index: number): PreparedBatch;
  /**
   * Optional: the sub-batch of the given examples, in that order, without re-validating them.
   * Batch-by-batch callers (the probe, LESS features) use it to cut a set prepared once; a
   * model whose batches lack it is processed one example at a time.
   */
  rows?(indices: readonly number[]): PreparedBatch;
}

/** What a model offers so per-example gradients can be computed for it. */
export interface PerExampleModel<TBatch, TPrepared extends PreparedBatch = PreparedBatch> {
  /** Every dense matrix that goes through the LinearFn, in a fixed order. */
  parameterGroups(): ParameterGroup[];
  /** The variable holding a matrix named in parameterGroups(). */
  weight(name: string): tf.Variable;
  /** Validates a user batch (typed errors) and converts it once. */
  prepareBatch(batch: TBatch | TPrepared): TPrepared;
  /** Loss of each example [B]; the model's training loss is their mean. Call inside a tidy. */
  perExampleLosses(batch: TPrepared, linear?: LinearFn): tf.Tensor1D;
  /**
   * Optional: whether the batched strategy is exact for these groups — `null` if every group is a
   * dense site (it reaches the loss only through the LinearFn) and no example's loss depends on
   * another example's rows, else the reason it is not. Absent means "always" (the built-in models).
   * Strategy "auto" picks the loop where a reason is given; "batched" then fails with the reason.
   */
  batchedSupport?(groups: readonly ParameterGroup[]): string | null;
}

/** Any per-example model, whatever its batch types (what model-driven signatures constrain to). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPerExampleModel = PerExampleModel<any, any>;

/**
 * The batch `model` accepts: its own user batch or its prepared batch. Signatures typed
 * `(model: M, batch: BatchOf<M>)` infer everything from the model, so a call needs no type
 * arguments (inferring both from `PerExampleModel<TBatch, TPrepared>` fails for models whose
 * methods take `TBatch | TPrepared`).
 */
export type BatchOf<M extends AnyPerExampleModel> = Parameters<M["prepareBatch"]>[0];

