// kernel-lib/stats against closed forms and slow, obvious oracles (BigInt sums, numeric
// integration, brute-force enumeration of every sign pattern). Calibration under simulated null
// data — does p < 0.05 happen 5% of the time? — is in stats-calibration.test.ts.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  normalCdf, normalQuantile, studentTCdf, studentTQuantile, incompleteBeta, logGamma, binomialHalfLowerTail, binomialProbability,
  signTest, discordantCounts, signFlipTest, stratifiedSignFlipTest, tInterval, stratifiedInterval, minDetectableEffect, smallestAttainableP,
  holmAdjust, holmVerdicts, pairedVerdict, verdictText, formatP, aucVerdict, claim, claimRecord, claimText, byConstruction, CLAIM_PREFIX,
  allOf, anyOf,
} from "../kernel-lib/stats";
import type { Alternative } from "../kernel-lib/stats";
import { rocAuc } from "../kernel-lib/metrics/ranking";
import { Rng } from "../kernel-lib/random";
import { EmptyInputError, InvalidArgumentError, NonFiniteError, UnknownOptionError } from "../kernel-lib/errors";
import { assertClose, expectError } from "./helpers";

const ALTS: Alternative[] = ["two-sided", "greater", "less"];
/** |actual − expected| ≤ tol · max(1, |expected|). */
function near(actual: number, expected: number, tol: number, label: string): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${label}: ${actual} vs ${expected}`);
}
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const mean = (xs: readonly number[]) => sum(xs) / xs.length;

// ---- distributions ----------------------------------------------------------------------------------

test("t and normal quantiles match the tables; CDFs invert them; t CDF symmetric, closed forms at df 1 and 2", () => {
  const table: Array<[number, number, number]> = [[0.975, 1, 12.7062], [0.975, 2, 4.3027], [0.975, 3, 3.1824], [0.975, 4, 2.7764], [0.975, 10, 2.2281],
    [0.975, 30, 2.0423], [0.8, 10, 0.8791], [0.995, 5, 4.0321], [0.95, 20, 1.7247]];
  for (const [p, df, t] of table) near(studentTQuantile(p, df), t, 5e-5, `t_{${p},${df}}`);
  near(normalQuantile(0.975), 1.959964, 1e-6, "z_.975");
  near(normalQuantile(0.8), 0.841621, 1e-6, "z_.8");
  near(normalQuantile(0.025), -1.959964, 1e-6, "z_.025");
  near(normalCdf(1.959964), 0.975, 1e-7, "Φ(1.96)");
  near(normalCdf(0), 0.5, 1e-7, "Φ(0) (the erfc fit is good to ~1e-7)");
  near(studentTQuantile(0.975, 1e7), 1.959964, 1e-5, "df → ∞");
  assert.is(studentTCdf(1.3, Infinity), normalCdf(1.3));
  for (const df of [1, 2.5, 7, 40]) for (const p of [0.01, 0.2, 0.5, 0.9, 0.999]) near(studentTCdf(studentTQuantile(p, df), df), p, 1e-10, `round trip df=${df} p=${p}`);
  for (const t of [-30, -4, -1, -0.3, 0, 0.3, 1, 4, 30]) {
    near(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-12, `Cauchy ${t}`);
    near(studentTCdf(t, 2), 0.5 + t / (2 * Math.sqrt(2 + t * t)), 1e-12, `df 2 ${t}`);
    for (const df of [1, 3, 9.5, 100]) near(studentTCdf(-t, df), 1 - studentTCdf(t, df), 1e-12, `symmetry df=${df} t=${t}`);
  }
});

test("incompleteBeta equals Simpson integration of the beta density and its closed forms", () => {
  const density = (t: number, a: number, b: number) => t ** (a - 1) * (1 - t) ** (b - 1);
  const simpson = (f: (t: number) => number, hi: number, steps = 20000) => {
    const h = hi / steps;
    let s = f(0) + f(hi);
    for (let i = 1; i < steps; i++) s += (i % 2 ? 4 : 2) * f(i * h);
    return (s * h) / 3;
  };
  for (const [a, b] of [[1, 1], [2, 3], [3.5, 1], [5, 12], [12, 5], [2, 2], [7.5, 7.5]]) {
    const total = simpson((t) => density(t, a, b), 1);
    for (const x of [0.01, 0.1, 0.3, 0.5, 0.7, 0.95]) near(incompleteBeta(x, a, b), simpson((t) => density(t, a, b), x) / total, 1e-8, `I_${x}(${a}, ${b})`);
  }
  for (const x of [0, 0.2, 0.6, 1]) {
    near(incompleteBeta(x, 1, 1), x, 1e-14, "I_x(1,1) = x");
    near(incompleteBeta(x, 3.3, 1), x ** 3.3, 1e-13, "I_x(a,1) = xᵃ");
    near(incompleteBeta(x, 1, 0.5), 1 - Math.sqrt(1 - x), 1e-13, "I_x(1,b) = 1 − (1−x)ᵇ");
  }
});

test("logGamma at integers is log((n−1)!), at ½ is log √π; bad arguments are typed errors", async () => {
  let logFactorial = 0;
  for (let n = 1; n <= 170; n++) {
    if (n > 1) logFactorial += Math.log(n - 1);
    near(logGamma(n), logFactorial, 1e-13, `logΓ(${n})`);
  }
  near(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-14, "logΓ(½)");
  near(logGamma(0.1), Math.log(9.513507698668732), 1e-13, "reflection branch");
  await expectError(() => logGamma(0), InvalidArgumentError, "x");
  await expectError(() => incompleteBeta(0.5, 0, 1), InvalidArgumentError, "a, b");
  await expectError(() => incompleteBeta(1.5, 1, 1), InvalidArgumentError, "x");
  await expectError(() => studentTCdf(1, 0), InvalidArgumentError, "df");
  await expectError(() => studentTQuantile(1, 5), InvalidArgumentError, "p");
  await expectError(() => normalQuantile(0), InvalidArgumentError, "p");
});

test("binomial tails and probabilities equal exact BigInt sums (exactly so for n ≤ 50)", async () => {
  const chooseRow = (n: number) => { const row = [1n]; for (let j = 1; j <= n; j++) row.push((row[j - 1] * BigInt(n - j + 1)) / BigInt(j)); return row; };
  for (let n = 0; n <= 160; n++) {
    const row = chooseRow(n);
    let acc = 0n;
    for (let k = 0; k <= n; k++) {
      acc += row[k];
      const exact = Number(acc) / 2 ** n;
      if (n <= 50) assert.is(binomialHalfLowerTail(k, n), exact, `P[Bin(${n}, ½) ≤ ${k}] exactly`);
      else assertClose(binomialHalfLowerTail(k, n), exact, 1e-11, `P[Bin(${n}, ½) ≤ ${k}]`);
      if (n <= 100 && n % 7 === 0) {
        // p = 1/3: C(n, k) 2^(n−k) / 3^n.
        assertClose(binomialProbability(k, n, 1 / 3), Number(row[k] * 2n ** BigInt(n - k)) / Number(3n ** BigInt(n)), 1e-10, `P[Bin(${n}, ⅓) = ${k}]`);
        assertClose(binomialProbability(k, n, 0.5), Number(row[k]) / 2 ** n, 1e-10, `P[Bin(${n}, ½) = ${k}]`);
      }
    }
    assert.is(binomialHalfLowerTail(-1, n), 0);
    assert.is(binomialHalfLowerTail(n + 3, n), 1);
  }
  assert.equal([binomialProbability(0, 5, 0), binomialProbability(5, 5, 1), binomialProbability(6, 5, 0.5), binomialProbability(2.5, 5, 0.5)], [1, 1, 0, 0]);
  await expectError(() => binomialHalfLowerTail(1, -1), InvalidArgumentError, "n");
  await expectError(() => binomialHalfLowerTail(1.5, 4), InvalidArgumentError, "k");
  await expectError(() => binomialProbability(1, 4, 1.5), InvalidArgumentError, "p");
});

test("binomialHalfLowerTail at n = 2·10⁵ neither throws nor overflows (no recursion, no spread)", () => {
  const n = 200000, started = Date.now();
  // P[X ≤ n/2] = ½ + ½ P[X = n/2], the point mass from logΓ (an independent route).
  assertClose(binomialHalfLowerTail(n / 2, n), 0.5 + 0.5 * binomialProbability(n / 2, n, 0.5), 1e-9, "middle");
  const deep = binomialHalfLowerTail(98000, n); // z ≈ −8.9
  assert.ok(deep > 0 && deep < 1e-15 && Number.isFinite(deep), `deep tail ${deep}`);
  assert.is(binomialHalfLowerTail(n - 1, n), 1 - 2 ** -n);
  // A near-balanced sign test over 2·10⁵ discordant pairs: the normal approximation with continuity correction.
  assertClose(signTest(100100, 99900), 2 * normalCdf(-(100 - 0.5) / Math.sqrt(n / 4)), 1e-3, "sign test, huge n");
  assert.ok(Date.now() - started < 2000, "linear time");
});

// ---- sign test (McNemar) --------------------------------------------------------------------------

test("signTest: closed forms, one-sided forms, symmetry, direct binomial sums, typed errors", async () => {
  assert.is(signTest(0, 0), 1, "no discordant pairs: no evidence");
  assert.is(signTest(5, 0), 2 / 32);
  assert.is(signTest(9, 6), (2 * (1 + 15 + 105 + 455 + 1365 + 3003 + 5005)) / 32768);
  assert.is(signTest(16, 2), (2 * (1 + 18 + 153)) / 262144);
  assert.is(signTest(1, 1), 1, "capped at 1");
  assert.is(signTest(5, 0, "greater"), 1 / 32);
  assert.is(signTest(5, 0, "less"), 1);
  assert.is(signTest(0, 5, "less"), 1 / 32);
  assert.is(signTest(9, 6, "greater"), (1 + 15 + 105 + 455 + 1365 + 3003 + 5005) / 32768, "P[Bin(15) ≥ 9]");
  assert.is(signTest(0, 0, "greater"), 1);
  const choose = (n: number, k: number) => { let c = 1; for (let j = 1; j <= k; j++) c = (c * (n - j + 1)) / j; return c; };
  for (let n = 1; n <= 40; n++) for (let a = 0; a <= n; a++) {
    const b = n - a;
    let lowerA = 0, lowerB = 0; // P[X ≤ a], P[X ≤ b]
    for (let j = 0; j <= n; j++) { if (j <= a) lowerA += choose(n, j) / 2 ** n; if (j <= b) lowerB += choose(n, j) / 2 ** n; }
    assertClose(signTest(a, b), Math.min(1, 2 * Math.min(lowerA, lowerB)), 1e-12, `n=${n} a=${a}`);
    assertClose(signTest(a, b, "greater"), lowerB, 1e-12, `greater n=${n} a=${a}`);
    assertClose(signTest(a, b, "less"), lowerA, 1e-12, `less n=${n} a=${a}`);
    assert.is(signTest(a, b), signTest(b, a), "symmetric");
    assert.is(signTest(a, b, "greater"), signTest(b, a, "less"), "mirror");
  }
  const big = signTest(600, 400);
  assert.ok(big > 0 && big < 1e-8, `600 vs 400: p = ${big}`);
  await expectError(() => signTest(-1, 2), InvalidArgumentError, "aOnly");
  await expectError(() => signTest(2, 1.5), InvalidArgumentError, "bOnly");
  await expectError(() => signTest(2, 1, "both" as never), UnknownOptionError, "alternative");
});

test("discordantCounts tallies paired binary outcomes; bad outcomes name their index", async () => {
  assert.equal(discordantCounts([1, 1, 0, 0, true, false], [1, 0, 1, 0, false, false]), { both: 1, aOnly: 2, bOnly: 1, neither: 2 });
  await expectError(() => discordantCounts([1, 0], [1]), InvalidArgumentError, "b");
  await expectError(() => discordantCounts([1, 0.5], [1, 0]), InvalidArgumentError, "a[1]");
});

// ---- sign-flip permutation tests ------------------------------------------------------------------

/** Brute force: every one of the 2^n sign patterns (zeros included: flipping 0 changes nothing). */
function bruteForceP(d: readonly number[], statistic: (x: number[]) => number, alternative: Alternative): number {
  const observed = statistic(d.slice());
  const tol = 1e-9 * statistic(d.map(Math.abs));
  let count = 0;
  for (let mask = 0; mask < 2 ** d.length; mask++) {
    const t = statistic(d.map((v, i) => ((mask >> i) & 1 ? -v : v)));
    if (alternative === "greater" ? t >= observed - tol : alternative === "less" ? t <= observed + tol : Math.abs(t) >= Math.abs(observed) - tol) count++;
  }
  return count / 2 ** d.length;
}

test("signFlipTest: exact p equals brute-force enumeration of all 2^n sign patterns (random real data, zeros, all alternatives)", () => {
  const rng = new Rng("sign-flip-brute");
  for (let trial = 0; trial < 60; trial++) {
    const n = 1 + (trial % 12);
    const shift = [0, 0.3, -0.6, 1.2][trial % 4];
    const d = Array.from({ length: n }, () => (rng.uniform() < 0.15 ? 0 : rng.normal() + shift));
    for (const alternative of ALTS) {
      const r = signFlipTest(d, { alternative });
      const zeros = d.filter((v) => v === 0).length;
      assert.is(r.nonZero, n - zeros, "zeros are left out of the pattern count");
      if (r.nonZero > 0) assert.is(r.method, r.nonZero === 1 ? "closed form" : "exact");
      assertClose(r.p, bruteForceP(d, mean, alternative), 1e-12, `n=${n} ${alternative}`);
      assertClose(r.statistic, mean(d), 1e-12, "statistic = mean difference");
      assert.ok(r.p > 0 && r.p <= 1);
    }
  }
});

test("signFlipTest: ±c data take the closed form and equal the sign test, any n", () => {
  const rng = new Rng("closed-form");
  for (const n of [1, 2, 5, 13, 40, 300]) for (const c of [1, 0.3]) {
    const d = Array.from({ length: n }, () => { const u = rng.uniform(); return u < 0.2 ? 0 : u < 0.65 ? c : -c; });
    const pos = d.filter((v) => v > 0).length, neg = d.filter((v) => v < 0).length;
    for (const alternative of ALTS) {
      const r = signFlipTest(d, { alternative });
      assert.is(r.method, "closed form");
      assert.is(r.p, signTest(pos, neg, alternative), `n=${n} c=${c} ${alternative}`);
    }
  }
  assert.equal(signFlipTest([0, 0, 0]), { p: 1, statistic: 0, method: "closed form", nonZero: 0, patterns: 1 }, "all ties: p = 1");
});

test("signFlipTest: Monte Carlo path is within MC error of a 400k-resample oracle, reproducible by seed, differs across seeds", () => {
  const rng = new Rng("mc-data");
  const raw = Array.from({ length: 30 }, () => rng.normal() * (0.5 + rng.uniform()));
  const sd = Math.sqrt(sum(raw.map((x) => (x - mean(raw)) ** 2)) / 29);
  const d = raw.map((x) => x - mean(raw) + (1.8 * sd) / Math.sqrt(30)); // t ≈ 1.8: p near 0.08
  const r = signFlipTest(d, { seed: 7 });
  assert.is(r.method, "monte carlo");
  assert.is(r.patterns, 20000);
  const oracleRng = new Rng("mc-oracle"), B = 400000, observed = Math.abs(sum(d));
  let extreme = 0;
  for (let b = 0; b < B; b++) {
    let t = 0;
    for (const v of d) t += oracleRng.uniform() < 0.5 ? v : -v;
    if (Math.abs(t) >= observed - 1e-9) extreme++;
  }
  const oracle = extreme / B;
  assert.ok(oracle > 0.01 && oracle < 0.5, `data chosen so p is informative (${oracle})`);
  const se = Math.sqrt(oracle * (1 - oracle) / 20000) + Math.sqrt(oracle * (1 - oracle) / B);
  assert.ok(Math.abs(r.p - oracle) < 4 * se + 1 / 20001, `MC p ${r.p} vs oracle ${oracle} (4 SE = ${4 * se})`);
  assert.equal(signFlipTest(d, { seed: 7 }), r, "same seed, same p");
  assert.equal(signFlipTest(d, { seed: new Rng(7) }), r, "an Rng of the same seed, same p");
  assert.is.not(signFlipTest(d, { seed: 8 }).p, r.p, "another seed, another Monte Carlo draw");
  assert.equal(signFlipTest(d).p, signFlipTest(d, { seed: 0 }).p, "default seed 0");
  const forced = signFlipTest(d.slice(0, 12), { maxExactPatterns: 1000, resamples: 999, seed: 1 });
  assert.equal([forced.method, forced.patterns], ["monte carlo", 999], "maxExactPatterns below 2^m forces Monte Carlo");
});

test("signFlipTest: p is never 0; typed errors for bad input and options", async () => {
  const allUp = Array.from({ length: 30 }, (_, i) => 1 + i / 7);
  assert.is(signFlipTest(allUp, { resamples: 999 }).p, 1 / 1000, "Monte Carlo: (1 + 0) / (1 + B)");
  assert.is(signFlipTest(allUp.slice(0, 12)).p, 2 / 4096, "exact: the observed pattern and its mirror");
  assert.is(signFlipTest(allUp.slice(0, 12), { alternative: "greater" }).p, 1 / 4096);
  await expectError(() => signFlipTest([]), EmptyInputError, "differences");
  await expectError(() => signFlipTest([1, NaN]), NonFiniteError, "differences");
  await expectError(() => signFlipTest(null as never), InvalidArgumentError, "differences");
  await expectError(() => signFlipTest([1, 2], { resamples: 10 }), InvalidArgumentError, "options.resamples");
  await expectError(() => signFlipTest([1, 2], { maxExactPatterns: 0 }), InvalidArgumentError, "options.maxExactPatterns");
  await expectError(() => signFlipTest([1, 2], { maxExactPatterns: 2 ** 40 }), InvalidArgumentError, "options.maxExactPatterns");
  await expectError(() => signFlipTest([1, 2], { alternative: "up" as never }), UnknownOptionError, "options.alternative");
  await expectError(() => signFlipTest([1, 2], { sed: 1 } as never), UnknownOptionError, "options.sed");
});

test("stratifiedSignFlipTest: one cluster = signFlipTest; brute force over small strata; equal-size binary strata take the closed form", async () => {
  const rng = new Rng("strata");
  for (let trial = 0; trial < 40; trial++) {
    const sizes = Array.from({ length: 1 + (trial % 4) }, () => 1 + rng.int(3 + (trial % 2)));
    const clusters = sizes.flatMap((size, s) => new Array<string>(size).fill(`seed-${s}`));
    const d = clusters.map(() => (rng.uniform() < 0.1 ? 0 : rng.normal() + 0.4));
    const members = sizes.map((_, s) => clusters.map((c, i) => (c === `seed-${s}` ? i : -1)).filter((i) => i >= 0));
    const statistic = (x: number[]) => mean(members.map((idx) => mean(idx.map((i) => x[i]))));
    for (const alternative of ALTS) {
      const r = stratifiedSignFlipTest(d, clusters, { alternative });
      assertClose(r.p, bruteForceP(d, statistic, alternative), 1e-12, `sizes ${sizes} ${alternative}`);
      assertClose(r.statistic, statistic(d), 1e-12, "mean of cluster means");
    }
  }
  const d = [0.3, -1.2, 2.5, 0.7, 0.1, -0.4];
  const one = stratifiedSignFlipTest(d, d.map(() => 4));
  const plain = signFlipTest(d);
  assert.equal([one.p, one.method, one.nonZero], [plain.p, plain.method, plain.nonZero]);
  assertClose(one.statistic, plain.statistic, 1e-12, "statistic");
  // Binary outcomes, 3 seeds × 10 tasks: equal weights, so the closed-form sign test over all 30 tasks.
  const binary = Array.from({ length: 30 }, (_, i) => [1, 0, 0, -1, 1, 1, 0, 1, 0, 0][i % 10] * (i % 7 === 0 ? -1 : 1));
  const seeds = binary.map((_, i) => Math.floor(i / 10));
  const s = stratifiedSignFlipTest(binary, seeds);
  assert.is(s.method, "closed form");
  assert.is(s.p, signTest(binary.filter((x) => x > 0).length, binary.filter((x) => x < 0).length));
  // Unequal sizes: the weights differ, so exact enumeration, not the sign test.
  assert.is(stratifiedSignFlipTest(binary.slice(0, 17), seeds.slice(0, 17)).method, "exact");
  await expectError(() => stratifiedSignFlipTest([1, 2, 3], [0, 1]), InvalidArgumentError, "clusters");
  await expectError(() => stratifiedSignFlipTest([1, 2], [0, NaN]), InvalidArgumentError, "clusters[1]");
});

// ---- intervals, power, Holm ------------------------------------------------------------------------

test("tInterval and stratifiedInterval: closed forms on small data; null without a spread", async () => {
  const t = tInterval([1, 2, 3, 4])!;
  const half = studentTQuantile(0.975, 3) * Math.sqrt(5 / 3 / 4);
  assert.equal([t.estimate, t.df, t.method, t.level], [2.5, 3, "t", 0.95]);
  assertClose([t.lo, t.hi, t.se], [2.5 - half, 2.5 + half, Math.sqrt(5 / 12)], 1e-12, "t interval");
  near(t.hi, 2.5 + 3.1824 * 0.6455, 2e-4, "table value");
  const t90 = tInterval([1, 2, 3, 4], 0.9)!;
  assertClose(t90.hi - t90.estimate, studentTQuantile(0.95, 3) * t.se, 1e-12, "90%");
  assert.is(tInterval([3]), null, "n = 1: no spread");
  assert.equal([tInterval([2, 2, 2])!.lo, tInterval([2, 2, 2])!.hi], [2, 2], "zero spread");
  // Clusters a: {1, 3} (mean 2, s² 2), b: {2, 4, 6} (mean 4, s² 4). SE² = 2/(2·4) + 4/(3·4) = 7/12;
  // Welch–Satterthwaite df = (7/12)² / ((1/4)²/1 + (1/3)²/2) = 49/17.
  const s = stratifiedInterval([1, 3, 2, 4, 6], ["a", "a", "b", "b", "b"])!;
  assert.equal([s.estimate, s.method], [3, "stratified t"]);
  assertClose([s.se, s.df], [Math.sqrt(7 / 12), 49 / 17], 1e-12, "se, df");
  assertClose([s.lo, s.hi], [3 - studentTQuantile(0.975, 49 / 17) * s.se, 3 + studentTQuantile(0.975, 49 / 17) * s.se], 1e-12, "bounds");
  assert.is(stratifiedInterval([1, 3, 2], ["a", "a", "b"]), null, "a one-unit cluster has no spread");
  const single = stratifiedInterval([1, 2, 3, 4], [0, 0, 0, 0])!;
  assertClose([single.lo, single.hi, single.se, single.df], [t.lo, t.hi, t.se, t.df], 1e-12, "one cluster = t interval");
  await expectError(() => tInterval([]), EmptyInputError, "differences");
  await expectError(() => tInterval([1, 2], 1), InvalidArgumentError, "level");
  await expectError(() => stratifiedInterval([1, Infinity], [0, 0]), NonFiniteError, "differences");
});

test("minDetectableEffect: Infinity while 2/2ⁿ ≥ alpha (n ≤ 5 two-sided, ≤ 4 one-sided), (t_{1−α/2} + t_power)·SE beyond", async () => {
  assert.equal([smallestAttainableP(5), smallestAttainableP(6), smallestAttainableP(5, "greater"), smallestAttainableP(0)], [1 / 16, 1 / 32, 1 / 32, 1]);
  for (let units = 0; units <= 5; units++) assert.is(minDetectableEffect({ se: 0.1, df: 10, units }), Infinity, `${units} units`);
  assertClose(minDetectableEffect({ se: 0.1, df: 10, units: 6 }), (2.2281 + 0.8791) * 0.1, 1e-4, "table values");
  assertClose(minDetectableEffect({ se: 0.1, df: 10, units: 6 }), (studentTQuantile(0.975, 10) + studentTQuantile(0.8, 10)) * 0.1, 1e-12, "formula");
  assert.is(minDetectableEffect({ se: 0.1, df: 10, units: 4, alternative: "greater" }), Infinity);
  assertClose(minDetectableEffect({ se: 0.1, df: 10, units: 5, alternative: "greater" }), (studentTQuantile(0.95, 10) + studentTQuantile(0.8, 10)) * 0.1, 1e-12, "one-sided");
  assertClose(minDetectableEffect({ se: 2, df: Infinity, units: 100, power: 0.9, alpha: 0.01 }), (normalQuantile(0.995) + normalQuantile(0.9)) * 2, 1e-9, "normal");
  assert.is(minDetectableEffect({ se: NaN, df: 3, units: 10 }), Infinity, "no SE, no MDE");
  await expectError(() => minDetectableEffect({ se: 1, df: 3, units: 10, alpha: 0 }), InvalidArgumentError, "alpha");
  await expectError(() => minDetectableEffect({ se: 1, df: 3, units: 10, power: 1 }), InvalidArgumentError, "power");
  await expectError(() => smallestAttainableP(2.5), InvalidArgumentError, "units");
  // Through pairedVerdict: 5 seeds can never reach p < 0.05; 6 can, and the MDE is the formula's.
  const rng = new Rng("mde");
  assert.is(pairedVerdict([0.3, -0.1, 0.5, 0.2, 0.4]).minDetectableEffect, Infinity);
  const six = Array.from({ length: 6 }, () => rng.normal());
  const v = pairedVerdict(six);
  const se = tInterval(six)!.se;
  assertClose(v.minDetectableEffect, (studentTQuantile(0.975, 5) + studentTQuantile(0.8, 5)) * se, 1e-12, "n = 6");
});

test("holmAdjust: a hand-computed family, order kept, monotone, capped at 1", async () => {
  // Sorted 0.005, 0.01, 0.03, 0.04 → ×4, ×3, ×2, ×1 = 0.02, 0.03, 0.06, 0.04 → running max 0.02, 0.03, 0.06, 0.06.
  assertClose(holmAdjust([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02], 1e-12, "Holm");
  assert.equal(holmAdjust([0.5, 0.6]), [1, 1], "capped at 1");
  assert.equal(holmAdjust([0.2]), [0.2], "a family of one is unchanged");
  const rng = new Rng("holm");
  for (let trial = 0; trial < 200; trial++) {
    const p = Array.from({ length: 1 + rng.int(8) }, () => rng.uniform() ** 3);
    const adj = holmAdjust(p);
    p.forEach((pi, i) => {
      assert.ok(adj[i] >= pi && adj[i] <= 1, "p ≤ adjusted ≤ 1");
      p.forEach((pj, j) => { if (pi < pj) assert.ok(adj[i] <= adj[j], "monotone"); });
    });
  }
  await expectError(() => holmAdjust([]), EmptyInputError, "pValues");
  await expectError(() => holmAdjust([0.1, 1.2]), InvalidArgumentError, "pValues[1]");
});

// ---- pairedVerdict -----------------------------------------------------------------------------------

test("pairedVerdict names its test: McNemar for binary, stratified for clusters, 'over seed means' for scope between", () => {
  const binary = [1, 0, 1, 1, -1, 0, 1, 1, 0, 1, 1, 1];
  const m = pairedVerdict(binary);
  assert.equal([m.test, m.sample, m.n, m.pairs, m.ties], ["exact McNemar test", "12 pairs", 12, 12, 3]);
  assert.is(m.p, signTest(8, 1));
  const rng = new Rng("names");
  const cont = Array.from({ length: 8 }, () => rng.normal());
  assert.is(pairedVerdict(cont).test, "exact sign-flip permutation test");
  const thirty = Array.from({ length: 30 }, () => rng.normal());
  assert.is(pairedVerdict(thirty, { resamples: 999 }).test, "Monte Carlo (999 resamples) sign-flip permutation test");
  const seeds = binary.map((_, i) => i % 3);
  const s = pairedVerdict(binary, { clusters: seeds, unitName: "task" });
  assert.equal([s.test, s.sample, s.clusters], ["stratified exact McNemar test (tasks within seeds)", "12 tasks in 3 seeds", 3]);
  assert.is(pairedVerdict(cont, { clusters: [0, 0, 0, 0, 1, 1, 1, 1] }).test, "stratified exact sign-flip permutation test (pairs within seeds)");
  const b = pairedVerdict(binary, { clusters: seeds, clusterScope: "between", clusterName: "run" });
  assert.equal([b.test, b.sample, b.n, b.clusters, b.pairs], ["exact sign-flip permutation test over run means", "3 runs (12 pairs)", 3, 3, 12]);
  const means = [0, 1, 2].map((c) => mean(binary.filter((_, i) => seeds[i] === c)));
  assertClose(b.estimate, mean(means), 1e-12, "estimate = mean of seed means");
  assert.is(b.p, signFlipTest(means).p);
  assert.is(b.minDetectableEffect, Infinity, "3 seeds can never reach p < 0.05");
});

test("pairedVerdict directions, one-sided alternatives, ties, Holm families and the sentence", () => {
  const up = [0.5, 1.1, 0.2, 0.9, 1.7, 0.4, 0.8, 1.3];
  const pos = pairedVerdict(up);
  assert.equal([pos.verdict, pos.p], ["positive", 2 / 256]);
  assert.ok(pos.interval!.lo > 0 && pos.interval!.level === 0.95);
  const neg = pairedVerdict(up.map((x) => -x));
  assert.equal([neg.verdict, neg.p], ["negative", 2 / 256]);
  assert.equal([pairedVerdict(up, { alternative: "greater" }).verdict, pairedVerdict(up, { alternative: "greater" }).p], ["positive", 1 / 256]);
  assert.is(pairedVerdict(up, { alternative: "less" }).verdict, "inconclusive");
  assert.is(pairedVerdict(up, { alternative: "less" }).p, 1);
  assert.is(pairedVerdict(up.map((x) => -x), { alternative: "less" }).verdict, "negative");
  assert.is(pairedVerdict(up.map((x) => -x), { alternative: "greater" }).verdict, "inconclusive");
  assert.is(pairedVerdict(up, { alpha: 0.005 }).verdict, "inconclusive", "p = 0.0078 is not < 0.005");
  const tie = pairedVerdict([0, 0, 0, 0]);
  assert.equal([tie.verdict, tie.p, tie.ties, tie.estimate], ["inconclusive", 1, 4, 0]);
  assert.match(verdictText(tie), /— tie \(all 4 differences are 0\)$/);
  assert.match(verdictText(pos), /^\+0\.86 \[95% CI \+0\.\d\d, \+1\.\d\d\]; exact sign-flip permutation test, n = 8 pairs, p = 0\.008 — positive$/);
  const few = pairedVerdict([0.1, 0.2, -0.05]);
  assert.match(verdictText(few, { scale: 100, unit: "SR points", digits: 1 }), /^\+8\.3 SR points .* — inconclusive \(at this n the test cannot reach p < 0\.05: smallest attainable p = 0\.250\)$/);
  const rng = new Rng("text");
  const noise = pairedVerdict(Array.from({ length: 20 }, () => rng.normal()));
  assert.match(verdictText(noise), /inconclusive \(this n detects only effects above \d\.\d\d\)$/);
  const [a, b] = holmVerdicts([pos, noise]);
  assert.equal([a.p, a.pUnadjusted, a.correction, b.p], [2 * pos.p, pos.p, "Holm over 2", Math.max(2 * pos.p, noise.p)]);
  assert.match(verdictText(a), /p = 0\.016 \(Holm over 2\)/);
  assert.equal([formatP(0.5), formatP(0.00042), formatP(1e-9)], ["0.500", "4.2e-4", "< 1e-6"]);
});

test("pairedVerdict: a binary MDE is never below the smallest effect that can reach p < alpha", () => {
  // 12 tasks, 2 discordant (one each way): the observed SE is small, but only ≥ 6 of 12 tasks won
  // one way (effect ≥ 0.5) can give p < 0.05, so no smaller effect is detectable at 80% power.
  const v = pairedVerdict([1, 0, 0, 0, 0, 0, 0, 0, -1, 0, 0, 0]);
  assert.ok(v.minDetectableEffect >= 6 / 12, `MDE ${v.minDetectableEffect}`);
  assert.is(pairedVerdict(new Array(12).fill(0)).minDetectableEffect, 6 / 12, "a tie: SE 0, MDE 6/12, not 0");
  assert.is(pairedVerdict(new Array(12).fill(0), { alternative: "greater" }).minDetectableEffect, 5 / 12, "one-sided: 5 suffice");
  assert.ok(pairedVerdict([1, 1, 1, 1, 1, 1]).verdict === "positive", "6 of 6: p = 1/32, detectable indeed");
});

test("pairedVerdict: typed errors for unknown options, bad clusters and bad differences", async () => {
  await expectError(() => pairedVerdict([1, 2], { scope: "between" } as never), UnknownOptionError, "options.scope");
  await expectError(() => pairedVerdict([1, 2], { clusterScope: "across" as never, clusters: [0, 1] }), UnknownOptionError, "options.clusterScope");
  await expectError(() => pairedVerdict([1, 2], { alternative: "bigger" as never }), UnknownOptionError, "options.alternative");
  await expectError(() => pairedVerdict([1, 2, 3], { clusters: [0, 1] }), InvalidArgumentError, "options.clusters");
  await expectError(() => pairedVerdict([1, 2, 3], { clusters: [0, 1], clusterScope: "between" }), InvalidArgumentError, "options.clusters");
  await expectError(() => pairedVerdict([1, 2], { alpha: 0 }), InvalidArgumentError, "options.alpha");
  await expectError(() => pairedVerdict([]), EmptyInputError, "differences");
  await expectError(() => pairedVerdict([1, NaN]), NonFiniteError, "differences");
  await expectError(() => pairedVerdict(null as never), InvalidArgumentError, "differences");
  await expectError(() => verdictText(pairedVerdict([1, 2]), { units: "x" } as never), UnknownOptionError, "options.units");
});

test("pairedVerdict smallestEffectOfInterest: unset changes nothing; set, a direction needs the interval to clear δ, an interval inside ±δ is negligible", async () => {
  const rng = new Rng("sesoi");
  // Many prompts, a tiny real effect: significant, meaningless.
  const tiny = Array.from({ length: 400 }, () => 0.001 + 0.004 * rng.normal());
  const plain = pairedVerdict(tiny, { seed: 1 });
  assert.is(plain.verdict, "positive", "p alone: the tiny effect is significant");
  assert.is(plain.smallestEffectOfInterest, undefined, "no δ field without the option");
  assert.is(plain.negligible, undefined, "no negligible field without the option");
  const undef = pairedVerdict(tiny, { seed: 1, smallestEffectOfInterest: undefined });
  assert.equal({ ...undef, interval: null }, { ...plain, interval: null }, "an explicit undefined is the default");
  const judged = pairedVerdict(tiny, { seed: 1, smallestEffectOfInterest: 0.01 });
  assert.equal([judged.verdict, judged.negligible, judged.smallestEffectOfInterest, judged.p], ["inconclusive", true, 0.01, plain.p]);
  assert.ok(judged.interval!.lo > 0 && judged.interval!.hi < 0.01, "inside (0, δ): significant and negligible");
  assert.match(verdictText(judged, { digits: 3 }), /— negligible \(the interval lies inside ±0\.010, the smallest effect of interest; significant, p < 0\.05, but too small to matter\)$/);
  // A large effect clears δ: the direction stands, with the reason in the text.
  const big = Array.from({ length: 40 }, () => 0.1 + 0.02 * rng.normal());
  const clear = pairedVerdict(big, { seed: 1, smallestEffectOfInterest: 0.05 });
  assert.equal([clear.verdict, clear.negligible], ["positive", false]);
  assert.match(verdictText(clear), /— positive \(the interval clears the smallest effect of interest, 0\.05\)$/);
  const clearNeg = pairedVerdict(big.map((x) => -x), { seed: 1, smallestEffectOfInterest: 0.05 });
  assert.equal([clearNeg.verdict, clearNeg.negligible], ["negative", false]);
  // Significant, but the interval straddles δ: inconclusive, not negligible.
  const lo = clear.interval!.lo, hi = clear.interval!.hi;
  const straddle = pairedVerdict(big, { seed: 1, smallestEffectOfInterest: (lo + hi) / 2 });
  assert.equal([straddle.verdict, straddle.negligible], ["inconclusive", false]);
  assert.match(verdictText(straddle), /inconclusive \(significant, p < 0\.05, but the interval reaches below the smallest effect of interest/);
  // Boundary: lo exactly δ counts (≥), an interval touching ±δ is not inside.
  assert.is(pairedVerdict(big, { seed: 1, smallestEffectOfInterest: lo }).verdict, "positive", "lo = δ clears δ");
  assert.is(pairedVerdict(big, { seed: 1, smallestEffectOfInterest: hi }).negligible, false, "hi = δ: not strictly inside");
  // Not significant and wide: inconclusive; n = 3: no interval reason to call it negligible unless it fits.
  const noise = pairedVerdict(Array.from({ length: 10 }, () => rng.normal()), { smallestEffectOfInterest: 0.01 });
  assert.equal([noise.verdict, noise.negligible], ["inconclusive", false]);
  // One-sided alternatives use the same rule.
  assert.is(pairedVerdict(big, { seed: 1, alternative: "greater", smallestEffectOfInterest: 0.05 }).verdict, "positive");
  assert.is(pairedVerdict(tiny, { seed: 1, alternative: "greater", smallestEffectOfInterest: 0.01 }).verdict, "inconclusive");
  // Clustered: the rule reads the stratified interval.
  const clusters = tiny.map((_, i) => i % 4);
  const strat = pairedVerdict(tiny, { clusters, seed: 1, smallestEffectOfInterest: 0.01 });
  assert.equal([strat.verdict, strat.negligible, strat.interval!.method], ["inconclusive", true, "stratified t"]);
  // Holm keeps the rule: the clear effect stays positive only while its interval clears δ.
  const [h1, h2] = holmVerdicts([clear, judged]);
  assert.equal([h1.verdict, h2.verdict, h2.negligible], ["positive", "inconclusive", true]);
  // Unusable δ values are typed errors naming the option.
  for (const bad of [0, -0.1, NaN, Infinity, "0.1"]) await expectError(() => pairedVerdict([1, 2, 3], { smallestEffectOfInterest: bad as never }), InvalidArgumentError, "options.smallestEffectOfInterest");
});

test("allOf / anyOf with a smallest effect of interest: every component must clear δ; one negligible component (Bonferroni-widened interval) fails the compound claim", () => {
  const rng = new Rng("sesoi-compound");
  const big = (m: number) => pairedVerdict(Array.from({ length: 60 }, () => m + 0.02 * rng.normal()), { seed: 1, smallestEffectOfInterest: 0.05 });
  const both = allOf([big(0.2), big(0.3)], ["a", "b"]);
  assert.equal([both.verdict, both.negligible], ["positive", false]);
  const flat = big(0);
  assert.ok(flat.negligible, "a zero effect with a tight interval is negligible on its own");
  const failed = allOf([big(0.2), flat, big(0.3)], ["a", "flat", "b"]);
  assert.equal([failed.verdict, failed.negligible], ["inconclusive", true]);
  assert.match(failed.test, /flat is negligible \(its interval at level 1 − alpha\/3, Bonferroni/);
  assert.ok(failed.interval!.lo < flat.interval!.lo && failed.interval!.hi > flat.interval!.hi, "the interval shown is the widened one");
  // Without δ on the components, allOf is unchanged (no negligible field).
  const plain = allOf([pairedVerdict([0.5, 1.1, 0.2, 0.9, 1.7, 0.4, 0.8, 1.3])], ["x"]);
  assert.equal([plain.verdict, plain.negligible], ["positive", undefined]);
  assert.equal([anyOf([flat, big(0.01)], ["f", "g"]).negligible, anyOf([flat, big(0.3)], ["f", "g"]).negligible], [true, false]);
});

test("claimRecord with a smallest effect of interest: negligible is 'not reproduced' with the reason; significant-but-straddling is inconclusive; no δ keeps the old mapping", async () => {
  const rng = new Rng("sesoi-claims");
  const base = { id: "maestro.beats-equal-weights.bank", statement: "MAESTRO beats equal weights", unit: "true utility" };
  const tiny = Array.from({ length: 400 }, () => 0.001 + 0.004 * rng.normal());
  const old = claimRecord({ ...base, evidence: pairedVerdict(tiny, { seed: 1 }) });
  assert.equal([old.verdict, old.smallestEffectOfInterest, old.negligible], ["reproduced", undefined, undefined]);
  const judged = claimRecord({ ...base, evidence: pairedVerdict(tiny, { seed: 1, smallestEffectOfInterest: 0.01 }) });
  assert.equal([judged.verdict, judged.smallestEffectOfInterest, judged.negligible], ["not reproduced", 0.01, true]);
  assert.match(judged.reason, /NEGLIGIBLE — the 95% interval \[0\.00, 0\.00\] true utility lies inside ±0\.01 true utility, the smallest effect of interest/);
  assert.match(judged.reason, /significant, but below what matters/);
  const big = Array.from({ length: 40 }, () => 0.1 + 0.02 * rng.normal());
  const v = pairedVerdict(big, { seed: 1 });
  const reproduced = claimRecord({ ...base, evidence: pairedVerdict(big, { seed: 1, smallestEffectOfInterest: 0.05 }) });
  assert.is(reproduced.verdict, "reproduced");
  assert.match(reproduced.reason, /clears the smallest effect of interest \(0\.05 true utility\)/);
  const straddle = claimRecord({ ...base, evidence: pairedVerdict(big, { seed: 1, smallestEffectOfInterest: (v.interval!.lo + v.interval!.hi) / 2 }) });
  assert.equal([straddle.verdict, straddle.negligible], ["inconclusive", false]);
  assert.match(straddle.reason, /reaches below the smallest effect of interest/);
  const opposite = claimRecord({ ...base, evidence: pairedVerdict(big, { seed: 1, smallestEffectOfInterest: 0.05 }), expect: "negative" });
  assert.equal(opposite.verdict, "not reproduced");
  assert.match(opposite.reason, /OPPOSITE direction by at least the smallest effect of interest/);
  const fine = claimRecord({ ...base, digits: 4, evidence: pairedVerdict(tiny, { seed: 1, smallestEffectOfInterest: 0.01 }) });
  assert.match(fine.reason, /inside ±0\.0100 true utility/);
  assert.match(fine.evidence, /^\+0\.0\d\d\d true utility \[95% CI \+0\.0\d\d\d, \+0\.0\d\d\d\]/);
  await expectError(() => claimRecord({ ...base, digits: 2.5, evidence: pairedVerdict(tiny) }), InvalidArgumentError, "claim.digits");
  const either = claimRecord({ ...base, evidence: pairedVerdict(tiny, { seed: 1, smallestEffectOfInterest: 0.01 }), expect: "either" });
  assert.is(either.verdict, "not reproduced", "'differs at all' fails when every allowed effect is negligible");
});

// ---- aucVerdict ----------------------------------------------------------------------------------

test("aucVerdict: estimate = mean of per-cluster AUCs, the interval contains it, reproducible by seed", () => {
  const rng = new Rng("auc");
  const clusters: number[] = [], labels: number[] = [], scores: number[] = [];
  for (let c = 0; c < 3; c++) for (let i = 0; i < 16; i++) {
    clusters.push(c); labels.push(i % 2); scores.push(10 * c + rng.normal() + 0.4 * (i % 2));
  }
  const v = aucVerdict(scores, labels, { clusters, seed: 3, resamples: 500, permutations: 999 });
  const per = [0, 1, 2].map((c) => rocAuc(scores.filter((_, i) => clusters[i] === c), labels.filter((_, i) => clusters[i] === c)));
  assert.equal(v.perCluster, per);
  assertClose(v.estimate, mean(per), 1e-12, "mean of per-cluster AUCs");
  assert.ok(v.interval.lo <= v.estimate && v.estimate <= v.interval.hi, `${v.interval.lo} ≤ ${v.estimate} ≤ ${v.interval.hi}`);
  assert.equal([v.n, v.clusters, v.interval.level, v.test], [48, 3, 0.95, "label permutation test within 3 clusters (999 permutations)"]);
  assert.equal(aucVerdict(scores, labels, { clusters, seed: 3, resamples: 500, permutations: 999 }), v, "same seed, same verdict");
  assert.is.not(aucVerdict(scores, labels, { clusters, seed: 4, resamples: 500, permutations: 999 }).p, v.p, "another seed, another draw");
  assert.ok(v.minDetectableEffect > 0 && Number.isFinite(v.minDetectableEffect));
});

test("aucVerdict: a perfectly separating score is significant; reversed is negative; one-class clusters are errors", async () => {
  const clusters = Array.from({ length: 40 }, (_, i) => Math.floor(i / 20));
  const labels = clusters.map((_, i) => (i % 2 === 0 ? 1 : 0));
  const scores = labels.map((y, i) => y * 5 + (i % 7) / 10 + clusters[i] * 100);
  const v = aucVerdict(scores, labels, { clusters, seed: 1 });
  assert.equal([v.estimate, v.verdict, v.p], [1, "positive", 1 / 5001]);
  assert.equal([v.interval.lo, v.interval.hi], [1, 1], "every within-class resample still separates");
  const r = aucVerdict(scores.map((s) => -s), labels, { clusters, seed: 1, permutations: 999, resamples: 200 });
  assert.equal([r.estimate, r.verdict, r.p], [0, "negative", 1 / 1000]);
  const u = aucVerdict(scores.slice(0, 20), labels.slice(0, 20), { permutations: 999, resamples: 200 });
  assert.equal([u.test, u.clusters, u.interval.method], ["label permutation test (999 permutations)", 1, "bootstrap within class"]);
  const oneClass = labels.map((y, i) => (clusters[i] === 1 ? 1 : y));
  await expectError(() => aucVerdict(scores, oneClass, { clusters }), InvalidArgumentError, "both classes in every cluster (cluster 1 has 20 positive, 0 negative)");
  await expectError(() => aucVerdict(scores, labels.slice(1)), InvalidArgumentError, "labels");
  await expectError(() => aucVerdict([1, 2], [1, 2]), InvalidArgumentError, "labels[1]");
  await expectError(() => aucVerdict([], []), EmptyInputError, "scores");
  await expectError(() => aucVerdict([1, 2], [1, 0], { permutation: 100 } as never), UnknownOptionError, "options.permutation");
  await expectError(() => aucVerdict([1, 2], [1, 0], { permutations: 10 }), InvalidArgumentError, "options.permutations");
});

// ---- claims -----------------------------------------------------------------------------------------

function captureLog<T>(fn: () => T): { lines: string[]; value: T } {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => { lines.push(args.map(String).join(" ")); };
  try { return { lines, value: fn() }; } finally { console.log = original; }
}

/** Every number anywhere in the record is finite (JSON would silently turn Infinity into null). */
function assertAllFinite(value: unknown, path = "record"): void {
  if (typeof value === "number") assert.ok(Number.isFinite(value), `${path} = ${value}`);
  else if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) assertAllFinite(v, `${path}.${k}`);
}

test("claimRecord: verdict mapping from the evidence and the paper's effect", () => {
  const up = [0.5, 1.1, 0.2, 0.9, 1.7, 0.4, 0.8, 1.3];
  const base = { id: "prism.gini-beats-random.minialf", statement: "PRISM-Gini beats Random" };
  const reproduced = claimRecord({ ...base, evidence: pairedVerdict(up) });
  assert.equal([reproduced.verdict, reproduced.p, reproduced.n], ["reproduced", 2 / 256, 8]);
  assert.match(reproduced.reason, /in the claimed direction/);
  const negative = claimRecord({ ...base, evidence: pairedVerdict(up), expect: "negative" });
  assert.is(negative.verdict, "not reproduced");
  assert.match(negative.reason, /OPPOSITE/);
  const rng = new Rng("claims");
  const noise = pairedVerdict(Array.from({ length: 30 }, () => rng.normal() * 0.1), { resamples: 999 });
  assert.is(noise.verdict, "inconclusive");
  const mde = noise.minDetectableEffect;
  const powered = claimRecord({ ...base, evidence: noise, paper: { value: "+12 points", effect: 3 * mde } });
  assert.is(powered.verdict, "not reproduced", "a powered null");
  assert.match(powered.reason, /excludes an effect of the paper's size/);
  assert.is(claimRecord({ ...base, evidence: noise, expect: "negative", paper: { effect: -3 * mde } }).verdict, "not reproduced", "|effect| counts");
  const underpowered = claimRecord({ ...base, evidence: noise, paper: { effect: mde / 3 } });
  assert.equal([underpowered.verdict, underpowered.minDetectableEffect], ["inconclusive", mde]);
  assert.match(underpowered.reason, /detects only effects above/);
  assert.is(claimRecord({ ...base, evidence: noise }).verdict, "inconclusive", "no paper effect: inconclusive");
  // n = 3: the permutation test cannot reach p < 0.05 (MDE null), but the t-interval [−0.05, 0.45]
  // can still rule out a paper effect of 100 (equivalence-style) — and cannot rule out 0.3.
  const three = claimRecord({ ...base, evidence: pairedVerdict([0.1, 0.2, 0.3]), paper: { effect: 0.3 }, seeds: [0, 1, 2] });
  assert.equal([three.verdict, three.minDetectableEffect, three.seeds], ["inconclusive", null, [0, 1, 2]], "undetectable and the paper's effect inside the interval");
  assert.match(three.reason, /cannot reach p < 0\.05 whatever the effect/);
  assertAllFinite(three);
  const excluded = claimRecord({ ...base, evidence: pairedVerdict([0.1, 0.2, 0.3]), paper: { effect: 100 } });
  assert.is(excluded.verdict, "not reproduced", "the interval excludes an effect of the paper's size");
  const tie = claimRecord({ ...base, evidence: pairedVerdict([0, 0, 0, 0, 0, 0, 0, 0]) });
  assert.equal([tie.verdict, tie.reason.includes("a tie")], ["inconclusive", true]);
  const identity = claimRecord({ id: "grpo.advantages-sum-to-zero", statement: "Advantages sum to zero", evidence: byConstruction("group-normalised advantages sum to zero", { value: 3e-9, tolerance: 1e-6, what: "max |Σ A|" }) });
  assert.equal([identity.verdict, identity.test, identity.p, identity.estimate], ["holds by construction", "identity (no test)", null, 3e-9]);
  const broken = claimRecord({ id: "grpo.advantages-sum-to-zero", statement: "Advantages sum to zero", evidence: byConstruction("group-normalised advantages sum to zero", { value: 0.2, tolerance: 1e-6, what: "max |Σ A|" }) });
  assert.is(broken.verdict, "not reproduced");
  assert.match(broken.reason, /FAILED/);
  assert.is(claimRecord({ id: "x", statement: "y", evidence: byConstruction("z") }).verdict, "holds by construction", "no check");
});

test("claimRecord with AUC evidence; claimText", () => {
  const clusters = Array.from({ length: 40 }, (_, i) => Math.floor(i / 20));
  const labels = clusters.map((_, i) => i % 2);
  const scores = labels.map((y, i) => y + i / 100);
  const r = claimRecord({ id: "prism.gini-auc", statement: "Gini separates conflicted trajectories", evidence: aucVerdict(scores, labels, { clusters, permutations: 999, resamples: 200 }), paper: { value: "AUC 0.8" } });
  assert.equal([r.verdict, r.sample, r.estimate], ["reproduced", "40 rows in 2 clusters", 1]);
  assert.match(r.evidence, /^AUC 1\.000 \[95% CI 1\.000, 1\.000\]; label permutation test within 2 clusters/);
  assert.match(claimText(r), /^\[REPRODUCED\] Gini separates conflicted trajectories \(paper: AUC 0\.8\) — AUC 1\.000/);
  assertAllFinite(r);
});

test("claim() prints exactly one 'gradlab-claim {json}' line that parses back to the record; bad input is rejected", async () => {
  const evidence = pairedVerdict([0.1, 0.2, 0.3]);
  const { lines, value } = captureLog(() => claim({ id: "maestro.conductor-helps", statement: "The Conductor helps", evidence, paper: { effect: 0.2 }, scale: 100, unit: "points" }));
  assert.is(lines.length, 1);
  assert.ok(lines[0].startsWith(CLAIM_PREFIX) && CLAIM_PREFIX === "gradlab-claim ");
  assert.not.match(lines[0], /Infinity|NaN/);
  const parsed = JSON.parse(lines[0].slice(CLAIM_PREFIX.length));
  assert.equal(parsed, JSON.parse(JSON.stringify(value)));
  assert.is(parsed.minDetectableEffect, null);
  assert.is(value.minDetectableEffect, null, "null in the record itself, not an Infinity JSON happens to hide");
  const ok = { id: "a.b", statement: "s", evidence };
  await expectError(() => claimRecord({ ...ok, id: "Prism Gini" }), InvalidArgumentError, "claim.id");
  await expectError(() => claimRecord({ ...ok, id: "" }), InvalidArgumentError, "claim.id");
  await expectError(() => claimRecord({ ...ok, statement: " " }), InvalidArgumentError, "claim.statement");
  await expectError(() => claimRecord({ ...ok, papers: {} } as never), UnknownOptionError, "claim.papers");
  await expectError(() => claimRecord({ ...ok, paper: { effects: 1 } } as never), UnknownOptionError, "claim.paper.effects");
  await expectError(() => claimRecord({ ...ok, expect: "up" as never }), UnknownOptionError, "claim.expect");
  await expectError(() => claimRecord({ ...ok, seeds: [1.5] }), InvalidArgumentError, "claim.seeds");
  await expectError(() => claimRecord({ ...ok, evidence: null as never }), InvalidArgumentError, "claim.evidence");
  await expectError(() => claimRecord({ ...ok, evidence: { p: 1 } as never }), InvalidArgumentError, "claim.evidence");
  await expectError(() => byConstruction(""), InvalidArgumentError, "reason");
  await expectError(() => byConstruction("r", { value: 1, tolerance: -1, what: "x" }), InvalidArgumentError, "check");
  const silent = captureLog(() => expectError(() => claim({ ...ok, id: "BAD" }), InvalidArgumentError, "claim.id"));
  await silent.value;
  assert.is(silent.lines.length, 0, "nothing printed for a rejected claim");
});

test.run();
