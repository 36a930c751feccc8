/**
 * Attribution quality on the toy (issue 18, item 5): which per-example scoring predicts what
 * training on a subset does to a target's loss? M random half-pool subsets are each fine-tuned
 * (fresh LoRA, the study's fine-tuning settings), every validation example of the target is scored
 * after each, and each scoring's linear datamodeling score (g2is/lds.ts) is computed from those
 * losses. The fine-tunes are cached on disk (stage "lds"), so re-running a notebook only rescores.
 *
 * Scorings, τ(z, i) for validation example z and pool row i (positive = predicted helpful):
 *   less              Σ_c η̂_c cos(Γ_c(i), g_c(z)) — LESS's per-example score before its mean/max
 *   g2is-components   Σ_k (x_i·K_k)(x_z·K_k) on the combined features, K_k the target's kept
 *                     principal components (official PCA, valK): the part of LESS's inner product
 *                     that G2IS's core knowledge keeps (a score built from G2IS's pieces; the walk
 *                     itself selects, it does not score)
 *   trak-adam         φ_zᵀ(ΦᵀΦ + λI)⁻¹φ_i with Φ the combined LESS pool features (Adam form) and φ_z
 *                     the target's plain gradient: TRAK's kernel on LESS's feature space
 *   trak-plain        the same kernel with Φ the pool's plain (SGD) projected gradients, the same
 *                     checkpoints, projection and weights — the space TRAK itself uses (projected
 *                     plain gradients), without TRAK's ensembling over models
 *   hidden-cosine     cosine of the base model's mean-pooled hidden states (a non-gradient baseline)
 */
import * as path from "node:path";
import * as fs from "node:fs";
import { InvalidArgumentError, UnknownOptionError } from "../../errors";
import { checkOptions, option } from "../../options";
import { Rng } from "../../random";
import { coreKnowledge } from "../../g2is/core-knowledge";
import { kernelScores, linearDatamodelingScore, LdsResult } from "../../g2is/lds";
import { exampleLosses, fineTuneLora, withLora } from "./evaluation";
import { FinetuneSettings, finetuneSteps } from "./arms";
import { combinedPlainPoolFeatures, combinedPoolFeatures, combinedValidationFeatures, checkpointWeights } from "./selection";
import { cachedStage, defaultCacheRoot, stageKey } from "./stage-cache";
import type { PreparedPipeline } from "./prepare";

/** The scorings whose LDS the study compares (see the module header). */
export const ATTRIBUTION_SCORINGS = ["less", "g2is-components", "trak-adam", "trak-plain", "hidden-cosine"] as const;
/** One of `ATTRIBUTION_SCORINGS`. */
export type AttributionScoring = (typeof ATTRIBUTION_SCORINGS)[number];

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => { let s = 0; for (let q = 0; q < a.length; q++) s += a[q] * b[q]; return s; };
const unit = (a: ArrayLike<number>) => { const n = Math.sqrt(dot(a, a)); return Float64Array.from(a as ArrayLike<number>, (x) => (n > 0 ? x / n : 0)); };

/** Score matrices [validation example][pool row] of every scoring, for one target. */
export function attributionScores(p: PreparedPipeline, target: string, valK = 0.5): Record<AttributionScoring, Float64Array[]> {
  const v = p.validation[target];
  if (v === undefined) throw new UnknownOptionError("target", target, Object.keys(p.validation));
  const weights = checkpointWeights(p), total = weights.reduce((a, b) => a + b, 0);
  const valRows = v.byCheckpoint.map((groups) => groups.flat());
  const nVal = valRows[0].length, nPool = p.poolFeatures[0].length;
  const less = Array.from({ length: nVal }, (_, z) => {
    const row = new Float64Array(nPool);
    p.poolFeatures.forEach((pool, c) => { const g = unit(valRows[c][z]); for (let i = 0; i < nPool; i++) row[i] += (weights[c] / total) * dot(pool[i], g); });
    return row;
  });
  const pool = combinedPoolFeatures(p), val = Object.values(combinedValidationFeatures(p, target)).flat();
  const knowledge = coreKnowledge(val, { valK });
  const poolProj = pool.map((x) => knowledge.components.map((K) => dot(x, K)));
  const components = val.map((x) => { const zp = knowledge.components.map((K) => dot(x, K)); return Float64Array.from(poolProj, (ip) => dot(ip, zp)); });
  const hiddenVal = Object.values(p.validationHidden[target]).flat().map(unit), hiddenPool = p.poolHidden.map(unit);
  const hidden = hiddenVal.map((h) => Float64Array.from(hiddenPool, (x) => dot(x, h)));
  return {
    less, "g2is-components": components, "trak-adam": kernelScores(pool, val), "trak-plain": kernelScores(combinedPlainPoolFeatures(p), val), "hidden-cosine": hidden,
  };
}

