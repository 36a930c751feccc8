/**
 * G2IS step 3, the gradient graph: every pool example keeps its k nearest neighbours by cosine
 * (itself excluded), sorted by descending similarity, ties by lower index. k is *open* in the
 * paper (the graph script is not released); it is a parameter here.
 *
 * Which strategy when:
 *  - `exactKnnGraph` for pools up to ~20k: the N×N cosine matrix is streamed in blocks of
 *    `blockRows` rows, only the block pairs on and above the diagonal (the matrix is symmetric;
 *    knn-exact.ts), never the whole matrix, and each row keeps its top k by insertion. Cost
 *    N²·d/2 multiply-adds on the backend: 20k × 512 takes seconds on wasm (`npm run bench`,
 *    graph.exact); `lab.parallel.exactKnnGraphParallel` spreads the pairs over threads.
 *  - `hnswKnnGraph` for larger pools: hnswlib-node's HNSW index on the unit-normalised rows
 *    (inner-product space, so distance = 1 − cos), built single-threaded with a fixed seed, so the
 *    graph is deterministic. Measure its quality with `recallAtK(approx, exact)` on a subsample.
 * Similarities are float32 (the backend's matMul, or hnswlib's SIMD dot), so near-ties may order
 * differently from a float64 computation.
 */
import { HierarchicalNSW } from "hnswlib-node";
import { InvalidArgumentError, ShapeError, assertKnownKeys, assertOneOf } from "../errors";
import { assertPositiveInteger } from "../features/inputs";
import { FeatureRows, dotAt, normalizePacked, packRows } from "./rows";
import { TopK, accumulatePairs, blockPairs, emptyTopK } from "./knn-exact";

/** How a k-NN graph was built: "exact" (blocked matMul) or "hnsw" (hnswlib-node, approximate). */
export const GRAPH_METHODS = ["exact", "hnsw"] as const;
/** One of `GRAPH_METHODS`. */
export type GraphMethod = (typeof GRAPH_METHODS)[number];

/**
 * A k-nearest-neighbour graph over pool rows by cosine (each node's k neighbours, itself excluded,
 * most similar first; ties by the lower index): what the gradient walk scans.
 */
export interface KnnGraph {
  n: number;
  k: number;
  /** Row-major [n × k]: neighbours of node i are neighbors[i·k … i·k + k), most similar first. */
  neighbors: Int32Array;
  /** Cosine similarity of each neighbour, same layout. */
  similarities: Float32Array;
  method: GraphMethod;
  /** Wall-clock seconds to build (informational). */
  buildSeconds: number;
  /** The options the graph was built with. */
  params: Record<string, number | string>;
}

/** Options of `exactKnnGraph`: k neighbours per node (required) and the rows per matMul block (default 1024). */
export interface ExactGraphOptions { k: number; blockRows?: number }

/** Options of `hnswKnnGraph`: k (required) and hnswlib's parameters; the defaults give recall near 1 on the pools tried here, deterministically. */
export interface HnswGraphOptions {
  k: number;
  /** Links per node (hnswlib M). Default 16. */
  M?: number;
  /** Candidate list while inserting. Default 200. */
  efConstruction?: number;
  /** Candidate list while querying (≥ k + 1). Default max(64, 2k + 1). */
  ef?: number;
  /** Level-assignment seed (hnswlib randomSeed). Default 100. */
  seed?: number;
  /** "ip" on unit rows (default) or hnswlib's own "cosine" (which normalises internally). */
  space?: "ip" | "cosine";
}

function checkK(k: unknown, n: number): asserts k is number {
  if (typeof k !== "number" || !Number.isInteger(k) || k < 1 || k > n - 1) {
    throw new InvalidArgumentError("options.k", `an integer in [1, ${n - 1}] (neighbours per node, the node itself excluded)`, k);
  }
}

/** The neighbours of node i, most similar first (a view into the graph). */
export function neighborsOf(graph: KnnGraph, i: number): Int32Array {
  return graph.neighbors.subarray(i * graph.k, (i + 1) * graph.k);
}

/** Exact k-NN graph by blocked matMul (knn-exact.ts: symmetric blocks, each similarity once). */
export function exactKnnGraph(rows: FeatureRows, options: ExactGraphOptions): KnnGraph {
  assertKnownKeys("options", options, ["k", "blockRows"]);
  const packed = packRows("rows", rows), { n, d } = packed, k = options.k;
  checkK(k, n);
  const blockRows = options.blockRows ?? 1024;
  assertPositiveInteger("options.blockRows", blockRows);
  const started = performance.now();
  const top = emptyTopK(n, k);
  accumulatePairs(top, normalizePacked(packed).data, d, blockRows, blockPairs(n, blockRows));
  return { n, k, ...topKGraph(top), method: "exact", buildSeconds: (performance.now() - started) / 1000, params: { k, blockRows } };
}

/** A finished TopK (every row full) as a graph's neighbour and similarity arrays. */
export function topKGraph(top: TopK): { neighbors: Int32Array; similarities: Float32Array } {
  return { neighbors: Int32Array.from(top.index), similarities: Float32Array.from(top.similarity) };
}

