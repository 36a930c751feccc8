import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  lessScores, selectLess, coreKnowledge, symmetricEigen, totalBudget, splitBudget, componentBudgets,
  exactKnnGraph, hnswKnnGraph, neighborsOf, recallAtK, gradientWalk, selectG2IS, selectNoGraph, selectRandom,
  selectBySimilarity, fitTfidf, tfidfVectors, ngramsOf, topKIndices, argsortDescending, KnnGraph, WalkResult,
} from "../kernel-lib/g2is";
import { EmptyInputError, InvalidArgumentError, ShapeError, UnknownOptionError, NonFiniteError } from "../kernel-lib/errors";
import { Rng } from "../kernel-lib/random";
import { TEST_BACKENDS, assertClose, expectError, expectNoLeak, useBackend } from "./helpers";

// ---- data and slow, obvious oracles -----------------------------------------------------------

function randomRows(seed: string, n: number, d: number): Float32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: d }, () => rng.normal()));
}

/** n rows around `clusters` random centres (noise relative to a unit-variance centre). */
function clusteredRows(seed: string, n: number, d: number, clusters: number, noise: number): Float32Array[] {
  const rng = new Rng(seed);
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: d }, () => rng.normal()));
  return Array.from({ length: n }, () => {
    const c = centres[rng.int(clusters)];
    return Float32Array.from(c, (x) => x + noise * rng.normal());
  });
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * b[i]; return s; };
const norm = (a: ArrayLike<number>) => Math.sqrt(dot(a, a));
const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => { const na = norm(a), nb = norm(b); return na === 0 || nb === 0 ? 0 : dot(a, b) / (na * nb); };

/** Unit rows stored as float32, exactly as the library's normalisation stores them. */
function unitRowsLikeLibrary(rows: readonly Float32Array[]): Float32Array[] {
  return rows.map((r) => { const n = norm(r); return Float32Array.from(r, (x) => (n === 0 ? 0 : x / n)); });
}

/**
 * The walk as a literal transcription of the spec: explicit Σ vector, every conflict re-checked
 * against every member, the fallback order recomputed from scratch each time. No memo, no tricks.
 */
function naiveWalk(pool: readonly Float32Array[], components: readonly ArrayLike<number>[], budgets: readonly number[], graph: KnnGraph, delta: number) {
  const g = unitRowsLikeLibrary(pool), n = g.length, d = g[0].length;
  const excluded = new Set<number>();
  const out: { path: number[]; kinds: string[]; underfilled: boolean }[] = [];
  components.forEach((raw, i) => {
    const K = Float64Array.from({ length: d }, (_, q) => raw[q] / norm(raw));
    const res = { path: [] as number[], kinds: [] as string[], underfilled: false };
    out.push(res);
    if (budgets[i] === 0) return;
    const order = Array.from({ length: n }, (_, j) => j).sort((a, b) => (dot(g[b], K) - dot(g[a], K)) || a - b);
    const anchor = order.find((j) => !excluded.has(j));
    if (anchor === undefined) { res.underfilled = true; return; }
    const S = [anchor];
    excluded.add(anchor);
    res.path.push(anchor); res.kinds.push("anchor");
    const sigma = Float64Array.from(g[anchor]);
    const alignment = (v: ArrayLike<number>) => (norm(v) > 1e-10 ? Math.abs(dot(v, K)) / norm(v) : 0);
    const ok = (j: number) => {
      if (excluded.has(j)) return false;
      if (S.some((s) => dot(g[j], g[s]) < 0)) return false;
      const next = Float64Array.from(sigma, (x, q) => x + g[j][q]);
      return alignment(next) >= delta * alignment(sigma);
    };
    while (S.length < budgets[i]) {
      const last = S[S.length - 1];
      let pick = Array.from(neighborsOf(graph, last)).find(ok), kind = "neighbour";
      if (pick === undefined) {
        pick = order.filter((j) => !excluded.has(j)).find(ok);
        kind = "fallback";
      }
      if (pick === undefined) { res.underfilled = true; break; }
      S.push(pick); excluded.add(pick);
      for (let q = 0; q < d; q++) sigma[q] += g[pick][q];
      res.path.push(pick); res.kinds.push(kind);
    }
  });
  return out;
}

