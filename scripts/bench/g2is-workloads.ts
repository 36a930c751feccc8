/**
 * G2IS benchmark workloads (rows in the BenchResult format of harness.ts):
 *  - graph.exact: exact k-NN graph (k = 10) of 20,000 clustered, seeded 512-d feature rows,
 *    blocked tfjs matMul on the current backend. Baseline: the same top-k selection over plain-JS
 *    float64 dot products (a naive loop), timed on the first 100 rows and extrapolated to 20,000
 *    (said so in the notes; running it whole would take minutes).
 *  - graph.hnsw: the HNSW graph of the same rows (hnswlib-node, M = 16, efConstruction = 100,
 *    ef = 64, seed 100). Baseline: graph.exact's time; ratio = exact / hnsw; recall@10 against
 *    the exact graph in the notes.
 *  - features.throughput: examples/s projecting per-example gradient vectors of length
 *    P = 100,000 to d = 512 with RandomProjector.project (256 examples, blocks generated once per
 *    call — generation included in the time). Baseline: the explicit per-example loop through
 *    the same projector (projectBatch([x]) per example) with the whole projection matrix cached
 *    (so the baseline pays no generation at all: the comparison favours the baseline). A plain-JS
 *    float64 matvec against the cached matrix is reported in the notes for scale.
 * Everything is seeded; the whole file runs in about two minutes on wasm here. Single runs (no
 * repeats: each graph takes tens of seconds); the notes add process CPU seconds next to the
 * wall-clock value, since on a shared 2-core machine wall time also counts other processes.
 */
import { exactKnnGraphParallel } from "../../kernel-lib/parallel";
import { exactKnnGraph, hnswKnnGraph, recallAtK } from "../../kernel-lib/g2is";
import { RandomProjector, generateProjectionBlock } from "../../kernel-lib/features";
import { Rng } from "../../kernel-lib/random";
import { writeNpy } from "../../kernel-lib/io/npy";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { initBackend, describeBackend } from "../../kernel-lib/backend";
import { BenchResult, bestOf, formatTable } from "./harness";

export const GRAPH_BENCH = { n: 20_000, d: 512, k: 10, clusters: 200, noise: 1.0, seed: "bench-g2is-graph" };
export const HNSW_BENCH = { M: 16, efConstruction: 100, ef: 64, seed: 100 };
export const PROJECTION_BENCH = { P: 100_000, d: 512, examples: 256, loopExamples: 16, jsExamples: 4, seed: "bench-g2is-projection" };

/** n rows around random centres: centre ~ N(0, I), row = centre + noise·N(0, I). */
export function clusteredFeatures(n: number, d: number, clusters: number, noise: number, seed: string): Float32Array[] {
  const rng = new Rng(seed);
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: d }, () => rng.normal()));
  return Array.from({ length: n }, () => {
    const centre = centres[rng.int(clusters)];
    return Float32Array.from(centre, (x) => x + noise * rng.normal());
  });
}

/** One timed run: wall-clock and process CPU seconds (user + system, all threads). */
function measure<T>(fn: () => T): { seconds: number; cpuSeconds: number; result: T } {
  const cpu0 = process.cpuUsage(), t0 = process.hrtime.bigint();
  const result = fn();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9, cpu = process.cpuUsage(cpu0);
  return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, result };
}

/** Naive baseline: per row, float64 dot products with every row, the same insertion top-k. */
function naiveKnnRows(rows: readonly Float32Array[], k: number, firstRows: number): Int32Array {
  const n = rows.length, d = rows[0].length;
  const unit = rows.map((r) => { let s = 0; for (const x of r) s += x * x; const m = Math.sqrt(s); return Float64Array.from(r, (x) => x / m); });
  const out = new Int32Array(firstRows * k), bestIdx = new Int32Array(k), bestSim = new Float64Array(k);
  for (let i = 0; i < firstRows; i++) {
    let count = 0;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let v = 0;
      const a = unit[i], b = unit[j];
      for (let q = 0; q < d; q++) v += a[q] * b[q];
      if (count === k && !(v > bestSim[k - 1])) continue;
      let p = count < k ? count++ : k - 1;
      while (p > 0 && bestSim[p - 1] < v) { bestSim[p] = bestSim[p - 1]; bestIdx[p] = bestIdx[p - 1]; p--; }
      bestSim[p] = v; bestIdx[p] = j;
    }
    out.set(bestIdx, i * k);
  }
  return out;
}

