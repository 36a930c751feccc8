/**
 * Reads the output folder of scripts/torch_probe.py ("bring your own gradients"): per-example
 * gradient statistics computed by PyTorch on any model, in the layout gradlab's own probe uses.
 *
 * Folder: manifest.json (written last, "complete": true), probe_norms.npy float32 [N, M] (Frobenius
 * norm of each selected matrix's per-example gradient), losses.npy float32 [N], features.npy
 * float32 [N, D] when the run projected (the seeded Rademacher projection of features/projection.ts,
 * bit-identical R), and examples.jsonl (source line, id/group/label when the input had them).
 *
 * Use `readBridgeOutput(dir)` once per folder; everything is validated before anything is returned:
 * a missing manifest or array, an interrupted run (manifest not complete: the script rewrites it
 * with complete=true only after every row is on disk), an array whose shape disagrees with the
 * manifest, or a NaN/Inf value all raise a typed error naming the file (and the row). Then turn
 * it into a PRISM ProbeResult with bridge/convert.ts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { FileFormatError, NonFiniteError } from "../errors";
import { readNpy } from "../io/npy";
import { readFileOrThrow } from "../io/atomic";
import { parseJsonl } from "../io/jsonl";

/**
 * The manifest version this reader understands; a manifest of any other version is refused with
 * FileFormatError.
 */
export const BRIDGE_MANIFEST_VERSION = 1;

/**
 * One selected matrix of a bridge run (name, shape, parameter count), in column order of the probe
 * norms.
 */
export interface BridgeMatrix {
  name: string;
  shape: [number, number];
  numel: number;
  /** First integer in the name (layer index), −1 if the name has none. */
  layer: number;
  /** The name's last component without ".weight"/"_proj" (q, k, gate…). */
  module: string;
}

/**
 * The projection a bridge run applied (seeded Rademacher, the same R as
 * `features.RandomProjector`).
 */
export interface BridgeProjection {
  kind: "rademacher";
  dim: number;
  blockRows: number;
  /** P: the summed numel of the matrices, in manifest order. */
  inputDim: number;
  /** What the script kept of R between batches ("blocks" | "draws" | "none"); informational. */
  cache?: string;
}

/**
 * The manifest.json of a torch_probe.py run: version, completeness, model, matrices, projection and
 * the environment it ran in.
 */
export interface BridgeManifest {
  version: number;
  complete: boolean;
  created: string;
  model: { kind: string; description: string; sha256?: string; [key: string]: unknown };
  data: { file: string; sha256: string };
  n_examples: number;
  mask_rule: string;
  matrices: BridgeMatrix[];
  seed: number | string | null;
  projection: BridgeProjection | null;
  dtype: "float32";
  per_example?: string;
  /** This folder's rows of a sharded run (--shard i/n): rows [start, end) of `total`. */
  shard?: { index: number; count: number; start: number; end: number; total: number };
  context_length?: number;
  seconds?: number;
  [key: string]: unknown;
}

/** One example of a bridge run: its input line and the id / group / label it carried. */
export interface BridgeExample {
  /** 1-based line of the input JSONL. */
  line: number;
  id?: string | number;
  group?: string;
  label?: boolean;
  n_tokens: number;
  n_targets: number;
}

/**
 * A validated bridge output folder: manifest, probe norms, losses, optional projected features and
 * examples (from `readBridgeOutput`).
 */
export interface BridgeOutput {
  dir: string;
  manifest: BridgeManifest;
  /** [example][matrix] raw probe norms (column j is manifest.matrices[j]). */
  norms: number[][];
  /** [example] loss (mean CE over the example's target tokens). */
  losses?: number[];
  /** [example] projected gradient (manifest.projection.dim values) when the run projected. */
  features?: Float32Array[];
  /** [example] where it came from; absent if the folder has no examples.jsonl. */
  examples?: BridgeExample[];
}

const MANIFEST = "manifest.json";

