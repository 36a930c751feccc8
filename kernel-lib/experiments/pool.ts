/**
 * The local worker pool: N child processes, each with its own tfjs backend, run a sweep's
 * configs in parallel on one machine (`runSweep(study, { jobs: N })`, `npm run sweep -- --jobs N`).
 *
 * Why processes, not threads: wasm runs one thread per process here and the studies are
 * synchronous tfjs compute, so one process per core is what uses the cores; a crash or an
 * out-of-memory in one run cannot take the sweep down.
 *
 * The parent stays the only writer of the run store: children send finished records back over
 * IPC and the caller appends them. Scheduling is a shared queue — a free worker takes the next
 * pending run — with affinity: it first looks for a run with the same `study.affinity` key as its
 * previous one (e.g. the same env and seed), so in-process caches of a shared stage (a pre-trained
 * base policy) are reused instead of rebuilt in every worker. A child that dies mid-run turns
 * that run into a "failed" record naming the exit code/signal and the tail of its output, and is
 * replaced for the remaining runs.
 */
import { fork, ChildProcess } from "node:child_process";
import { InvalidArgumentError } from "../errors";
import { checkOptions, option } from "../options";
import { availableCores, checkPositiveCount, siblingModule } from "../host";
import type { PresetName } from "../notebook";
import type { RunRecord } from "./run-store";
import type { PlannedRun } from "./sweep";
import { activeBackendName } from "./provenance";
import { failedRunRecord } from "./execute";

/** What a pool needs to start its workers. */
export interface PoolOptions {
  jobs: number;
  /** Registered study name the workers load (getStudy), or the name inside `studyModule`. */
  study: string;
  /** A module file that registers the study (for studies outside the library). */
  studyModule?: string;
  /** The backend the workers initialise (default: the parent's active one, else the project default). */
  backend?: string | null;
}

/** A run handed to a worker, with what the sweep needs back. */
export interface PoolTask {
  run: PlannedRun;
  attempt: number;
  index: number;
  toRun: number;
  affinity: string | null;
  onProgress(fraction: number, note?: string): void;
}

interface Worker { child: ChildProcess; busy: boolean; lastAffinity: string | null; output: string[]; ready: Promise<void> }

const OUTPUT_TAIL = 40;

/** The number of cores of this machine (the default for `jobs`). */
export function defaultJobs(): number {
  return availableCores();
}

/** Checks a `jobs` option: a positive integer. */
export function checkJobs(argument: string, jobs: unknown): number {
  return checkPositiveCount(argument, jobs, "worker processes");
}

const childEntry = () => siblingModule(__filename, "pool-child");

/**
 * The local worker pool behind `runSweep(study, { jobs: N })`: N child processes with their own
 * backend; the parent stays the only store writer. Start with `WorkerPool.start`.
 */
export class WorkerPool {
  private readonly workers: Worker[] = [];
  private closed = false;
  /** Tags each run sent to a worker, so its progress and result messages are matched to it. */
  private nextRunId = 0;

  private constructor(private readonly options: PoolOptions, private readonly preset: PresetName) {}

  /** Starts `jobs` workers and waits until each has loaded the study and its backend. */
  static async start(options: PoolOptions, preset: PresetName): Promise<WorkerPool> {
    checkOptions("options", options, { jobs: option.any, study: option.string, studyModule: option.string, backend: option.any }); // before any worker starts
    checkJobs("options.jobs", options.jobs);
    const pool = new WorkerPool(options, preset);
    try {
      await Promise.all(Array.from({ length: options.jobs }, () => pool.spawn().ready));
    } catch (e) {
      pool.close();
      throw e;
    }
    return pool;
  }

