/**
 * Seeded, resumable sweeps. A study is a name, one grid per preset (quick/default/paper) and a
 * `runOne(config, seed, context)` that trains/evaluates one grid point and returns its metrics.
 *
 *   const study = registerStudy(defineStudy({ name: "prism", presets: {...} }, runOne));
 *   const result = await runSweep(study, { preset: "quick" });
 *   lab.table(result.toRecords());
 *
 * `runSweep` expands the preset's grid (grid.ts: seeds outermost, fixed order), skips every config
 * whose hash already has an "ok" line in the store, runs the rest one at a time and appends each
 * finished run to the store immediately. So:
 *   - a sweep killed mid-run (SIGKILL, kernel restart) loses only the run in progress, which has
 *     no line and is redone on the next call; nothing finished is lost or run twice;
 *   - a run that throws (or returns invalid metrics, e.g. NaN) gets a "failed" line with the error
 *     message and the sweep goes on (`stopOnFailure: true` stops and rethrows instead). Failed
 *     configs are NOT treated as done: the next `runSweep` retries them (their attempt number,
 *     the suffix of runId, goes up). A deterministic failure therefore fails again — fix the cause
 *     or narrow the sweep with `only`.
 *   - A run that wants to record a divergence should say so in its metrics (e.g. `diverged: true`,
 *     `finalLoss: null`) rather than return NaN, which JSON cannot store.
 * The sweep only emits events (`onProgress`); progress.ts renders them (terminal or notebook).
 */
import { PRESETS, PresetName } from "../notebook";
import { InvalidArgumentError, UnknownOptionError, assertKnownKeys } from "../errors";
import { JsonObject, assertJsonObject, configHash, deepFreeze, valueLabel } from "./canonical";
import { GridPoint, OnlyFilter, StudyGrid, expandGrid, validateGrid } from "./grid";
import { FlatRunRecord, RunRecord, RunStore, flattenRunRecord, toFlatRows } from "./run-store";
import { activeBackendName, defaultStorePath, gitCommit, gradlabVersion } from "./provenance";
import { createProgressReporter } from "./progress";

export interface RunContext {
  study: string;
  preset: PresetName;
  runId: string;
  configHash: string;
  /** 1 for the first try of this config, 2 after one failed line, … */
  attempt: number;
  /** Position of this run among the runs of this session (0-based) and their count. */
  index: number;
  toRun: number;
}

export interface RunOutput {
  /** JSON values; finite numbers only. Arrays (curves) are stored but left out of toRecords(). */
  metrics: JsonObject;
  /** Counters (forwardTokens, optimizerSteps …) and optionally `seconds` of compute. */
  cost?: Readonly<Record<string, number>>;
}

export type RunOne<C extends JsonObject = JsonObject> = (config: C, seed: number, context: RunContext) => Promise<RunOutput> | RunOutput;

export interface StudyDefinition {
  /** Used in file names: letters, digits, "-", "_", "." */
  name: string;
  description?: string;
  presets: Readonly<Record<PresetName, StudyGrid>>;
}

export interface Study<C extends JsonObject = JsonObject> {
  readonly name: string;
  readonly description?: string;
  readonly presets: Readonly<Record<PresetName, StudyGrid>>;
  readonly runOne: RunOne<C>;
}

export interface PlannedRun extends GridPoint {
  configHash: string;
  /** The axis values and the seed, e.g. "arm=sft env=alf seed=0". */
  label: string;
}

export interface SweepSummary {
  study: string;
  preset: PresetName;
  store: string;
  /** Runs in the (filtered) grid. */
  planned: number;
  /** Already ok in the store before this sweep. */
  skipped: number;
  /** Finished ok in this sweep. */
  done: number;
  /** Failed in this sweep. */
  failed: number;
  /** Left unrun because the sweep stopped at a failure. */
  notRun: number;
  wallSeconds: number;
}

export type SweepEvent =
  | { type: "sweep-start"; study: string; preset: PresetName; store: string; planned: number; skipped: number; toRun: number }
  | { type: "run-start"; run: PlannedRun; index: number; toRun: number }
  | { type: "run-end"; run: PlannedRun; record: RunRecord; index: number; toRun: number }
  | { type: "sweep-end"; summary: SweepSummary };

export interface SweepOptions {
  preset: string;
  /** Store file or an open store; default `<project>/reports/runs/<study>.jsonl`. */
  store?: string | RunStore;
  /** Replaces the preset's seeds. */
  seeds?: readonly number[];
  /** Restricts the grid's axes (see grid.ts). */
  only?: OnlyFilter;
  /** Runs at a time; only 1 is supported (tfjs computes on one thread here). */
  concurrency?: 1;
  /** Stop at the first failed run and throw RunFailedError (after recording it). Default false. */
  stopOnFailure?: boolean;
  /** Progress events; default: createProgressReporter() (terminal line or notebook display). */
  onProgress?: (event: SweepEvent) => void;
}

export interface SweepResult {
  summary: SweepSummary;
  store: RunStore;
  /** One record per planned config that has one (its ok run, else its latest failure), plan order. */
  records: RunRecord[];
  /** The same as flat rows for a DataFrame. */
  toRecords(): FlatRunRecord[];
}

/** Thrown by runSweep with `stopOnFailure` after the failed run was recorded. */
export class RunFailedError extends Error {
  constructor(readonly record: RunRecord, readonly label: string) {
    super(`run ${record.runId} (${label}) failed: ${record.error}`);
    this.name = "RunFailedError";
  }
}