/** The properties every walk must satisfy, recomputed from the output alone. */
function checkWalkProperties(label: string, pool: readonly Float32Array[], components: readonly ArrayLike<number>[], budgets: readonly number[], result: WalkResult, delta: number) {
  const g = unitRowsLikeLibrary(pool);
  const seen = new Set<number>();
  let total = 0;
  result.components.forEach((walk, i) => {
    const K = Float64Array.from(components[i], (x) => x / norm(components[i]));
    assert.ok(walk.path.length <= budgets[i], `${label}: component ${i} over budget`);
    assert.is(walk.underfilled, walk.path.length < budgets[i], `${label}: component ${i} under-fill flag`);
    if (walk.path.length > 0) assert.is(walk.kinds[0], "anchor");
    for (const j of walk.path) { assert.not.ok(seen.has(j), `${label}: ${j} selected twice`); seen.add(j); }
    for (let a = 0; a < walk.path.length; a++) for (let b = a + 1; b < walk.path.length; b++) {
      assert.ok(dot(g[walk.path[a]], g[walk.path[b]]) >= 0, `${label}: component ${i} holds a conflicting pair (${walk.path[a]}, ${walk.path[b]})`);
    }
    const sigma = new Float64Array(K.length);
    walk.path.forEach((j, t) => {
      const before = norm(sigma) > 1e-10 ? Math.abs(dot(sigma, K)) / norm(sigma) : 0;
      for (let q = 0; q < K.length; q++) sigma[q] += g[j][q];
      const after = Math.abs(dot(sigma, K)) / norm(sigma);
      if (t > 0) assert.ok(after >= delta * before - 1e-12, `${label}: consistency broken at step ${t} of component ${i}: ${after} < ${delta}·${before}`);
      assertClose(walk.alignment[t], after, 1e-9, `${label}: reported alignment`);
    });
    total += walk.path.length;
  });
  const B = budgets.reduce((a, b) => a + b, 0);
  const shortfall = result.underfilled.reduce((s, u) => s + (u.budget - u.selected), 0);
  assert.is(total + shortfall, B, `${label}: selected + reported shortfall = B`);
  assert.equal(result.indices, result.components.flatMap((c) => c.path), `${label}: indices keep visit order`);
}

// ---- ranking helpers ---------------------------------------------------------------------------

test("topKIndices and argsortDescending: match a full stable sort, ties by lower index", () => {
  const rng = new Rng("rank");
  for (let trial = 0; trial < 20; trial++) {
    const scores = Array.from({ length: 50 }, () => rng.int(8)); // many ties
    const reference = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
    const k = rng.int(51);
    assert.equal(topKIndices(scores, k), reference.slice(0, k));
    assert.equal(Array.from(argsortDescending(scores)), reference);
  }
  assert.throws(() => topKIndices([1, 2], 3), (e: Error) => e instanceof InvalidArgumentError && e.message.includes("k"));
});

// ---- LESS --------------------------------------------------------------------------------------

function lessOracle(checkpoints: { pool: Float32Array[]; targets: Record<string, Float32Array[]>; weight: number }[], normalize = true) {
  const wsum = checkpoints.reduce((s, c) => s + c.weight, 0);
  const names = Object.keys(checkpoints[0].targets), N = checkpoints[0].pool.length;
  const perSubtask = names.map((name) => {
    const out: number[] = [];
    for (let i = 0; i < N; i++) {
      let s = 0;
      for (const cp of checkpoints) {
        const eta = normalize ? cp.weight / wsum : cp.weight, rows = cp.targets[name];
        let m = 0;
        for (const t of rows) m += cosine(cp.pool[i], t);
        s += eta * (m / rows.length);
      }
      out.push(s);
    }
    return out;
  });
  return { perSubtask, scores: Array.from({ length: N }, (_, i) => Math.max(...perSubtask.map((c) => c[i]))) };
}

