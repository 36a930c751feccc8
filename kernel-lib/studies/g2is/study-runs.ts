/**
 * The G2IS study's settings per preset and the glue that turns one grid point into one arm run:
 * dataset (toy or real text) → prepared pipeline (cached on disk, memoised in memory) → runArm →
 * JSON metrics for the run store. study.ts registers the study with these; the
 * notebook uses the same functions to reach the cached pipeline (walk picture, planted check).
 *
 * Grid: axes target × method × trainK × valK × delta × regime, cut down by `runBlocks` to five blocks —
 *   main     every method × every target at the preset's main budget (valK 0.5, δ 0.8);
 *   budget   {g2is, less, random} × `budgetTargets` × every budget fraction;
 *   valK     g2is × {multi, single-ADD} × every valK;
 *   delta    g2is × `deltaTargets` × every δ;
 *   epochs   the epochs-matched fine-tuning regime (`epochsMatched` passes over the selection):
 *            {g2is, less, random, oracle, full} × toy targets at the main budget, and
 *            {g2is, less, random} × `budgetTargets` × every budget — beside the steps-matched runs
 *            of the other blocks (regime "steps"), so budget is not confounded with repetition.
 * Methods that ignore a parameter (random ignores valK and δ; full and base ignore all three) only
 * appear at its main value, so no run is a disguised duplicate. The real-text target "gsm8k" is
 * in the main block only, at `real.trainK`.
 * Seeds are the run seeds: warm-up subset, LoRA inits, projection, fine-tuning order and the
 * random arm all derive from them; the toy data and the base model are fixed per preset.
 */
import { JsonObject } from "../../experiments/canonical";
import { UnknownOptionError } from "../../errors";
import { checkOptions, option } from "../../options";
import type { PresetName } from "../../notebook";
import { ArmResult, FinetuneSettings, finetuneSteps, runArm } from "./arms";
import { SelectionDataset, toySelectionDataset } from "./dataset";
import { PipelineSettings, PreparedPipeline, preparePipeline } from "./prepare";
import { RealTextOptions, realSelectionDataset } from "./real-text";
import { SELECTION_METHODS, SelectionMethod } from "./selection";
import { TOY_TARGETS } from "./pool";

/** The toy half of a preset: dataset sizes, the feature pipeline and the fine-tuning every arm shares. */
export interface ToyStudySettings {
  /** Options of `toySelectionDataset` (pool, pre-training mixture, validation and test sizes, context, seed). */
  data: { poolSize: number; pretrainSize: number; validationPerSubtask: number; validationSingle: number; testPerTarget: number; maxLen: number; seed: number };
  pipeline: PipelineSettings;
  finetune: FinetuneSettings;
}

/** The real-text half of a preset: the GSM8K / Code Alpaca / Alpaca-seed dataset, its pipeline, fine-tuning and budget. */
export interface RealStudySettings {
  /** Options of `realSelectionDataset` (rows per source, vocabulary, context, seed). */
  data: Omit<RealTextOptions, "dataDir">;
  pipeline: PipelineSettings;
  finetune: FinetuneSettings;
  trainK: number;
}

/** One preset of the G2IS study: the toy and real-text settings and the grid the sweep runs (see the module header). */
export interface StudySettings {
  toy: ToyStudySettings;
  real: RealStudySettings;
  /** The main table's budget fraction (0.05: at a pool of 2000, the paper's 1% would be 20 rows). */
  mainTrainK: number;
  /** Neighbours per node of the k-NN graph (the paper does not say; 10). */
  graphK: number;
  /** Budget fractions of the budget block. */
  budgets: number[];
  /** valK values of the valK block (G2IS on multi and single-ADD). */
  valKs: number[];
  /** δ values of the δ block. */
  deltas: number[];
  /** Targets of the budget block (and of the epochs-matched budget runs). */
  budgetTargets: string[];
  /** Targets of the δ block. */
  deltaTargets: string[];
  /** Passes over the selection in the epochs-matched regime (the papers fine-tune for a few epochs). */
  epochsMatched: number;
  /** The attribution-quality experiment (attribution.ts): M random subsets of `fraction` of the pool, on `target`. */
  lds: { subsets: number; fraction: number; target: string };
  /** Run seeds (warm-up subset, LoRA inits, projection, fine-tuning order, the random arm); the notebook adds its `seed`. */
  seeds: number[];
}

const LORA = { rank: 8, targets: ["q", "k", "v", "o", "gate", "up", "down"] };

