/**
 * The worker half of queue sweeps (see queue.ts): `npm run worker -- --queue redis://host:6379` on
 * any machine. It watches the open sweeps announced in Redis and serves each with a BullMQ Worker
 * whose processor is a FILE (queue-processor.ts), so BullMQ runs every job in a child process:
 * synchronous tfjs compute there cannot stall the lock renewal done here, and a crash of a run
 * takes down only that child. The worker writes no store; it returns RunRecords to Redis.
 *
 * Lock and stall settings (why): a worker that dies (SIGKILL, power) stops renewing its job's lock;
 * after `lockDurationMs` the lock expires and the next stalled-job check of ANY live worker (every
 * `stalledIntervalMs`) puts the job back in the queue, so it runs elsewhere — a kill costs about
 * lockDuration + 2 × stalledInterval of that one run. BullMQ's defaults (30 s, 30 s) suit real
 * runs of minutes; tests pass smaller ones. `maxStalledCount` (default 2) is how often one job may
 * be recovered like that before it is failed — a run that kills every worker it lands on stops
 * there and is stored as failed instead of going round forever.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Job, Worker } from "bullmq";
import { FileFormatError, InvalidArgumentError, assertKnownKeys } from "../errors";
import { QUEUE_PREFIX, QueueJobData, STUDY_MODULE_ENV, bullConnection, connectRedis, openSweeps, parseRedisUrl, redactUrl } from "./queue-redis";
import type { RunRecord } from "./run-store";

export interface QueueWorkerOptions {
  /** Redis URL, e.g. redis://host:6379. */
  queue: string;
  /** Load studies from this module file instead of what the jobs name. */
  studyModule?: string;
  /** Runs at a time on this machine, each in its own child process; default 1. */
  concurrency?: number;
  /** Job lock duration; default 30000 ms (BullMQ's). */
  lockDurationMs?: number;
  /** Stalled-job check period; default 30000 ms (BullMQ's). */
  stalledIntervalMs?: number;
  /** Stall recoveries of one job before it fails; default 2. */
  maxStalledCount?: number;
  /** How often the open sweeps are looked up; default 2000 ms. */
  discoverMs?: number;
  /** One line per event (sweep joined/left, run started/finished); default stdout. */
  log?: (line: string) => void;
}

export interface QueueWorkerHandle {
  /** Queue names served now. */
  serving(): string[];
  /** Stops taking jobs, lets running ones finish, closes the connections. */
  close(): Promise<void>;
}

/** The processor file BullMQ forks: the compiled .js, or the tsx shim when running from .ts sources. */
export function processorFile(): string {
  return path.extname(__filename) === ".ts" ? path.join(__dirname, "queue-processor-tsx.cjs") : path.join(__dirname, "queue-processor.js");
}

function checkNumber(argument: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || (value as number) < min) throw new InvalidArgumentError(argument, `an integer ≥ ${min}`, value);
  return value as number;
}

/** Starts serving every open sweep on the Redis at `options.queue` until `close()`. */
export async function startQueueWorker(options: QueueWorkerOptions): Promise<QueueWorkerHandle> {
  assertKnownKeys("options", options, ["queue", "studyModule", "concurrency", "lockDurationMs", "stalledIntervalMs", "maxStalledCount", "discoverMs", "log"]);
  parseRedisUrl(options.queue, "options.queue");
  const concurrency = checkNumber("options.concurrency", options.concurrency, 1, 1);
  const lockDuration = checkNumber("options.lockDurationMs", options.lockDurationMs, 30000, 500);
  const stalledInterval = checkNumber("options.stalledIntervalMs", options.stalledIntervalMs, 30000, 100);
  const maxStalledCount = checkNumber("options.maxStalledCount", options.maxStalledCount, 2, 1);
  const discoverMs = checkNumber("options.discoverMs", options.discoverMs, 2000, 50);
  const log = options.log ?? ((line: string) => process.stdout.write(line + "\n"));
  let env: NodeJS.ProcessEnv | undefined;
  if (options.studyModule !== undefined) {
    const file = path.resolve(options.studyModule);
    if (!fs.existsSync(file)) throw new FileFormatError(file, "does not exist (options.studyModule)");
    env = { ...process.env, [STUDY_MODULE_ENV]: file };
  }
  const redis = await connectRedis(options.queue);
  const me = `worker ${os.hostname()}:${process.pid}`;
  const workers = new Map<string, Worker<QueueJobData, RunRecord>>();
  const closing = new Set<Promise<void>>();
  let stopped = false;

  const leave = (name: string) => {
    const worker = workers.get(name);
    if (worker === undefined) return;
    workers.delete(name);
    const p = worker.close().then(() => log(`${me}: left ${name}`), (e: Error) => log(`${me}: closing ${name}: ${e.message}`));
    closing.add(p);
    void p.finally(() => closing.delete(p));
  };
  const join = (name: string, what: string) => {
    const worker = new Worker<QueueJobData, RunRecord>(name, processorFile(), {
      connection: bullConnection(options.queue), prefix: QUEUE_PREFIX, concurrency, lockDuration, stalledInterval, maxStalledCount,
      useWorkerThreads: false, ...(env === undefined ? {} : { workerForkOptions: { env } }),
    });
    const label = (job: Job<QueueJobData, RunRecord> | undefined) => job?.data?.label ?? job?.id ?? "?";
    worker.on("active", (job) => log(`${me}: started ${label(job)}${job.attemptsStarted > 1 ? ` (again: start ${job.attemptsStarted})` : ""}`));
    worker.on("completed", (job, record) => log(`${me}: finished ${label(job)}: ${record?.status === "ok" ? "ok" : `FAILED: ${record?.error}`} (${record?.wallSeconds?.toFixed?.(1)}s)`));
    worker.on("failed", (job, error) => log(`${me}: job ${label(job)} failed on this worker: ${error.message}`));
    worker.on("error", (error) => log(`${me}: ${name}: ${error.message}`));
    workers.set(name, worker);
    log(`${me}: serving ${name} (${what})`);
  };
  const discover = async () => {
    const open = await openSweeps(redis);
    for (const name of [...workers.keys()]) if (!open.has(name)) leave(name);
    for (const [name, a] of open) {
      if (!workers.has(name)) join(name, a === null ? "unreadable announcement" : `${a.study}/${a.preset} from ${a.host}, store ${a.store}`);
    }
  };
  await discover();
  log(`${me}: watching ${redactUrl(options.queue)} for sweeps (concurrency ${concurrency}, lock ${lockDuration} ms, stalled check ${stalledInterval} ms)`);
  const loop = (async () => {
    while (!stopped) {
      await new Promise((resolve) => setTimeout(resolve, discoverMs));
      if (stopped) break;
      await discover().catch((e: Error) => log(`${me}: looking up sweeps: ${e.message}`));
    }
  })();

  return {
    serving: () => [...workers.keys()],
    async close() {
      if (stopped) return;
      stopped = true;
      await loop;
      for (const name of [...workers.keys()]) leave(name);
      await Promise.all([...closing]);
      await redis.quit().catch(() => undefined);
    },
  };
}
