/**
 * The PRISM reproduction (notebook 02): every arm on MiniALF and MiniShop over seeds, built only
 * from the method (kernel-lib/prism: probe, routing) and the shared modules — arms → shared base
 * stage → one arm's SFT/RL run → the registered sweep study; report reads the run store back.
 */
export * from "./arms";
export { studyBase, clearStudyBases } from "./study-base";
export type { PrismEnvSettings, StudyBase } from "./study-base";
export { runPrismArm } from "./study-run";
export type { PrismArmResult, SplitEvaluation, StepwiseRound, PhaseTotals } from "./study-run";
export { prismStudy, prismStudyGrid, prismEnvSettings, prismStudyRuns, prismStudyOutput, runPrismStudyPoint, PRISM_STUDY_VERSION, PRISM_STUDY_ENVS, PRISM_PRESET_ARMS } from "./study";
export type { PrismStudyConfig, PrismStudyRun, StoredProbe } from "./study";
export * from "./report";
