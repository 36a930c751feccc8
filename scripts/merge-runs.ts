/**
 * `npm run merge-runs -- --out merged.jsonl a.jsonl b.jsonl ...`: merges run stores (the shard
 * stores of a cluster sweep, stores from several machines) into one; see
 * kernel-lib/experiments/merge.ts for the rules (re-validation, duplicates, conflicts).
 *
 *   --out PATH            the merged store (if it exists, its records are kept: merged INTO)
 *   --lock-timeout SECS   wait this long for the output's lock (default 0: fail at once)
 *   --json                print the report as JSON instead of text
 *   --help
 *
 * Exit codes: 0 merged cleanly; 1 merged, but with conflicts or skipped lines (the output is
 * written; read the report); 2 bad command line, a missing input, or the output is locked —
 * nothing written (one line on stderr).
 */
import { GradlabError, InvalidArgumentError, UnknownOptionError } from "../kernel-lib/errors";
import { formatMergeReport, mergeRunStores } from "../kernel-lib/experiments/merge";

const VALUE_FLAGS = ["--out", "--lock-timeout"];
const BOOLEAN_FLAGS = ["--json", "--help"];

interface CliArgs { out?: string; lockTimeoutMs?: number; json: boolean; help: boolean; inputs: string[] }

function parseArgs(argv: readonly string[]): CliArgs {
  const args: CliArgs = { json: false, help: false, inputs: [] };
  for (let i = 0; i < argv.length; i++) {
    let flag = argv[i], value: string | undefined;
    if (!flag.startsWith("-")) { args.inputs.push(flag); continue; }
    if (flag === "--") { args.inputs.push(...argv.slice(i + 1)); break; }
    const eq = flag.indexOf("=");
    if (flag.startsWith("--") && eq > 0) { value = flag.slice(eq + 1); flag = flag.slice(0, eq); }
    if (BOOLEAN_FLAGS.includes(flag)) {
      if (value !== undefined) throw new InvalidArgumentError(flag, "no value", value);
      if (flag === "--json") args.json = true; else args.help = true;
      continue;
    }
    if (!VALUE_FLAGS.includes(flag)) throw new UnknownOptionError("argument", flag, [...VALUE_FLAGS, ...BOOLEAN_FLAGS]);
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined || value.startsWith("--")) throw new InvalidArgumentError(flag, "a value after it");
    }
    if (flag === "--out") {
      if (args.out !== undefined) throw new InvalidArgumentError("--out", "one output path", value);
      args.out = value;
    } else {
      if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError("--lock-timeout", "a number of seconds", value);
      args.lockTimeoutMs = Number(value) * 1000;
    }
  }
  return args;
}

function usage(): string {
  return "usage: npm run merge-runs -- --out MERGED.jsonl STORE.jsonl [STORE.jsonl ...] [--lock-timeout SECS] [--json]";
}

function main(argv: readonly string[]): number {
  let args: CliArgs;
  try {
    args = parseArgs(argv);
    if (args.help) { console.log(usage()); return 0; }
    if (args.out === undefined) throw new InvalidArgumentError("--out", "the merged store path");
    if (args.inputs.length === 0) throw new InvalidArgumentError("inputs", "at least one store file to merge");
  } catch (e) {
    if (e instanceof GradlabError) { console.error(`merge-runs: ${e.message}`); console.error(usage()); return 2; }
    throw e;
  }
  let report;
  try {
    report = mergeRunStores(args.inputs, { out: args.out, lockTimeoutMs: args.lockTimeoutMs, command: `merge-runs --out ${args.out}` });
  } catch (e) {
    if (e instanceof GradlabError) { console.error(`merge-runs: ${e.message.replace(/\s*\n\s*/g, " ")}`); return 2; }
    throw e;
  }
  console.log(args.json ? JSON.stringify(report, null, 2) : formatMergeReport(report));
  return report.conflicts.length > 0 || report.skipped.length > 0 ? 1 : 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  console.error(e instanceof Error ? e.stack ?? e.message : String(e));
  process.exitCode = 1;
}
