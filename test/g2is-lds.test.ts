/**
 * Linear datamodeling score and the TRAK-style kernel scorer against known answers: a synthetic
 * linear datamodel (losses exactly −Σ effects, plus noise) and closed-form kernels.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { linearDatamodelingScore, kernelScores } from "../kernel-lib/g2is";
import { spearman } from "../kernel-lib/metrics/ranking";
import { EmptyInputError, InvalidArgumentError, ShapeError, UnknownOptionError } from "../kernel-lib/errors";
import { Rng } from "../kernel-lib/random";
import { assertClose, expectError } from "./helpers";

function linearWorld(seed: string, nPool: number, nTargets: number, nSubsets: number, noise: number) {
  const rng = new Rng(seed);
  const effects = Array.from({ length: nTargets }, () => Float64Array.from({ length: nPool }, () => rng.normal()));
  const subsets = Array.from({ length: nSubsets }, (_, j) => rng.derive(j).sampleIndices(nPool, nPool / 2));
  const losses = subsets.map((s) => effects.map((e) => 5 - s.reduce((a, i) => a + e[i], 0) + noise * rng.normal()));
  return { effects, subsets, losses };
}

test("LDS: the true effects score ≈ 1, their negation ≈ −1, unrelated scores ≈ 0; per target = a direct Spearman", () => {
  const w = linearWorld("lds", 40, 5, 30, 0.01);
  const truth = linearDatamodelingScore(w.effects, w.subsets, w.losses);
  assert.ok(truth.mean > 0.99, `true effects: ${truth.mean}`);
  assert.is(truth.subsets, 30);
  assert.is(truth.undefinedTargets, 0);
  const flipped = linearDatamodelingScore(w.effects.map((e) => e.map((x) => -x)), w.subsets, w.losses);
  assert.ok(flipped.mean < -0.99, `negated: ${flipped.mean}`);
  const rng = new Rng("lds-random");
  const unrelated = linearDatamodelingScore(w.effects.map(() => Float64Array.from({ length: 40 }, () => rng.normal())), w.subsets, w.losses);
  assert.ok(Math.abs(unrelated.mean) < 0.3, `unrelated: ${unrelated.mean}`);
  // Target 2, by hand: predicted = −Σ τ over the subset, ρ with the measured losses.
  const predicted = w.subsets.map((s) => -s.reduce((a, i) => a + w.effects[2][i], 0));
  assertClose(truth.perTarget[2], spearman(predicted, w.losses.map((l) => l[2])), 1e-12);
});

test("LDS: constant scores or losses have no ρ (NaN, counted, left out of the mean); errors name the argument", async () => {
  const w = linearWorld("lds2", 20, 3, 6, 0.1);
  const scores = [new Float64Array(20), w.effects[1], w.effects[2]];
  const r = linearDatamodelingScore(scores, w.subsets, w.losses);
  assert.ok(Number.isNaN(r.perTarget[0]));
  assert.is(r.undefinedTargets, 1);
  assertClose(r.mean, (r.perTarget[1] + r.perTarget[2]) / 2, 1e-12);
  await expectError(() => linearDatamodelingScore([], w.subsets, w.losses), EmptyInputError, "scores");
  await expectError(() => linearDatamodelingScore(w.effects, w.subsets.slice(0, 2), w.losses.slice(0, 2)), InvalidArgumentError, "subsets");
  await expectError(() => linearDatamodelingScore(w.effects, w.subsets, w.losses.slice(1)), ShapeError, "losses");
  await expectError(() => linearDatamodelingScore(w.effects, [[0, 99], ...w.subsets.slice(1)], w.losses), InvalidArgumentError, "subsets[0]");
  await expectError(() => linearDatamodelingScore(w.effects, w.subsets, [[NaN, 1, 1], ...w.losses.slice(1)]), InvalidArgumentError, "losses[0][0]");
});

test("kernelScores: closed forms (orthonormal pool; a 2-D pool by explicit inverse) and errors", async () => {
  const eye = [Float32Array.of(1, 0, 0), Float32Array.of(0, 1, 0), Float32Array.of(0, 0, 1)];
  const z = Float32Array.of(0.5, -2, 3);
  assertClose(kernelScores(eye, [z])[0], [0.5 / 1.01, -2 / 1.01, 3 / 1.01], 1e-12, "ΦᵀΦ = I, λ = 0.01");
  const pool = [Float32Array.of(1, 2), Float32Array.of(3, -1), Float32Array.of(0, 1)];
  // ΦᵀΦ = [[10, -1], [-1, 6]], mean diagonal 8, λ = 0.1·8 = 0.8 → A = [[10.8, -1], [-1, 6.8]].
  const det = 10.8 * 6.8 - 1, inv = [[6.8 / det, 1 / det], [1 / det, 10.8 / det]];
  const t = Float32Array.of(1, 1), w = [inv[0][0] * t[0] + inv[0][1] * t[1], inv[1][0] * t[0] + inv[1][1] * t[1]];
  assertClose(kernelScores(pool, [t], { lambda: 0.1 })[0], pool.map((r) => w[0] * r[0] + w[1] * r[1]), 1e-12);
  await expectError(() => kernelScores(pool, [Float32Array.of(1, 2, 3)]), ShapeError, "targets");
  await expectError(() => kernelScores(pool, [t], { lambda: 0 }), InvalidArgumentError, "options.lambda");
  await expectError(() => kernelScores(pool, [t], { ridge: 1 } as never), UnknownOptionError, "options");
});

test.run();
