import { test } from "uvu";
import * as assert from "uvu/assert";
import * as tf from "@tensorflow/tfjs";
import {
  RandomProjector, explicitProjectionMatrix, generateProjectionBlock, adamPreconditionedFeatures,
  l2NormalizeRows, cosineSimilarityMatrix, forEachCosineBlock, ProjectionKind, AdamCheckpointState,
} from "../kernel-lib/features";
import { EmptyInputError, InvalidArgumentError, NonFiniteError, ShapeError, UnknownOptionError } from "../kernel-lib/errors";
import { Rng } from "../kernel-lib/random";
import { TEST_BACKENDS, assertClose, expectError, expectNoLeak, useBackend } from "./helpers";

// ---- slow, obvious oracles and helpers -------------------------------------------------------

function randomRows(seed: string, n: number, P: number, scale = 1): Float32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: P }, () => rng.normal() * scale));
}

/** y = xᵀR with the whole P×d matrix in float64: three nested loops. */
function projectWithMatrix(rows: readonly Float32Array[], R: Float64Array, d: number): Float64Array[] {
  return rows.map((x) => {
    const y = new Float64Array(d);
    for (let i = 0; i < x.length; i++) for (let j = 0; j < d; j++) y[j] += x[i] * R[i * d + j];
    return y;
  });
}

/** max |a − b| over all entries / max |b|: relative to the scale of the result, not per entry. */
function normRelError(actual: ArrayLike<number>[], expected: ArrayLike<number>[]): number {
  let worst = 0, scale = 0;
  assert.is(actual.length, expected.length, "row count");
  for (let r = 0; r < expected.length; r++) {
    assert.is(actual[r].length, expected[r].length, `row ${r} length`);
    for (let k = 0; k < expected[r].length; k++) {
      worst = Math.max(worst, Math.abs(actual[r][k] - expected[r][k]));
      scale = Math.max(scale, Math.abs(expected[r][k]));
    }
  }
  return worst / scale;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));

function tensorRows(t: tf.Tensor2D): Float32Array[] {
  const [n, d] = t.shape, data = t.dataSync() as Float32Array;
  return Array.from({ length: n }, (_, i) => data.slice(i * d, (i + 1) * d));
}

/** erfc with fractional error < 1.2e-7 everywhere (Numerical Recipes' Chebyshev fit), for tail quantiles. */
function erfc(x: number): number {
  const z = Math.abs(x), t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}
/** z with P(|N(0,1)| > z) = p, by bisection. */
function twoSidedNormalQuantile(p: number): number {
  let lo = 0, hi = 40;
  for (let i = 0; i < 200; i++) { const mid = (lo + hi) / 2; if (erfc(mid / Math.SQRT2) > p) lo = mid; else hi = mid; }
  return (lo + hi) / 2;
}

