/**
 * `npm run sweep -- --study NAME --preset quick|default|paper [options]`: runs a study's grid from
 * the terminal, resumable — re-run the same command after a crash or Ctrl-C and only the missing
 * (and previously failed) runs are done.
 *
 *   --study NAME          a registered study (prism, g2is, maestro)
 *   --study-module PATH   load the study from a file instead (tests, studies under development)
 *   --preset NAME         quick | default | paper
 *   --store PATH          run store (default reports/runs/<study>.jsonl in the project)
 *   --seeds 0,1,2         replaces the preset's seeds
 *   --only key=value      restrict an axis (repeat; the same key twice means "either")
 *   --stop-on-failure     stop at the first failed run (it is still recorded)
 *   --progress MODE       auto | tty | lines | none (default auto)
 *   --jobs N              worker processes on this machine (default: one per core; 1 = in this process)
 *   --shard i/n | auto    only shard i of n (0-based, stable by config hash); "auto" reads Slurm's
 *                         SLURM_ARRAY_TASK_ID/COUNT or a Kubernetes Indexed Job's JOB_COMPLETION_INDEX
 *                         (+ GRADLAB_SHARD_COUNT); the store defaults to reports/runs/<study>.shard-<i>-of-<n>.jsonl
 *                         (merge them with `npm run merge-runs`; see scripts/cluster/README.md)
 *   --queue URL           run on workers across machines via Redis (redis://host:6379; start them
 *                         with `npm run worker -- --queue URL`); see kernel-lib/experiments/queue.ts
 *   --break-lock          take over the store's lock even if another host holds it (only when
 *                         you know that writer is gone)
 *
 * Exit codes: 0 every planned run is ok; 1 some run failed (or an unexpected error);
 * 2 bad command line, unknown study or preset (one line on stderr naming the valid values).
 */
import { initBackend } from "../kernel-lib/backend";
import { GradlabError, InvalidArgumentError, UnknownOptionError } from "../kernel-lib/errors";
import { getStudy, loadStudyModule } from "../kernel-lib/experiments/registry";
import { RunFailedError, Study, runSweep } from "../kernel-lib/experiments/sweep";
import { parseRedisUrl } from "../kernel-lib/experiments/queue-redis";
import { checkJobs, defaultJobs } from "../kernel-lib/experiments/pool";
import { defaultShardStorePath, resolveShardFlag, Shard } from "../kernel-lib/experiments/shard";
import { RunStore } from "../kernel-lib/experiments/run-store";
import { defaultStorePath as defaultStorePathFor } from "../kernel-lib/experiments/provenance";
import { createProgressReporter, formatSummary, PROGRESS_MODES, ProgressMode } from "../kernel-lib/experiments/progress";
import { parseOnlyArguments } from "../kernel-lib/experiments/grid";
import { PRESETS } from "../kernel-lib/notebook";
import { parseFlags } from "./lib/cli-flags";

const VALUE_FLAGS = ["--study", "--study-module", "--preset", "--store", "--seeds", "--only", "--progress", "--queue", "--jobs", "--shard"];
const BOOLEAN_FLAGS = ["--stop-on-failure", "--break-lock", "--help"];

interface CliArgs {
  study?: string;
  studyModule?: string;
  queue?: string;
  jobs?: number;
  shard?: Shard;
  breakLock: boolean;
  preset?: string;
  store?: string;
  seeds?: number[];
  only: string[];
  progress: ProgressMode;
  stopOnFailure: boolean;
  help: boolean;
}

function parseSeeds(text: string): number[] {
  const parts = text.split(",").map((s) => s.trim());
  return parts.map((p) => {
    if (!/^\d+$/.test(p)) throw new InvalidArgumentError("--seeds", "comma-separated non-negative integers, e.g. 0,1,2", text);
    return Number(p);
  });
}

