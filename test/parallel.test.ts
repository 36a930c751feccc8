/**
 * Multi-thread probe, LESS features and exact k-NN graph (kernel-lib/parallel) against the
 * single-thread functions: bit for bit on cpu and wasm, whatever the split; a pool reused across
 * calls; worker errors surface with their message; typed errors; no tensors left in the caller.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { TinyTransformer } from "../kernel-lib/models/transformer";
import { attachLora } from "../kernel-lib/models/lora";
import { probeTrajectories } from "../kernel-lib/prism/probe";
import { exactKnnGraph } from "../kernel-lib/g2is/knn-graph";
import { CharCodec, TOY_ALPHABET, generateToyItem, gradientFeatures } from "../kernel-lib/studies/g2is";
import { trainLora } from "../kernel-lib/train/lora-training";
import { RandomProjector } from "../kernel-lib/features/projection";
import { ComputePool, exactKnnGraphParallel, gradientFeaturesParallel, probeTrajectoriesParallel } from "../kernel-lib/parallel";
import { splitRange } from "../kernel-lib/parallel/thread-pool";
import { InvalidArgumentError } from "../kernel-lib/errors";
import { Rng } from "../kernel-lib/random";
import { TEST_BACKENDS, expectError, expectNoLeak, useBackend } from "./helpers";

const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));

function probeExamples(count: number, T: number, vocab: number, seed: string) {
  const rng = new Rng(seed);
  return Array.from({ length: count }, (_, i) => {
    const tokens = Array.from({ length: T }, () => rng.int(vocab));
    const start = 2 + rng.int(T - 4);
    return { tokens, lossMask: tokens.map((_, t) => (t >= start ? 1 : 0)), id: `e${i}`, label: i % 3 === 0 };
  });
}

test("splitRange covers [0, n) in order with near-equal non-empty parts", () => {
  assert.equal(splitRange(10, 3), [[0, 3], [3, 6], [6, 10]]);
  assert.equal(splitRange(2, 5), [[0, 1], [1, 2]]);
  assert.equal(splitRange(0, 2), []);
});

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] probe, LESS features and k-NN graph on 2 and 3 threads equal one thread bit for bit`, async () => {
    await useBackend(backend);
    const pool = new ComputePool({ threads: 3 });
    try {
      const model = new TinyTransformer({ vocabSize: 20, dModel: 16, nLayers: 2, nHeads: 2, nKvHeads: 1, dFF: 24, maxLen: 12, seed: 4 });
      const examples = probeExamples(11, 12, 20, "parallel-probe");
      const options = { batchSize: 4, positions: [3, 9] };
      const one = probeTrajectories(model, examples, options);
      for (const threads of [2, 3]) {
        const many = await expectNoLeak("probeTrajectoriesParallel", () => probeTrajectoriesParallel(model, examples, { ...options, threads }));
        assert.ok(one.vectors.every((row, i) => sameBits(row, many.vectors[i])), `${threads} threads: probe vectors`);
        assert.ok(sameBits(one.losses, many.losses), `${threads} threads: losses`);
        for (const m of Object.keys(one.scores) as Array<keyof typeof one.scores>) assert.ok(sameBits(one.scores[m], many.scores[m]), `${threads} threads: ${m}`);
        assert.equal(many.examples, one.examples);
        assert.ok(one.positionVectors!.vectors.every((p, i) => p.every((row, j) => sameBits(row, many.positionVectors!.vectors[i][j]))), "per-position vectors");
      }
      const reused = await probeTrajectoriesParallel(model, examples, { ...options, pool });
      assert.ok(one.vectors.every((row, i) => sameBits(row, reused.vectors[i])), "a reused pool gives the same vectors");

      const codec = new CharCodec(TOY_ALPHABET, 20);
      const rng = new Rng("parallel-less");
      const items = ["ADD", "SUB", "REV", "CMP"].flatMap((f) => [generateToyItem(f as never, rng), generateToyItem(f as never, rng)]).map((i) => codec.encodePair(i.prompt, i.answer)).map((e) => ({ tokens: e.tokens, lossMask: e.lossMask }));
      const lm = new TinyTransformer({ vocabSize: codec.vocabSize, maxLen: 20, dModel: 16, nLayers: 1, nHeads: 2, dFF: 32, seed: 5 });
      attachLora(lm, { rank: 2, targets: ["q", "v"], seed: 2 });
      const warm = trainLora(lm, items, { epochs: 1, batchSize: 4, learningRate: 0.02, seed: 3 });
      const cp = warm.checkpoints[warm.checkpoints.length - 1];
      const projector = new RandomProjector({ inputDim: cp.params.length, outputDim: 8, seed: "p", blockRows: 16 });
      const single = gradientFeatures(lm, items, { role: "pool", projector, adam: cp.adam, batchSize: 3 });
      const split = await expectNoLeak("gradientFeaturesParallel", () => gradientFeaturesParallel(lm, items, { role: "pool", projector, adam: cp.adam, batchSize: 3, pool }));
      assert.ok(single.length === split.length && single.every((row, i) => sameBits(row, split[i])), "LESS features");
      await expectError(() => gradientFeaturesParallel(lm, items, { role: "pool", projector, adam: cp.adam, sink: {} as never, pool }), InvalidArgumentError, "options.sink");

      const rows = Array.from({ length: 37 }, () => Float32Array.from({ length: 9 }, () => rng.normal()));
      const graph = exactKnnGraph(rows, { k: 5, blockRows: 8 });
      const parallelGraph = await exactKnnGraphParallel(rows, { k: 5, blockRows: 8, pool });
      assert.ok(sameBits(graph.neighbors, parallelGraph.neighbors) && sameBits(graph.similarities, parallelGraph.similarities), "k-NN graph");
      await expectError(() => exactKnnGraphParallel(rows, { k: 37, pool }), InvalidArgumentError, "options.k");
      await expectError(() => probeTrajectoriesParallel(model, examples, { threads: 0 }), InvalidArgumentError, "options.threads");
      await expectError(() => probeTrajectoriesParallel(model, examples, { batchSize: -1, pool }), InvalidArgumentError, "options.batchSize");
      model.dispose();
      lm.dispose();
    } finally {
      await pool.close();
    }
    await expectError(() => pool.run({ kind: "knn-pairs", unit: new Float32Array(4), n: 2, d: 2, k: 1, blockRows: 1, pairs: [[0, 1]] }), InvalidArgumentError, "pool");
  });
}

test("an error inside a worker reaches the caller with its message", async () => {
  await useBackend("wasm");
  const pool = new ComputePool({ threads: 1 });
  try {
    const rejected = await pool.run({ kind: "probe", model: { bytes: new Uint8Array([1, 2, 3]), hash: "x" }, examples: [], options: {} }).then(() => null, (e: Error) => e);
    assert.ok(rejected instanceof Error && /probe job model/.test(rejected.message), `got ${rejected?.message}`);
  } finally {
    await pool.close();
  }
});

test.run();
