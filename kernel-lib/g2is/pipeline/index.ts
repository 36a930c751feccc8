/**
 * The G2IS / LESS study pipeline: toy tasks and real text → tiny base model → LoRA warm-up with
 * Adam checkpoints → LESS gradient features (streamed to an on-disk feature store) → every
 * selection arm → LoRA fine-tuning with identical settings → exact match / held-out loss and the
 * composition of each selection. The selection algorithms themselves are in kernel-lib/g2is/.
 * Typical use: `studyPipeline("toy", STUDY_SETTINGS.quick, 0)` then `runArm(pipeline, request, finetune)`;
 * the notebook and the sweep go through the registered study "g2is" (kernel-lib/g2is/study.ts).
 */
export {
  POOL_FAMILIES, CONFLICT_KINDS, COMPOSITION_FAMILIES, TOY_FAMILIES, TOY_ALPHABET, generateToyItem, cleanTwin, solveToyPrompt,
} from "./tasks";
export type { PoolFamily, ConflictKind, CompositionFamily, ToyFamily, ToyItem } from "./tasks";
export { TOY_TARGETS, MULTI_SUBTASKS, buildToyDataset, poolComposition } from "./pool";
export type { ToyTargetName, PoolExample, TargetSet, ToyDataset, ToyDatasetOptions } from "./pool";
export { CharCodec, WordCodec, splitTextWords } from "./codec";
export type { SequenceCodec, EncodedPair, WordCodecOptions } from "./codec";
export { toySelectionDataset, fingerprintOf } from "./dataset";
export type { SelectionDataset, PoolEntry, EvalEntry, TargetData } from "./dataset";
export { REAL_SOURCES, loadRealTextSources, realSelectionDataset } from "./real-text";
export type { RealSource, TextPair, RealTextOptions } from "./real-text";
export { FlatAdam, ADAM_DEFAULTS, linearScheduleLr } from "./adam";
export type { AdamHyperParameters } from "./adam";
export { trainLora, loraParameterNames, readLoraParameters, writeLoraParameters } from "./lora-training";
export type { TrainingExample, LoraCheckpoint, LoraTrainingOptions, LoraTrainingResult } from "./lora-training";
export { FeatureStore, FeatureStoreWriter, openFeatureStore, writeFeatureStore, FEATURE_STORE_FORMAT, FEATURE_STORE_VERSION } from "./feature-store";
export type { FeatureStoreMeta, FeatureChunk } from "./feature-store";
export { loraGradientRows, gradientFeatures, meanPooledHiddenStates } from "./features";
export type { GradientFeatureOptions } from "./features";
export { greedyDecode, exactMatch, exampleLosses, fineTuneLora, withLora } from "./evaluation";
export type { LogitsModel, DecodeOptions, FineTuneSettings } from "./evaluation";
export { cachedStage, stageKey, defaultCacheRoot, PIPELINE_CACHE_VERSION } from "./stage-cache";
export type { StageResult } from "./stage-cache";
export { preparePipeline, clearPipelineCache } from "./prepare";
export type { PipelineSettings, PreparedPipeline, ValidationFeatures, PrepareOptions } from "./prepare";
export {
  SELECTION_METHODS, selectForTarget, lessScoresFromStores, combineCheckpoints, combinedPoolFeatures, combinedValidationFeatures, checkpointWeights,
} from "./selection";
export type { SelectionMethod, SelectionRequest, SelectionOutcome } from "./selection";
export { runArm, scoreTargets } from "./arms";
export type { ArmResult, TargetScores, FinetuneSettings as ArmFinetuneSettings } from "./arms";
export { pca2d, compositionBarsSpec, walkPictureSpec } from "./charts";
export type { Projection2d, CompositionRow, WalkPoint, WalkStep } from "./charts";
export {
  STUDY_SETTINGS, STUDY_TARGETS, VALK_TARGETS, runBlocks, studyAxes, studyPipeline, releaseStudyPipelines, runStudyArm,
} from "./study-runs";
export type { StudySettings, ToyStudySettings, RealStudySettings, StudyRunConfig } from "./study-runs";
export { studyRows, meanStd, aggregateRows, compareMethods } from "./report";
export type { StudyRow, Aggregate, ComparisonPoint } from "./report";
