/**
 * Metrics: concentration statistics of one vector (Gini, kurtosis, CV, Hoyer, entropy, top-k
 * mass, L2), their name registry and batch form, rank statistics (Spearman, ROC AUC), the
 * bootstrap interval and the exact sign test for paired before/after outcomes.
 */
export {
  type NumericVector, type MetricName, type ConcentrationOptions,
  gini, kurtosis, excessKurtosis, cv, hoyer, entropy, topKMass, l2, defaultTopK,
  METRICS, METRIC_NAMES, HIGHER_IS_MORE_CONCENTRATED, metricByName, concentrationScores,
} from "./concentration";
export { averageRanks, spearman, rocAuc } from "./ranking";
export { bootstrapInterval } from "./bootstrap";
export { signTest } from "./sign-test";
export type { BootstrapOptions, BootstrapInterval } from "./bootstrap";
export { sortedAscendingCopy } from "./sort";
