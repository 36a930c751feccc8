import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  gini, kurtosis, excessKurtosis, cv, hoyer, entropy, topKMass, l2, defaultTopK,
  METRICS, METRIC_NAMES, metricByName, concentrationScores, averageRanks, spearman, rocAuc,
} from "../kernel-lib/metrics";
import { EmptyInputError, InvalidArgumentError, NonFiniteError, ShapeError, UnknownOptionError } from "../kernel-lib/errors";
import { Rng } from "../kernel-lib/random";
import { RADIX_MIN_LENGTH, builtinSortedCopy, radixSortedCopy, sortedAscendingCopy } from "../kernel-lib/metrics/sort";
import { runInNewContext } from "node:vm";
import { assertClose, expectError } from "./helpers";

// ---- slow, obvious oracles -------------------------------------------------------------------

const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;

/** G = Σ_i Σ_j |x_i − x_j| / (2 N² μ): the mean-absolute-difference definition. */
function giniBrute(x: number[]): number {
  let acc = 0;
  for (const a of x) for (const b of x) acc += Math.abs(a - b);
  return acc / (2 * x.length * x.length * mean(x));
}
function kurtosisBrute(x: number[]): number {
  const m = mean(x);
  const m2 = mean(x.map((v) => (v - m) ** 2)), m4 = mean(x.map((v) => (v - m) ** 4));
  return m4 / m2 ** 2;
}
function cvBrute(x: number[]): number {
  const m = mean(x);
  return Math.sqrt(mean(x.map((v) => (v - m) ** 2))) / m;
}
function hoyerBrute(x: number[]): number {
  const l1 = x.reduce((a, b) => a + Math.abs(b), 0), l2n = Math.sqrt(x.reduce((a, b) => a + b * b, 0));
  return (Math.sqrt(x.length) - l1 / l2n) / (Math.sqrt(x.length) - 1);
}
function entropyBrute(x: number[]): number {
  const s = x.reduce((a, b) => a + b, 0);
  return -x.filter((v) => v > 0).reduce((a, v) => a + (v / s) * Math.log(v / s), 0) / Math.log(x.length);
}
function topKBrute(x: number[], k: number): number {
  const desc = [...x].sort((a, b) => b - a);
  return desc.slice(0, k).reduce((a, b) => a + b, 0) / x.reduce((a, b) => a + b, 0);
}

/** Random non-negative vectors of assorted shapes: lognormal (like gradient norms), sparse, with ties. */
function randomVector(rng: Rng, n: number, kind: number): number[] {
  return Array.from({ length: n }, () => {
    if (kind === 0) return Math.exp(rng.normal());
    if (kind === 1) return rng.uniform() < 0.7 ? 0 : rng.uniform() * 10;
    return rng.int(4); // many ties, some zeros
  });
}
function randomVectors(seed: string, count: number): number[][] {
  const rng = new Rng(seed);
  const out: number[][] = [];
  for (let i = 0; i < count; i++) {
    const v = randomVector(rng.derive(i), 2 + rng.int(60), i % 3);
    if (v.every((e) => e === 0)) v[0] = 1;
    out.push(v);
  }
  return out;
}

// ---- closed forms ----------------------------------------------------------------------------

test("constant vectors: Gini 0, CV 0, entropy 1, Hoyer 0, top-k = k/N", () => {
  for (const n of [2, 3, 7, 100]) {
    const x = new Array(n).fill(0.37);
    assert.is(gini(x), 0);
    assert.is(cv(x), 0);
    assert.is(entropy(x), 1);
    assert.is(hoyer(x), 0);
    assertClose(topKMass(x, 2), 2 / n, 1e-14, "topK constant");
  }
});

test("one-hot vectors: Gini (N−1)/N, Hoyer 1, entropy 0, top-1 mass 1, CV √(N−1), kurtosis (N²−3N+3)/(N−1)", () => {
  for (const n of [2, 3, 4, 10, 57]) {
    const x = new Float64Array(n);
    x[Math.floor(n / 2)] = 5;
    assertClose(gini(x), (n - 1) / n, 1e-15, `gini n=${n}`);
    assertClose(hoyer(x), 1, 1e-15, `hoyer n=${n}`);
    assert.is(entropy(x), 0);
    assert.is(topKMass(x, 1), 1);
    assertClose(cv(x), Math.sqrt(n - 1), 1e-14, `cv n=${n}`);
    assertClose(kurtosis(x), (n * n - 3 * n + 3) / (n - 1), 1e-13, `kurtosis n=${n}`);
  }
});

