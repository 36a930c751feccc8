/**
 * The run store: an append-only JSONL file with one line per FINISHED run (ok or failed).
 *
 * Why this shape: a sweep can be killed at any moment (SIGKILL, kernel restart, power loss). A run
 * is written only once it has finished, as one line in one O_APPEND write followed by fsync
 * (io/jsonl's `appendJsonl`), so a killed run simply has no line and is redone on resume, and a
 * finished one is never lost or written twice. The worst a crash can leave is one torn last line:
 *   - reading reports it (line number + reason, in `warnings`, printed once when the store is
 *     opened) and skips it — never fatal;
 *   - the next append first adds a newline, so the new record starts on its own line.
 * `compact()` rewrites the file without skipped lines (atomically) once you have looked at them.
 *
 * Identity: `configHash` = sha256 of canonical {study, config, seed} (see canonical.ts). A config
 * may have several lines — failed attempts, then at most one "ok". A second "ok" line for the same
 * hash should not happen (it would mean two writers); reading keeps the first and reports the rest.
 * One writer at a time: two sweeps appending to the same file concurrently would both run the
 * pending configs (the store never loses a line, but duplicates would be reported and dropped).
 *
 * Which query when: `runs(filter)` for raw records (curves and other array metrics included),
 * `latestByConfig()` for one record per config (its ok run, else its last failure),
 * `toRecords()` for flat rows to build a DataFrame from (arrays left out; see `flattenRunRecord`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { FileFormatError, InvalidArgumentError, assertKnownKeys } from "../errors";
import { appendJsonl, readJsonl, parseJsonl, writeJsonl, JsonlReadResult } from "../io/jsonl";
import { readFileOrThrow } from "../io/atomic";
import { JsonObject, JsonValue, canonicalJson, configHash as hashOf } from "./canonical";

export type RunStatus = "ok" | "failed";

export interface RunCost {
  /** Hardware-independent counters (forward tokens, optimizer steps, env steps …). */
  counters: Record<string, number>;
  /** Compute seconds as the study measured them (defaults to the run's wall time). */
  seconds: number;
}

export interface RunRecord {
  study: string;
  /** `<first 12 hex of configHash>-<attempt>`: unique per line, stable across machines. */
  runId: string;
  configHash: string;
  config: JsonObject;
  seed: number;
  status: RunStatus;
  metrics: JsonObject;
  cost: RunCost;
  /** ISO 8601 timestamps. */
  startedAt: string;
  finishedAt: string;
  wallSeconds: number;
  backend: string | null;
  gitCommit: string | null;
  gradlabVersion: string;
  /** Failed runs only: the error's name and message. */
  error?: string;
}

export interface StoreWarning {
  /** 1-based line number in the store file (0 for a whole-file problem). */
  line: number;
  reason: string;
}

/** Either field-equality (config keys compared canonically) or a predicate. */
export type RunFilter =
  | { study?: string; status?: RunStatus; seed?: number; configHash?: string; config?: Record<string, JsonValue> }
  | ((record: RunRecord) => boolean);

/** Columns of a flat record that are not config or metric keys. */
export const RESERVED_COLUMNS = [
  "study", "runId", "configHash", "seed", "status", "error", "startedAt", "finishedAt", "wallSeconds",
  "costSeconds", "backend", "gitCommit", "gradlabVersion",
] as const;

export type FlatRunRecord = Record<string, string | number | boolean | null>;

const RECORD_KEYS = [
  "study", "runId", "configHash", "config", "seed", "status", "metrics", "cost", "startedAt", "finishedAt",
  "wallSeconds", "backend", "gitCommit", "gradlabVersion", "error",
];

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Why `value` is not a valid RunRecord, or null if it is. Checks the hash matches the content. */
export function runRecordProblem(value: unknown): string | null {
  if (!isObject(value)) return "not a JSON object";
  const unknown = Object.keys(value).filter((k) => !RECORD_KEYS.includes(k));
  if (unknown.length > 0) return `unknown field(s) ${unknown.join(", ")}`;
  const r = value;
  const str = (k: string) => typeof r[k] === "string" && (r[k] as string).length > 0;
  for (const k of ["study", "runId", "configHash", "startedAt", "finishedAt", "gradlabVersion"]) if (!str(k)) return `field ${k}: expected a non-empty string`;
  if (!/^[0-9a-f]{64}$/.test(r.configHash as string)) return "field configHash: expected 64 hex digits";
  if (!isObject(r.config)) return "field config: expected an object";
  if (!Number.isInteger(r.seed) || (r.seed as number) < 0) return "field seed: expected a non-negative integer";
  if (r.status !== "ok" && r.status !== "failed") return `field status: expected "ok" or "failed"`;
  if (!isObject(r.metrics)) return "field metrics: expected an object";
  if (!isObject(r.cost) || !isObject(r.cost.counters) || typeof r.cost.seconds !== "number") return "field cost: expected {counters, seconds}";
  for (const [k, v] of Object.entries(r.cost.counters)) if (typeof v !== "number" || !Number.isFinite(v)) return `field cost.counters.${k}: expected a finite number`;
  if (typeof r.wallSeconds !== "number" || !(r.wallSeconds >= 0)) return "field wallSeconds: expected a non-negative number";
  for (const k of ["backend", "gitCommit"]) if (r[k] !== null && typeof r[k] !== "string") return `field ${k}: expected a string or null`;
  if (r.status === "failed" && typeof r.error !== "string") return "field error: a failed run needs its error message";
  if (r.status === "ok" && r.error !== undefined) return "field error: an ok run has no error";
  try {
    if (hashOf(r.study as string, r.config as JsonObject, r.seed as number) !== r.configHash) {
      return "configHash does not match {study, config, seed} (edited by hand, or written by another hash scheme)";
    }
  } catch (e) {
    return `config: ${(e as Error).message}`;
  }
  return null;
}

