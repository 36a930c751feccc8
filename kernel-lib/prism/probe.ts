/**
 * The PRISM probe: for a frozen model and a set of trajectories (tokens + a loss mask on action
 * tokens, padded/truncated to one context length), the probe vector of each trajectory is the
 * Frobenius norm of its loss gradient w.r.t. every projection matrix (q, k, v, o, gate, up, down of
 * each layer: N = 7L entries). No update is made.
 * Every concentration metric is then scored on each vector; routing rules live in routing.ts.
 * Length and loss confound the scores (padding does not remove length): check them with confounds.ts.
 *
 * Normalisation (the paper uses raw norms; ours is an ablation): "sqrt-numel" divides each
 * matrix's norm by √(its parameter count), removing the bias that larger matrices carry.
 * Batching: trajectories are probed `batchSize` at a time with the batched per-example strategy
 * (exact; ≥10× the loop) unless `strategy: "loop"` asks for the oracle.
 */
import { assertKnownKeys, assertOneOf, EmptyInputError, InvalidArgumentError, ShapeError } from "../errors";
import { TinyTransformer, TRANSFORMER_MODULES } from "../models/transformer";
import { perExampleGradients, GradientStrategy } from "../grads/per-example";
import { PreparedTokenBatch } from "../models/token-batch";
import type { TokenBatch } from "../models/token-batch";
import type { PerExampleModel } from "../models/dense-sites";
import type { MatrixInfo } from "../grads/groups";
import { concentrationScores, METRIC_NAMES, MetricName } from "../metrics/concentration";
import { route, Routing, RoutingOptions } from "./routing";
import { toDataFrame } from "../viz/table";

/** Probe vector normalisations: "raw" (the paper's) or "sqrt-numel" (each norm divided by √numel). */
export const PROBE_NORMALISATIONS = ["raw", "sqrt-numel"] as const;
/** A probe vector normalisation; see PROBE_NORMALISATIONS. */
export type ProbeNormalisation = (typeof PROBE_NORMALISATIONS)[number];

/**
 * One trajectory to probe: tokens and a loss mask (1 on action tokens), with an optional id, label
 * and group carried into the results.
 */
export interface ProbeExample {
  tokens: number[];
  lossMask: number[];
  /** Optional identifier carried into the table. */
  id?: string;
  /** Optional ground-truth label (e.g. the planted conflict) carried into the table. */
  label?: boolean;
  /** Optional grouping (e.g. the task family) carried into the table. */
  group?: string;
}

/** Options of `probeTrajectories` (all optional; defaults under `probeTrajectories`). */
export interface ProbeOptions {
  batchSize?: number;
  strategy?: GradientStrategy;
  normalisation?: ProbeNormalisation;
  metrics?: MetricName[];
  /** Token positions whose per-position probe vectors to return too (stepwise views). */
  positions?: number[];
}

/**
 * What the probe returns: per-trajectory probe vectors, scores per metric, losses and the examples'
 * ids / labels / groups.
 */
export interface ProbeResult {
  matrices: MatrixInfo[];
  /** [trajectory][matrix] probe vector (after normalisation). */
  vectors: number[][];
  /** metric → [trajectory] score. */
  scores: Record<MetricName, number[]>;
  losses: number[];
  examples: Array<Pick<ProbeExample, "id" | "label" | "group">>;
  normalisation: ProbeNormalisation;
  contextLength: number;
  seconds: number;
  /** With options.positions: [trajectory][positionIndex][matrix] (raw per-position norms). */
  positionVectors?: { positions: number[]; vectors: number[][][] };
}

const OPTION_KEYS = ["batchSize", "strategy", "normalisation", "metrics", "positions"];

/** A per-example model on token trajectories (the built-in TinyTransformer and GruLanguageModel). */
export type TokenProbeModel = PerExampleModel<TokenBatch, PreparedTokenBatch>;

/**
 * Validates every trajectory for `model` as one batch in the caller's order, before anything is
 * probed: an error names the caller's example index (not its row in some batch or worker's
 * slice), and no minutes of probing are spent before a bad trajectory further down is found.
 * probeTrajectories and its parallel version cut the returned batch with `rows()`.
 */
export function prepareProbeExamples(model: TokenProbeModel, examples: readonly ProbeExample[]): PreparedTokenBatch {
  if (model === null || typeof model !== "object" || typeof model.prepareBatch !== "function" || typeof model.parameterGroups !== "function") {
    throw new InvalidArgumentError("model", "a token model (TinyTransformer, GruLanguageModel, …); for any other per-example model use probeModel", model);
  }
  if (!Array.isArray(examples)) throw new InvalidArgumentError("examples", "an array of {tokens, lossMask}", examples);
  if (examples.length === 0) throw new EmptyInputError("examples", "at least one trajectory");
  examples.forEach((e, i) => {
    if (e === null || typeof e !== "object" || !Array.isArray(e.tokens) || !Array.isArray(e.lossMask)) throw new InvalidArgumentError(`examples[${i}]`, "{tokens: number[], lossMask: number[]}", e);
  });
  const T = examples[0].tokens.length;
  examples.forEach((e, i) => {
    if (e.tokens.length !== T || e.lossMask.length !== T) {
      throw new ShapeError(`examples[${i}]`, `tokens and lossMask of the one fixed context length ${T}`, [e.tokens.length, e.lossMask.length]);
    }
  });
  const prepared = model.prepareBatch({ tokens: examples.map((e) => e.tokens), lossMask: examples.map((e) => e.lossMask) });
  if (!(prepared instanceof PreparedTokenBatch)) throw new InvalidArgumentError("model", "a model whose prepareBatch takes {tokens, lossMask} (a token model); otherwise use probeModel", model);
  return prepared;
}

