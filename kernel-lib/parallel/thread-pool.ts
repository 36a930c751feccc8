/**
 * Both cores for one big job: a pool of worker threads, each with its own tfjs backend, that run
 * slices of a probe, a feature extraction or a similarity graph (parallel/jobs.ts) and send plain
 * arrays back.
 *
 * Why threads: tfjs-backend-wasm runs one thread per backend, and its threaded build does not
 * initialise in Node (emscripten creates its pthread workers from blob: URLs, which Node's Worker
 * refuses with ERR_WORKER_PATH — tried with WASM_HAS_MULTITHREAD_SUPPORT forced on). A worker
 * thread is a separate V8 isolate, so each gets its own wasm instance; that is the second core.
 * (The sweep pool, experiments/pool.ts, uses processes instead: it runs whole studies, where
 * isolation from crashes matters more than start-up cost.)
 *
 * Workers start lazily on the first job and stay up until `close()`; a job's inputs are copied
 * (structured clone), results come back the same way. Every job kind is a pure function of its
 * inputs, and the callers split work by example, so results are the same numbers as one thread —
 * the tests check them bit for bit.
 */
import { Worker } from "node:worker_threads";
import { tf } from "../tf";
import { InvalidArgumentError } from "../errors";
import { checkOptions, option } from "../options";
import { availableCores, checkPositiveCount, siblingModule } from "../host";
import type { ComputeJob, ComputeResult } from "./jobs";

interface Pending { resolve(value: unknown): void; reject(error: Error): void }
interface Slot { worker: Worker; busy: boolean; pending: Map<number, Pending> }

export { availableCores };

/** Checks a `threads` option: a positive integer. */
export function checkThreads(argument: string, threads: unknown): number {
  return checkPositiveCount(argument, threads, "threads");
}

const workerEntry = () => siblingModule(__filename, "compute-worker");

/**
 * A pool of worker threads, each with its own tfjs backend (the second core: wasm is
 * single-threaded per isolate). Workers start on the first job and stay up until `close()`; pass it
 * as `pool` to the parallel functions to reuse them.
 */
export class ComputePool {
  /** Number of worker threads. */
  readonly threads: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Array<{ job: ComputeJob; pending: Pending }> = [];
  private nextId = 0;
  private closed = false;

  /** `threads` workers (default: one per core); `backend` the tfjs backend they use (default: the caller's active one). */
  constructor(options: { threads?: number; backend?: string } = {}) {
    checkOptions("options", options, { threads: option.any, backend: option.string }); // threads: checkThreads below
    this.threads = checkThreads("options.threads", options.threads ?? availableCores());
    this.backend = options.backend ?? tf.getBackend() ?? "wasm";
  }

  private readonly backend: string;

  /** Runs one job on a free worker (queued when all are busy). */
  run<J extends ComputeJob>(job: J): Promise<ComputeResult<J>> {
    if (this.closed) return Promise.reject(new InvalidArgumentError("pool", "an open ComputePool (this one is closed)"));
    return new Promise((resolve, reject) => {
      this.queue.push({ job, pending: { resolve: resolve as (v: unknown) => void, reject } });
      this.dispatch();
    });
  }

  /** Stops every worker; pending jobs are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const { pending } of this.queue.splice(0)) pending.reject(new Error("ComputePool closed before the job ran"));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => !s.busy);
      if (slot === undefined && this.slots.length < this.threads) slot = this.spawn();
      if (slot === undefined) return;
      const { job, pending } = this.queue.shift() as { job: ComputeJob; pending: Pending };
      const id = this.nextId++;
      slot.busy = true;
      slot.pending.set(id, pending);
      slot.worker.postMessage({ id, job });
    }
  }

  private spawn(): Slot {
    const { file, execArgv } = workerEntry();
    const worker = new Worker(file, { execArgv, workerData: { backend: this.backend }, env: { ...process.env } });
    const slot: Slot = { worker, busy: false, pending: new Map() };
    worker.on("message", (message: { id: number; result?: unknown; error?: { name: string; message: string; stack?: string } }) => {
      const pending = slot.pending.get(message.id);
      if (pending === undefined) return;
      slot.pending.delete(message.id);
      slot.busy = false;
      if (message.error !== undefined) {
        const error = new Error(message.error.message);
        error.name = message.error.name;
        error.stack = message.error.stack;
        pending.reject(error);
      } else {
        pending.resolve(message.result);
      }
      this.dispatch();
    });
    const fail = (error: Error) => {
      for (const pending of slot.pending.values()) pending.reject(error);
      slot.pending.clear();
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots.splice(index, 1);
      if (!this.closed) this.dispatch();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => { if (!this.closed) fail(new Error(`compute worker exited with code ${code}`)); });
    this.slots.push(slot);
    return slot;
  }
}

/** Runs `fn` with a pool of `threads` workers and closes it afterwards, also on error. */
export async function withComputePool<T>(threads: number, fn: (pool: ComputePool) => Promise<T>): Promise<T> {
  const pool = new ComputePool({ threads });
  try {
    return await fn(pool);
  } finally {
    await pool.close();
  }
}

/** Splits [0, n) into at most `parts` contiguous ranges of near-equal size, none empty. */
export function splitRange(n: number, parts: number): Array<[number, number]> {
  const count = Math.max(1, Math.min(parts, n));
  const out: Array<[number, number]> = [];
  for (let p = 0; p < count; p++) out.push([Math.floor((p * n) / count), Math.floor(((p + 1) * n) / count)]);
  return out.filter(([a, b]) => b > a);
}
