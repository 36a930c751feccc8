/**
 * A faster BatchMatMul for the tfjs wasm backend, installed in place of the stock kernel.
 *
 * Why: tfjs-backend-wasm 4.22 hands XNNPACK only unbatched products without transpose flags
 * (~25–30 GFLOP/s here); a batch dimension or a transpose flag falls to a scalar loop at
 * 1.3–2.8 GFLOP/s. Attention, the per-example gradient products and tf.matMul's own gradient
 * (which uses transpose flags) all hit that loop. This kernel:
 *  - unbatched, no flags: the stock kernel (XNNPACK), unchanged;
 *  - unbatched with a flag: an explicit transpose (the stock Transpose kernel, one pass), then
 *    the stock XNNPACK product;
 *  - batched, with any batch broadcasting: explicit transposes where flagged, then the SIMD gemm of
 *    gemm.wat running in place on the backend's heap (~20–26 GFLOP/s).
 * Non-float32 inputs and incompatible shapes go to the stock kernel (and its error messages). The stock kernel stays the oracle: test/kernels.test.ts compares both on random
 * shapes, flags and broadcasts. `GRADLAB_WASM_GEMM=off` (or `setFastBatchMatMul(false)`) restores it.
 */
import * as tf from "@tensorflow/tfjs";
import { InvalidArgumentError } from "../errors";
import { gemmKernelFor } from "./gemm";

/** The parts of tfjs-backend-wasm's BackendWasm this kernel uses (internal, pinned to 4.22). */
interface WasmBackendInternals {
  wasm: { asm: { memory: WebAssembly.Memory } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo;
  disposeData(dataId: object): void;
}

type KernelArgs = { inputs: { a: tf.TensorInfo; b: tf.TensorInfo }; backend: WasmBackendInternals; attrs: { transposeA: boolean; transposeB: boolean } };
type KernelFunc = (args: KernelArgs) => tf.TensorInfo;

let stockConfig: tf.KernelConfig | null = null;

const size = (dims: readonly number[]) => dims.reduce((p, d) => p * d, 1);

/** The flat index into an operand with outer dims `dims` that broadcasting maps output matrix p to. */
function broadcastSource(p: number, outer: readonly number[], dims: readonly number[]): number {
  let index = 0, stride = 1, rest = p;
  for (let axis = outer.length - 1, d = dims.length - 1; axis >= 0; axis--, d--) {
    const coordinate = rest % outer[axis];
    rest = Math.floor(rest / outer[axis]);
    if (d < 0) continue;
    if (dims[d] !== 1) index += coordinate * stride;
    stride *= dims[d];
  }
  return index;
}

/** x with its last two axes swapped, as a new TensorInfo the caller must dispose. */
function swapLastAxes(x: tf.TensorInfo, backend: WasmBackendInternals): tf.TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank - 2).keys(), rank - 1, rank - 2];
  const transpose = tf.getKernel("Transpose", "wasm");
  if (transpose === undefined) throw new Error("the wasm backend has no Transpose kernel");
  const out = transpose.kernelFunc({ inputs: { x }, backend: backend as unknown as tf.KernelBackend, attrs: { perm } }) as tf.TensorInfo;
  return out;
}

function fastBatchMatMul(args: KernelArgs): tf.TensorInfo {
  const stock = (stockConfig as tf.KernelConfig).kernelFunc as unknown as KernelFunc;
  const { inputs: { a, b }, backend, attrs: { transposeA, transposeB } } = args;
  if (a.dtype !== "float32" || b.dtype !== "float32") return stock(args);
  const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
  const batchA = size(outerA), batchB = size(outerB);
  let outer: number[];
  try {
    outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  } catch {
    return stock(args); // its own error message for incompatible batch shapes
  }
  if (!transposeA && !transposeB && batchA === 1 && batchB === 1) return stock(args);
  const [aRows, aCols] = a.shape.slice(-2), [bRows, bCols] = b.shape.slice(-2);
  const m = transposeA ? aCols : aRows, k = transposeA ? aRows : aCols;
  const n = transposeB ? bRows : bCols;
  if (k !== (transposeB ? bCols : bRows)) return stock(args); // its own error for mismatched inner dimensions

  const temps: tf.TensorInfo[] = [];
  try {
    const aPlain = transposeA ? swapLastAxes(a, backend) : a;
    if (transposeA) temps.push(aPlain);
    const bPlain = transposeB ? swapLastAxes(b, backend) : b;
    if (transposeB) temps.push(bPlain);
    if (batchA === 1 && batchB === 1) {
      return stock({ inputs: { a: aPlain, b: bPlain }, backend, attrs: { transposeA: false, transposeB: false } });
    }
    const out = backend.makeOutput([...outer, m, n], "float32");
    const offset = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
    const gemm = gemmKernelFor(backend.wasm.asm.memory);
    const [aAt, bAt, cAt] = [offset(aPlain), offset(bPlain), offset(out)];
    if (batchA === batchB || batchA === 1 || batchB === 1) {
      gemm(aAt, bAt, cAt, Math.max(batchA, batchB), m, k, n, batchA === 1 ? 0 : m * k, batchB === 1 ? 0 : k * n);
    } else {
      // Partial broadcasting ([2,1,…]·[1,3,…]): one product per output matrix. (The stock kernel
      // gets this case wrong in 4.22: it sizes the output by the larger batch alone.)
      const total = size(outer);
      for (let p = 0; p < total; p++) {
        const pa = broadcastSource(p, outer, outerA), pb = broadcastSource(p, outer, outerB);
        gemm(aAt + 4 * pa * m * k, bAt + 4 * pb * k * n, cAt + 4 * p * m * n, 1, m, k, n, 0, 0);
      }
    }
    return out;
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

/** Whether the SIMD BatchMatMul is the wasm backend's kernel now. */
export function fastBatchMatMulActive(): boolean {
  return stockConfig !== null;
}

/**
 * Installs (true) or restores the stock (false) wasm BatchMatMul. Idempotent; safe before or
 * after the wasm backend initialises. Returns whether the fast kernel is active afterwards.
 * Throws when asked to install and the wasm backend package is not loaded.
 */
export function setFastBatchMatMul(enabled: boolean): boolean {
  if (typeof enabled !== "boolean") throw new InvalidArgumentError("enabled", "a boolean", enabled);
  if (enabled === fastBatchMatMulActive()) return enabled;
  if (enabled) {
    const stock = tf.getKernel("BatchMatMul", "wasm");
    if (stock === undefined) throw new InvalidArgumentError("enabled", "the wasm backend loaded first (@tensorflow/tfjs-backend-wasm)", enabled);
    stockConfig = stock;
    tf.unregisterKernel("BatchMatMul", "wasm");
    tf.registerKernel({ ...stock, kernelFunc: fastBatchMatMul as unknown as tf.KernelFunc });
  } else {
    tf.unregisterKernel("BatchMatMul", "wasm");
    tf.registerKernel(stockConfig as tf.KernelConfig);
    stockConfig = null;
  }
  return enabled;
}