function lessCheckpoints(N: number, d: number) {
  return [1.7e-5, 1.3e-5, 2.6e-6].map((weight, c) => ({
    pool: randomRows(`less-pool-${c}`, N, d),
    targets: { algebra: randomRows(`less-a-${c}`, 3, d), geometry: randomRows(`less-g-${c}`, 5, d) },
    weight,
  }));
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] LESS scores = explicit double loop (blocked, 3 checkpoints, uneven subtasks), no leaks`, async () => {
    await useBackend(backend);
    const cps = lessCheckpoints(37, 24);
    const oracle = lessOracle(cps);
    const got = await expectNoLeak("lessScores", () => lessScores(cps, { blockRows: 8 }));
    assert.equal(got.subtasks, ["algebra", "geometry"]);
    assertClose(got.scores, oracle.scores, 2e-5, "scores");
    got.subtaskScores.forEach((col, s) => assertClose(col, oracle.perSubtask[s], 2e-5, `subtask ${s}`));
    assertClose(got.weights.reduce((a, b) => a + b, 0), 1, 1e-12, "renormalised weights");
    const raw = lessScores(cps, { normalizeWeights: false });
    assertClose(raw.scores, lessOracle(cps, false).scores, 2e-5, "unnormalised weights");
    const k = 6, top = selectLess(cps, k, { blockRows: 5 });
    const reference = oracle.scores.map((_, i) => i).sort((a, b) => oracle.scores[b] - oracle.scores[a] || a - b).slice(0, k);
    assert.equal(top.indices, reference);
  });
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] LESS: array-of-groups targets, duplicate pool rows tie by lower index, zero rows score 0`, async () => {
    await useBackend(backend);
    const base = randomRows("less-dup", 4, 8);
    const pool = [base[0], base[1], base[1], new Float32Array(8), base[2], base[3]];
    const targets = [randomRows("less-dup-t", 2, 8)];
    const { indices, scores } = selectLess([{ pool, targets, weight: 1 }], 6);
    assert.is(scores[3], 0);
    assert.ok(indices.indexOf(1) === indices.indexOf(2) - 1, "the duplicate at 2 directly follows 1");
  });
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] LESS: typed errors name the argument`, async () => {
    await useBackend(backend);
    const cps = lessCheckpoints(6, 4);
    await expectError(() => lessScores([]), EmptyInputError, "checkpoints");
    await expectError(() => lessScores([{ ...cps[0], weight: 0 }]), InvalidArgumentError, "checkpoints[0].weight");
    await expectError(() => lessScores([cps[0], { ...cps[1], pool: cps[1].pool.slice(1) }]), ShapeError, "checkpoints[1].pool");
    await expectError(() => lessScores([cps[0], { ...cps[1], targets: { algebra: cps[1].targets.algebra } }]), ShapeError, "checkpoints[1].targets");
    await expectError(() => lessScores([{ ...cps[0], targets: { a: randomRows("x", 2, 5) } }]), ShapeError, "checkpoints[0].targets.a[0]");
    await expectError(() => lessScores([{ ...cps[0], targets: { a: [] } }]), EmptyInputError, "checkpoints[0].targets.a");
    const bad = cps[0].pool.map((r) => r.slice()); bad[2][1] = NaN;
    await expectError(() => lessScores([{ ...cps[0], pool: bad }]), NonFiniteError, "checkpoints[0].pool[2]");
    await expectError(() => lessScores(cps, { blockRow: 4 } as never), UnknownOptionError, "blockRow");
  });
}

// ---- eigen + core knowledge --------------------------------------------------------------------

test("Jacobi eigen: closed form 2×2 and A·v = λ·v, orthonormal, descending on a random 30×30", () => {
  const two = symmetricEigen([2, 1, 1, 2], 2);
  assertClose(two.values, [3, 1], 1e-14);
  assertClose(Math.abs(two.vectors[0][0]), Math.SQRT1_2, 1e-14);
  const rng = new Rng("eig"), n = 30, b = Float64Array.from({ length: n * n }, () => rng.normal());
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = b[i * n + j] + b[j * n + i];
  const { values, vectors } = symmetricEigen(a, n);
  for (let k = 0; k < n; k++) {
    if (k > 0) assert.ok(values[k] <= values[k - 1]);
    for (let i = 0; i < n; i++) {
      let av = 0;
      for (let j = 0; j < n; j++) av += a[i * n + j] * vectors[k][j];
      assert.ok(Math.abs(av - values[k] * vectors[k][i]) < 1e-10, `residual of pair ${k}`);
    }
    for (let l = 0; l <= k; l++) assert.ok(Math.abs(dot(vectors[k], vectors[l]) - (k === l ? 1 : 0)) < 1e-12);
  }
  assert.throws(() => symmetricEigen([1, 2, 3, 1], 2), (e: Error) => e instanceof InvalidArgumentError && e.message.includes("symmetric"));
});

/** Rows ±3·a ± 1·b (every sign combination, repeated) for orthonormal a, b: variances 9 : 1. */
function knownAxesData(d: number, repeats: number) {
  const rng = new Rng("axes");
  const a = Float64Array.from({ length: d }, () => rng.normal()), b0 = Float64Array.from({ length: d }, () => rng.normal());
  const an = norm(a); for (let q = 0; q < d; q++) a[q] /= an;
  const proj = dot(b0, a), b = Float64Array.from(b0, (x, q) => x - proj * a[q]), bn = norm(b);
  for (let q = 0; q < d; q++) b[q] /= bn;
  const offset = Float64Array.from({ length: d }, (_, q) => 0.25 * a[q] + 0.1 * b[q]); // mean on the +a, +b side
  const rows: Float32Array[] = [];
  for (let r = 0; r < repeats; r++) for (const sa of [3, -3]) for (const sb of [1, -1]) rows.push(Float32Array.from({ length: d }, (_, q) => sa * a[q] + sb * b[q] + offset[q]));
  return { rows, a, b };
}

test("core knowledge: known principal axes (gram path n < d and covariance path n > d), ratios 0.9 / 0.1, valK cut", () => {
  for (const [d, repeats, method] of [[6, 1, "gram"], [3, 4, "covariance"]] as const) {
    const { rows, a, b } = knownAxesData(d, repeats);
    const one = coreKnowledge(rows, { sign: "mean-aligned" });
    assert.is(one.method, method);
    assert.is(one.components.length, 1, "valK 0.5 keeps the fewest components: one");
    assert.equal(one.weights, [1]);
    assertClose(one.varianceRatios[0], 0.9, 1e-6);
    assertClose(dot(one.components[0], a), 1, 1e-6, "K_1 = +a (mean-aligned sign)");
    const two = coreKnowledge(rows, { valK: 0.95, sign: "mean-aligned" });
    assert.is(two.components.length, 2);
    assertClose(two.weights, [0.9, 0.1], 1e-6);
    assertClose(dot(two.components[1], b), 1, 1e-6, "K_2 = +b");
    assertClose(two.spectrum, [0.9, 0.1], 1e-6);
  }
  // Axis-aligned so float32 rows hold the values exactly: ratios are exactly 36/40 and 4/40.
  const exactRows = [[3, 1], [3, -1], [-3, 1], [-3, -1]].map(([x, y]) => Float32Array.of(0, x, 0, y, 0));
  const boundary = coreKnowledge(exactRows, { valK: 0.9, valKCut: "reach", sign: "mean-aligned" });
  assert.is(boundary.components.length, 1, "valKCut reach: a cumulative ratio of exactly 0.9 reaches valK = 0.9 (≥, not sklearn's >)");
  [0, 1, 0, 0, 0].forEach((x, q) => assert.ok(Math.abs(boundary.components[0][q] - x) < 1e-12, "largest-positive fallback when the mean is 0"));
});

test("core knowledge: gram and covariance paths agree; reconstruction V − mean = scores·components with valK = 1", () => {
  const rows = randomRows("pca", 8, 12);
  const g = coreKnowledge(rows, { valK: 1, method: "gram", sign: "mean-aligned" }), c = coreKnowledge(rows, { valK: 1, method: "covariance", sign: "mean-aligned" });
  assert.is(g.components.length, 7, "rank n − 1 after centring");
  assert.is(c.components.length, 7);
  assertClose(g.varianceRatios, c.varianceRatios, 1e-9);
  g.components.forEach((k, i) => assertClose(k, c.components[i], 1e-6, `component ${i}`));
  for (const row of rows) {
    const centred = Float64Array.from(row, (x, q) => x - g.mean[q]);
    const rebuilt = new Float64Array(row.length);
    for (const k of g.components) { const s = dot(centred, k); for (let q = 0; q < row.length; q++) rebuilt[q] += s * k[q]; }
    assertClose(rebuilt, centred, 1e-6, "reconstruction");
  }
  g.components.forEach((k) => { assertClose(norm(k), 1, 1e-12, "unit"); assert.ok(dot(k, g.mean) >= 0, "mean-aligned sign"); });
  const largest = coreKnowledge(rows, { valK: 1 }); // the default sign: sklearn's svd_flip
  for (const k of largest.components) {
    let best = 0; for (let q = 1; q < k.length; q++) if (Math.abs(k[q]) > Math.abs(k[best])) best = q;
    assert.ok(k[best] > 0, "largest-|entry| positive");
  }
});

test("core knowledge: one target row → mean direction with weight 1; errors", async () => {
  const one = coreKnowledge([Float32Array.of(3, 4)]);
  assert.is(one.method, "mean-direction");
  assertClose(one.components[0], [0.6, 0.8], 1e-12);
  assert.equal(one.weights, [1]);
  const grouped = coreKnowledge({ a: randomRows("g1", 3, 5), b: randomRows("g2", 4, 5) });
  assert.is(grouped.numTargets, 7);
  await expectError(() => coreKnowledge([]), EmptyInputError, "target");
  await expectError(() => coreKnowledge([new Float32Array(3)]), InvalidArgumentError, "targets");
  await expectError(() => coreKnowledge(randomRows("e", 3, 4), { valK: 0 }), InvalidArgumentError, "options.valK");
  await expectError(() => coreKnowledge(randomRows("e", 3, 4), { sign: "up" as never }), UnknownOptionError, "options.sign");
  await expectError(() => coreKnowledge(randomRows("e", 5, 4), { maxEigenSize: 3 }), InvalidArgumentError, "targets");
});

// ---- budgets -----------------------------------------------------------------------------------

test("budgets: closed cases, ties to the lower index (option), float artefacts (tolerant floor), sums to B", async () => {
  assert.equal(splitBudget(10, [0.5, 0.3, 0.2]), [5, 3, 2]);
  assert.equal(splitBudget(10, [1 / 3, 1 / 3, 1 / 3], "lower-index"), [4, 3, 3]);
  assert.equal(splitBudget(7, [0.45, 0.45, 0.1], "lower-index"), [3, 3, 1]);
  assert.equal(splitBudget(5, [0.1, 0.9], "lower-index"), [1, 4], "remainders 0.5 and 0.5 tie: the lower index gets the unit");
  assert.equal(splitBudget(5, [0.05, 0.95]), [0, 5]);
  assert.equal(splitBudget(3, [2, 1]), [2, 1], "weights are renormalised");
  assert.is(totalBudget(300, 0.01), 3);
  assert.is(totalBudget(100, 0.29, "tolerant"), 29, "0.29·100 = 28.999… in floating point");
  assert.is(totalBudget(1234, 0.05), 61);
  const rng = new Rng("budget");
  for (let trial = 0; trial < 200; trial++) {
    const w = Array.from({ length: 1 + rng.int(8) }, () => rng.uniform()), B = rng.int(500);
    const b = splitBudget(B, w), sum = w.reduce((x, y) => x + y, 0);
    assert.is(b.reduce((x, y) => x + y, 0), B);
    b.forEach((bi, i) => assert.ok(Math.abs(bi - (B * w[i]) / sum) < 1, "within one unit of B·w_i"));
  }
  assert.equal(componentBudgets(1000, [0.7, 0.3]), { total: 10, budgets: [7, 3] });
  assert.equal(componentBudgets(1000, [0.7, 0.3], { budget: 4 }), { total: 4, budgets: [3, 1] });
  await expectError(() => componentBudgets(10, [1], { budget: 11 }), InvalidArgumentError, "pool size");
  await expectError(() => componentBudgets(50, [1], { trainK: 0.01 }), InvalidArgumentError, "options.trainK");
  await expectError(() => totalBudget(10, 1.5), InvalidArgumentError, "trainK");
  await expectError(() => splitBudget(3, []), EmptyInputError, "weights");
  await expectError(() => splitBudget(3, [1, -1]), InvalidArgumentError, "weights[1]");
});

// ---- k-NN graphs -------------------------------------------------------------------------------

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] exact k-NN graph = float64 brute force (blocked), sorted, self excluded, no leaks`, async () => {
    await useBackend(backend);
    const rows = randomRows("knn", 150, 12), k = 7;
    const graph = await expectNoLeak("exactKnnGraph", () => exactKnnGraph(rows, { k, blockRows: 32 }));
    for (let i = 0; i < rows.length; i++) {
      const truth = rows.map((r, j) => ({ j, s: cosine(rows[i], r) })).filter((e) => e.j !== i).sort((a, b) => b.s - a.s || a.j - b.j).slice(0, k);
      const got = Array.from(neighborsOf(graph, i));
      assert.not.ok(got.includes(i), "self excluded");
      assert.is(new Set(got).size, k, "distinct");
      got.forEach((j, q) => {
        assertClose(graph.similarities[i * k + q], cosine(rows[i], rows[j]), 1e-5, "reported similarity");
        assert.ok(Math.abs(graph.similarities[i * k + q] - truth[q].s) < 1e-5, `row ${i} rank ${q}: similarity is the true ${q}-th best`);
        if (q > 0) assert.ok(graph.similarities[i * k + q] <= graph.similarities[i * k + q - 1]);
      });
    }
  });
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] exact graph: ties go to the lower index; typed errors`, async () => {
    await useBackend(backend);
    const rows = [Float32Array.of(1, 0), Float32Array.of(0, 1), Float32Array.of(0, 1), Float32Array.of(1, 1)];
    const graph = exactKnnGraph(rows, { k: 2 });
    assert.equal(Array.from(neighborsOf(graph, 3)), [0, 1]);
    assert.equal(Array.from(neighborsOf(graph, 1)), [2, 3]);
    await expectError(() => exactKnnGraph(rows, { k: 4 }), InvalidArgumentError, "options.k");
    await expectError(() => exactKnnGraph([], { k: 1 }), EmptyInputError, "rows");
    await expectError(() => exactKnnGraph([Float32Array.of(1, 2), Float32Array.of(1)], { k: 1 }), ShapeError, "rows[1]");
    await expectError(() => hnswKnnGraph(rows, { k: 1, ef: 1 }), InvalidArgumentError, "options.ef");
  });
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] HNSW graph: recall@10 ≥ 0.9 against exact on clustered data; deterministic for a seed; recallAtK closed case`, async () => {
    await useBackend(backend);
    const rows = clusteredRows("hnsw", 1500, 32, 15, 0.6);
    const exact = exactKnnGraph(rows, { k: 10 });
    const a = hnswKnnGraph(rows, { k: 10, M: 16, efConstruction: 100, ef: 50, seed: 7 });
    const b = hnswKnnGraph(rows, { k: 10, M: 16, efConstruction: 100, ef: 50, seed: 7 });
    const recall = recallAtK(a, exact);
    assert.ok(recall >= 0.9, `recall ${recall}`);
    assert.equal(Array.from(a.neighbors), Array.from(b.neighbors), "same seed → same graph");
    for (let i = 0; i < rows.length; i++) {
      const nb = Array.from(neighborsOf(a, i));
      assert.not.ok(nb.includes(i));
      for (let q = 1; q < 10; q++) assert.ok(a.similarities[i * 10 + q] <= a.similarities[i * 10 + q - 1]);
    }
    const tiny = (nb: number[]): KnnGraph => ({ n: 4, k: 2, neighbors: Int32Array.from(nb), similarities: new Float32Array(8), method: "exact", buildSeconds: 0, params: {} });
    assert.is(recallAtK(tiny([2, 1, 0, 3, 0, 3, 0, 1]), tiny([1, 2, 0, 2, 0, 1, 0, 1])), 0.75, "hits 2 + 1 + 1 + 2 of 8; order does not matter");
    await expectError(() => recallAtK(exact, a.k === 10 ? exactKnnGraph(rows.slice(0, 50), { k: 10 }) : exact), ShapeError, "approx");
  });
}

