/**
 * G2IS (gradient graph + gradient walk; Zhao et al., ACL 2025) and LESS (Xia et al., ICML 2024)
 * data selection on plain feature matrices, with the ablations and baselines of the paper.
 * Typical use: features (projected, normalised per-example gradients) → `selectG2IS(pool, target)`;
 * `selectLess(checkpoints, k)`; `selectNoGraph`, `selectRandom`, `selectBySimilarity` (+ `tfidfVectors`).
 * Defaults follow the official code (sklearn's component sign and valK cut, numpy's tie order);
 * diagnostics: `totalRejections` (per-constraint counts), `selectionStability` (Jaccard across seeds).
 */
export { lessScores, selectLess } from "./less";
export type { LessCheckpoint, LessOptions, LessScores } from "./less";
export { coreKnowledge, COMPONENT_SIGNS, PCA_METHODS, VALK_CUTS } from "./core-knowledge";
export type { CoreKnowledge, CoreKnowledgeOptions, ComponentSign, PcaMethod, ValKCut } from "./core-knowledge";
export { symmetricEigen } from "./eigen";
export type { SymmetricEigen } from "./eigen";
export { totalBudget, splitBudget, componentBudgets, REMAINDER_TIES, BUDGET_FLOORS } from "./budget";
export type { ComponentBudgets, ComponentBudgetOptions, RemainderTies, BudgetFloor } from "./budget";
export { exactKnnGraph, hnswKnnGraph, buildKnnGraph, neighborsOf, recallAtK, GRAPH_METHODS } from "./knn-graph";
export type { KnnGraph, GraphMethod, ExactGraphOptions, HnswGraphOptions } from "./knn-graph";
export { gradientWalk } from "./walk";
export type { WalkOptions, WalkResult, ComponentWalk, AcceptanceKind, UnderfillReport, RejectionCounts, WalkRejections } from "./walk";
export { graphAgreement } from "./graph-check";
export type { GraphAgreement, GraphAgreementOptions } from "./graph-check";
export { linearDatamodelingScore, kernelScores } from "./lds";
export type { LdsResult, KernelScoreOptions } from "./lds";
export { totalRejections, jaccard, selectionStability, negativePairFraction } from "./diagnostics";
export type { SelectionStability, NegativePairOptions } from "./diagnostics";
export { selectG2IS, selectNoGraph, selectRandom, selectBySimilarity, AUTO_EXACT_LIMIT } from "./select";
export type { G2ISOptions, G2ISSelection, SelectedComponent, SelectionCommonOptions } from "./select";
export { fitTfidf, tfidfVectors, ngramsOf, TFIDF_ANALYZERS } from "./tfidf";
export type { TfidfModel, TfidfOptions, TfidfAnalyzer } from "./tfidf";
export { topKIndices, argsortDescending } from "./rows";
export type { FeatureRows, TargetSubtasks } from "./rows";
