/**
 * Parallel (multi-thread) versions of the three big single jobs: the PRISM probe, LESS gradient
 * features and the exact k-NN graph. The probe and the features split their examples into one
 * contiguous slice per thread, run the ordinary single-thread function on each slice in a worker
 * thread with its own backend (thread-pool.ts), and concatenate — the same numbers as one thread,
 * bit for bit (every per-example result is independent of which other examples share its batch;
 * tested). The graph spreads its block pairs over the threads and merges the per-row top-k lists,
 * which under knn-exact.ts's total order equal one thread's, bit for bit.
 *
 * Pass `pool` to reuse running workers across calls (start-up is ~0.5 s per worker); otherwise a
 * pool of `threads` workers (default: one per core) is started and closed by the call.
 */
import { InvalidArgumentError, assertKnownKeys } from "../errors";
import { serializeModel } from "../models/io";
import type { TinyTransformer } from "../models/transformer";
import { prepareProbeExamples, probeTrajectories, ProbeExample, ProbeOptions, ProbeResult } from "../prism/probe";
import type { MetricName } from "../metrics/concentration";
import { gradientFeatures, GradientFeatureOptions } from "../studies/g2is/features";
import type { TrainingExample } from "../train/lora-training";
import { exactKnnGraph, ExactGraphOptions, KnnGraph, topKGraph } from "../g2is/knn-graph";
import { blockPairs, emptyTopK, mergeTopK } from "../g2is/knn-exact";
import { packRows, normalizePacked, FeatureRows } from "../g2is/rows";
import type { RandomProjector, RandomProjectorOptions } from "../features/projection";
import { ComputePool, availableCores, checkThreads, splitRange } from "./thread-pool";
import { modelPayload } from "./jobs";
import { prepareTokenBatch, TokenBatch } from "../models/token-batch";

export { ComputePool, withComputePool, availableCores } from "./thread-pool";

/** How a parallel call gets its workers. */
export interface ParallelOptions {
  /** Worker threads (default: one per core); ignored when `pool` is given. */
  threads?: number;
  /** A running pool to use (kept open). */
  pool?: ComputePool;
}

async function onPool<T>(options: ParallelOptions, run: (pool: ComputePool) => Promise<T>): Promise<T> {
  if (options.pool !== undefined) {
    if (!(options.pool instanceof ComputePool)) throw new InvalidArgumentError("options.pool", "a ComputePool", options.pool);
    return run(options.pool);
  }
  const pool = new ComputePool({ threads: checkThreads("options.threads", options.threads ?? availableCores()) });
  try {
    return await run(pool);
  } finally {
    await pool.close();
  }
}

function threadsOf(options: ParallelOptions): number {
  if (options.pool !== undefined) return options.pool.threads;
  return options.threads === undefined ? availableCores() : checkThreads("options.threads", options.threads);
}

/** `probeTrajectories` with its trajectories split over worker threads (see the module header). */
export async function probeTrajectoriesParallel(model: TinyTransformer, examples: readonly ProbeExample[], options: ProbeOptions & ParallelOptions = {}): Promise<ProbeResult> {
  const { threads: _t, pool: _p, ...probeOptions } = options;
  const started = Date.now();
  const parts = splitRange(examples.length, threadsOf(options));
  if (parts.length <= 1) return probeTrajectories(model, examples, probeOptions); // validates, and nothing to split
  prepareProbeExamples(model, examples); // every trajectory, here: a worker would name its index within its slice
  probeTrajectories(model, examples.slice(0, 1), probeOptions); // validates options and the model here, before any worker starts
  const payload = modelPayload(serializeModel(model));
  const results = await onPool(options, (pool) => Promise.all(parts.map(([a, b]) => pool.run({ kind: "probe", model: payload, examples: examples.slice(a, b), options: probeOptions }))));
  const merged: ProbeResult = {
    ...results[0],
    vectors: results.flatMap((r) => r.vectors),
    losses: results.flatMap((r) => r.losses),
    examples: results.flatMap((r) => r.examples),
    scores: Object.fromEntries(Object.keys(results[0].scores).map((m) => [m, results.flatMap((r) => r.scores[m as MetricName])])) as ProbeResult["scores"],
    seconds: (Date.now() - started) / 1000,
  };
  if (results[0].positionVectors !== undefined) {
    merged.positionVectors = { positions: results[0].positionVectors.positions, vectors: results.flatMap((r) => r.positionVectors?.vectors ?? []) };
  }
  return merged;
}

