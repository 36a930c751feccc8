/**
 * The G2IS / LESS study pipeline: toy tasks and real text → tiny base model → LoRA warm-up with
 * Adam checkpoints → LESS gradient features (streamed to an on-disk feature store) → every
 * selection arm → LoRA fine-tuning with identical settings → exact match / held-out loss and the
 * composition of each selection. The selection algorithms themselves are in kernel-lib/g2is/; the
 * general pieces the study uses live in kernel-lib/train/ (FlatAdam, trainLora: LoRA warm-up with
 * saveable Adam state) and kernel-lib/features/ (the on-disk feature store).
 * Typical use: `studyPipeline("toy", STUDY_SETTINGS.quick, 0)` then `runArm(pipeline, request, finetune)`;
 * the notebook and the sweep go through the registered study "g2is" (study.ts in this folder).
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
export { REAL_SOURCES, loadRealTextSources, realSelectionDataset, realTextEncodingStats } from "./real-text";
export type { RealSource, TextPair, RealTextOptions, EncodingStats } from "./real-text";
export { loraGradientRows, gradientFeatures, meanPooledHiddenStates, poolFeatureForms, POOL_FEATURE_FORMS } from "./features";
export type { GradientFeatureOptions, PoolFeatureForm, PoolFeatureFormOptions } from "./features";
export { greedyDecode, exactMatch, exampleLosses, fineTuneLora, withLora } from "./evaluation";
export type { LogitsModel, DecodeOptions, FineTuneSettings } from "./evaluation";
export { cachedStage, stageKey, defaultCacheRoot, PIPELINE_CACHE_VERSION } from "./stage-cache";
export type { StageResult } from "./stage-cache";
export { preparePipeline, clearPipelineCache } from "./prepare";
export type { PipelineSettings, PreparedPipeline, ValidationFeatures, PrepareOptions } from "./prepare";
export {
  SELECTION_METHODS, selectForTarget, lessScoresFromStores, combineCheckpoints, combinedPoolFeatures, combinedCentredPoolFeatures, combinedPlainPoolFeatures, combinedValidationFeatures, checkpointWeights,
} from "./selection";
export type { SelectionMethod, SelectionRequest, SelectionOutcome } from "./selection";
export { WALK_SPACES, meanRow, centreRows, centredCheckpointFeatures, plantedConflictRates, spaceNegativePairs } from "./conflict-space";
export type { WalkSpace, PlantedConflictRate } from "./conflict-space";
export { ORACLE_GROUPS, oracleSelection } from "./oracle";
export { LESS_ABLATION_DIM, lessAblationFeatures } from "./less-ablations";
export type { LessAblationFeatures } from "./less-ablations";
export { ATTRIBUTION_SCORINGS, attributionScores, ldsExperiment } from "./attribution";
export type { AttributionScoring, LdsSettings, LdsExperiment } from "./attribution";
export { runArm, scoreTargets, finetuneSteps } from "./arms";
export type { ArmResult, TargetScores, FinetuneSettings as ArmFinetuneSettings } from "./arms";
export { pca2d, compositionBarsSpec, walkPictureSpec } from "./charts";
export type { Projection2d, CompositionRow, WalkPoint, WalkStep } from "./charts";
export {
  STUDY_SETTINGS, STUDY_TARGETS, VALK_TARGETS, FINETUNE_REGIMES, runBlocks, studyAxes, studyPipeline, releaseStudyPipelines, runStudyArm,
} from "./study-runs";
export type { StudySettings, ToyStudySettings, RealStudySettings, StudyRunConfig } from "./study-runs";
export { studyRows, meanStd, aggregateRows, compareMethods, selectionStabilityRows } from "./report";
export type { StudyRow, Aggregate, ComparisonPoint, StabilityRow } from "./report";
