/**
 * Running ONE planned config of a study into a run record — the step every executor shares: the
 * in-process sweep, a worker process of the local pool, a BullMQ worker's sandboxed processor.
 * runOne's output is validated here (finite JSON metrics, non-negative counters); a throw or an
 * invalid output becomes a "failed" record carrying the error text, never an exception, so the
 * caller (the single writer of the store) always has a line to append.
 */
import { InvalidArgumentError, assertKnownKeys } from "../errors";
import type { PresetName } from "../notebook";
import { JsonObject, assertJsonObject } from "./canonical";
import { RunRecord, flattenRunRecord } from "./run-store";
import { activeBackendName, gitCommit, gradlabVersion, runProvenance } from "./provenance";
import type { PlannedRun, RunContext, RunOutput, Study } from "./sweep";

/** Receives progress within a run: fraction in [0, 1] and an optional short note. */
export type ProgressSink = (fraction: number, note?: string) => void;

function errorText(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return `thrown value: ${String(e)}`;
}

/** Checks runOne's output; returns the metrics/cost to store or throws a message. */
function checkOutput(output: unknown, measuredSeconds: number): { metrics: JsonObject; counters: Record<string, number>; seconds: number } {
  if (output === null || typeof output !== "object" || Array.isArray(output)) throw new InvalidArgumentError("runOne result", "{metrics, cost?}", output);
  assertKnownKeys("runOne result", output, ["metrics", "cost"]);
  const { metrics, cost } = output as RunOutput;
  assertJsonObject("metrics", metrics);
  const counters: Record<string, number> = {};
  let seconds = measuredSeconds;
  if (cost !== undefined) {
    if (cost === null || typeof cost !== "object" || Array.isArray(cost)) throw new InvalidArgumentError("cost", "an object of counter name → number", cost);
    for (const [k, v] of Object.entries(cost)) {
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new InvalidArgumentError(`cost.${k}`, "a finite non-negative number", v);
      if (k === "seconds") seconds = v; else counters[k] = v;
    }
  }
  return { metrics, counters, seconds };
}

/** `<first 12 hex of configHash>-<attempt>`: unique per line, stable across machines. */
export function runIdOf(configHash: string, attempt: number): string {
  return `${configHash.slice(0, 12)}-${attempt}`;
}

/**
 * The "failed" record of a run that could not produce one itself — its worker process died, or its
 * queue job failed on a remote worker. `provenance: "here"` records this process's backend, commit
 * and versions; "unknown" (a remote worker's run) records none.
 */
export function failedRunRecord(
  study: string, run: Pick<PlannedRun, "configHash" | "config" | "seed">, attempt: number,
  timing: { startedMs: number; finishedMs: number }, error: string, provenance: "here" | "unknown",
): RunRecord {
  const wallSeconds = Math.max(0, (timing.finishedMs - timing.startedMs) / 1000);
  const where = provenance === "here"
    ? { backend: activeBackendName(), gitCommit: gitCommit(), gradlabVersion: gradlabVersion(), ...runProvenance() }
    : { backend: null, gitCommit: null, gradlabVersion: gradlabVersion() };
  return {
    study, runId: runIdOf(run.configHash, attempt), configHash: run.configHash, config: run.config, seed: run.seed, status: "failed", metrics: {},
    cost: { counters: {}, seconds: provenance === "here" ? wallSeconds : 0 }, startedAt: new Date(timing.startedMs).toISOString(),
    finishedAt: new Date(timing.finishedMs).toISOString(), wallSeconds, ...where, error,
  };
}

/**
 * Runs `run` (attempt number `attempt`) and returns its record, ok or failed. `onProgress`
 * receives the run's own progress reports (clamped to [0, 1]; a throwing sink is ignored).
 */
export async function executeRun(study: Study<JsonObject>, preset: PresetName, run: PlannedRun, attempt: number, index: number, toRun: number, onProgress?: ProgressSink): Promise<RunRecord> {
  const runId = runIdOf(run.configHash, attempt);
  const progress = (fraction: number, note?: string) => {
    if (onProgress === undefined || typeof fraction !== "number" || Number.isNaN(fraction)) return;
    try { onProgress(Math.min(1, Math.max(0, fraction)), typeof note === "string" ? note : undefined); } catch { /* progress must never fail a run */ }
  };
  const context: RunContext = { study: study.name, preset, runId, configHash: run.configHash, attempt, index, toRun, progress };
  const startedAt = new Date();
  const started = performance.now();
  let output: unknown, thrown: unknown = null, failed = false;
  try {
    output = await study.runOne(run.config, run.seed, context);
  } catch (e) {
    failed = true;
    thrown = e;
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const head = { study: study.name, runId, configHash: run.configHash, config: run.config, seed: run.seed };
  const tail = {
    startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), wallSeconds,
    backend: activeBackendName(), gitCommit: gitCommit(), gradlabVersion: gradlabVersion(), ...runProvenance(),
  };
  if (!failed) {
    try {
      const { metrics, counters, seconds } = checkOutput(output, wallSeconds);
      const record: RunRecord = { ...head, status: "ok", metrics, cost: { counters, seconds }, ...tail };
      flattenRunRecord(record); // a metric named like a config key would break tables later: fail now
      return record;
    } catch (e) {
      thrown = new Error(`invalid result from runOne: ${(e as Error).message}`);
    }
  }
  return { ...head, status: "failed", metrics: {}, cost: { counters: {}, seconds: wallSeconds }, ...tail, error: errorText(thrown) };
}

