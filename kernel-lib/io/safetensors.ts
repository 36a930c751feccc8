/**
 * safetensors files (Hugging Face): 8-byte little-endian header length N, N bytes of JSON
 * `{ name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string} }`, then
 * one byte buffer that the offsets index into.
 *
 *  - `readSafetensors(path)` → `{ tensors: { name: NdArray }, metadata }`. Validation follows the
 *    reference implementation: each tensor's byte length must equal numel × itemsize, and the
 *    tensors must tile the data buffer exactly (sorted by offset: no overlap, no hole, nothing past
 *    the end, nothing left over) — anything else is FileFormatError naming the tensor.
 *    F16 and BF16 are converted to Float32Array (exactly); the reported dtype stays float16/bfloat16.
 *  - `writeSafetensors(path, tensors, metadata?)` — atomic; tensors ordered by item size (largest
 *    first) then name, header padded with spaces to a multiple of 8 so every tensor stays aligned,
 *    as the reference writer does. float16/bfloat16 outputs are rounded to nearest-even.
 */

import { FileFormatError, InvalidArgumentError } from "../errors";
import { atomicWriteFile, readFileOrThrow } from "./atomic";
import { ArrayInput, DType, ITEM_SIZE, NdArray, ReadOptions, checkReadOptions, decodeElements, encodeElements } from "./dtypes";

/** A parsed safetensors file: its tensors by name and the metadata header. */
export interface SafetensorsContent {
  tensors: Record<string, NdArray>;
  metadata: Record<string, string>;
}

const CODE_TO_DTYPE: Readonly<Record<string, DType>> = {
  BOOL: "bool", U8: "uint8", I8: "int8", U16: "uint16", I16: "int16", U32: "uint32", I32: "int32",
  U64: "uint64", I64: "int64", F16: "float16", BF16: "bfloat16", F32: "float32", F64: "float64",
};
const DTYPE_TO_CODE = Object.fromEntries(Object.entries(CODE_TO_DTYPE).map(([code, dtype]) => [dtype, code])) as Record<DType, string>;
const MAX_HEADER_BYTES = 100_000_000; // the reference implementation's limit

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Parses safetensors bytes; `source` names the file in errors. */
export function parseSafetensors(bytes: Uint8Array, source = "<safetensors bytes>", options: ReadOptions = {}): SafetensorsContent {
  checkReadOptions(options);
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError("bytes", "a Uint8Array (or Buffer) holding a safetensors file", bytes);
  const fail = (problem: string): never => { throw new FileFormatError(source, problem); };
  if (bytes.length < 8) fail(`truncated: ${bytes.length} bytes is shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(0, true) + view.getUint32(4, true) * 4294967296;
  if (headerLength > MAX_HEADER_BYTES) fail(`header length ${headerLength} is implausible (limit ${MAX_HEADER_BYTES}): not a safetensors file?`);
  if (8 + headerLength > bytes.length) fail(`truncated header: it declares ${headerLength} bytes, the file has ${bytes.length - 8} after the length`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (!isRecord(header)) fail("header is not a JSON object");
  const dataStart = 8 + headerLength, dataLength = bytes.length - dataStart;

  const metadata: Record<string, string> = {};
  const spans: Array<{ name: string; begin: number; end: number; dtype: DType; shape: number[] }> = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (!isRecord(info)) fail("__metadata__ must be an object of strings");
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`__metadata__.${k} must be a string, got ${JSON.stringify(v)}`);
        setOwn(metadata, k, v as string);
      }
      continue;
    }
    const where = `tensor '${name}'`;
    if (!isRecord(info)) fail(`${where}: entry must be an object {dtype, shape, data_offsets}`);
    const { dtype: code, shape, data_offsets: offsets } = info as Record<string, unknown>;
    const dtype = typeof code === "string" ? CODE_TO_DTYPE[code] : undefined;
    if (!dtype) fail(`${where}: unknown dtype ${JSON.stringify(code)} (supported: ${Object.keys(CODE_TO_DTYPE).join(", ")})`);
    if (!Array.isArray(shape) || !shape.every((n) => Number.isSafeInteger(n) && n >= 0)) fail(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((n) => Number.isSafeInteger(n) && n >= 0) || offsets[0] > offsets[1]) {
      fail(`${where}: data_offsets must be [begin, end] with 0 ≤ begin ≤ end, got ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as number[];
    const numel = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== numel * ITEM_SIZE[dtype!]) {
      fail(`${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape [${(shape as number[]).join(", ")}] of ${code} needs ${numel * ITEM_SIZE[dtype!]}`);
    }
    if (end > dataLength) fail(`${where}: data_offsets [${begin}, ${end}] exceed the ${dataLength}-byte data buffer: truncated or corrupt`);
    spans.push({ name, begin, end, dtype: dtype!, shape: shape as number[] });
  }

  // The tensors must tile [0, dataLength): sort by begin and walk.
  const ordered = [...spans].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (let i = 0; i < ordered.length; i++) {
    const s = ordered[i];
    if (s.begin < cursor) fail(`tensors '${ordered[i - 1].name}' and '${s.name}' overlap (bytes ${s.begin}–${cursor})`);
    if (s.begin > cursor) fail(`hole in the data buffer: bytes ${cursor}–${s.begin} belong to no tensor (before '${s.name}')`);
    cursor = s.end;
  }
  if (cursor !== dataLength) fail(`${dataLength - cursor} bytes after the last tensor belong to no tensor`);

  const tensors: Record<string, NdArray> = {};
  for (const s of spans) {
    const numel = (s.end - s.begin) / ITEM_SIZE[s.dtype];
    const data = decodeElements(s.dtype, bytes.subarray(dataStart + s.begin, dataStart + s.end), numel, options);
    if (typeof data === "string") fail(`tensor '${s.name}': ${data}`);
    setOwn(tensors, s.name, { dtype: s.dtype, shape: s.shape, data: data as NdArray["data"] });
  }
  return { tensors, metadata };
}

