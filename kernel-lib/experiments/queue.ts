/**
 * Sweeps across machines: a coordinator puts a sweep's pending runs on a BullMQ queue in Redis,
 * workers on any machine take them one at a time as they free up (dynamic balancing: a fast
 * machine simply takes more), and the coordinator appends each returned RunRecord to the store.
 *
 *   npm run sweep -- --study prism --preset default --queue redis://host:6379   # coordinator
 *   npm run worker -- --queue redis://host:6379                                 # each machine
 *
 * Why it is safe to kill anything:
 *   - The coordinator is the ONLY writer of the store (it holds a lock in Redis, see queue-redis.ts).
 *     A job's id is its configHash, so enqueueing again never duplicates a job; a finished job keeps
 *     its result in Redis (removeOnComplete: false) until the coordinator has appended it, and the
 *     coordinator never appends a second ok line for a config. A coordinator killed and restarted
 *     stores what finished meanwhile, then waits for the rest.
 *   - Workers run each job in a sandboxed child process (queue-processor.ts), so tfjs compute never
 *     blocks the lock renewal. A worker killed mid-run stops renewing its job's lock; after
 *     `lockDuration` another worker's stalled-job check puts the job back in the queue and it is run
 *     again elsewhere (up to `maxStalledCount` times, then it is recorded as failed).
 *   - A run that throws is a normal "failed" record (executeRun never throws), not a BullMQ
 *     failure. BullMQ failures are the worker's own problems (study not loadable, child crashed):
 *     retried `attempts` times with exponential backoff, then stored as a "failed" record
 *     ("queue: …") so the sweep ends; a later sweep retries failed configs, as locally.
 * The worker half (startQueueWorker) is in queue-worker.ts and re-exported here.
 */
import * as os from "node:os";
import * as path from "node:path";
import { Job, Queue, QueueEvents } from "bullmq";
import { InvalidArgumentError, assertKnownKeys } from "../errors";
import type { PresetName } from "../notebook";
import type { JsonObject } from "./canonical";
import type { OnlyFilter } from "./grid";
import { defaultStorePath, projectRoot } from "./provenance";
import { QUEUE_PREFIX, QueueJobData, acquireCoordinatorLock, announceSweep, bullConnection, connectRedis, parseRedisUrl, queueNameFor, redactUrl, withdrawSweep } from "./queue-redis";
import { STUDIES } from "./registry";
import { RunRecord, RunStore, runRecordProblem } from "./run-store";
import { PlannedRun, RunFailedError, Study, SweepEvent, SweepResult, SweepSummary, planSweep, sweepResult } from "./sweep";
import { createProgressReporter } from "./progress";
import { failedRunRecord } from "./execute";

export { startQueueWorker, QueueWorkerOptions, QueueWorkerHandle } from "./queue-worker";
export { QueueConnectionError, parseRedisUrl, queueNameFor } from "./queue-redis";

export interface QueueSweepOptions {
  /** Redis URL, e.g. redis://host:6379. */
  queue: string;
  preset: string;
  /** Store file or an open store; default `<project>/reports/runs/<study>.jsonl`. */
  store?: string | RunStore;
  seeds?: readonly number[];
  only?: OnlyFilter;
  /**
   * Module file registering the study, for workers: one inside the project is sent to them (they load
   * it from their checkout); one elsewhere must be given to each worker as `--study-module`.
   */
  studyModule?: string;
  /** Stop at the first failed run (after storing it) and throw RunFailedError. Default false. */
  stopOnFailure?: boolean;
  onProgress?: (event: SweepEvent) => void;
  /** How often Redis is polled for finished jobs; default 500 ms. */
  pollMs?: number;
  /** BullMQ attempts for worker-side failures (not run failures); default 3. */
  attempts?: number;
  /** First retry delay of those (doubles each time); default 5000 ms. */
  retryDelayMs?: number;
  /** Notices (no worker connected …); default a line on stderr. */
  log?: (line: string) => void;
}

export interface QueueSweepSummary extends SweepSummary {
  /** The BullMQ queue of this sweep. */
  queue: string;
  /** Results that were already waiting in Redis when this coordinator started. */
  pickedUp: number;
}

export interface QueueSweepResult extends SweepResult { summary: QueueSweepSummary }

const OPTION_KEYS = ["queue", "preset", "store", "seeds", "only", "studyModule", "stopOnFailure", "onProgress", "pollMs", "attempts", "retryDelayMs", "log"];

function positiveInteger(argument: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || (value as number) < 1) throw new InvalidArgumentError(argument, "a positive integer", value);
  return value as number;
}

