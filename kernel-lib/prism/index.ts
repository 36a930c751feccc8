/**
 * PRISM, the method a user applies to their own trajectories: the gradient-concentration probe
 * and the SFT/RL routing rules. The toy reproduction of the paper lives in kernel-lib/studies/prism.
 */
export * from "./probe";
export * from "./routing";
