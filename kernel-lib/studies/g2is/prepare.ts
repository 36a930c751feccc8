/**
 * The LESS feature pipeline end to end, with every expensive stage cached on disk (stage-cache.ts):
 *
 *   base      pre-train the tiny decoder briefly on the dataset's generic mixture (full fine-tune)
 *   warmup    LoRA-train it on a seeded random subset of the pool; checkpoint after every epoch
 *             (LoRA weights, Adam m/v/step, the epoch's mean learning rate)
 *   features  per checkpoint: pool → Adam-preconditioned LoRA gradients, validation → plain
 *             gradients, one shared seeded Rademacher projection, unit rows; the pool is streamed
 *             into an on-disk feature store batch by batch, with two more pool stores from the
 *             same gradient pass for LESS's ablations (plain SGD gradients; bias-corrected Adam)
 *   hidden    the base model's mean-pooled hidden states (the semantic-embedding stand-in)
 *
 * The base model depends on the dataset and model settings only (it plays the pre-trained LLM);
 * warm-up and features depend on the run seed too (warm-up subset, LoRA init, projection), so
 * mean ± std over seeds covers the whole selection pipeline, not just the final fine-tuning.
 * Returns a `PreparedPipeline` holding the base model (caller disposes) and the features in memory.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { InvalidArgumentError, assertKnownKeys } from "../../errors";
import { checkOptions, option } from "../../options";
import { Rng } from "../../random";
import { TinyTransformer } from "../../models/transformer";
import { attachLora, detachLora, LoraOptions } from "../../models/lora";
import { loadModel, saveModel } from "../../models/io";
import { trainSft } from "../../train/sft";
import { RandomProjector, ProjectionKind } from "../../features/projection";
import { readSafetensors, writeSafetensors } from "../../io/safetensors";
import type { SelectionDataset } from "./dataset";
import { FeatureStore, FeatureStoreWriter, openFeatureStore, writeFeatureStore } from "../../features/feature-store";
import { gradientFeatures, meanPooledHiddenStates, poolFeatureForms } from "./features";
import { LoraCheckpoint, trainLora, writeLoraParameters } from "../../train/lora-training";
import { cachedStage, defaultCacheRoot, stageKey } from "./stage-cache";

/** Bumped when the features stage writes different files (2: plain twin/conflict gradients added; 3: pool-sgd and pool-bias-corrected stores for LESS's ablations). */
const FEATURES_LAYOUT = 3;

/**
 * Settings of `preparePipeline`, one block per stage (the study's presets are in `STUDY_SETTINGS`).
 * Every field is part of its stage's cache key.
 */
export interface PipelineSettings {
  /** The tiny decoder (the stand-in for the pre-trained LLM). */
  model: { dModel: number; nLayers: number; nHeads: number; dFF: number };
  /** Full pre-training on the dataset's generic mixture (its seed fixes the base model across run seeds). */
  pretrain: { steps: number; batchSize: number; learningRate: number; seed: number };
  /** LoRA adapters of the warm-up and of every arm's fine-tune (rank, alpha, target matrices). */
  lora: { rank: number; alpha?: number; targets: string[] };
  /** LESS's warm-up: LoRA training on a random `fraction` of the pool, one checkpoint per epoch (LESS: 5%, 4 epochs). */
  warmup: { fraction: number; epochs: number; batchSize: number; learningRate: number };
  /** The seeded random projection of the LoRA gradients (LESS uses 8192 dims on 7B models; 256 here). */
  projection: { dim: number; kind?: ProjectionKind };
  /** Examples per per-example-gradient batch and rows per feature-store chunk. */
  featureBatch?: number;
  /** Rows per chunk of the on-disk pool feature stores. Default 1024. */
  chunkRows?: number;
}

/** One target's validation gradients (plain, projected, unit rows) per checkpoint and subtask. */
export interface ValidationFeatures {
  /** Subtask names in order. */
  subtasks: string[];
  /** [checkpoint][subtask] → rows. */
  byCheckpoint: Float32Array[][][];
}