/**
 * Runs the three workloads. With `workdir`, also writes what scripts/bench/python_g2is.py reads
 * (g2is-graph-features.npy [n, d] float32, g2is-graph-exact.npy [n, k] int32) for the numpy
 * side-by-side; fold its JSON in with `numpyGraphRow`.
 */
export async function benchGraphs(workdir?: string): Promise<BenchResult[]> {
  const { n, d, k, clusters, noise, seed } = GRAPH_BENCH;
  const rows = clusteredFeatures(n, d, clusters, noise, seed);
  const exact = measure(() => exactKnnGraph(rows, { k }));
  // Both cores: rows split over two worker threads (pool start-up included: a one-off call).
  const t0 = performance.now();
  const parallel = await exactKnnGraphParallel(rows, { k, threads: 2 });
  const parallelSeconds = (performance.now() - t0) / 1000;
  const identical = parallel.neighbors.every((v, i) => v === exact.result.neighbors[i]) && parallel.similarities.every((v, i) => Object.is(v, exact.result.similarities[i]));
  if (workdir !== undefined) {
    mkdirSync(workdir, { recursive: true });
    const flat = new Float32Array(n * d);
    rows.forEach((r, i) => flat.set(r, i * d));
    writeNpy(join(workdir, "g2is-graph-features.npy"), { dtype: "float32", shape: [n, d], data: flat });
    writeNpy(join(workdir, "g2is-graph-exact.npy"), { dtype: "int32", shape: [n, k], data: exact.result.neighbors });
  }
  const sampleRows = 100;
  const naive = measure(() => naiveKnnRows(rows, k, sampleRows));
  const naiveSeconds = (naive.seconds * n) / sampleRows;
  let agree = 0;
  for (let q = 0; q < sampleRows * k; q++) if (naive.result[q] === exact.result.neighbors[q]) agree++;
  const hnsw = measure(() => hnswKnnGraph(rows, { k, ...HNSW_BENCH }));
  const recall = recallAtK(hnsw.result, exact.result);
  const data = `${n}×${d} clustered (${clusters} centres, noise ${noise}), k=${k}`;
  const result: BenchResult[] = [
    {
      id: "graph.exact", value: exact.seconds, unit: "s", baseline: `plain-JS float64 loop, extrapolated from ${sampleRows} rows`,
      baselineValue: naiveSeconds, ratio: naiveSeconds / exact.seconds,
      notes: `${data}; blocked matMul, 1024 rows per block; CPU ${exact.cpuSeconds.toFixed(1)} s (naive ${(naive.cpuSeconds * n / sampleRows).toFixed(0)} s); naive and exact agree on ${(100 * agree / (sampleRows * k)).toFixed(1)}% of neighbour slots of the sampled rows`,
    },
    {
      id: "graph.exact.threads2_vs_threads1", value: parallelSeconds, unit: "s", baseline: "graph.exact (one thread)",
      baselineValue: exact.seconds, ratio: exact.seconds / parallelSeconds,
      notes: `${data}; 2 worker threads incl. their start-up; bit-identical to one thread: ${identical}`,
    },
    {
      id: "graph.hnsw", value: hnsw.seconds, unit: "s", baseline: "graph.exact (blocked matMul)",
      baselineValue: exact.seconds, ratio: exact.seconds / hnsw.seconds,
      notes: `${data}; hnswlib M=${HNSW_BENCH.M} efConstruction=${HNSW_BENCH.efConstruction} ef=${HNSW_BENCH.ef} seed=${HNSW_BENCH.seed}, build + query of all rows, CPU ${hnsw.cpuSeconds.toFixed(1)} s; recall@${k} vs exact ${recall.toFixed(5)}`,
    },
  ];
  result.push(await benchProjection());
  return result;
}

/**
 * The numpy row from python_g2is.py's JSON, against gradlab's two-thread graph (both use the two cores), ({ graph_exact: { seconds, agreement, threads } }), or
 * null when the Python side did not run it. Ratio = numpy seconds / gradlab seconds (> 1: gradlab faster).
 */
