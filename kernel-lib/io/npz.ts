/**
 * NumPy .npz archives: a zip of .npy members, as written by `np.savez` (stored, no compression)
 * and `np.savez_compressed` (deflate).
 *
 *  - `readNpz(path, {int64?})` → `{ name: NpyArray }` with the `.npy` suffix stripped (like `np.load`),
 *    in archive order. Sizes and offsets come from the central directory (numpy writes zip64
 *    local headers with placeholder sizes); every member's CRC-32 is checked, so a corrupted or
 *    truncated archive is reported rather than decoded into wrong numbers. Archives are untrusted:
 *    a deflated member never inflates past the size its directory entry declares, and a large
 *    one must first agree with its own .npy header (see `inflateBounded`), so a few hundred KB of
 *    deflate cannot expand to gigabytes before the sizes are checked.
 *  - `writeNpz(path, arrays, {compression})` — atomic; "stored" (default, like np.savez) or
 *    "deflate" (like np.savez_compressed). Timestamps are fixed (1980-01-01), so equal inputs give
 *    byte-identical archives. Archives above 4 GiB (zip64 on write) are not supported.
 */

import * as buffer from "node:buffer";
import * as zlib from "node:zlib";
import { FileFormatError, InvalidArgumentError, UnknownOptionError, assertKnownKeys } from "../errors";
import { atomicWriteFile, readFileOrThrow } from "./atomic";
import { ArrayInput, ReadOptions, checkReadOptions } from "./dtypes";
import { NpyArray, NpyWriteOptions, encodeNpy, parseNpy, readNpyLayout } from "./npy";

// ---- CRC-32 -------------------------------------------------------------------------------------

let crcTable: Uint32Array | null = null;
/** Table-driven CRC-32 (IEEE); the fallback where zlib.crc32 (Node ≥ 20.15) is missing, and the test oracle. */
export function crc32Reference(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const nativeCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;
export function crc32(bytes: Uint8Array): number {
  return nativeCrc32 ? nativeCrc32(bytes) >>> 0 : crc32Reference(bytes);
}

// ---- zip reading --------------------------------------------------------------------------------

const SIG_LOCAL = 0x04034b50, SIG_CENTRAL = 0x02014b50, SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50, SIG_ZIP64_EOCD = 0x06064b50;

interface ZipEntry { name: string; method: number; flags: number; crc: number; compressedSize: number; size: number; localOffset: number }

function readUint64(view: DataView, at: number, fail: (p: string) => never): number {
  const value = view.getUint32(at, true) + view.getUint32(at + 4, true) * 4294967296;
  if (!Number.isSafeInteger(value)) fail("zip64 size or offset beyond 2^53");
  return value;
}

function listEntries(bytes: Uint8Array, fail: (p: string) => never): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true), u32 = (at: number) => view.getUint32(at, true);
  // The end-of-central-directory record is the last 22 bytes plus an optional comment (≤ 65535).
  let eocd = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (u32(at) === SIG_EOCD && at + 22 + u16(at + 20) === bytes.length) { eocd = at; break; }
  }
  if (eocd < 0) fail(bytes.length < 22 ? `truncated: ${bytes.length} bytes is too short for a zip archive` : "not a zip archive (no end-of-central-directory record): truncated or not an .npz");
  let count = u16(eocd + 10), cdSize = u32(eocd + 12), cdOffset = u32(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || u32(locator) !== SIG_ZIP64_LOCATOR) fail("zip64 end-of-central-directory locator missing");
    const record = readUint64(view, locator + 8, fail);
    if (record + 56 > bytes.length || u32(record) !== SIG_ZIP64_EOCD) fail("zip64 end-of-central-directory record missing or truncated");
    count = readUint64(view, record + 32, fail);
    cdSize = readUint64(view, record + 40, fail);
    cdOffset = readUint64(view, record + 48, fail);
  }
  if (cdOffset + cdSize > bytes.length) fail(`central directory (${cdSize} bytes at ${cdOffset}) lies beyond the end of the ${bytes.length}-byte file: truncated`);

  const entries: ZipEntry[] = [];
  let at = cdOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > cdOffset + cdSize || u32(at) !== SIG_CENTRAL) fail(`central directory entry ${i} is corrupt`);
    const flags = u16(at + 8), method = u16(at + 10), crc = u32(at + 16);
    let compressedSize = u32(at + 20), size = u32(at + 24), localOffset = u32(at + 42);
    const nameLength = u16(at + 28), extraLength = u16(at + 30), commentLength = u16(at + 32);
    const end = at + 46 + nameLength + extraLength + commentLength;
    if (end > cdOffset + cdSize) fail(`central directory entry ${i} runs past the directory`);
    const name = new TextDecoder(flags & 0x800 ? "utf-8" : "latin1").decode(bytes.subarray(at + 46, at + 46 + nameLength));
    // zip64 extra field (id 1): the 64-bit values of whichever 32-bit fields were saturated, in this order.
    for (let x = at + 46 + nameLength; x + 4 <= at + 46 + nameLength + extraLength;) {
      const id = u16(x), length = u16(x + 2);
      if (id === 0x0001) {
        let p = x + 4;
        const field = (): number => {
          if (p + 8 > Math.min(x + 4 + length, end)) fail(`central directory entry ${i}: zip64 extra field is too short`);
          const value = readUint64(view, p, fail);
          p += 8;
          return value;
        };
        if (size === 0xffffffff) size = field();
        if (compressedSize === 0xffffffff) compressedSize = field();
        if (localOffset === 0xffffffff) localOffset = field();
      }
      x += 4 + length;
    }
    entries.push({ name, method, flags, crc, compressedSize, size, localOffset });
    at = end;
  }
  // A count smaller than the directory (e.g. 0 over two members) would silently drop arrays.
  if (at !== cdOffset + cdSize) fail(`central directory has ${cdOffset + cdSize - at} bytes beyond its ${count} declared entries: corrupt`);
  return entries;
}

