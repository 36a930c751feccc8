/**
 * Numerics at the edges of float64 (issue 19 part 5): the concentration metrics against exact
 * rational arithmetic in BigInt over the whole finite range (audit: `[1e308, 1e308, 1]` gave NaN
 * or 0), the sign test and binomial helpers against exact BigInt binomial sums at n = 2·10⁵ (audit:
 * a stack overflow), and functions that spread unbounded arrays into calls (`Math.max(...x)`,
 * `push(...x)`), which throw RangeError past ~10⁵ elements. All plain JS: no tensors involved.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { METRICS, MetricName, concentrationScores, cv, entropy, gini, hoyer, kurtosis, l2, topKMass, defaultTopK } from "../kernel-lib/metrics";
import { signTest } from "../kernel-lib/stats/sign-test";
import { binomialHalfLowerTail, binomialProbability } from "../kernel-lib/stats/distributions";
import { softmax } from "../kernel-lib/studies/maestro/bank-policy";
import { RunStore } from "../kernel-lib/experiments";
import { GradlabError, InvalidArgumentError } from "../kernel-lib/errors";
import { expectError } from "./helpers";

const SEED = Number(process.env.GRADLAB_FUZZ_SEED ?? 190_005); // fixed by default, so a failure reproduces

// ---- exact arithmetic ------------------------------------------------------------------------------

/** x · 2^1074 as an exact BigInt: every finite double is an integer multiple of 2^−1074. */
function units(x: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0), lo = view.getUint32(4), exponent = (hi >>> 20) & 0x7ff;
  const mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  const magnitude = exponent === 0 ? mantissa : (mantissa | (1n << 52n)) << BigInt(exponent - 1);
  return hi >>> 31 ? -magnitude : magnitude;
}

const bitLength = (n: bigint) => (n === 0n ? 0 : n.toString(2).length);

/** num / den as the nearest double (to within an ulp or so), for any size of either. */
function ratio(num: bigint, den: bigint): number {
  if (den < 0n) { num = -num; den = -den; }
  if (num === 0n) return 0;
  const negative = num < 0n, a = negative ? -num : num;
  let shift = 64 + bitLength(den) - bitLength(a); // the quotient keeps ~64 significant bits
  const q = shift >= 0 ? (a << BigInt(shift)) / den : a / (den << BigInt(-shift));
  let value = Number(q);
  for (; shift > 1000; shift -= 1000) value *= 2 ** -1000; // 2^−shift alone could underflow
  for (; shift < -1000; shift += 1000) value *= 2 ** 1000;
  value *= 2 ** -shift;
  return negative ? -value : value;
}

function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(bitLength(n) / 2));
  for (;;) { const y = (x + n / x) >> 1n; if (y >= x) return x; x = y; }
}

const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);

/** Each metric computed exactly (rationals in BigInt; only a final sqrt/log in float64). */
const EXACT = {
  gini(x: number[]): number {
    const X = [...x].sort((a, b) => a - b).map(units), n = BigInt(X.length);
    return ratio(sum(X.map((v, j) => (2n * BigInt(j) + 1n - n) * v)), n * sum(X));
  },
  cv(x: number[]): number {
    const X = x.map(units), n = BigInt(X.length), S = sum(X);
    return Math.sqrt(ratio(n * sum(X.map((v) => v * v)) - S * S, S * S)); // σ²/μ² = (nΣx² − S²)/S²
  },
  kurtosis(x: number[]): number {
    const X = x.map(units), n = BigInt(X.length), S = sum(X), y = X.map((v) => n * v - S); // y = n(x − μ)
    const s2 = sum(y.map((v) => v * v));
    return ratio(n * sum(y.map((v) => v ** 4n)), s2 * s2);
  },
  hoyer(x: number[]): number {
    const X = x.map(units), rootN = Math.sqrt(X.length), S = sum(X);
    const l1OverL2 = Math.sqrt(ratio(S * S, sum(X.map((v) => v * v))));
    return (rootN - l1OverL2) / (rootN - 1);
  },
  entropy(x: number[]): number {
    const X = x.map(units), S = sum(X);
    let h = 0;
    for (const v of X) { const p = ratio(v, S); if (p > 0) h -= p * Math.log(p); }
    return h / Math.log(X.length);
  },
  topKMass(x: number[]): number {
    const X = [...x].sort((a, b) => b - a).map(units);
    return ratio(sum(X.slice(0, defaultTopK(X.length))), sum(X));
  },
  l2(x: number[]): number {
    const Q = sum(x.map(units).map((v) => v * v)); // ‖x‖ = √Q · 2^−1074; 128 extra bits keep isqrt exact enough
    return ratio(isqrt(Q << 256n), 1n << (1074n + 128n));
  },
};