test("kurtosis of hand-computed vectors", () => {
  assertClose(kurtosis([1, 2, 3, 4]), 1.64, 1e-14, "[1,2,3,4]");           // m2 = 1.25, m4 = 2.5625
  assertClose(excessKurtosis([1, 2, 3, 4]), 1.64 - 3, 1e-14, "excess [1,2,3,4]");
  assertClose(kurtosis([0, 0, 0, 1]), 7 / 3, 1e-14, "[0,0,0,1]");         // m2 = 3/16, m4 = 21/256
  assertClose(kurtosis([-2, 5]), 1, 1e-15, "two points");                 // symmetric two-point law
  assertClose(kurtosis([-1, 0, 0, 1]), 2, 1e-15, "[-1,0,0,1]");          // m2 = 1/2, m4 = 1/2
  assertClose(excessKurtosis([-1, 0, 0, 1]), -1, 1e-15, "excess [-1,0,0,1]");
});

test("entropy, Gini, CV, Hoyer and top-k of small hand vectors", () => {
  assertClose(entropy([1, 1, 2]), (1.5 * Math.LN2) / Math.log(3), 1e-15, "entropy [1,1,2]");
  assertClose(gini([1, 2, 3]), 2 / 9, 1e-15, "gini [1,2,3]");          // (N−1)/(3N) for 1..N
  assertClose(gini([0, 0, 1, 1]), 0.5, 1e-15, "gini [0,0,1,1]");
  assertClose(cv([1, 3]), 0.5, 1e-15, "cv [1,3]");
  assertClose(hoyer([3, 4]), (Math.SQRT2 - 7 / 5) / (Math.SQRT2 - 1), 1e-14, "hoyer [3,4]");
  assertClose(topKMass([4, 1, 3, 2], 2), 0.7, 1e-15, "top2");
  assertClose(l2([3, -4]), 5, 1e-15, "l2");
  assert.is(defaultTopK(7), 1);
  assert.is(defaultTopK(28), 3);
  assertClose(topKMass(Array.from({ length: 20 }, (_, i) => i + 1)), (20 + 19) / 210, 1e-15, "default k = 2 of 20");
});

test("N = 1 edge cases: diffuse end of every score; kurtosis is an error", async () => {
  assert.is(gini([3]), 0);
  assert.is(cv([3]), 0);
  assert.is(hoyer([3]), 0);
  assert.is(entropy([3]), 1);
  assert.is(topKMass([3], 1), 1);
  assert.is(topKMass([3]), 1);
  assert.is(l2([-3]), 3);
  await expectError(() => kurtosis([3]), InvalidArgumentError, "N = 1");
  await expectError(() => excessKurtosis([3]), InvalidArgumentError, "0/0");
});

// ---- oracles and properties over seeded random vectors --------------------------------------

test("every metric matches its brute-force formula on 300 seeded random vectors", () => {
  const vectors = randomVectors("oracle", 300);
  for (const [i, x] of vectors.entries()) {
    const label = `vector ${i} (n=${x.length})`;
    // Gini must agree with the O(N²) pairwise definition to 1e-12 (absolute, Gini ∈ [0,1)).
    assert.ok(Math.abs(gini(x) - giniBrute(x)) <= 1e-12, `${label}: gini ${gini(x)} vs brute ${giniBrute(x)}`);
    assert.ok(Math.abs(cv(x) - cvBrute(x)) <= 1e-12 * Math.max(1, cvBrute(x)), `${label}: cv`);
    assert.ok(Math.abs(hoyer(x) - hoyerBrute(x)) <= 1e-12, `${label}: hoyer`);
    assert.ok(Math.abs(entropy(x) - entropyBrute(x)) <= 1e-12, `${label}: entropy`);
    const k = 1 + (i % x.length);
    assert.ok(Math.abs(topKMass(x, k) - topKBrute(x, k)) <= 1e-12, `${label}: top${k}`);
    assertClose(l2(x), Math.sqrt(x.reduce((a, b) => a + b * b, 0)), 1e-13, `${label}: l2`);
    if (new Set(x).size > 1) assertClose(kurtosis(x), kurtosisBrute(x), 1e-11, `${label}: kurtosis`);
  }
});

