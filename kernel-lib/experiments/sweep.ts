/**
 * Seeded, resumable sweeps. A study is a name, one grid per preset (quick/default/paper) and a
 * `runOne(config, seed, context)` that trains/evaluates one grid point and returns its metrics.
 *
 *   const study = registerStudy(defineStudy({ name: "prism", presets: {...} }, runOne));
 *   const result = await runSweep(study, { preset: "quick" });
 *   lab.displayTable(result.toRecords());
 *
 * `runSweep` expands the preset's grid (grid.ts: seeds outermost, fixed order), skips every config
 * whose hash already has an "ok" line in the store, runs the rest — one at a time in this process,
 * or with `jobs: N` on N worker processes (pool.ts) — and appends each finished run to the store
 * immediately; this process is the only writer either way. So:
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
import { createHash } from "node:crypto";
import { JsonObject, JsonValue, canonicalJson, configHash, deepFreeze, valueLabel } from "./canonical";
import { GridPoint, OnlyFilter, StudyGrid, expandGrid, validateGrid } from "./grid";
import { FlatRunRecord, RunRecord, RunStore, toFlatRows } from "./run-store";
import { defaultStorePath } from "./provenance";
import { executeRun } from "./execute";
import { WorkerPool, PoolTask, checkJobs } from "./pool";
import { Shard, selectShard } from "./shard";
import { createProgressReporter } from "./progress";

/**
 * What `runOne` receives besides config and seed: study, preset, run id, config hash, attempt, its
 * place in the sweep, and a `progress(fraction, note)` callback.
 */
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
  /**
   * Progress within the run: `fraction` in [0, 1] and a short note ("SFT", "RL 3/8"). Cheap to call
   * often (the sweep throttles what it shows); from a worker process it travels to the parent.
   */
  progress(fraction: number, note?: string): void;
}

/** What `runOne` returns: JSON metrics and optional cost counters. */
export interface RunOutput {
  /** JSON values; finite numbers only. Arrays (curves) are stored but left out of toRecords(). */
  metrics: JsonObject;
  /** Counters (forwardTokens, optimizerSteps …) and optionally `seconds` of compute. */
  cost?: Readonly<Record<string, number>>;
}

/** A study's run function: trains / evaluates one grid point and returns its metrics. */
export type RunOne<C extends JsonObject = JsonObject> = (config: C, seed: number, context: RunContext) => Promise<RunOutput> | RunOutput;

/** What `defineStudy` takes: name, description, one grid per preset and an optional affinity key. */
export interface StudyDefinition {
  /** Used in file names: letters, digits, "-", "_", "." */
  name: string;
  description?: string;
  presets: Readonly<Record<PresetName, StudyGrid>>;
  /**
   * Runs with the same key share an expensive in-process stage (e.g. one env and seed share a
   * pre-trained base policy): a parallel sweep gives them to the same worker where it can.
   */
  affinity?: (config: JsonObject, seed: number) => string;
}

/** A study made by `defineStudy`: name, presets and run function. */
export interface Study<C extends JsonObject = JsonObject> {
  readonly name: string;
  readonly description?: string;
  readonly presets: Readonly<Record<PresetName, StudyGrid>>;
  readonly runOne: RunOne<C>;
  readonly affinity?: (config: JsonObject, seed: number) => string;
}

/** One run a sweep plans: grid point, its config hash and a readable label. */
export interface PlannedRun extends GridPoint {
  configHash: string;
  /** The axis values and the seed, e.g. "arm=sft env=alf seed=0". */
  label: string;
}

/** The counts of a finished sweep: planned, skipped, done, failed, not run, wall time, store. */
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

/**
 * The events a sweep emits to `onProgress`: sweep-start, run-start, run-progress, run-end,
 * sweep-end.
 */
export type SweepEvent =
  | { type: "sweep-start"; study: string; preset: PresetName; store: string; planned: number; skipped: number; toRun: number; jobs?: number }
  | { type: "run-start"; run: PlannedRun; index: number; toRun: number }
  | { type: "run-progress"; run: PlannedRun; index: number; toRun: number; fraction: number; note?: string }
  | { type: "run-end"; run: PlannedRun; record: RunRecord; index: number; toRun: number }
  | { type: "sweep-end"; summary: SweepSummary };

/** Options of `runSweep`; only `preset` is required. */
export interface SweepOptions {
  preset: string;
  /** Store file or an open store; default `<project>/reports/runs/<study>.jsonl`. */
  store?: string | RunStore;
  /** Replaces the preset's seeds. */
  seeds?: readonly number[];
  /** Restricts the grid's axes (see grid.ts). */
  only?: OnlyFilter;
  /**
   * Worker processes (default 1: in this process). With N > 1 each run goes to one of N child
   * processes with their own backend (pool.ts); this process stays the only writer of the store.
   * The study must be loadable by a worker: registered in the library, or `studyModule` given.
   */
  jobs?: number;
  /** The module file that registers the study, for worker processes (studies outside the library). */
  studyModule?: string;
  /**
   * Only this shard of the grid (a stable subset by config hash; shard.ts) — one machine's part of
   * a grid split over a Slurm array or a Kubernetes Indexed Job. Shard stores merge (merge.ts).
   */
  shard?: Shard;
  /** Stop at the first failed run and throw RunFailedError (after recording it). Default false. */
  stopOnFailure?: boolean;
  /** Progress events; default: createProgressReporter() (terminal line or notebook display). */
  onProgress?: (event: SweepEvent) => void;
}

