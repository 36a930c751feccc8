/**
 * NumPy .npy files (format versions 1.0, 2.0 and 3.0), as written by `np.save` in a PyTorch run.
 *
 *  - `readNpy(path)` / `parseNpy(bytes, source)` → `{dtype, shape, data, fortranOrder}` with `data`
 *    always in C (row-major) order: Fortran-order files are transposed on read and
 *    `fortranOrder: true` records how the file was stored.
 *  - `writeNpy(path, array, {fortranOrder?})` / `encodeNpy` — atomic; header v1.0 unless the header
 *    needs more than 65535 bytes (then 2.0), padded so data starts at a multiple of 64, as numpy does.
 * dtypes: bool, (u)int8/16/32/64, float16/32/64 (see dtypes.ts for int64 and float16 handling);
 * '<', '|' and '=' byte orders are read directly, '>' (big-endian) is byte-swapped. Structured,
 * complex, string and object arrays raise FileFormatError. Data must fill the file exactly: a short
 * or over-long data section is a truncated or corrupt file, not something to guess around.
 * Headers are untrusted text: at most 1 MiB, parsed without recursion (py-literal.ts). Unknown
 * option keys and values are errors (`{fortran: true}` is not `{fortranOrder: true}`).
 */

import { FileFormatError, InvalidArgumentError, assertKnownKeys } from "../errors";
import { atomicWriteFile, readFileOrThrow } from "./atomic";
import { ArrayData, ArrayInput, DType, ITEM_SIZE, NdArray, ReadOptions, byteswapInPlace, checkReadOptions, decodeElements, encodeElements, shapeSize } from "./dtypes";
import { PyValue, parsePythonLiteral } from "./py-literal";

