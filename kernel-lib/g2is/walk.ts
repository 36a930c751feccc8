/**
 * G2IS step 4, the gradient walk (faithful to the official gradient_walk.py), generic over the
 * feature space: pass gradient features for G2IS, or semantic embeddings (with a graph and
 * components built from them) for the "G2IS without gradients" ablation.
 *
 * Per component K_i in PCA order, with one global `excluded` set (everything already selected):
 *  - anchor: the first not-excluded pool row in descending SIGNED cosine with K_i. (The paper
 *    says "first not-excluded among the top-1000, else the best not-excluded overall": that is
 *    the same row, so `anchorRank` is reported instead of a 1000 cut-off.) S = [anchor], Σ = g_anchor.
 *  - while |S| < b_i: scan the neighbours of the LAST-ADDED node, most similar first, and accept
 *    the first j that is not excluded, has g_j·g_s ≥ 0 for every s ∈ S (no conflict; conflicts are
 *    checked within this component's S only), and keeps |cos(Σ + g_j, K_i)| ≥ δ·|cos(Σ, K_i)|
 *    (consistency). If none, fall back to every not-excluded row in descending signed cosine with
 *    K_i, same tests. If still none, the component stops under-filled (reported).
 *  - b_i = 0 skips the component (no anchor), as the official code does.
 * Rows are unit-normalised first (the official code does the same; zero rows stay zero), so
 * g means the normalised feature row; a norm below 1e-10 counts as cosine 0, as there.
 * Deterministic: no sampling; every ordering breaks ties by the lower index. The official code
 * orders anchors and fallbacks with np.argsort(…)[::-1] / argpartition, whose order among EXACTLY
 * tied rows (exact-duplicate pool items have identical features) is numpy's introsort's and cannot
 * be reproduced; with no exact ties the selections are identical (test/g2is-official.test.ts).
 *
 * Diagnostics: every candidate the walk tests and turns down is counted once per test, under the
 * first constraint it fails, in the order the walk tests them — excluded (already selected),
 * conflict (a negative dot with a member of S), consistency (alignment would drop below δ·before) —
 * separately for the neighbour scan and the global fallback. The fallback only scans not-excluded
 * rows (as the official code masks them), so its `excluded` count is always 0. The same row can
 * be turned down at several steps; `conflictRows` counts distinct rows turned down for conflict.
 *
 * Cost: the conflict test memoises, per candidate, how many members of S it has been checked
 * against (S only grows, and a conflict is permanent within the component), so each (candidate,
 * member) dot product is computed at most once per component; the consistency test is O(d).
 */
import { InvalidArgumentError, ShapeError, assertKnownKeys } from "../errors";
import { KnnGraph, checkGraph } from "./knn-graph";
import { FeatureRows, PackedRows, argsortDescending, assertInRange, dotAt, normalizePacked, packRows } from "./rows";

/** How a walk step accepted its row: the component's anchor, a graph neighbour of the last-added row, or the global fallback. */
export type AcceptanceKind = "anchor" | "neighbour" | "fallback";

/** Options of `gradientWalk` (unknown keys are refused). */
export interface WalkOptions {
  /** δ ∈ (0, 1], the consistency threshold. Default 0.8. */
  delta?: number;
}

/** Candidates turned down, by the first constraint they failed. */
export interface RejectionCounts { excluded: number; conflict: number; consistency: number }

/** Per scan: the neighbour scan of the last-added node, and the global fallback. */
export interface WalkRejections { neighbour: RejectionCounts; fallback: RejectionCounts; conflictRows: number }

/** One component's walk: what it selected, how each row was accepted, the alignment trace and the rejections. */
export interface ComponentWalk {
  component: number;
  budget: number;
  /** Selected pool rows in visit order (the anchor first). */
  path: number[];
  /** How each node in `path` was accepted. */
  kinds: AcceptanceKind[];
  /** |cos(Σ, K_i)| after each acceptance. */
  alignment: number[];
  /** Rank of the anchor in the signed-cosine order (0 = the most aligned row overall); −1 if none. */
  anchorRank: number;
  underfilled: boolean;
  /** Candidates turned down per scan and constraint (see the module header). */
  rejections: WalkRejections;
}

/** A component that stopped before its budget (no not-excluded row passed the conflict and consistency tests). */
export interface UnderfillReport { component: number; budget: number; selected: number }

/** What `gradientWalk` returns: the selection in visit order, every component's walk and the under-filled components. */
export interface WalkResult {
  /** Every selected row, in visit order, component after component. */
  indices: number[];
  components: ComponentWalk[];
  underfilled: UnderfillReport[];
}

const NORM_FLOOR = 1e-10;

