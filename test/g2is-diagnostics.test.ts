/**
 * Walk diagnostics: per-constraint, per-scan rejection counts against a slow counting oracle (a
 * literal walk that tests every candidate from scratch), Jaccard stability, and the negative-pair
 * share of a feature space (exact and sampled).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { coreKnowledge, componentBudgets, gradientWalk, selectG2IS, totalRejections, jaccard, selectionStability, negativePairFraction, neighborsOf, KnnGraph, exactKnnGraph, graphAgreement } from "../kernel-lib/g2is";
import { EmptyInputError, InvalidArgumentError, ShapeError, UnknownOptionError } from "../kernel-lib/errors";
import { Rng } from "../kernel-lib/random";
import { selectionStabilityRows, StudyRow } from "../kernel-lib/studies/g2is";
import { OFFICIAL_CASE_SPECS, buildOfficialCase, officialCaseGraph } from "./fixtures/official-walk-cases";
import { TEST_BACKENDS, assertClose, expectError, expectNoLeak, useBackend } from "./helpers";

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * b[i]; return s; };
const norm = (a: ArrayLike<number>) => Math.sqrt(dot(a, a));

type Counts = { excluded: number; conflict: number; consistency: number };

/** The walk, every test recomputed from scratch, counting each turned-down candidate once under its first failed test. */
function countingWalk(pool: readonly Float32Array[], components: readonly ArrayLike<number>[], budgets: readonly number[], graph: KnnGraph, delta: number) {
  const g = pool.map((r) => { const n = norm(r); return Float32Array.from(r, (x) => (n === 0 ? 0 : x / n)); });
  const excluded = new Set<number>();
  return components.map((raw, i) => {
    const K = Float64Array.from(raw, (x) => x / norm(raw));
    const neighbour: Counts = { excluded: 0, conflict: 0, consistency: 0 }, fallback: Counts = { excluded: 0, conflict: 0, consistency: 0 };
    const conflictRows = new Set<number>();
    if (budgets[i] === 0) return { neighbour, fallback, conflictRows: 0, path: [] as number[] };
    const order = g.map((_, j) => j).sort((a, b) => dot(g[b], K) - dot(g[a], K) || a - b);
    const anchor = order.find((j) => !excluded.has(j))!;
    const S = [anchor];
    excluded.add(anchor);
    const sigma = Float64Array.from(g[anchor]);
    const alignment = (v: ArrayLike<number>) => (norm(v) > 1e-10 ? Math.abs(dot(v, K)) / norm(v) : 0);
    const test = (j: number, c: Counts) => {
      if (excluded.has(j)) { c.excluded++; return false; }
      if (S.some((s) => dot(g[j], g[s]) < 0)) { c.conflict++; conflictRows.add(j); return false; }
      if (alignment(Float64Array.from(sigma, (x, q) => x + g[j][q])) < delta * alignment(sigma)) { c.consistency++; return false; }
      return true;
    };
    while (S.length < budgets[i]) {
      let pick = Array.from(neighborsOf(graph, S[S.length - 1])).find((j) => test(j, neighbour));
      if (pick === undefined) pick = order.filter((j) => !excluded.has(j)).find((j) => test(j, fallback));
      if (pick === undefined) break;
      S.push(pick); excluded.add(pick);
      for (let q = 0; q < sigma.length; q++) sigma[q] += g[pick][q];
    }
    return { neighbour, fallback, conflictRows: conflictRows.size, path: S };
  });
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] rejection counts per scan and constraint = the counting oracle on every fixture pool`, async () => {
    await useBackend(backend);
    let conflictSeen = 0, consistencySeen = 0, fallbackSeen = 0;
    for (const c of OFFICIAL_CASE_SPECS.map(buildOfficialCase)) {
      const knowledge = coreKnowledge(c.target, { valK: c.valK });
      const { budgets } = componentBudgets(c.pool.length, knowledge.weights, { trainK: c.trainK });
      const graph = officialCaseGraph(c);
      const walk = await expectNoLeak(c.name, () => gradientWalk(c.pool, knowledge.components, budgets, graph, { delta: c.delta }));
      const oracle = countingWalk(c.pool, knowledge.components, budgets, graph, c.delta);
      walk.components.forEach((w, i) => {
        assert.equal(w.path, oracle[i].path, `${c.name} component ${i}: path`);
        assert.equal(w.rejections.neighbour, oracle[i].neighbour, `${c.name} component ${i}: neighbour-scan rejections`);
        assert.equal(w.rejections.fallback, oracle[i].fallback, `${c.name} component ${i}: fallback rejections`);
        assert.is(w.rejections.fallback.excluded, 0, "the fallback scans only not-excluded rows");
        assert.is(w.rejections.conflictRows, oracle[i].conflictRows, `${c.name} component ${i}: distinct conflict-rejected rows`);
      });
      const total = totalRejections(walk.components);
      conflictSeen += total.neighbour.conflict + total.fallback.conflict;
      consistencySeen += total.neighbour.consistency + total.fallback.consistency;
      fallbackSeen += total.fallback.conflict + total.fallback.consistency;
      assert.is(total.conflictRows, walk.components.reduce((s, w) => s + w.rejections.conflictRows, 0));
    }
    assert.ok(conflictSeen > 0 && consistencySeen > 0 && fallbackSeen > 0, "the fixture pools exercise every counter");
  });
}

test("conflict test cannot fire in a pool without negative pairs; fires on planted antipodes", () => {
  const rng = new Rng("diag-pos");
  const positive = Array.from({ length: 80 }, () => Float32Array.from({ length: 8 }, () => rng.uniform()));
  const target = Array.from({ length: 5 }, () => Float32Array.from({ length: 8 }, () => rng.uniform()));
  assert.is(negativePairFraction(positive).negative, 0);
  const sel = selectG2IS(positive, target, { trainK: 0.2, valK: 0.9, k: 5, graph: "exact" });
  const t = totalRejections(sel.components);
  assert.is(t.neighbour.conflict + t.fallback.conflict, 0, "no conflict rejections without negative pairs");
  const planted = [...positive, ...positive.slice(0, 20).map((r) => Float32Array.from(r, (x) => -x))];
  const withConflicts = selectG2IS(planted, target, { trainK: 0.2, valK: 0.9, k: 5, graph: "exact" });
  const members = new Set(withConflicts.indices);
  for (let j = 0; j < 20; j++) assert.not.ok(members.has(j) && members.has(80 + j) && withConflicts.components.some((c) => c.path.includes(j) && c.path.includes(80 + j)), "an antipodal pair in one component");
});

test("jaccard and selectionStability: closed cases and errors", async () => {
  assert.is(jaccard([1, 2, 3], [2, 3, 4]), 0.5);
  assert.is(jaccard([], []), 1);
  assert.is(jaccard([1, 1, 2], [2]), 0.5, "duplicates ignored");
  const s = selectionStability([[1, 2], [2, 3], [1, 2]]);
  assert.equal(s.pairs.map((p) => [p.i, p.j]), [[0, 1], [0, 2], [1, 2]]);
  assertClose(s.pairs.map((p) => p.jaccard), [1 / 3, 1, 1 / 3], 1e-12);
  assertClose(s.mean, 5 / 9, 1e-12);
  assert.is(s.min, 1 / 3);
  assert.is(s.max, 1);
  await expectError(() => selectionStability([[1]]), InvalidArgumentError, "selections");
  await expectError(() => jaccard([1.5], [1]), InvalidArgumentError, "a");
  await expectError(() => totalRejections([{} as never]), InvalidArgumentError, "components[0].rejections");
});

test("negativePairFraction: exact = brute force; the sample is seeded and near the exact share", async () => {
  const rng = new Rng("diag-neg");
  const rows = Array.from({ length: 120 }, () => Float32Array.from({ length: 6 }, () => rng.normal() + 0.3));
  let negative = 0, pairs = 0;
  for (let i = 0; i < rows.length; i++) for (let j = i + 1; j < rows.length; j++) { pairs++; if (dot(rows[i], rows[j]) < 0) negative++; }
  const exact = negativePairFraction(rows);
  assert.equal(exact, { fraction: negative / pairs, negative, pairs, exact: true });
  const sampled = negativePairFraction(rows, { maxPairs: 4000, seed: 3 });
  assert.is(sampled.exact, false);
  assert.is(sampled.pairs, 4000);
  assert.equal(negativePairFraction(rows, { maxPairs: 4000, seed: 3 }), sampled, "seeded");
  // Binomial sd at 4000 pairs ≤ 0.008: 5 sd.
  assert.ok(Math.abs(sampled.fraction - exact.fraction) < 0.04, `${sampled.fraction} vs ${exact.fraction}`);
  await expectError(() => negativePairFraction([rows[0]]), EmptyInputError, "rows");
  await expectError(() => negativePairFraction(rows, { maxPairs: 0 }), InvalidArgumentError, "options.maxPairs");
  await expectError(() => negativePairFraction(rows, { sample: 1 } as never), UnknownOptionError, "options");
});

test("selectionStabilityRows: one row per arm point with ≥ 2 seeds' selections; full/base (null) skipped", async () => {
  const row = (method: string, seed: number, selection: number[] | null) => ({ target: "multi", method, trainK: 0.05, valK: 0.5, delta: 0.8, seed, selection }) as unknown as StudyRow;
  const out = selectionStabilityRows([row("g2is", 0, [1, 2, 3]), row("g2is", 1, [2, 3, 4]), row("g2is", 2, [1, 2, 3]), row("less", 0, [5]), row("full", 0, null), row("full", 1, null)]);
  assert.is(out.length, 1, "less has one seed, full has no selection");
  assert.is(out[0].method, "g2is");
  assert.is(out[0].seeds, 3);
  assertClose(out[0].meanJaccard, (0.5 + 1 + 0.5) / 3, 1e-12);
  assert.is(out[0].minJaccard, 0.5);
  await expectError(() => selectionStabilityRows(null as never), InvalidArgumentError, "rows");
});

test("graphAgreement: the exact graph agrees fully; a graph with two neighbours swapped loses order, not recall; HNSW is reported by selectG2IS", async () => {
  await useBackend(TEST_BACKENDS[0]);
  const rng = new Rng("graph-agree");
  const rows = Array.from({ length: 120 }, () => Float32Array.from({ length: 10 }, () => rng.normal()));
  const exact = exactKnnGraph(rows, { k: 6 });
  assert.equal(graphAgreement(exact, rows, { sampleRows: 500 }), { sampledNodes: 120, k: 6, recallAtK: 1, orderedAgreement: 1, firstNeighbourAgreement: 1 });
  const swapped = { ...exact, neighbors: Int32Array.from(exact.neighbors) };
  for (let i = 0; i < 120; i++) { const a = swapped.neighbors[i * 6]; swapped.neighbors[i * 6] = swapped.neighbors[i * 6 + 1]; swapped.neighbors[i * 6 + 1] = a; }
  const s = graphAgreement(swapped, rows, { sampleRows: 500 });
  assert.is(s.recallAtK, 1);
  assertClose(s.orderedAgreement, 4 / 6, 1e-12);
  assert.is(s.firstNeighbourAgreement, 0);
  const sampled = graphAgreement(exact, rows, { sampleRows: 30, seed: 2 });
  assert.is(sampled.sampledNodes, 30);
  const viaHnsw = selectG2IS(rows, rows.slice(0, 6), { budget: 10, graph: "hnsw", k: 6, hnswCheckRows: 50 });
  assert.ok(viaHnsw.graphStats.agreement !== null && viaHnsw.graphStats.agreement.sampledNodes === 50, "HNSW graphs built by selectG2IS carry their agreement");
  assert.ok(viaHnsw.graphStats.agreement!.recallAtK > 0.8, `HNSW recall ${viaHnsw.graphStats.agreement!.recallAtK}`);
  assert.is(selectG2IS(rows, rows.slice(0, 6), { budget: 10, graph: "exact", k: 6 }).graphStats.agreement, null, "exact graphs are not re-checked");
  await expectError(() => graphAgreement(exact, rows.slice(0, 50)), ShapeError, "graph");
  await expectError(() => selectG2IS(rows, rows.slice(0, 6), { budget: 10, graph: "hnsw", hnswCheckRows: -1 }), InvalidArgumentError, "options.hnswCheckRows");
});

test.run();
