/**
 * Per-example gradients of a model's dense matrices — the PRISM probe vector and its relatives.
 *
 * Which strategy when:
 *  - "batched" (what "auto" picks, unless the model reports through `batchedSupport` that it is not
 *    exact for the selected groups — e.g. a tf.LayersModel whose selection includes a conv kernel —
 *    in which case "auto" runs the loop): one forward + one backward for the whole batch, then exact
 *    per-example norms from recorded activations x and output-gradients δ (grads/batched.ts).
 *    Use it for probing. It wins by removing per-example kernel overhead, so the gain is largest
 *    where the loop is overhead-bound: measured on wasm (B=64, L=2) 35× for an MLP, 21× for a GRU,
 *    18× for a transformer at d=32/T=8, ~8× at d=32/T=16, but only ~1.2× at d=64/T=64, where both
 *    strategies are bound by the same FLOPs (attention and the per-example products run on wasm's
 *    naive batched-matMul kernel). Memory grows with B·T·(in+out) per matrix (and B·in·out when the
 *    direct product or full vectors are used).
 *  - "loop": one forward + backward per example (grads/loop.ts). The oracle the batched strategy
 *    is tested against; use it to double-check a surprising number, or when a batch's recorded
 *    activations would not fit in memory (memory is that of a single example).
 * Both give the same numbers to float32 rounding (≤1e-4 relative, tested on cpu and wasm).
 *
 * What comes back is plain JS (no live tensors): per-example Frobenius norms of each selected
 * matrix's gradient of that example's loss (for the transformer: the mean next-token CE over the
 * example's target tokens), aggregated by layer and by module type as √(Σ norm²), the
 * per-example losses, and optionally per-position norms (see grads/batched.ts for their precise
 * meaning) and full per-example gradient vectors (row-major in the variable's [out, in] layout).
 */
import { EmptyInputError, InvalidArgumentError, assertKnownKeys, assertOneOf } from "../errors";
import { OptionSpec, checkOptions, option } from "../options";
import type { AnyPerExampleModel, BatchOf, ParameterGroup, PerExampleModel, PreparedBatch } from "../models/dense-sites";
import { batchedPerExample, ProductMethod } from "./batched";
import { AggregatedNorms, MatrixInfo, aggregateNorms, describeGroups, selectGroups } from "./groups";
import { loopPerExample } from "./loop";

/** Per-example gradient strategies: "auto" (batched where exact, else loop), "loop", "batched". */
export const GRADIENT_STRATEGIES = ["auto", "loop", "batched"] as const;
/** A per-example gradient strategy; see GRADIENT_STRATEGIES. */
export type GradientStrategy = (typeof GRADIENT_STRATEGIES)[number];
/**
 * How the batched strategy forms ‖ΔᵀX‖²: "auto" (the cheaper by operation count), "gram" (sum((XXᵀ)
 * ⊙ (ΔΔᵀ)), cheap for short sequences and wide matrices) or "direct" (form Δ_bᵀX_b per example and
 * sum its squares).
 */
export const PRODUCT_METHODS = ["auto", "gram", "direct"] as const;

/** Default ceiling on the parameters per example whose full gradients may be returned (1 MiB of float32). */
export const DEFAULT_FULL_VECTOR_LIMIT = 262_144;

/** Options of `perExampleGradients` (all optional). */
export interface PerExampleGradientOptions {
  /** "auto" (= batched), "batched" or "loop". */
  strategy?: GradientStrategy;
  /** Matrix names, module types, "layer{i}", "trainable" (default) or "all" — see grads/groups.ts. */
  groups?: string[];
  /** Row indices (token positions / steps) whose per-position norms to return. */
  positions?: number[];
  /** Also return each example's full gradient per matrix (only for small selections). */
  fullVectors?: boolean;
  /** Max parameters (summed over the selected matrices) allowed with fullVectors. */
  fullVectorLimit?: number;
  /** Batched strategy only: how to form ‖Δᵀ X‖² — "auto" (cheaper by count), "gram" or "direct". */
  product?: (typeof PRODUCT_METHODS)[number];
}

