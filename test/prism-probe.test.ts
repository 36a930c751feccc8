import { test } from "uvu";
import * as assert from "uvu/assert";
import { route, median } from "../kernel-lib/prism/routing";
import { probeTrajectories, routeByMetric, probeRecords, probeDataFrame } from "../kernel-lib/prism/probe";
import { TinyTransformer } from "../kernel-lib/models/transformer";
import { GruLanguageModel } from "../kernel-lib/models/gru";
import { perExampleGradients } from "../kernel-lib/grads/per-example";
import { gini, l2 } from "../kernel-lib/metrics/concentration";
import { Rng } from "../kernel-lib/random";
import { EmptyInputError, InvalidArgumentError, NonFiniteError, ShapeError, UnknownOptionError } from "../kernel-lib/errors";
import { TEST_BACKENDS, useBackend, expectNoLeak, assertClose, expectError } from "./helpers";

test("median rule: ≤ median → SFT, > median → RL, ties to SFT and counted", () => {
  const r = route([5, 1, 3, 3, 3, 9], { rule: "median" });
  assert.is(r.threshold, 3);
  assert.equal(r.routes, ["rl", "sft", "sft", "sft", "sft", "rl"]);
  assert.is(r.ties, 3);
  assert.is(r.rlFraction, 2 / 6);
  const even = route([4, 1, 2, 3], { rule: "median" });
  assert.is(even.threshold, 2.5);
  assert.equal(even.rlIndices, [0, 3]);
  assert.is(even.ties, 0);
  assert.is(median([3, 1, 2]), 2);
});

test("top-q sends the round(q·n) highest to RL; inverse the lowest; boundary ties are reported", () => {
  const scores = [0.1, 0.9, 0.5, 0.7, 0.3, 0.2, 0.8, 0.4, 0.6, 0.0];
  for (const q of [0.1, 0.3, 0.5, 0.7, 0.9]) {
    const top = route(scores, { rule: "top-q", q });
    const k = Math.round(q * scores.length);
    assert.is(top.rlIndices.length, k);
    const minRl = Math.min(...top.rlIndices.map((i) => scores[i]));
    const maxSft = Math.max(...top.sftIndices.map((i) => scores[i]));
    assert.ok(minRl > maxSft, `q=${q}: every RL score exceeds every SFT score`);
    const inv = route(scores, { rule: "inverse", q });
    assert.is(inv.rlIndices.length, k);
    assert.ok(Math.max(...inv.rlIndices.map((i) => scores[i])) < Math.min(...inv.sftIndices.map((i) => scores[i])));
  }
  const tied = route([1, 2, 2, 2, 3], { rule: "top-q", q: 0.4 });
  assert.equal(tied.rlIndices, [1, 4]);
  assert.is(tied.ties, 3);
});

test("random rule is reproducible from its seed and ignores the scores", () => {
  const scores = Array.from({ length: 40 }, (_, i) => i);
  const a = route(scores, { rule: "random", q: 0.5, seed: 7 });
  const b = route(scores.slice().reverse(), { rule: "random", q: 0.5, seed: 7 });
  const c = route(scores, { rule: "random", q: 0.5, seed: 8 });
  assert.equal(a.rlIndices, b.rlIndices);
  assert.not.equal(a.rlIndices, c.rlIndices);
  assert.is(a.rlIndices.length, 20);
});

test("routing rejects bad input with typed errors", async () => {
  await expectError(() => route([], { rule: "median" }), EmptyInputError, "scores");
  await expectError(() => route([1, NaN], { rule: "median" }), NonFiniteError, "scores");
  await expectError(() => route([1, 2], { rule: "best" as never }), UnknownOptionError, "options.rule");
  await expectError(() => route([1, 2], { rule: "top-q", q: 1.5 }), InvalidArgumentError, "options.q");
  await expectError(() => route([1, 2], { rule: "random" }), InvalidArgumentError, "options.seed");
  await expectError(() => route([1, 2], { rule: "median", q: 0.3 }), InvalidArgumentError, "top-q");
});

