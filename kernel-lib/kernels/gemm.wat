;; Batched single-precision matrix product on WebAssembly SIMD, run on the tfjs wasm backend's
;; own heap (the memory is imported), so inputs and output are used in place, never copied.
;;
;;   C[p] = A[p] · B[p]   for p < batch;  A[p] m×k, B[p] k×n, C[p] m×n, all row-major float32.
;;
;; Why it exists: tfjs-backend-wasm 4.22 sends only unbatched, untransposed 2-D products to
;; XNNPACK; every batched product (attention, per-example gradients) runs a scalar loop at
;; 1.3–2.8 GFLOP/s on this machine. This kernel is a plain register-blocked GEMM: a 4×8 tile of C
;; lives in eight f32x4 accumulators while k is walked once, so each loaded vector of B is used
;; four times and each broadcast element of A eight times. Row and column remainders use 1×8,
;; 1×4 and scalar tiles. Every C element is the sum over kk = 0 … k−1 in that order, starting from
;; 0 — the order of the obvious triple loop. Each f32x4 lane is an independent chain of float32
;; multiplies and adds (no fused multiply-add), so every element equals that loop's bit for bit.
;;
;; Arguments are byte addresses; aStride / bStride are the batch strides in elements (0 broadcasts
;; one matrix over the batch). Rebuild gemm-binary.ts with `node scripts/build-kernels.mjs`.
(module
  (import "env" "memory" (memory 1))

  ;; C[4×8] at c (row stride ldc bytes) = A[4×k] at a (row stride lda) · B[k×8] at b (row stride ldb).
  (func $tile4x8 (param $a i32) (param $b i32) (param $c i32) (param $k i32) (param $lda i32) (param $ldb i32) (param $ldc i32)
    (local $a1 i32) (local $a2 i32) (local $a3 i32) (local $end i32)
    (local $b0 v128) (local $b1 v128) (local $x v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $a1 (i32.add (local.get $a) (local.get $lda)))
    (local.set $a2 (i32.add (local.get $a1) (local.get $lda)))
    (local.set $a3 (i32.add (local.get $a2) (local.get $lda)))
    (local.set $end (i32.add (local.get $a) (i32.shl (local.get $k) (i32.const 2))))
    (block $done
      (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
      (loop $kk
        (local.set $b0 (v128.load (local.get $b)))
        (local.set $b1 (v128.load offset=16 (local.get $b)))
        (local.set $x (f32x4.splat (f32.load (local.get $a))))
        (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (local.get $b0))))
        (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x) (local.get $b1))))
        (local.set $x (f32x4.splat (f32.load (local.get $a1))))
        (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x) (local.get $b0))))
        (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x) (local.get $b1))))
        (local.set $x (f32x4.splat (f32.load (local.get $a2))))
        (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $x) (local.get $b0))))
        (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $x) (local.get $b1))))
        (local.set $x (f32x4.splat (f32.load (local.get $a3))))
        (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $x) (local.get $b0))))
        (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $x) (local.get $b1))))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (local.set $a1 (i32.add (local.get $a1) (i32.const 4)))
        (local.set $a2 (i32.add (local.get $a2) (i32.const 4)))
        (local.set $a3 (i32.add (local.get $a3) (i32.const 4)))
        (local.set $b (i32.add (local.get $b) (local.get $ldb)))
        (br_if $kk (i32.lt_u (local.get $a) (local.get $end)))))
    (v128.store (local.get $c) (local.get $c00))
    (v128.store offset=16 (local.get $c) (local.get $c01))
    (local.set $c (i32.add (local.get $c) (local.get $ldc)))
    (v128.store (local.get $c) (local.get $c10))
    (v128.store offset=16 (local.get $c) (local.get $c11))
    (local.set $c (i32.add (local.get $c) (local.get $ldc)))
    (v128.store (local.get $c) (local.get $c20))
    (v128.store offset=16 (local.get $c) (local.get $c21))
    (local.set $c (i32.add (local.get $c) (local.get $ldc)))
    (v128.store (local.get $c) (local.get $c30))
    (v128.store offset=16 (local.get $c) (local.get $c31)))

  ;; C[1×8] = A[1×k] · B[k×8].
  (func $tile1x8 (param $a i32) (param $b i32) (param $c i32) (param $k i32) (param $ldb i32)
    (local $end i32) (local $x v128) (local $c0 v128) (local $c1 v128)
    (local.set $end (i32.add (local.get $a) (i32.shl (local.get $k) (i32.const 2))))
    (block $done
      (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
      (loop $kk
        (local.set $x (f32x4.splat (f32.load (local.get $a))))
        (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (local.get $x) (v128.load (local.get $b)))))
        (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $b)))))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (local.set $b (i32.add (local.get $b) (local.get $ldb)))
        (br_if $kk (i32.lt_u (local.get $a) (local.get $end)))))
    (v128.store (local.get $c) (local.get $c0))
    (v128.store offset=16 (local.get $c) (local.get $c1)))

  ;; C[1×4] = A[1×k] · B[k×4].
  (func $tile1x4 (param $a i32) (param $b i32) (param $c i32) (param $k i32) (param $ldb i32)
    (local $end i32) (local $c0 v128)
    (local.set $end (i32.add (local.get $a) (i32.shl (local.get $k) (i32.const 2))))
    (block $done
      (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
      (loop $kk
        (local.set $c0 (f32x4.add (local.get $c0)
          (f32x4.mul (f32x4.splat (f32.load (local.get $a))) (v128.load (local.get $b)))))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (local.set $b (i32.add (local.get $b) (local.get $ldb)))
        (br_if $kk (i32.lt_u (local.get $a) (local.get $end)))))
    (v128.store (local.get $c) (local.get $c0)))

  ;; C[1×1] = A[1×k] · B[k×1].
  (func $tile1x1 (param $a i32) (param $b i32) (param $c i32) (param $k i32) (param $ldb i32)
    (local $end i32) (local $s f32)
    (local.set $end (i32.add (local.get $a) (i32.shl (local.get $k) (i32.const 2))))
    (block $done
      (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
      (loop $kk
        (local.set $s (f32.add (local.get $s) (f32.mul (f32.load (local.get $a)) (f32.load (local.get $b)))))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (local.set $b (i32.add (local.get $b) (local.get $ldb)))
        (br_if $kk (i32.lt_u (local.get $a) (local.get $end)))))
    (f32.store (local.get $c) (local.get $s)))

  ;; One m×k by k×n product at byte addresses a, b, c.
  (func $gemm1 (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $k i32) (param $n i32)
    (local $lda i32) (local $ldb i32) (local $i i32) (local $j i32) (local $m4 i32) (local $n8 i32) (local $n4 i32)
    (local $aRow i32) (local $cRow i32)
    (local.set $lda (i32.shl (local.get $k) (i32.const 2)))
    (local.set $ldb (i32.shl (local.get $n) (i32.const 2)))
    (local.set $m4 (i32.and (local.get $m) (i32.const -4)))
    (local.set $n8 (i32.and (local.get $n) (i32.const -8)))
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    ;; columns in blocks of 8: 4-row tiles, then single rows
    (local.set $j (i32.const 0))
    (block $jdone (loop $jloop
      (br_if $jdone (i32.ge_u (local.get $j) (local.get $n8)))
      (local.set $i (i32.const 0))
      (block $idone (loop $iloop
        (br_if $idone (i32.ge_u (local.get $i) (local.get $m4)))
        (call $tile4x8
          (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $lda)))
          (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2)))
          (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 2)))
          (local.get $k) (local.get $lda) (local.get $ldb) (local.get $ldb))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $iloop)))
      (block $rdone (loop $rloop
        (br_if $rdone (i32.ge_u (local.get $i) (local.get $m)))
        (call $tile1x8
          (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $lda)))
          (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2)))
          (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 2)))
          (local.get $k) (local.get $ldb))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rloop)))
      (local.set $j (i32.add (local.get $j) (i32.const 8)))
      (br $jloop)))
    ;; then at most one block of 4 columns, then single columns, a row at a time
    (local.set $i (i32.const 0))
    (block $tdone (loop $tloop
      (br_if $tdone (i32.ge_u (local.get $i) (local.get $m)))
      (local.set $aRow (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $lda))))
      (local.set $cRow (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $ldb))))
      (local.set $j (local.get $n8))
      (if (i32.lt_u (local.get $j) (local.get $n4))
        (then
          (call $tile1x4 (local.get $aRow) (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2)))
            (i32.add (local.get $cRow) (i32.shl (local.get $j) (i32.const 2))) (local.get $k) (local.get $ldb))
          (local.set $j (local.get $n4))))
      (block $sdone (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $j) (local.get $n)))
        (call $tile1x1 (local.get $aRow) (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2)))
          (i32.add (local.get $cRow) (i32.shl (local.get $j) (i32.const 2))) (local.get $k) (local.get $ldb))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $sloop)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $tloop))))

  ;; The batched product; aStride / bStride in elements (0 = the same matrix for every p).
  (func (export "gemm") (param $a i32) (param $b i32) (param $c i32) (param $batch i32)
    (param $m i32) (param $k i32) (param $n i32) (param $aStride i32) (param $bStride i32)
    (local $p i32) (local $cStride i32)
    (local.set $aStride (i32.shl (local.get $aStride) (i32.const 2)))
    (local.set $bStride (i32.shl (local.get $bStride) (i32.const 2)))
    (local.set $cStride (i32.shl (i32.mul (local.get $m) (local.get $n)) (i32.const 2)))
    (block $done (loop $ploop
      (br_if $done (i32.ge_u (local.get $p) (local.get $batch)))
      (call $gemm1 (local.get $a) (local.get $b) (local.get $c) (local.get $m) (local.get $k) (local.get $n))
      (local.set $a (i32.add (local.get $a) (local.get $aStride)))
      (local.set $b (i32.add (local.get $b) (local.get $bStride)))
      (local.set $c (i32.add (local.get $c) (local.get $cStride)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $ploop))))
)
