/**
 * A feature store on disk: per-example feature rows (projected gradients, embeddings) in chunks of
 * `chunkRows` rows, one float32 .npy file per chunk (readable by numpy.load), plus `meta.json`.
 * A pool too large for memory is written chunk by chunk as its gradients are computed, and read
 * back chunk by chunk (`chunks()`), so only one chunk is ever held.
 *
 *   <dir>/meta.json          {format, version, rows, dim, chunkRows, chunks: [{file, rows}], attributes}
 *   <dir>/chunk-000000.npy   float32 [rows, dim]
 *
 * Completeness: chunks are written atomically as they fill, and meta.json — written atomically
 * LAST by `finish()` — is what makes a store exist. A writer that dies half-way leaves chunks but
 * no meta.json, which `openFeatureStore` reports as an incomplete store (FileFormatError), never as
 * a short one. Every chunk is checked against meta.json when read (dtype, shape), so a truncated
 * or swapped file is a FileFormatError naming that file.
 * Which read when: `chunks()` to stream (LESS scores are row-independent, so they stream), `readAll()`
 * when the rows fit in memory (the k-NN graph and the walk need the whole pool).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { FileFormatError, InvalidArgumentError, ShapeError, assertFinite } from "../errors";
import { checkOptions, option } from "../options";
import { atomicWriteFile } from "../io/atomic";
import { readNpy, writeNpy } from "../io/npy";

/** The `format` field of a feature store's meta.json. */
export const FEATURE_STORE_FORMAT = "gradlab-feature-store";
/** The feature store layout version this code writes and reads. */
export const FEATURE_STORE_VERSION = 1;

/** The meta.json of a feature store: format, version, rows, dim, chunk layout and free attributes. */
export interface FeatureStoreMeta {
  format: string;
  version: number;
  rows: number;
  dim: number;
  chunkRows: number;
  chunks: { file: string; rows: number }[];
  /** Free-form JSON describing what the rows are (checkpoint, projection seed …). */
  attributes: Record<string, unknown>;
}

/** One chunk streamed from a FeatureStore: its first row's index and its rows. */
export interface FeatureChunk {
  /** Index of the chunk's first row in the store. */
  start: number;
  rows: Float32Array[];
}

/**
 * Writes a feature store chunk by chunk as rows arrive (each chunk atomically); `finish()` writes
 * meta.json last, which is what makes the store exist, so a writer that dies leaves an incomplete
 * store, never a short one.
 */
export class FeatureStoreWriter {
  private buffer: Float32Array[] = [];
  private readonly chunks: { file: string; rows: number }[] = [];
  private written = 0;
  private finished = false;

  private constructor(readonly dir: string, readonly dim: number, readonly chunkRows: number, readonly attributes: Record<string, unknown>) {}

  /**
   * Starts a store in `dir` (created; it must not already hold a meta.json). With `resume: true`
   * a folder left by a writer that died keeps its complete chunks (each written atomically and
   * full, checked here: float32 [chunkRows, dim], consecutive from chunk-000000): `rows` then says
   * how many rows are already on disk, so the caller continues from that example (e.g.
   * `lessFeatures(model, batch, { sink: writer, start: writer.rows, … })`). Pass the same dim and
   * chunkRows as the first run.
   */
  static create(dir: string, options: { dim: number; chunkRows?: number; attributes?: Record<string, unknown>; resume?: boolean }): FeatureStoreWriter {
    if (options === undefined) throw new InvalidArgumentError("options", "{dim}");
    checkOptions("options", options, { dim: option.any, chunkRows: option.any, attributes: option.object, resume: option.boolean }); // dim, chunkRows: below
    if (typeof dir !== "string" || dir.length === 0) throw new InvalidArgumentError("dir", "a folder path", dir);
    const { dim } = options;
    const chunkRows = options.chunkRows ?? 1024;
    if (!Number.isInteger(dim) || dim < 1) throw new InvalidArgumentError("options.dim", "a positive integer", dim);
    if (!Number.isInteger(chunkRows) || chunkRows < 1) throw new InvalidArgumentError("options.chunkRows", "a positive integer", chunkRows);
    if (fs.existsSync(path.join(dir, "meta.json"))) throw new InvalidArgumentError("dir", "a folder without a finished store (meta.json exists)", dir);
    fs.mkdirSync(dir, { recursive: true });
    JSON.stringify(options.attributes ?? {}); // fail now on non-JSON attributes, not at finish()
    const writer = new FeatureStoreWriter(dir, dim, chunkRows, options.attributes ?? {});
    // Without resume, chunks a dead writer left are overwritten from row 0 (meta.json lists only ours).
    if (options.resume === true) writer.adoptChunks();
    return writer;
  }