/** What `perExampleGradients` returns: plain JS arrays, no live tensors. */
export interface PerExampleGradients {
  strategy: "loop" | "batched";
  /** The selected matrices, in model order; column j of `norms` is matrices[j]. */
  matrices: MatrixInfo[];
  /** [example][matrix] Frobenius norm of ∇_W L_b. */
  norms: number[][];
  byLayer: AggregatedNorms<number>;
  byModule: AggregatedNorms<string>;
  /** [example] loss L_b (its mean is the model's batch loss). */
  losses: number[];
  /** With options.positions: norms[example][positionIndex][matrix] of position's rank-1 term. */
  positions?: { positions: number[]; norms: number[][][] };
  /** With options.fullVectors: [example][matrix] gradient, row-major [out, in]. */
  fullVectors?: Float32Array[][];
  /** Batched only: the product used per matrix. */
  products?: ProductMethod[];
}

/** What the two strategies receive (validated) and return (before aggregation). */
export interface EngineOptions {
  positions?: number[];
  fullVectors: boolean;
  product: (typeof PRODUCT_METHODS)[number];
}
/** The engines' options contract (options.ts); both engines check it, since both are exported. */
export const ENGINE_OPTION_SPEC: OptionSpec = { positions: option.array, fullVectors: option.boolean, product: option.oneOf(PRODUCT_METHODS) };

/** What the two per-example engines return, before aggregation. */
export interface RawPerExample {
  losses: number[];
  norms: number[][];
  positionNorms?: number[][][];
  fullVectors?: Float32Array[][];
  products?: ProductMethod[];
}

const OPTION_KEYS = ["strategy", "groups", "positions", "fullVectors", "fullVectorLimit", "product"];

/**
 * Per-example gradient norms (and optionally full gradients and per-position norms) of `model`'s
 * selected matrices on every example of `batch`: for example b and matrix W, ‖∇_W L_b‖_F, where
 * L_b is that example's own loss (for the transformer: the mean next-token cross-entropy over its
 * masked target tokens). No update is made; the result is plain JS, no live tensors.
 * Takes any model that fulfils the per-example contract (models/dense-sites.ts): the built-in
 * models, or a user's tf.LayersModel wrapped by `models.fromLayersModel`.
 *
 * Which strategy (`options.strategy`):
 * - `"auto"` (default) = `"batched"`, unless the model reports that batched is not exact for the
 *   selected groups (e.g. a conv kernel in a tf.LayersModel), then `"loop"`.
 * - `"batched"`: one forward + backward for the whole batch, exact per-example norms from the
 *   recorded activations and output gradients. Use it for probing: 8–35× faster than the loop on
 *   small models (where the loop is overhead-bound), about equal when both are FLOP-bound. Memory
 *   grows with B·T·(in+out) per matrix.
 * - `"loop"`: one forward + backward per example. The oracle the batched strategy is tested
 *   against; use it to double-check a surprising number, or when a batch's activations do not fit.
 * Both agree to float32 rounding (≤ 1e-4 relative, tested on cpu and wasm).
 *
 * Defaults: `groups: ["trainable"]` (what a user would update); `fullVectors: false`, because a
 * full gradient per example costs B × params memory, capped by `fullVectorLimit` (262 144
 * parameters, 1 MiB of float32 per example).
 *
 * @param model - a per-example model (TinyTransformer, GruLanguageModel, MlpModel, fromLayersModel(...)).
 * @param batch - the model's batch type (for token models `{ tokens, lossMask }`), or a batch it prepared.
 * @returns norms `[example][matrix]` (column j is `matrices[j]`), the same aggregated by layer and
 *   by module as √(Σ norm²), per-example losses, and the optional per-position norms / full vectors.
 *
 * @example
 * ```ts
 * const model = new lab.models.TinyTransformer({ vocabSize: 20, maxLen: 8, dModel: 16, nLayers: 1, nHeads: 2, dFF: 32, seed: 1 });
 * const batch = { tokens: [[1, 2, 3, 4], [5, 6, 7, 8]], lossMask: [[0, 1, 1, 1], [0, 0, 1, 1]] };
 * const g = lab.grads.perExampleGradients(model, batch);          // strategy "batched"
 * g.norms[0];                                                      // example 0: one norm per matrix
 * const check = lab.grads.perExampleGradients(model, batch, { strategy: "loop" }); // the oracle
 * ```
 */
