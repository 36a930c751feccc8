/**
 * Save / load model weights as safetensors (readable by Python's `safetensors.torch.load_file`),
 * through gradlab's one safetensors codec (io/safetensors.ts) and its one atomic writer
 * (io/atomic.ts: temporary file, fsync, rename, folder fsync). `__metadata__` carries format,
 * kind, config JSON and lora JSON (plus any extra entries a caller adds, e.g. agents/persist.ts's
 * `agent`). Matrices are stored in their [out, in] layout, the same as a torch Linear's weight.
 *
 * Loads are validated: everything the codec checks (truncation, bad header, overlapping or
 * out-of-range offsets) and, here, float32 weights only, no missing or extra tensor
 * (FileFormatError) and every shape (ShapeError) — all naming the file. A bad file changes nothing.
 */
import * as fs from "fs";
import * as path from "path";
import { tf } from "../tf";
import { FileFormatError, InvalidArgumentError, ShapeError } from "../errors";
import { atomicWriteFile } from "../io/atomic";
import { encodeSafetensors, parseSafetensors } from "../io/safetensors";
import type { ArrayInput } from "../io/dtypes";
import { GruConfig, GruLanguageModel } from "./gru";
import { LoraOptions, attachLora } from "./lora";
import { MlpConfig, MlpModel } from "./mlp";
import { TinyTransformer, TransformerConfig } from "./transformer";

/** The models `saveModel` / `loadModel` handle. */
export type SavableModel = TinyTransformer | GruLanguageModel | MlpModel;

/** The float32 tensors and the metadata of model-weight safetensors bytes; `file` names the source in errors. */
export function readModelTensors(bytes: Uint8Array, file: string): { tensors: Map<string, { shape: number[]; data: Float32Array }>; metadata: Record<string, string> } {
  const { tensors, metadata } = parseSafetensors(bytes, file);
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== "float32") throw new FileFormatError(file, `tensor ${name} has dtype ${t.dtype}; model weights must be float32 (F32)`);
    out.set(name, { shape: t.shape.slice(), data: t.data as Float32Array });
  }
  return { tensors: out, metadata };
}

/**
 * Every weight of `model` (and its LoRA adapters, if attached) with its config, as safetensors
 * bytes; `extraMetadata` entries are added to `__metadata__` (they may not replace format, kind,
 * config or lora).
 */
export function serializeModel(model: SavableModel, extraMetadata: Record<string, string> = {}): Buffer {
  const metadata: Record<string, string> = { format: "gradlab", kind: model.kind, config: JSON.stringify(model.config) };
  if (model instanceof TinyTransformer && model.loraAdapters !== null) metadata.lora = JSON.stringify(model.loraAdapters.options);
  for (const [key, value] of Object.entries(extraMetadata)) {
    if (key in metadata) throw new InvalidArgumentError(`extraMetadata.${key}`, "a key other than format, kind, config and lora", key);
    metadata[key] = value;
  }
  const tensors: Record<string, ArrayInput> = {};
  for (const { name, variable } of model.namedWeights()) tensors[name] = { dtype: "float32", shape: variable.shape, data: variable.dataSync() as Float32Array };
  const bytes = encodeSafetensors(tensors, metadata);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Saves every weight of `model` (and its LoRA adapters, if attached) with its config, atomically. */
export function saveModel(model: SavableModel, file: string): void {
  const dir = path.dirname(path.resolve(String(file)));
  if (typeof file !== "string" || !fs.existsSync(dir)) throw new InvalidArgumentError("path", `a file in an existing directory (${dir} does not exist)`, file);
  atomicWriteFile(file, serializeModel(model));
}

/** Rebuilds the model saved in `file` (kind and config from the metadata) with its weights. */
export function loadModel(file: string): SavableModel {
  return deserializeModel(readModelBytes(file), file);
}

/** Rebuilds a model from `serializeModel` bytes; `label` names the source in errors. */
export function deserializeModel(bytes: Buffer, label: string): SavableModel {
  const file = label;
  const { tensors, metadata } = readModelTensors(bytes, file);
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
  assignWeights(model, readModelTensors(readModelBytes(file), file).tensors, file);
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