function toy(poolSize: number, pretrainSteps: number, finetuneSteps: number, dModel: number): ToyStudySettings {
  return {
    data: { poolSize, pretrainSize: 20000, validationPerSubtask: 4, validationSingle: 8, testPerTarget: 64, maxLen: 20, seed: 0 },
    pipeline: {
      model: { dModel, nLayers: 2, nHeads: 4, dFF: 2 * dModel },
      pretrain: { steps: pretrainSteps, batchSize: 64, learningRate: 3e-3, seed: 0 },
      lora: LORA,
      warmup: { fraction: 0.1, epochs: 3, batchSize: 16, learningRate: 2e-3 },
      projection: { dim: 256 },
    },
    finetune: { steps: finetuneSteps, batchSize: 16, learningRate: 1e-3 },
  };
}

/** Real text: a context of 256 words (prompts cut to 96) holds 97 of the 100 GSM8K test pairs whole (realTextEncodingStats). */
function real(scale: number, pretrainSteps: number, finetuneSteps: number): RealStudySettings {
  const n = (x: number) => Math.round(x * scale);
  return {
    data: {
      poolSizes: { gsm8k: n(200), codealpaca: n(300), "alpaca-seed": n(90) },
      pretrainSizes: { gsm8k: n(200), codealpaca: n(190), "alpaca-seed": 70 },
      validationSize: 16, testSize: 100, maxVocab: 800, maxLen: 256, maxPromptTokens: 96, seed: 0,
    },
    pipeline: {
      model: { dModel: 48, nLayers: 2, nHeads: 4, dFF: 96 },
      // A few epochs of the generic mixture only: a few hundred rows are memorised within ~10.
      pretrain: { steps: pretrainSteps, batchSize: 32, learningRate: 3e-3, seed: 0 },
      lora: LORA,
      warmup: { fraction: 0.1, epochs: 3, batchSize: 16, learningRate: 2e-3 },
      projection: { dim: 256 },
    },
    finetune: { steps: finetuneSteps, batchSize: 16, learningRate: 1e-3 },
    trainK: 0.1,
  };
}

/**
 * The study's presets. quick: an 800-row pool, one seed (a smoke run); default: a 2000-row pool,
 * 3 seeds, 4 valK and 4 δ values, 40 LDS subsets; paper: a 4000-row pool at the paper's 1% budget,
 * 5 seeds. Every run's config carries a hash of its preset's settings, so a changed preset re-runs.
 */
export const STUDY_SETTINGS: Readonly<Record<PresetName, StudySettings>> = Object.freeze({
  quick: {
    toy: toy(800, 800, 60, 48), real: real(0.5, 40, 30), mainTrainK: 0.05, graphK: 10,
    budgets: [0.01, 0.05, 0.1], valKs: [0.3, 0.5, 0.9], deltas: [0.5, 0.8, 0.95], budgetTargets: ["multi", "single-ADD"], deltaTargets: ["multi"], epochsMatched: 3, lds: { subsets: 12, fraction: 0.5, target: "multi" }, seeds: [0],
  },
  default: {
    toy: toy(2000, 2000, 100, 48), real: real(1, 60, 40), mainTrainK: 0.05, graphK: 10,
    budgets: [0.01, 0.05, 0.1], valKs: [0.3, 0.5, 0.7, 0.9], deltas: [0.5, 0.65, 0.8, 0.95], budgetTargets: ["MULN", "multi", "single-ADD"], deltaTargets: ["MULN", "multi"], epochsMatched: 3, lds: { subsets: 40, fraction: 0.5, target: "multi" }, seeds: [0, 1, 2],
  },
  paper: {
    toy: toy(4000, 3000, 150, 64), real: real(1, 60, 60), mainTrainK: 0.01, graphK: 10,
    budgets: [0.01, 0.05, 0.1], valKs: [0.2, 0.35, 0.5, 0.7, 0.9], deltas: [0.5, 0.65, 0.8, 0.9, 0.95], budgetTargets: [...TOY_TARGETS], deltaTargets: ["MULN", "multi", "single-ADD"], epochsMatched: 3, lds: { subsets: 64, fraction: 0.5, target: "multi" }, seeds: [0, 1, 2, 3, 4],
  },
});

/** Every target of the sweep: the five toy targets and "gsm8k" (real text). */
export const STUDY_TARGETS: readonly string[] = [...TOY_TARGETS, "gsm8k"];
/** The targets of the valK block: one multi-subtask target (where valK decides how many skills get budget) and one single skill. */
export const VALK_TARGETS: readonly string[] = ["multi", "single-ADD"];
const IGNORES_VALK_DELTA: readonly string[] = ["less", "less-last", "less-sgd", "less-bias-corrected", "less-d64", "less-no-warmup", "oracle", "sim-tfidf", "sim-hidden", "random", "full", "base"];
const IGNORES_BUDGET: readonly string[] = ["full", "base"];