export function perExampleGradients<M extends AnyPerExampleModel>(model: M, batch: BatchOf<M>, options?: PerExampleGradientOptions): PerExampleGradients;
export function perExampleGradients<TBatch, TPrepared extends PreparedBatch>(
  model: PerExampleModel<TBatch, TPrepared>, batch: TBatch | TPrepared, options?: PerExampleGradientOptions,
): PerExampleGradients;
export function perExampleGradients<TBatch, TPrepared extends PreparedBatch>(
  model: PerExampleModel<TBatch, TPrepared>, batch: TBatch | TPrepared, options: PerExampleGradientOptions = {},
): PerExampleGradients {
  assertKnownKeys("options", options, OPTION_KEYS);
  const strategyName = options.strategy ?? "auto";
  assertOneOf("options.strategy", strategyName, GRADIENT_STRATEGIES);
  const product = options.product ?? "auto";
  assertOneOf("options.product", product, PRODUCT_METHODS);
  const prepared = model.prepareBatch(batch);
  const groups = selectGroups(model.parameterGroups(), options.groups);
  const positions = options.positions === undefined ? undefined : validatePositions(options.positions, prepared.length);
  const fullVectors = options.fullVectors ?? false;
  if (typeof fullVectors !== "boolean") throw new InvalidArgumentError("options.fullVectors", "a boolean", fullVectors);
  if (fullVectors) {
    const limit = options.fullVectorLimit ?? DEFAULT_FULL_VECTOR_LIMIT;
    if (!(limit > 0) || !Number.isInteger(limit)) throw new InvalidArgumentError("options.fullVectorLimit", "a positive integer", limit);
    const count = groups.reduce((n, g) => n + g.shape[0] * g.shape[1], 0);
    if (count > limit) {
      throw new InvalidArgumentError("options.fullVectors", `selected matrices with at most ${limit} parameters in total (got ${count}); narrow options.groups or raise options.fullVectorLimit`);
    }
  }

  const strategy = chooseStrategy(model, groups, strategyName, positions !== undefined);
  const engine: EngineOptions = { positions, fullVectors, product };
  const raw = strategy === "loop" ? loopPerExample(model, prepared, groups, engine) : batchedPerExample(model, prepared, groups, engine);

  const result: PerExampleGradients = {
    strategy,
    matrices: describeGroups(groups),
    norms: raw.norms,
    byLayer: aggregateNorms(raw.norms, groups.map((g) => g.layer)),
    byModule: aggregateNorms(raw.norms, groups.map((g) => g.module)),
    losses: raw.losses,
  };
  if (positions && raw.positionNorms) result.positions = { positions, norms: raw.positionNorms };
  if (raw.fullVectors) result.fullVectors = raw.fullVectors;
  if (raw.products) result.products = raw.products;
  return result;
}

/** "auto" → batched where the model says it is exact for these groups, else the loop. */
function chooseStrategy(
  model: { batchedSupport?(groups: readonly ParameterGroup[]): string | null }, groups: readonly ParameterGroup[], requested: GradientStrategy, positions: boolean,
): "loop" | "batched" {
  const reason = typeof model.batchedSupport === "function" ? model.batchedSupport(groups) : null;
  if (reason !== null && positions) {
    throw new InvalidArgumentError("options.positions", `unset for this selection (per-position norms need every selected matrix to be a dense site: ${reason})`);
  }
  if (requested === "loop") return "loop";
  if (reason === null) return "batched";
  if (requested === "batched") throw new InvalidArgumentError("options.strategy", `"auto" or "loop" for this model and selection (the batched strategy would not be exact: ${reason})`, requested);
  return "loop";
}

function validatePositions(positions: unknown, length: number): number[] {
  if (!Array.isArray(positions)) throw new InvalidArgumentError("options.positions", "an array of row indices", positions);
  if (positions.length === 0) throw new EmptyInputError("options.positions", "at least one position (omit the option for none)");
  for (const p of positions) {
    if (!Number.isInteger(p) || p < 0 || p >= length) throw new InvalidArgumentError("options.positions", `integers in [0, ${length})`, p);
  }
  return positions.slice();
}
