/**
 * Element types shared by the .npy, .npz and safetensors codecs: names, sizes, the JS typed array
 * each one is read into, and the conversions between bytes and arrays.
 *
 * Choices (documented once here, relied on by npy.ts and safetensors.ts):
 *  - Everything on disk is little-endian; the host must be little-endian too (every platform
 *    Node ships for is), so typed arrays are views over copied, aligned bytes.
 *  - int64/uint64 are read as numbers (Float64Array) when every value is a safe integer
 *    (|v| ≤ 2^53 − 1) and raise FileFormatError naming the first unsafe value otherwise; pass
 *    `{ int64: "bigint" }` to get BigInt64Array/BigUint64Array instead.
 *  - float16 and bfloat16 are decoded to Float32Array (exact: both are subsets of float32) and
 *    encoded with round-to-nearest-even (what numpy's astype(float16) and torch's bfloat16 do).
 *  - bool is a Uint8Array of 0/1.
 */

import { endianness } from "node:os";
import { InvalidArgumentError, ShapeError, UnknownOptionError, assertKnownKeys } from "../errors";

/** An element type of .npy / .npz / safetensors arrays. */
export type DType =
  | "bool" | "uint8" | "int8" | "uint16" | "int16" | "uint32" | "int32" | "uint64" | "int64"
  | "float16" | "bfloat16" | "float32" | "float64";

/** Every dtype the readers and writers handle. */
export const DTYPES: readonly DType[] = [
  "bool", "uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64", "float16", "bfloat16", "float32", "float64",
];

/** The typed array holding an array's elements. */
export type ArrayData =
  | Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array
  | BigInt64Array | BigUint64Array;

/** An n-dimensional array in C (row-major) order. */
export interface NdArray {
  dtype: DType;
  shape: number[];
  data: ArrayData;
}

/** What writers accept: data may be a plain array; dtype defaults from the data's type. */
export interface ArrayInput {
  dtype?: DType;
  shape: readonly number[];
  data: ArrayLike<number> | ArrayLike<boolean> | ArrayData;
}

/** Options of the array readers: how 64-bit integers are returned. */
export interface ReadOptions {
  /** How int64/uint64 are returned: "number" (default; error if any value is beyond ±2^53−1) or "bigint". */
  int64?: "number" | "bigint";
}

/**
 * Validates the ReadOptions every reader takes: an unknown key (`{int46: "bigint"}`) or value
 * (`{int64: "BigInt"}`) is an error, never a silent fall-back to "number".
 */
export function checkReadOptions(options: unknown, argument = "options"): ReadOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== "object" || Array.isArray(options)) throw new InvalidArgumentError(argument, "an object { int64? }", options);
  assertKnownKeys(argument, options, ["int64"]);
  const int64 = (options as ReadOptions).int64;
  if (int64 !== undefined && int64 !== "number" && int64 !== "bigint") throw new UnknownOptionError(`${argument}.int64`, String(int64), ["number", "bigint"]);
  return options as ReadOptions;
}

/** Bytes per element of each dtype. */
export const ITEM_SIZE: Readonly<Record<DType, number>> = {
  bool: 1, uint8: 1, int8: 1, uint16: 2, int16: 2, uint32: 4, int32: 4, uint64: 8, int64: 8,
  float16: 2, bfloat16: 2, float32: 4, float64: 8,
};

if (endianness() !== "LE") throw new Error("gradlab io assumes a little-endian host");

/** Number of elements of `shape`, validating each dimension. */
export function shapeSize(shape: readonly number[], argument: string): number {
  if (!Array.isArray(shape)) throw new InvalidArgumentError(argument, "an array of non-negative integers", shape);
  let size = 1;
  for (let i = 0; i < shape.length; i++) {
    if (!Number.isSafeInteger(shape[i]) || shape[i] < 0) throw new InvalidArgumentError(`${argument}[${i}]`, "a non-negative integer", shape[i]);
    size *= shape[i];
  }
  return size;
}