/** Settings of an LDS experiment. */
export interface LdsSettings {
  /** Number of random training subsets M (≥ 3). */
  subsets: number;
  /** Share of the pool in each subset, in (0, 1). */
  fraction: number;
  /** Fine-tuning of each subset (the study's settings; `epochs` honoured). */
  finetune: FinetuneSettings;
  /** Seeds the subsets and fine-tunes. */
  seed: number;
  /** valK of the g2is-components scoring. Default 0.5. */
  valK?: number;
  cacheRoot?: string;
}

/** One LDS experiment: the subsets, the measured losses and each scoring's LDS. */
export interface LdsExperiment {
  target: string;
  subsets: number[][];
  /** losses[j][z]: validation example z after fine-tuning on subset j. */
  losses: number[][];
  results: Record<AttributionScoring, LdsResult>;
  /** Seconds the fine-tunes took when built (cached runs report the original). */
  seconds: number;
}

/** Trains on M random subsets (cached), scores every validation example, LDS per scoring. */
export function ldsExperiment(p: PreparedPipeline, target: string, settings: LdsSettings): LdsExperiment {
  checkOptions("settings", settings, { subsets: option.positiveInteger, fraction: option.positiveNumber, finetune: option.object, seed: option.finiteNumber, valK: option.positiveNumber, cacheRoot: option.string });
  if (!(settings.subsets >= 3)) throw new InvalidArgumentError("settings.subsets", "at least 3 subsets", settings.subsets);
  if (!(settings.fraction > 0 && settings.fraction < 1)) throw new InvalidArgumentError("settings.fraction", "a share of the pool in (0, 1)", settings.fraction);
  const t = p.dataset.targets[target];
  if (t === undefined || p.validation[target] === undefined) throw new UnknownOptionError("target", target, Object.keys(p.validation));
  const validation = p.validation[target].subtasks.flatMap((s) => t.validation[s].map((e) => e.example));
  const N = p.dataset.pool.length, size = Math.max(1, Math.round(settings.fraction * N));
  const key = stageKey("lds", { data: p.dataset.fingerprint, pipeline: p.settings, pipelineSeed: p.seed, target, subsets: settings.subsets, size, finetune: settings.finetune, seed: settings.seed });
  const stage = cachedStage(settings.cacheRoot ?? defaultCacheRoot(), "lds", key, (dir) => {
    const started = performance.now();
    const rng = new Rng(settings.seed).derive("lds-subsets", target);
    const subsets: number[][] = [], losses: number[][] = [];
    for (let j = 0; j < settings.subsets; j++) {
      const subset = rng.derive(j).sampleIndices(N, size).sort((a, b) => a - b);
      const training = { steps: finetuneSteps(settings.finetune, size), batchSize: settings.finetune.batchSize, learningRate: settings.finetune.learningRate, schedule: "linear" as const };
      const tuned = fineTuneLora(p.base, subset.map((i) => p.dataset.pool[i].example), { lora: p.loraOptions, training }, `${settings.seed}/lds/${j}`);
      losses.push(withLora(p.base, p.loraOptions, tuned.params, () => exampleLosses(p.base, validation)));
      subsets.push(subset);
    }
    fs.writeFileSync(path.join(dir, "lds.json"), JSON.stringify({ subsets, losses }));
    return { seconds: (performance.now() - started) / 1000 };
  }, (dir) => JSON.parse(fs.readFileSync(path.join(dir, "lds.json"), "utf8")) as { subsets: number[][]; losses: number[][] });
  const scores = attributionScores(p, target, settings.valK ?? 0.5);
  const results = Object.fromEntries(ATTRIBUTION_SCORINGS.map((s) => [s, linearDatamodelingScore(scores[s], stage.value.subsets, stage.value.losses)])) as Record<AttributionScoring, LdsResult>;
  return { target, subsets: stage.value.subsets, losses: stage.value.losses, results, seconds: Number(stage.info.seconds) };
}
