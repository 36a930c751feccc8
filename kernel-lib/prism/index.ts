/**
 * PRISM: the gradient-concentration probe and the SFT/RL routing rules (probe, routing), and the
 * study that runs every arm on MiniALF and MiniShop (arms → study-base → study-run → study;
 * report reads the run store back for notebook 02).
 */
export * from "./probe";
export * from "./routing";
export * from "./arms";
export { studyBase, clearStudyBases } from "./study-base";
export type { PrismEnvSettings, StudyBase } from "./study-base";
export { runPrismArm } from "./study-run";
export type { PrismArmResult, SplitEvaluation, StepwiseRound, PhaseTotals } from "./study-run";
export { prismStudy, prismStudyGrid, prismStudyRuns, prismStudyOutput, runPrismStudyPoint, PRISM_STUDY_VERSION, PRISM_STUDY_ENVS, PRISM_PRESET_ARMS } from "./study";
export type { PrismStudyConfig, PrismStudyRun } from "./study";
export * from "./report";
