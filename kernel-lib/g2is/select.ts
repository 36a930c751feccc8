/**
 * Data selection entry points on plain feature matrices (the training pipeline that produces the
 * features lives elsewhere):
 *  - `selectG2IS`: core knowledge (PCA) → budgets → k-NN graph → gradient walk. Pass gradient
 *    features for G2IS; pass semantic embeddings of pool and target for the "G2IS without
 *    gradients" ablation (the same walk on another feature space).
 *  - `selectNoGraph`: the "G2IS without graph" ablation — per component, the top-b_i not-excluded
 *    rows by signed cosine with K_i (no walk, no conflict or consistency tests).
 *  - baselines: `selectRandom` (seeded), `selectLess` (top-k LESS score, in less.ts),
 *    `selectBySimilarity` (mean cosine to the target set; feed it TF-IDF vectors from tfidf.ts or
 *    mean-pooled hidden states — stand-ins for Sentence-BERT, which is not available offline).
 * Which graph when: "exact" up to ~10k rows (seconds), "hnsw" above (the exact graph is O(N²d));
 * "auto" (default) switches at `AUTO_EXACT_LIMIT`. For sweeps over δ, valK or the budget, build
 * the graph once and pass it as `graph: prebuiltGraph` so only the walk is repeated.
 */
import { EmptyInputError, InvalidArgumentError, assertKnownKeys } from "../errors";
import { Rng, Seed } from "../random";
import { ComponentSign, CoreKnowledge, PcaMethod, ValKCut, coreKnowledge } from "./core-knowledge";
import { BudgetFloor, RemainderTies, componentBudgets } from "./budget";
import { HnswGraphOptions, KnnGraph, buildKnnGraph, checkGraph } from "./knn-graph";
import { AcceptanceKind, UnderfillReport, WalkRejections, gradientWalk } from "./walk";
import { GraphAgreement, graphAgreement } from "./graph-check";
import {
  FeatureRows, TargetSubtasks, argsortDescending, assertInRange, checkRowsNamed, dotAt, flattenTargets, normalizePacked, packRows, topKIndices,
} from "./rows";

/**
 * Pool size up to which `graph: "auto"` builds the exact k-NN graph (O(N²d), seconds at 10k rows);
 * above it, HNSW (approximate, checked against exact lists on `hnswCheckRows` nodes).
 */
export const AUTO_EXACT_LIMIT = 10_000;

/** Options shared by `selectG2IS` and `selectNoGraph` (budget, PCA and tie rules); every default is the official code's. */
export interface SelectionCommonOptions {
  /** Fraction of the pool to select, B = floor(N·trainK). Default 0.01. */
  trainK?: number;
  /** Absolute B instead of trainK. */
  budget?: number;
  /** PCA cumulative explained-variance target. Default 0.5. */
  valK?: number;
  /** Component sign: "largest-positive" (sklearn's, the official code's; default) or "mean-aligned" (ablation). */
  sign?: ComponentSign;
  /** valK cut rule: "exceed" (sklearn's; default) or "reach" (see core-knowledge.ts). */
  valKCut?: ValKCut;
  /** Budget remainder ties: "higher-index" (numpy's; default) or "lower-index" (see budget.ts). */
  remainderTies?: RemainderTies;
  /** Budget floors: "bare" (the official int(); default) or "tolerant" (see budget.ts). */
  budgetFloor?: BudgetFloor;
  /** PCA strategy (default "auto"; see core-knowledge.ts). */
  pcaMethod?: PcaMethod;
}

/** Options of `selectG2IS`: the common ones plus the walk (δ) and the graph (k, exact / HNSW / prebuilt). */
export interface G2ISOptions extends SelectionCommonOptions {
  /** Consistency threshold δ ∈ (0, 1]. Default 0.8. */
  delta?: number;
  /** Neighbours per node. Default 10. */
  k?: number;
  /** "exact" | "hnsw" | "auto" (default), or a graph built earlier over the same pool rows. */
  graph?: "exact" | "hnsw" | "auto" | KnnGraph;
  /** HNSW parameters (M, efConstruction, ef, seed, space). */
  hnsw?: Omit<HnswGraphOptions, "k">;
  /** Rows per matMul block of the exact graph. */
  blockRows?: number;
  /** Nodes on which an HNSW graph built here is checked against exact lists (graph-check.ts); 0 = no check. Default 200. */
  hnswCheckRows?: number;
}