export function numpyGraphRow(exactRow: BenchResult, side: Record<string, unknown>): BenchResult | null {
  const g = side.graph_exact as { seconds: number; agreement: number; threads: string } | undefined;
  if (typeof g !== "object" || g === null || typeof g.seconds !== "number") return null;
  return {
    id: "graph.exact.vs_numpy", value: exactRow.value, unit: "s", baseline: `numpy blocked matmul + argpartition (${g.threads} BLAS threads)`,
    baselineValue: g.seconds, ratio: g.seconds / exactRow.value,
    notes: `same ${GRAPH_BENCH.n}×${GRAPH_BENCH.d} rows, k=${GRAPH_BENCH.k}, gradlab on 2 worker threads (${exactRow.id}); numpy and gradlab agree on ${(100 * g.agreement).toFixed(2)}% of neighbour slots`,
  };
}

async function benchProjection(): Promise<BenchResult> {
  const { P, d, examples, loopExamples, jsExamples, seed } = PROJECTION_BENCH;
  const rng = new Rng(seed);
  const vectors = Array.from({ length: examples }, () => Float32Array.from({ length: P }, () => rng.normal()));
  const batched = new RandomProjector({ inputDim: P, outputDim: d, seed, batchSize: 256 });
  const all = await bestOf(1, () => batched.project(vectors), false);
  const perSecond = examples / all.seconds;

  // Baseline: one example at a time through the same projector, with R fully cached beforehand.
  const single = new RandomProjector({ inputDim: P, outputDim: d, seed, cacheBytes: P * d * 4 });
  single.projectBatch([vectors[0]]); // fills the cache; not timed
  const loop = await bestOf(1, () => { for (let i = 0; i < loopExamples; i++) single.projectBatch([vectors[i]]); }, false);
  const loopPerSecond = loopExamples / loop.seconds;
  single.clearCache();

  // For scale: a plain-JS matvec (float64 accumulation) against R held transposed in memory.
  const blockRows = single.blockRows, blocks = single.numBlocks;
  const transposedBlocks = Array.from({ length: blocks }, (_, b) => {
    const rows = Math.min(P, (b + 1) * blockRows) - b * blockRows;
    return { rows, values: generateProjectionBlock(seed, "rademacher", d, blockRows, b, rows, "transposed") };
  });
  let maxRel = 0;
  const js = await bestOf(1, () => {
    for (let e = 0; e < jsExamples; e++) {
      const x = vectors[e], y = new Float64Array(d);
      transposedBlocks.forEach(({ rows, values }, b) => {
        const offset = b * blockRows;
        for (let j = 0; j < d; j++) {
          let s = 0;
          for (let i = 0, at = j * rows; i < rows; i++, at++) s += values[at] * x[offset + i];
          y[j] += s;
        }
      });
      const reference = all.result[e];
      let worst = 0, scale = 0;
      for (let j = 0; j < d; j++) { worst = Math.max(worst, Math.abs(y[j] - reference[j])); scale = Math.max(scale, Math.abs(y[j])); }
      maxRel = Math.max(maxRel, worst / scale);
    }
  }, false);
  const jsPerSecond = jsExamples / js.seconds;
  return {
    id: "features.throughput", value: perSecond, unit: "examples/s",
    baseline: "per-example projectBatch([x]) loop, projection matrix cached", baselineValue: loopPerSecond, ratio: perSecond / loopPerSecond,
    notes: `P=${P} → d=${d}, ${examples} examples in one project() call (block generation included); ` +
      `plain-JS matvec vs cached R: ${jsPerSecond.toFixed(1)} examples/s; max |JS − project| / max |JS| ${maxRel.toExponential(1)}`,
  };
}

if (require.main === module) {
  // Stand-alone: `node --require tsx/cjs scripts/bench/g2is-workloads.ts` (wasm backend).
  (async () => {
    console.log(describeBackend(await initBackend()));
    const started = Date.now();
    const rows = await benchGraphs();
    console.log(formatTable(rows));
    console.log(`total ${((Date.now() - started) / 1000).toFixed(0)} s`);
  })().catch((e) => { console.error(e); process.exit(1); });
}