test("scale-invariant metrics do not change under positive scaling or permutation; l2 scales", () => {
  const rng = new Rng("invariance");
  const vectors = randomVectors("invariance-vectors", 200);
  const scaleFree = ["gini", "kurtosis", "excessKurtosis", "cv", "hoyer", "entropy", "topKMass"] as const;
  for (const [i, x] of vectors.entries()) {
    if (new Set(x).size === 1) continue;
    const scale = Math.exp(rng.normal() * 10); // ~e^±30: also checks the moment rescaling
    const scaled = x.map((v) => v * scale);
    const permuted = rng.derive("perm", i).shuffle(x);
    for (const name of scaleFree) {
      const f = METRICS[name], base = f(x);
      const tol = 1e-12 * Math.max(1, Math.abs(base));
      assert.ok(Math.abs(f(scaled) - base) <= tol, `${name} vector ${i}: scaled ${f(scaled)} vs ${base} (scale ${scale})`);
      assert.ok(Math.abs(f(permuted) - base) <= tol, `${name} vector ${i}: permuted ${f(permuted)} vs ${base}`);
    }
    assertClose(l2(scaled), l2(x) * scale, 1e-13, `l2 scales, vector ${i}`);
  }
});

test("Float32Array, Float64Array and number[] inputs give the same value", () => {
  const x = [0.5, 0.25, 2, 0, 8, 1.5]; // exactly representable in float32
  for (const name of METRIC_NAMES) {
    const f = METRICS[name];
    assert.is(f(new Float32Array(x)), f(x), name);
    assert.is(f(new Float64Array(x)), f(x), name);
  }
});

test("tiny and huge magnitudes do not under/overflow (gradient norms can be 1e-30), up to the float64 limit", () => {
  const x = [1, 2, 3, 10];
  // 1e-300·x and 1e300·x: every square (and, at 1e300, the plain sum of 1e301-sized entries' squares) leaves float64.
  for (const s of [1e-300, 1e-200, 1e200, 1e300]) {
    const y = x.map((v) => v * s);
    assertClose(hoyer(y), hoyer(x), 1e-13, `hoyer ×${s}`);
    assertClose(cv(y), cv(x), 1e-13, `cv ×${s}`);
    assertClose(kurtosis(y), kurtosis(x), 1e-12, `kurtosis ×${s}`);
    assertClose(gini(y), gini(x), 1e-13, `gini ×${s}`);
    assertClose(entropy(y), entropy(x), 1e-13, `entropy ×${s}`);
    assertClose(topKMass(y, 1), topKMass(x, 1), 1e-13, `topKMass ×${s}`);
    assertClose(l2(y), l2(x) * s, 1e-13, `l2 ×${s}`);
  }
  // The audit's vector, whose plain sum overflows: closed forms (exact rationals in numerics-extreme.test.ts).
  const big = [1e308, 1e308, 1];
  assertClose(gini(big), 1 / 3, 1e-13, "gini [1e308, 1e308, 1]");
  assertClose(cv(big), Math.SQRT1_2, 1e-13, "cv [1e308, 1e308, 1]");
  assertClose(kurtosis(big), 1.5, 1e-13, "kurtosis [1e308, 1e308, 1]");
  assertClose(entropy(big), Math.log(2) / Math.log(3), 1e-13, "entropy [1e308, 1e308, 1]");
  assertClose(hoyer(big), (Math.sqrt(3) - 2 / Math.SQRT2) / (Math.sqrt(3) - 1), 1e-13, "hoyer [1e308, 1e308, 1]");
  assert.is(topKMass(big, 1), 0.5);
  assertClose(topKMass([1e308, 1e308, 1e308], 1), 1 / 3, 1e-15, "topKMass [1e308]×3");
});

test("Gini of 10⁷ shuffled values 1..N matches (N−1)/(3N) (prints the time, asserts none)", () => {
  const n = 10_000_000;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = i + 1;
  const rng = new Rng("big-gini");
  for (let i = n - 1; i > 0; i--) { const j = rng.int(i + 1); const t = x[i]; x[i] = x[j]; x[j] = t; }
  const started = performance.now();
  const g = gini(x);
  const ms = performance.now() - started;
  console.log(`  gini of ${n.toExponential()} float32 values: ${ms.toFixed(0)} ms`);
  assert.ok(Math.abs(g - (n - 1) / (3 * n)) < 1e-12, `gini ${g}`);
});

// ---- radix sort (sort.ts) against the built-in typed-array sort --------------------------------