  /** Rows appended so far, including those found on disk when resuming. */
  get rows(): number {
    return this.written + this.buffer.length;
  }

  /** Takes over the consecutive full chunks a dead writer left (resume); removes a partial one. */
  private adoptChunks(): void {
    for (let k = 0; ; k++) {
      const file = `chunk-${String(k).padStart(6, "0")}.npy`, full = path.join(this.dir, file);
      if (!fs.existsSync(full)) break;
      const array = readNpy(full);
      if (array.dtype !== "float32" || array.shape.length !== 2 || array.shape[1] !== this.dim) {
        throw new FileFormatError(full, `dtype ${array.dtype}, shape [${array.shape.join(", ")}]; resuming needs float32 [${this.chunkRows}, ${this.dim}] (same dim and chunkRows as the first run)`);
      }
      if (array.shape[0] !== this.chunkRows) { fs.rmSync(full); break; } // only finish() writes a short chunk
      this.chunks.push({ file, rows: this.chunkRows });
      this.written += this.chunkRows;
    }
  }

  /** Adds rows (each of length dim, finite); full chunks are written immediately. */
  append(rows: readonly Float32Array[]): void {
    if (this.finished) throw new InvalidArgumentError("writer", "an unfinished writer (finish() was called)");
    rows.forEach((row, i) => {
      if (!(row instanceof Float32Array)) throw new InvalidArgumentError(`rows[${i}]`, "a Float32Array", row);
      if (row.length !== this.dim) throw new ShapeError(`rows[${i}]`, `[${this.dim}]`, [row.length]);
      assertFinite(`rows[${i}]`, row);
      this.buffer.push(row);
      if (this.buffer.length === this.chunkRows) this.flush();
    });
  }

  private flush(): void {
    if (this.buffer.length === 0) return;
    const file = `chunk-${String(this.chunks.length).padStart(6, "0")}.npy`;
    const data = new Float32Array(this.buffer.length * this.dim);
    this.buffer.forEach((row, i) => data.set(row, i * this.dim));
    writeNpy(path.join(this.dir, file), { data, shape: [this.buffer.length, this.dim] });
    this.chunks.push({ file, rows: this.buffer.length });
    this.written += this.buffer.length;
    this.buffer = [];
  }

  /** Writes the last partial chunk and meta.json; returns the opened store. */
  finish(): FeatureStore {
    if (this.finished) throw new InvalidArgumentError("writer", "an unfinished writer (finish() was called)");
    this.flush();
    if (this.written === 0) throw new InvalidArgumentError("writer", "at least one appended row before finish()");
    const meta: FeatureStoreMeta = {
      format: FEATURE_STORE_FORMAT, version: FEATURE_STORE_VERSION, rows: this.written, dim: this.dim, chunkRows: this.chunkRows,
      chunks: this.chunks, attributes: this.attributes,
    };
    atomicWriteFile(path.join(this.dir, "meta.json"), JSON.stringify(meta, null, 1) + "\n");
    this.finished = true;
    return openFeatureStore(this.dir);
  }
}

/** Writes all rows at once (convenience for small sets). */
export function writeFeatureStore(dir: string, rows: readonly Float32Array[], options: { chunkRows?: number; attributes?: Record<string, unknown> } = {}): FeatureStore {
  checkOptions("options", options, { chunkRows: option.any, attributes: option.any }); // checked by create
  if (!Array.isArray(rows) || rows.length === 0) throw new InvalidArgumentError("rows", "at least one row", rows);
  const writer = FeatureStoreWriter.create(dir, { dim: rows[0].length, ...options });
  writer.append(rows);
  return writer.finish();
}

/**
 * A complete feature store opened for reading (`openFeatureStore(dir)`): stream it with `chunks()`
 * (LESS scores are row-independent), or `readAll()` when the rows fit in memory (the k-NN graph and
 * the walk need the whole pool).
 */