/** One principal component in a G2IS selection: its weight and budget, and its walk (path, acceptance kinds, alignment, rejections). */
export interface SelectedComponent {
  weight: number;
  varianceRatio: number;
  budget: number;
  path: number[];
  kinds: AcceptanceKind[];
  alignment: number[];
  anchorRank: number;
  underfilled: boolean;
  /** Candidates the walk turned down, per scan and constraint (walk.ts). */
  rejections: WalkRejections;
}

/** What `selectG2IS` returns: the selected rows, each component's walk, the graph used (with its build cost and HNSW agreement) and the core knowledge. */
export interface G2ISSelection {
  /** Selected pool rows in visit order (may be fewer than budgetTotal: see underfilled). */
  indices: number[];
  budgetTotal: number;
  components: SelectedComponent[];
  underfilled: UnderfillReport[];
  graph: KnnGraph;
  graphStats: { method: string; n: number; k: number; buildSeconds: number; params: Record<string, number | string>; reused: boolean; agreement: GraphAgreement | null };
  coreKnowledge: CoreKnowledge;
}

const COMMON_KEYS = ["trainK", "budget", "valK", "sign", "valKCut", "remainderTies", "budgetFloor", "pcaMethod"];
const G2IS_KEYS = [...COMMON_KEYS, "delta", "k", "graph", "hnsw", "blockRows", "hnswCheckRows"];

/** Validates pool and target (non-empty, finite, equal widths) and returns the flat target rows. */
function checkPoolAndTarget(pool: FeatureRows, target: FeatureRows | TargetSubtasks): FeatureRows {
  const d = checkRowsNamed("pool", pool);
  const rows = flattenTargets("target", target);
  checkRowsNamed("target", rows, d, "pool");
  return rows;
}

function prepare(pool: FeatureRows, target: FeatureRows | TargetSubtasks, options: SelectionCommonOptions) {
  const rows = checkPoolAndTarget(pool, target);
  if (options.trainK !== undefined) assertInRange("options.trainK", options.trainK, 0, 1, true);
  const knowledge = coreKnowledge(rows, { valK: options.valK, sign: options.sign, valKCut: options.valKCut, method: options.pcaMethod });
  const { total, budgets } = componentBudgets(pool.length, knowledge.weights, {
    trainK: options.trainK, budget: options.budget, remainderTies: options.remainderTies, budgetFloor: options.budgetFloor,
  });
  return { knowledge, total, budgets };
}

/**
 * G2IS: PCA core knowledge, budgets, k-NN graph, gradient walk — the official algorithm by default
 * (scikit-learn's component sign and valK cut, numpy's budget ties; trainK 0.01, valK 0.5, δ 0.8 and
 * k = 10 as in the paper). Pass gradient features (e.g. LESS's) for G2IS, or embeddings for the
 * "without gradients" ablation; each component's `rejections` count what its walk turned down.
 *
 * @example
 * ```ts
 * const rng = new lab.Rng(0);
 * const pool = Array.from({ length: 200 }, () => Float32Array.from({ length: 8 }, () => rng.normal()));
 * const target = { skillA: pool.slice(0, 4), skillB: pool.slice(100, 104) };
 * const picked = lab.g2is.selectG2IS(pool, target, { trainK: 0.05, graph: "exact" });
 * picked.indices;                       // 10 pool rows, in visit order
 * picked.components[0].rejections;      // { neighbour: {excluded, conflict, consistency}, fallback: {…}, conflictRows }
 * ```
 */