/** Values a float sort can get wrong: ±0, subnormals, extreme exponents, ±Infinity, ±max. */
const SPECIAL_64 = [0, -0, 5e-324, -5e-324, 2.2250738585072014e-308, -2.2250738585072014e-308, 1e-300, -1e-300,
  1, -1, 1 + 2 ** -52, 1e300, -1e300, Number.MAX_VALUE, -Number.MAX_VALUE, Infinity, -Infinity];
const SPECIAL_32 = [0, -0, 1.401298464324817e-45, -1.401298464324817e-45, 1.1754943508222875e-38, -1.1754943508222875e-38,
  1e-30, -1e-30, 1, -1, 1 + 2 ** -23, 3.4028234663852886e38, -3.4028234663852886e38, Infinity, -Infinity];

/** A finite float with uniformly random bits (every exponent, subnormals, both signs). */
function randomBitsFloat(rng: Rng, width: 32 | 64): number {
  for (;;) {
    const v = width === 32
      ? new Float32Array(new Uint32Array([rng.nextUint32()]).buffer)[0]
      : new Float64Array(new Uint32Array([rng.nextUint32(), rng.nextUint32()]).buffer)[0];
    if (Number.isFinite(v)) return v;
  }
}

/** Named input shapes; each exercises a different set of radix passes (all, some, one, none skipped). */
const SORT_SHAPES: Record<string, (rng: Rng, n: number, width: 32 | 64) => number[]> = {
  mixed: (rng, n, w) => Array.from({ length: n }, () => {
    const r = rng.uniform(), special = w === 32 ? SPECIAL_32 : SPECIAL_64;
    return r < 0.15 ? rng.choice(special) : r < 0.6 ? randomBitsFloat(rng, w) : rng.normal() * Math.exp(rng.normal() * 20);
  }),
  duplicates: (rng, n, w) => { const pool = Array.from({ length: 5 }, () => randomBitsFloat(rng, w)); return Array.from({ length: n }, () => rng.choice(pool)); },
  lognormalNonNegative: (rng, n) => Array.from({ length: n }, () => (rng.uniform() < 0.1 ? 0 : Math.exp(rng.normal() * 3))),
  sortedAscending: (rng, n, w) => builtinArray(SORT_SHAPES.mixed(rng, n, w), w),
  sortedDescending: (rng, n, w) => builtinArray(SORT_SHAPES.mixed(rng, n, w), w).reverse(),
  negativeOnly: (rng, n) => Array.from({ length: n }, () => -Math.exp(rng.normal() * 5)),
  signedZeros: (rng, n) => Array.from({ length: n }, () => (rng.uniform() < 0.5 ? 0 : -0)),
  allEqual: (rng, n) => new Array(n).fill(-2.5),                                   // every digit constant: no pass
  lowByteOnly: (rng, n, w) => Array.from({ length: n }, () => 1 + rng.int(256) * 2 ** (w === 32 ? -23 : -52)), // one pass
  twoBytes: (rng, n, w) => Array.from({ length: n }, () => 1 + rng.int(256) * 2 ** (w === 32 ? -7 : -36) + rng.int(256) * 2 ** (w === 32 ? -23 : -52)),
  float32Values: (rng, n) => Array.from(new Float32Array(Array.from({ length: n }, () => rng.normal() * 100))), // f64: low word constant
};

function builtinArray(values: number[], width: 32 | 64): number[] {
  return Array.from(width === 32 ? new Float32Array(values).sort() : new Float64Array(values).sort());
}

/** Float64 bit patterns of a vector (so −0 ≠ +0 and any payload difference shows). */
function float64Bits(values: ArrayLike<number>): Uint32Array {
  return new Uint32Array(Float64Array.from(values).buffer);
}
function assertSameBits(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string): void {
  assert.is(actual.length, expected.length, `${label}: length`);
  const a = float64Bits(actual), e = float64Bits(expected);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i]) assert.unreachable(`${label}: element ${i >> 1} is ${actual[i >> 1]}, built-in sort has ${expected[i >> 1]}`);
  }
}

const SORT_SIZES = [0, 1, 2, 3, 7, RADIX_MIN_LENGTH - 1, RADIX_MIN_LENGTH + 1, 100_000];

