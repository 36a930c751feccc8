/**
 * Metrics: concentration statistics of one vector (Gini, kurtosis, CV, Hoyer, entropy, top-k
 * mass, L2), their name registry and batch form, rank statistics (Spearman, ROC AUC). Tests,
 * intervals and verdicts live in `stats/`.
 */
export {
  type NumericVector, type MetricName, type ConcentrationOptions,
  gini, kurtosis, excessKurtosis, cv, hoyer, entropy, topKMass, l2, defaultTopK,
  METRICS, METRIC_NAMES, HIGHER_IS_MORE_CONCENTRATED, metricByName, concentrationScores,
} from "./concentration";
export { averageRanks, spearman, rocAuc } from "./ranking";
export { sortedAscendingCopy } from "./sort";