function randomExamples(n: number, T: number, vocab: number, seed: number) {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const tokens = Array.from({ length: T }, () => rng.int(vocab));
    const start = 2 + rng.int(T - 4);
    const lossMask = tokens.map((_, t) => (t >= start ? 1 : 0));
    return { tokens, lossMask, id: `ex${i}`, label: i % 2 === 0, group: i % 3 === 0 ? "a" : "b" };
  });
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] probe: batched equals the loop oracle, scores are the metrics of the vectors, no leaks`, async () => {
    await useBackend(backend);
    const model = new TinyTransformer({ vocabSize: 20, dModel: 16, nLayers: 2, nHeads: 2, dFF: 32, maxLen: 16, seed: 3 });
    const examples = randomExamples(10, 12, 20, 11);
    const fast = await expectNoLeak("probe batched", () => probeTrajectories(model, examples, { batchSize: 4 }));
    const slow = await expectNoLeak("probe loop", () => probeTrajectories(model, examples, { strategy: "loop" }));
    assert.is(fast.matrices.length, 14, "N = 7L matrices");
    assert.equal(fast.matrices.map((m) => m.module).slice(0, 7), ["q", "k", "v", "o", "gate", "up", "down"]);
    assertClose(fast.vectors.flat(), slow.vectors.flat(), 1e-4, "probe vectors");
    fast.vectors.forEach((v, i) => {
      assertClose(fast.scores.gini[i], gini(v), 1e-12, "gini");
      assertClose(fast.scores.l2[i], l2(v), 1e-12, "l2");
    });
    const scaled = probeTrajectories(model, examples, { normalisation: "sqrt-numel", metrics: ["gini"] });
    scaled.vectors.forEach((v, i) => v.forEach((x, j) => assertClose(x, fast.vectors[i][j] / Math.sqrt(fast.matrices[j].numel), 1e-6)));
    const magnitude = await expectNoLeak("routeByMetric", () => routeByMetric(fast, "l2", { rule: "median" }));
    const records = await expectNoLeak("probeRecords", () => probeRecords(fast, { magnitude }));
    assert.is(records.length, 10);
    assert.is(records[3].id, "ex3");
    assert.is(records[3].route_magnitude, magnitude.routes[3]);
    const frame = await expectNoLeak("probeDataFrame (built and disposed)", () => {
      const df = probeDataFrame(fast, { magnitude });
      const out = { shape: df.shape, columns: df.columns };
      df.dispose?.();
      return out;
    });
    assert.equal(frame.shape, [10, Object.keys(records[0]).length]);
    assert.ok(frame.columns.includes("gini") && frame.columns.includes("route_magnitude"));
    model.dispose();
  });
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] probe rejects mixed context lengths, bad tokens and masks (in a later batch too, named by the caller's index), unknown metrics and empty input; no leaks`, async () => {
    await useBackend(backend);
    const model = new TinyTransformer({ vocabSize: 20, dModel: 8, nLayers: 1, nHeads: 2, dFF: 16, maxLen: 16, seed: 1 });
    await expectNoLeak("probe error paths", async () => {
      const ex = randomExamples(3, 10, 20, 2);
      ex[2] = randomExamples(1, 12, 20, 3)[0];
      await expectError(() => probeTrajectories(model, ex), ShapeError, "examples[2]");
      // Example 6 sits in the second batch of 4: the error names it as the caller numbers it.
      const later = randomExamples(9, 10, 20, 4);
      later[6] = randomExamples(1, 12, 20, 5)[0];
      await expectError(() => probeTrajectories(model, later, { batchSize: 4 }), ShapeError, "examples[6]");
      const badToken = randomExamples(9, 10, 20, 4);
      badToken[6].tokens[3] = 20;
      await expectError(() => probeTrajectories(model, badToken, { batchSize: 4 }), InvalidArgumentError, "tokens[6][3]");
      const badMask = randomExamples(9, 10, 20, 4);
      (badMask[7].lossMask as number[])[8] = 2;
      await expectError(() => probeTrajectories(model, badMask, { batchSize: 4, strategy: "loop" }), InvalidArgumentError, "lossMask[7][8]");
      await expectError(() => probeTrajectories(model, []), EmptyInputError, "examples");
      await expectError(() => probeTrajectories(model, ex.slice(0, 2), { metrics: ["gin" as never] }), UnknownOptionError, "options.metrics[0]");
      await expectError(() => probeTrajectories(model, ex.slice(0, 2), { normalise: "raw" } as never), UnknownOptionError, "options.normalise");
    });
    model.dispose();
  });
}

test("probeTrajectories takes any token model: a GRU's probe vectors are its per-matrix loop norms (issue 20)", async () => {
  await useBackend("cpu");
  const gru = new GruLanguageModel({ vocabSize: 9, embedSize: 4, hiddenSize: 5, seed: 2 });
  const rng = new Rng(3);
  const examples = Array.from({ length: 5 }, () => {
    const tokens = Array.from({ length: 6 }, () => rng.int(9));
    return { tokens, lossMask: tokens.map((_, t) => Number(t >= 2)) };
  });
  const probe = await expectNoLeak("gru probe", () => probeTrajectories(gru, examples, { batchSize: 2, metrics: ["gini"] }));
  const loop = perExampleGradients(gru, { tokens: examples.map((e) => e.tokens), lossMask: examples.map((e) => e.lossMask) }, { strategy: "loop" });
  assert.equal(probe.matrices.map((m) => m.name), loop.matrices.map((m) => m.name));
  assert.ok(probe.matrices.length >= 2);
  probe.vectors.forEach((row, b) => assertClose(row, loop.norms[b], 1e-4, `trajectory ${b}`));
  await expectError(() => probeTrajectories({} as never, examples), InvalidArgumentError, "token model");
  gru.dispose();
});

test.run();