test("radix sort equals the built-in sort bit for bit (Float32Array, Float64Array, number[], all shapes and sizes)", () => {
  for (const [shape, make] of Object.entries(SORT_SHAPES)) {
    for (const n of SORT_SIZES) {
      for (const width of [32, 64] as const) {
        const values = make(new Rng(`radix/${shape}/${n}/${width}`), n, width);
        const inputs: ArrayLike<number>[] = width === 32 ? [new Float32Array(values)] : [new Float64Array(values), values.slice()];
        for (const input of inputs) {
          const label = `${shape} n=${n} ${input.constructor.name}`;
          const before = float64Bits(input);
          const expected = builtinSortedCopy(input), radix = radixSortedCopy(input), dispatched = sortedAscendingCopy(input);
          assertSameBits(radix, expected, `${label} radix`);
          assertSameBits(dispatched, expected, `${label} dispatched`);
          assert.instance(radix, width === 32 ? Float32Array : Float64Array, `${label}: result keeps float32 precision only for float32 input`);
          assert.ok(radix !== input, `${label}: a copy, not the input`);
          assertSameBits(input, Array.from(new Float64Array(before.buffer)), `${label}: input unchanged`);
        }
      }
    }
  }
});

test("radix sort of subarray views (row of a flat matrix) reads only the view and leaves the buffer intact", () => {
  const rng = new Rng("radix-views");
  for (const Ctor of [Float32Array, Float64Array]) {
    const flat = new Ctor(3 * 5000);
    for (let i = 0; i < flat.length; i++) flat[i] = rng.normal() * Math.exp(rng.normal() * 10);
    const snapshot = flat.slice();
    for (const row of [0, 1, 2]) {
      const view = flat.subarray(row * 5000 + (row === 1 ? 3 : 0), (row + 1) * 5000 - (row === 2 ? 1 : 0));
      assertSameBits(radixSortedCopy(view), builtinSortedCopy(view), `${Ctor.name} row ${row}`);
    }
    assertSameBits(flat, snapshot, `${Ctor.name} buffer unchanged`);
  }
});

test("a Float32Array from another realm still takes the float32 path", () => {
  const foreign = runInNewContext("new Float32Array([3, -1, 0.5, -0, 0, 2])") as Float32Array;
  assert.not.ok(foreign instanceof Float32Array, "the test needs a cross-realm array");
  const sorted = radixSortedCopy(foreign);
  assert.instance(sorted, Float32Array);
  assertSameBits(sorted, [-1, -0, 0, 0.5, 2, 3], "cross-realm");
});

/** The Gini formula as it was before the radix sort: loop copy into a Float64Array, built-in sort, one pass. */
function giniOnBuiltinSort(x: ArrayLike<number>): number {
  const n = x.length, sorted = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) { sorted[i] = x[i]; sum += x[i]; }
  sorted.sort();
  if (sorted[0] === sorted[n - 1]) return 0;
  let weighted = 0;
  for (let j = 0; j < n; j++) weighted += (2 * j + 1 - n) * sorted[j];
  return Math.min(Math.max(weighted / (n * sum), 0), (n - 1) / n);
}

test("Gini and top-k mass on the radix path equal the built-in-sort formulas (1e-12), inputs unchanged", () => {
  const rng = new Rng("radix-gini");
  const shapes: Record<string, (n: number) => number[]> = {
    lognormal: (n) => Array.from({ length: n }, () => Math.exp(rng.normal() * 2)),
    sparse: (n) => Array.from({ length: n }, () => (rng.uniform() < 0.8 ? 0 : rng.uniform())),
    ties: (n) => Array.from({ length: n }, () => rng.int(5)),
    tiny: (n) => Array.from({ length: n }, () => rng.uniform() * 1e-200),
    huge: (n) => Array.from({ length: n }, () => (1 + rng.uniform()) * 1e200),
    withNegativeZero: (n) => Array.from({ length: n }, () => (rng.uniform() < 0.3 ? -0 : rng.uniform())),
  };
  for (const [name, make] of Object.entries(shapes)) {
    for (const n of [RADIX_MIN_LENGTH + 1, 50_000, 300_000]) {
      const values = make(n);
      if (values.every((v) => v === 0)) values[0] = 1;
      const inputs: ArrayLike<number>[] = [new Float64Array(values), values];
      if (name !== "tiny" && name !== "huge") inputs.push(new Float32Array(values)); // 1e±200 is outside float32
      for (const x of inputs) {
        const label = `${name} n=${n} ${x.constructor.name}`;
        const before = float64Bits(x);
        const expected = giniOnBuiltinSort(x), actual = gini(x);
        assert.ok(Math.abs(actual - expected) <= 1e-12, `${label}: gini ${actual} vs ${expected}`);
        const k = 1 + (n >> 3), byBuiltin = Array.from(builtinSortedCopy(x)).slice(n - k).reduce((a, b) => a + b, 0) / Array.from(x).reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(topKMass(x, k) - byBuiltin) <= 1e-12, `${label}: topKMass`);
        assertSameBits(x, Array.from(new Float64Array(before.buffer)), `${label}: input unchanged`);
      }
    }
  }
  // The 1e±200 closed form and the exact 0 of a constant vector hold above the radix threshold too.
  const n = 3 * RADIX_MIN_LENGTH, ramp = Array.from({ length: n }, (_, i) => i + 1);
  for (const scale of [1e-200, 1, 1e200]) assertClose(gini(ramp.map((v) => v * scale)), (n - 1) / (3 * n), 1e-13, `ramp ×${scale}`);
  assert.is(gini(new Float32Array(n).fill(0.37)), 0);
  assert.is(gini(new Array(n).fill(1e-200)), 0);
});

