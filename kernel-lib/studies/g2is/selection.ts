/**
 * Every selection arm of the study on a prepared pipeline, one entry point:
 *
 *   g2is            core knowledge (PCA of the target gradients) → budgets → k-NN graph → walk, with
 *                   the official code's rules (sklearn's component sign, valK cut, numpy's ties)
 *   g2is-mean-aligned  ablation: the same walk with components flipped towards the mean target
 *                   gradient (gradlab's earlier default; NOT the official algorithm)
 *   less            LESS scores (checkpoint-weighted cosines, mean per subtask, max over subtasks)
 *   less-last       LESS ablation: the last warm-up checkpoint only
 *   less-sgd        LESS ablation: plain (SGD) pool gradients instead of the Adam form
 *   less-bias-corrected  LESS ablation: the bias-corrected Adam form m̂/(√v̂+ε)
 *   less-d64        LESS ablation: features projected to 64 dimensions (less-ablations.ts)
 *   less-no-warmup  LESS ablation: plain gradients before any warm-up (less-ablations.ts)
 *   oracle          reference: B clean rows of the groups the target is hypothesised to need (oracle.ts)
 *   sim-tfidf       mean cosine to the target's validation texts, n-gram TF-IDF (a STAND-IN for
 *                   Sentence-BERT: surface similarity)
 *   sim-hidden      the same on the base model's mean-pooled hidden states (a STAND-IN for
 *                   Sentence-BERT: the model's own "semantic" embedding)
 *   random          seeded uniform draw          full   the whole pool      base  nothing (no fine-tuning)
 *   g2is-centred    variant: the same walk on mean-centred pool features, where the conflict test
 *                   can fire (conflict-space.ts); the graph is built in that space too
 *   g2is-plain      variant: the same walk on the pool's plain (SGD) projected gradients — the space
 *                   the targets are in — with its own graph
 *   g2is-no-graph   ablation: per component the top-b_i rows by signed cosine, no walk
 *   g2is-no-grad    ablation: the same walk on hidden-state embeddings instead of gradients
 *
 * Feature space for the walk (*open*: the papers do not say how G2IS combines LESS's checkpoints):
 * each example's unit features of the C checkpoints are concatenated with weights √η̂_c (η̂ the
 * normalised epoch learning rates), so the inner product of two combined rows is exactly
 * Σ_c η̂_c cos_c — LESS's checkpoint weighting — and combined rows are unit vectors again.
 * LESS itself streams the pool from the on-disk feature stores chunk by chunk
 * (`lessScoresFromStores`), the path a pool larger than memory would take.
 * The k-NN graphs (gradient and hidden-state spaces) are built once per pipeline and reused by
 * every target, budget, valK and δ.
 */
import { InvalidArgumentError, UnknownOptionError } from "../../errors";
import { lessScores, LessCheckpoint } from "../../g2is/less";
import { selectG2IS, selectNoGraph, selectRandom, selectBySimilarity, G2ISSelection } from "../../g2is/select";
import { totalRejections } from "../../g2is/diagnostics";
import type { WalkRejections } from "../../g2is/walk";
import { exactKnnGraph, KnnGraph } from "../../g2is/knn-graph";
import { totalBudget } from "../../g2is/budget";
import { topKIndices } from "../../g2is/rows";
import { fitTfidf } from "../../g2is/tfidf";
import type { FeatureStore } from "../../features/feature-store";
import type { PreparedPipeline } from "./prepare";
import { centredCheckpointFeatures } from "./conflict-space";
import { oracleSelection } from "./oracle";
import { lessAblationFeatures } from "./less-ablations";

/** Every selection arm of the study (see the module header for what each selects); "g2is" is the official algorithm. */
export const SELECTION_METHODS = ["g2is", "g2is-mean-aligned", "g2is-centred", "g2is-plain", "less", "less-last", "less-sgd", "less-bias-corrected", "less-d64", "less-no-warmup", "oracle", "sim-tfidf", "sim-hidden", "random", "full", "g2is-no-graph", "g2is-no-grad", "base"] as const;
/** One of `SELECTION_METHODS`. */
export type SelectionMethod = (typeof SELECTION_METHODS)[number];

/** One selection to make: arm, target and the grid point (budget, valK, δ, graph k, seed). */
export interface SelectionRequest {
  method: SelectionMethod;
  /** A target of the pipeline's dataset (a toy target or "gsm8k"). */
  target: string;
  /** Budget fraction B = floor(N·trainK). */
  trainK: number;
  /** G2IS arms: share of the target-gradient variance the kept components explain (the paper: 0.5). */
  valK: number;
  /** G2IS walk arms: the consistency threshold δ (the paper: 0.8). */
  delta: number;
  /** Neighbours per node of the k-NN graph. */
  k: number;
  /** Seeds the random arm. */
  seed: number;
}

