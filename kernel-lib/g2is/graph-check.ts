/**
 * How far an approximate k-NN graph (HNSW) is from the exact one, on a seeded sample of nodes —
 * cheap enough to run on every HNSW build (m·N dot products instead of N²):
 *  - recall@k: |approx ∩ exact| / k, the usual index metric;
 *  - ordered agreement: the share of list positions q where the approximate q-th neighbour IS the
 *    exact q-th neighbour. The walk scans a node's list in order and takes the first acceptable
 *    row, so order matters, which recall ignores;
 *  - first-neighbour agreement: the share of sampled nodes whose nearest neighbour agrees.
 * Exact lists: float64 cosine, descending, ties to the lower index, the node itself excluded (as
 * exactKnnGraph). Rows with zero norm have cosine 0 with everything.
 */
import { InvalidArgumentError, ShapeError } from "../errors";
import { checkOptions, option } from "../options";
import { Rng } from "../random";
import { KnnGraph, checkGraph } from "./knn-graph";
import { FeatureRows, checkRowsNamed } from "./rows";

/** Agreement of an approximate k-NN graph with exact lists on a node sample. */
export interface GraphAgreement { sampledNodes: number; k: number; recallAtK: number; orderedAgreement: number; firstNeighbourAgreement: number }

/** Options of `graphAgreement`. */
export interface GraphAgreementOptions {
  /** Nodes compared (all if the pool is smaller). Default 200. */
  sampleRows?: number;
  /** Seed of the node sample. Default 0. */
  seed?: number | string;
}

/** Recall@k, ordered agreement and first-neighbour agreement of `graph` against exact lists on a node sample. */
export function graphAgreement(graph: KnnGraph, rows: FeatureRows, options: GraphAgreementOptions = {}): GraphAgreement {
  checkOptions("options", options, { sampleRows: option.positiveInteger, seed: option.any });
  const d = checkRowsNamed("rows", rows), n = rows.length;
  checkGraph("graph", graph, n);
  const k = graph.k;
  if (k > n - 1) throw new ShapeError("graph", `k ≤ ${n - 1}`, [graph.n, k]);
  const m = Math.min(n, options.sampleRows ?? 200);
  const nodes = m === n ? Array.from({ length: n }, (_, i) => i) : new Rng(options.seed ?? 0).derive("graph-agreement").sampleIndices(n, m);
  const norms = rows.map((r) => { let s = 0; for (let q = 0; q < d; q++) s += r[q] * r[q]; return Math.sqrt(s); });
  let hits = 0, ordered = 0, first = 0;
  for (const i of nodes) {
    const sims: { j: number; s: number }[] = [];
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let s = 0;
      for (let q = 0; q < d; q++) s += rows[i][q] * rows[j][q];
      sims.push({ j, s: norms[i] > 0 && norms[j] > 0 ? s / (norms[i] * norms[j]) : 0 });
    }
    const exact = sims.sort((a, b) => b.s - a.s || a.j - b.j).slice(0, k).map((e) => e.j);
    const approx = Array.from(graph.neighbors.subarray(i * k, (i + 1) * k));
    const truth = new Set(exact);
    approx.forEach((j, q) => { if (truth.has(j)) hits++; if (exact[q] === j) ordered++; });
    if (approx[0] === exact[0]) first++;
  }
  if (nodes.length === 0) throw new InvalidArgumentError("rows", "at least one node to sample", n);
  return { sampledNodes: nodes.length, k, recallAtK: hits / (nodes.length * k), orderedAgreement: ordered / (nodes.length * k), firstNeighbourAgreement: first / nodes.length };
}