// ---- projection: blocks ----------------------------------------------------------------------

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] projection blocks are a pure function of (seed, kind, d, blockRows, b): order, repeats and P do not matter`, async () => {
    await useBackend(backend);
    for (const kind of ["rademacher", "gaussian"] as ProjectionKind[]) {
      const a = new RandomProjector({ inputDim: 1000, outputDim: 24, kind, seed: 7, blockRows: 128 });
      const b3First = a.block(3).slice(), b0 = a.block(0).slice(), b3Again = a.block(3).slice();
      assert.equal(Array.from(b3Again), Array.from(b3First), `${kind}: block 3 regenerated identically`);
      // A projector asked for block 3 only (never block 0..2), and one with a larger P, agree.
      const fresh = new RandomProjector({ inputDim: 1000, outputDim: 24, kind, seed: 7, blockRows: 128 });
      assert.equal(Array.from(fresh.block(3)), Array.from(b3First), `${kind}: block 3 generated alone`);
      const wider = new RandomProjector({ inputDim: 5000, outputDim: 24, kind, seed: 7, blockRows: 128 });
      assert.equal(Array.from(wider.block(0)), Array.from(b0), `${kind}: common rows shared across P`);
      // The short last block (1000 = 7·128 + 104) is the prefix of the same block for a larger P.
      assert.is(a.block(7).length, 104 * 24);
      assert.equal(Array.from(a.block(7)), Array.from(wider.block(7).subarray(0, 104 * 24)), `${kind}: short last block is a prefix`);
      // Other seeds differ; blocks differ from each other.
      const other = new RandomProjector({ inputDim: 1000, outputDim: 24, kind, seed: 8, blockRows: 128 });
      assert.not.equal(Array.from(other.block(3)), Array.from(b3First), `${kind}: seed 8 ≠ seed 7`);
      assert.not.equal(Array.from(a.block(2)), Array.from(b3First), `${kind}: block 2 ≠ block 3`);
      // Whole projections: same seed → bitwise identical; another seed → different.
      const rows = randomRows("determinism", 2, 1000);
      assert.equal(a.project(rows).map((r) => Array.from(r)), fresh.project(rows).map((r) => Array.from(r)), `${kind}: same seed, same projection`);
      assert.not.equal(other.project(rows).map((r) => Array.from(r)), fresh.project(rows).map((r) => Array.from(r)), `${kind}: other seed differs`);
    }
  });
}

test("projection entries: Rademacher is exactly ±1/√d with balanced signs; Gaussian has mean 0, variance 1/d", () => {
  const d = 50;
  const rad = generateProjectionBlock("entries", "rademacher", d, 4096, 0, 4096);
  const s = 1 / Math.sqrt(d);
  let plus = 0;
  for (const x of rad) { assert.ok(Math.abs(Math.abs(x) - s) < 1e-7, `entry ${x} is not ±1/√d`); if (x > 0) plus++; }
  const fracPlus = plus / rad.length; // n = 204800: 5σ of a fair coin is ±0.0055
  assert.ok(Math.abs(fracPlus - 0.5) < 0.0055, `fraction of + signs ${fracPlus}`);
  const gau = generateProjectionBlock("entries", "gaussian", d, 4096, 0, 4096);
  const mean = gau.reduce((a, x) => a + x, 0) / gau.length;
  const variance = gau.reduce((a, x) => a + (x - mean) ** 2, 0) / gau.length;
  assert.ok(Math.abs(mean) < 5 * s / Math.sqrt(gau.length), `gaussian mean ${mean}`);
  assert.ok(Math.abs(variance * d - 1) < 5 * Math.sqrt(2 / gau.length), `gaussian variance·d ${variance * d}`);
});

// ---- projection: streamed == explicit full matrix ---------------------------------------------

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] block-streamed projection equals the explicit full-matrix oracle (P not a multiple of blockRows)`, async () => {
    await useBackend(backend);
    const P = 1000, d = 40, blockRows = 96; // 10 full blocks + one of 40 rows
    const rows = randomRows("oracle-rows", 7, P);
    for (const kind of ["rademacher", "gaussian"] as ProjectionKind[]) {
      const R = explicitProjectionMatrix({ inputDim: P, outputDim: d, kind, seed: "oracle", blockRows });
      const expected = projectWithMatrix(rows, R, d);
      for (const batchSize of [1, 3, 256]) {
        const projector = new RandomProjector({ inputDim: P, outputDim: d, kind, seed: "oracle", blockRows, batchSize });
        const fromArrays = await expectNoLeak("project(arrays)", () => projector.project(rows));
        const err = normRelError(fromArrays, expected);
        assert.ok(err <= 1e-5, `${kind}, batch ${batchSize}: arrays rel error ${err}`);
        const fromTensor = await expectNoLeak("project(tensor)", () => tf.tidy(() => tensorRows(projector.project(tf.tensor2d(rows.map((r) => Array.from(r)))))));
        assert.ok(normRelError(fromTensor, expected) <= 1e-5, `${kind}, batch ${batchSize}: tensor path`);
      }
    }
  });

  test(`[${backend}] streaming: projectBatch over chunks (with and without the block cache) equals project over all`, async () => {
    await useBackend(backend);
    const P = 777, d = 16, rows = randomRows("stream", 23, P);
    const whole = new RandomProjector({ inputDim: P, outputDim: d, seed: 3, blockRows: 100 }).project(rows);
    for (const cacheBytes of [0, P * d * 4]) {
      const projector = new RandomProjector({ inputDim: P, outputDim: d, seed: 3, blockRows: 100, cacheBytes });
      const streamed: Float32Array[] = [];
      await expectNoLeak("projectBatch", () => {
        for (let start = 0; start < rows.length; start += 5) streamed.push(...projector.projectBatch(rows.slice(start, start + 5)));
      });
      assert.ok(normRelError(streamed, whole) <= 1e-6, `cacheBytes ${cacheBytes}: streamed ≠ whole`);
    }
    const bound = new RandomProjector({ inputDim: P, outputDim: d, seed: 3, blockRows: 100, batchSize: 8 }).memoryBound(1000);
    assert.is(bound.blockMatrixBytes, 2 * 100 * d * 4);
    assert.is(bound.inputSliceBytes, 2 * 8 * 100 * 4);
    assert.is(bound.totalBytes, bound.blockMatrixBytes + bound.inputSliceBytes + bound.productBytes + bound.accumulatorBytes + bound.cacheBytes);
  });

  test(`[${backend}] named gradient groups project as their concatenation in declaration order, without concatenating`, async () => {
    await useBackend(backend);
    const groups = [{ name: "l0.A", size: 37 }, { name: "l0.B", size: 100 }, { name: "l1.A", size: 5 }, { name: "l1.B", size: 300 }, { name: "head", size: 58 }];
    const P = 500, d = 12, n = 4;
    const projector = new RandomProjector({ groups, outputDim: d, seed: "groups", blockRows: 64 });
    assert.is(projector.inputDim, P);
    assert.equal(projector.groups!.map((g) => g.offset), [0, 37, 137, 142, 442]);
    const flat = randomRows("group-rows", n, P);
    const records = flat.map((x) => Object.fromEntries(projector.groups!.map((g) => [g.name, x.slice(g.offset, g.offset + g.size)])));
    const R = explicitProjectionMatrix({ inputDim: P, outputDim: d, kind: "rademacher", seed: "groups", blockRows: 64 });
    const expected = projectWithMatrix(flat, R, d);
    const fromRecords = await expectNoLeak("projectGroups(records)", () => projector.projectGroups(records));
    assert.ok(normRelError(fromRecords, expected) <= 1e-5, "records vs oracle");
    // One tensor per group with its natural shape ([n, 10, 10] for l0.B, [n, 3, 100] for l1.B).
    const shapes: Record<string, number[]> = { "l0.A": [n, 37], "l0.B": [n, 10, 10], "l1.A": [n, 5], "l1.B": [n, 3, 100], head: [n, 58] };
    const fromTensors = await expectNoLeak("projectGroups(tensors)", () => tf.tidy(() => {
      const tensors = Object.fromEntries(projector.groups!.map((g) => [g.name, tf.tensor(records.flatMap((r) => Array.from(r[g.name])), shapes[g.name])]));
      return tensorRows(projector.projectGroups(tensors));
    }));
    assert.ok(normRelError(fromTensors, expected) <= 1e-5, "tensors vs oracle");
    // Reordering the records' keys changes nothing: the layout, not the object, fixes the order.
    const reordered = records.map((r) => Object.fromEntries(Object.entries(r).reverse()));
    assert.ok(normRelError(projector.projectGroups(reordered), fromRecords) === 0, "key order is irrelevant");
  });

  // ---- projection: Johnson–Lindenstrauss ------------------------------------------------------

  test(`[${backend}] Johnson–Lindenstrauss: every pairwise cosine within the JL bound; error shrinks as d grows`, async () => {
    await useBackend(backend);
    // 50 vectors in R^20000: 30 independent, 20 correlated with one of them (ρ from −0.95 to 0.95),
    // with assorted norms (cosines are scale-free, so the bound below is applied to unit vectors).
    const n = 50, P = 20000, rng = new Rng("jl-data");
    const base = randomRows("jl-base", 30, P);
    const rows: Float32Array[] = [...base];
    const rhos = [0.95, 0.9, 0.8, 0.6, 0.4, 0.2, 0.05, -0.05, -0.2, -0.4, -0.6, -0.8, -0.9, -0.95, 0.99, -0.99, 0.7, -0.7, 0.5, -0.5];
    const noise = randomRows("jl-noise", 20, P);
    rhos.forEach((rho, k) => {
      const u = base[k], out = new Float32Array(P);
      for (let i = 0; i < P; i++) out[i] = rho * u[i] + Math.sqrt(1 - rho * rho) * noise[k][i];
      rows.push(out);
    });
    rows.forEach((r) => { const s = Math.exp(rng.normal()); for (let i = 0; i < P; i++) r[i] *= s; });
    const exact: number[][] = rows.map((a) => rows.map((b) => cosine(a, b)));

    // Rigorous bound. For a fixed x and R with i.i.d. ±1/√d (Achlioptas 2003) or N(0,1)/√d
    // (Dasgupta & Gupta 2003) entries: P(| |Rᵀx|² − |x|² | > ε|x|²) ≤ 2·exp(−d(ε²/4 − ε³/6)).
    // Apply it to the n unit vectors and the n(n−1) vectors u_i ± u_j: n² events, so with
    // probability ≥ 1 − δ all hold when 2n²·exp(−d(ε²/4 − ε³/6)) ≤ δ. On that event, polarisation
    // ⟨Ru,Rv⟩ = (|R(u+v)|² − |R(u−v)|²)/4 gives |⟨Ru,Rv⟩ − c| ≤ ε(|u+v|² + |u−v|²)/4 = ε, and the
    // norms give |Ru||Rv| ∈ [1−ε, 1+ε], so |ĉ − c| = |e + c(1 − N)|/N ≤ (1 + |c|)·ε/(1 − ε).
    const d = 1024, delta = 1e-3;
    const g = (e: number) => e * e / 4 - e ** 3 / 6; // increasing on (0, 1)
    let lo = 0, hi = 1;
    for (let i = 0; i < 100; i++) { const mid = (lo + hi) / 2; if (2 * n * n * Math.exp(-d * g(mid)) > delta) lo = mid; else hi = mid; }
    const eps = hi; // ≈ 0.271 for n = 50, d = 1024, δ = 1e-3
    // Sharper (asymptotic, CLT) bound: the d coordinates (u·r_j, v·r_j) are ≈ bivariate normal
    // with correlation c, so ĉ is their uncentred sample correlation, sd ≈ (1 − c²)/√d. A union
    // bound over the n(n−1)/2 pairs at level δ gives |ĉ − c| ≤ z·(1 − c²)/√d with
    // P(|N(0,1)| > z) = δ / (n(n−1)/2); 1/d of slack covers the O(1/d) bias of a correlation.
    const pairs = n * (n - 1) / 2, z = twoSidedNormalQuantile(delta / pairs); // ≈ 4.93

    const meanAbsError: Record<number, number> = {}, predictedMae: Record<number, number> = {};
    for (const dim of [64, 1024]) {
      const projector = new RandomProjector({ inputDim: P, outputDim: dim, seed: "jl", blockRows: 4096 });
      const projected = await expectNoLeak("project", () => projector.project(rows));
      let sumAbs = 0, sumPred = 0, worstRigorous = 0, worstClt = 0;
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          const c = exact[i][j], err = Math.abs(cosine(projected[i], projected[j]) - c);
          sumAbs += err;
          sumPred += Math.sqrt(2 / Math.PI) * (1 - c * c) / Math.sqrt(dim); // E|N(0, σ²)| = σ√(2/π)
          if (dim === d) {
            const rigorous = (1 + Math.abs(c)) * eps / (1 - eps), clt = z * (1 - c * c) / Math.sqrt(d) + 1 / d;
            assert.ok(err <= rigorous, `pair (${i}, ${j}): |ĉ − c| = ${err} > JL bound ${rigorous}`);
            assert.ok(err <= clt, `pair (${i}, ${j}), c = ${c.toFixed(3)}: |ĉ − c| = ${err} > CLT bound ${clt}`);
            worstRigorous = Math.max(worstRigorous, err / rigorous);
            worstClt = Math.max(worstClt, err / clt);
          }
        }
      }
      meanAbsError[dim] = sumAbs / pairs;
      predictedMae[dim] = sumPred / pairs;
      console.log(`  [${backend}] d=${dim}: mean |ĉ−c| = ${meanAbsError[dim].toFixed(4)} (predicted ${predictedMae[dim].toFixed(4)})` +
        (dim === d ? `; JL ε = ${eps.toFixed(3)}, worst err/bound: JL ${worstRigorous.toFixed(3)}, CLT(z=${z.toFixed(2)}) ${worstClt.toFixed(3)}` : ""));
      assert.ok(meanAbsError[dim] / predictedMae[dim] > 0.75 && meanAbsError[dim] / predictedMae[dim] < 1.33, `d=${dim}: MAE far from (1 − c²)√(2/π)/√d`);
    }
    // √(1024/64) = 4 in theory; require at least 2.5.
    assert.ok(meanAbsError[1024] * 2.5 < meanAbsError[64], `MAE did not shrink: d=64 ${meanAbsError[64]}, d=1024 ${meanAbsError[1024]}`);
  });

  test(`[${backend}] projected inner products are unbiased across seeds, with the Rademacher variance`, async () => {
    await useBackend(backend);
    const P = 3000, d = 32, seeds = 30;
    const [u, v, w] = randomRows("unbiased", 3, P, 0.05);
    for (let i = 0; i < P; i++) w[i] = 0.8 * u[i] + 0.3 * w[i]; // a correlated pair (u, w)
    const pairs: Array<[Float32Array, Float32Array, string]> = [[u, v, "u·v"], [u, w, "u·w"], [u, u, "u·u"]];
    for (const kind of ["rademacher", "gaussian"] as ProjectionKind[]) {
      const estimates = pairs.map(() => [] as number[]);
      for (let s = 0; s < seeds; s++) {
        const [pu, pv, pw] = new RandomProjector({ inputDim: P, outputDim: d, kind, seed: `unbiased-${s}`, blockRows: 1024 }).project([u, v, w]);
        estimates[0].push(dot(pu, pv)); estimates[1].push(dot(pu, pw)); estimates[2].push(dot(pu, pu));
      }
      pairs.forEach(([a, b, label], k) => {
        const exactDot = dot(a, b), xs = estimates[k];
        const mean = xs.reduce((p, q) => p + q, 0) / seeds;
        const sampleVar = xs.reduce((p, q) => p + (q - mean) ** 2, 0) / (seeds - 1);
        // Var of one estimate: (|a|²|b|² + (a·b)² − 2κΣ a_i² b_i²)/d with κ = 1 (Rademacher), 0 (Gaussian).
        let fourth = 0;
        for (let i = 0; i < P; i++) fourth += a[i] * a[i] * b[i] * b[i];
        const theoryVar = (dot(a, a) * dot(b, b) + exactDot ** 2 - (kind === "rademacher" ? 2 * fourth : 0)) / d;
        const se = Math.sqrt(theoryVar / seeds);
        assert.ok(Math.abs(mean - exactDot) < 4 * se, `${kind} ${label}: mean over seeds ${mean} vs exact ${exactDot} (se ${se})`);
        // s²/σ² ~ χ²₂₉/29 for Gaussian-like estimates: its 99.9% interval is about [0.42, 1.9].
        const ratio = sampleVar / theoryVar;
        assert.ok(ratio > 0.35 && ratio < 2.2, `${kind} ${label}: sample/theory variance ${ratio}`);
      });
    }
  });
}