/** The spread of x relative to max|x|: below ~1e-3 kurtosis and CV are ill-conditioned in float64. */
function relativeSpread(x: number[]): number {
  const X = x.map(units), n = BigInt(X.length), S = sum(X), y = X.map((v) => n * v - S);
  const M = X.reduce((a, v) => (v < 0n ? -v : v) > a ? (v < 0n ? -v : v) : a, 0n);
  return Math.sqrt(ratio(sum(y.map((v) => v * v)), n * n * n * M * M));
}

// ---- the audit's cases -----------------------------------------------------------------------------

test("[1e308, 1e308, 1] and friends: every metric finite and equal to the exact value", () => {
  // Before: gini, cv, kurtosis and entropy NaN; hoyer 0; topKMass 0 (true ≈ 0.434 and 0.5).
  const cases = [[1e308, 1e308, 1], [1e308, 1e308, 1e308], [Number.MAX_VALUE, Number.MAX_VALUE / 3, 0, 1], [5e-324, 1e-323], [5e-324, 1e308], [1e-320, 2e-320, 4e-310, 0]];
  for (const x of cases) {
    for (const name of ["gini", "cv", "hoyer", "entropy", "topKMass"] as const) {
      const got = METRICS[name](x), want = EXACT[name](x);
      assert.ok(Number.isFinite(got) && Math.abs(got - want) <= 1e-14, `${name}(${x}): ${got}, exact ${want}`);
    }
  }
  assert.ok(Math.abs(hoyer([1e308, 1e308, 1]) - 0.43417375120630224) < 1e-15);
  assert.is(topKMass([1e308, 1e308, 1]), 0.5);
  assert.is(topKMass([1e308, 1e308, 1e308]), 1 / 3);
  assert.ok(Math.abs(kurtosis([1e308, 1e308, 1]) - 1.5) < 1e-14, `kurtosis ${kurtosis([1e308, 1e308, 1])}`);
  assert.ok(Math.abs(kurtosis([1e308, -1e308, 5e-324, -5e-324]) - EXACT.kurtosis([1e308, -1e308, 5e-324, -5e-324])) < 1e-13);
  // Subnormals only: a reciprocal 1/maxAbs would be Infinity here (hoyer gave 1, cv NaN).
  assert.ok(Math.abs(gini([5e-324, 1e-323]) - 1 / 6) < 1e-15);
  assert.ok(Math.abs(cv([5e-324, 1e-323]) - 1 / 3) < 1e-15);
  assert.ok(Math.abs(l2([3e-323, 4e-323]) - 5e-323) <= 5e-324);
  assert.is(l2([1e308, 1e308]), EXACT.l2([1e308, 1e308]));
});

test("l2 whose value exceeds float64 is an InvalidArgumentError naming x, not a silent Infinity", async () => {
  await expectError(() => l2([1.7e308, 1.7e308, 1.7e308]), InvalidArgumentError, "x: expected a vector whose Euclidean norm fits in float64");
  await expectError(() => concentrationScores([[1, 2], [1.7e308, -1.7e308]], ["l2"]), InvalidArgumentError, "vectors[1]: expected a vector whose Euclidean norm fits");
});

// ---- every finite input, against the exact oracle ---------------------------------------------------

/** Doubles spread over the whole exponent range (fast-check picks doubles by index, not by value). */
const magnitude = fc.oneof(
  fc.double({ min: 0, max: Number.MAX_VALUE, noNaN: true }),
  fc.constantFrom(0, 5e-324, 2.2250738585072014e-308, 1, 1e308, Number.MAX_VALUE),
);
/** Either raw magnitudes, or one scale times factors in [0, 1] (clustered vectors, where cancellation bites). */
const nonNegativeVector = fc.oneof(
  fc.array(magnitude, { minLength: 1, maxLength: 40 }),
  fc.tuple(magnitude, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 40 })).map(([scale, f]) => f.map((v) => v * scale)),
);
const signedVector = fc.tuple(nonNegativeVector, fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }))
  .map(([x, signs]) => x.map((v, i) => (signs[i] ? -v : v)));