/** The record a finished job stands for: its returned RunRecord, or a "failed" one for a BullMQ failure. */
function recordOf(job: Job<QueueJobData, RunRecord>, study: string, failed: boolean): RunRecord {
  const d = job.data;
  let reason = `the job failed on the worker after ${job.attemptsMade} attempt(s): ${job.failedReason ?? "no reason given"}`;
  if (!failed) {
    const r = job.returnvalue;
    const problem = runRecordProblem(r) ?? (r.configHash !== job.id || r.study !== study ? "it is not this job's config" : null);
    if (problem === null) return r;
    reason = `the worker returned an invalid run record (${problem})`;
  }
  const finished = job.finishedOn ?? Date.now();
  const started = job.processedOn ?? finished;
  return failedRunRecord(study, { configHash: d.configHash, config: d.config as JsonObject, seed: d.seed }, d.attempt,
    { startedMs: started, finishedMs: finished }, `queue: ${reason}`, "unknown");
}

/**
 * Runs the preset's grid through workers on a Redis queue (see the module header): enqueues the
 * configs without an ok line in the store, stores every result as it comes back, returns when each
 * has a record. Same result shape as runSweep; `summary.failed > 0` means some run failed.
 */
export async function runSweepOnQueue(study: Study<never>, options: QueueSweepOptions): Promise<QueueSweepResult> {
  assertKnownKeys("options", options, OPTION_KEYS);
  parseRedisUrl(options.queue, "options.queue");
  if (options.onProgress !== undefined && typeof options.onProgress !== "function") throw new InvalidArgumentError("options.onProgress", "a function (event) => void", options.onProgress);
  const pollMs = positiveInteger("options.pollMs", options.pollMs, 500);
  const attempts = positiveInteger("options.attempts", options.attempts, 3);
  const retryDelayMs = positiveInteger("options.retryDelayMs", options.retryDelayMs, 5000);
  if (options.studyModule !== undefined && typeof options.studyModule !== "string") throw new InvalidArgumentError("options.studyModule", "a module file path", options.studyModule);
  if (options.studyModule === undefined && !STUDIES.includes(study.name)) {
    throw new InvalidArgumentError("options.studyModule", `the module file of study "${study.name}" (workers find only the library's studies by name: ${STUDIES.join(", ")})`);
  }
  const log = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  // Workers resolve the module in their own checkout: send it relative to the project root. They
  // load only modules inside it; one elsewhere must be given to each worker (--study-module).
  let studyModule = options.studyModule === undefined ? null : path.relative(projectRoot(), path.resolve(options.studyModule));
  if (studyModule !== null && (studyModule.startsWith("..") || path.isAbsolute(studyModule))) {
    log(`sweep: ${path.resolve(options.studyModule!)} is outside the project: start every worker with --study-module pointing to it`);
    studyModule = null;
  }
  const preset = options.preset as PresetName;
  const plan = planSweep(study, { preset: options.preset, seeds: options.seeds, only: options.only });
  const emit = options.onProgress ?? createProgressReporter();
  // This process is the store's only writer: a store we open is locked now (a second local writer is
  // refused before anything runs), and the Redis lock below keeps a coordinator elsewhere off the queue.
  const ownStore = !(options.store instanceof RunStore);
  const store = options.store instanceof RunStore ? options.store : RunStore.openForWriting(options.store ?? defaultStorePath(study.name));
  const queueName = queueNameFor(study.name, store.file);
  let redis: Awaited<ReturnType<typeof connectRedis>>;
  try {
    redis = await connectRedis(options.queue);
  } catch (e) {
    if (ownStore) store.close();
    throw e;
  }
  let lock: Awaited<ReturnType<typeof acquireCoordinatorLock>> | null = null;
  let queue: Queue<QueueJobData, RunRecord> | null = null, events: QueueEvents | null = null;
  let finishedCleanly = false;
  const started = performance.now();
  const pending = plan.filter((run) => !store.hasOk(run.configHash));
  const byHash = new Map<string, PlannedRun>(pending.map((run) => [run.configHash, run]));
  const outstanding = new Set(byHash.keys());
  const summary: QueueSweepSummary = {
    study: study.name, preset, store: store.file, planned: plan.length, skipped: plan.length - pending.length,
    done: 0, failed: 0, notRun: pending.length, wallSeconds: 0, queue: queueName, pickedUp: 0,
  };
  let ended = 0, startedRuns = 0, stopError: RunFailedError | null = null;
  const startIndex = new Map<string, number>();
  try {
    lock = await acquireCoordinatorLock(redis, queueName);
    const connection = bullConnection(options.queue);
    queue = new Queue<QueueJobData, RunRecord>(queueName, { connection, prefix: QUEUE_PREFIX });
    emit({ type: "sweep-start", study: study.name, preset, store: store.file, planned: plan.length, skipped: summary.skipped, toRun: pending.length });
    if (pending.length > 0) {
      events = new QueueEvents(queueName, { connection, prefix: QUEUE_PREFIX });
      events.on("active", ({ jobId }) => {
        const run = byHash.get(jobId);
        if (run === undefined || !outstanding.has(jobId)) return;
        if (!startIndex.has(jobId)) startIndex.set(jobId, startedRuns++);
        emit({ type: "run-start", run, index: startIndex.get(jobId)!, toRun: pending.length });
      });
      events.on("progress", ({ jobId, data }) => {
        const run = byHash.get(jobId), p = data as { fraction?: unknown; note?: unknown };
        if (run === undefined || !outstanding.has(jobId) || typeof p?.fraction !== "number") return;
        emit({ type: "run-progress", run, index: startIndex.get(jobId) ?? 0, toRun: pending.length, fraction: p.fraction, note: typeof p.note === "string" ? p.note : undefined });
      });
      events.on("error", () => { /* reconnects by itself */ });
    }
    const store1 = store; // narrowed for the closure
    const collect = async (): Promise<number> => {
      let handled = 0;
      for (const state of ["completed", "failed"] as const) {
        const jobs = (await queue!.getJobs([state], 0, 199, true)) as Job<QueueJobData, RunRecord>[];
        for (const job of jobs) {
          if (job === undefined || job.id === undefined) continue;
          const record = recordOf(job, study.name, state === "failed");
          if (!(record.status === "ok" && store1.hasOk(record.configHash))) store1.append(record); // never a second ok line
          await job.remove();
          handled++;
          const run = byHash.get(job.id);
          if (run === undefined || !outstanding.delete(job.id)) continue;
          summary.notRun--;
          if (record.status === "ok") summary.done++; else summary.failed++;
          emit({ type: "run-end", run, record, index: ended++, toRun: pending.length });
          if (record.status === "failed" && options.stopOnFailure === true && stopError === null) stopError = new RunFailedError(record, run.label);
        }
      }
      return handled;
    };
    if (pending.length > 0) {
      await announceSweep(redis, queueName, { study: study.name, preset, store: store.file, host: os.hostname(), pid: process.pid, startedAt: new Date().toISOString() });
      while ((await collect()) > 0) summary.pickedUp = ended; // results that finished while no coordinator was running
      if (summary.pickedUp > 0) log(`sweep: stored ${summary.pickedUp} result(s) that finished while no coordinator was running`);
      if (stopError === null) {
        await queue.drain(true); // waiting jobs of an earlier session are re-added below, with fresh attempt numbers
        const jobOptions = { attempts, backoff: { type: "exponential", delay: retryDelayMs }, removeOnComplete: false, removeOnFail: false };
        await queue.addBulk(pending.filter((run) => outstanding.has(run.configHash)).map((run, index) => ({
          name: run.label,
          data: { study: study.name, studyModule, preset, config: run.config, seed: run.seed, configHash: run.configHash, label: run.label,
            attempt: store.attempts(run.configHash) + 1, index, toRun: pending.length },
          opts: { ...jobOptions, jobId: run.configHash }, // an id already in the queue (running on a worker) is left as it is
        })));
        const since = Date.now();
        let hinted = false;
        while (outstanding.size > 0 && stopError === null) {
          if (lock.lost) throw new InvalidArgumentError("queue", `to be the only coordinator of ${queueName}; its lock was taken over (was this process suspended?)`);
          if ((await collect()) === 0) await new Promise((resolve) => setTimeout(resolve, pollMs));
          if (!hinted && ended === 0 && startedRuns === 0 && Date.now() - since > 5000) {
            hinted = true;
            if ((await queue.getWorkersCount()) === 0) log(`sweep: no worker is serving ${queueName} yet; on each machine run: npm run worker -- --queue ${redactUrl(options.queue)}`);
          }
        }
      }
    }
    finishedCleanly = true;
  } finally {
    summary.wallSeconds = (performance.now() - started) / 1000;
    if (queue !== null && (finishedCleanly || stopError !== null)) {
      await withdrawSweep(redis, queueName).catch(() => undefined);
      if (stopError !== null) await queue.drain(true).catch(() => undefined);
      else await queue.obliterate().catch(() => undefined); // fails (harmlessly) if a job of another plan still runs
    }
    await events?.close().catch(() => undefined);
    await queue?.close().catch(() => undefined);
    await lock?.release();
    await redis.quit().catch(() => undefined);
    if (ownStore) store.close();
    emit({ type: "sweep-end", summary });
  }
  if (stopError !== null) throw stopError;
  return sweepResult(plan, store, summary);
}