// ---- bounded inflation ---------------------------------------------------------------------------

/** Deflate's ceiling: one 258-byte match per two bits, so at most ~1032 output bytes per input byte. */
const MAX_DEFLATE_RATIO = 1032;
/** Compressed bytes inflated first to read the member's .npy header (≤ ~4 MiB of output). */
const PEEK_COMPRESSED_BYTES = 4096;

function isTooLarge(error: unknown): boolean {
  return (error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE";
}

/**
 * Inflates a member without ever producing more than it declares. An archive is untrusted: a few
 * hundred KB of deflate can expand to gigabytes, so the output is capped (zlib's maxOutputLength)
 * at the size the zip directory declares, and — for members big enough to matter — that size must
 * first agree with the array size the member's own .npy header declares, read from a small
 * inflated prefix. A bomb is therefore rejected after inflating at most a few MB.
 */
function inflateBounded(stored: Uint8Array, entry: ZipEntry, where: string, fail: (p: string) => never): Uint8Array {
  const declared = entry.size;
  if (declared > MAX_DEFLATE_RATIO * stored.length + 1024) {
    fail(`${where}: declares ${declared} bytes uncompressed from ${stored.length} compressed, beyond what deflate can produce: corrupt`);
  }
  if (declared > buffer.constants.MAX_LENGTH) fail(`${where}: declares ${declared} bytes uncompressed, more than one buffer can hold here`);
  const cap = Math.max(1, declared); // zlib requires a cap ≥ 1; a 0-byte member that inflates to 1 fails below
  const tooLarge = (): never => fail(`${where}: inflates to more than the ${declared} bytes its directory entry declares (a decompression bomb or a corrupt archive)`);
  if (stored.length > PEEK_COMPRESSED_BYTES) {
    let prefix: Uint8Array | null = null;
    try {
      // Z_SYNC_FLUSH returns what a cut stream decodes to instead of failing at its end.
      prefix = zlib.inflateRawSync(stored.subarray(0, PEEK_COMPRESSED_BYTES), { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: cap });
    } catch (e) {
      if (isTooLarge(e)) tooLarge();
      // Corrupt deflate data: the full inflation below reports it.
    }
    const memberFail = (problem: string): never => fail(`${where}: ${problem}`);
    const layout = prefix === null ? null : readNpyLayout(prefix, memberFail, true);
    if (layout !== null && layout.dataStart + layout.dataBytes !== declared) {
      fail(`${where}: the zip directory declares ${declared} bytes but the .npy header declares ${layout.dataStart + layout.dataBytes} (shape (${layout.shape.join(", ")}) of ${layout.descr})`);
    }
  }
  try {
    return zlib.inflateRawSync(stored, { maxOutputLength: cap });
  } catch (e) {
    if (isTooLarge(e)) return tooLarge();
    return fail(`${where}: deflate data is corrupt (${(e as Error).message})`);
  }
}

function extractEntry(bytes: Uint8Array, entry: ZipEntry, fail: (p: string) => never): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const where = `member '${entry.name}'`;
  if (entry.flags & 0x1) fail(`${where} is encrypted`);
  if (entry.localOffset + 30 > bytes.length || view.getUint32(entry.localOffset, true) !== SIG_LOCAL) fail(`${where}: local header missing or corrupt`);
  const dataStart = entry.localOffset + 30 + view.getUint16(entry.localOffset + 26, true) + view.getUint16(entry.localOffset + 28, true);
  if (dataStart + entry.compressedSize > bytes.length) fail(`${where}: data runs past the end of the file: truncated`);
  const stored = bytes.subarray(dataStart, dataStart + entry.compressedSize);
  let content: Uint8Array;
  if (entry.method === 0) content = stored;
  else if (entry.method === 8) content = inflateBounded(stored, entry, where, fail);
  else return fail(`${where}: compression method ${entry.method} is not supported (only stored and deflate, as numpy writes)`);
  if (content.length !== entry.size) fail(`${where}: expected ${entry.size} bytes after decompression, got ${content.length}`);
  if (crc32(content) !== entry.crc) fail(`${where}: CRC-32 mismatch (corrupt data)`);
  return content;
}