/** A value, or the typed error a documented domain rule gives (all zeros, constant kurtosis, l2 overflow). */
function valueOrTypedError(f: () => number): number | GradlabError {
  try {
    return f();
  } catch (error) {
    if (error instanceof GradlabError) return error;
    throw error;
  }
}

test("bounded metrics (gini, hoyer, entropy, topKMass) equal exact arithmetic within 1e-12 for any finite input", () => {
  fc.assert(fc.property(nonNegativeVector, (x) => {
    const allZero = x.every((v) => v === 0);
    for (const name of ["gini", "hoyer", "entropy", "topKMass"] as const) {
      const got = valueOrTypedError(() => METRICS[name](x));
      if (allZero) { assert.instance(got, InvalidArgumentError, `${name} of zeros`); continue; }
      assert.type(got, "number", `${name}(${x}) threw ${(got as Error).message}`);
      const want = x.length === 1 ? (name === "entropy" || name === "topKMass" ? 1 : 0) : EXACT[name](x);
      assert.ok(Number.isFinite(got) && Math.abs((got as number) - want) <= 1e-12, `${name}(${JSON.stringify(x)}): ${got}, exact ${want}`);
    }
  }), { seed: SEED, numRuns: 300, endOnFailure: true, includeErrorInReport: true });
});

test("cv, kurtosis and l2 equal exact arithmetic (relative 1e-10) for any finite input with spread", () => {
  fc.assert(fc.property(nonNegativeVector, signedVector, (x, signed) => {
    const spreadX = relativeSpread(x), spreadSigned = relativeSpread(signed);
    const cvGot = valueOrTypedError(() => cv(x));
    if (x.every((v) => v === 0)) assert.instance(cvGot, InvalidArgumentError);
    else {
      const want = EXACT.cv(x);
      assert.ok(typeof cvGot === "number" && Number.isFinite(cvGot), `cv(${JSON.stringify(x)}) = ${cvGot}`);
      // Below a relative spread of 1e-3 the subtraction x/max − mean loses digits in any float64 algorithm.
      if (spreadX > 1e-3) assert.ok(Math.abs((cvGot as number) - want) <= 1e-10 * want, `cv(${JSON.stringify(x)}): ${cvGot}, exact ${want}`);
      else assert.ok(Math.abs((cvGot as number) - want) <= 1e-12, `cv(${JSON.stringify(x)}): ${cvGot}, exact ${want}`);
    }
    const kurt = valueOrTypedError(() => kurtosis(signed));
    if (new Set(signed.map((v) => v + 0)).size === 1) assert.instance(kurt, InvalidArgumentError, "constant: kurtosis is 0/0");
    else if (spreadSigned > 1e-3) {
      const want = EXACT.kurtosis(signed);
      assert.ok(typeof kurt === "number" && Math.abs(kurt - want) <= 1e-10 * want, `kurtosis(${JSON.stringify(signed)}): ${kurt}, exact ${want}`);
    } else assert.ok(kurt instanceof GradlabError || Number.isFinite(kurt), `kurtosis(${JSON.stringify(signed)}) = ${kurt}`);
    const norm = valueOrTypedError(() => l2(signed)), wantNorm = EXACT.l2(signed);
    if (wantNorm === Infinity) assert.instance(norm, InvalidArgumentError, "an l2 beyond float64");
    else if (wantNorm > Number.MAX_VALUE * (1 - 1e-13) && norm instanceof InvalidArgumentError) { /* rounding at the very top may go either way */ }
    else assert.ok(typeof norm === "number" && Math.abs(norm - wantNorm) <= 1e-13 * wantNorm, `l2(${JSON.stringify(signed)}): ${norm}, exact ${wantNorm}`);
    // The batch form gives the same numbers (or the same typed errors) row by row.
    const names: MetricName[] = ["gini", "cv", "hoyer", "entropy", "topKMass"];
    if (!x.every((v) => v === 0)) {
      const [row] = concentrationScores([x], names);
      for (const name of names) assert.is(row[name], METRICS[name](x), `batch ${name}`);
    }
  }), { seed: SEED, numRuns: 300, endOnFailure: true, includeErrorInReport: true });
});