/** What `runSweep` returns: the summary and the grid's records. */
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
  assertKnownKeys("definition", definition, ["name", "description", "presets", "affinity"]);
  if (definition.affinity !== undefined && typeof definition.affinity !== "function") throw new InvalidArgumentError("definition.affinity", "a function (config, seed) => string", definition.affinity);
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
  return Object.freeze({ name: definition.name, description: definition.description, presets, runOne, affinity: definition.affinity });
}

function presetGrid(study: Study<never>, preset: string): StudyGrid {
  if (!(PRESETS as readonly string[]).includes(preset)) throw new UnknownOptionError("preset", String(preset), PRESETS);
  return study.presets[preset as PresetName];
}

/**
 * A run label's text for one axis value: an object-valued axis (a whole settings block, e.g. the
 * PRISM study's per-env settings) shows as `{…}` plus the first 8 hex digits of its canonical
 * JSON's SHA-256, so progress lines stay one readable line; scalars and arrays show as themselves.
 */
function axisLabel(value: JsonValue): string {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return valueLabel(value);
  return `{…${createHash("sha256").update(canonicalJson(value)).digest("hex").slice(0, 8)}}`;
}

/** The runs a sweep would consider, in the order it runs them (before skipping finished ones). */
export function planSweep(study: Study<never>, options: { preset: string; seeds?: readonly number[]; only?: OnlyFilter }): PlannedRun[] {
  assertKnownKeys("options", options, ["preset", "seeds", "only"]);
  const grid = presetGrid(study, options.preset);
  const axes = Object.keys(grid.axes);
  return expandGrid(grid, { seeds: options.seeds, only: options.only }).map((point) => {
    const label = [...axes.map((a) => `${a}=${axisLabel(point.config[a])}`), `seed=${point.seed}`].join(" ");
    return { config: deepFreeze(point.config), seed: point.seed, configHash: configHash(study.name, point.config, point.seed), label };
  });
}

/**
 * Runs a study's preset grid, resumably: expands the grid (seeds outermost, fixed order), skips
 * every config whose hash already has an "ok" line in the store, runs the rest and appends each
 * finished run to the store at once. A sweep killed mid-run loses only the run in progress; a run
 * that throws gets a "failed" line and is retried by the next call. Returns the summary and every
 * record of the grid.
 *
 * When to use which: `runSweep` in a notebook or script; `jobs: N` for N worker processes on one
 * machine (the study must be registered in the library or given as `studyModule`); `shard` for
 * one machine's part of a grid split over a Slurm array / Kubernetes Indexed Job (merge the shard
 * stores with `mergeRunStores`); `runSweepOnQueue` for a Redis queue.
 * Defaults: the store is `<project>/reports/runs/<study>.jsonl`; one job (tfjs computes on one
 * thread per process); the preset's seeds.
 *
 * @example
 * ```ts
 * const grid = { axes: { width: [1, 2] }, fixed: {}, seeds: [0, 1] };
 * const study = lab.experiments.registerStudy(lab.experiments.defineStudy(
 *   { name: "doc-example", presets: { quick: grid, default: grid, paper: grid } },
 *   (config: { width: number }, seed: number) => ({ metrics: { score: config.width + seed / 10 } }),
 * ));
 * const result = await lab.experiments.runSweep(study, { preset: "quick", store: "/tmp/doc-example.jsonl" });
 * result.summary;                                    // done 4, skipped 0, failed 0 (a second call skips all 4)
 * ```
 */
export async function runSweep(study: Study<never>, options: SweepOptions): Promise<SweepResult> {
  assertKnownKeys("options", options, ["preset", "store", "seeds", "only", "jobs", "studyModule", "shard", "stopOnFailure", "onProgress"]);
  const jobs = options.jobs === undefined ? 1 : checkJobs("options.jobs", options.jobs);
  if (options.studyModule !== undefined && typeof options.studyModule !== "string") throw new InvalidArgumentError("options.studyModule", "a module file path", options.studyModule);
  if (options.onProgress !== undefined && typeof options.onProgress !== "function") throw new InvalidArgumentError("options.onProgress", "a function (event) => void", options.onProgress);
  const preset = options.preset as PresetName;
  const fullPlan = planSweep(study, { preset: options.preset, seeds: options.seeds, only: options.only });
  const plan = options.shard === undefined ? fullPlan : selectShard(fullPlan, options.shard);
  // The store's lock is taken before anything is planned: a second writer is refused up front.
  const ownStore = !(options.store instanceof RunStore);
  const store = ownStore ? RunStore.openForWriting((options.store as string | undefined) ?? defaultStorePath(study.name)) : (options.store as RunStore);
  const releaseAtEnd = ownStore || !store.locked; // a caller's store that already held the lock keeps it
  try {
    if (!ownStore) store.acquireLock(); // re-reads the file under the lock
    return await sweepLocked(study, options, preset, plan, jobs, store);
  } finally {
    if (releaseAtEnd) store.close();
  }
}

