/**
 * The PRISM probe for any per-example model — a built-in one or a user's tf.LayersModel through
 * models.fromLayersModel: each example's probe vector is the Frobenius norm of its loss gradient
 * with respect to each selected weight (no update is made), and every concentration metric is
 * scored on it. The result is a ProbeResult, so `routeByMetric`, `probeRecords`,
 * `probeDataFrame` and the confound checks take it exactly as they take `probeTrajectories`'.
 *
 * Which groups: the default "trainable" probes every weight an optimizer would update. For a
 * Keras model that includes biases; pass `groups: ["kernel"]` for the paper's one-entry-per-matrix
 * vector. Strategy "auto" uses the batched engine where the model says it is exact (see
 * models/layers-adapter.ts) and the loop elsewhere; `result.strategy` says which one ran.
 */
import { EmptyInputError, InvalidArgumentError, ShapeError, assertOneOf } from "../errors";
import { checkOptions, option } from "../options";
import type { AnyPerExampleModel, BatchOf, PreparedBatch } from "../models/dense-sites";
import { GRADIENT_STRATEGIES, GradientStrategy, perExampleGradients } from "../grads/per-example";
import type { MatrixInfo } from "../grads/groups";
import { concentrationScores, METRIC_NAMES, MetricName } from "../metrics/concentration";
import { PROBE_NORMALISATIONS, ProbeExample, ProbeNormalisation, ProbeResult } from "./probe";

/** Options of `probeModel`. */
export interface ProbeModelOptions {
  /** Weights to probe (grads/groups.ts tokens). Default "trainable". */
  groups?: string[];
  /** Examples per gradient batch. Default 32. */
  batchSize?: number;
  /** "auto" (default), "batched" or "loop". */
  strategy?: GradientStrategy;
  /** "raw" (default, the paper) or "sqrt-numel" (each norm / √(its parameter count)). */
  normalisation?: ProbeNormalisation;
  /** Metrics to score. Default all. */
  metrics?: MetricName[];
  /** Per-example id / label / group carried into the table, one per example. */
  examples?: ReadonlyArray<Pick<ProbeExample, "id" | "label" | "group">>;
  /** Called after each batch with the examples done so far and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** A ProbeResult plus which per-example strategy ran. */
export interface ModelProbeResult extends ProbeResult {
  strategy: "loop" | "batched";
}

/**
 * The PRISM probe for any per-example model (a user's tf.LayersModel through
 * `models.fromLayersModel`, or a built-in one): probes every example of `batch` — validated as a
 * whole first, so a bad row fails before any compute — and scores the concentration of each
 * example's per-matrix gradient-norm vector. Same result shape as {@link probeTrajectories}, plus
 * the strategy used; the same defaults (raw norms, "auto" strategy, every metric). Choose the
 * matrices with `groups` (default: every trainable matrix; for a dense net `["kernel"]` leaves the
 * biases out).
 *
 * @example
 * ```ts
 * const { tf } = lab;
 * const net = tf.sequential({ layers: [tf.layers.dense({ units: 4, inputShape: [3], activation: "relu" }), tf.layers.dense({ units: 2 })] });
 * const model = lab.models.fromLayersModel(net, { loss: "mean-squared-error" });
 * const batch = { inputs: [[1, 2, 3], [4, 5, 6], [0, 1, 0]], targets: [[1, 0], [0, 1], [1, 1]] };
 * const probe = lab.prism.probeModel(model, batch, { groups: ["kernel"], metrics: ["gini"] });
 * const routing = lab.prism.routeByMetric(probe, "gini", { rule: "median" });
 * ```
 */
export function probeModel<M extends AnyPerExampleModel>(model: M, batch: BatchOf<M>, options: ProbeModelOptions = {}): ModelProbeResult {
  checkOptions("options", options, {
    groups: option.array, batchSize: option.positiveInteger, strategy: option.oneOf(GRADIENT_STRATEGIES),
    normalisation: option.oneOf(PROBE_NORMALISATIONS), metrics: option.array, examples: option.array, onProgress: option.function,
  });
  if (model === null || typeof model !== "object" || typeof model.prepareBatch !== "function") {
    throw new InvalidArgumentError("model", "a per-example model (models.fromLayersModel(net, …) or a built-in model)", model);
  }
  const metrics = options.metrics ?? METRIC_NAMES;
  if (metrics.length === 0) throw new EmptyInputError("options.metrics", "at least one metric");
  metrics.forEach((m, i) => assertOneOf(`options.metrics[${i}]`, m, METRIC_NAMES));
  const normalisation = options.normalisation ?? "raw";
  const all: PreparedBatch = model.prepareBatch(batch);
  if (options.examples !== undefined && options.examples.length !== all.size) {
    throw new ShapeError("options.examples", `one entry per example (${all.size})`, [options.examples.length]);
  }
  const size = options.batchSize ?? 32;
  const started = Date.now();
  const vectors: number[][] = [], losses: number[] = [];
  let matrices: MatrixInfo[] = [], strategy: "loop" | "batched" = "loop";
  for (let start = 0; start < all.size; start += size) {
    const indices = Array.from({ length: Math.min(size, all.size - start) }, (_, j) => start + j);
    const chunks = typeof all.rows === "function" ? [all.rows(indices)] : indices.map((i) => all.example(i));
    for (const chunk of chunks) {
      const grads = perExampleGradients(model, chunk, { groups: options.groups, strategy: options.strategy ?? "auto" });
      matrices = grads.matrices;
      strategy = grads.strategy;
      const scale = matrices.map((m) => (normalisation === "sqrt-numel" ? 1 / Math.sqrt(m.numel) : 1));
      for (const row of grads.norms) vectors.push(row.map((v, j) => v * scale[j]));
      for (const loss of grads.losses) losses.push(loss);
    }
    options.onProgress?.(vectors.length, all.size);
  }
  const rows = concentrationScores(vectors, metrics);
  const scores = {} as Record<MetricName, number[]>;
  for (const m of metrics) scores[m] = rows.map((row) => row[m]);
  return {
    matrices, vectors, scores, losses, normalisation, strategy, contextLength: all.length,
    examples: Array.from({ length: all.size }, (_, i) => {
      const e = options.examples?.[i];
      return e === undefined ? {} : { id: e.id, label: e.label, group: e.group };
    }),
    seconds: (Date.now() - started) / 1000,
  };
}
