/**
 * A compute worker thread (thread-pool.ts): initialises its own tfjs backend (the pool's), then
 * runs each job it is sent and posts the result or the error back.
 */
import { parentPort, workerData } from "node:worker_threads";
import { initBackend } from "../backend";
import { runComputeJob, ComputeJob } from "./jobs";

const port = parentPort;
if (port === null) throw new Error("compute-worker.ts runs as a worker thread (parallel/thread-pool.ts starts it)");
// The pool passes tfjs's backend name; wasm and cpu are forced as is, a native one is found again by preference.
const backend = (workerData as { backend: string }).backend;
const ready = initBackend(backend === "wasm" || backend === "cpu" ? { force: backend } : {});

port.on("message", async (message: { id: number; job: ComputeJob }) => {
  try {
    await ready;
    port.postMessage({ id: message.id, result: runComputeJob(message.job) });
  } catch (e) {
    const error = e as Error;
    port.postMessage({ id: message.id, error: { name: error.name ?? "Error", message: error.message ?? String(e), stack: error.stack } });
  }
});