// ---- the walk ----------------------------------------------------------------------------------

/**
 * Planted pool: clusters A, B, C; A′ = −A (conflicting with A); near-duplicates of A.
 * Targets: a mixture of A and B.
 */
function plantedPool(seed: string, d = 16) {
  const rng = new Rng(seed);
  const centre = () => Float32Array.from({ length: d }, () => rng.normal());
  const A = centre(), B = centre(), C = centre();
  const around = (c: Float32Array, noise: number) => Float32Array.from(c, (x) => x + noise * rng.normal());
  const pool: Float32Array[] = [], labels: string[] = [];
  for (let i = 0; i < 40; i++) { pool.push(around(A, 0.5)); labels.push("A"); }
  for (let i = 0; i < 40; i++) { pool.push(around(B, 0.5)); labels.push("B"); }
  for (let i = 0; i < 40; i++) { pool.push(around(C, 0.5)); labels.push("C"); }
  for (let i = 0; i < 20; i++) { pool.push(around(Float32Array.from(A, (x) => -x), 0.5)); labels.push("A'"); }
  for (let i = 0; i < 10; i++) { pool.push(around(pool[i], 0.01)); labels.push("A~"); }
  const target = [...Array.from({ length: 6 }, () => around(A, 0.5)), ...Array.from({ length: 6 }, () => around(B, 0.5))];
  return { pool, labels, target };
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] walk = literal transcription of the spec (naive oracle) on random and planted data, for several δ and budgets`, async () => {
    await useBackend(backend);
    const cases: { label: string; pool: Float32Array[]; target: Float32Array[] }[] = [
      { label: "planted", ...plantedPool("walk-planted") },
      { label: "random", pool: randomRows("walk-random", 120, 10), target: randomRows("walk-random-t", 9, 10) },
      { label: "clustered", pool: clusteredRows("walk-cl", 200, 8, 6, 0.8), target: clusteredRows("walk-cl-t", 12, 8, 3, 0.8) },
    ];
    for (const { label, pool, target } of cases) {
      const knowledge = coreKnowledge(target, { valK: 0.8 });
      const graph = exactKnnGraph(pool, { k: 6 });
      for (const delta of [0.5, 0.8, 1]) for (const B of [5, 30, 60]) {
        const budgets = splitBudget(B, knowledge.weights);
        const got = gradientWalk(pool, knowledge.components, budgets, graph, { delta });
        const want = naiveWalk(pool, knowledge.components, budgets, graph, delta);
        got.components.forEach((c, i) => {
          assert.equal(c.path, want[i].path, `${label} δ=${delta} B=${B} component ${i} path`);
          assert.equal(c.kinds, want[i].kinds, `${label} δ=${delta} B=${B} component ${i} kinds`);
          assert.is(c.underfilled, want[i].underfilled);
        });
        checkWalkProperties(`${label} δ=${delta} B=${B}`, pool, knowledge.components, budgets, got, delta);
        const again = gradientWalk(pool, knowledge.components, budgets, graph, { delta });
        assert.equal(again, got, "same input → same output");
      }
    }
  });
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] walk: anchor is the best not-excluded row by signed cosine; budget 0 skips a component; planted conflicts are never co-selected`, async () => {
    await useBackend(backend);
    const { pool, labels, target } = plantedPool("walk-anchor");
    const knowledge = coreKnowledge(target, { valK: 0.95 });
    const graph = exactKnnGraph(pool, { k: 8 });
    const budgets = splitBudget(40, knowledge.weights);
    const result = gradientWalk(pool, knowledge.components, budgets, graph);
    const unit = unitRowsLikeLibrary(pool);
    const excluded = new Set<number>();
    result.components.forEach((c, i) => {
      if (c.path.length === 0) return;
      const sims = unit.map((g) => dot(g, knowledge.components[i]));
      const best = sims.map((_, j) => j).filter((j) => !excluded.has(j)).sort((a, b) => sims[b] - sims[a] || a - b)[0];
      assert.is(c.path[0], best, `component ${i} anchor`);
      c.path.forEach((j) => excluded.add(j));
      const kinds = new Set(c.path.map((j) => labels[j]));
      assert.not.ok(kinds.has("A'") && (kinds.has("A") || kinds.has("A~")), `component ${i} mixes A with its conflicting A'`);
    });
    const skipped = gradientWalk(pool, knowledge.components, budgets.map((b, i) => (i === 0 ? 0 : b)), graph);
    assert.equal(skipped.components[0].path, []);
    assert.is(skipped.components[0].anchorRank, -1);
  });
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] walk: forced under-fill is reported (three rows at 120°: every pair conflicts)`, async () => {
    await useBackend(backend);
    const pool = [Float32Array.of(1, 0), Float32Array.of(-0.5, Math.sqrt(3) / 2), Float32Array.of(-0.5, -Math.sqrt(3) / 2)];
    const graph = exactKnnGraph(pool, { k: 2 });
    const result = gradientWalk(pool, [[1, 0]], [2], graph);
    assert.equal(result.indices, [0]);
    assert.equal(result.underfilled, [{ component: 0, budget: 2, selected: 1 }]);
    assert.equal(result.components[0].kinds, ["anchor"]);
  });
}

// Backend-independent: a hand-made graph and gradientWalk, which is plain JavaScript (no tensors).
test("walk: consistency rejects the nearest neighbour, the fallback takes the most aligned acceptable row", () => {
  // K = e1. Anchor e1. Its nearest neighbour (0.6, 0.8) drags |cos(Σ, K)| from 1 to 0.894 (< δ = 0.95);
  // (0.2, 0.98) conflicts with nothing but drops it further; (0.9, 0.436) keeps 0.99… — but is not a neighbour at k = 1.
  const pool = [Float32Array.of(1, 0), Float32Array.of(0.6, 0.8), Float32Array.of(0.2, 0.98), Float32Array.of(0.9, -0.436)];
  const graph: KnnGraph = { n: 4, k: 1, neighbors: Int32Array.of(1, 0, 1, 0), similarities: new Float32Array(4), method: "exact", buildSeconds: 0, params: {} };
  const result = gradientWalk(pool, [[1, 0]], [2], graph, { delta: 0.95 });
  assert.equal(result.components[0].path, [0, 3]);
  assert.equal(result.components[0].kinds, ["anchor", "fallback"]);
});

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] walk: typed errors`, async () => {
    await useBackend(backend);
    const pool = randomRows("walk-err", 10, 4), graph = exactKnnGraph(pool, { k: 3 });
    await expectError(() => gradientWalk(pool, [[1, 0, 0, 0]], [2], graph, { delta: 0 }), InvalidArgumentError, "options.delta");
    await expectError(() => gradientWalk(pool, [[1, 0, 0, 0]], [2], graph, { delta: 1.2 }), InvalidArgumentError, "options.delta");
    await expectError(() => gradientWalk(pool, [[1, 0, 0, 0]], [11], graph), InvalidArgumentError, "budgets");
    await expectError(() => gradientWalk(pool, [[1, 0, 0]], [2], graph), ShapeError, "components[0]");
    await expectError(() => gradientWalk(pool, [[0, 0, 0, 0]], [2], graph), InvalidArgumentError, "components[0]");
    await expectError(() => gradientWalk(pool, [[1, 0, 0, 0]], [2, 1], graph), ShapeError, "budgets");
    await expectError(() => gradientWalk(pool.slice(1), [[1, 0, 0, 0]], [2], graph), ShapeError, "graph");
  });
}