/**
 * Reads and validates one output folder of scripts/torch_probe.py (manifest, probe norms, losses,
 * optional projected features, examples). A missing file, an interrupted run, a shape mismatch or a
 * NaN raises a typed error naming the file; turn the result into a ProbeResult with
 * `bridgeToProbeResult`.
 */
export function readBridgeOutput(dir: string): BridgeOutput {
  const manifestPath = path.join(dir, MANIFEST);
  if (!fs.existsSync(manifestPath)) {
    throw new FileFormatError(manifestPath, `missing: ${dir} is not a torch_probe.py output folder, or the run never started`);
  }
  const manifest = parseManifest(manifestPath);
  const N = manifest.n_examples, M = manifest.matrices.length;
  if (!manifest.complete) {
    const onDisk = rowsOnDisk(path.join(dir, "probe_norms.npy"), M * 4);
    throw new FileFormatError(manifestPath, `interrupted run: "complete" is false (${onDisk} of ${N} rows on disk); rerun scripts/torch_probe.py`);
  }
  const columns = manifest.matrices.map((m) => m.name);
  const normsFlat = readMatrix(path.join(dir, "probe_norms.npy"), N, M, "n_examples × matrices", columns);
  const norms: number[][] = [];
  for (let i = 0; i < N; i++) {
    const row = Array.from(normsFlat.subarray(i * M, (i + 1) * M));
    const negative = row.findIndex((v) => v < 0);
    if (negative >= 0) throw new FileFormatError(path.join(dir, "probe_norms.npy"), `row ${i}: a norm is negative (${row[negative]} for ${columns[negative]})`);
    norms.push(row);
  }
  const out: BridgeOutput = { dir, manifest, norms };
  const files = (manifest.files ?? {}) as Record<string, string | null | undefined>;
  if (files.losses !== null) out.losses = Array.from(readMatrix(path.join(dir, files.losses ?? "losses.npy"), N, null, "n_examples", ["loss"]));
  if (manifest.projection !== null) {
    const D = manifest.projection.dim;
    const flat = readMatrix(path.join(dir, files.features ?? "features.npy"), N, D, "n_examples × projection.dim", null);
    out.features = Array.from({ length: N }, (_, i) => Float32Array.from(flat.subarray(i * D, (i + 1) * D)));
  }
  const examplesPath = path.join(dir, files.examples ?? "examples.jsonl");
  if (files.examples !== null && (files.examples !== undefined || fs.existsSync(examplesPath))) out.examples = readExamples(examplesPath, N);
  return out;
}

/** Rows fully written to a float32 .npy so far (for the interrupted-run message); 0 if unreadable. */
function rowsOnDisk(file: string, rowBytes: number): number {
  try {
    const bytes = fs.readFileSync(file);
    if (bytes.length < 12 || rowBytes === 0) return 0;
    const headerEnd = bytes[6] === 1 ? 10 + bytes.readUInt16LE(8) : 12 + bytes.readUInt32LE(8);
    return Math.max(0, Math.floor((bytes.length - headerEnd) / rowBytes));
  } catch {
    return 0;
  }
}

/** A float32/float64 .npy of shape [rows] (cols null) or [rows, cols]; finite, named on failure. */
function readMatrix(file: string, rows: number, cols: number | null, what: string, columnNames: string[] | null): Float32Array | Float64Array {
  const array = readNpy(file); // missing, truncated or malformed: FileFormatError naming the file
  const expected = cols === null ? [rows] : [rows, cols];
  if (array.shape.length !== expected.length || array.shape.some((d, i) => d !== expected[i])) {
    throw new FileFormatError(file, `shape [${array.shape.join(", ")}] does not match the manifest: expected [${expected.join(", ")}] (${what})`);
  }
  if (array.dtype !== "float32" && array.dtype !== "float64") throw new FileFormatError(file, `dtype ${array.dtype}; expected float32`);
  const data = array.data as Float32Array | Float64Array;
  const width = cols ?? 1;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      const row = Math.floor(i / width), col = i % width;
      const column = cols === null ? "" : `, column ${col}${columnNames ? ` (${columnNames[col]})` : ""}`;
      throw new NonFiniteError(`${file} row ${row}${column}`);
    }
  }
  return data;
}

