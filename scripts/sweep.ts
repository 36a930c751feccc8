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
 *
 * Exit codes: 0 every planned run is ok; 1 some run failed (or an unexpected error);
 * 2 bad command line, unknown study or preset (one line on stderr naming the valid values).
 */
import { initBackend } from "../kernel-lib/backend";
import { GradlabError, InvalidArgumentError, UnknownOptionError } from "../kernel-lib/errors";
import { getStudy, loadStudyModule } from "../kernel-lib/experiments/registry";
import { RunFailedError, Study, runSweep } from "../kernel-lib/experiments/sweep";
import { createProgressReporter, formatSummary, PROGRESS_MODES, ProgressMode } from "../kernel-lib/experiments/progress";
import { parseOnlyArguments } from "../kernel-lib/experiments/grid";
import { PRESETS } from "../kernel-lib/notebook";

const VALUE_FLAGS = ["--study", "--study-module", "--preset", "--store", "--seeds", "--only", "--progress"];
const BOOLEAN_FLAGS = ["--stop-on-failure", "--help"];

interface CliArgs {
  study?: string;
  studyModule?: string;
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
  const args: CliArgs = { only: [], progress: "auto", stopOnFailure: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    let flag = argv[i], value: string | undefined;
    const eq = flag.indexOf("=");
    if (flag.startsWith("--") && eq > 0) { value = flag.slice(eq + 1); flag = flag.slice(0, eq); }
    if (BOOLEAN_FLAGS.includes(flag)) {
      if (value !== undefined) throw new InvalidArgumentError(flag, "no value", value);
      if (flag === "--help") args.help = true; else args.stopOnFailure = true;
      continue;
    }
    if (!VALUE_FLAGS.includes(flag)) throw new UnknownOptionError("argument", flag, [...VALUE_FLAGS, ...BOOLEAN_FLAGS]);
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined || value.startsWith("--")) throw new InvalidArgumentError(flag, "a value after it");
    }
    switch (flag) {
      case "--study": args.study = value; break;
      case "--study-module": args.studyModule = value; break;
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
  return "usage: npm run sweep -- --study NAME --preset quick|default|paper [--store PATH] [--seeds 0,1,2] [--only key=value]... [--stop-on-failure] [--progress auto|tty|lines|none] [--study-module PATH]";
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
  } catch (e) {
    if (e instanceof GradlabError) { console.error(`sweep: ${oneLine(e.message)}`); return 2; }
    throw e;
  }
  // The fast backend for every study (wasm here; GRADLAB_BACKEND forces one), chosen before any
  // run; each record names it, so nothing is printed here (stderr stays one line on errors).
  await initBackend();
  let result;
  try {
    result = await runSweep(study, {
      preset: args.preset,
      store: args.store,
      seeds: args.seeds,
      only: args.only.length > 0 ? parseOnlyArguments(args.only) : undefined,
      stopOnFailure: args.stopOnFailure,
      onProgress: createProgressReporter({ mode: args.progress }),
    });
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