/**
 * What `preparePipeline` returns: the base model, the warm-up checkpoints and every feature the
 * selection arms read (pool in LESS's Adam form and its ablation forms, validation gradients,
 * planted twins, hidden states), with each stage's cost. The caller disposes `base`.
 */
export interface PreparedPipeline {
  dataset: SelectionDataset;
  settings: PipelineSettings;
  seed: number;
  /** The pre-trained base model (no LoRA attached). */
  base: TinyTransformer;
  loraOptions: Omit<LoraOptions, "seed">;
  checkpoints: LoraCheckpoint[];
  /** Pool feature stores, one per checkpoint (on disk). */
  poolStores: FeatureStore[];
  /** Pool features [checkpoint][example] (unit rows). */
  poolFeatures: Float32Array[][];
  /** LESS ablations: the pool as plain (SGD) gradients and in the bias-corrected Adam form, [checkpoint][example]. */
  poolFeaturesSgd: Float32Array[][];
  poolFeaturesBiasCorrected: Float32Array[][];
  /** Target name → validation features. */
  validation: Record<string, ValidationFeatures>;
  /** Clean twins of conflicting items, pool-style (Adam) features [checkpoint][twin]. */
  twinFeatures: Float32Array[][];
  /** Plain projected gradients of the twins and of their conflicting pool items [checkpoint][twin]. */
  twinPlainFeatures: Float32Array[][];
  conflictPlainFeatures: Float32Array[][];
  poolHidden: Float32Array[];
  validationHidden: Record<string, Record<string, Float32Array[]>>;
  /** Measured seconds of each stage when it was built, and whether this call hit the cache. */
  stages: Record<"base" | "warmup" | "features" | "hidden", { seconds: number; hit: boolean; dir: string }>;
  pretrainLosses: number[];
  warmupLosses: number[];
  /** Number of LoRA parameters P (the gradient length before projection). */
  gradientDim: number;
}

/** Options of `preparePipeline`. */
export interface PrepareOptions {
  /** Folder of the stage cache. Default <project>/reports/cache/g2is. */
  cacheRoot?: string;
  /** Receives one line per stage built or loaded. */
  log?: (message: string) => void;
}

function saveCheckpoint(file: string, c: LoraCheckpoint): void {
  writeSafetensors(file, {
    params: { data: c.params, shape: [c.params.length] }, m: { data: c.adam.m, shape: [c.adam.m.length] }, v: { data: c.adam.v, shape: [c.adam.v.length] },
  }, { epoch: String(c.epoch), step: String(c.step), learningRate: String(c.learningRate), beta1: String(c.adam.beta1), beta2: String(c.adam.beta2), eps: String(c.adam.eps) });
}

function loadCheckpoint(file: string): LoraCheckpoint {
  const { tensors, metadata } = readSafetensors(file);
  const num = (k: string) => Number(metadata[k]);
  return {
    epoch: num("epoch"), step: num("step"), learningRate: num("learningRate"), params: tensors.params.data as Float32Array,
    adam: { m: tensors.m.data as Float32Array, v: tensors.v.data as Float32Array, step: num("step"), beta1: num("beta1"), beta2: num("beta2"), eps: num("eps") },
  };
}