export class FeatureStore {
  constructor(readonly dir: string, readonly meta: FeatureStoreMeta) {}

  /** Rows in the store. */
  get rows(): number { return this.meta.rows; }
  /** Width of every row. */
  get dim(): number { return this.meta.dim; }
  /** The free attributes the writer recorded (e.g. projector seed, model, checkpoint). */
  get attributes(): Record<string, unknown> { return this.meta.attributes; }

  private readChunk(index: number): Float32Array[] {
    const { file, rows } = this.meta.chunks[index];
    const full = path.join(this.dir, file);
    const array = readNpy(full);
    if (array.dtype !== "float32") throw new FileFormatError(full, `dtype ${array.dtype}; expected float32`);
    if (array.shape.length !== 2 || array.shape[0] !== rows || array.shape[1] !== this.dim) {
      throw new FileFormatError(full, `shape [${array.shape.join(", ")}]; meta.json says [${rows}, ${this.dim}]`);
    }
    const data = array.data as Float32Array;
    return Array.from({ length: rows }, (_, i) => data.slice(i * this.dim, (i + 1) * this.dim));
  }

  /** The chunks in order, one at a time. */
  *chunks(): Generator<FeatureChunk> {
    let start = 0;
    for (let c = 0; c < this.meta.chunks.length; c++) {
      const rows = this.readChunk(c);
      yield { start, rows };
      start += rows.length;
    }
  }

  /** Every row in memory. */
  readAll(): Float32Array[] {
    const out: Float32Array[] = [];
    for (const chunk of this.chunks()) for (const row of chunk.rows) out.push(row);
    return out;
  }
}

/** Opens and validates a finished store. */
export function openFeatureStore(dir: string): FeatureStore {
  const metaFile = path.join(dir, "meta.json");
  if (!fs.existsSync(metaFile)) {
    const hasChunks = fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.startsWith("chunk-"));
    throw new FileFormatError(metaFile, hasChunks ? "missing: the store is incomplete (its writer never finished)" : "missing: not a feature store");
  }
  let meta: FeatureStoreMeta;
  try {
    meta = JSON.parse(fs.readFileSync(metaFile, "utf8")) as FeatureStoreMeta;
  } catch (e) {
    throw new FileFormatError(metaFile, `not valid JSON (${(e as Error).message})`);
  }
  if (meta === null || typeof meta !== "object") throw new FileFormatError(metaFile, "not a JSON object");
  if (meta.format !== FEATURE_STORE_FORMAT) throw new FileFormatError(metaFile, `format ${JSON.stringify(meta.format)}; expected ${FEATURE_STORE_FORMAT}`);
  if (meta.version !== FEATURE_STORE_VERSION) throw new FileFormatError(metaFile, `version ${meta.version}; this reader knows ${FEATURE_STORE_VERSION}`);
  for (const key of ["rows", "dim", "chunkRows"] as const) {
    if (!Number.isInteger(meta[key]) || meta[key] < 1) throw new FileFormatError(metaFile, `${key} must be a positive integer, got ${JSON.stringify(meta[key])}`);
  }
  if (!Array.isArray(meta.chunks) || meta.chunks.length === 0) throw new FileFormatError(metaFile, "chunks must be a non-empty list");
  let total = 0;
  meta.chunks.forEach((c, i) => {
    if (c === null || typeof c !== "object" || typeof c.file !== "string" || !/^chunk-\d{6}\.npy$/.test(c.file) || !Number.isInteger(c.rows) || c.rows < 1) {
      throw new FileFormatError(metaFile, `chunks[${i}] must be {file: "chunk-NNNNNN.npy", rows > 0}`);
    }
    if (c.rows > meta.chunkRows || (i < meta.chunks.length - 1 && c.rows !== meta.chunkRows)) throw new FileFormatError(metaFile, `chunks[${i}] has ${c.rows} rows; chunkRows is ${meta.chunkRows}`);
    if (!fs.existsSync(path.join(dir, c.file))) throw new FileFormatError(path.join(dir, c.file), "missing (listed in meta.json)");
    total += c.rows;
  });
  if (total !== meta.rows) throw new FileFormatError(metaFile, `chunks hold ${total} rows; rows says ${meta.rows}`);
  return new FeatureStore(dir, { ...meta, attributes: meta.attributes ?? {} });
}