// ---- half-precision conversions ------------------------------------------------------------

let float16Table: Float32Array | null = null;
/** All 65536 float16 values as float32, built once (256 KB) so decoding is one lookup per element. */
function float16ToFloat32Table(): Float32Array {
  if (float16Table) return float16Table;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    table[h] = exp === 0 ? sign * mant * 2 ** -24
      : exp === 31 ? (mant ? NaN : sign * Infinity)
      : sign * (1024 + mant) * 2 ** (exp - 25);
  }
  return (float16Table = table);
}

/** Widens IEEE half-precision bit patterns to float32 (exact, via a 65 536-entry table). */
export function float16BitsToFloat32(bits: Uint16Array): Float32Array {
  const table = float16ToFloat32Table(), out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  return out;
}

/** Widens bfloat16 bit patterns to float32 (exact: bfloat16 is the top half of a float32). */
export function bfloat16BitsToFloat32(bits: Uint16Array): Float32Array {
  const words = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) words[i] = bits[i] << 16;
  return new Float32Array(words.buffer);
}

/** float32 bit patterns → float16 bit patterns, round-to-nearest-even; overflow → ±Inf, NaN → quiet NaN. */
export function float32ToFloat16Bits(values: Float32Array): Uint16Array {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length), out = new Uint16Array(values.length);
  for (let i = 0; i < words.length; i++) {
    const x = words[i], sign = (x >>> 16) & 0x8000, abs = x & 0x7fffffff;
    if (abs >= 0x7f800000) { out[i] = sign | (abs > 0x7f800000 ? 0x7e00 : 0x7c00); continue; }
    const e32 = abs >>> 23; // biased float32 exponent
    if (e32 >= 113) { // normal float16 range (or overflow)
      let mant = (abs & 0x7fffff) >>> 13;
      const rest = abs & 0x1fff;
      if (rest > 0x1000 || (rest === 0x1000 && (mant & 1))) mant++;
      const h = ((e32 - 112) << 10) + mant; // a mantissa carry rolls into the exponent, as it should
      out[i] = sign | (h >= 0x7c00 ? 0x7c00 : h);
    } else { // float16 subnormal: value / 2^-24, rounded to even
      const shift = 126 - e32; // m·2^(e32−150) / 2^−24 = m >> (126 − e32)
      if (shift > 24) { out[i] = sign; continue; }
      const m = (abs & 0x7fffff) | 0x800000;
      let h = m >>> shift;
      const rest = m & ((1 << shift) - 1), half = 1 << (shift - 1);
      if (rest > half || (rest === half && (h & 1))) h++;
      out[i] = sign | h;
    }
  }
  return out;
}

/** float32 → bfloat16 bit patterns, round-to-nearest-even (torch's rounding); NaN stays a quiet NaN. */
export function float32ToBfloat16Bits(values: Float32Array): Uint16Array {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length), out = new Uint16Array(values.length);
  for (let i = 0; i < words.length; i++) {
    const x = words[i];
    if ((x & 0x7fffffff) > 0x7f800000) { out[i] = (x >>> 16) | 0x40; continue; }
    out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

// ---- bytes → arrays ---------------------------------------------------------------------------

/** A fresh, aligned copy of `bytes` (Buffer slices share memory and may be misaligned for typed arrays). */
export function alignedCopy(bytes: Uint8Array): ArrayBuffer {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out.buffer;
}

/** Reverses each `itemSize`-byte element in place (big-endian → little-endian). */
export function byteswapInPlace(bytes: Uint8Array, itemSize: number): void {
  if (itemSize === 1) return;
  for (let i = 0; i < bytes.length; i += itemSize) {
    for (let a = i, b = i + itemSize - 1; a < b; a++, b--) { const t = bytes[a]; bytes[a] = bytes[b]; bytes[b] = t; }
  }
}

/** int64/uint64 words → numbers, or a message naming the first value beyond ±(2^53 − 1). */
function int64ToNumbers(buffer: ArrayBuffer, count: number, signed: boolean): Float64Array | string {
  const words = new Uint32Array(buffer, 0, count * 2), out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const lo = words[2 * i], hiU = words[2 * i + 1], hi = signed ? hiU | 0 : hiU;
    // |hi·2^32 + lo| ≤ 2^53 − 1  ⇔  −2^21 < hi < 2^21, or hi = −2^21 with lo ≥ 1
    const safe = hi < 0x200000 && (hi > -0x200000 || (hi === -0x200000 && lo >= 1));
    if (!safe) {
      const exact = signed ? new BigInt64Array(buffer, 0, count)[i] : new BigUint64Array(buffer, 0, count)[i];
      return `${signed ? "int64" : "uint64"} value ${exact} at flat index ${i} is beyond ±(2^53 − 1) and cannot be a JS number exactly; read with { int64: "bigint" }`;
    }
    out[i] = hi * 4294967296 + lo;
  }
  return out;
}