/** Parses .npz bytes; `source` names the file in errors (members appear as `source:name.npy`). */
export function parseNpz(bytes: Uint8Array, source = "<npz bytes>", options: ReadOptions = {}): Record<string, NpyArray> {
  checkReadOptions(options);
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError("bytes", "a Uint8Array (or Buffer) holding an .npz archive", bytes);
  const fail = (problem: string): never => { throw new FileFormatError(source, problem); };
  const out: Record<string, NpyArray> = {};
  for (const entry of listEntries(bytes, fail)) {
    if (!entry.name.endsWith(".npy")) fail(`member '${entry.name}' is not a .npy array`);
    const key = entry.name.slice(0, -4);
    if (Object.prototype.hasOwnProperty.call(out, key)) fail(`member '${entry.name}' appears twice`);
    const array = parseNpy(extractEntry(bytes, entry, fail), `${source}:${entry.name}`, options);
    // defineProperty: a member named "__proto__.npy" must become a key, not a prototype.
    Object.defineProperty(out, key, { value: array, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Reads an .npz file into `{ name: NpyArray }`. */
export function readNpz(file: string, options: ReadOptions = {}): Record<string, NpyArray> {
  checkReadOptions(options);
  return parseNpz(readFileOrThrow(file), file, options);
}

// ---- zip writing --------------------------------------------------------------------------------

/** Options of the .npz writers: the .npy options and the compression. */
export interface NpzWriteOptions extends NpyWriteOptions {
  /** "stored" (np.savez, default) or "deflate" (np.savez_compressed). */
  compression?: "stored" | "deflate";
}

/** Encodes `{ name: array }` as .npz bytes; each member is `name.npy`. */
export function encodeNpz(arrays: Record<string, ArrayInput>, options: NpzWriteOptions = {}): Uint8Array {
  if (options === null || typeof options !== "object") throw new InvalidArgumentError("options", "an object { compression?, fortranOrder? }", options);
  assertKnownKeys("options", options, ["compression", "fortranOrder"]);
  const compression = options.compression ?? "stored";
  if (compression !== "stored" && compression !== "deflate") throw new UnknownOptionError("options.compression", String(compression), ["stored", "deflate"]);
  if (arrays === null || typeof arrays !== "object" || Array.isArray(arrays)) throw new InvalidArgumentError("arrays", "an object { name: {dtype?, shape, data} }", arrays);
  const locals: Uint8Array[] = [], centrals: Uint8Array[] = [];
  let offset = 0;
  for (const key of Object.keys(arrays)) {
    if (key.length === 0) throw new InvalidArgumentError("arrays", "non-empty array names", key);
    const content = encodeNpy(arrays[key], { fortranOrder: options.fortranOrder }, `arrays.${key}`);
    const data = compression === "deflate" ? zlib.deflateRawSync(content) : content;
    const name = Buffer.from(`${key}.npy`, "utf8");
    const utf8Flag = /^[\x20-\x7e]*$/.test(key) ? 0 : 0x800;
    if (data.length > 0xfffffffe || content.length > 0xfffffffe || offset > 0xfffffffe) {
      throw new InvalidArgumentError(`arrays.${key}`, "an archive below 4 GiB (zip64 writing is not supported)", `${content.length} bytes`);
    }
    const method = compression === "deflate" ? 8 : 0, crc = crc32(content);
    const local = new Uint8Array(30 + name.length), lv = new DataView(local.buffer);
    lv.setUint32(0, SIG_LOCAL, true); lv.setUint16(4, 20, true); lv.setUint16(6, utf8Flag, true); lv.setUint16(8, method, true);
    lv.setUint16(10, 0, true); lv.setUint16(12, 0x21, true); // DOS time 00:00, date 1980-01-01
    lv.setUint32(14, crc, true); lv.setUint32(18, data.length, true); lv.setUint32(22, content.length, true);
    lv.setUint16(26, name.length, true); lv.setUint16(28, 0, true);
    local.set(name, 30);
    const central = new Uint8Array(46 + name.length), cv = new DataView(central.buffer);
    cv.setUint32(0, SIG_CENTRAL, true); cv.setUint16(4, 20, true); cv.setUint16(6, 20, true); cv.setUint16(8, utf8Flag, true);
    cv.setUint16(10, method, true); cv.setUint16(12, 0, true); cv.setUint16(14, 0x21, true);
    cv.setUint32(16, crc, true); cv.setUint32(20, data.length, true); cv.setUint32(24, content.length, true);
    cv.setUint16(28, name.length, true); cv.setUint32(38, 0o100644 * 65536, true); cv.setUint32(42, offset, true);
    central.set(name, 46);
    locals.push(local, data);
    centrals.push(central);
    offset += local.length + data.length;
  }
  const cdSize = centrals.reduce((a, c) => a + c.length, 0);
  if (centrals.length > 0xfffe || offset + cdSize > 0xfffffffe) throw new InvalidArgumentError("arrays", "fewer than 65535 arrays and an archive below 4 GiB", `${centrals.length} arrays`);
  const eocd = new Uint8Array(22), ev = new DataView(eocd.buffer);
  ev.setUint32(0, SIG_EOCD, true); ev.setUint16(8, centrals.length, true); ev.setUint16(10, centrals.length, true);
  ev.setUint32(12, cdSize, true); ev.setUint32(16, offset, true);
  return Buffer.concat([...locals, ...centrals, eocd]);
}

/** Writes an .npz archive atomically. */
export function writeNpz(file: string, arrays: Record<string, ArrayInput>, options: NpzWriteOptions = {}): void {
  atomicWriteFile(file, encodeNpz(arrays, options));
}