// ---- projection: errors ----------------------------------------------------------------------

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] projection: typed errors for bad options and inputs, no leaks on the error paths`, async () => {
    await useBackend(backend);
    const ok = { inputDim: 10, outputDim: 4, seed: 1 };
    await expectError(() => new RandomProjector({ ...ok, outputDim: 0 }), InvalidArgumentError, "outputDim");
    await expectError(() => new RandomProjector({ ...ok, outputDim: -3 }), InvalidArgumentError, "outputDim");
    await expectError(() => new RandomProjector({ ...ok, outputDim: 2.5 }), InvalidArgumentError, "outputDim");
    await expectError(() => new RandomProjector({ ...ok, inputDim: 0 }), InvalidArgumentError, "inputDim");
    await expectError(() => new RandomProjector({ ...ok, kind: "sparse" as ProjectionKind }), UnknownOptionError, "kind");
    await expectError(() => new RandomProjector({ ...ok, blockRows: 0 }), InvalidArgumentError, "blockRows");
    await expectError(() => new RandomProjector({ ...ok, blockSize: 5 } as never), UnknownOptionError, "options.blockSize");
    await expectError(() => new RandomProjector({ inputDim: 10, outputDim: 4 } as never), InvalidArgumentError, "seed");
    await expectError(() => new RandomProjector({ outputDim: 4, seed: 1 }), InvalidArgumentError, "inputDim");
    await expectError(() => new RandomProjector({ ...ok, groups: [{ name: "a", size: 3 }] }), InvalidArgumentError, "sum of the group sizes (3)");
    await expectError(() => new RandomProjector({ outputDim: 4, seed: 1, groups: [{ name: "a", size: 3 }, { name: "a", size: 2 }] }), InvalidArgumentError, "groups[1].name");
    await expectError(() => new RandomProjector({ outputDim: 4, seed: 1, groups: [] }), EmptyInputError, "groups");

    const projector = new RandomProjector(ok);
    const good = randomRows("err", 3, 10);
    await expectNoLeak("error paths", async () => {
      await expectError(() => projector.project([good[0], new Float32Array(11)]), ShapeError, "vectors[1]");
      await expectError(() => projector.project([]), EmptyInputError, "vectors");
      const withNaN = good.map((r) => r.slice());
      withNaN[2][4] = NaN;
      await expectError(() => projector.project(withNaN), NonFiniteError, "vectors[2]: contains NaN or Inf (first at index 4)");
      const wide = tf.zeros([2, 11]) as tf.Tensor2D;
      await expectError(() => projector.project(wide), ShapeError, "vectors: expected shape [n, 10]");
      wide.dispose();
      const inf = tf.tensor2d([Array(10).fill(1), [1, 2, 3, Infinity, 5, 6, 7, 8, 9, 10]]);
      await expectError(() => projector.project(inf), NonFiniteError, "vectors[1]: contains NaN or Inf (first at index 3)");
      inf.dispose();
      await expectError(() => projector.projectGroups([{ a: good[0] }]), InvalidArgumentError, "groups");
    });

    const grouped = new RandomProjector({ outputDim: 4, seed: 1, groups: [{ name: "A", size: 6 }, { name: "B", size: 4 }] });
    const A = new Float32Array(6), B = new Float32Array(4);
    await expectNoLeak("group error paths", async () => {
      await expectError(() => grouped.projectGroups([{ A, B }, { A }]), InvalidArgumentError, "batch[1].B");
      await expectError(() => grouped.projectGroups([{ A, B: new Float32Array(5) }]), ShapeError, "batch[0].B");
      await expectError(() => grouped.projectGroups([{ A, B, C: B }]), UnknownOptionError, "batch[0]");
      await expectError(() => grouped.projectGroups([{ A: Float32Array.of(0, 0, NaN, 0, 0, 0), B }]), NonFiniteError, "batch[0].A");
      const tA = tf.zeros([2, 6]), tB = tf.zeros([3, 4]);
      await expectError(() => grouped.projectGroups({ A: tA, B: tB }), ShapeError, "batch.B");
      tA.dispose(); tB.dispose();
    });
  });
}

// ---- Adam-preconditioned features ------------------------------------------------------------

/** One coordinate of Γ, written out from the formulas in the module header. */
function adamOracle(g: number, m: number, v: number, s: { beta1: number; beta2: number; eps: number; step?: number }, form: "less" | "bias-corrected"): number {
  const m1 = s.beta1 * m + (1 - s.beta1) * g, v1 = s.beta2 * v + (1 - s.beta2) * g * g;
  if (form === "less") return m1 / Math.sqrt(v1 + s.eps);
  const t = (s.step ?? 0) + 1;
  return (m1 / (1 - s.beta1 ** t)) / (Math.sqrt(v1 / (1 - s.beta2 ** t)) + s.eps);
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] Adam features: closed-form cases computed by hand, both forms, arrays and tensors`, async () => {
    await useBackend(backend);
    // β1 = β2 = 0.5, ε = 1, step 1 (so the next update is step 2: 1 − 0.5² = 0.75 corrects both moments).
    // coord 0: g=2,  m=1,  v=2 → m′ = 0.5+1 = 1.5,    v′ = 1+2 = 3
    //   less: 1.5/√(3+1) = 0.75;          corrected: m̂ = 2,     v̂ = 4    → 2/(2+1) = 2/3
    // coord 1: g=−2, m=−3, v=6 → m′ = −1.5−1 = −2.5,  v′ = 3+2 = 5
    //   less: −2.5/√6;                    corrected: m̂ = −10/3, v̂ = 20/3 → (−10/3)/(√(20/3)+1)
    // coord 2: g=m=v=0 → 0 in both forms (ε keeps it finite).
    const state: AdamCheckpointState = { m: Float32Array.of(1, -3, 0), v: Float32Array.of(2, 6, 0), step: 1, beta1: 0.5, beta2: 0.5, eps: 1 };
    const g = [Float32Array.of(2, -2, 0)];
    const less = [0.75, -2.5 / Math.sqrt(6), 0];
    const corrected = [2 / 3, (-10 / 3) / (Math.sqrt(20 / 3) + 1), 0];
    const a1 = await expectNoLeak("arrays", () => adamPreconditionedFeatures(g, state));
    assertClose(a1[0], less, 1e-6, "less form");
    assertClose(adamPreconditionedFeatures(g, state, { form: "bias-corrected" })[0], corrected, 1e-6, "bias-corrected form");
    const t1 = await expectNoLeak("tensor", () => tf.tidy(() => tensorRows(adamPreconditionedFeatures(tf.tensor2d([[2, -2, 0]]), state, { form: "bias-corrected" }))));
    assertClose(t1[0], corrected, 1e-6, "bias-corrected form (tensor)");

    // LESS's own constants (β1 0.9, β2 0.999, ε 1e-8 are the defaults), fresh state, g = 1e-3:
    // m′ = 1e-4, v′ = 1e-9 → Γ = 1e-4/√(1e-9 + 1e-8) = 1e-4/√1.1e-8.
    const fresh = { m: new Float32Array(1), v: new Float32Array(1) };
    assertClose(adamPreconditionedFeatures([Float32Array.of(1e-3)], fresh)[0], [1e-4 / Math.sqrt(1.1e-8)], 1e-6, "LESS defaults");

    // m = v = 0, β1 = 0: Γ = g/√((1−β2)g² + ε) → sign(g)/√(1−β2) = ±10 when (1−β2)g² ≫ ε.
    const signState = { m: new Float32Array(3), v: new Float32Array(3), beta1: 0, beta2: 0.99, eps: 1e-12 };
    const gs = Float32Array.of(3, -0.5, 1e-2);
    const exact = Array.from(gs, (x) => x / Math.sqrt(0.01 * x * x + 1e-12));
    for (const [label, out] of [
      ["arrays", adamPreconditionedFeatures([gs], signState)[0]],
      ["tensor", tf.tidy(() => tensorRows(adamPreconditionedFeatures(tf.tensor2d([Array.from(gs)]), signState))[0])],
    ] as const) {
      assertClose(out, exact, 1e-5, `sign limit exact (${label})`);
      assertClose(out, [10, -10, 10], 1e-5, `sign limit ≈ sign(g)/√(1−β2) (${label})`);
    }
  });

  test(`[${backend}] Adam features: batched array and tensor paths match the per-coordinate oracle`, async () => {
    await useBackend(backend);
    const P = 1000, rng = new Rng("adam-random");
    const grads = randomRows("adam-grads", 5, P, 0.01);
    const state: AdamCheckpointState = {
      m: Float32Array.from({ length: P }, () => rng.normal() * 1e-3),
      v: Float32Array.from({ length: P }, () => (rng.normal() * 1e-2) ** 2),
      step: 37, beta1: 0.9, beta2: 0.999, eps: 1e-8,
    };
    const s = { beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 37 };
    for (const form of ["less", "bias-corrected"] as const) {
      const expected = grads.map((g) => Array.from(g, (x, i) => adamOracle(x, state.m[i], state.v[i], s, form)));
      const fromArrays = await expectNoLeak("arrays", () => adamPreconditionedFeatures(grads, state, { form }));
      assert.ok(normRelError(fromArrays, expected) <= 1e-6, `${form}: arrays`);
      const fromTensor = await expectNoLeak("tensor", () => tf.tidy(() => tensorRows(adamPreconditionedFeatures(tf.tensor2d(grads.map((g) => Array.from(g))), state, { form }))));
      assert.ok(normRelError(fromTensor, expected) <= 1e-5, `${form}: tensor`);
    }
  });
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] Adam features: typed errors name the argument at fault`, async () => {
    await useBackend(backend);
    const state = { m: new Float32Array(4), v: new Float32Array(4), step: 3 };
    const g = new Float32Array(4);
    await expectNoLeak("error paths", async () => {
      await expectError(() => adamPreconditionedFeatures([g, new Float32Array(5)], state), ShapeError, "grads[1]: expected shape [4 (the length of state.m and state.v)]");
      await expectError(() => adamPreconditionedFeatures([g], { ...state, v: new Float32Array(3) }), ShapeError, "state.v");
      const wide = tf.zeros([2, 5]) as tf.Tensor2D;
      await expectError(() => adamPreconditionedFeatures(wide, state), ShapeError, "grads");
      wide.dispose();
      await expectError(() => adamPreconditionedFeatures([Float32Array.of(0, NaN, 0, 0)], state), NonFiniteError, "grads[0]");
      await expectError(() => adamPreconditionedFeatures([g], { ...state, m: Float32Array.of(0, 0, Infinity, 0) }), NonFiniteError, "state.m");
      const nanTensor = tf.tensor2d([[0, 0, 0, 0], [0, 0, 0, NaN]]);
      await expectError(() => adamPreconditionedFeatures(nanTensor, state), NonFiniteError, "grads[1]");
      nanTensor.dispose();
      await expectError(() => adamPreconditionedFeatures([g], { ...state, v: Float32Array.of(0, 0, -1, 0) }), InvalidArgumentError, "state.v[2]");
      await expectError(() => adamPreconditionedFeatures([g], state, { form: "adamw" as never }), UnknownOptionError, "options.form");
      await expectError(() => adamPreconditionedFeatures([g], { m: state.m, v: state.v }, { form: "bias-corrected" }), InvalidArgumentError, "state.step");
      await expectError(() => adamPreconditionedFeatures([g], { ...state, beta1: 1 }), InvalidArgumentError, "state.beta1");
      await expectError(() => adamPreconditionedFeatures([g], { ...state, eps: 0 }), InvalidArgumentError, "state.eps");
      await expectError(() => adamPreconditionedFeatures([g], { ...state, lr: 1 } as never), UnknownOptionError, "state.lr");
      await expectError(() => adamPreconditionedFeatures([], state), EmptyInputError, "grads");
    });
  });
}

// ---- normalisation and cosine matrices -------------------------------------------------------

function cosineOracle(a: readonly Float32Array[], b: readonly Float32Array[]): number[][] {
  return a.map((x) => b.map((y) => {
    const nx = Math.sqrt(dot(x, x)), ny = Math.sqrt(dot(y, y));
    return nx === 0 || ny === 0 ? 0 : dot(x, y) / (nx * ny);
  }));
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] l2NormalizeRows: closed form, zero rows (error or keep), arrays and tensors`, async () => {
    await useBackend(backend);
    const rows = [Float32Array.of(3, 4), Float32Array.of(0, -2), Float32Array.of(1, 1)];
    const expected = [[0.6, 0.8], [0, -1], [Math.SQRT1_2, Math.SQRT1_2]];
    assert.ok(normRelError(await expectNoLeak("arrays", () => l2NormalizeRows(rows)), expected) < 1e-7);
    const t = await expectNoLeak("tensor", () => tf.tidy(() => tensorRows(l2NormalizeRows(tf.tensor2d([[3, 4], [0, -2], [1, 1]])))));
    assert.ok(normRelError(t, expected) < 1e-7);
    const withZero = [Float32Array.of(3, 4), Float32Array.of(0, 0)];
    await expectNoLeak("zero-row errors", async () => {
      await expectError(() => l2NormalizeRows(withZero), InvalidArgumentError, "rows[1]");
      const zt = tf.tensor2d([[3, 4], [0, 0]]);
      await expectError(() => l2NormalizeRows(zt), InvalidArgumentError, "rows[1]");
      assert.equal(tf.tidy(() => tensorRows(l2NormalizeRows(zt, { zeroRows: "keep" }))).map((r) => Array.from(r)), [[0.6000000238418579, 0.800000011920929], [0, 0]]);
      zt.dispose();
      await expectError(() => l2NormalizeRows(withZero, { zeroRows: "skip" as never }), UnknownOptionError, "options.zeroRows");
      await expectError(() => l2NormalizeRows([Float32Array.of(1, NaN)]), NonFiniteError, "rows[0]");
      await expectError(() => l2NormalizeRows([]), EmptyInputError, "rows");
    });
    assert.equal(l2NormalizeRows(withZero, { zeroRows: "keep" })[1], new Float32Array(2));
  });

  test(`[${backend}] cosineSimilarityMatrix: blocked matMul equals the slow oracle; closed form; zero rows; errors`, async () => {
    await useBackend(backend);
    const a = randomRows("cos-a", 37, 50), b = randomRows("cos-b", 11, 50);
    b[4] = new Float32Array(50); // a zero row, kept: its column reads 0
    const expected = cosineOracle(a, b);
    for (const blockRows of [1, 8, 1024]) {
      const got = await expectNoLeak("blocked", () => cosineSimilarityMatrix(a, b, { blockRows, zeroRows: "keep" }));
      assert.ok(normRelError(got, expected) <= 1e-5, `blockRows ${blockRows}`);
    }
    const fromTensors = await expectNoLeak("tensors", () => tf.tidy(() => tensorRows(cosineSimilarityMatrix(
      tf.tensor2d(a.map((r) => Array.from(r))), tf.tensor2d(b.map((r) => Array.from(r))), { zeroRows: "keep" }))));
    assert.ok(normRelError(fromTensors, expected) <= 1e-5, "tensor path");
    // Closed form: a = [(1,0), (1,1)], b = [(0,2), (−1,0)].
    const small = cosineSimilarityMatrix([Float32Array.of(1, 0), Float32Array.of(1, 1)], [Float32Array.of(0, 2), Float32Array.of(-1, 0)]);
    assert.ok(normRelError(small, [[0, -1], [Math.SQRT1_2, -Math.SQRT1_2]]) < 1e-7, "closed form");
    // Streaming visits every row once, in order.
    const starts: number[] = [];
    forEachCosineBlock(a, b, (start, values, rows) => { starts.push(start); assert.is(values.length, rows * b.length); }, { blockRows: 10, zeroRows: "keep" });
    assert.equal(starts, [0, 10, 20, 30]);
    await expectNoLeak("errors", async () => {
      await expectError(() => cosineSimilarityMatrix(a, b), InvalidArgumentError, "b[4]");
      await expectError(() => cosineSimilarityMatrix(a, [new Float32Array(49)]), ShapeError, "b[0]");
      const ta = tf.ones([2, 3]) as tf.Tensor2D, tb = tf.ones([2, 4]) as tf.Tensor2D;
      await expectError(() => cosineSimilarityMatrix(ta, tb), ShapeError, "b: expected shape [m, 3]");
      await expectError(() => cosineSimilarityMatrix(ta, a as never), InvalidArgumentError, "b");
      ta.dispose(); tb.dispose();
      await expectError(() => cosineSimilarityMatrix(a, b, { blockRows: 0, zeroRows: "keep" }), InvalidArgumentError, "options.blockRows");
      await expectError(() => cosineSimilarityMatrix(a, b, { block: 3 } as never), UnknownOptionError, "options.block");
    });
  });
}

