/**
 * Statistics a reader can trust: paired tests (exact sign-flip permutation, exact McNemar),
 * clustered tests and intervals (tasks within seeds), AUC with clustered intervals, Holm
 * correction, power (minimum detectable effect), the single `pairedVerdict` entry point every
 * directional sentence of a notebook goes through, and the claims ledger.
 *
 * Which to use: `pairedVerdict(a − b, { clusters: seeds })` for "arm A vs arm B" on the same
 * tasks; `aucVerdict` for "does a score separate a label"; `holmVerdicts` for a family of such
 * comparisons tested together; `claim` for every paper claim a notebook tests.
 */
export { pairedVerdict, holmVerdicts, verdictText, formatP } from "./verdict";
export type { PairedVerdict, PairedVerdictOptions, Direction, VerdictTextOptions } from "./verdict";
export { aucVerdict } from "./auc";
export type { AucVerdict, AucVerdictOptions } from "./auc";
export { claim, claimRecord, claimText, byConstruction, CLAIM_PREFIX, CLAIM_VERDICTS } from "./claims";
export type { ClaimInput, ClaimRecord, ClaimVerdict, ConstructionEvidence } from "./claims";
export { signFlipTest, stratifiedSignFlipTest } from "./permutation";
export type { SignFlipOptions, SignFlipResult } from "./permutation";
export { signTest, discordantCounts, ALTERNATIVES } from "./sign-test";
export type { Alternative, DiscordantCounts } from "./sign-test";
export { tInterval, stratifiedInterval, meanAndVariance } from "./intervals";
export type { MeanInterval } from "./intervals";
export { bootstrapInterval, clusterBootstrapInterval } from "./bootstrap";
export type { BootstrapOptions, BootstrapInterval } from "./bootstrap";
export { holmAdjust } from "./holm";
export { minDetectableEffect, smallestAttainableP } from "./power";
export type { MdeOptions } from "./power";
export { normalCdf, normalQuantile, studentTCdf, studentTQuantile, incompleteBeta, logGamma, binomialHalfLowerTail, binomialProbability } from "./distributions";
export { allOf, anyOf } from "./compound";