/**
 * Decodes `count` little-endian elements of `dtype` from exactly count·itemsize bytes.
 * Returns the array, or a problem string for the caller to wrap in FileFormatError with its file name.
 */
export function decodeElements(dtype: DType, bytes: Uint8Array, count: number, options: ReadOptions = {}): ArrayData | string {
  const buffer = alignedCopy(bytes);
  switch (dtype) {
    case "bool": {
      const raw = new Uint8Array(buffer);
      for (let i = 0; i < raw.length; i++) raw[i] = raw[i] ? 1 : 0;
      return raw;
    }
    case "uint8": return new Uint8Array(buffer);
    case "int8": return new Int8Array(buffer);
    case "uint16": return new Uint16Array(buffer);
    case "int16": return new Int16Array(buffer);
    case "uint32": return new Uint32Array(buffer);
    case "int32": return new Int32Array(buffer);
    case "float32": return new Float32Array(buffer);
    case "float64": return new Float64Array(buffer);
    case "float16": return float16BitsToFloat32(new Uint16Array(buffer));
    case "bfloat16": return bfloat16BitsToFloat32(new Uint16Array(buffer));
    case "int64":
      return options.int64 === "bigint" ? new BigInt64Array(buffer) : int64ToNumbers(buffer, count, true);
    case "uint64":
      return options.int64 === "bigint" ? new BigUint64Array(buffer) : int64ToNumbers(buffer, count, false);
  }
}

// ---- arrays → bytes ---------------------------------------------------------------------------

const INTEGER_RANGE: Partial<Record<DType, [number, number]>> = {
  bool: [0, 1], uint8: [0, 255], int8: [-128, 127], uint16: [0, 65535], int16: [-32768, 32767],
  uint32: [0, 4294967295], int32: [-2147483648, 2147483647],
  uint64: [0, Number.MAX_SAFE_INTEGER], int64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** The dtype a typed array naturally holds (plain arrays: booleans → bool, numbers → float64). */
export function inferDtype(data: unknown, argument: string): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) return "uint8";
  if (data instanceof Int8Array) return "int8";
  if (data instanceof Int16Array) return "int16";
  if (data instanceof Uint16Array) return "uint16";
  if (data instanceof Uint32Array) return "uint32";
  if (data instanceof BigInt64Array) return "int64";
  if (data instanceof BigUint64Array) return "uint64";
  if (Array.isArray(data)) return data.length > 0 && typeof data[0] === "boolean" ? "bool" : "float64";
  throw new InvalidArgumentError(argument, "a typed array or an array of numbers/booleans", data);
}