// ---- the benchmark's width (npm run bench times it; here only values are checked) -----------------

let wideOracle: { rows: Float32Array[]; expected: Float64Array[] } | null = null;
/** Three random rows and their float64 projection, computed once for both backends. */
function wideCase(P: number, d: number): { rows: Float32Array[]; expected: Float64Array[] } {
  if (wideOracle) return wideOracle;
  const rows = randomRows("wide", 3, P);
  return (wideOracle = { rows, expected: projectWithMatrix(rows, explicitProjectionMatrix({ inputDim: P, outputDim: d, kind: "rademacher", seed: "bench", blockRows: 4096 }), d) });
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] d = 512 over default 4096-row blocks (P = 20 000): uncached, partly cached and fully cached projections equal the float64 oracle, again on reuse`, async () => {
    await useBackend(backend);
    const P = 20_000, d = 512; // 4 full blocks and a short one of 3616 rows
    const { rows, expected } = wideCase(P, d);
    const blockBytes = 4096 * d * 4;
    let uncached: Float32Array[] | null = null;
    for (const cacheBytes of [0, 2 * blockBytes + 1, P * d * 4]) {
      const projector = new RandomProjector({ inputDim: P, outputDim: d, seed: "bench", cacheBytes });
      const first = await expectNoLeak("projectBatch", () => projector.projectBatch(rows));
      const err = normRelError(first, expected);
      assert.ok(err <= 1e-5, `cacheBytes ${cacheBytes}: relative error ${err}`);
      if (cacheBytes === 0) { uncached = first; continue; }
      // The second call reads the cached blocks (all, or the first two) instead of regenerating them.
      const again = await expectNoLeak("projectBatch (cached blocks)", () => projector.projectBatch(rows));
      assert.equal(again.map((r) => Array.from(r)), first.map((r) => Array.from(r)), `cacheBytes ${cacheBytes}: reuse changes nothing`);
      assert.equal(first.map((r) => Array.from(r)), uncached!.map((r) => Array.from(r)), `cacheBytes ${cacheBytes}: cached = uncached, bit for bit`);
    }
  });
}

test.run();