// ---- sign test and binomial helpers ------------------------------------------------------------------

/** P[Binomial(n, ½) ≤ k], exactly: Σ_{j ≤ k} C(n, j) / 2^n in BigInt. */
function exactHalfTail(k: number, n: number): number {
  let choose = 1n, total = 1n;
  const N = BigInt(n);
  for (let j = 1n; j <= BigInt(k); j++) { choose = (choose * (N - j + 1n)) / j; total += choose; }
  return ratio(total, 1n << N);
}

test("signTest(2e5, 2e5) and (1e6, 1e6) return 1; tails at n = 2·10⁵ equal exact BigInt sums", () => {
  // Before the loop replaced Math.max(...terms): RangeError: Maximum call stack size exceeded.
  assert.is(signTest(200_000, 200_000), 1);
  assert.is(signTest(1_000_000, 1_000_000), 1);
  assert.is(signTest(0, 1_000_000), 0, "2·2^−10⁶ underflows to 0, as the exact value rounds");
  for (const [k, n] of [[99_700, 200_000], [99_000, 200_000]]) {
    const exact = exactHalfTail(k, n);
    assert.ok(Math.abs(binomialHalfLowerTail(k, n) - exact) <= 1e-9 * exact, `P[Bin(${n}) ≤ ${k}] ${binomialHalfLowerTail(k, n)} vs exact ${exact}`);
    assert.ok(Math.abs(signTest(k, n - k) - 2 * exact) <= 2e-9 * exact, `signTest(${k}, ${n - k})`);
    assert.ok(Math.abs(signTest(n - k, k, "greater") - exact) <= 1e-9 * exact, "one-sided");
  }
});

test("binomialHalfLowerTail and binomialProbability equal exact BigInt values over k at n = 20 001", () => {
  const n = 20_001, N = BigInt(n);
  // One pass of exact C(n, j): tails and point probabilities for every k checked.
  const checks = new Set([0, 1, 7, 9_000, 9_700, 9_950, 10_000, 10_050, 10_300, 11_000, 20_000]);
  let choose = 1n, total = 0n;
  for (let j = 0; j <= n; j++) {
    if (j > 0) choose = (choose * (N - BigInt(j) + 1n)) / BigInt(j);
    total += choose;
    if (!checks.has(j)) continue;
    const tail = ratio(total, 1n << N), point = ratio(choose, 1n << N);
    assert.ok(Math.abs(binomialHalfLowerTail(j, n) - tail) <= 1e-9 * tail, `tail k=${j}: ${binomialHalfLowerTail(j, n)} vs ${tail}`);
    assert.ok(Math.abs(binomialProbability(j, n, 0.5) - point) <= 1e-9 * point, `P[X=${j}]: ${binomialProbability(j, n, 0.5)} vs ${point}`);
  }
  assert.is(binomialHalfLowerTail(n, n), 1);
  assert.ok(binomialProbability(10, 1e9, 0.5) === 0 && Number.isFinite(binomialProbability(5e8, 1e9, 0.5)), "n = 10⁹ neither throws nor overflows");
});

// ---- no spreading of unbounded arrays ---------------------------------------------------------------

test("softmax of 3·10⁵ logits and a run store with 2·10⁵ bad lines: no RangeError from a spread", () => {
  // Before: Math.max(...logits) and warningList.push(...skipped) threw "Maximum call stack size exceeded".
  const n = 300_000;
  const p = softmax(Array.from({ length: n }, (_, i) => (i === 7 ? 1 : 0)));
  assert.is(p.length, n);
  assert.ok(Math.abs(p[7] / p[0] - Math.E) < 1e-12 && Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gradlab-spread-"));
  try {
    const file = path.join(dir, "runs.jsonl");
    fs.writeFileSync(file, "{not json\n".repeat(200_000));
    let warned = 0;
    const store = RunStore.open(file, { onWarning: () => { warned++; } });
    assert.is(store.warnings.length, 200_000);
    assert.is(warned, 200_000);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
