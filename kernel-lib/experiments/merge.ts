/**
 * Merging run stores — the shard stores of a cluster sweep, stores copied from several machines —
 * into one store that reads cleanly (one ok run per config, no skipped lines).
 *
 * Why a dedicated merge and not `cat`: lines must be re-validated (a torn last line, a hand edit,
 * a record whose configHash no longer matches its content are reported and left out); the same
 * run copied twice must appear once; and two DIFFERENT ok runs of one config (two machines ran
 * it) must not silently both land in the store, where reading would keep an arbitrary one.
 *
 * Rules:
 *   - every line goes through `readRunLines` (runRecordProblem, hash re-checked); bad lines are
 *     `skipped` with file, line and reason;
 *   - exact duplicates (same runId, same content) are dropped and counted;
 *   - ok runs of one configHash that differ are a CONFLICT: the first by finishedAt is kept (ties:
 *     input order), the others are listed in `conflicts` and left out;
 *   - failed attempts are all kept (they are history, not results);
 *   - the output is ordered by finishedAt (stable), written atomically (temp + rename) while
 *     holding the output's lock, so no sweep appends to it meanwhile. If the output already exists
 *     it is read as the first input (merging INTO a store never drops what it had).
 * Inputs are not locked: merge shards after their jobs finish (a shard still being written at
 * worst shows a torn last line, reported as skipped; merge again later).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { EmptyInputError, InvalidArgumentError, assertKnownKeys } from "../errors";
import { writeJsonl } from "../io/jsonl";
import { canonicalJson } from "./canonical";
import { RunRecord, readRunLines } from "./run-store";
import { acquireLock } from "./lock";

/**
 * Options of `mergeRunStores`: the output store, how long to wait for its lock, and the command
 * recorded in the lock.
 */
export interface MergeOptions {
  /** The merged store to write. */
  out: string;
  /** Wait up to this long for the output's lock. Default 0. */
  lockTimeoutMs?: number;
  /** Recorded in the output's lock file. */
  command?: string;
}

/** Where a record came from. */
export interface RecordSource { file: string; line: number; runId: string; finishedAt: string }

/**
 * Two ok records for the same config found by `mergeRunStores`: which was kept, which dropped, and
 * whether their metrics agree.
 */
export interface MergeConflict {
  configHash: string;
  kept: RecordSource;
  /** The other ok runs of this config, left out of the output. */
  dropped: (RecordSource & { sameMetrics: boolean })[];
}

/** One store read by `mergeRunStores`, with the lines it contributed and skipped. */
export interface MergeInput {
  file: string;
  /** Valid records read from it. */
  records: number;
  /** Lines skipped in it. */
  skipped: number;
  /** True for the output file itself, read because it already existed. */
  existingOutput: boolean;
}

/** What `mergeRunStores` did: inputs, records written, duplicates dropped and conflicts. */
export interface MergeReport {
  out: string;
  inputs: MergeInput[];
  /** Records written (ok + failed). */
  records: number;
  ok: number;
  failed: number;
  duplicatesDropped: number;
  conflicts: MergeConflict[];
  skipped: { file: string; line: number; reason: string }[];
}

interface Entry { record: RecordSource & { record: RunRecord }; order: number; text: string }