/** The walk over pre-built pieces (components, budgets, graph) — see the module header. */
export function gradientWalk(
  pool: FeatureRows, components: readonly ArrayLike<number>[], budgets: readonly number[], graph: KnnGraph, options: WalkOptions = {},
): WalkResult {
  assertKnownKeys("options", options, ["delta"]);
  const delta = options.delta ?? 0.8;
  assertInRange("options.delta", delta, 0, 1, true);
  const packed = packRows("pool", pool);
  const { n, d } = packed;
  if (!Array.isArray(components) || components.length === 0) throw new InvalidArgumentError("components", "a non-empty array of vectors", components);
  const unitComponents = components.map((c, i) => {
    if (c === null || typeof c !== "object" || typeof (c as ArrayLike<number>).length !== "number") throw new InvalidArgumentError(`components[${i}]`, "a numeric vector", c);
    if (c.length !== d) throw new ShapeError(`components[${i}]`, `[${d}] (the width of pool)`, [c.length]);
    let s = 0;
    for (let k = 0; k < d; k++) { if (!Number.isFinite(c[k])) throw new InvalidArgumentError(`components[${i}]`, "finite entries", c[k]); s += c[k] * c[k]; }
    if (s === 0) throw new InvalidArgumentError(`components[${i}]`, "a non-zero vector", "all zeros");
    return Float64Array.from({ length: d }, (_, k) => c[k] / Math.sqrt(s));
  });
  if (!Array.isArray(budgets) || budgets.length !== components.length) {
    throw new ShapeError("budgets", `[${components.length}] (one per component)`, Array.isArray(budgets) ? [budgets.length] : String(budgets));
  }
  budgets.forEach((b, i) => { if (!Number.isInteger(b) || b < 0) throw new InvalidArgumentError(`budgets[${i}]`, "a non-negative integer", b); });
  const total = budgets.reduce((a, b) => a + b, 0);
  if (total > n) throw new InvalidArgumentError("budgets", `a total of at most the pool size ${n}`, total);
  checkGraph("graph", graph, n);

  const unit: PackedRows = { n, d, data: normalizePacked(packed).data };
  const normSq = new Float64Array(n);
  for (let j = 0; j < n; j++) normSq[j] = dotAt(unit.data, j * d, unit.data, j * d, d);
  const excluded = new Uint8Array(n);
  const indices: number[] = [], walks: ComponentWalk[] = [], underfilled: UnderfillReport[] = [];
  unitComponents.forEach((K, i) => {
    const walk = walkComponent(unit, normSq, K, budgets[i], graph, excluded, delta, i);
    walks.push(walk);
    for (const j of walk.path) indices.push(j); // no spread: a path can exceed the argument limit (~10⁵)
    if (walk.underfilled) underfilled.push({ component: i, budget: walk.budget, selected: walk.path.length });
  });
  return { indices, components: walks, underfilled };
}

function walkComponent(
  unit: PackedRows, normSq: Float64Array, K: Float64Array, budget: number, graph: KnnGraph, excluded: Uint8Array, delta: number, component: number,
): ComponentWalk {
  const { n, d, data } = unit;
  const zero = (): RejectionCounts => ({ excluded: 0, conflict: 0, consistency: 0 });
  const rejections: WalkRejections = { neighbour: zero(), fallback: zero(), conflictRows: 0 };
  const walk: ComponentWalk = { component, budget, path: [], kinds: [], alignment: [], anchorRank: -1, underfilled: false, rejections };
  if (budget === 0) return walk;

  const projection = new Float64Array(n); // g_j·K = signed cosine (rows are unit or zero)
  for (let j = 0; j < n; j++) projection[j] = dotAt(data, j * d, K, 0, d);
  const order = argsortDescending(projection);
  const anchorRank = order.findIndex((j) => excluded[j] === 0);
  if (anchorRank < 0) { walk.underfilled = true; return walk; }
  walk.anchorRank = anchorRank;

  const members: number[] = [];
  const sigma = new Float64Array(d);
  let sigmaNormSq = 0, sigmaK = 0;
  const accept = (j: number, kind: AcceptanceKind) => {
    members.push(j);
    excluded[j] = 1;
    for (let k = 0; k < d; k++) sigma[k] += data[j * d + k];
    sigmaNormSq = 0;
    for (let k = 0; k < d; k++) sigmaNormSq += sigma[k] * sigma[k];
    sigmaK = dotAt(sigma, 0, K, 0, d);
    walk.path.push(j);
    walk.kinds.push(kind);
    walk.alignment.push(alignmentOf(sigmaK, sigmaNormSq));
  };
  accept(order[anchorRank], "anchor");

  // Conflict memo for this component: checkedUpTo[j] members of S already dotted with j, none negative.
  const checkedUpTo = new Int32Array(n), conflicted = new Uint8Array(n);
  const conflictFree = (j: number): boolean => {
    if (conflicted[j]) return false;
    for (let m = checkedUpTo[j]; m < members.length; m++) {
      if (dotAt(data, j * d, data, members[m] * d, d) < 0) { conflicted[j] = 1; rejections.conflictRows++; return false; }
    }
    checkedUpTo[j] = members.length;
    return true;
  };
  const consistent = (j: number): boolean => {
    const before = alignmentOf(sigmaK, sigmaNormSq);
    const sigmaDotJ = dotAt(sigma, 0, data, j * d, d);
    return alignmentOf(sigmaK + projection[j], sigmaNormSq + 2 * sigmaDotJ + normSq[j]) >= delta * before;
  };
  const acceptable = (j: number, counts: RejectionCounts): boolean => {
    if (excluded[j] !== 0) { counts.excluded++; return false; }
    if (!conflictFree(j)) { counts.conflict++; return false; }
    if (!consistent(j)) { counts.consistency++; return false; }
    return true;
  };

  while (members.length < budget) {
    const last = members[members.length - 1];
    let next = -1;
    for (let q = last * graph.k, end = q + graph.k; q < end; q++) {
      if (acceptable(graph.neighbors[q], rejections.neighbour)) { next = graph.neighbors[q]; break; }
    }
    if (next >= 0) { accept(next, "neighbour"); continue; }
    for (let r = 0; r < n; r++) {
      if (excluded[order[r]] === 0 && acceptable(order[r], rejections.fallback)) { next = order[r]; break; }
    }
    if (next >= 0) { accept(next, "fallback"); continue; }
    walk.underfilled = true;
    break;
  }
  return walk;
}

/** |cos(v, K)| from v·K and ‖v‖² (K is unit); 0 below the official code's norm floor. */
function alignmentOf(dotK: number, normSq: number): number {
  const norm = Math.sqrt(Math.max(0, normSq));
  return norm > NORM_FLOOR ? Math.abs(dotK) / norm : 0;
}