/** An array read from .npy, and whether the file stored it in Fortran order. */
export interface NpyArray extends NdArray {
  /** True when the file stored the data in Fortran (column-major) order; `data` is C order regardless. */
  fortranOrder: boolean;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** numpy's type codes (kind + item size) for the dtypes gradlab reads. bfloat16 has none. */
const DESCR_TO_DTYPE: Readonly<Record<string, DType>> = {
  b1: "bool", u1: "uint8", i1: "int8", u2: "uint16", i2: "int16", u4: "uint32", i4: "int32",
  u8: "uint64", i8: "int64", f2: "float16", f4: "float32", f8: "float64",
};
const DTYPE_TO_DESCR: Partial<Record<DType, string>> = Object.fromEntries(
  Object.entries(DESCR_TO_DTYPE).map(([code, dtype]) => [dtype, (ITEM_SIZE[dtype] === 1 ? "|" : "<") + code]),
);
/** The dtypes .npy files may hold here. */
export const NPY_DTYPES = Object.values(DESCR_TO_DTYPE);

// ---- header ------------------------------------------------------------------------------------

/**
 * numpy's own reader refuses headers above 10 000 bytes unless told otherwise (`max_header_size`);
 * gradlab allows far more (a header of a few hundred dimensions is a few KB) but not unbounded text,
 * which would only cost parse time and memory before the file is rejected anyway.
 */
export const MAX_NPY_HEADER_BYTES = 1 << 20;

interface NpyHeader { descr: string; dtype: DType; bigEndian: boolean; fortranOrder: boolean; shape: number[] }

function interpretHeader(dict: PyValue, fail: (problem: string) => never): NpyHeader {
  if (dict === null || typeof dict !== "object" || Array.isArray(dict)) fail("header is not a dict");
  const d = dict as { [key: string]: PyValue };
  for (const key of ["descr", "fortran_order", "shape"]) if (!(key in d)) fail(`header has no '${key}' key`);
  const extra = Object.keys(d).filter((k) => !["descr", "fortran_order", "shape"].includes(k));
  if (extra.length) fail(`header has unexpected keys ${extra.join(", ")}`);
  if (typeof d.descr !== "string") fail(`structured dtype ${JSON.stringify(d.descr)} is not supported (only plain numeric and bool arrays)`);
  const m = /^([<>|=])([a-zA-Z]\d+)$/.exec(d.descr as string);
  const dtype = m ? DESCR_TO_DTYPE[m[2]] : undefined;
  if (!m || !dtype) fail(`unsupported dtype '${d.descr}' (supported: ${Object.values(DTYPE_TO_DESCR).join(" ")}, any byte order)`);
  if (typeof d.fortran_order !== "boolean") fail(`'fortran_order' must be True or False, got ${JSON.stringify(d.fortran_order)}`);
  if (!Array.isArray(d.shape) || !d.shape.every((n) => typeof n === "number" && Number.isSafeInteger(n) && n >= 0)) {
    fail(`'shape' must be a tuple of non-negative integers, got ${JSON.stringify(d.shape)}`);
  }
  return { descr: d.descr as string, dtype: dtype!, bigEndian: m![1] === ">", fortranOrder: d.fortran_order as boolean, shape: d.shape as number[] };
}

// ---- memory order --------------------------------------------------------------------------------

/**
 * Reorders between Fortran and C order. Walks the C-order multi-index (last axis fastest) and
 * keeps the matching Fortran offset (first axis fastest) up to date incrementally.
 * direction "fToC": out[c] = src[f]; "cToF": out[f] = src[c].
 */
export function reorderFortran<T extends ArrayData>(src: T, shape: readonly number[], direction: "fToC" | "cToF"): T {
  const size = src.length, rank = shape.length;
  const out = new (src.constructor as { new (n: number): T })(size);
  if (size === 0) return out;
  if (rank <= 1) { out.set(src as never); return out; }
  const fStride = new Array<number>(rank);
  fStride[0] = 1;
  for (let k = 1; k < rank; k++) fStride[k] = fStride[k - 1] * shape[k - 1];
  const index = new Array<number>(rank).fill(0);
  let f = 0;
  for (let c = 0; c < size; c++) {
    if (direction === "fToC") out[c] = src[f]; else out[f] = src[c];
    let axis = rank - 1;
    index[axis]++; f += fStride[axis];
    while (axis > 0 && index[axis] === shape[axis]) {
      f -= fStride[axis] * shape[axis];
      index[axis] = 0;
      axis--;
      index[axis]++; f += fStride[axis];
    }
  }
  return out;
}

// ---- read ----------------------------------------------------------------------------------------

/** A parsed .npy preamble and header: where the data starts and how many bytes it must have. */
export interface NpyLayout extends NpyHeader { dataStart: number; count: number; dataBytes: number }

/**
 * Reads the preamble and header at the start of `bytes`. With `partial`, returns null when
 * `bytes` ends before the header does (the .npz reader peeks at a member this way before
 * inflating it); otherwise that is a truncated file. Every other problem goes through `fail`.
 */
export function readNpyLayout(bytes: Uint8Array, fail: (problem: string) => never, partial = false): NpyLayout | null {
  if (bytes.length < 10) return partial ? null : fail(`truncated: ${bytes.length} bytes is shorter than the 10-byte .npy preamble`);
  if (!MAGIC.every((b, i) => bytes[i] === b)) fail("bad magic: not a .npy file (expected \\x93NUMPY)");
  const major = bytes[6], minor = bytes[7];
  if (![1, 2, 3].includes(major) || minor !== 0) fail(`unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) return partial ? null : fail("truncated header length field");
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerLength > MAX_NPY_HEADER_BYTES) fail(`header length ${headerLength} is implausible (limit ${MAX_NPY_HEADER_BYTES} bytes; numpy writes under 10 000)`);
  const dataStart = 8 + lengthBytes + headerLength;
  if (dataStart > bytes.length) return partial ? null : fail(`truncated header: it declares ${headerLength} bytes but the file has ${bytes.length - 8 - lengthBytes} after the preamble`);
  const headerText = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(8 + lengthBytes, dataStart));
  const header = interpretHeader(parsePythonLiteral(headerText, fail), fail);
  const count = shapeSize(header.shape, "shape");
  return { ...header, dataStart, count, dataBytes: count * ITEM_SIZE[header.dtype] };
}

/** Parses .npy bytes; `source` names the file (or archive member) in error messages. */
export function parseNpy(bytes: Uint8Array, source = "<npy bytes>", options: ReadOptions = {}): NpyArray {
  checkReadOptions(options);
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError("bytes", "a Uint8Array (or Buffer) holding a .npy file", bytes);
  const fail = (problem: string): never => { throw new FileFormatError(source, problem); };
  const header = readNpyLayout(bytes, fail)!;
  const { count, dataStart, dataBytes: needed } = header;
  const itemSize = ITEM_SIZE[header.dtype];
  const available = bytes.length - dataStart;
  const descr = header.descr;
  if (available < needed) fail(`data is ${available} bytes but shape (${header.shape.join(", ")}) of ${descr} needs ${needed}: truncated`);
  if (available > needed) fail(`${available - needed} unexpected bytes after the data (shape (${header.shape.join(", ")}) of ${descr} needs ${needed})`);

  let raw = bytes.subarray(dataStart);
  if (header.bigEndian && itemSize > 1) { raw = raw.slice(); byteswapInPlace(raw, itemSize); }
  const decoded = decodeElements(header.dtype, raw, count, options);
  if (typeof decoded === "string") fail(decoded);
  const data = header.fortranOrder ? reorderFortran(decoded as ArrayData, header.shape, "fToC") : (decoded as ArrayData);
  return { dtype: header.dtype, shape: header.shape, data, fortranOrder: header.fortranOrder };
}

/** Reads a .npy file; every problem (missing, truncated, unknown dtype…) is a FileFormatError naming it. */
export function readNpy(file: string, options: ReadOptions = {}): NpyArray {
  checkReadOptions(options); // before touching the file: a typo is reported even for a missing file
  return parseNpy(readFileOrThrow(file), file, options);
}

// ---- write ---------------------------------------------------------------------------------------

/** Options of the .npy writers. */
export interface NpyWriteOptions {
  /** Store column-major (numpy's order='F'); `data` is still given in C order. Default false. */
  fortranOrder?: boolean;
}

/** Encodes an array as .npy bytes (little-endian). */
export function encodeNpy(array: ArrayInput, options: NpyWriteOptions = {}, argument = "array"): Uint8Array {
  if (options === null || typeof options !== "object") throw new InvalidArgumentError("options", "an object { fortranOrder? }", options);
  assertKnownKeys("options", options, ["fortranOrder"]);
  const fortranOrder = options.fortranOrder ?? false;
  if (typeof fortranOrder !== "boolean") throw new InvalidArgumentError("options.fortranOrder", "a boolean", fortranOrder);
  const { dtype, shape, bytes } = encodeElements(array, argument, NPY_DTYPES);
  const descr = DTYPE_TO_DESCR[dtype]!;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortranOrder ? "True" : "False"}, 'shape': ${shapeText}, }`;
  // Pad with spaces + '\n' so the data starts on a 64-byte boundary (numpy does the same).
  const paddedTotal = (preamble: number) => Math.ceil((preamble + dict.length + 1) / 64) * 64;
  const v1 = paddedTotal(10) - 10 <= 0xffff; // v1.0 stores the header length in 16 bits
  const preamble = v1 ? 10 : 12;
  const total = paddedTotal(preamble);
  const headerText = dict.padEnd(total - preamble - 1, " ") + "\n";
  const out = new Uint8Array(total + bytes.length);
  out.set(MAGIC, 0);
  out[6] = v1 ? 1 : 2;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (v1) view.setUint16(8, headerText.length, true); else view.setUint32(8, headerText.length, true);
  for (let i = 0; i < headerText.length; i++) out[preamble + i] = headerText.charCodeAt(i);
  let body = bytes;
  if (fortranOrder && shape.length > 1) {
    const item = ITEM_SIZE[dtype];
    // Reorder whole elements via an unsigned view of matching width (works for every dtype).
    const Word = item === 1 ? Uint8Array : item === 2 ? Uint16Array : item === 4 ? Uint32Array : BigUint64Array;
    const words = new Word(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.length / item) as ArrayData;
    const reordered = reorderFortran(words, shape, "cToF");
    body = new Uint8Array(reordered.buffer, reordered.byteOffset, reordered.byteLength);
  }
  out.set(body, total);
  return out;
}

/** Writes a .npy file atomically. */
export function writeNpy(file: string, array: ArrayInput, options: NpyWriteOptions = {}): void {
  atomicWriteFile(file, encodeNpy(array, options));
}
