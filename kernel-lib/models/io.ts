/**
 * Save / load model weights as safetensors (readable by Python's `safetensors.torch.load_file`):
 * 8-byte little-endian header length, a JSON header {name: {dtype: "F32", shape, data_offsets}},
 * `__metadata__` (string → string, as the format requires: format, kind, config JSON, lora JSON),
 * then the raw little-endian float32 data. Matrices are stored in their [out, in] layout, the same
 * as a torch Linear's weight.
 *
 * Writes are atomic (temporary file + rename): a crash never leaves a half-written file under the
 * real name. Loads are validated: a truncated file, a bad header, a dtype other than F32 or
 * overlapping / out-of-range offsets raise FileFormatError; a missing or extra tensor raises
 * FileFormatError; a tensor of the wrong shape raises ShapeError — all naming the file.
 * (A minimal reader for model weights; kernel-lib/io/ has the general one.)
 */
import * as fs from "fs";
import * as path from "path";
import { tf } from "../tf";
import { FileFormatError, InvalidArgumentError, ShapeError } from "../errors";
import { GruConfig, GruLanguageModel } from "./gru";
import { LoraOptions, attachLora } from "./lora";
import { MlpConfig, MlpModel } from "./mlp";
import { TinyTransformer, TransformerConfig } from "./transformer";

export type SavableModel = TinyTransformer | GruLanguageModel | MlpModel;

export interface NamedArray { name: string; shape: number[]; data: Float32Array }

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The safetensors bytes for these float32 tensors. */
export function encodeSafetensors(tensors: readonly NamedArray[], metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    if (t.name === "__metadata__" || t.name in header) throw new InvalidArgumentError("tensors", "unique names other than __metadata__", t.name);
    if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) throw new ShapeError(`tensor ${t.name}`, `${t.data.length} values`, t.shape);
    header[t.name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + t.data.length * 4] };
    offset += t.data.length * 4;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // align the data to 8 bytes
  const headerBytes = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors) {
    if (LITTLE_ENDIAN) Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, at);
    else t.data.forEach((v, i) => out.writeFloatLE(v, at + 4 * i));
    at += t.data.byteLength;
  }
  return out;
}

/** Parses and validates safetensors bytes (F32 only); `file` names the source in errors. */
export function decodeSafetensors(bytes: Buffer, file: string): { tensors: Map<string, { shape: number[]; data: Float32Array }>; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new FileFormatError(file, `truncated: ${bytes.length} bytes, need at least 8 for the header length`);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  if (headerLength > bytes.length - 8) throw new FileFormatError(file, `header length ${headerLength} exceeds the file (${bytes.length} bytes)`);
  let header: unknown;
  try {
    header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString("utf8"));
  } catch (e) {
    throw new FileFormatError(file, `header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) throw new FileFormatError(file, "header is not a JSON object");
  const dataStart = 8 + headerLength, dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const spans: Array<[number, number, string]> = [];
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (entry === null || typeof entry !== "object") throw new FileFormatError(file, "__metadata__ is not an object");
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== "string") throw new FileFormatError(file, `__metadata__.${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e === null || typeof e !== "object") throw new FileFormatError(file, `entry ${name} is not an object`);
    if (e.dtype !== "F32") throw new FileFormatError(file, `tensor ${name} has dtype ${JSON.stringify(e.dtype)}; only F32 is supported`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new FileFormatError(file, `tensor ${name} has an invalid shape`);
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      throw new FileFormatError(file, `tensor ${name} has invalid data_offsets`);
    }
    const [start, end] = offsets as [number, number];
    const count = (e.shape as number[]).reduce((a, b) => a * b, 1);
    if (end - start !== count * 4) throw new FileFormatError(file, `tensor ${name}: data_offsets span ${end - start} bytes, shape needs ${count * 4}`);
    if (end > dataLength) throw new FileFormatError(file, `tensor ${name} ends at byte ${end}, beyond the data (${dataLength} bytes; truncated?)`);
    spans.push([start, end, name]);
    const data = new Float32Array(count);
    const raw = bytes.subarray(dataStart + start, dataStart + end);
    if (LITTLE_ENDIAN) new Uint8Array(data.buffer).set(raw);
    else for (let i = 0; i < count; i++) data[i] = raw.readFloatLE(4 * i);
    tensors.set(name, { shape: e.shape as number[], data });
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][0] < spans[i - 1][1]) throw new FileFormatError(file, `tensors ${spans[i - 1][2]} and ${spans[i][2]} overlap`);
  }
  return { tensors, metadata };
}