/**
 * Runs (or loads from the disk cache) the LESS feature pipeline for a dataset and a run seed: base
 * model → LoRA warm-up with Adam checkpoints → per-example LoRA gradients, projected (pool in LESS's
 * Adam form, validation plain) → hidden-state embeddings (see the module header). Each stage is keyed
 * by the hash of its inputs, so a second call, or another process, reuses it.
 *
 * @example
 * ```ts
 * const G = lab.studies.g2is;
 * const ds = G.toySelectionDataset({ poolSize: 60, pretrainSize: 60, validationPerSubtask: 2, validationSingle: 2, testPerTarget: 12, maxLen: 20, seed: 0 });
 * const settings = {
 *   model: { dModel: 16, nLayers: 1, nHeads: 2, dFF: 32 }, pretrain: { steps: 20, batchSize: 16, learningRate: 3e-3, seed: 0 },
 *   lora: { rank: 2, targets: ["q", "v"] }, warmup: { fraction: 0.2, epochs: 2, batchSize: 8, learningRate: 2e-3 }, projection: { dim: 32 },
 * };
 * const pipe = G.preparePipeline(ds, settings, 0, { cacheRoot: "/tmp/g2is-example-cache" });
 * pipe.checkpoints.length;        // 2 warm-up checkpoints
 * pipe.poolFeatures[0].length;    // 60 pool rows of 32 dims (LESS's Adam form, unit rows)
 * pipe.base.dispose();
 * ```
 */
