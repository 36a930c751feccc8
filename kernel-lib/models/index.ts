/** Models: tiny transformer, GRU LM, MLP, LoRA adapters, safetensors save/load. */
export * from "./dense-sites";
export { TinyTransformer, TRANSFORMER_MODULES, rmsNorm } from "./transformer";
export type { TransformerConfig, ResolvedTransformerConfig, TransformerModule } from "./transformer";
export { GruLanguageModel } from "./gru";
export type { GruConfig, ResolvedGruConfig } from "./gru";
export { MlpModel, PreparedMlpBatch, MLP_TASKS, MLP_ACTIVATIONS } from "./mlp";
export type { MlpConfig, ResolvedMlpConfig, MlpBatch } from "./mlp";
export { LoraAdapters, attachLora, detachLora } from "./lora";
export type { LoraOptions, ResolvedLoraOptions } from "./lora";
export { PreparedTokenBatch, prepareTokenBatch, maskedNextTokenLosses } from "./token-batch";
export type { TokenBatch, TokenInput } from "./token-batch";
export { saveModel, loadModel, loadWeightsInto, encodeSafetensors, decodeSafetensors, writeFileAtomic } from "./io";
export type { SavableModel, NamedArray } from "./io";
export { matMulFast, oneHotFloat } from "./ops";
export { WeightStore } from "./weights";