/**
 * The PRISM probe on token trajectories: one probe vector per trajectory — the Frobenius norm of
 * its loss gradient w.r.t. each matrix, no update made — and every concentration metric scored on
 * it. For the TinyTransformer the vector has one entry per projection matrix (q, k, v, o, gate,
 * up, down of each layer, LoRA adapters excluded); for another token model (a GRU) one per
 * trainable matrix. For models that do not take token batches (a tf.LayersModel), use
 * {@link probeModel}. All trajectories share one context length (pad/truncate first).
 *
 * Defaults and why: `normalisation: "raw"` (the paper's; `"sqrt-numel"` divides each norm by
 * √numel to remove the bias of larger matrices — an ablation); `strategy: "auto"` (batched, exact,
 * ≥ 10× the loop; `"loop"` is the oracle); `batchSize: 32` trajectories per backward pass (memory
 * grows with it); `metrics`: every registered metric.
 * Loss and length confound the scores: check them with `confoundTable` / `aucControllingFor`.
 *
 * @returns per-trajectory `vectors`, `scores[metric]`, `losses`, the `matrices` (column order)
 *   and the examples' ids / labels / groups, ready for {@link routeByMetric} and `probeDataFrame`.
 *
 * @example
 * ```ts
 * const model = new lab.models.TinyTransformer({ vocabSize: 20, maxLen: 8, dModel: 16, nLayers: 1, nHeads: 2, dFF: 32, seed: 1 });
 * const examples = [
 *   { tokens: [1, 2, 3, 4, 5, 6], lossMask: [0, 0, 0, 1, 1, 1], id: "a" },
 *   { tokens: [6, 5, 4, 3, 2, 1], lossMask: [0, 0, 1, 1, 1, 1], id: "b" },
 * ];
 * const probe = lab.prism.probeTrajectories(model, examples, { metrics: ["gini", "l2"] });
 * const routing = lab.prism.routeByMetric(probe, "gini", { rule: "median" }); // routes: ["rl", "sft"]
 * ```
 */
export function probeTrajectories(model: TokenProbeModel, examples: readonly ProbeExample[], options: ProbeOptions = {}): ProbeResult {
  assertKnownKeys("options", options, OPTION_KEYS);
  const normalisation = options.normalisation ?? "raw";
  assertOneOf("options.normalisation", normalisation, PROBE_NORMALISATIONS);
  const metrics = options.metrics ?? METRIC_NAMES;
  metrics.forEach((m, i) => assertOneOf(`options.metrics[${i}]`, m, METRIC_NAMES));
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new InvalidArgumentError("options.batchSize", "a positive integer", batchSize);
  const all = prepareProbeExamples(model, examples);
  const T = all.length;

  const started = Date.now();
  const vectors: number[][] = [];
  const losses: number[] = [];
  const positionVectors: number[][][] = [];
  let matrices: MatrixInfo[] = [];
  for (let start = 0; start < examples.length; start += batchSize) {
    const rows = Array.from({ length: Math.min(batchSize, examples.length - start) }, (_, j) => start + j);
    const grads = perExampleGradients<TokenBatch, PreparedTokenBatch>(model, all.rows(rows), {
      strategy: options.strategy ?? "auto",
      groups: model instanceof TinyTransformer ? [...TRANSFORMER_MODULES] : undefined,
      positions: options.positions,
    });
    matrices = grads.matrices;
    const scale = matrices.map((m) => (normalisation === "sqrt-numel" ? 1 / Math.sqrt(m.numel) : 1));
    for (const row of grads.norms) vectors.push(row.map((v, j) => v * scale[j]));
    losses.push(...grads.losses);
    if (grads.positions) positionVectors.push(...grads.positions.norms);
  }
  const rows = concentrationScores(vectors, metrics);
  const scores = {} as Record<MetricName, number[]>;
  for (const m of metrics) scores[m] = rows.map((row) => row[m]);
  const result: ProbeResult = {
    matrices, vectors, scores, losses, normalisation, contextLength: T,
    examples: examples.map(({ id, label, group }) => ({ id, label, group })),
    seconds: (Date.now() - started) / 1000,
  };
  if (options.positions) result.positionVectors = { positions: options.positions, vectors: positionVectors };
  return result;
}

/**
 * Routes the probed trajectories to SFT or RL by one metric's scores ("gini" is PRISM's rule,
 * "l2" gives the Magnitude arm); `options.rule` picks the cut (see {@link route}).
 */
export function routeByMetric(result: ProbeResult, metric: MetricName, options: RoutingOptions): Routing {
  assertOneOf("metric", metric, Object.keys(result.scores) as MetricName[]);
  return route(result.scores[metric], options);
}

/** One row per trajectory: id, group, label, loss, every score and (optionally) routes. */
export function probeRecords(result: ProbeResult, routings: Record<string, Routing> = {}): Array<Record<string, string | number | boolean>> {
  return result.vectors.map((_, i) => {
    const ex = result.examples[i];
    const row: Record<string, string | number | boolean> = { id: ex.id ?? String(i) };
    if (ex.group !== undefined) row.group = ex.group;
    if (ex.label !== undefined) row.label = ex.label;
    row.loss = result.losses[i];
    for (const [metric, values] of Object.entries(result.scores)) row[metric] = values[i];
    for (const [name, routing] of Object.entries(routings)) row[`route_${name}`] = routing.routes[i];
    return row;
  });
}

/** The same rows as a danfo DataFrame (what a notebook shows and filters). */
export function probeDataFrame(result: ProbeResult, routings: Record<string, Routing> = {}): ReturnType<typeof toDataFrame> {
  return toDataFrame(probeRecords(result, routings));
}
