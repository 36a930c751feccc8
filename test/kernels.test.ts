/**
 * The SIMD gemm (kernel-lib/kernels) against its oracles:
 *  - batchedGemm equals the float32 triple loop bit for bit (same summation order, no FMA);
 *  - the wasm BatchMatMul override equals the cpu backend's matMul within the float32 rounding
 *    bound (2·k·2⁻²⁴·Σ|a||b| per element) on random
 *    shapes, transpose flags and batch broadcasts, and so do gradients that flow through it;
 *  - the compiled binary is what the .wat source gives (no stale kernel);
 *  - no tensor leaks, and restoring the stock kernel works.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { tf } from "../kernel-lib/tf";
import { batchedGemm } from "../kernel-lib/kernels/gemm";
import { fastBatchMatMulActive, setFastBatchMatMul } from "../kernel-lib/kernels/wasm-matmul";
import { InvalidArgumentError, ShapeError } from "../kernel-lib/errors";
import { Rng } from "../kernel-lib/random";
import { expectNoLeak, maxRelativeError, useBackend } from "./helpers";

const root = join(__dirname, "..");

function tripleLoop(a: Float32Array, b: Float32Array, batch: number, m: number, k: number, n: number, broadcastA = false, broadcastB = false): Float32Array {
  const f = Math.fround;
  const c = new Float32Array(batch * m * n);
  for (let p = 0; p < batch; p++) {
    const ao = broadcastA ? 0 : p * m * k, bo = broadcastB ? 0 : p * k * n;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s = f(s + f(a[ao + i * k + q] * b[bo + q * n + j]));
      c[p * m * n + i * n + j] = s;
    }
  }
  return c;
}

function randomArray(rng: Rng, length: number): Float32Array {
  return Float32Array.from({ length }, () => rng.normal());
}

test("batchedGemm equals the float32 triple loop bit for bit, every tile remainder", () => {
  const rng = new Rng("gemm-exact");
  const shapes: Array<[number, number, number, number]> = [[1, 1, 1, 1], [1, 4, 3, 8], [2, 5, 3, 13], [3, 4, 0, 8], [1, 9, 17, 31], [4, 64, 16, 64], [2, 7, 5, 4], [1, 3, 2, 12], [2, 0, 3, 5]];
  for (let trial = 0; trial < 20; trial++) shapes.push([1 + rng.int(3), 1 + rng.int(13), 1 + rng.int(20), 1 + rng.int(21)]);
  for (const [batch, m, k, n] of shapes) {
    for (const [bcA, bcB] of [[false, false], [true, false], [false, true]]) {
      const a = randomArray(rng, (bcA ? 1 : batch) * m * k), b = randomArray(rng, (bcB ? 1 : batch) * k * n);
      const got = batchedGemm(a, b, { batch, m, k, n, broadcastA: bcA, broadcastB: bcB });
      const want = tripleLoop(a, b, batch, m, k, n, bcA, bcB);
      const first = got.findIndex((v, i) => !Object.is(v, want[i]));
      assert.is(first, -1, `shape ${[batch, m, k, n]} broadcast ${[bcA, bcB]}: element ${first} ${got[first]} vs ${want[first]}`);
    }
  }
});

test("batchedGemm: typed errors name the argument", () => {
  assert.throws(() => batchedGemm(new Float32Array(6), new Float32Array(6), { batch: 1, m: 2, k: 3, n: 3 }), (e: unknown) => e instanceof ShapeError && e.argument === "b");
  assert.throws(() => batchedGemm(new Float32Array(5), new Float32Array(9), { batch: 1, m: 2, k: 3, n: 3 }), (e: unknown) => e instanceof ShapeError && e.argument === "a");
  assert.throws(() => batchedGemm(new Float32Array(0), new Float32Array(0), { batch: -1, m: 2, k: 3, n: 3 }), (e: unknown) => e instanceof InvalidArgumentError && e.argument === "shape.batch");
});

test("the compiled kernel is what gemm.wat gives (node scripts/build-kernels.mjs --check)", () => {
  execFileSync(process.execPath, [join(root, "scripts", "build-kernels.mjs"), "--check"], { stdio: "pipe" });
});

interface MatMulCase { a: number[]; b: number[]; ta: boolean; tb: boolean }

function randomCases(rng: Rng): MatMulCase[] {
  const cases: MatMulCase[] = [
    { a: [256, 64, 16], b: [256, 64, 16], ta: false, tb: true }, // attention scores
    { a: [64, 37, 64], b: [64, 37, 128], ta: true, tb: false }, // per-example gradients Δᵀ X
    { a: [2, 1, 4, 5], b: [1, 3, 5, 6], ta: false, tb: false }, // partial broadcast (stock gets it wrong)
    { a: [4, 5], b: [3, 5, 6], ta: false, tb: false },
    { a: [2, 3, 4, 5], b: [5, 7], ta: false, tb: false },
    { a: [5, 7], b: [6, 5], ta: true, tb: true },
    { a: [7, 5], b: [6, 5], ta: false, tb: true },
    { a: [3, 1, 5], b: [3, 5, 1], ta: false, tb: false },
  ];
  for (let i = 0; i < 24; i++) {
    const batch = [[], [1 + rng.int(5)], [1 + rng.int(3), 1 + rng.int(3)]][rng.int(3)];
    const m = 1 + rng.int(19), k = 1 + rng.int(19), n = 1 + rng.int(19);
    const ta = rng.int(2) === 1, tb = rng.int(2) === 1;
    const bBatch = rng.int(4) === 0 ? [] : batch;
    cases.push({ a: [...batch, ...(ta ? [k, m] : [m, k])], b: [...bBatch, ...(tb ? [n, k] : [k, n])], ta, tb });
  }
  return cases;
}

test("wasm BatchMatMul override equals the cpu backend on random shapes, flags and broadcasts", async () => {
  assert.ok(fastBatchMatMulActive(), "kernel-lib/tf installs the fast kernel on import");
  const rng = new Rng("matmul-cases");
  const cases = randomCases(rng);
  const inputs = cases.map((c) => ({ a: randomArray(rng, c.a.reduce((p, d) => p * d, 1)), b: randomArray(rng, c.b.reduce((p, d) => p * d, 1)) }));
  // The oracle broadcasts explicitly: tfjs-core's own matMul sizes a partially broadcast output
  // ([2,1,…]·[1,3,…]) by the larger batch alone, on every backend.
  const outerOf = (c: MatMulCase) => tf.broadcast_util.assertAndGetBroadcastShape(c.a.slice(0, -2), c.b.slice(0, -2));
  const full = (values: Float32Array, shape: number[], outer: number[]) => tf.broadcastTo(tf.tensor(values, shape), [...outer, ...shape.slice(-2)]);
  await useBackend("cpu");
  const expected = cases.map((c, i) => tf.tidy(() => tf.matMul(full(inputs[i].a, c.a, outerOf(c)), full(inputs[i].b, c.b, outerOf(c)), c.ta, c.tb).dataSync()));
  // Float32 rounding bound per element: two sums of k products may each be off by k·2⁻²⁴·Σ|a||b|.
  const bounds = cases.map((c, i) => tf.tidy(() => {
    const k = c.ta ? c.a[c.a.length - 2] : c.a[c.a.length - 1];
    return tf.mul(tf.matMul(tf.abs(full(inputs[i].a, c.a, outerOf(c))), tf.abs(full(inputs[i].b, c.b, outerOf(c))), c.ta, c.tb), 2 * k * 2 ** -24).dataSync();
  }));
  await useBackend("wasm");
  await expectNoLeak("fast matMul", () => {
    cases.forEach((c, i) => {
      const got = tf.tidy(() => tf.matMul(tf.tensor(inputs[i].a, c.a), tf.tensor(inputs[i].b, c.b), c.ta, c.tb));
      const rows = c.ta ? c.a[c.a.length - 1] : c.a[c.a.length - 2], cols = c.tb ? c.b[c.b.length - 2] : c.b[c.b.length - 1];
      assert.equal(got.shape, [...outerOf(c), rows, cols], `case ${JSON.stringify(c)}: shape`);
      const values = got.dataSync();
      got.dispose();
      const worst = values.findIndex((v, j) => !(Math.abs(v - expected[i][j]) <= bounds[i][j] + 1e-30));
      assert.is(worst, -1, `case ${JSON.stringify(c)}: element ${worst}: ${values[worst]} vs cpu ${expected[i][worst]} (bound ${bounds[i][worst]})`);
    });
  });
});

test("gradients through the override equal the cpu backend's (batched, transposed products)", async () => {
  const rng = new Rng("matmul-grad");
  const a = randomArray(rng, 3 * 6 * 4), b = randomArray(rng, 3 * 5 * 4);
  const run = () => tf.tidy(() => {
    const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, false, true))))([tf.tensor(a, [3, 6, 4]), tf.tensor(b, [3, 5, 4])]);
    return [Array.from(ga.dataSync()), Array.from(gb.dataSync())];
  });
  await useBackend("cpu");
  const want = run();
  await useBackend("wasm");
  const got = await expectNoLeak("grads", run);
  assert.ok(maxRelativeError(got[0], want[0], 1e-3) < 1e-5);
  assert.ok(maxRelativeError(got[1], want[1], 1e-3) < 1e-5);
});

test("setFastBatchMatMul(false) restores the stock kernel and true re-installs it", async () => {
  await useBackend("wasm");
  const a = tf.randomNormal([3, 4, 5], 0, 1, "float32", 1), b = tf.randomNormal([3, 5, 2], 0, 1, "float32", 2);
  const fast = tf.matMul(a, b).dataSync();
  assert.is(setFastBatchMatMul(false), false);
  assert.not.ok(fastBatchMatMulActive());
  const stock = tf.matMul(a, b).dataSync();
  assert.is(setFastBatchMatMul(true), true);
  assert.ok(fastBatchMatMulActive());
  assert.ok(maxRelativeError(fast, stock, 1e-3) < 1e-5);
  assert.throws(() => setFastBatchMatMul("yes" as unknown as boolean), (e: unknown) => e instanceof InvalidArgumentError && e.argument === "enabled");
  tf.dispose([a, b]);
});

test.run();
