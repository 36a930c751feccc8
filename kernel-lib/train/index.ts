export * from "./sft";
export { tokenLogProbs, sampleTokens } from "./logprobs";
export type { LogitsModel, SampleOptions, SampledSequences } from "./logprobs";
export { computeAdvantages, groupNormalize, STD_ESTIMATORS } from "./advantages";
export type { Advantages, AdvantageOptions, GroupNormalizeOptions, StdEstimator } from "./advantages";
export { grpoStep, grpoLoss, createReference, GRPO_AGGREGATIONS } from "./grpo";
export type { GrpoOptions, GrpoLossOptions, GrpoLossInputs, GrpoStepResult, GrpoUpdateStats, GrpoAggregation, PolicyModel } from "./grpo";
