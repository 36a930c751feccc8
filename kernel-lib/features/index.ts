/**
 * Gradient features for data selection (LESS / G2IS): seeded block-streamed random projection,
 * Adam-preconditioned per-example directions, row normalisation and cosine matrices.
 * Typical pipeline: per-example gradients → adamPreconditionedFeatures (pool only) →
 * RandomProjector.project (one projector shared by pool and target) → l2NormalizeRows →
 * cosineSimilarityMatrix.
 */
export {
  RandomProjector, PROJECTION_KINDS, DEFAULT_PROJECTION_BLOCK_ROWS, DEFAULT_PROJECTION_BATCH,
  generateProjectionBlock, projectionBlockRng, explicitProjectionMatrix,
} from "./projection";
export type {
  ProjectionKind, RandomProjectorOptions, GradientGroupSpec, GradientGroup, GroupedExample, GroupedTensors, ProjectionMemory,
} from "./projection";
export { adamPreconditionedFeatures, ADAM_FEATURE_FORMS, LESS_ADAM_DEFAULTS } from "./adam";
export type { AdamFeatureForm, AdamCheckpointState, AdamFeatureOptions } from "./adam";
export {
  l2NormalizeRows, cosineSimilarityMatrix, forEachCosineBlock, ZERO_ROW_POLICIES, DEFAULT_COSINE_BLOCK_ROWS,
} from "./normalize";
export type { ZeroRowPolicy, NormalizeOptions, CosineOptions } from "./normalize";
export type { RowBatch } from "./inputs";
export { FeatureStore, FeatureStoreWriter, openFeatureStore, writeFeatureStore, FEATURE_STORE_FORMAT, FEATURE_STORE_VERSION } from "./feature-store";
export type { FeatureStoreMeta, FeatureChunk } from "./feature-store";
export { lessFeatures, perExampleGradientRows } from "./model-features";
export type { LessFeatureOptions, GradientRowOptions, GradientRowBatch } from "./model-features";
export { adamStateFromOptimizer } from "./tfjs-adam";
export type { OptimizerStateOptions } from "./tfjs-adam";