// ---- selection entry points -------------------------------------------------------------------

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] selectG2IS: exact and hnsw end to end on planted data, prebuilt graph reuse, properties, no leaks`, async () => {
    await useBackend(backend);
    const { pool, labels, target } = plantedPool("select");
    const exact = await expectNoLeak("selectG2IS", () => selectG2IS(pool, target, { trainK: 0.2, graph: "exact", k: 6 }));
    assert.is(exact.budgetTotal, 30);
    assert.is(exact.graphStats.method, "exact");
    assertClose(exact.components.reduce((s, c) => s + c.weight, 0), 1, 1e-12);
    assert.equal(exact.components.map((c) => c.budget), splitBudget(30, exact.coreKnowledge.weights));
    checkWalkProperties("selectG2IS exact", pool, exact.coreKnowledge.components, exact.components.map((c) => c.budget), {
      indices: exact.indices, underfilled: exact.underfilled,
      components: exact.components.map((c, i) => ({ component: i, budget: c.budget, path: c.path, kinds: c.kinds, alignment: c.alignment, anchorRank: c.anchorRank, underfilled: c.underfilled })),
    }, 0.8);
    const share = exact.indices.filter((j) => ["A", "B", "A~"].includes(labels[j])).length / exact.indices.length;
    assert.ok(share >= 0.8, `planted target clusters make up ${share} of the selection`);
    const reused = selectG2IS(pool, target, { trainK: 0.2, graph: exact.graph });
    assert.equal(reused.indices, exact.indices);
    assert.ok(reused.graphStats.reused);
    const hnsw = selectG2IS(pool, target, { trainK: 0.2, graph: "hnsw", k: 6, hnsw: { seed: 3, efConstruction: 100 } });
    assert.is(hnsw.graphStats.method, "hnsw");
    assert.equal(selectG2IS(pool, target, { trainK: 0.2, graph: "hnsw", k: 6, hnsw: { seed: 3, efConstruction: 100 } }).indices, hnsw.indices);
    const grouped = selectG2IS(pool, { a: target.slice(0, 6), b: target.slice(6) }, { trainK: 0.2, graph: exact.graph });
    assert.equal(grouped.indices, exact.indices, "grouped targets are flattened in order");
  });
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] selectG2IS: typed errors (δ, budget, empty target, dimension mismatch, unknown options)`, async () => {
    await useBackend(backend);
    const { pool, target } = plantedPool("select-err");
    await expectError(() => selectG2IS(pool, target, { delta: 0 }), InvalidArgumentError, "options.delta");
    await expectError(() => selectG2IS(pool, target, { delta: 1.01 }), InvalidArgumentError, "options.delta");
    await expectError(() => selectG2IS(pool, target, { budget: pool.length + 1 }), InvalidArgumentError, "pool size");
    await expectError(() => selectG2IS(pool, [], {}), EmptyInputError, "target");
    await expectError(() => selectG2IS(pool, { a: [] }, {}), EmptyInputError, "target.a");
    await expectError(() => selectG2IS(pool, randomRows("x", 3, 5)), ShapeError, "target[0]");
    await expectError(() => selectG2IS([], target), EmptyInputError, "pool");
    const nan = pool.map((r) => r.slice()); nan[3][0] = Infinity;
    await expectError(() => selectG2IS(nan, target), NonFiniteError, "pool[3]");
    await expectError(() => selectG2IS(pool, target, { graph: "kd" as never }), InvalidArgumentError, "options.graph");
    await expectError(() => selectG2IS(pool, target, { detla: 0.5 } as never), UnknownOptionError, "detla");
    await expectError(() => selectG2IS(pool.slice(1), target, { graph: exactKnnGraph(pool, { k: 3 }) }), ShapeError, "options.graph");
  });
}

