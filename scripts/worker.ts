/**
 * `npm run worker -- --queue redis://host:6379 [options]`: serves queue sweeps from this machine
 * (see kernel-lib/experiments/queue.ts). Start one per machine (or `--concurrency N` for N runs at
 * a time, each in its own process); it runs until Ctrl-C, joining every sweep a coordinator
 * (`npm run sweep -- ... --queue URL`) announces on that Redis and leaving it when it is done.
 *
 *   --queue URL            redis://[user:password@]host[:port][/db] (rediss:// for TLS)
 *   --study-module PATH    load studies from this file (a study outside the library)
 *   --concurrency N        runs at a time (default 1)
 *   --lock-ms N            job lock duration (default 30000); a killed worker's run restarts elsewhere
 *   --stalled-ms N         stalled-job check period (default 30000)  about lock + 2 × this later
 *   --max-stalled N        times one job may be recovered from a dead worker before it fails (default 2)
 *   --discover-ms N        how often new sweeps are looked up (default 2000)
 *
 * Ctrl-C (SIGINT/SIGTERM): stop taking jobs and finish the running ones; a second one exits at once
 * (the running jobs are then recovered by other workers, as after a crash).
 * Exit codes: 0 after Ctrl-C; 2 bad command line or Redis unreachable (one line on stderr);
 * 1 an unexpected error.
 */
import { GradlabError, InvalidArgumentError } from "../kernel-lib/errors";
import { startQueueWorker, QueueWorkerOptions } from "../kernel-lib/experiments/queue";
import { parseFlags } from "./lib/cli-flags";

const NUMBER_FLAGS: Record<string, keyof QueueWorkerOptions> = {
  "--concurrency": "concurrency", "--lock-ms": "lockDurationMs", "--stalled-ms": "stalledIntervalMs",
  "--max-stalled": "maxStalledCount", "--discover-ms": "discoverMs",
};
const VALUE_FLAGS = ["--queue", "--study-module", ...Object.keys(NUMBER_FLAGS)];
const BOOLEAN_FLAGS = ["--help"];

function usage(): string {
  return "usage: npm run worker -- --queue redis://host:6379 [--study-module PATH] [--concurrency N] [--lock-ms N] [--stalled-ms N] [--max-stalled N] [--discover-ms N]";
}

function parseArgs(argv: readonly string[]): QueueWorkerOptions | "help" {
  const options: Partial<Record<keyof QueueWorkerOptions, unknown>> = {};
  for (const { flag, value } of parseFlags(argv, VALUE_FLAGS, BOOLEAN_FLAGS)) {
    if (value === null) return "help";
    if (flag === "--queue") options.queue = value;
    else if (flag === "--study-module") options.studyModule = value;
    else {
      if (!/^\d+$/.test(value)) throw new InvalidArgumentError(flag, "a non-negative integer", value);
      options[NUMBER_FLAGS[flag]] = Number(value);
    }
  }
  if (options.queue === undefined) throw new InvalidArgumentError("--queue", "a Redis URL, e.g. --queue redis://host:6379");
  return options as QueueWorkerOptions;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ");
}

async function main(argv: readonly string[]): Promise<number> {
  let handle;
  try {
    const options = parseArgs(argv);
    if (options === "help") { console.log(usage()); return 0; }
    // Flags are checked again (with the option names) by startQueueWorker; map those names back.
    handle = await startQueueWorker(options);
  } catch (e) {
    if (e instanceof GradlabError) {
      const flags = Object.fromEntries([["queue", "--queue"], ["studyModule", "--study-module"], ...Object.entries(NUMBER_FLAGS).map(([f, k]) => [k, f])]);
      console.error(`worker: ${oneLine(e.message).replace(/options\.(\w+)/g, (m, k: string) => flags[k] ?? m)}`);
      return 2;
    }
    throw e;
  }
  const h = handle;
  return new Promise<number>((resolve) => {
    let signals = 0;
    const stop = (signal: NodeJS.Signals) => {
      if (++signals > 1) { console.error(`worker: ${signal} again: exiting now; running jobs will be picked up by other workers`); process.exit(130); }
      console.error(`worker: ${signal}: finishing the running jobs (${signal} again to exit at once)`);
      h.close().then(() => resolve(0), (e: Error) => { console.error(`worker: ${e.message}`); resolve(1); });
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

main(process.argv.slice(2)).then(
  (code) => { process.exit(code); },
  (e) => { console.error(e instanceof Error ? e.stack ?? e.message : String(e)); process.exit(1); },
);