/** What `selectForTarget` returns: the selected pool rows and, for the walk arms, each component's walk and the rejection counts. */
export interface SelectionOutcome {
  method: SelectionMethod;
  indices: number[];
  budget: number;
  /** G2IS arms: each component's visit order, weight, how each step was accepted and |cos(Σ, K_i)| after it. */
  components: { weight: number; budget: number; path: number[]; kinds: string[]; alignment: number[] }[];
  /** G2IS arms: candidates the walk turned down, per scan and constraint, summed over components. */
  rejections: WalkRejections | null;
  underfilled: number;
  /** Fallback acceptances (G2IS arms): the walk left the graph. */
  fallbacks: number;
}

/**
 * LESS scores with the pool read chunk by chunk from one feature store per checkpoint (the stores
 * must hold the same rows in the same chunking). Equal to `lessScores` on the in-memory rows,
 * because every row's score depends on that row alone.
 */
export function lessScoresFromStores(stores: readonly FeatureStore[], targets: readonly (readonly (readonly Float32Array[])[])[], weights: readonly number[], subtaskNames?: readonly string[]): Float64Array {
  if (stores.length === 0 || stores.length !== targets.length || stores.length !== weights.length) {
    throw new InvalidArgumentError("stores", "one store, one target group list and one weight per checkpoint", `${stores.length} stores, ${targets.length} target lists, ${weights.length} weights`);
  }
  const rows = stores[0].rows;
  stores.forEach((s, c) => { if (s.rows !== rows || s.meta.chunkRows !== stores[0].meta.chunkRows) throw new InvalidArgumentError(`stores[${c}]`, `${rows} rows chunked like stores[0]`, `${s.rows} rows`); });
  const scores = new Float64Array(rows);
  const iterators = stores.map((s) => s.chunks());
  for (;;) {
    const chunks = iterators.map((it) => it.next());
    if (chunks[0].done) break;
    const first = chunks[0].value;
    const checkpoints: LessCheckpoint[] = chunks.map((chunk, c) => ({
      pool: chunk.value!.rows,
      targets: subtaskNames ? Object.fromEntries(subtaskNames.map((n, s) => [n, targets[c][s]])) : targets[c].map((g) => g),
      weight: weights[c],
    }));
    scores.set(lessScores(checkpoints).scores, first.start);
  }
  return scores;
}

/** √η̂-weighted concatenation of per-checkpoint unit rows (see the module header). */
export function combineCheckpoints(perCheckpoint: readonly (readonly Float32Array[])[], weights: readonly number[]): Float32Array[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const scale = weights.map((w) => Math.sqrt(w / total));
  const n = perCheckpoint[0].length, d = perCheckpoint[0][0].length;
  return Array.from({ length: n }, (_, i) => {
    const row = new Float32Array(d * perCheckpoint.length);
    perCheckpoint.forEach((rows, c) => { for (let q = 0; q < d; q++) row[c * d + q] = scale[c] * rows[i][q]; });
    return row;
  });
}

interface PipelineMemo {
  combinedPool?: Float32Array[];
  centredPool?: Float32Array[];
  plainPool?: Float32Array[];
  plainGraph?: KnnGraph;
  gradientGraph?: KnnGraph;
  centredGraph?: KnnGraph;
  hiddenGraph?: KnnGraph;
  graphK?: number;
  tfidf?: Map<string, { pool: Float32Array[]; target: Float32Array[] }>;
}
const memos = new WeakMap<PreparedPipeline, PipelineMemo>();

function memoOf(p: PreparedPipeline): PipelineMemo {
  let m = memos.get(p);
  if (m === undefined) { m = {}; memos.set(p, m); }
  return m;
}

/** The warm-up checkpoints' weights η_c (each epoch's mean learning rate, as LESS weights them), in checkpoint order. */
export function checkpointWeights(p: PreparedPipeline): number[] {
  return p.checkpoints.map((c) => c.learningRate);
}

/** The G2IS pool features (combined over checkpoints; memoised per pipeline). */
export function combinedPoolFeatures(p: PreparedPipeline): Float32Array[] {
  const memo = memoOf(p);
  memo.combinedPool ??= combineCheckpoints(p.poolFeatures, checkpointWeights(p));
  return memo.combinedPool;
}

