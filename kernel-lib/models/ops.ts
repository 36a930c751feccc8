/**
 * Small tf helpers the models share, with workarounds for backend differences verified here.
 */
import { tf } from "../tf";

/**
 * One-hot rows as float32. Do not use `tf.oneHot(…, "float32")`: the wasm backend (tfjs 4.22)
 * ignores the dtype and writes int32 bit patterns into the float buffer (1 reads as 1.4e-45).
 * Casting the default int32 result is correct on every backend. Not differentiable (ids are data).
 */
export function oneHotFloat(ids: tf.Tensor1D, depth: number): tf.Tensor2D {
  return tf.tidy(() => tf.cast(tf.oneHot(ids, depth), "float32") as tf.Tensor2D);
}

/**
 * a·b for 2-D a [m, k], b [k, n], with a gradient made of untransposed 2-D matMuls and explicit
 * transposes. Why: the wasm backend (tfjs 4.22) sends only untransposed, unbatched 2-D matMuls to
 * XNNPACK (measured ~14 GFLOP/s here); any transpose flag or batch dimension falls to a naive
 * kernel at ~1.2 GFLOP/s, and tf.matMul's own gradient uses transpose flags. A transpose costs
 * one pass over the operand, far less than the product it unlocks.
 */
export const matMulFast: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D = (() => {
  const op = tf.customGrad(((a: tf.Tensor2D, b: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([a, b]);
    return {
      value: tf.matMul(a, b),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [aSaved, bSaved] = saved as tf.Tensor2D[];
        return [tf.matMul(dy, tf.transpose(bSaved)), tf.matMul(tf.transpose(aSaved), dy)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (a: tf.Tensor2D, b: tf.Tensor2D) => op(a, b) as tf.Tensor2D;
})();