  private spawn(): Worker {
    const { file, execArgv } = childEntry();
    const child = fork(file, [], { execArgv, stdio: ["ignore", "pipe", "pipe", "ipc"], env: { ...process.env, FORCE_COLOR: "0" } });
    const worker: Worker = { child, busy: false, lastAffinity: null, output: [], ready: Promise.resolve() };
    const keep = (chunk: Buffer) => {
      worker.output.push(...chunk.toString("utf8").split("\n").filter((l) => l.trim() !== ""));
      if (worker.output.length > OUTPUT_TAIL) worker.output.splice(0, worker.output.length - OUTPUT_TAIL);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    worker.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: { type: string; error?: string }) => {
        if (m.type === "ready") { child.off("exit", onExit); child.off("message", onMessage); resolve(); }
        else if (m.type === "init-failed") {
          child.off("exit", onExit); child.off("message", onMessage);
          reject(new InvalidArgumentError("study", `a study a worker process can load (${this.options.studyModule !== undefined ? `from ${this.options.studyModule}` : "registered in the library"}); the worker said: ${m.error}. A study defined only in a notebook runs with jobs: 1, or pass studyModule`));
        }
      };
      const onExit = (code: number | null, signal: string | null) => reject(new Error(`a sweep worker exited while starting (code ${code}, signal ${signal}): ${worker.output.slice(-5).join(" | ")}`));
      child.on("message", onMessage);
      child.once("exit", onExit);
    });
    const backend = this.options.backend === undefined ? activeBackendName() : this.options.backend;
    child.send({ type: "init", study: this.options.study, studyModule: this.options.studyModule, backend: backend ?? undefined });
    this.workers.push(worker);
    return worker;
  }

  /** Free workers right now. */
  get idle(): number { return this.workers.filter((w) => !w.busy).length; }

  /**
   * Picks the task for the next free worker from `pending` (the same affinity as that worker's
   * previous run if any, else the first) — or null when no worker is free.
   */
  pick(pending: readonly PoolTask[]): { worker: number; task: number } | null {
    const free = this.workers.findIndex((w) => !w.busy);
    if (free < 0 || pending.length === 0) return null;
    const last = this.workers[free].lastAffinity;
    const same = last === null ? -1 : pending.findIndex((t) => t.affinity === last);
    return { worker: free, task: same >= 0 ? same : 0 };
  }

  /** Runs one task on worker `index`; resolves with its record (a "failed" one if the worker died). */
  async run(index: number, task: PoolTask): Promise<RunRecord> {
    if (this.closed) throw new InvalidArgumentError("pool", "an open pool");
    let worker = this.workers[index];
    if (worker.busy) throw new InvalidArgumentError("index", "a free worker (see pick)", index);
    // Marked busy before any await, so the scheduler never hands this worker a second run meanwhile.
    worker.busy = true;
    if (worker.child.exitCode !== null || worker.child.signalCode !== null) {
      this.workers.splice(this.workers.indexOf(worker), 1);
      worker = this.spawn();
      worker.busy = true;
      await worker.ready;
    }
    worker.lastAffinity = task.affinity;
    const id = this.nextRunId++;
    const startedAt = new Date();
    try {
      return await new Promise<RunRecord>((resolve) => {
        const onMessage = (m: { type: string; id: number; fraction?: number; note?: string; record?: RunRecord }) => {
          if (m.id !== id) return;
          if (m.type === "progress") task.onProgress(m.fraction ?? 0, m.note);
          else if (m.type === "result") { cleanup(); resolve(m.record!); }
        };
        const onExit = (code: number | null, signal: string | null) => {
          cleanup();
          resolve(failedRunRecord(this.options.study, task.run, task.attempt, { startedMs: startedAt.getTime(), finishedMs: Date.now() },
            `a sweep worker process exited mid-run (code ${code}, signal ${signal}); its last output: ${worker.output.slice(-8).join(" | ") || "(none)"}`, "here"));
        };
        const cleanup = () => { worker.child.off("message", onMessage); worker.child.off("exit", onExit); };
        worker.child.on("message", onMessage);
        worker.child.once("exit", onExit);
        worker.child.send({ type: "run", id, preset: this.preset, run: task.run, attempt: task.attempt, index: task.index, toRun: task.toRun });
      });
    } finally {
      worker.busy = false;
    }
  }

  /** Stops every worker (they exit when disconnected; a stuck one is killed). */
  close(): void {
    this.closed = true;
    for (const w of this.workers) {
      if (w.child.connected) w.child.disconnect();
      const timer = setTimeout(() => { if (w.child.exitCode === null) w.child.kill("SIGKILL"); }, 5000);
      timer.unref();
    }
  }
}