/** The target's validation features combined over checkpoints, grouped by subtask. */
export function combinedValidationFeatures(p: PreparedPipeline, target: string): Record<string, Float32Array[]> {
  const v = p.validation[target];
  if (v === undefined) throw new UnknownOptionError("target", target, Object.keys(p.validation));
  const out: Record<string, Float32Array[]> = {};
  v.subtasks.forEach((s, si) => { out[s] = combineCheckpoints(v.byCheckpoint.map((groups) => groups[si]), checkpointWeights(p)); });
  return out;
}

/** The pool in the mean-centred space, combined over checkpoints (memoised per pipeline). */
export function combinedCentredPoolFeatures(p: PreparedPipeline): Float32Array[] {
  const memo = memoOf(p);
  memo.centredPool ??= combineCheckpoints(centredCheckpointFeatures(p).pool, checkpointWeights(p));
  return memo.centredPool;
}

/** The pool's plain (SGD) projected gradients, combined over checkpoints (memoised per pipeline). */
export function combinedPlainPoolFeatures(p: PreparedPipeline): Float32Array[] {
  const memo = memoOf(p);
  memo.plainPool ??= combineCheckpoints(p.poolFeaturesSgd, checkpointWeights(p));
  return memo.plainPool;
}

function graphs(p: PreparedPipeline, k: number): { gradient: KnnGraph; hidden: KnnGraph; centred: () => KnnGraph; plain: () => KnnGraph } {
  const memo = memoOf(p);
  if (memo.graphK !== k) { memo.gradientGraph = undefined; memo.hiddenGraph = undefined; memo.centredGraph = undefined; memo.plainGraph = undefined; memo.graphK = k; }
  memo.gradientGraph ??= exactKnnGraph(combinedPoolFeatures(p), { k });
  memo.hiddenGraph ??= exactKnnGraph(p.poolHidden, { k });
  const centred = () => (memo.centredGraph ??= exactKnnGraph(combinedCentredPoolFeatures(p), { k }));
  const plain = () => (memo.plainGraph ??= exactKnnGraph(combinedPlainPoolFeatures(p), { k }));
  return { gradient: memo.gradientGraph, hidden: memo.hiddenGraph, centred, plain };
}

function tfidfFeatures(p: PreparedPipeline, target: string): { pool: Float32Array[]; target: Float32Array[] } {
  const memo = memoOf(p);
  memo.tfidf ??= new Map();
  let entry = memo.tfidf.get(target);
  if (entry === undefined) {
    const poolTexts = p.dataset.pool.map((e) => `${e.prompt} ${e.answer}`);
    const targetTexts = Object.values(p.dataset.targets[target].validation).flat().map((e) => `${e.prompt} ${e.answer}`);
    const toy = p.dataset.kind === "toy";
    const model = fitTfidf([...poolTexts, ...targetTexts], { analyzer: toy ? "char" : "word", ngram: toy ? [1, 3] : [1, 2], maxFeatures: 4096 });
    entry = { pool: model.transform(poolTexts), target: model.transform(targetTexts) };
    memo.tfidf.set(target, entry);
  }
  return entry;
}

function fromG2IS(method: SelectionMethod, s: G2ISSelection): SelectionOutcome {
  return {
    method, indices: s.indices, budget: s.budgetTotal, underfilled: s.underfilled.length,
    components: s.components.map((c) => ({ weight: c.weight, budget: c.budget, path: c.path, kinds: c.kinds, alignment: c.alignment })),
    rejections: totalRejections(s.components),
    fallbacks: s.components.reduce((n, c) => n + c.kinds.filter((k) => k === "fallback").length, 0),
  };
}

/**
 * Runs one selection arm (`SELECTION_METHODS`) for one target on a prepared pipeline: the study's
 * single entry point to every method, so all arms see the same features, graph and budget
 * B = floor(N·trainK). Graphs and combined features are memoised per pipeline.
 *
 * @example
 * ```ts
 * // `pipe` from lab.studies.g2is.preparePipeline (see its example)
 * const request = { target: "multi", trainK: 0.1, valK: 0.5, delta: 0.8, k: 5, seed: 0 };
 * const g2is = lab.studies.g2is.selectForTarget(pipe, { ...request, method: "g2is" });
 * const less = lab.studies.g2is.selectForTarget(pipe, { ...request, method: "less" });
 * g2is.indices; less.indices;   // 6 pool rows each
 * g2is.rejections;              // what the walk turned down, per scan and constraint
 * ```
 */