/** Reads a safetensors file. */
export function readSafetensors(file: string, options: ReadOptions = {}): SafetensorsContent {
  checkReadOptions(options);
  return parseSafetensors(readFileOrThrow(file), file, options);
}

/** Encodes tensors (+ optional string metadata) as safetensors bytes. */
export function encodeSafetensors(tensors: Record<string, ArrayInput>, metadata: Record<string, string> = {}): Uint8Array {
  if (!isRecord(tensors)) throw new InvalidArgumentError("tensors", "an object { name: {dtype?, shape, data} }", tensors);
  if (!isRecord(metadata)) throw new InvalidArgumentError("metadata", "an object of strings", metadata);
  for (const [k, v] of Object.entries(metadata)) if (typeof v !== "string") throw new InvalidArgumentError(`metadata.${k}`, "a string", v);
  const encoded = Object.keys(tensors).map((name) => {
    if (name === "__metadata__") throw new InvalidArgumentError("tensors", "no tensor named __metadata__ (reserved for metadata)", name);
    if (name.length === 0) throw new InvalidArgumentError("tensors", "non-empty tensor names", name);
    return { name, ...encodeElements(tensors[name], `tensors.${name}`) };
  });
  encoded.sort((a, b) => ITEM_SIZE[b.dtype] - ITEM_SIZE[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of encoded) {
    setOwn(header, t.name, { dtype: DTYPE_TO_CODE[t.dtype], shape: t.shape, data_offsets: [offset, offset + t.bytes.length] });
    offset += t.bytes.length;
  }
  let json = Buffer.from(JSON.stringify(header), "utf8");
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setUint32(0, json.length, true); // high 32 bits stay 0
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of encoded) { out.set(t.bytes, at); at += t.bytes.length; }
  return out;
}

/** Writes a safetensors file atomically. */
export function writeSafetensors(file: string, tensors: Record<string, ArrayInput>, metadata: Record<string, string> = {}): void {
  atomicWriteFile(file, encodeSafetensors(tensors, metadata));
}