// ---- registry and batch form -----------------------------------------------------------------

test("registry: every name resolves; unknown names list the valid ones", async () => {
  assert.equal(METRIC_NAMES, ["gini", "kurtosis", "excessKurtosis", "cv", "hoyer", "entropy", "topKMass", "l2"]);
  for (const name of METRIC_NAMES) assert.is(metricByName(name), METRICS[name]);
  await expectError(() => metricByName("gni"), UnknownOptionError, "gini, kurtosis, excessKurtosis, cv, hoyer, entropy, topKMass, l2");
  await expectError(() => metricByName("toString"), UnknownOptionError, "toString");
  await expectError(() => concentrationScores([[1, 2]], ["gini", "bogus" as "gini"]), UnknownOptionError, "metrics");
  await expectError(() => concentrationScores([[1, 2]], ["gini"], { topk: 2 } as object), UnknownOptionError, "options.topk");
});

test("concentrationScores equals the single-vector functions row by row", () => {
  const vectors = randomVectors("batch", 40).filter((v) => new Set(v).size > 1);
  const rows = concentrationScores(vectors);
  assert.is(rows.length, vectors.length);
  for (const [i, row] of rows.entries()) {
    assert.equal(Object.keys(row), METRIC_NAMES);
    for (const name of METRIC_NAMES) assert.is(row[name], METRICS[name](vectors[i]), `${name} row ${i}`);
  }
  const picked = concentrationScores([new Float32Array([1, 2, 3, 4])], ["gini", "topKMass"], { topK: 2 });
  assert.equal(Object.keys(picked[0]), ["gini", "topKMass"]);
  assertClose(picked[0].topKMass, 0.7, 1e-15, "topK option");
  assert.equal(concentrationScores([]), []);
});

// ---- errors ----------------------------------------------------------------------------------

test("bad input raises typed errors naming the argument and index", async () => {
  for (const name of METRIC_NAMES) {
    await expectError(() => METRICS[name]([]), EmptyInputError, "x");
    await expectError(() => METRICS[name]([1, NaN, 2]), NonFiniteError, "index 1");
    await expectError(() => METRICS[name](new Float32Array([1, 2, Infinity])), NonFiniteError, "index 2");
  }
  for (const name of ["gini", "cv", "hoyer", "entropy", "topKMass"] as const) {
    await expectError(() => METRICS[name]([1, -2, 3]), InvalidArgumentError, "x[1]: expected a non-negative value");
    await expectError(() => METRICS[name]([0, 0, 0]), InvalidArgumentError, "all-zero");
  }
  assertClose(kurtosis([-1, 2, -3, 7]), kurtosisBrute([-1, 2, -3, 7]), 1e-14, "kurtosis allows negatives");
  await expectError(() => kurtosis([0, 0, 0]), InvalidArgumentError, "0/0");
  await expectError(() => kurtosis([2, 2]), InvalidArgumentError, "all 2 entries are equal");
  assert.is(l2([0, 0]), 0);
  await expectError(() => topKMass([1, 2], 3), InvalidArgumentError, "k: expected an integer in [1, 2]");
  await expectError(() => topKMass([1, 2], 1.5), InvalidArgumentError, "k");
  await expectError(() => gini("abc" as unknown as number[]), InvalidArgumentError, "x");
  await expectError(() => gini([1, "2" as unknown as number]), NonFiniteError, "index 1");
  await expectError(() => concentrationScores([[1, 2], [3, -1]], ["gini"]), InvalidArgumentError, "vectors[1][1]");
  await expectError(() => concentrationScores([[1, 2], []]), EmptyInputError, "vectors[1]");
  await expectError(() => concentrationScores([[1, 2]], ["topKMass"], { topK: 5 }), InvalidArgumentError, "options.topK");
});

