/**
 * Evaluation of a selection: fine-tune the base model on it (a fresh LoRA, identical
 * hyper-parameters for every arm), then measure each target's held-out test by
 *  - exact match of greedy decoding (the toy: the answer string up to <eos> must equal the
 *    reference exactly), and
 *  - the mean response-token loss (the real-text study, where a tiny model cannot solve GSM8K:
 *    there the loss is the measure, and it is reported for the toy too as a continuous signal).
 *
 * Greedy decoding is batched without a KV cache: each step runs the model on the (right-padded)
 * sequences so far and appends the argmax (lowest id on ties) at each sequence's last position;
 * causal attention makes the padding invisible. A sequence stops at <eos>, at maxNewTokens, or at
 * the model's maxLen. Use `greedyDecode` for any model with `forward(tokens) → logits [B, T, V]`.
 */
import { tf } from "../../tf";
import { EmptyInputError, InvalidArgumentError, ShapeError } from "../../errors";
import { checkOptions, option } from "../../options";
import type { Seed } from "../../random";
import type { TinyTransformer } from "../../models/transformer";
import { LoraOptions, attachLora, detachLora } from "../../models/lora";
import { prepareTokenBatch } from "../../models/token-batch";
import type { SequenceCodec } from "./codec";
import { LoraTrainingOptions, TrainingExample, readLoraParameters, trainLora, writeLoraParameters } from "../../train/lora-training";

/** What greedy decoding needs from a model. */
export interface LogitsModel {
  forward(tokens: number[][]): tf.Tensor3D;
  readonly config: { readonly maxLen: number; readonly vocabSize: number };
}

/** Options of `greedyDecode`. */
export interface DecodeOptions {
  /** Tokens generated at most per prompt (a sequence also stops at <eos> or the model's maxLen). */
  maxNewTokens: number;
  /** Prompts per forward batch. Default 64. */
  batchSize?: number;
}

/** Greedy continuation of each prompt (text before <eos>). */
export function greedyDecode(model: LogitsModel, codec: SequenceCodec, prompts: readonly string[], options: DecodeOptions): string[] {
  if (options === undefined) throw new InvalidArgumentError("options", "{maxNewTokens}");
  checkOptions("options", options, { maxNewTokens: option.any, batchSize: option.any }); // values checked below
  if (!Array.isArray(prompts) || prompts.length === 0) throw new EmptyInputError("prompts", "at least one prompt");
  const { maxNewTokens } = options;
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new InvalidArgumentError("options.maxNewTokens", "a positive integer", maxNewTokens);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError("options.batchSize", "a positive integer", batchSize);
  const maxLen = model.config.maxLen, V = model.config.vocabSize;
  const out: string[] = [];
  for (let start = 0; start < prompts.length; start += batchSize) {
    const seqs = prompts.slice(start, start + batchSize).map((p) => codec.encodePrompt(p));
    seqs.forEach((s, i) => { if (s.length >= maxLen) throw new ShapeError(`prompts[${start + i}]`, `fewer than maxLen = ${maxLen} tokens`, [s.length]); });
    const generated: number[][] = seqs.map(() => []);
    const done = seqs.map(() => false);
    for (let step = 0; step < maxNewTokens && done.some((d) => !d); step++) {
      const T = seqs.reduce((longest, s) => Math.max(longest, s.length), -Infinity);
      const tokens = seqs.map((s) => s.concat(new Array(T - s.length).fill(codec.padId)));
      const logits = model.forward(tokens);
      const values = logits.dataSync() as Float32Array;
      logits.dispose();
      seqs.forEach((s, b) => {
        if (done[b]) return;
        const base = (b * T + s.length - 1) * V;
        let best = 0;
        for (let v = 1; v < V; v++) if (values[base + v] > values[base + best]) best = v;
        if (best === codec.eosId) { done[b] = true; return; }
        generated[b].push(best);
        s.push(best);
        if (s.length >= maxLen) done[b] = true;
      });
    }
    for (const g of generated) out.push(codec.decode(g));
  }
  return out;
}

/** Share of predictions equal to their reference (after trimming surrounding whitespace). */
export function exactMatch(predictions: readonly string[], references: readonly string[]): number {
  if (predictions.length !== references.length) throw new ShapeError("predictions", `[${references.length}] (one per reference)`, [predictions.length]);
  if (references.length === 0) throw new EmptyInputError("references", "at least one reference");
  let hits = 0;
  predictions.forEach((p, i) => { if (p.trim() === references[i].trim()) hits++; });
  return hits / references.length;
}

/** Per-example mean response-token loss (batched, no gradients). */
export function exampleLosses(model: TinyTransformer, examples: readonly TrainingExample[], batchSize = 128): number[] {
  if (!Array.isArray(examples) || examples.length === 0) throw new EmptyInputError("examples", "at least one example");
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError("batchSize", "a positive integer", batchSize);
  const out: number[] = [];
  for (let start = 0; start < examples.length; start += batchSize) {
    const rows = examples.slice(start, start + batchSize);
    // Prepared here with `start`, so an error names the caller's example index, not the batch row.
    const batch = prepareTokenBatch({ tokens: rows.map((r) => r.tokens), lossMask: rows.map((r) => r.lossMask) }, model.config.vocabSize, model.config.maxLen, start);
    const losses = model.perExampleLosses(batch);
    out.push(...(losses.dataSync() as Float32Array));
    losses.dispose();
  }
  return out;
}

/** Settings of `fineTuneLora`: the LoRA adapters and the training run (the seed is passed separately). */
export interface FineTuneSettings {
  /** Adapter rank, alpha and target matrices. */
  lora: Omit<LoraOptions, "seed">;
  /** Updates, batch size, learning rate and schedule. */
  training: Omit<LoraTrainingOptions, "seed" | "epochs"> & { steps: number };
}

/** Fine-tunes a fresh LoRA on `examples` (base model left as it was) and returns its parameters. */
export function fineTuneLora(model: TinyTransformer, examples: readonly TrainingExample[], settings: FineTuneSettings, seed: Seed): { params: Float32Array; finalLoss: number; seconds: number; tokens: number } {
  attachLora(model, { ...settings.lora, seed: `${String(seed)}/finetune-lora` });
  try {
    const result = trainLora(model, examples, { ...settings.training, seed: `${String(seed)}/finetune-order` });
    const tail = result.stepLosses.slice(-Math.max(1, Math.floor(result.stepLosses.length / 10)));
    return { params: readLoraParameters(model), finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length, seconds: result.seconds, tokens: result.tokens };
  } finally {
    detachLora(model);
  }
}

/** Runs `fn` with LoRA parameters `params` attached to `model`, then detaches them. */
export function withLora<T>(model: TinyTransformer, lora: Omit<LoraOptions, "seed">, params: Float32Array, fn: () => T): T {
  attachLora(model, { ...lora, seed: "restore" });
  try {
    writeLoraParameters(model, params);
    return fn();
  } finally {
    detachLora(model);
  }
}