export function selectForTarget(p: PreparedPipeline, request: SelectionRequest): SelectionOutcome {
  const { method, target } = request;
  if (!(SELECTION_METHODS as readonly string[]).includes(method)) throw new UnknownOptionError("request.method", String(method), SELECTION_METHODS);
  if (p.dataset.targets[target] === undefined) throw new UnknownOptionError("request.target", target, Object.keys(p.dataset.targets));
  const N = p.dataset.pool.length;
  const B = totalBudget(N, request.trainK);
  const plain = (indices: number[]): SelectionOutcome => ({ method, indices, budget: indices.length, components: [], rejections: null, underfilled: 0, fallbacks: 0 });
  switch (method) {
    case "base": return plain([]);
    case "full": return plain(Array.from({ length: N }, (_, i) => i));
    case "random": return plain(selectRandom(N, B, `${request.seed}/random-arm`));
    case "less": {
      const v = p.validation[target];
      const scores = lessScoresFromStores(p.poolStores, v.byCheckpoint, checkpointWeights(p), v.subtasks);
      return plain(topKIndices(scores, B));
    }
    case "less-last": {
      const v = p.validation[target], c = p.poolStores.length - 1;
      return plain(topKIndices(lessScoresFromStores([p.poolStores[c]], [v.byCheckpoint[c]], [1], v.subtasks), B));
    }
    case "less-sgd":
    case "less-bias-corrected": {
      const v = p.validation[target], pools = method === "less-sgd" ? p.poolFeaturesSgd : p.poolFeaturesBiasCorrected;
      const checkpoints: LessCheckpoint[] = pools.map((pool, c) => ({ pool, targets: Object.fromEntries(v.subtasks.map((s, si) => [s, v.byCheckpoint[c][si]])), weight: checkpointWeights(p)[c] }));
      return plain(topKIndices(lessScores(checkpoints).scores, B));
    }
    case "less-d64":
    case "less-no-warmup": {
      const a = lessAblationFeatures(p);
      const { pools, v, weights } = method === "less-d64"
        ? { pools: a.lowDim.pool, v: a.lowDim.validation[target], weights: checkpointWeights(p) }
        : { pools: [a.noWarmup.pool], v: a.noWarmup.validation[target], weights: [1] };
      const checkpoints: LessCheckpoint[] = pools.map((pool, c) => ({ pool, targets: Object.fromEntries(v.subtasks.map((s, si) => [s, v.byCheckpoint[c][si]])), weight: weights[c] }));
      return plain(topKIndices(lessScores(checkpoints).scores, B));
    }
    case "oracle": return plain(oracleSelection(p.dataset, target, B, `${request.seed}/oracle-arm`));
    case "sim-tfidf": { const t = tfidfFeatures(p, target); return plain(selectBySimilarity(t.pool, t.target, B).indices); }
    case "sim-hidden": return plain(selectBySimilarity(p.poolHidden, Object.values(p.validationHidden[target]).flat(), B).indices);
    case "g2is":
    case "g2is-mean-aligned": {
      const s = selectG2IS(combinedPoolFeatures(p), combinedValidationFeatures(p, target), {
        trainK: request.trainK, valK: request.valK, delta: request.delta, graph: graphs(p, request.k).gradient,
        sign: method === "g2is" ? "largest-positive" : "mean-aligned",
      });
      return fromG2IS(method, s);
    }
    case "g2is-centred":
    case "g2is-plain": {
      const centred = method === "g2is-centred", g = graphs(p, request.k);
      const s = selectG2IS(centred ? combinedCentredPoolFeatures(p) : combinedPlainPoolFeatures(p), combinedValidationFeatures(p, target), {
        trainK: request.trainK, valK: request.valK, delta: request.delta, graph: centred ? g.centred() : g.plain(),
      });
      return fromG2IS(method, s);
    }
    case "g2is-no-grad": {
      const s = selectG2IS(p.poolHidden, p.validationHidden[target], { trainK: request.trainK, valK: request.valK, delta: request.delta, graph: graphs(p, request.k).hidden });
      return fromG2IS(method, s);
    }
    case "g2is-no-graph": {
      const s = selectNoGraph(combinedPoolFeatures(p), combinedValidationFeatures(p, target), { trainK: request.trainK, valK: request.valK });
      return { method, indices: s.indices, budget: s.budgetTotal, components: s.components.map((c) => ({ weight: c.weight, budget: c.budget, path: c.path, kinds: c.path.map(() => "top-cosine"), alignment: [] })), rejections: null, underfilled: 0, fallbacks: 0 };
    }
  }
}
