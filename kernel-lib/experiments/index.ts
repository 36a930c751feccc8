/**
 * Experiments: seeded, resumable sweeps over a study's grid, recorded in an append-only JSONL run
 * store. Define a study with `defineStudy` + `registerStudy`, run it with `runSweep` (notebook) or
 * `npm run sweep -- --study NAME --preset quick` (terminal); read results with `RunStore`.
 */
export * from "./canonical";
export * from "./run-store";
export * from "./grid";
export * from "./sweep";
export * from "./progress";
export * from "./registry";
export { projectRoot, gradlabVersion, gitCommit, activeBackendName, defaultStorePath, gitDirty, backendVersion, peakRssMB, runProvenance } from "./provenance";
export type { RunProvenance } from "./provenance";
export * from "./lock";
export * from "./merge";
export * from "./shard";
export { WorkerPool, defaultJobs, checkJobs } from "./pool";
export type { PoolOptions, PoolTask } from "./pool";
export { executeRun } from "./execute";
export type { ProgressSink } from "./execute";