const STUDY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Validates a study definition and binds its runOne. */
export function defineStudy<C extends JsonObject = JsonObject>(definition: StudyDefinition, runOne: RunOne<C>): Study<C> {
  if (definition === null || typeof definition !== "object") throw new InvalidArgumentError("definition", "{name, presets}", definition);
  assertKnownKeys("definition", definition, ["name", "description", "presets"]);
  if (typeof definition.name !== "string" || !STUDY_NAME.test(definition.name)) {
    throw new InvalidArgumentError("definition.name", "a name of letters, digits, '.', '_' or '-' (it names the store file)", definition.name);
  }
  if (typeof runOne !== "function") throw new InvalidArgumentError("runOne", "a function (config, seed, context) => {metrics, cost}", runOne);
  const presets = definition.presets;
  if (presets === null || typeof presets !== "object") throw new InvalidArgumentError("definition.presets", `an object with ${PRESETS.join(", ")}`, presets);
  assertKnownKeys("definition.presets", presets, PRESETS);
  for (const p of PRESETS) {
    if (presets[p] === undefined) throw new InvalidArgumentError(`definition.presets.${p}`, "a grid (every study defines quick, default and paper)", undefined);
    validateGrid(`definition.presets.${p}`, presets[p]);
  }
  return Object.freeze({ name: definition.name, description: definition.description, presets, runOne });
}

function presetGrid(study: Study<never>, preset: string): StudyGrid {
  if (!(PRESETS as readonly string[]).includes(preset)) throw new UnknownOptionError("preset", String(preset), PRESETS);
  return study.presets[preset as PresetName];
}

/** The runs a sweep would consider, in the order it runs them (before skipping finished ones). */
export function planSweep(study: Study<never>, options: { preset: string; seeds?: readonly number[]; only?: OnlyFilter }): PlannedRun[] {
  assertKnownKeys("options", options, ["preset", "seeds", "only"]);
  const grid = presetGrid(study, options.preset);
  const axes = Object.keys(grid.axes);
  return expandGrid(grid, { seeds: options.seeds, only: options.only }).map((point) => {
    const label = [...axes.map((a) => `${a}=${valueLabel(point.config[a])}`), `seed=${point.seed}`].join(" ");
    return { config: deepFreeze(point.config), seed: point.seed, configHash: configHash(study.name, point.config, point.seed), label };
  });
}

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

async function executeRun(study: Study<JsonObject>, preset: PresetName, run: PlannedRun, attempt: number, index: number, toRun: number): Promise<RunRecord> {
  const runId = `${run.configHash.slice(0, 12)}-${attempt}`;
  const context: RunContext = { study: study.name, preset, runId, configHash: run.configHash, attempt, index, toRun };
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
    backend: activeBackendName(), gitCommit: gitCommit(), gradlabVersion: gradlabVersion(),
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

/** Runs the preset's grid, skipping configs already ok in the store; see the module header. */
export async function runSweep(study: Study<never>, options: SweepOptions): Promise<SweepResult> {
  assertKnownKeys("options", options, ["preset", "store", "seeds", "only", "concurrency", "stopOnFailure", "onProgress"]);
  if (options.concurrency !== undefined && options.concurrency !== 1) {
    throw new InvalidArgumentError("options.concurrency", "1 (runs are sequential: tfjs computes on one thread here)", options.concurrency);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== "function") throw new InvalidArgumentError("options.onProgress", "a function (event) => void", options.onProgress);
  const preset = options.preset as PresetName;
  const plan = planSweep(study, { preset: options.preset, seeds: options.seeds, only: options.only });
  const store = options.store instanceof RunStore ? options.store : RunStore.open(options.store ?? defaultStorePath(study.name));
  const emit = options.onProgress ?? createProgressReporter();
  const pending = plan.filter((run) => !store.hasOk(run.configHash));
  const summary: SweepSummary = {
    study: study.name, preset, store: store.file, planned: plan.length, skipped: plan.length - pending.length,
    done: 0, failed: 0, notRun: pending.length, wallSeconds: 0,
  };
  const started = performance.now();
  emit({ type: "sweep-start", study: study.name, preset, store: store.file, planned: plan.length, skipped: summary.skipped, toRun: pending.length });
  let stopError: RunFailedError | null = null;
  try {
    for (let index = 0; index < pending.length; index++) {
      const run = pending[index];
      emit({ type: "run-start", run, index, toRun: pending.length });
      const record = await executeRun(study as Study<JsonObject>, preset, run, store.attempts(run.configHash) + 1, index, pending.length);
      store.append(record); // before anything else can fail: a finished run is never lost
      summary.notRun--;
      if (record.status === "ok") summary.done++; else summary.failed++;
      emit({ type: "run-end", run, record, index, toRun: pending.length });
      if (record.status === "failed" && options.stopOnFailure === true) { stopError = new RunFailedError(record, run.label); break; }
    }
  } finally {
    summary.wallSeconds = (performance.now() - started) / 1000;
    emit({ type: "sweep-end", summary });
  }
  if (stopError !== null) throw stopError;
  const hashes = new Set(plan.map((r) => r.configHash));
  const byHash = new Map(store.latestByConfig((r) => hashes.has(r.configHash)).map((r) => [r.configHash, r]));
  const records = plan.flatMap((r) => (byHash.has(r.configHash) ? [byHash.get(r.configHash)!] : []));
  return { summary, store, records, toRecords: () => toFlatRows(records) };
}