export function selectG2IS(pool: FeatureRows, target: FeatureRows | TargetSubtasks, options: G2ISOptions = {}): G2ISSelection {
  assertKnownKeys("options", options, G2IS_KEYS);
  const delta = options.delta ?? 0.8;
  assertInRange("options.delta", delta, 0, 1, true); // before any expensive step
  const { knowledge, total, budgets } = prepare(pool, target, options);
  const k = options.k ?? 10;
  let graph: KnnGraph, reused = false;
  const requested = options.graph ?? "auto";
  if (typeof requested === "object") {
    checkGraph("options.graph", requested, pool.length);
    graph = requested;
    reused = true;
  } else {
    if (!["exact", "hnsw", "auto"].includes(requested)) throw new InvalidArgumentError("options.graph", "\"exact\", \"hnsw\", \"auto\" or a KnnGraph", requested);
    if (options.hnsw !== undefined) assertKnownKeys("options.hnsw", options.hnsw, ["M", "efConstruction", "ef", "seed", "space"]);
    const method = requested === "auto" ? (pool.length <= AUTO_EXACT_LIMIT ? "exact" : "hnsw") : requested;
    graph = method === "exact"
      ? buildKnnGraph(pool, "exact", { k, ...(options.blockRows === undefined ? {} : { blockRows: options.blockRows }) })
      : buildKnnGraph(pool, "hnsw", { k, ...(options.hnsw ?? {}) });
  }
  const checkRows = options.hnswCheckRows ?? 200;
  if (!Number.isInteger(checkRows) || checkRows < 0) throw new InvalidArgumentError("options.hnswCheckRows", "a non-negative integer", checkRows);
  // An approximate graph built here is reported with its measured agreement with the exact one.
  const agreement = !reused && graph.method === "hnsw" && checkRows > 0 ? graphAgreement(graph, pool, { sampleRows: checkRows }) : null;
  const walk = gradientWalk(pool, knowledge.components, budgets, graph, { delta });
  return {
    indices: walk.indices,
    budgetTotal: total,
    components: walk.components.map((w, i) => ({
      weight: knowledge.weights[i], varianceRatio: knowledge.varianceRatios[i], budget: w.budget, path: w.path, kinds: w.kinds,
      alignment: w.alignment, anchorRank: w.anchorRank, underfilled: w.underfilled, rejections: w.rejections,
    })),
    underfilled: walk.underfilled,
    graph,
    graphStats: { method: graph.method, n: graph.n, k: graph.k, buildSeconds: graph.buildSeconds, params: graph.params, reused, agreement },
    coreKnowledge: knowledge,
  };
}

/** "G2IS without graph": per component in PCA order, the top-b_i not-excluded rows by signed cosine with K_i. */
export function selectNoGraph(
  pool: FeatureRows, target: FeatureRows | TargetSubtasks, options: SelectionCommonOptions = {},
): { indices: number[]; budgetTotal: number; components: { weight: number; budget: number; path: number[] }[]; coreKnowledge: CoreKnowledge } {
  assertKnownKeys("options", options, COMMON_KEYS);
  const { knowledge, total, budgets } = prepare(pool, target, options);
  const packed = packRows("pool", pool), { n, d } = packed, unit = normalizePacked(packed).data;
  const excluded = new Uint8Array(n), indices: number[] = [];
  const components = knowledge.components.map((K, i) => {
    const projection = Float64Array.from({ length: n }, (_, j) => dotAt(unit, j * d, K, 0, d));
    const path: number[] = [];
    for (const j of argsortDescending(projection)) {
      if (path.length >= budgets[i]) break;
      if (excluded[j]) continue;
      excluded[j] = 1;
      path.push(j);
    }
    for (const j of path) indices.push(j); // no spread: a path can exceed the argument limit (~10⁵)
    return { weight: knowledge.weights[i], budget: budgets[i], path };
  });
  return { indices, budgetTotal: total, components, coreKnowledge: knowledge };
}

/** k distinct pool indices drawn uniformly (seeded; a pure function of (N, k, seed)). */
export function selectRandom(poolSize: number, k: number, seed: Seed): number[] {
  if (!Number.isInteger(poolSize) || poolSize < 1) throw new InvalidArgumentError("poolSize", "a positive integer", poolSize);
  if (!Number.isInteger(k) || k < 0 || k > poolSize) throw new InvalidArgumentError("k", `an integer in [0, ${poolSize}]`, k);
  return new Rng(seed).derive("select-random").sampleIndices(poolSize, k);
}

/**
 * Surface/semantic similarity baseline: score_i = mean_j cos(pool_i, target_j), top-k (ties by
 * lower index). Computed as pool̂_i · mean_j target̂_j, which is the same number without the
 * N × n matrix. Zero rows (e.g. an empty text's TF-IDF vector) score 0.
 */
export function selectBySimilarity(poolEmbeddings: FeatureRows, targetEmbeddings: FeatureRows | TargetSubtasks, k: number): { indices: number[]; scores: Float64Array } {
  const target = checkPoolAndTarget(poolEmbeddings, targetEmbeddings);
  if (target.length === 0) throw new EmptyInputError("targetEmbeddings");
  const pool = packRows("poolEmbeddings", poolEmbeddings), { n, d } = pool;
  const unitPool = normalizePacked(pool).data, unitTarget = normalizePacked(packRows("targetEmbeddings", target, d)).data;
  const meanDirection = new Float64Array(d);
  for (let j = 0; j < target.length; j++) for (let q = 0; q < d; q++) meanDirection[q] += unitTarget[j * d + q] / target.length;
  const scores = Float64Array.from({ length: n }, (_, i) => dotAt(unitPool, i * d, meanDirection, 0, d));
  return { indices: topKIndices(scores, k, "k"), scores };
}