/** Merges `inputs` (run store files) into `options.out`; see the module header. */
export function mergeRunStores(inputs: readonly string[], options: MergeOptions): MergeReport {
  if (options === null || typeof options !== "object") throw new InvalidArgumentError("options", "{out}", options);
  assertKnownKeys("options", options, ["out", "lockTimeoutMs", "command"]);
  if (typeof options.out !== "string" || options.out.length === 0) throw new InvalidArgumentError("options.out", "the output store path", options.out);
  if (!Array.isArray(inputs)) throw new InvalidArgumentError("inputs", "an array of store files", inputs);
  if (inputs.length === 0) throw new EmptyInputError("inputs", "at least one store file to merge");
  const out = path.resolve(options.out);
  const files = inputs.map((f, i) => {
    if (typeof f !== "string" || f.length === 0) throw new InvalidArgumentError(`inputs[${i}]`, "a store file path", f);
    return path.resolve(f);
  });
  const dup = files.find((f, i) => files.indexOf(f) !== i);
  if (dup !== undefined) throw new InvalidArgumentError("inputs", "each store once", dup);

  const lock = acquireLock(out, { timeoutMs: options.lockTimeoutMs, command: options.command ?? "gradlab merge-runs" });
  try {
    const sources = fs.existsSync(out) && !files.includes(out) ? [out, ...files] : files;
    const report: MergeReport = { out, inputs: [], records: 0, ok: 0, failed: 0, duplicatesDropped: 0, conflicts: [], skipped: [] };
    const entries: Entry[] = [];
    for (const file of sources) {
      const { records, skipped } = readRunLines(file); // a missing input is a FileFormatError
      report.inputs.push({ file, records: records.length, skipped: skipped.length, existingOutput: file === out && !files.includes(out) });
      for (const s of skipped) report.skipped.push({ file, ...s });
      for (const { line, record } of records) {
        entries.push({ record: { file, line, runId: record.runId, finishedAt: record.finishedAt, record }, order: entries.length, text: canonicalJson(record) });
      }
    }
    // Chronological, stable: the first by finishedAt wins conflicts; attempts stay in order.
    entries.sort((a, b) => (a.record.finishedAt < b.record.finishedAt ? -1 : a.record.finishedAt > b.record.finishedAt ? 1 : a.order - b.order));
    const seen = new Map<string, Set<string>>(); // runId → contents already kept
    const okByHash = new Map<string, Entry>();
    const conflicts = new Map<string, MergeConflict>();
    const kept: RunRecord[] = [];
    for (const e of entries) {
      const { record } = e.record;
      const texts = seen.get(record.runId) ?? new Set<string>();
      if (texts.has(e.text)) { report.duplicatesDropped++; continue; }
      texts.add(e.text);
      seen.set(record.runId, texts);
      if (record.status === "ok") {
        const first = okByHash.get(record.configHash);
        if (first !== undefined) {
          const conflict = conflicts.get(record.configHash) ?? { configHash: record.configHash, kept: source(first), dropped: [] };
          conflict.dropped.push({ ...source(e), sameMetrics: canonicalJson(record.metrics) === canonicalJson(first.record.record.metrics) });
          conflicts.set(record.configHash, conflict);
          continue;
        }
        okByHash.set(record.configHash, e);
        report.ok++;
      } else {
        report.failed++;
      }
      kept.push(record);
    }
    report.conflicts = [...conflicts.values()];
    report.records = kept.length;
    fs.mkdirSync(path.dirname(out), { recursive: true });
    writeJsonl(out, kept);
    return report;
  } finally {
    lock.release();
  }
}

function source(e: Entry): RecordSource {
  const { file, line, runId, finishedAt } = e.record;
  return { file, line, runId, finishedAt };
}

/** A human summary of a merge (what `npm run merge-runs` prints). */
export function formatMergeReport(report: MergeReport): string {
  const lines = [`merged ${report.inputs.length} store(s) into ${report.out}: ${report.records} records (${report.ok} ok, ${report.failed} failed)`];
  for (const i of report.inputs) lines.push(`  ${i.file}${i.existingOutput ? " (existing output)" : ""}: ${i.records} records${i.skipped > 0 ? `, ${i.skipped} skipped lines` : ""}`);
  lines.push(`duplicates dropped: ${report.duplicatesDropped}`);
  lines.push(`conflicts: ${report.conflicts.length}${report.conflicts.length > 0 ? " (different ok runs of one config; kept the first by finishedAt)" : ""}`);
  for (const c of report.conflicts) {
    lines.push(`  ${c.configHash.slice(0, 12)}: kept ${c.kept.runId} (${c.kept.file}:${c.kept.line}, ${c.kept.finishedAt})`);
    for (const d of c.dropped) lines.push(`    dropped ${d.runId} (${d.file}:${d.line}, ${d.finishedAt})${d.sameMetrics ? ", same metrics" : ", DIFFERENT metrics"}`);
  }
  lines.push(`skipped lines: ${report.skipped.length}`);
  for (const s of report.skipped) lines.push(`  ${s.file}:${s.line}: ${s.reason}`);
  return lines.join("\n");
}