function projectorOptions(p: RandomProjector): RandomProjectorOptions {
  return {
    ...(p.groups === null ? { inputDim: p.inputDim } : { groups: p.groups.map(({ name, size }) => ({ name, size })) }),
    outputDim: p.outputDim, kind: p.kind, seed: p.seed, blockRows: p.blockRows, batchSize: p.batchSize, cacheBytes: p.cacheBytes,
  };
}

/** `gradientFeatures` with its examples split over worker threads (no `sink`: rows come back in order). */
export async function gradientFeaturesParallel(model: TinyTransformer, examples: readonly TrainingExample[], options: GradientFeatureOptions & ParallelOptions): Promise<Float32Array[]> {
  const { threads: _t, pool: _p, ...featureOptions } = options;
  if (featureOptions.sink !== undefined) throw new InvalidArgumentError("options.sink", "no sink in the parallel version (write the returned rows, or use gradientFeatures)");
  const parts = splitRange(examples.length, threadsOf(options));
  if (parts.length <= 1) return gradientFeatures(model, examples, featureOptions);
  // Every example, here: a worker would name its index within its slice.
  examples.forEach((e, i) => prepareTokenBatch({ tokens: [e?.tokens], lossMask: [e?.lossMask] } as TokenBatch, model.config.vocabSize, model.config.maxLen, i));
  gradientFeatures(model, examples.slice(0, 1), featureOptions); // validates the options here, before any worker starts
  const payload = modelPayload(serializeModel(model));
  const { role, projector, adam, form, batchSize } = featureOptions;
  const results = await onPool(options, (pool) => Promise.all(parts.map(([a, b]) => pool.run({
    kind: "gradient-features", model: payload, examples: examples.slice(a, b), role, projector: projectorOptions(projector), adam, form, batchSize,
  }))));
  return results.flat();
}

/** `exactKnnGraph` with its block pairs spread over worker threads (partial top-k lists merged). */
export async function exactKnnGraphParallel(rows: FeatureRows, options: ExactGraphOptions & ParallelOptions): Promise<KnnGraph> {
  const { threads: _t, pool: _p, ...graphOptions } = options;
  assertKnownKeys("options", graphOptions, ["k", "blockRows"]);
  const threads = threadsOf(options);
  const packed = packRows("rows", rows), { n, d } = packed;
  const k = graphOptions.k, blockRows = graphOptions.blockRows ?? 1024;
  const pairs = n < 2 ? [] : blockPairs(n, typeof blockRows === "number" && blockRows > 0 ? blockRows : 1);
  if (threads <= 1 || pairs.length <= 1) return exactKnnGraph(rows, graphOptions);
  if (typeof k !== "number" || !Number.isInteger(k) || k < 1 || k > n - 1) throw new InvalidArgumentError("options.k", `an integer in [1, ${n - 1}] (neighbours per node, the node itself excluded)`, k);
  if (!Number.isInteger(blockRows) || blockRows < 1) throw new InvalidArgumentError("options.blockRows", "a positive integer", blockRows);
  const started = performance.now();
  const unit = normalizePacked(packed).data;
  // Round-robin over the row-major pair list: every thread gets a mix of long and short rows.
  const shares = Array.from({ length: Math.min(threads, pairs.length) }, (_, t) => pairs.filter((_, p) => p % threads === t));
  const parts = await onPool(options, (pool) => Promise.all(shares.map((share) => pool.run({ kind: "knn-pairs", unit, n, d, k, blockRows, pairs: share }))));
  const top = emptyTopK(n, k);
  for (const part of parts) mergeTopK(top, part);
  return { n, k, ...topKGraph(top), method: "exact", buildSeconds: (performance.now() - started) / 1000, params: { k, blockRows, threads: shares.length } };
}