test("selectNoGraph: per component the top-b_i not-excluded rows by signed cosine", async () => {
  const { pool, target } = plantedPool("nograph");
  const res = selectNoGraph(pool, target, { budget: 20, valK: 0.9 });
  const unit = unitRowsLikeLibrary(pool), excluded = new Set<number>();
  res.components.forEach((c, i) => {
    const K = res.coreKnowledge.components[i], sims = unit.map((g) => dot(g, K));
    const want = sims.map((_, j) => j).filter((j) => !excluded.has(j)).sort((a, b) => sims[b] - sims[a] || a - b).slice(0, c.budget);
    assert.equal(c.path, want);
    want.forEach((j) => excluded.add(j));
  });
  assert.is(res.indices.length, 20);
});

test("selectRandom: seeded, distinct, in range; selectBySimilarity = mean-cosine double loop", async () => {
  const a = selectRandom(100, 10, 5), b = selectRandom(100, 10, 5), c = selectRandom(100, 10, 6);
  assert.equal(a, b);
  assert.not.equal(a, c);
  assert.is(new Set(a).size, 10);
  assert.ok(a.every((i) => Number.isInteger(i) && i >= 0 && i < 100));
  await expectError(() => selectRandom(5, 6, 1), InvalidArgumentError, "k");
  const pool = randomRows("sim-p", 40, 7), target = randomRows("sim-t", 5, 7);
  const { indices, scores } = selectBySimilarity(pool, target, 8);
  const want = pool.map((p) => target.reduce((s, t) => s + cosine(p, t), 0) / target.length);
  want.forEach((w, i) => assert.ok(Math.abs(scores[i] - w) < 1e-6, `score ${i}`));
  assert.equal(indices, want.map((_, i) => i).sort((x, y) => want[y] - want[x] || x - y).slice(0, 8));
  await expectError(() => selectBySimilarity(pool, randomRows("x", 2, 6), 3), ShapeError, "target[0]");
});

