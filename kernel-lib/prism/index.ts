/** PRISM: the gradient-concentration probe and the SFT/RL routing rules. */
export * from "./probe";
export * from "./routing";
