/**
 * Facts about this process and machine that the process pool (experiments/pool.ts) and the thread
 * pool (parallel/thread-pool.ts) both need: the core count, and how to start a sibling module as a
 * child — its .ts source under tsx (tests, CLI scripts), its .js build from dist/ (notebooks).
 */
import * as os from "node:os";
import * as path from "node:path";
import { InvalidArgumentError } from "./errors";

/** The number of cores of this machine. */
export function availableCores(): number {
  return Math.max(1, typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length);
}

/** Checks a count option (jobs, threads): a positive integer; `what` names the unit in the error. */
export function checkPositiveCount(argument: string, value: unknown, what: string): number {
  if (!Number.isInteger(value) || (value as number) < 1) throw new InvalidArgumentError(argument, `a positive integer number of ${what}`, value);
  return value as number;
}

/**
 * The file and Node flags that run module `base` living beside `callerFile` (pass the caller's
 * __filename): when the caller is .ts source, the sibling is too and needs tsx's require hook.
 */
export function siblingModule(callerFile: string, base: string): { file: string; execArgv: string[] } {
  const ts = callerFile.endsWith(".ts");
  return { file: path.join(path.dirname(callerFile), `${base}${ts ? ".ts" : ".js"}`), execArgv: ts ? ["--require", "tsx/cjs"] : [] };
}