// ---- TF-IDF -----------------------------------------------------------------------------------

test("TF-IDF: sklearn-style closed case, char and word n-grams, shared vocabulary, errors", async () => {
  const [d0, d1] = tfidfVectors(["a b", "a c"], { analyzer: "word", ngram: [1, 1] });
  const idfB = Math.log(3 / 2) + 1, n0 = Math.sqrt(1 + idfB * idfB);
  assertClose(d0, [1 / n0, idfB / n0, 0], 1e-6);
  assertClose(d1, [1 / n0, 0, idfB / n0], 1e-6);
  assert.equal(ngramsOf("Ab  c", { analyzer: "char", ngram: [1, 2] }), ["a", "b", " ", "c", "ab", "b ", " c"]);
  assert.equal(ngramsOf("12+34=46", { analyzer: "word", ngram: [1, 2] }),
    ["12", "+", "34", "=", "46", "12 +", "+ 34", "34 =", "= 46"]);
  const model = fitTfidf(["12+34=46", "98-7=91", "copy abc"], { analyzer: "char", ngram: [1, 2] });
  assert.equal(model.vocabulary, [...model.vocabulary].sort());
  const [x, empty] = model.transform(["12+34=46", "zz"]);
  assertClose(norm(x), 1, 1e-6);
  assert.ok(empty.every((v) => v === 0), "unknown n-grams → zero row");
  const capped = fitTfidf(["aaa b", "aab", "c"], { analyzer: "char", ngram: [1, 1], maxFeatures: 2 });
  assert.equal(capped.vocabulary, ["a", "b"]);
  const sub = tfidfVectors(["a a a b"], { analyzer: "word", ngram: [1, 1], sublinearTf: true })[0];
  assertClose(sub[0] / sub[1], 1 + Math.log(3), 1e-6);
  await expectError(() => fitTfidf([]), EmptyInputError, "corpus");
  await expectError(() => fitTfidf(["a"], { ngram: [2, 1] }), InvalidArgumentError, "options.ngram");
  await expectError(() => fitTfidf(["a"], { analyzer: "bpe" as never }), UnknownOptionError, "options.analyzer");
  await expectError(() => model.transform([3 as never]), InvalidArgumentError, "texts[0]");
});

test.run();
