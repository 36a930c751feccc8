/**
 * PRISM, the method a user applies to their own trajectories: the gradient-concentration probe,
 * the SFT/RL routing rules, and the confound controls a probe score must pass (AUC next to loss
 * and length baselines, stratified AUC). The toy reproduction of the paper lives in
 * kernel-lib/studies/prism.
 */
export * from "./probe";
export * from "./routing";
export * from "./confounds";
export * from "./covariates";
export * from "./probe-model";