/** Fine-tuning regimes of the study grid: a fixed number of updates, or a fixed number of epochs over the selection. */
export const FINETUNE_REGIMES = ["steps", "epochs"] as const;
const EPOCHS_MAIN_METHODS: readonly string[] = ["g2is", "less", "random", "oracle", "full"];

/** Which block(s) of the study a grid point belongs to (empty = not run). A missing regime is "steps". */
export function runBlocks(config: { target: string; method: string; trainK: number; valK: number; delta: number; regime?: string }, settings: StudySettings): string[] {
  const { target, method, trainK, valK, delta } = config;
  const atMainValK = valK === 0.5, atMainDelta = delta === 0.8;
  if ((config.regime ?? "steps") === "epochs") {
    if (target === "gsm8k" || !atMainValK || !atMainDelta) return [];
    const mainPoint = trainK === settings.mainTrainK && EPOCHS_MAIN_METHODS.includes(method);
    const budgetPoint = ["g2is", "less", "random"].includes(method) && settings.budgetTargets.includes(target) && settings.budgets.includes(trainK);
    return mainPoint || budgetPoint ? ["epochs"] : [];
  }
  if (target === "gsm8k") return trainK === settings.real.trainK && atMainValK && atMainDelta ? ["main"] : [];
  const blocks: string[] = [];
  if (trainK === settings.mainTrainK && atMainValK && atMainDelta) blocks.push("main");
  if (!IGNORES_BUDGET.includes(method) && ["g2is", "less", "random"].includes(method) && settings.budgetTargets.includes(target) && atMainValK && atMainDelta && trainK !== settings.mainTrainK) blocks.push("budget");
  if (method === "g2is" && VALK_TARGETS.includes(target) && trainK === settings.mainTrainK && atMainDelta && !atMainValK) blocks.push("valK");
  if (method === "g2is" && settings.deltaTargets.includes(target) && trainK === settings.mainTrainK && atMainValK && !atMainDelta) blocks.push("delta");
  if (IGNORES_VALK_DELTA.includes(method) && (!atMainValK || !atMainDelta)) return [];
  return blocks;
}

/** The grid axes of a preset (the cartesian product, before `runBlocks` filters it). */
export function studyAxes(settings: StudySettings): Record<string, (string | number)[]> {
  const trainKs = [...new Set([settings.mainTrainK, ...settings.budgets, settings.real.trainK])].sort((a, b) => a - b);
  return {
    target: [...STUDY_TARGETS], method: [...SELECTION_METHODS], trainK: trainKs,
    valK: [...new Set([0.5, ...settings.valKs])].sort((a, b) => a - b), delta: [...new Set([0.8, ...settings.deltas])].sort((a, b) => a - b),
    regime: [...FINETUNE_REGIMES],
  };
}

// ---- in-memory memo of datasets and pipelines (the disk cache makes rebuilding cheap, not free) ----
const datasets = new Map<string, SelectionDataset>();
const pipelines = new Map<"toy" | "real", { key: string; pipeline: PreparedPipeline }>();

function datasetFor(kind: "toy" | "real", settings: StudySettings): SelectionDataset {
  const spec = kind === "toy" ? settings.toy.data : settings.real.data;
  const key = `${kind}:${JSON.stringify(spec)}`;
  let ds = datasets.get(key);
  if (ds === undefined) {
    ds = kind === "toy" ? toySelectionDataset({ ...settings.toy.data }) : realSelectionDataset({ ...settings.real.data });
    datasets.set(key, ds);
  }
  return ds;
}

/**
 * The prepared pipeline of a dataset kind for a run seed (built or loaded from the disk cache).
 * One pipeline per kind is kept in memory; asking for another seed disposes the previous one.
 */
export function studyPipeline(kind: "toy" | "real", settings: StudySettings, seed: number, log?: (message: string) => void): PreparedPipeline {
  if (kind !== "toy" && kind !== "real") throw new UnknownOptionError("kind", String(kind), ["toy", "real"]);
  const ds = datasetFor(kind, settings);
  const pipelineSettings = kind === "toy" ? settings.toy.pipeline : settings.real.pipeline;
  const key = JSON.stringify({ fp: ds.fingerprint, pipelineSettings, seed });
  const held = pipelines.get(kind);
  if (held !== undefined && held.key === key) return held.pipeline;
  if (held !== undefined) { held.pipeline.base.dispose(); pipelines.delete(kind); }
  const pipeline = preparePipeline(ds, pipelineSettings, seed, { log });
  pipelines.set(kind, { key, pipeline });
  return pipeline;
}