function readExamples(file: string, n: number): BridgeExample[] {
  const { records } = parseJsonl<BridgeExample>(readFileOrThrow(file).toString("utf8"), file);
  if (records.length !== n) throw new FileFormatError(file, `${records.length} rows; expected ${n} (n_examples in the manifest)`);
  records.forEach((r, i) => {
    if (r === null || typeof r !== "object" || !Number.isInteger(r.line)) throw new FileFormatError(file, `row ${i}: expected an object with an integer "line"`);
  });
  return records;
}

const isCount = (v: unknown, min: number): v is number => typeof v === "number" && Number.isInteger(v) && v >= min;

function parseManifest(file: string): BridgeManifest {
  let value: unknown;
  try {
    value = JSON.parse(readFileOrThrow(file).toString("utf8"));
  } catch (e) {
    if (e instanceof FileFormatError) throw e;
    throw new FileFormatError(file, `not valid JSON (${(e as Error).message}); a torch_probe.py run writes it atomically, so the file was edited or damaged`);
  }
  const bad = (problem: string): never => { throw new FileFormatError(file, problem); };
  if (value === null || typeof value !== "object" || Array.isArray(value)) bad("expected a JSON object");
  const m = value as Record<string, unknown>;
  if (m.version !== BRIDGE_MANIFEST_VERSION) bad(`version ${JSON.stringify(m.version)}; this gradlab reads version ${BRIDGE_MANIFEST_VERSION}`);
  if (typeof m.complete !== "boolean") bad(`"complete" must be true or false`);
  if (!isCount(m.n_examples, 1)) bad(`"n_examples" must be a positive integer, got ${JSON.stringify(m.n_examples)}`);
  if (!Array.isArray(m.matrices) || m.matrices.length === 0) bad(`"matrices" must be a non-empty array`);
  (m.matrices as unknown[]).forEach((x, j) => {
    const mx = x as Record<string, unknown>;
    if (mx === null || typeof mx !== "object" || typeof mx.name !== "string") bad(`matrices[${j}]: expected {name, shape, numel}`);
    const shape = mx.shape as unknown[];
    if (!Array.isArray(shape) || shape.length !== 2 || !shape.every((d) => isCount(d, 1))) bad(`matrices[${j}] (${mx.name}): shape must be [out, in]`);
    if (mx.numel !== (shape[0] as number) * (shape[1] as number)) bad(`matrices[${j}] (${mx.name}): numel ${mx.numel} ≠ ${shape[0]}×${shape[1]}`);
    // Manifests from older or hand-made runs may lack layer/module: derive them as the script does.
    if (mx.layer === undefined) mx.layer = Number(/(?:^|\.)(?:layer)?(\d+)(?:\.|$)/.exec(mx.name as string)?.[1] ?? -1);
    if (mx.module === undefined) mx.module = (mx.name as string).replace(/\.weight$/, "").split(".").pop()!.replace(/_proj$/, "");
  });
  const p = m.projection as Record<string, unknown> | null | undefined;
  if (p === undefined) m.projection = null;
  else if (p !== null) {
    if (typeof p !== "object" || p.kind !== "rademacher") bad(`projection.kind must be "rademacher", got ${JSON.stringify(p?.kind)}`);
    if (!isCount(p.dim, 1) || !isCount(p.blockRows, 1)) bad(`projection needs positive integer dim and blockRows`);
    const total = (m.matrices as BridgeMatrix[]).reduce((s, x) => s + x.numel, 0);
    if (p.inputDim !== undefined && p.inputDim !== total) bad(`projection.inputDim ${p.inputDim} ≠ ${total}, the summed numel of the matrices`);
    p.inputDim = total;
    if (typeof m.seed !== "number" && typeof m.seed !== "string") bad(`a projected run needs "seed" (a number or string)`);
  }
  return m as unknown as BridgeManifest;
}
