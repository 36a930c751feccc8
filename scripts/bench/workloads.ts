/**
 * The benchmark workloads, each timed against a baseline in the same command:
 *  - probe.batched_vs_loop: PRISM probe throughput (trajectories/s), batched strategy vs the
 *    per-example loop oracle, tiny transformer L=2, d=64, T=64, batch 64 (issue spec), with the
 *    max relative error between the two.
 *  - gini.1e7: Gini of 10⁷ values, gradlab (typed-array sort) vs a plain Array sort baseline.
 * The Python side (numpy / PyTorch) reads the files written here and runs the same workloads.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TinyTransformer } from "../../kernel-lib/models/transformer";
import { probeTrajectories } from "../../kernel-lib/prism/probe";
import { gini } from "../../kernel-lib/metrics/concentration";
import { writeNpy } from "../../kernel-lib/io/npy";
import { writeSafetensors } from "../../kernel-lib/io/safetensors";
import { Rng } from "../../kernel-lib/random";
import { bestOf, BenchResult } from "./harness";
import { ComputePool, probeTrajectoriesParallel } from "../../kernel-lib/parallel";

export const PROBE_CONFIG = { vocabSize: 64, dModel: 64, nLayers: 2, nHeads: 4, dFF: 128, maxLen: 64, seed: 0 };
export const PROBE_BATCH = 64;

function probeBatch() {
  const rng = new Rng("bench-probe");
  return Array.from({ length: PROBE_BATCH }, () => {
    const tokens = Array.from({ length: PROBE_CONFIG.maxLen }, () => rng.int(PROBE_CONFIG.vocabSize));
    const start = 8 + rng.int(40); // response tokens from a random point on, as in a trajectory
    return { tokens, lossMask: tokens.map((_, t) => (t >= start ? 1 : 0)) };
  });
}

export async function benchProbe(workdir: string): Promise<{ rows: BenchResult[]; batchedPerSecond: number; parallelPerSecond: number }> {
  const model = new TinyTransformer(PROBE_CONFIG);
  const examples = probeBatch();
  const batched = await bestOf(3, () => probeTrajectories(model, examples, { batchSize: PROBE_BATCH, metrics: ["gini"] }));
  // Both cores: the batch split over two worker threads (a warm pool: start-up reported apart).
  const pool = new ComputePool({ threads: 2 });
  const startup = await bestOf(1, () => probeTrajectoriesParallel(model, examples.slice(0, 2), { batchSize: PROBE_BATCH, metrics: ["gini"], pool }), false);
  const parallel = await bestOf(3, () => probeTrajectoriesParallel(model, examples, { batchSize: PROBE_BATCH, metrics: ["gini"], pool }));
  await pool.close();
  const identical = parallel.result.vectors.every((row, i) => row.every((v, j) => Object.is(v, batched.result.vectors[i][j])));
  const loop = await bestOf(1, () => probeTrajectories(model, examples, { strategy: "loop", metrics: ["gini"] }), false);
  let maxRel = 0;
  batched.result.vectors.forEach((row, i) => row.forEach((v, j) => {
    const ref = loop.result.vectors[i][j];
    maxRel = Math.max(maxRel, Math.abs(v - ref) / Math.max(Math.abs(ref), 1e-12));
  }));
  const batchedPerSecond = PROBE_BATCH / batched.seconds;
  const loopPerSecond = PROBE_BATCH / loop.seconds;

  // Files for the PyTorch side: same weights, same batch, and our vectors to compare with.
  mkdirSync(workdir, { recursive: true });
  const weights: Record<string, { dtype: "float32"; shape: number[]; data: Float32Array }> = {};
  for (const { name, variable } of model.namedWeights()) {
    weights[name] = { dtype: "float32", shape: variable.shape, data: variable.dataSync() as Float32Array };
  }
  writeSafetensors(join(workdir, "probe-model.safetensors"), weights);
  writeNpy(join(workdir, "probe-tokens.npy"), { dtype: "int32", shape: [PROBE_BATCH, PROBE_CONFIG.maxLen], data: Int32Array.from(examples.flatMap((e) => e.tokens)) });
  writeNpy(join(workdir, "probe-mask.npy"), { dtype: "float32", shape: [PROBE_BATCH, PROBE_CONFIG.maxLen], data: Float32Array.from(examples.flatMap((e) => e.lossMask)) });
  const n = batched.result.matrices.length;
  writeNpy(join(workdir, "probe-vectors.npy"), { dtype: "float64", shape: [PROBE_BATCH, n], data: Float64Array.from(batched.result.vectors.flat()) });
  writeFileSync(join(workdir, "probe-config.json"), JSON.stringify(model.config));
  model.dispose();

  const parallelPerSecond = PROBE_BATCH / parallel.seconds;
  return {
    batchedPerSecond,
    parallelPerSecond,
    rows: [{
      id: "probe.threads2_vs_threads1",
      value: parallelPerSecond, unit: "traj/s", baseline: "the batched probe on one thread, same process", baselineValue: batchedPerSecond,
      ratio: parallelPerSecond / batchedPerSecond,
      notes: `2 worker threads, each its own wasm backend, warm pool (first call incl. start-up ${startup.seconds.toFixed(2)} s); vectors bit-identical to one thread: ${identical}`,
    }, {
      id: "probe.batched_vs_loop",
      value: batchedPerSecond,
      unit: "traj/s",
      baseline: "loop oracle, same process",
      baselineValue: loopPerSecond,
      ratio: batchedPerSecond / loopPerSecond,
      notes: `L=2 d=64 T=64 B=64 V=64, ${n} matrices; max rel err batched vs loop ${maxRel.toExponential(2)}`,
    }],
  };
}

export async function benchGini(workdir: string): Promise<{ rows: BenchResult[]; seconds: number }> {
  const N = 10_000_000;
  const rng = new Rng("bench-gini");
  const values = new Float32Array(N);
  for (let i = 0; i < N; i++) values[i] = Math.abs(rng.normal());
  const fast = await bestOf(3, () => gini(values));
  // Baseline: the obvious JS — copy to an Array, comparator sort, one pass.
  const naive = await bestOf(1, () => {
    const sorted = Array.from(values).sort((a, b) => a - b);
    let weighted = 0, total = 0;
    for (let j = 0; j < N; j++) { weighted += (2 * (j + 1) - N - 1) * sorted[j]; total += sorted[j]; }
    return weighted / (N * total);
  }, false);
  mkdirSync(workdir, { recursive: true });
  writeNpy(join(workdir, "gini.npy"), { dtype: "float32", shape: [N], data: values });
  return {
    seconds: fast.seconds,
    rows: [{
      id: "gini.1e7",
      value: fast.seconds * 1000,
      unit: "ms",
      baseline: "Array.sort with comparator",
      baselineValue: naive.seconds * 1000,
      ratio: naive.seconds / fast.seconds,
      notes: `gini=${fast.result.toFixed(6)}; baseline gini=${naive.result.toFixed(6)}`,
    }],
  };
}
