/**
 * Batched per-example gradients of dense matrices: ONE forward and ONE backward pass for the
 * whole batch, then per-example products.
 *
 * Why one backward suffices: the backward pass is taken of the SUM of the per-example losses, not
 * of the model's mean loss. Examples do not interact in the forward pass (attention and norms act
 * within an example), so ∂(Σ_b L_b)/∂y_{b,t} = ∂L_b/∂y_{b,t}: each example's output-gradients δ
 * are its own, unscaled. (With the mean they would all be divided by B.)
 *
 * For y = x·Wᵀ (W [out, in]) example b's gradient is G_b = Σ_t δ_tᵀ x_t = Δ_bᵀ X_b, with X_b [T, in]
 * the recorded inputs and Δ_b [T, out] the output-gradients. Two ways to get ‖G_b‖_F²:
 *  - "direct": form Δ_bᵀ X_b ([B, out, in], one batched matMul) and sum its squares;
 *    ≈ T·in·out multiply-adds per example; also yields the full gradient.
 *  - "gram": ‖Δᵀ X‖² = Σ_{t,s} (x_t·x_s)(δ_t·δ_s) = sum((X Xᵀ) ⊙ (Δ Δᵀ)); ≈ T²·(in+out) per example
 *    and never materialises a matrix of W's size.
 * "auto" picks the cheaper by that count, per matrix: gram when T < in·out/(in+out) (short
 * sequences, wide matrices), direct otherwise. Gram sums T² terms that can cancel, so it is a
 * little less accurate in float32 when the gradient is much smaller than Σ_t‖x_t‖‖δ_t‖.
 *
 * Recording x and δ: each selected projection runs through a tf.customGrad whose gradient
 * function keeps a copy of its saved input x and of the incoming dy. The backward is requested
 * with respect to the selected weights only so that it visits every selected projection; the
 * custom gradient returns zeros for the weight itself (its batch-summed gradient is not needed),
 * and the true dy·W for x so upstream δ are exact.
 *
 * Per-position norm of row t: ‖x_t‖·‖δ_t‖ = ‖δ_tᵀ x_t‖_F, the norm of position t's rank-1 term in
 * G_b. Note δ_t = ∂L_b/∂y_t collects the loss of every later target token that attends to t, so
 * this is "how much of the matrix's gradient flows through token t's input row", not the gradient
 * of token t's own loss (for that, restrict the loss mask to token t).
 */
import { tf } from "../tf";
import { InvalidArgumentError } from "../errors";
import { checkOptions } from "../options";
import { LinearFn, ParameterGroup, PerExampleModel, PreparedBatch, plainLinear } from "../models/dense-sites";
import { ENGINE_OPTION_SPEC, type EngineOptions, type RawPerExample } from "./per-example";

/** The product the batched strategy used for one matrix; see PRODUCT_METHODS. */
export type ProductMethod = "gram" | "direct";

/** The cheaper way to get ‖Δᵀ X‖² for `rows` rows per example of an [out, in] matrix. */
export function chooseProduct(rows: number, out: number, inDim: number): ProductMethod {
  const gram = rows * rows * (inDim + out + 1);
  const direct = rows * inDim * out + inDim * out;
  return gram < direct ? "gram" : "direct";
}

interface Recorded { x: tf.Tensor2D; dy: tf.Tensor2D }

/**
 * The batched per-example strategy (one forward + backward for the batch, exact per-example norms
 * from recorded activations and output gradients). Usually called through `perExampleGradients`.
 */
export function batchedPerExample<TPrepared extends PreparedBatch>(
  model: PerExampleModel<unknown, TPrepared>, batch: TPrepared, groups: readonly ParameterGroup[], options: EngineOptions,
): RawPerExample {
  checkOptions("options", options, ENGINE_OPTION_SPEC);
  const slot = new Map(groups.map((g, i) => [g.name, i]));
  const recorded: Array<Array<Recorded | null>> = groups.map(() => []);
  let keptLosses: tf.Tensor | null = null;
  try {
    const linear: LinearFn = (site, x, w) => {
      const gi = slot.get(site);
      if (gi === undefined) return plainLinear(site, x, w);
      const calls = recorded[gi], call = calls.length;
      calls.push(null);
      const project = tf.customGrad(((xIn: tf.Tensor2D, wIn: tf.Tensor2D, save: tf.GradSaveFunc) => {
        save([xIn, wIn]);
        return {
          value: plainLinear(site, xIn, wIn),
          gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
            const [xSaved, wSaved] = saved as tf.Tensor2D[];
            // Copies: the engine disposes saved tensors and dy after the backward pass.
            calls[call] = { x: tf.keep(tf.clone(xSaved)), dy: tf.keep(tf.clone(dy)) };
            return [tf.matMul(dy, wSaved), tf.zerosLike(wSaved)];
          },
        };
      }) as unknown as Parameters<typeof tf.customGrad>[0]);
      return project(x, w) as tf.Tensor2D;
    };
    const weights = groups.map((g) => model.weight(g.name));
    const grads = tf.grads(() => {
      const losses = model.perExampleLosses(batch, linear);
      keptLosses = tf.keep(losses);
      return tf.sum(losses);
    })(weights);
    tf.dispose(grads);
    let raw: RawPerExample | null = null;
    tf.tidy(() => { raw = perExampleProducts(groups, recorded, batch, options, keptLosses as unknown as tf.Tensor1D); });
    return raw as unknown as RawPerExample;
  } finally {
    for (const calls of recorded) for (const r of calls) if (r !== null) tf.dispose([r.x, r.dy]);
    if (keptLosses !== null) (keptLosses as tf.Tensor).dispose();
  }
}