/** Validates an ArrayInput (shape × data length, dtype, value ranges) and returns its little-endian bytes. */
export function encodeElements(input: ArrayInput, argument: string, allowed: readonly DType[] = DTYPES): { dtype: DType; shape: number[]; bytes: Uint8Array } {
  if (input === null || typeof input !== "object") throw new InvalidArgumentError(argument, "an object {dtype?, shape, data}", input);
  const shape = Array.from(input.shape ?? []);
  if (!Array.isArray(input.shape)) throw new InvalidArgumentError(`${argument}.shape`, "an array of non-negative integers", input.shape);
  const size = shapeSize(shape, `${argument}.shape`);
  const data = input.data as ArrayLike<number | boolean | bigint>;
  const dtype = input.dtype ?? inferDtype(data, `${argument}.data`);
  if (!allowed.includes(dtype)) throw new InvalidArgumentError(`${argument}.dtype`, `one of ${allowed.join(", ")}`, dtype);
  if (data === null || typeof data !== "object" || typeof data.length !== "number") {
    throw new InvalidArgumentError(`${argument}.data`, "a typed array or an array", data);
  }
  if (data.length !== size) throw new ShapeError(`${argument}.data`, `[${shape.join(", ")}] (${size} elements)`, `${data.length} elements`);

  const bigintData = data instanceof BigInt64Array || data instanceof BigUint64Array;
  if (dtype === "int64" || dtype === "uint64") {
    const out = dtype === "int64" ? new BigInt64Array(size) : new BigUint64Array(size);
    for (let i = 0; i < size; i++) {
      const v = data[i];
      if (bigintData) {
        if (dtype === "uint64" && (v as bigint) < 0n) throw new InvalidArgumentError(`${argument}.data[${i}]`, "a value ≥ 0 for uint64", String(v));
        if (dtype === "int64" && (v as bigint) > 0x7fffffffffffffffn) throw new InvalidArgumentError(`${argument}.data[${i}]`, "a value < 2^63 for int64", String(v));
        out[i] = v as bigint;
      } else {
        const range = INTEGER_RANGE[dtype]!;
        const n = typeof v === "boolean" ? Number(v) : (v as number);
        if (!Number.isInteger(n) || n < range[0] || n > range[1]) throw new InvalidArgumentError(`${argument}.data[${i}]`, `an integer in [${range[0]}, ${range[1]}] for ${dtype}`, n);
        out[i] = BigInt(n);
      }
    }
    return { dtype, shape, bytes: new Uint8Array(out.buffer) };
  }
  if (bigintData) throw new InvalidArgumentError(`${argument}.dtype`, "int64 or uint64 for BigInt data", dtype);
  const numbers = data as ArrayLike<number | boolean>;

  if (dtype === "float16" || dtype === "bfloat16") {
    const f32 = numbers instanceof Float32Array ? numbers : Float32Array.from(numbers as ArrayLike<number>, Number);
    const bits = dtype === "float16" ? float32ToFloat16Bits(f32) : float32ToBfloat16Bits(f32);
    return { dtype, shape, bytes: new Uint8Array(bits.buffer) };
  }
  const Ctor = {
    bool: Uint8Array, uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array,
    uint32: Uint32Array, int32: Int32Array, float32: Float32Array, float64: Float64Array,
  }[dtype];
  const range = INTEGER_RANGE[dtype];
  if (numbers instanceof Ctor && dtype !== "bool") {
    // Already the on-disk type: every value is representable, copy the bytes.
    return { dtype, shape, bytes: new Uint8Array(numbers.buffer, numbers.byteOffset, numbers.byteLength).slice() };
  }
  const out = new Ctor(size);
  for (let i = 0; i < size; i++) {
    const raw = numbers[i];
    const v = typeof raw === "boolean" ? Number(raw) : raw;
    if (typeof v !== "number") throw new InvalidArgumentError(`${argument}.data[${i}]`, "a number", raw);
    // Integer targets must not silently wrap or truncate (typed-array stores would do both).
    if (range && (!Number.isInteger(v) || v < range[0] || v > range[1])) {
      throw new InvalidArgumentError(`${argument}.data[${i}]`, `an integer in [${range[0]}, ${range[1]}] for ${dtype}`, v);
    }
    out[i] = v;
  }
  return { dtype, shape, bytes: new Uint8Array(out.buffer) };
}
