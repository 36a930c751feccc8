/**
 * The SIMD batched matrix product of kernel-lib/kernels/gemm.wat, instantiated on a given
 * WebAssembly memory (the tfjs wasm backend's heap, see wasm-matmul.ts) or on a private one
 * (`batchedGemm`, for plain Float32Arrays and for tests).
 *
 * Every output element is Σ_kk a[i,kk]·b[kk,j] accumulated in float32 in kk order without fused
 * multiply-add, so `batchedGemm` equals the obvious triple loop with Math.fround bit for bit.
 */
import { InvalidArgumentError, ShapeError } from "../errors";
import { GEMM_WASM_BASE64 } from "./gemm-binary";

/**
 * C[p] = A[p]·B[p] at byte addresses of the memory the kernel was made for: A[p] m×k, B[p] k×n,
 * C[p] m×n, row-major float32; aStride / bStride are batch strides in elements (0 broadcasts).
 */
export type GemmKernel = (a: number, b: number, c: number, batch: number, m: number, k: number, n: number, aStride: number, bStride: number) => void;

let compiled: WebAssembly.Module | null = null;
const kernels = new WeakMap<WebAssembly.Memory, GemmKernel>();

/** The gemm kernel bound to `memory` (compiled once per process, instantiated once per memory). */
export function gemmKernelFor(memory: WebAssembly.Memory): GemmKernel {
  let kernel = kernels.get(memory);
  if (kernel === undefined) {
    compiled ??= new WebAssembly.Module(Buffer.from(GEMM_WASM_BASE64, "base64"));
    const instance = new WebAssembly.Instance(compiled, { env: { memory } });
    kernel = instance.exports.gemm as GemmKernel;
    kernels.set(memory, kernel);
  }
  return kernel;
}

/** Shape of a batched product; a side with `broadcast` is one matrix used for every batch entry. */
export interface GemmShape {
  batch: number;
  m: number;
  k: number;
  n: number;
  broadcastA?: boolean;
  broadcastB?: boolean;
}

const PAGE = 65536;

/**
 * C = A·B for Float32Arrays (A [batch|1, m, k], B [batch|1, k, n] row-major) through the SIMD
 * kernel, on a private memory (inputs copied in, result copied out). Returns C [batch, m, n].
 */
export function batchedGemm(a: Float32Array, b: Float32Array, shape: GemmShape): Float32Array {
  const { batch, m, k, n } = shape;
  for (const key of ["batch", "m", "k", "n"] as const) {
    if (!Number.isInteger(shape[key]) || shape[key] < 0) throw new InvalidArgumentError(`shape.${key}`, "a non-negative integer", shape[key]);
  }
  const aCount = (shape.broadcastA ? 1 : batch) * m * k, bCount = (shape.broadcastB ? 1 : batch) * k * n;
  if (a.length !== aCount) throw new ShapeError("a", `${aCount} values for the given shape`, [a.length]);
  if (b.length !== bCount) throw new ShapeError("b", `${bCount} values for the given shape`, [b.length]);
  const cCount = batch * m * n;
  const bytes = 4 * (aCount + bCount + cCount);
  const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / PAGE)) });
  const heap = new Float32Array(memory.buffer);
  heap.set(a, 0);
  heap.set(b, aCount);
  gemmKernelFor(memory)(0, 4 * aCount, 4 * (aCount + bCount), batch, m, k, n, shape.broadcastA ? 0 : m * k, shape.broadcastB ? 0 : k * n);
  return heap.slice(aCount + bCount, aCount + bCount + cCount);
}