/** Writes `bytes` to a temporary file next to `target`, then renames it into place. */
export function writeFileAtomic(target: string, bytes: Buffer): void {
  const dir = path.dirname(path.resolve(target));
  if (!fs.existsSync(dir)) throw new InvalidArgumentError("path", `a file in an existing directory (${dir} does not exist)`, target);
  const temp = path.join(dir, `.${path.basename(target)}.${process.pid}.${Date.now()}.tmp`);
  try {
    fs.writeFileSync(temp, bytes);
    fs.renameSync(temp, target);
  } catch (e) {
    fs.rmSync(temp, { force: true });
    throw e;
  }
}

/** Every weight of `model` (and its LoRA adapters, if attached) with its config, as safetensors bytes. */
export function serializeModel(model: SavableModel): Buffer {
  const metadata: Record<string, string> = { format: "gradlab", kind: model.kind, config: JSON.stringify(model.config) };
  if (model instanceof TinyTransformer && model.loraAdapters !== null) metadata.lora = JSON.stringify(model.loraAdapters.options);
  const tensors = model.namedWeights().map(({ name, variable }) => ({ name, shape: variable.shape.slice() as number[], data: variable.dataSync() as Float32Array }));
  return encodeSafetensors(tensors, metadata);
}

/** Saves every weight of `model` (and its LoRA adapters, if attached) with its config. */
export function saveModel(model: SavableModel, file: string): void {
  writeFileAtomic(file, serializeModel(model));
}

/** Rebuilds the model saved in `file` (kind and config from the metadata) with its weights. */
export function loadModel(file: string): SavableModel {
  return deserializeModel(readModelBytes(file), file);
}

/** Rebuilds a model from `serializeModel` bytes; `label` names the source in errors. */
export function deserializeModel(bytes: Buffer, label: string): SavableModel {
  const file = label;
  const { tensors, metadata } = decodeSafetensors(bytes, file);
  let config: unknown;
  try {
    config = JSON.parse(metadata.config ?? "");
  } catch {
    throw new FileFormatError(file, "__metadata__.config is missing or not JSON (not saved by gradlab's saveModel?)");
  }
  let model: SavableModel;
  switch (metadata.kind) {
    case "transformer": model = new TinyTransformer(config as TransformerConfig); break;
    case "gru": model = new GruLanguageModel(config as GruConfig); break;
    case "mlp": model = new MlpModel(config as MlpConfig); break;
    default: throw new FileFormatError(file, `__metadata__.kind is ${JSON.stringify(metadata.kind)}; expected transformer, gru or mlp`);
  }
  try {
    if (metadata.lora !== undefined && model instanceof TinyTransformer) attachLora(model, JSON.parse(metadata.lora) as LoraOptions);
    assignWeights(model, tensors, file);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** Overwrites the weights of an existing model from `file` (names and shapes must match exactly). */
export function loadWeightsInto(model: SavableModel, file: string): void {
  assignWeights(model, decodeSafetensors(readModelBytes(file), file).tensors, file);
}

function readModelBytes(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new FileFormatError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** Validates every name and shape first, so a bad file changes nothing. */
function assignWeights(model: SavableModel, tensors: Map<string, { shape: number[]; data: Float32Array }>, file: string): void {
  const weights = model.namedWeights();
  const expected = new Set(weights.map((w) => w.name));
  for (const name of tensors.keys()) if (!expected.has(name)) throw new FileFormatError(file, `unexpected tensor ${name} (not a weight of this ${model.kind})`);
  for (const { name, variable } of weights) {
    const t = tensors.get(name);
    if (t === undefined) throw new FileFormatError(file, `missing tensor ${name}`);
    const shape = variable.shape as number[];
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) throw new ShapeError(`${file}: ${name}`, `[${shape.join(", ")}]`, t.shape);
  }
  for (const { name, variable } of weights) {
    const t = tensors.get(name) as { shape: number[]; data: Float32Array };
    tf.tidy(() => variable.assign(tf.tensor(t.data, t.shape, "float32")));
  }
}
