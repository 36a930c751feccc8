/**
 * GFLOP/s per matrix-product class, gradlab's SIMD BatchMatMul (kernel-lib/kernels) against the
 * stock tfjs-backend-wasm kernel in the same process: the "before" and "after" of issue 15's fast
 * products. Shapes are the probe's (L=2, d=64, T=64, B=64, dFF=128) and a plain 2-D projection.
 * Each class is timed best-of-5 on each kernel, in alternating rounds; ratio = fast / stock (> 1: faster).
 */
import { tf } from "../../kernel-lib/tf";
import { setFastBatchMatMul, fastBatchMatMulActive } from "../../kernel-lib/kernels/wasm-matmul";
import { BenchResult } from "./harness";

interface ProductClass { id: string; a: number[]; b: number[]; transposeA: boolean; transposeB: boolean; what: string }

const CLASSES: ProductClass[] = [
  { id: "2d", a: [4096, 64], b: [64, 128], transposeA: false, transposeB: false, what: "a projection x·W (B·T rows)" },
  { id: "2d-transposed", a: [4096, 64], b: [4096, 128], transposeA: true, transposeB: false, what: "a weight gradient xᵀ·δ (transpose flag)" },
  { id: "attention-scores", a: [256, 64, 16], b: [256, 64, 16], transposeA: false, transposeB: true, what: "q·kᵀ per (example, head)" },
  { id: "attention-values", a: [256, 64, 64], b: [256, 64, 16], transposeA: false, transposeB: false, what: "softmax·v per (example, head)" },
  { id: "per-example-direct", a: [64, 64, 128], b: [64, 64, 64], transposeA: true, transposeB: false, what: "Δᵀ·X per example (probe, direct)" },
  { id: "per-example-gram", a: [64, 64, 64], b: [64, 64, 64], transposeA: false, transposeB: true, what: "X·Xᵀ per example (probe, gram)" },
];

function flops(c: ProductClass): number {
  const m = c.transposeA ? c.a[c.a.length - 1] : c.a[c.a.length - 2];
  const k = c.transposeA ? c.a[c.a.length - 2] : c.a[c.a.length - 1];
  const n = c.transposeB ? c.b[c.b.length - 2] : c.b[c.b.length - 1];
  const batch = c.a.length > 2 ? c.a[0] : 1;
  return 2 * batch * m * k * n;
}

/** Best-of-5 seconds of one product (wasm kernels run synchronously inside tf.matMul: no readback timed). */
function seconds(c: ProductClass, a: tf.Tensor, b: tf.Tensor): number {
  const run = () => tf.matMul(a, b, c.transposeA, c.transposeB).dispose();
  run();
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    run();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return best;
}

/** One row per product class; only meaningful on the wasm backend (others: no rows). */
export function benchProducts(): BenchResult[] {
  if (tf.getBackend() !== "wasm") return [];
  const wasActive = fastBatchMatMulActive();
  const rows: BenchResult[] = [];
  try {
    for (const c of CLASSES) {
      const a = tf.randomNormal(c.a, 0, 1, "float32", 1), b = tf.randomNormal(c.b, 0, 1, "float32", 2);
      // Alternating rounds, best of each: a busy moment on the machine hits both kernels alike.
      let stockSeconds = Infinity, fastSeconds = Infinity;
      for (let round = 0; round < 2; round++) {
        setFastBatchMatMul(false);
        stockSeconds = Math.min(stockSeconds, seconds(c, a, b));
        setFastBatchMatMul(true);
        fastSeconds = Math.min(fastSeconds, seconds(c, a, b));
      }
      const stock = flops(c) / stockSeconds / 1e9, fast = flops(c) / fastSeconds / 1e9;
      tf.dispose([a, b]);
      rows.push({
        id: `matmul.${c.id}`, value: fast, unit: "GFLOP/s", baseline: "stock tfjs-backend-wasm BatchMatMul", baselineValue: stock, ratio: fast / stock,
        notes: `${c.what}: [${c.a}]${c.transposeA ? "ᵀ" : ""} · [${c.b}]${c.transposeB ? "ᵀ" : ""}`,
      });
    }
  } finally {
    setFastBatchMatMul(wasActive);
  }
  return rows;
}