/** runSweep's body, with the store's lock held. */
async function sweepLocked(study: Study<never>, options: SweepOptions, preset: PresetName, plan: PlannedRun[], jobs: number, store: RunStore): Promise<SweepResult> {
  const emit = options.onProgress ?? createProgressReporter();
  const pending = plan.filter((run) => !store.hasOk(run.configHash));
  const summary: SweepSummary = {
    study: study.name, preset, store: store.file, planned: plan.length, skipped: plan.length - pending.length,
    done: 0, failed: 0, notRun: pending.length, wallSeconds: 0,
  };
  const workers = Math.min(jobs, Math.max(1, pending.length));
  const started = performance.now();
  emit({ type: "sweep-start", study: study.name, preset, store: store.file, planned: plan.length, skipped: summary.skipped, toRun: pending.length, jobs: workers });
  let stopError: RunFailedError | null = null;
  // Appends a finished run before anything else can fail: a finished run is never lost.
  const finish = (run: PlannedRun, record: RunRecord, index: number) => {
    store.append(record);
    summary.notRun--;
    if (record.status === "ok") summary.done++; else summary.failed++;
    emit({ type: "run-end", run, record, index, toRun: pending.length });
    if (record.status === "failed" && options.stopOnFailure === true && stopError === null) stopError = new RunFailedError(record, run.label);
  };
  try {
    if (workers <= 1) {
      for (let index = 0; index < pending.length && stopError === null; index++) {
        const run = pending[index];
        emit({ type: "run-start", run, index, toRun: pending.length });
        const record = await executeRun(study as Study<JsonObject>, preset, run, store.attempts(run.configHash) + 1, index, pending.length,
          (fraction, note) => emit({ type: "run-progress", run, index, toRun: pending.length, fraction, note }));
        finish(run, record, index);
      }
    } else {
      await runOnPool(study, options, preset, pending, workers, store, emit, finish, () => stopError !== null);
    }
  } finally {
    summary.wallSeconds = (performance.now() - started) / 1000;
    emit({ type: "sweep-end", summary });
  }
  if (stopError !== null) throw stopError;
  return sweepResult(plan, store, summary);
}

/** A sweep's result: one record per planned config that has one (its ok run, else its latest failure), plan order. */
export function sweepResult<S extends SweepSummary>(plan: readonly PlannedRun[], store: RunStore, summary: S): SweepResult & { summary: S } {
  const hashes = new Set(plan.map((r) => r.configHash));
  const byHash = new Map(store.latestByConfig((r) => hashes.has(r.configHash)).map((r) => [r.configHash, r]));
  const records = plan.flatMap((r) => (byHash.has(r.configHash) ? [byHash.get(r.configHash)!] : []));
  return { summary, store, records, toRecords: () => toFlatRows(records) };
}

/** The parallel branch of runSweep: dispatches pending runs to a worker pool until done or stopped. */
async function runOnPool(
  study: Study<never>, options: SweepOptions, preset: PresetName, pending: readonly PlannedRun[], workers: number, store: RunStore,
  emit: (event: SweepEvent) => void, finish: (run: PlannedRun, record: RunRecord, index: number) => void, stopped: () => boolean,
): Promise<void> {
  const pool = await WorkerPool.start({ jobs: workers, study: study.name, studyModule: options.studyModule }, preset);
  try {
    const queue: PoolTask[] = pending.map((run, index) => ({
      run, index, toRun: pending.length, attempt: store.attempts(run.configHash) + 1,
      affinity: study.affinity === undefined ? null : study.affinity(run.config as JsonObject, run.seed),
      onProgress: (fraction, note) => emit({ type: "run-progress", run, index, toRun: pending.length, fraction, note }),
    }));
    const inFlight = new Set<Promise<void>>();
    for (;;) {
      while (!stopped() && queue.length > 0) {
        const choice = pool.pick(queue);
        if (choice === null) break;
        const [task] = queue.splice(choice.task, 1);
        emit({ type: "run-start", run: task.run, index: task.index, toRun: task.toRun });
        const job: Promise<void> = pool.run(choice.worker, task).then((record) => finish(task.run, record, task.index)).finally(() => inFlight.delete(job));
        inFlight.add(job);
      }
      if (inFlight.size === 0) break;
      await Promise.race(inFlight);
    }
  } finally {
    pool.close();
  }
}
