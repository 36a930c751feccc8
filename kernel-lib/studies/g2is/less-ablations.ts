/**
 * Features for two more of LESS's ablations, built on first use (not every study needs them) and
 * cached on disk as stage "less-ablations":
 *  - projection dimension: pool (LESS's Adam form) and validation features of every checkpoint
 *    projected to `LESS_ABLATION_DIM` (64) dimensions instead of the study's d, with a projector of
 *    its own seed — LESS's scores at a smaller d, arm "less-d64";
 *  - no warm-up: plain gradients of pool and validation at the START of the warm-up (the base model
 *    with the warm-up's freshly initialised LoRA; no Adam state exists there, so the pool takes the
 *    plain gradient), projected to d as usual — arm "less-no-warmup". LoRA's B starts at zero, so
 *    only the B adapters carry gradient at that point, as in LESS's own no-warm-up ablation.
 * The other LESS ablations (SGD pool gradients, bias-corrected form) come from the main features
 * stage (prepare.ts); last-checkpoint-only needs no new features.
 */
import * as path from "node:path";
import { attachLora, detachLora } from "../../models/lora";
import { RandomProjector } from "../../features/projection";
import { FeatureStore, FeatureStoreWriter, openFeatureStore, writeFeatureStore } from "../../features/feature-store";
import { writeLoraParameters } from "../../train/lora-training";
import { gradientFeatures, poolFeatureForms } from "./features";
import { cachedStage, defaultCacheRoot, stageKey } from "./stage-cache";
import type { PreparedPipeline, ValidationFeatures } from "./prepare";

/** Projection dimension of the "less-d64" ablation. */
export const LESS_ABLATION_DIM = 64;

/** The features of the less-d64 and less-no-warmup arms. */
export interface LessAblationFeatures {
  /** Pool [checkpoint][example] and validation features projected to LESS_ABLATION_DIM. */
  lowDim: { pool: Float32Array[][]; validation: Record<string, ValidationFeatures> };
  /** Plain gradients before any warm-up, one "checkpoint". */
  noWarmup: { pool: Float32Array[]; validation: Record<string, ValidationFeatures> };
}

const memo = new WeakMap<PreparedPipeline, LessAblationFeatures>();

function subtaskGroups(store: FeatureStore): { subtasks: string[]; rows: Float32Array[][] } {
  const all = store.readAll(), subtasks: string[] = [], rows: Float32Array[][] = [];
  let at = 0;
  for (const [name, count] of store.attributes.subtasks as [string, number][]) { subtasks.push(name); rows.push(all.slice(at, at + count)); at += count; }
  return { subtasks, rows };
}

/** The ablation features of a prepared pipeline (built once per machine, memoised per pipeline). */
export function lessAblationFeatures(p: PreparedPipeline, cacheRoot?: string): LessAblationFeatures {
  const held = memo.get(p);
  if (held !== undefined) return held;
  const { dataset, settings, seed, checkpoints } = p;
  const targetNames = Object.keys(dataset.targets);
  const validationExamples = (name: string) => Object.keys(dataset.targets[name].validation).flatMap((s) => dataset.targets[name].validation[s].map((e) => e.example));
  const subtaskAttributes = (name: string) => ({ subtasks: Object.keys(dataset.targets[name].validation).map((s) => [s, dataset.targets[name].validation[s].length]) });
  const key = stageKey("less-ablations", { data: dataset.fingerprint, pipeline: settings, seed, dim: LESS_ABLATION_DIM, targets: targetNames });
  const batchSize = settings.featureBatch ?? 64;
  // Beside the pipeline's own stages (so a test's private cache root is honoured).
  const root = cacheRoot ?? (p.stages.features.dir ? path.dirname(p.stages.features.dir) : defaultCacheRoot());
  const stage = cachedStage(root, "less-ablations", key, (dir) => {
    const kind = settings.projection.kind ?? "rademacher";
    const low = new RandomProjector({ inputDim: p.gradientDim, outputDim: LESS_ABLATION_DIM, kind, seed: `${seed}/projection-d${LESS_ABLATION_DIM}` });
    const main = new RandomProjector({ inputDim: p.gradientDim, outputDim: settings.projection.dim, kind, seed: `${seed}/projection` });
    checkpoints.forEach((c, ci) => {
      attachLora(p.base, { ...p.loraOptions, seed: "checkpoint" });
      try {
        writeLoraParameters(p.base, c.params);
        const sink = FeatureStoreWriter.create(path.join(dir, `d${LESS_ABLATION_DIM}-ckpt-${ci}`, "pool"), { dim: LESS_ABLATION_DIM, chunkRows: settings.chunkRows ?? 1024 });
        poolFeatureForms(p.base, dataset.pool.map((e) => e.example), { projector: low, adam: c.adam, batchSize, sinks: { less: sink } });
        sink.finish();
        for (const name of targetNames) {
          writeFeatureStore(path.join(dir, `d${LESS_ABLATION_DIM}-ckpt-${ci}`, `val-${name}`), gradientFeatures(p.base, validationExamples(name), { role: "target", projector: low, batchSize }), { attributes: subtaskAttributes(name) });
        }
      } finally {
        detachLora(p.base);
      }
    });
    attachLora(p.base, { ...p.loraOptions, seed: `${seed}/warmup-lora` }); // the warm-up's starting point
    try {
      writeFeatureStore(path.join(dir, "no-warmup", "pool"), gradientFeatures(p.base, dataset.pool.map((e) => e.example), { role: "target", projector: main, batchSize }));
      for (const name of targetNames) {
        writeFeatureStore(path.join(dir, "no-warmup", `val-${name}`), gradientFeatures(p.base, validationExamples(name), { role: "target", projector: main, batchSize }), { attributes: subtaskAttributes(name) });
      }
    } finally {
      detachLora(p.base);
    }
    return { checkpoints: checkpoints.length, dim: LESS_ABLATION_DIM };
  }, (dir): LessAblationFeatures => {
    const lowValidation: Record<string, ValidationFeatures> = {}, noWarmupValidation: Record<string, ValidationFeatures> = {};
    for (const name of targetNames) {
      const perCheckpoint = checkpoints.map((_, ci) => subtaskGroups(openFeatureStore(path.join(dir, `d${LESS_ABLATION_DIM}-ckpt-${ci}`, `val-${name}`))));
      lowValidation[name] = { subtasks: perCheckpoint[0].subtasks, byCheckpoint: perCheckpoint.map((g) => g.rows) };
      const plain = subtaskGroups(openFeatureStore(path.join(dir, "no-warmup", `val-${name}`)));
      noWarmupValidation[name] = { subtasks: plain.subtasks, byCheckpoint: [plain.rows] };
    }
    return {
      lowDim: { pool: checkpoints.map((_, ci) => openFeatureStore(path.join(dir, `d${LESS_ABLATION_DIM}-ckpt-${ci}`, "pool")).readAll()), validation: lowValidation },
      noWarmup: { pool: openFeatureStore(path.join(dir, "no-warmup", "pool")).readAll(), validation: noWarmupValidation },
    };
  });
  memo.set(p, stage.value);
  return stage.value;
}