function matches(record: RunRecord, filter: RunFilter | undefined): boolean {
  if (filter === undefined) return true;
  if (typeof filter === "function") return filter(record);
  assertKnownKeys("filter", filter, ["study", "status", "seed", "configHash", "config"]);
  if (filter.study !== undefined && record.study !== filter.study) return false;
  if (filter.status !== undefined && record.status !== filter.status) return false;
  if (filter.seed !== undefined && record.seed !== filter.seed) return false;
  if (filter.configHash !== undefined && record.configHash !== filter.configHash) return false;
  if (filter.config !== undefined) {
    for (const [k, v] of Object.entries(filter.config)) {
      if (!(k in record.config) || canonicalJson(record.config[k]) !== canonicalJson(v, `filter.config.${k}`)) return false;
    }
  }
  return true;
}

/** Adds `prefix.key` → scalar for every non-array leaf of `value` (arrays are left out). */
function flattenInto(out: FlatRunRecord, prefix: string, value: JsonValue, origin: Map<string, string>, source: string): void {
  if (Array.isArray(value)) return;
  if (isObject(value)) {
    for (const [k, v] of Object.entries(value as JsonObject)) flattenInto(out, prefix ? `${prefix}.${k}` : k, v, origin, source);
    return;
  }
  if (origin.has(prefix)) {
    throw new InvalidArgumentError(`${source}.${prefix}`, `a name distinct from the ${origin.get(prefix)} column "${prefix}"`, prefix);
  }
  origin.set(prefix, source);
  out[prefix] = value as string | number | boolean | null;
}

/**
 * One flat row of a run: reserved columns, config keys, metric keys (nested objects joined with
 * "."), cost counters as `cost.<name>`. Array-valued metrics (curves) are left out — read them
 * from `runs()`. A metric named like a config key or a reserved column is an InvalidArgumentError.
 */
export function flattenRunRecord(record: RunRecord): FlatRunRecord {
  const out: FlatRunRecord = {
    study: record.study, runId: record.runId, configHash: record.configHash, seed: record.seed, status: record.status,
    error: record.error ?? null, startedAt: record.startedAt, finishedAt: record.finishedAt, wallSeconds: record.wallSeconds,
    costSeconds: record.cost.seconds, backend: record.backend, gitCommit: record.gitCommit, gradlabVersion: record.gradlabVersion,
  };
  const origin = new Map<string, string>(RESERVED_COLUMNS.map((c) => [c, "reserved"]));
  flattenInto(out, "", record.config, origin, "config");
  flattenInto(out, "", record.metrics, origin, "metrics");
  for (const [k, v] of Object.entries(record.cost.counters)) flattenInto(out, `cost.${k}`, v, origin, "cost.counters");
  return out;
}

/** Flat rows of records, every row with the union of all columns (missing values null). */
export function toFlatRows(records: readonly RunRecord[]): FlatRunRecord[] {
  const rows = records.map(flattenRunRecord);
  const columns = new Set<string>();
  for (const row of rows) for (const k of Object.keys(row)) columns.add(k);
  return rows.map((row) => {
    const full: FlatRunRecord = {};
    for (const c of columns) full[c] = c in row ? row[c] : null;
    return full;
  });
}

export interface RunStoreOptions {
  /** Where skipped-line reports go when the store is opened; default console.warn. */
  onWarning?: (message: string) => void;
}

export class RunStore {
  private readonly records: RunRecord[] = [];
  private readonly okByHash = new Map<string, RunRecord>();
  private readonly attemptsByHash = new Map<string, number>();
  private readonly warningList: StoreWarning[] = [];

  private constructor(readonly file: string) {}