/** Norms (and optionally full gradients, per-position norms) from the recorded x and δ. Inside a tidy. */
function perExampleProducts(
  groups: readonly ParameterGroup[], recorded: Array<Array<Recorded | null>>, batch: PreparedBatch, options: EngineOptions, losses: tf.Tensor1D,
): RawPerExample {
  const B = batch.size;
  const products: ProductMethod[] = [];
  const squares: tf.Tensor1D[] = [];
  const rowNorms: tf.Tensor2D[] = [];
  const full: tf.Tensor3D[] = [];
  groups.forEach((g, gi) => {
    const calls = recorded[gi];
    if (calls.length === 0 || calls.some((c) => c === null)) {
      throw new InvalidArgumentError("groups", `matrices on the loss's path (${g.name} received no gradient)`, g.name);
    }
    const inOut = g.layout === "in-out";
    const [out, inDim] = inOut ? [g.shape[1], g.shape[0]] : g.shape;
    const stackRows = (parts: tf.Tensor2D[], width: number) => tf.concat(parts.map((p) => tf.reshape(p, [B, -1, width])), 1) as tf.Tensor3D;
    const X = stackRows(calls.map((c) => (c as Recorded).x), inDim);
    const D = stackRows(calls.map((c) => (c as Recorded).dy), out);
    const rows = X.shape[1];
    if (options.positions && rows !== batch.length) {
      throw new InvalidArgumentError("options.positions", `a model whose matrices see ${batch.length} rows per example (${g.name} sees ${rows})`);
    }
    const method = options.fullVectors ? "direct" : options.product === "auto" ? chooseProduct(rows, out, inDim) : options.product;
    products.push(method);
    if (method === "direct") {
      // [B, out, in] (or [B, in, out] for an "in-out" variable: its own layout), the per-example
      // gradients. An explicit transpose beats the transposeA flag on wasm.
      const G = (inOut ? tf.matMul(tf.transpose(X, [0, 2, 1]), D) : tf.matMul(tf.transpose(D, [0, 2, 1]), X)) as tf.Tensor3D;
      squares.push(tf.sum(tf.square(G), [1, 2]) as tf.Tensor1D);
      if (options.fullVectors) full.push(G);
    } else {
      // Rounding can push an exactly-zero norm slightly negative.
      squares.push(tf.relu(tf.sum(tf.mul(tf.matMul(X, X, false, true), tf.matMul(D, D, false, true)), [1, 2])) as tf.Tensor1D);
    }
    if (options.positions) rowNorms.push(tf.mul(tf.norm(X, "euclidean", -1), tf.norm(D, "euclidean", -1)) as tf.Tensor2D);
  });

  const normValues = tf.sqrt(tf.stack(squares, 1)).dataSync(); // [B, N]
  const N = groups.length;
  const raw: RawPerExample = {
    losses: Array.from(losses.dataSync()),
    norms: Array.from({ length: B }, (_, b) => Array.from(normValues.subarray(b * N, (b + 1) * N))),
    products,
  };
  if (options.positions) {
    const P = options.positions;
    const picked = tf.gather(tf.stack(rowNorms, 2), tf.tensor1d(P, "int32"), 1).dataSync(); // [B, P, N]
    raw.positionNorms = Array.from({ length: B }, (_, b) => P.map((_p, pi) => Array.from(picked.subarray((b * P.length + pi) * N, (b * P.length + pi + 1) * N))));
  }
  if (options.fullVectors) {
    const perGroup = full.map((G) => G.dataSync());
    raw.fullVectors = Array.from({ length: B }, (_, b) => groups.map((g, gi) => {
      const size = g.shape[0] * g.shape[1];
      return perGroup[gi].slice(b * size, (b + 1) * size) as Float32Array;
    }));
  }
  return raw;
}
