/**
 * The conflict-capable feature space (studies/g2is/conflict-space.ts) on a synthetic pipeline whose
 * answer is known: every pool row shares a large offset (as LESS's β1·m/√v′ term does), and each
 * planted conflicting item is the offset MINUS its clean twin's own direction. In the raw space
 * no dot product is negative; once the pool mean is removed, conflict and twin point apart.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { centreRows, meanRow, centredCheckpointFeatures, plantedConflictRates, spaceNegativePairs, PreparedPipeline } from "../kernel-lib/studies/g2is";
import { selectG2IS, totalRejections } from "../kernel-lib/g2is";
import { InvalidArgumentError, UnknownOptionError } from "../kernel-lib/errors";
import { Rng } from "../kernel-lib/random";
import { TEST_BACKENDS, assertClose, expectError, useBackend } from "./helpers";

const d = 8;
function syntheticPipeline(): PreparedPipeline {
  const rng = new Rng("conflict-space");
  const offset = Float32Array.from({ length: d }, (_, q) => (q === 0 ? 3 : 0));
  const direction = () => Float32Array.from({ length: d }, (_, q) => (q === 0 ? 0 : 0.5 * rng.normal()));
  const plus = (u: Float32Array, s: number) => Float32Array.from(offset, (o, q) => o + s * u[q]);
  const clean = Array.from({ length: 160 }, () => plus(direction(), 1));
  const twinDirections = Array.from({ length: 40 }, () => direction());
  const conflicts = twinDirections.map((u) => plus(u, -1));
  const pool = [...clean, ...conflicts];
  const unit = (r: Float32Array) => { const n = Math.hypot(...r); return Float32Array.from(r, (x) => x / n); };
  return {
    seed: 0,
    checkpoints: [{ learningRate: 1 }],
    poolFeatures: [pool.map(unit)],
    twinFeatures: [twinDirections.map((u) => unit(plus(u, 1)))],
    // Plain gradients: no shared offset — a conflict is the negation of its twin's direction.
    poolFeaturesSgd: [[...clean.map((r) => unit(Float32Array.from(r, (x, q) => x - offset[q]))), ...twinDirections.map((u) => unit(Float32Array.from(u, (x) => -x)))]],
    twinPlainFeatures: [twinDirections.map((u) => unit(u))],
    dataset: {
      pool: pool.map((_, i) => ({ group: i < 160 ? "ADD" : i % 2 === 0 ? "ADD-reversed" : "ADD-off-by-one", conflict: i >= 160 })),
      twins: twinDirections.map((_, k) => ({ poolIndex: 160 + k })),
    },
  } as unknown as PreparedPipeline;
}

test("meanRow and centreRows: closed cases and errors", async () => {
  assertClose(meanRow([Float32Array.of(1, 2), Float32Array.of(3, 6)]), [2, 4], 1e-12);
  const centred = centreRows([Float32Array.of(1, 2), Float32Array.of(3, 6), Float32Array.of(2, 4)], Float64Array.of(2, 4));
  assertClose(centred[0], [-1 / Math.sqrt(5), -2 / Math.sqrt(5)], 1e-7);
  assert.equal(Array.from(centred[2]), [0, 0], "a row equal to the mean stays zero");
  await expectError(() => meanRow([]), InvalidArgumentError, "rows");
  await expectError(() => centreRows([Float32Array.of(1)], Float64Array.of(1, 2)), InvalidArgumentError, "rows[0]");
});

test("planted conflicts: never negative in the offset space, negative with their twin once centred", async () => {
  const p = syntheticPipeline();
  const raw = plantedConflictRates(p, "less"), centred = plantedConflictRates(p, "centred");
  assert.equal(raw.map((r) => [r.kind, r.pairs]), [["ADD-reversed", 20], ["ADD-off-by-one", 20]]);
  assert.ok(raw.every((r) => r.negativeWithTwin === 0 && r.negativeChance === 0), "the shared offset keeps every dot product positive");
  for (const r of centred) assert.ok(r.negativeWithTwin >= 0.9 * r.pairs, `${r.kind}: ${r.negativeWithTwin} of ${r.pairs} negative once centred`);
  assert.is(spaceNegativePairs(p, "less").negative, 0);
  assert.ok(spaceNegativePairs(p, "centred").fraction > 0.3, "centred pool pairs are often negative");
  assert.is(centredCheckpointFeatures(p), centredCheckpointFeatures(p), "memoised per pipeline");
  const plain = plantedConflictRates(p, "plain");
  assert.ok(plain.every((r) => r.negativeWithTwin === r.pairs), "plain space: every planted conflict is the negation of its twin");
  assert.ok(spaceNegativePairs(p, "plain").fraction > 0.3);
  await expectError(() => plantedConflictRates(p, "sgd" as never), UnknownOptionError, "space");
});

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] the walk's conflict test fires only in the centred space, and keeps planted conflict/twin-like pairs apart`, async () => {
    await useBackend(backend);
    const p = syntheticPipeline();
    // Targets: clean twins' directions (the skill the conflicts contradict), as plain rows.
    const target = p.twinFeatures[0].slice(0, 8);
    const run = (pool: Float32Array[]) => selectG2IS(pool, target, { trainK: 0.1, valK: 0.8, k: 6, graph: "exact" });
    const raw = run(p.poolFeatures[0]), centred = run(centredCheckpointFeatures(p).pool[0]);
    const fired = (s: ReturnType<typeof run>) => { const t = totalRejections(s.components); return t.neighbour.conflict + t.fallback.conflict; };
    assert.is(fired(raw), 0, "no negative pairs, no conflict rejections");
    assert.ok(fired(centred) > 0, "the conflict test turns candidates down in the centred space");
    const rows = centredCheckpointFeatures(p).pool[0];
    for (const c of centred.components) for (const a of c.path) for (const b of c.path) {
      let s = 0; for (let q = 0; q < d; q++) s += rows[a][q] * rows[b][q];
      assert.ok(s >= 0, "no negative pair within a component");
    }
  });
}

test.run();
