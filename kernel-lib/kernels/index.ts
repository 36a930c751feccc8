/**
 * gradlab's own compute kernels: the SIMD batched matrix product (gemm.wat) and its installation
 * as the wasm backend's BatchMatMul (installed on import of kernel-lib; `GRADLAB_WASM_GEMM=off`
 * keeps the stock kernel).
 */
export { batchedGemm, GemmShape } from "./gemm";
export { setFastBatchMatMul, fastBatchMatMulActive } from "./wasm-matmul";
