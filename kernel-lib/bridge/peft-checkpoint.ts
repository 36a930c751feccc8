/**
 * Writes a gradlab LoRA warm-up checkpoint (train.trainLora) as a PEFT checkpoint folder that
 * scripts/torch_less.py (and PEFT itself) reads, so LESS features of a gradlab model can be made
 * in PyTorch and checked against gradlab's own:
 *
 *   adapter_config.json         {peft_type: "LORA", r, lora_alpha, target_modules, …}
 *   adapter_model.safetensors   base_model.model.<matrix>.lora_A.weight [r, in], .lora_B.weight [out, r]
 *   optimizer.safetensors       <same key>.exp_avg / .exp_avg_sq, metadata {format: "gradlab-adam",
 *                               step, beta1, beta2, eps, lr}: the Adam state without a torch pickle
 *                               (torch_less.py reads it in place of a Trainer's optimizer.pt)
 *
 * Save the base model with `models.saveModel` before attaching LoRA: the bridge adds the adapters
 * from the checkpoint. Every file is written atomically; an existing folder's files are replaced.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { InvalidArgumentError, ShapeError } from "../errors";
import { atomicWriteFile } from "../io/atomic";
import { writeSafetensors } from "../io/safetensors";
import type { ArrayInput } from "../io/dtypes";
import type { TinyTransformer } from "../models/transformer";
import type { LoraCheckpoint } from "../train/lora-training";

/**
 * Writes `checkpoint` of `model`'s LoRA adapters to `dir` (created) in PEFT layout; returns the
 * PEFT key of every adapter matrix, in the order of the flat parameter vector.
 *
 * @example
 * const warm = lab.train.trainLora(model, warmup, { epochs: 2, batchSize: 8, learningRate: 2e-3, seed: 0 });
 * warm.checkpoints.forEach((c, k) => lab.bridge.writePeftCheckpoint(`runs/checkpoint-${k}`, model, c));
 * // python3 scripts/torch_less.py --model base.safetensors --checkpoint runs/checkpoint-0 … --role pool …
 */
export function writePeftCheckpoint(dir: string, model: TinyTransformer, checkpoint: LoraCheckpoint): string[] {
  if (typeof dir !== "string" || dir === "") throw new InvalidArgumentError("dir", "a folder path", dir);
  const adapters = model?.loraAdapters;
  if (adapters === null || adapters === undefined) throw new InvalidArgumentError("model", "a TinyTransformer with LoRA attached (attachLora)", model);
  const groups = model.parameterGroups().filter((g) => g.part === "loraA" || g.part === "loraB");
  const size = groups.reduce((n, g) => n + g.shape[0] * g.shape[1], 0);
  if (!(checkpoint?.params instanceof Float32Array) || checkpoint.params.length !== size) {
    throw new ShapeError("checkpoint.params", `[${size}] (the model's LoRA parameters)`, [checkpoint?.params?.length ?? 0]);
  }
  const { adam } = checkpoint;
  if (!(adam?.m instanceof Float32Array) || adam.m.length !== size || !(adam.v instanceof Float32Array) || adam.v.length !== size) {
    throw new ShapeError("checkpoint.adam", `m and v of ${size} values`, [adam?.m?.length ?? 0, adam?.v?.length ?? 0]);
  }
  fs.mkdirSync(dir, { recursive: true });
  const weights: Record<string, ArrayInput> = {}, moments: Record<string, ArrayInput> = {};
  const keys: string[] = [];
  let offset = 0;
  for (const g of groups) {
    const n = g.shape[0] * g.shape[1];
    const key = `base_model.model.${g.name.replace(/\.lora([AB])$/, ".lora_$1.weight")}`;
    weights[key] = { dtype: "float32", shape: g.shape, data: checkpoint.params.slice(offset, offset + n) };
    moments[`${key}.exp_avg`] = { dtype: "float32", shape: g.shape, data: adam.m.slice(offset, offset + n) };
    moments[`${key}.exp_avg_sq`] = { dtype: "float32", shape: g.shape, data: adam.v.slice(offset, offset + n) };
    keys.push(key);
    offset += n;
  }
  const { rank, alpha, targets } = adapters.options;
  const config = {
    peft_type: "LORA", r: rank, lora_alpha: alpha, target_modules: targets, lora_dropout: 0, bias: "none",
    base_model_name_or_path: "gradlab TinyTransformer", gradlab: { epoch: checkpoint.epoch, step: checkpoint.step, learningRate: checkpoint.learningRate },
  };
  atomicWriteFile(path.join(dir, "adapter_config.json"), JSON.stringify(config, null, 1) + "\n");
  writeSafetensors(path.join(dir, "adapter_model.safetensors"), weights);
  writeSafetensors(path.join(dir, "optimizer.safetensors"), moments, {
    format: "gradlab-adam", step: String(adam.step), beta1: String(adam.beta1), beta2: String(adam.beta2), eps: String(adam.eps), lr: String(checkpoint.learningRate),
  });
  return keys;
}
