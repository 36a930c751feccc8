// Runs a child process (the Jupyter python, Chromium) and collects its output, with a time
// limit and an AbortSignal so Ctrl-C on the runner stops the child before the staging folder is
// removed. Asynchronous on purpose: spawnSync would leave the SIGINT handler unable to run.
import { spawn } from "node:child_process";

/** Raised when the run is interrupted (SIGINT/SIGTERM): the caller cleans up and exits 130. */
export class InterruptedError extends Error {
  constructor() {
    super("interrupted");
    this.name = "InterruptedError";
  }
}

/**
 * Resolves `{ code, signal, stdout, stderr, timedOut }` when the child has exited (never rejects
 * for a non-zero exit); rejects with InterruptedError if `signal` aborts, after the child exited.
 */
export function runProcess(command, args, { cwd, env, signal, timeoutMs } = {}) {
  return new Promise((resolvePromise, reject) => {
    if (signal?.aborted) return reject(new InterruptedError());
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    const stop = () => child.kill("SIGTERM");
    const timer = timeoutMs ? setTimeout(() => ((timedOut = true), stop()), timeoutMs) : null;
    signal?.addEventListener("abort", stop, { once: true });
    child.on("error", (error) => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener("abort", stop);
      reject(new Error(`could not start ${command}: ${error.message}`));
    });
    child.on("close", (code, exitSignal) => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener("abort", stop);
      if (signal?.aborted) reject(new InterruptedError());
      else resolvePromise({ code, signal: exitSignal, stdout, stderr, timedOut });
    });
  });
}

/** The last `n` lines of a process's output, for error messages. */
export function tail(text, n = 8) {
  return text.trim().split("\n").slice(-n).join("\n");
}