export function preparePipeline(dataset: SelectionDataset, settings: PipelineSettings, seed: number, options: PrepareOptions = {}): PreparedPipeline {
  checkOptions("options", options, { cacheRoot: option.string, log: option.function });
  if (settings === null || typeof settings !== "object") throw new InvalidArgumentError("settings", "PipelineSettings", settings);
  assertKnownKeys("settings", settings, ["model", "pretrain", "lora", "warmup", "projection", "featureBatch", "chunkRows"]);
  const root = options.cacheRoot ?? defaultCacheRoot();
  const log = options.log ?? (() => undefined);
  const featureBatch = settings.featureBatch ?? 64;
  const { codec } = dataset;
  const loraOptions = { rank: settings.lora.rank, alpha: settings.lora.alpha ?? settings.lora.rank, targets: settings.lora.targets };

  const baseKey = stageKey("base", { data: dataset.fingerprint, vocab: codec.vocabSize, maxLen: codec.maxLen, model: settings.model, pretrain: settings.pretrain });
  const base = cachedStage(root, "base", baseKey, (dir) => {
    log(`pre-training the base model (${settings.pretrain.steps} steps)…`);
    const model = new TinyTransformer({ vocabSize: codec.vocabSize, maxLen: codec.maxLen, ...settings.model, seed: `${settings.pretrain.seed}/base-init` });
    try {
      const epochs = Math.ceil((settings.pretrain.steps * settings.pretrain.batchSize) / dataset.pretrain.length) + 1;
      const result = trainSft(model, dataset.pretrain, { epochs, maxSteps: settings.pretrain.steps, batchSize: settings.pretrain.batchSize, learningRate: settings.pretrain.learningRate, seed: `${settings.pretrain.seed}/pretrain` });
      saveModel(model, path.join(dir, "model.safetensors"));
      return { losses: result.stepLosses };
    } finally {
      model.dispose();
    }
  }, (dir) => loadModel(path.join(dir, "model.safetensors")) as TinyTransformer);
  const model = base.value;

  try {
    const warmupKey = stageKey("warmup", { base: baseKey, lora: loraOptions, warmup: settings.warmup, seed });
    const warmup = cachedStage(root, "warmup", warmupKey, (dir) => {
      const N = dataset.pool.length, size = Math.max(1, Math.round(N * settings.warmup.fraction));
      const subset = new Rng(seed).derive("warmup-subset").sampleIndices(N, size);
      log(`warm-up: LoRA on ${size} random pool examples, ${settings.warmup.epochs} epochs…`);
      attachLora(model, { ...loraOptions, seed: `${seed}/warmup-lora` });
      try {
        const result = trainLora(model, subset.map((i) => dataset.pool[i].example), {
          epochs: settings.warmup.epochs, batchSize: settings.warmup.batchSize, learningRate: settings.warmup.learningRate, schedule: "linear", seed: `${seed}/warmup-order`,
        });
        result.checkpoints.forEach((c, i) => saveCheckpoint(path.join(dir, `checkpoint-${i}.safetensors`), c));
        return { checkpoints: result.checkpoints.length, subset, losses: result.stepLosses, learningRates: result.learningRates };
      } finally {
        detachLora(model);
      }
    }, (dir, info) => Array.from({ length: info.checkpoints as number }, (_, i) => loadCheckpoint(path.join(dir, `checkpoint-${i}.safetensors`))));
    const checkpoints = warmup.value;
    const gradientDim = checkpoints[0].params.length;

    const targetNames = Object.keys(dataset.targets);
    const featuresKey = stageKey("features", { layout: FEATURES_LAYOUT, warmup: warmupKey, projection: settings.projection, seed, targets: targetNames });
    const features = cachedStage(root, "features", featuresKey, (dir) => {
      // One projector for every checkpoint and both roles: cosines are only comparable in one space.
      const projector = new RandomProjector({ inputDim: gradientDim, outputDim: settings.projection.dim, kind: settings.projection.kind ?? "rademacher", seed: `${seed}/projection`, cacheBytes: gradientDim * settings.projection.dim * 4 });
      checkpoints.forEach((c, ci) => {
        log(`features at checkpoint ${ci + 1}/${checkpoints.length} (epoch ${c.epoch}, η = ${c.learningRate.toExponential(2)})…`);
        attachLora(model, { ...loraOptions, seed: "checkpoint" });
        try {
          writeLoraParameters(model, c.params);
          const sinkOf = (name: string, form: string) => FeatureStoreWriter.create(path.join(dir, `ckpt-${ci}`, name), { dim: settings.projection.dim, chunkRows: settings.chunkRows ?? 1024, attributes: { checkpoint: ci, role: "pool", form } });
          const sinks = { less: sinkOf("pool", "less"), sgd: sinkOf("pool-sgd", "sgd"), "bias-corrected": sinkOf("pool-bias-corrected", "bias-corrected") };
          poolFeatureForms(model, dataset.pool.map((p) => p.example), { projector, adam: c.adam, batchSize: featureBatch, sinks });
          for (const sink of Object.values(sinks)) sink.finish();
          for (const name of targetNames) {
            const subtasks = Object.keys(dataset.targets[name].validation);
            const rows = gradientFeatures(model, subtasks.flatMap((s) => dataset.targets[name].validation[s].map((e) => e.example)), { role: "target", projector, batchSize: featureBatch });
            writeFeatureStore(path.join(dir, `ckpt-${ci}`, `val-${name}`), rows, { attributes: { subtasks: subtasks.map((s) => [s, dataset.targets[name].validation[s].length]) } });
          }
          if (dataset.twins.length > 0) {
            // The planted check: clean twins as pool features (what the walk compares), and plain
            // projected gradients of twins and their conflicting items (the raw conflict signal).
            const attributes = { poolIndices: dataset.twins.map((t) => t.poolIndex) };
            const twins = dataset.twins.map((t) => t.example), conflicts = dataset.twins.map((t) => dataset.pool[t.poolIndex].example);
            writeFeatureStore(path.join(dir, `ckpt-${ci}`, "twins"), gradientFeatures(model, twins, { role: "pool", projector, adam: c.adam, batchSize: featureBatch }), { attributes });
            writeFeatureStore(path.join(dir, `ckpt-${ci}`, "twins-plain"), gradientFeatures(model, twins, { role: "target", projector, batchSize: featureBatch }), { attributes });
            writeFeatureStore(path.join(dir, `ckpt-${ci}`, "conflicts-plain"), gradientFeatures(model, conflicts, { role: "target", projector, batchSize: featureBatch }), { attributes });
          }
        } finally {
          detachLora(model);
        }
      });
      return { checkpoints: checkpoints.length, gradientDim, projectionDim: settings.projection.dim };
    }, (dir) => checkpoints.map((_, ci) => ({
      pool: openFeatureStore(path.join(dir, `ckpt-${ci}`, "pool")),
      poolSgd: openFeatureStore(path.join(dir, `ckpt-${ci}`, "pool-sgd")),
      poolBiasCorrected: openFeatureStore(path.join(dir, `ckpt-${ci}`, "pool-bias-corrected")),
      validation: Object.fromEntries(targetNames.map((name) => [name, openFeatureStore(path.join(dir, `ckpt-${ci}`, `val-${name}`))])),
      twins: dataset.twins.length > 0 ? openFeatureStore(path.join(dir, `ckpt-${ci}`, "twins")).readAll() : [],
      twinsPlain: dataset.twins.length > 0 ? openFeatureStore(path.join(dir, `ckpt-${ci}`, "twins-plain")).readAll() : [],
      conflictsPlain: dataset.twins.length > 0 ? openFeatureStore(path.join(dir, `ckpt-${ci}`, "conflicts-plain")).readAll() : [],
    })));

    const hiddenKey = stageKey("hidden", { base: baseKey, targets: targetNames });
    const hidden = cachedStage(root, "hidden", hiddenKey, (dir) => {
      log("hidden-state embeddings of the base model…");
      writeFeatureStore(path.join(dir, "pool"), meanPooledHiddenStates(model, dataset.pool.map((p) => p.example), codec.padId));
      for (const name of targetNames) {
        const subtasks = Object.keys(dataset.targets[name].validation);
        writeFeatureStore(path.join(dir, `val-${name}`), meanPooledHiddenStates(model, subtasks.flatMap((s) => dataset.targets[name].validation[s].map((e) => e.example)), codec.padId), { attributes: { subtasks: subtasks.map((s) => [s, dataset.targets[name].validation[s].length]) } });
      }
      return {};
    }, (dir) => ({
      pool: openFeatureStore(path.join(dir, "pool")).readAll(),
      validation: Object.fromEntries(targetNames.map((name) => [name, groupRows(openFeatureStore(path.join(dir, `val-${name}`)))])),
    }));

    const validation: Record<string, ValidationFeatures> = {};
    for (const name of targetNames) {
      const perCheckpoint = features.value.map((f) => groupRows(f.validation[name]));
      const subtasks = Object.keys(perCheckpoint[0]);
      validation[name] = { subtasks, byCheckpoint: perCheckpoint.map((g) => subtasks.map((s) => g[s])) };
    }
    const stageInfo = (s: { info: Record<string, unknown>; hit: boolean; dir: string }) => ({ seconds: Number(s.info.seconds), hit: s.hit, dir: s.dir });
    return {
      dataset, settings, seed, base: model, loraOptions, checkpoints, gradientDim,
      poolStores: features.value.map((f) => f.pool),
      poolFeatures: features.value.map((f) => f.pool.readAll()),
      poolFeaturesSgd: features.value.map((f) => f.poolSgd.readAll()),
      poolFeaturesBiasCorrected: features.value.map((f) => f.poolBiasCorrected.readAll()),
      validation,
      twinFeatures: features.value.map((f) => f.twins),
      twinPlainFeatures: features.value.map((f) => f.twinsPlain),
      conflictPlainFeatures: features.value.map((f) => f.conflictsPlain),
      poolHidden: hidden.value.pool,
      validationHidden: hidden.value.validation,
      stages: { base: stageInfo(base), warmup: stageInfo(warmup), features: stageInfo(features), hidden: stageInfo(hidden) },
      pretrainLosses: (base.info.losses as number[]) ?? [],
      warmupLosses: (warmup.info.losses as number[]) ?? [],
    };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** A validation store's rows regrouped by its `subtasks` attribute ([[name, count], …]). */
function groupRows(store: FeatureStore): Record<string, Float32Array[]> {
  const rows = store.readAll(), out: Record<string, Float32Array[]> = {};
  let at = 0;
  for (const [name, count] of store.attributes.subtasks as [string, number][]) { out[name] = rows.slice(at, at + count); at += count; }
  return out;
}

/** Removes every cached stage folder under `root` (or the default root). */
export function clearPipelineCache(root = defaultCacheRoot()): void {
  if (fs.existsSync(root)) fs.rmSync(root, { recursive: true, force: true });
}