// ---- ranking ---------------------------------------------------------------------------------

function averageRanksBrute(x: number[]): number[] {
  // rank_i = 1 + #(x_j < x_i) + (#(x_j == x_i) − 1)/2
  return x.map((v) => 1 + x.filter((w) => w < v).length + (x.filter((w) => w === v).length - 1) / 2);
}
function pearson(a: number[], b: number[]): number {
  const ma = mean(a), mb = mean(b);
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < a.length; i++) { sab += (a[i] - ma) * (b[i] - mb); saa += (a[i] - ma) ** 2; sbb += (b[i] - mb) ** 2; }
  return sab / Math.sqrt(saa * sbb);
}
function aucBrute(scores: number[], labels: number[]): number {
  let wins = 0, pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

test("average ranks: hand case and brute force with many ties", () => {
  assert.equal(Array.from(averageRanks([10, 20, 20, 30])), [1, 2.5, 2.5, 4]);
  assert.equal(Array.from(averageRanks([3, 1, 3, 3])), [3, 1, 3, 3]);
  const rng = new Rng("ranks");
  for (let t = 0; t < 50; t++) {
    const x = Array.from({ length: 1 + rng.int(40) }, () => rng.int(6) - 2);
    assert.equal(Array.from(averageRanks(x)), averageRanksBrute(x));
  }
});

test("spearman equals Pearson of brute-force average ranks; closed forms ±1", async () => {
  assert.is(spearman([1, 2, 3, 4], [10, 20, 30, 1000]), 1);
  assert.is(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  const rng = new Rng("spearman");
  for (let t = 0; t < 100; t++) {
    const n = 2 + rng.int(50);
    const x = Array.from({ length: n }, () => (t % 2 ? rng.int(5) : rng.normal()));
    const y = x.map((v) => (t % 3 ? v + rng.normal() : rng.int(3)));
    const rx = averageRanksBrute(x), ry = averageRanksBrute(y);
    if (new Set(rx).size === 1 || new Set(ry).size === 1) continue;
    assertClose(spearman(x, y), pearson(rx, ry), 1e-12, `trial ${t}`);
  }
  await expectError(() => spearman([1, 2], [1]), ShapeError, "y");
  await expectError(() => spearman([1], [1]), InvalidArgumentError, "at least 2");
  await expectError(() => spearman([1, 1, 1], [1, 2, 3]), InvalidArgumentError, "x: expected at least two distinct");
  await expectError(() => spearman([1, 2, NaN], [1, 2, 3]), NonFiniteError, "x");
  await expectError(() => spearman([], []), EmptyInputError, "x");
});

test("rocAuc equals brute-force pair counting with ties as 1/2", async () => {
  assert.is(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  assert.is(rocAuc([1, 2, 3], [false, true, true]), 1);
  assert.is(rocAuc([1, 2, 3], [1, 0, 0]), 0);
  assert.is(rocAuc([5, 5, 5, 5], [1, 0, 1, 0]), 0.5);
  const rng = new Rng("auc");
  for (let t = 0; t < 100; t++) {
    const n = 2 + rng.int(60);
    const labels = Array.from({ length: n }, (_, i) => (i < 1 ? 0 : i < 2 ? 1 : rng.int(2)));
    const scores = labels.map((l) => (t % 2 ? rng.int(4) + l : rng.normal() + l));
    assertClose(rocAuc(scores, labels), aucBrute(scores, labels), 1e-12, `trial ${t}`);
  }
  await expectError(() => rocAuc([1, 2], [1, 1]), InvalidArgumentError, "both classes");
  await expectError(() => rocAuc([1, 2], [1, 2]), InvalidArgumentError, "labels[1]");
  await expectError(() => rocAuc([1, 2], [1]), ShapeError, "labels");
  await expectError(() => rocAuc([1, Infinity], [1, 0]), NonFiniteError, "scores");
});

test.run();