/** Disposes the pipelines held in memory (their base models). */
export function releaseStudyPipelines(): void {
  for (const held of pipelines.values()) held.pipeline.base.dispose();
  pipelines.clear();
}

/** One grid point of the study as stored in the run store: target, arm, budget, valK, δ and fine-tuning regime. */
export interface StudyRunConfig extends JsonObject {
  /** A toy target or "gsm8k". */
  target: string;
  /** One of `SELECTION_METHODS`. */
  method: string;
  /** Budget fraction of the pool. */
  trainK: number;
  /** Share of target-gradient variance kept (G2IS arms; 0.5 for the others). */
  valK: number;
  /** Consistency threshold (G2IS walk arms; 0.8 for the others). */
  delta: number;
  /** "steps" (fixed updates; a config without it is read as "steps") or "epochs" (fixed passes over the selection). */
  regime: string;
}

/** One grid point → its metrics (the study's runOne body). */
export function runStudyArm(config: StudyRunConfig, settings: StudySettings, seed: number, onProgress?: (fraction: number, note?: string) => void): { metrics: JsonObject; cost: Record<string, number> } {
  // A grid point with a misspelt axis would otherwise run with that axis at its default. The study's
  // fixed keys (preset, settings hash, version) identify the run in the store and are allowed.
  checkOptions("config", config, {
    target: option.string, method: option.any, trainK: option.positiveNumber, valK: option.positiveNumber, delta: option.finiteNumber, regime: option.oneOf(FINETUNE_REGIMES),
    preset: option.string, settingsHash: option.string, studyVersion: option.positiveInteger,
  });
  if (!(SELECTION_METHODS as readonly string[]).includes(config.method)) throw new UnknownOptionError("config.method", config.method, SELECTION_METHODS);
  const kind = config.target === "gsm8k" ? "real" : "toy";
  onProgress?.(0, `${kind} pipeline`);
  const pipeline = studyPipeline(kind, settings, seed);
  onProgress?.(0.5, `${config.method}: select, fine-tune, evaluate`);
  const stepsMatched = kind === "toy" ? settings.toy.finetune : settings.real.finetune;
  const finetune: FinetuneSettings = config.regime === "epochs" ? { ...stepsMatched, epochs: settings.epochsMatched } : stepsMatched;
  const arm: ArmResult = runArm(pipeline, {
    method: config.method as SelectionMethod, target: config.target, trainK: config.trainK, valK: config.valK, delta: config.delta, k: settings.graphK, seed,
  }, finetune);
  const scores = arm.scores[config.target];
  const metrics: JsonObject = {
    dataset: kind,
    blocks: runBlocks(config, settings).join("+"),
    exactMatch: scores.exactMatch,
    testLoss: scores.loss,
    perSubtask: scores.perSubtask,
    itemCorrect: scores.itemCorrect,
    itemLoss: scores.itemLoss.map((x) => Number(x.toPrecision(6))),
    selected: arm.selection.indices.length,
    finetuneSteps: arm.selection.indices.length === 0 ? 0 : finetuneSteps(finetune, arm.selection.indices.length),
    // The selected rows themselves (not for full / base): selection stability across seeds.
    selection: config.method === "full" || config.method === "base" ? null : arm.selection.indices,
    budget: arm.selection.budget,
    underfilled: arm.selection.underfilled,
    fallbacks: arm.selection.fallbacks,
    rejections: arm.selection.rejections as unknown as JsonObject | null,
    componentAlignment: arm.selection.components.map((c) => c.alignment.map((x) => Number(x.toPrecision(5)))),
    conflictFraction: arm.conflictFraction,
    duplicateFraction: arm.duplicateFraction,
    composition: arm.composition,
    componentWeights: arm.selection.components.map((c) => c.weight),
    componentPaths: arm.selection.components.map((c) => c.path),
    componentKinds: arm.selection.components.map((c) => c.kinds),
    finetuneSeconds: arm.finetuneSeconds,
    evaluationSeconds: arm.evaluationSeconds,
    reusedFinetune: arm.reused,
  };
  return { metrics, cost: { optimizerSteps: arm.reused || arm.selection.indices.length === 0 ? 0 : finetuneSteps(finetune, arm.selection.indices.length), tokens: arm.reused ? 0 : arm.tokens } };
}