function parseArgs(argv: readonly string[]): CliArgs {
  const args: CliArgs = { only: [], progress: "auto", stopOnFailure: false, breakLock: false, help: false };
  for (const { flag, value: given } of parseFlags(argv, VALUE_FLAGS, BOOLEAN_FLAGS)) {
    if (given === null) {
      if (flag === "--help") args.help = true; else if (flag === "--break-lock") args.breakLock = true; else args.stopOnFailure = true;
      continue;
    }
    const value = given;
    switch (flag) {
      case "--study": args.study = value; break;
      case "--study-module": args.studyModule = value; break;
      case "--queue": parseRedisUrl(value, "--queue"); args.queue = value; break;
      case "--jobs":
        if (!/^\d+$/.test(value)) throw new InvalidArgumentError("--jobs", "a positive integer number of worker processes", value);
        args.jobs = checkJobs("--jobs", Number(value));
        break;
      case "--shard": args.shard = resolveShardFlag(value); break;
      case "--preset": args.preset = value; break;
      case "--store": args.store = value; break;
      case "--seeds": args.seeds = parseSeeds(value); break;
      case "--only": args.only.push(value); break;
      case "--progress":
        if (!(PROGRESS_MODES as readonly string[]).includes(value)) throw new UnknownOptionError("--progress", value, PROGRESS_MODES);
        args.progress = value as ProgressMode;
        break;
    }
  }
  return args;
}

function usage(): string {
  return "usage: npm run sweep -- --study NAME --preset quick|default|paper [--store PATH] [--seeds 0,1,2] [--only key=value]... [--stop-on-failure] [--progress auto|tty|lines|none] [--study-module PATH] [--jobs N] [--shard i/n|auto] [--queue redis://host:port] [--break-lock]";
}

function loadStudy(args: CliArgs): Study<never> {
  if (args.studyModule !== undefined) return loadStudyModule(args.studyModule, args.study);
  if (args.study === undefined) throw new InvalidArgumentError("--study", "a study name (or --study-module PATH)");
  return getStudy(args.study);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ");
}

async function main(argv: readonly string[]): Promise<number> {
  let args: CliArgs, study: Study<never>;
  try {
    args = parseArgs(argv);
    if (args.help) { console.log(usage()); return 0; }
    if (args.preset === undefined) throw new InvalidArgumentError("--preset", PRESETS.join(" | "));
    if (!(PRESETS as readonly string[]).includes(args.preset)) throw new UnknownOptionError("preset", args.preset, PRESETS);
    study = loadStudy(args);
    if (args.queue !== undefined && (args.jobs !== undefined || args.shard !== undefined)) {
      throw new InvalidArgumentError("--queue", "no --jobs or --shard with it (the workers balance the grid; give each worker --concurrency)");
    }
  } catch (e) {
    if (e instanceof GradlabError) { console.error(`sweep: ${oneLine(e.message)}`); return 2; }
    throw e;
  }
  // The fast backend for every study (wasm here; GRADLAB_BACKEND forces one), chosen before any
  // run; each record names it, so nothing is printed here (stderr stays one line on errors).
  // Worker processes initialise the same one.
  await initBackend();
  const storePath = args.store ?? (args.shard !== undefined ? defaultShardStorePath(study.name, args.shard) : undefined);
  const only = args.only.length > 0 ? parseOnlyArguments(args.only) : undefined;
  const onProgress = createProgressReporter({ mode: args.progress });
  let result;
  try {
    if (args.queue !== undefined) {
      // Loaded only here: BullMQ and its Redis client are not needed by a local sweep.
      // (require, not import(): under tsx's CommonJS hook a dynamic import cannot resolve the .ts source.)
      const { runSweepOnQueue } = require("../kernel-lib/experiments/queue") as typeof import("../kernel-lib/experiments/queue");
      result = await runSweepOnQueue(study, { queue: args.queue, studyModule: args.studyModule, preset: args.preset, store: storePath, seeds: args.seeds, only, stopOnFailure: args.stopOnFailure, onProgress });
    } else {
      const store = args.breakLock ? RunStore.openForWriting(storePath ?? defaultStorePathFor(study.name), { breakLock: true }) : storePath;
      result = await runSweep(study, {
        preset: args.preset, store, seeds: args.seeds, only, stopOnFailure: args.stopOnFailure, onProgress,
        jobs: args.jobs ?? defaultJobs(), studyModule: args.studyModule, shard: args.shard,
      });
      if (store instanceof RunStore) store.close();
    }
  } catch (e) {
    if (e instanceof RunFailedError) { console.error(`sweep: stopped: ${oneLine(e.message)}`); return 1; }
    // Bad --only / --seeds surface here (validated against the grid): usage errors.
    if (e instanceof GradlabError) { console.error(`sweep: ${oneLine(e.message)}`); return 2; }
    throw e;
  }
  if (args.progress === "none") console.log(formatSummary(result.summary));
  return result.summary.failed > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e) => { console.error(e instanceof Error ? e.stack ?? e.message : String(e)); process.exitCode = 1; },
);