  /** Opens (reads) a store; a missing file is an empty store, created by the first append. */
  static open(file: string, options: RunStoreOptions = {}): RunStore {
    assertKnownKeys("options", options, ["onWarning"]);
    if (typeof file !== "string" || file.length === 0) throw new InvalidArgumentError("file", "a non-empty file path", file);
    const store = new RunStore(path.resolve(file));
    if (fs.existsSync(store.file)) store.load();
    if (store.warningList.length > 0) {
      const warn = options.onWarning ?? ((m: string) => console.warn(m));
      for (const w of store.warningList) warn(`run store ${store.file}: line ${w.line} skipped: ${w.reason}`);
    }
    return store;
  }

  private load(): void {
    let parsed: JsonlReadResult<unknown>;
    try {
      parsed = readJsonl(this.file, { onMalformed: "skip" });
    } catch (e) {
      // A crash mid-write can cut a multi-byte character: decode leniently so only that line is lost.
      if (!(e instanceof FileFormatError) || !e.problem.includes("UTF-8")) throw e;
      const text = new TextDecoder("utf-8", { fatal: false }).decode(readFileOrThrow(this.file));
      parsed = parseJsonl(text, this.file, { onMalformed: "skip" });
      this.warningList.push({ line: 0, reason: "invalid UTF-8 bytes were replaced (a torn line?)" });
    }
    for (const m of parsed.malformed) this.warningList.push({ line: m.line, reason: m.problem });
    // readJsonl drops the line numbers of good records; recover them by counting non-blank lines.
    const lineNumbers = this.recordLineNumbers(parsed.malformed.map((m) => m.line));
    parsed.records.forEach((value, i) => {
      const problem = runRecordProblem(value);
      if (problem !== null) { this.warningList.push({ line: lineNumbers[i], reason: `not a run record: ${problem}` }); return; }
      const record = value as RunRecord;
      if (record.status === "ok" && this.okByHash.has(record.configHash)) {
        const first = this.okByHash.get(record.configHash)!;
        this.warningList.push({ line: lineNumbers[i], reason: `duplicate ok run of configHash ${record.configHash.slice(0, 12)} (kept the first, runId ${first.runId})` });
        return;
      }
      this.accept(record);
    });
    this.warningList.sort((a, b) => a.line - b.line);
  }

  private recordLineNumbers(malformedLines: number[]): number[] {
    const text = fs.readFileSync(this.file, "utf8");
    const bad = new Set(malformedLines), out: number[] = [];
    text.split("\n").forEach((line, i) => {
      if (line.trim().length > 0 && !bad.has(i + 1)) out.push(i + 1);
    });
    return out;
  }

  private accept(record: RunRecord): void {
    this.records.push(record);
    this.attemptsByHash.set(record.configHash, (this.attemptsByHash.get(record.configHash) ?? 0) + 1);
    if (record.status === "ok") this.okByHash.set(record.configHash, record);
  }

  /** Lines that were skipped when the store was read. */
  get warnings(): readonly StoreWarning[] { return this.warningList; }

  /** Number of accepted records. */
  get size(): number { return this.records.length; }

  /** True if the config already has an ok run (a sweep skips it). */
  hasOk(configHash: string): boolean { return this.okByHash.has(configHash); }

  /** How many lines (ok or failed) the config has. */
  attempts(configHash: string): number { return this.attemptsByHash.get(configHash) ?? 0; }

  /** Accepted records in file order, optionally filtered. */
  runs(filter?: RunFilter): RunRecord[] {
    return this.records.filter((r) => matches(r, filter));
  }

  /** One record per config hash, in order of first appearance: its ok run, else its latest failure. */
  latestByConfig(filter?: RunFilter): RunRecord[] {
    const latest = new Map<string, RunRecord>();
    for (const r of this.records) {
      if (!matches(r, filter)) continue;
      const prev = latest.get(r.configHash);
      if (prev === undefined || prev.status !== "ok") latest.set(r.configHash, r);
    }
    return [...latest.values()];
  }

  /** Flat rows (see flattenRunRecord) of `latestByConfig(filter)`, every row with the same columns. */
  toRecords(filter?: RunFilter): FlatRunRecord[] {
    return toFlatRows(this.latestByConfig(filter));
  }

  /** Appends one finished run (one write + fsync; a torn last line is first closed with "\n"). */
  append(record: RunRecord): void {
    const problem = runRecordProblem(record);
    if (problem !== null) throw new InvalidArgumentError("record", `a valid run record (${problem})`);
    if (record.status === "ok" && this.okByHash.has(record.configHash)) {
      throw new InvalidArgumentError("record", `a config without an ok run; ${record.configHash.slice(0, 12)} already has one in ${this.file}`);
    }
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    appendJsonl(this.file, [record]);
    this.accept(record);
  }

  /** Rewrites the file with only the accepted records (atomic); clears the warnings. */
  compact(): void {
    writeJsonl(this.file, this.records);
    this.warningList.length = 0;
  }
}