/** Approximate k-NN graph with an HNSW index (deterministic for a fixed seed). */
export function hnswKnnGraph(rows: FeatureRows, options: HnswGraphOptions): KnnGraph {
  assertKnownKeys("options", options, ["k", "M", "efConstruction", "ef", "seed", "space"]);
  const packed = packRows("rows", rows);
  const { n, d } = packed, k = options.k;
  checkK(k, n);
  const M = options.M ?? 16, efConstruction = options.efConstruction ?? 200, ef = options.ef ?? Math.max(64, 2 * k + 1), seed = options.seed ?? 100;
  assertPositiveInteger("options.M", M);
  assertPositiveInteger("options.efConstruction", efConstruction);
  assertPositiveInteger("options.ef", ef);
  if (ef < k + 1) throw new InvalidArgumentError("options.ef", `at least k + 1 = ${k + 1}`, ef);
  if (!Number.isInteger(seed) || seed < 0) throw new InvalidArgumentError("options.seed", "a non-negative integer", seed);
  const space = options.space ?? "ip";
  assertOneOf("options.space", space, ["ip", "cosine"]);
  const started = performance.now();
  const unit = normalizePacked(packed).data;
  const index = new HierarchicalNSW(space, d);
  index.initIndex(n, M, efConstruction, seed);
  // hnswlib-node only accepts plain Arrays; one reusable Array per call keeps garbage down.
  const point = new Array<number>(d);
  const rowAsArray = (i: number) => { for (let q = 0; q < d; q++) point[q] = unit[i * d + q]; return point; };
  for (let i = 0; i < n; i++) index.addPoint(rowAsArray(i), i);
  index.setEf(ef);
  const neighbors = new Int32Array(n * k), similarities = new Float32Array(n * k);
  let completedExactly = 0;
  for (let i = 0; i < n; i++) {
    const result = index.searchKnn(rowAsArray(i), Math.min(n, k + 1));
    const found = result.neighbors
      .map((j, q) => ({ j, sim: 1 - result.distances[q] }))
      .filter((e) => e.j !== i);
    let chosen = found;
    if (found.length < k) { // HNSW came back short (tiny or degenerate data): finish the row exactly
      chosen = exactRow(unit, n, d, i, k);
      completedExactly++;
    }
    chosen.sort((a, b) => (b.sim - a.sim) || (a.j - b.j));
    for (let q = 0; q < k; q++) { neighbors[i * k + q] = chosen[q].j; similarities[i * k + q] = chosen[q].sim; }
  }
  return {
    n, k, neighbors, similarities, method: "hnsw", buildSeconds: (performance.now() - started) / 1000,
    params: { k, M, efConstruction, ef, seed, space, completedExactly },
  };
}

function exactRow(unit: Float32Array, n: number, d: number, i: number, k: number): { j: number; sim: number }[] {
  const all: { j: number; sim: number }[] = [];
  for (let j = 0; j < n; j++) if (j !== i) all.push({ j, sim: dotAt(unit, i * d, unit, j * d, d) });
  all.sort((a, b) => (b.sim - a.sim) || (a.j - b.j));
  return all.slice(0, k);
}

/** Builds either graph by name. */
export function buildKnnGraph(rows: FeatureRows, method: GraphMethod, options: ExactGraphOptions | HnswGraphOptions): KnnGraph {
  assertOneOf("method", method, GRAPH_METHODS);
  return method === "exact" ? exactKnnGraph(rows, options as ExactGraphOptions) : hnswKnnGraph(rows, options as HnswGraphOptions);
}

/**
 * Mean over nodes of |approx neighbours ∩ exact neighbours| / k (recall@k of the approximate
 * graph against the exact one). Both graphs must have the same n and k.
 */
export function recallAtK(approx: KnnGraph, exact: KnnGraph): number {
  checkGraph("approx", approx);
  checkGraph("exact", exact);
  if (approx.n !== exact.n || approx.k !== exact.k) throw new ShapeError("approx", `n = ${exact.n}, k = ${exact.k} (as exact)`, [approx.n, approx.k]);
  const { n, k } = exact;
  let hits = 0;
  const truth = new Set<number>();
  for (let i = 0; i < n; i++) {
    truth.clear();
    for (let q = 0; q < k; q++) truth.add(exact.neighbors[i * k + q]);
    for (let q = 0; q < k; q++) if (truth.has(approx.neighbors[i * k + q])) hits++;
  }
  return hits / (n * k);
}

/** Structural checks on a graph handed in by a caller (e.g. a prebuilt one). */
export function checkGraph(argument: string, graph: KnnGraph, expectedNodes?: number): void {
  if (typeof graph !== "object" || graph === null || !(graph.neighbors instanceof Int32Array)) {
    throw new InvalidArgumentError(argument, "a KnnGraph (from exactKnnGraph / hnswKnnGraph)", graph);
  }
  if (!Number.isInteger(graph.k) || graph.k < 1 || graph.neighbors.length !== graph.n * graph.k) {
    throw new ShapeError(`${argument}.neighbors`, `[n·k] = [${graph.n}·${graph.k}]`, [graph.neighbors.length]);
  }
  if (expectedNodes !== undefined && graph.n !== expectedNodes) {
    throw new ShapeError(`${argument}`, `a graph over ${expectedNodes} nodes (the pool size)`, [graph.n, graph.k]);
  }
  for (let q = 0; q < graph.neighbors.length; q++) {
    const j = graph.neighbors[q];
    if (j < 0 || j >= graph.n) throw new InvalidArgumentError(`${argument}.neighbors[${q}]`, `a node index in [0, ${graph.n})`, j);
  }
}
