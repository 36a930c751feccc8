/**
 * The one tfjs instance the whole library (and notebooks, via the facade) uses.
 *
 * Importing it also registers the wasm backend (the embedded default; whether it is used is
 * decided by backend.ts) and replaces that backend's BatchMatMul kernel with gradlab's SIMD one
 * (kernels/wasm-matmul.ts: 10–20× on batched and transposed products). `GRADLAB_WASM_GEMM=off`
 * keeps the stock kernel, e.g. to compare against it.
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { setFastBatchMatMul } from "./kernels/wasm-matmul";

export { tf };

if (process.env.GRADLAB_WASM_GEMM !== "off") setFastBatchMatMul(true);
