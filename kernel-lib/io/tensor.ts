/**
 * Bridges between file arrays (`NdArray` from .npy/.npz/safetensors) and tf.Tensor.
 *
 * tfjs holds float32, int32 and bool only, so `ndArrayToTensor` maps:
 *   float16/bfloat16/float32/float64 → float32 (float64 loses precision beyond ~7 digits: use the
 *   NdArray's data directly when that matters); (u)int8/16, int32 → int32; uint32 and (u)int64 →
 *   int32 when every value fits in int32, otherwise InvalidArgumentError (pass `{dtype: "float32"}`
 *   to accept rounding); bool → bool.
 * `tensorToNdArray` reads synchronously (dataSync): fine on cpu/wasm where data is already on the CPU.
 */

import { tf } from "../tf";
import { InvalidArgumentError, UnknownOptionError, assertKnownKeys } from "../errors";
import { ArrayData, NdArray, shapeSize } from "./dtypes";

/** Options of `ndArrayToTensor`. */
export interface ToTensorOptions {
  /** Force the tensor dtype (default: chosen from the array's dtype as above). */
  dtype?: "float32" | "int32" | "bool";
}

function defaultTensorDtype(array: NdArray): "float32" | "int32" | "bool" {
  switch (array.dtype) {
    case "bool": return "bool";
    case "float16": case "bfloat16": case "float32": case "float64": return "float32";
    default: return "int32";
  }
}

function toInt32(data: ArrayData, argument: string): Int32Array {
  if (data instanceof Int32Array) return data;
  const out = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = Number(data[i]);
    if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
      throw new InvalidArgumentError(`${argument}.data[${i}]`, "an integer in int32 range (tfjs has no int64; pass {dtype: \"float32\"} to round instead)", String(data[i]));
    }
    out[i] = v;
  }
  return out;
}

/** A tf.Tensor with the array's shape (the caller owns and disposes it). */
export function ndArrayToTensor(array: NdArray, options: ToTensorOptions = {}, argument = "array"): tf.Tensor {
  if (options === null || typeof options !== "object") throw new InvalidArgumentError("options", "an object { dtype? }", options);
  assertKnownKeys("options", options, ["dtype"]);
  if (array === null || typeof array !== "object" || !Array.isArray(array.shape) || array.data === undefined) {
    throw new InvalidArgumentError(argument, "an NdArray {dtype, shape, data}", array);
  }
  const dtype = options.dtype ?? defaultTensorDtype(array);
  if (!["float32", "int32", "bool"].includes(dtype)) throw new UnknownOptionError("options.dtype", String(dtype), ["float32", "int32", "bool"]);
  const size = shapeSize(array.shape, `${argument}.shape`); // [-1, -2] or [1.5] would reach tf as an untyped Error
  if (size !== array.data.length) throw new InvalidArgumentError(`${argument}.data`, `${size} elements for shape [${array.shape.join(", ")}]`, `${array.data.length} elements`);
  let values: Float32Array | Int32Array | Uint8Array;
  if (dtype === "float32") {
    values = array.data instanceof Float32Array ? array.data : Float32Array.from(array.data as ArrayLike<number | bigint>, Number);
  } else if (dtype === "int32") {
    values = toInt32(array.data, argument);
  } else {
    values = Uint8Array.from(array.data as ArrayLike<number | bigint>, (v) => (Number(v) !== 0 ? 1 : 0));
  }
  return tf.tensor(values, array.shape, dtype);
}

/** Copies a float32/int32/bool tensor into an NdArray (float32 → Float32Array, int32 → Int32Array, bool → Uint8Array). */
export function tensorToNdArray(tensor: tf.Tensor, argument = "tensor"): NdArray {
  if (!(tensor instanceof tf.Tensor)) throw new InvalidArgumentError(argument, "a tf.Tensor", tensor);
  const shape = tensor.shape.slice();
  switch (tensor.dtype) {
    case "float32": return { dtype: "float32", shape, data: Float32Array.from(tensor.dataSync() as Float32Array) };
    case "int32": return { dtype: "int32", shape, data: Int32Array.from(tensor.dataSync() as Int32Array) };
    case "bool": return { dtype: "bool", shape, data: Uint8Array.from(tensor.dataSync() as Uint8Array) };
    default: throw new InvalidArgumentError(`${argument}.dtype`, "float32, int32 or bool (file formats hold numbers)", tensor.dtype);
  }
}
