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
 * One writer at a time, enforced by a lock file `<store>.lock` (lock.ts): two sweeps on one store
 * would otherwise both run every pending config, and a compaction from a stale handle would drop
 * runs another writer had appended. Reading never locks. Writing does:
 *   - `RunStore.openForWriting(file)` takes the lock at once and reads the file under it — what a
 *     sweep wants, so a second sweep is refused BEFORE it runs anything;
 *   - on a store opened with `RunStore.open(file)`, the first `append` takes the lock (re-reading
 *     the file under it, so the handle's view is current) and keeps it;
 *   - either way the lock is held until `close()` (or process exit). After close() the handle can
 *     still be read; a later append takes the lock again.
 *   - `compact()` takes the lock if this handle does not hold it (and gives it back afterwards),
 *     re-reads the file UNDER the lock and rewrites every valid record found there — never only
 *     this handle's possibly stale view.
 * A second writer gets StoreLockedError naming the holder (pid, host, since when, command). A
 * lock left by a killed writer on this host is taken over with a warning; see lock.ts.
 *
 * Identity: `configHash` = sha256 of canonical {study, config, seed} (see canonical.ts). A config
 * may have several lines — failed attempts, then at most one "ok". A second "ok" line for the same
 * hash should not happen (it would mean two writers); reading keeps the first and reports the rest.
 * Provenance fields (gitDirty, nodeVersion, tfjsVersion, backendVersion, host, peakRssMB; see
 * provenance.ts `runProvenance`) are optional, so stores written before them still read.
 *
 * Which query when: `runs(filter)` for raw records (curves and other array metrics included),
 * `latestByConfig()` for one record per config (its ok run, else its last failure),
 * `toRecords()` for flat rows to build a DataFrame from (arrays left out; see `flattenRunRecord`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { FileFormatError, InvalidArgumentError, assertKnownKeys } from "../errors";
import { appendJsonl, parseJsonl, writeJsonl, JsonlReadResult } from "../io/jsonl";
import { readFileOrThrow } from "../io/atomic";
import { JsonObject, JsonValue, canonicalJson, configHash as hashOf } from "./canonical";
import { FileLock, acquireLock } from "./lock";

/** A finished run's status. */
export type RunStatus = "ok" | "failed";

/** The cost of a run: hardware-independent counters and, optionally, seconds of compute. */
export interface RunCost {
  /** Hardware-independent counters (forward tokens, optimizer steps, env steps …). */
  counters: Record<string, number>;
  /** Compute seconds as the study measured them (defaults to the run's wall time). */
  seconds: number;
}

/**
 * One line of a run store: study, config, seed, hash, status, metrics or error, timing, cost and
 * provenance.
 */
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
  /** Uncommitted changes (tracked or untracked) in the checkout; null outside git. */
  gitDirty?: boolean | null;
  /** `process.version`, e.g. "v20.19.0". */
  nodeVersion?: string | null;
  /** @tensorflow/tfjs version. */
  tfjsVersion?: string | null;
  /** Version of the backend package in use (and libtensorflow's, for tfjs-node). */
  backendVersion?: string | null;
  /** os.hostname() of the process that ran it. */
  host?: string | null;
  /** Peak resident memory of the process that ran it, in MB (process.resourceUsage().maxRSS). */
  peakRssMB?: number | null;
}

/** The optional provenance fields of a record (absent in stores written before them). */
export const PROVENANCE_KEYS = ["gitDirty", "nodeVersion", "tfjsVersion", "backendVersion", "host", "peakRssMB"] as const;

/** A line skipped when a store was read, and why. */
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
  "costSeconds", "backend", "gitCommit", "gradlabVersion", ...PROVENANCE_KEYS,
] as const;

/**
 * A run record flattened to one row (config keys and numeric metrics as columns), what `toRecords`
 * returns.
 */
export type FlatRunRecord = Record<string, string | number | boolean | null>;

const RECORD_KEYS = [
  "study", "runId", "configHash", "config", "seed", "status", "metrics", "cost", "startedAt", "finishedAt",
  "wallSeconds", "backend", "gitCommit", "gradlabVersion", "error", ...PROVENANCE_KEYS,
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
  for (const k of ["nodeVersion", "tfjsVersion", "backendVersion", "host"]) if (r[k] !== undefined && r[k] !== null && typeof r[k] !== "string") return `field ${k}: expected a string or null`;
  if (r.gitDirty !== undefined && r.gitDirty !== null && typeof r.gitDirty !== "boolean") return "field gitDirty: expected a boolean or null";
  if (r.peakRssMB !== undefined && r.peakRssMB !== null && !(typeof r.peakRssMB === "number" && r.peakRssMB >= 0 && Number.isFinite(r.peakRssMB))) return "field peakRssMB: expected a non-negative number or null";
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
  for (const k of PROVENANCE_KEYS) out[k] = record[k] ?? null;
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

/** The valid records of a store file with their line numbers, and the lines skipped (with why). */
export interface RunLines {
  records: { line: number; record: RunRecord }[];
  skipped: StoreWarning[];
}

/**
 * Reads every line of a store file and validates it (runRecordProblem, hash re-checked). A torn or
 * invalid line is reported in `skipped`, never fatal; invalid UTF-8 is decoded leniently (one
 * whole-file warning at line 0). Duplicate ok runs are NOT removed here (RunStore and merge do).
 */
export function readRunLines(file: string): RunLines {
  const skipped: StoreWarning[] = [];
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(readFileOrThrow(file));
  } catch (e) {
    if (e instanceof FileFormatError) throw e;
    // A crash mid-write can cut a multi-byte character: decode leniently so only that line is lost.
    text = new TextDecoder("utf-8", { fatal: false }).decode(readFileOrThrow(file));
    skipped.push({ line: 0, reason: "invalid UTF-8 bytes were replaced (a torn line?)" });
  }
  const parsed: JsonlReadResult<unknown> = parseJsonl(text, file, { onMalformed: "skip" });
  for (const m of parsed.malformed) skipped.push({ line: m.line, reason: m.problem });
  // parseJsonl drops the line numbers of good records; recover them by counting non-blank lines.
  const bad = new Set(parsed.malformed.map((m) => m.line)), lineNumbers: number[] = [];
  (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split("\n").forEach((line, i) => {
    if (line.trim().length > 0 && !bad.has(i + 1)) lineNumbers.push(i + 1);
  });
  const records: RunLines["records"] = [];
  parsed.records.forEach((value, i) => {
    const problem = runRecordProblem(value);
    if (problem !== null) skipped.push({ line: lineNumbers[i], reason: `not a run record: ${problem}` });
    else records.push({ line: lineNumbers[i], record: value as RunRecord });
  });
  skipped.sort((a, b) => a.line - b.line);
  return { records, skipped };
}

/** Options of `RunStore.open` / `openForWriting`. */
export interface RunStoreOptions {
  /** Where skipped-line reports and lock take-over warnings go; default console.warn. */
  onWarning?: (message: string) => void;
  /** Recorded in the lock file when this handle writes; default this process's command line. */
  command?: string;
  /** When the lock is taken: wait up to this long for another writer to finish. Default 0. */
  lockTimeoutMs?: number;
  /** When the lock is taken: take it over whoever holds it (see lock.ts). Default false. */
  breakLock?: boolean;
}

const STORE_OPTION_KEYS = ["onWarning", "command", "lockTimeoutMs", "breakLock"];

/**
 * A run store: an append-only JSONL file with one line per finished run (ok or failed), the
 * record `runSweep` writes and every analysis reads. A run is written once finished, in one
 * O_APPEND write + fsync, so a crash leaves at most one torn last line, which reading reports (in
 * `warnings`) and skips. Each line's `configHash` is re-checked against its content.
 *
 * Which way to open it: {@link RunStore.open} to read (never locks; the first `append` takes the
 * lock); {@link RunStore.openForWriting} to write, which takes the `<store>.lock` at once so a
 * second writer is refused before it runs anything (`StoreLockedError` names the holder). Read
 * with `runs(filter)` (every record), `latestByConfig(filter)` (one per config: the ok run, else
 * the last failure) or `toRecords(filter)` (flat rows for a table or DataFrame).
 *
 * @example
 * ```ts
 * const store = lab.experiments.RunStore.open("reports/runs/prism.jsonl");
 * lab.displayTable(store.toRecords({ status: "ok" }));
 * store.close();
 * ```
 */
export class RunStore {
  private records: RunRecord[] = [];
  private okByHash = new Map<string, RunRecord>();
  private attemptsByHash = new Map<string, number>();
  private warningList: StoreWarning[] = [];
  private lock: FileLock | null = null;

  private constructor(readonly file: string, private readonly options: RunStoreOptions) {}

  private static create(file: string, options: RunStoreOptions): RunStore {
    assertKnownKeys("options", options, STORE_OPTION_KEYS);
    if (typeof file !== "string" || file.length === 0) throw new InvalidArgumentError("file", "a non-empty file path", file);
    if (options.onWarning !== undefined && typeof options.onWarning !== "function") throw new InvalidArgumentError("options.onWarning", "a function (message) => void", options.onWarning);
    return new RunStore(path.resolve(file), { ...options });
  }

  /** Opens (reads) a store without locking; a missing file is an empty store, created by the first append. */
  static open(file: string, options: RunStoreOptions = {}): RunStore {
    const store = RunStore.create(file, options);
    store.refresh();
    store.reportWarnings();
    return store;
  }

  /**
   * Opens a store for writing: takes its lock now (StoreLockedError naming the holder if another
   * writer has it), then reads the file under the lock. Call `close()` when done.
   */
  static openForWriting(file: string, options: RunStoreOptions = {}): RunStore {
    const store = RunStore.create(file, options);
    store.acquireLock();
    store.reportWarnings();
    return store;
  }

  private warn(message: string): void {
    (this.options.onWarning ?? ((m: string) => console.warn(m)))(message);
  }

  private reportWarnings(): void {
    for (const w of this.warningList) this.warn(`run store ${this.file}: line ${w.line} skipped: ${w.reason}`);
  }

  /** Re-reads the file from disk (another process may have written); warnings are recomputed, not printed. */
  refresh(): void {
    this.records = [];
    this.okByHash = new Map();
    this.attemptsByHash = new Map();
    this.warningList = [];
    if (!fs.existsSync(this.file)) return;
    const { records, skipped } = readRunLines(this.file);
    this.warningList = skipped.slice(); // not push(...skipped): a store can hold any number of bad lines
    for (const { line, record } of records) {
      const first = record.status === "ok" ? this.okByHash.get(record.configHash) : undefined;
      if (first !== undefined) {
        this.warningList.push({ line, reason: `duplicate ok run of configHash ${record.configHash.slice(0, 12)} (kept the first, runId ${first.runId})` });
        continue;
      }
      this.accept(record);
    }
    this.warningList.sort((a, b) => a.line - b.line);
  }

  /**
   * Takes this store's write lock if this handle does not hold it yet, then re-reads the file
   * under it. Throws StoreLockedError naming the holder. `append` calls it for you.
   */
  acquireLock(): void {
    if (this.lock !== null && this.lock.held) { this.lock.assertHeld(); return; }
    this.lock = acquireLock(this.file, {
      command: this.options.command, timeoutMs: this.options.lockTimeoutMs, breakLock: this.options.breakLock, onWarning: (m) => this.warn(m),
    });
    this.refresh();
  }

  /** True while this handle holds the store's write lock. */
  get locked(): boolean { return this.lock !== null && this.lock.held; }

  /** Releases the write lock (if held); the handle stays readable, and a later append re-locks. */
  close(): void {
    this.lock?.release();
    this.lock = null;
  }

  private accept(record: RunRecord): void {
    this.records.push(record);
    this.attemptsByHash.set(record.configHash, (this.attemptsByHash.get(record.configHash) ?? 0) + 1);
    if (record.status === "ok") this.okByHash.set(record.configHash, record);
  }

  /** Lines that were skipped when the store was (last) read. */
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

  /**
   * Appends one finished run (one write + fsync; a torn last line is first closed with "\n").
   * Takes the write lock on first use (see the module header) and checks it is still held.
   */
  append(record: RunRecord): void {
    const problem = runRecordProblem(record);
    if (problem !== null) throw new InvalidArgumentError("record", `a valid run record (${problem})`);
    this.acquireLock();
    if (record.status === "ok" && this.okByHash.has(record.configHash)) {
      throw new InvalidArgumentError("record", `a config without an ok run; ${record.configHash.slice(0, 12)} already has one in ${this.file}`);
    }
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    appendJsonl(this.file, [record]);
    this.accept(record);
  }

  /**
   * Rewrites the file (atomically) with every valid record found on disk UNDER the lock, dropping
   * only skipped lines and duplicate ok runs; refreshes this handle and clears its warnings. Takes
   * the lock if this handle does not hold it, and then releases it again.
   */
  compact(): void {
    const hadLock = this.locked;
    this.acquireLock(); // a fresh lock re-reads the file under it
    if (hadLock) this.refresh(); // held already: re-read anyway, the disk is the truth
    try {
      if (fs.existsSync(this.file)) writeJsonl(this.file, this.records);
      this.warningList = [];
    } finally {
      if (!hadLock) this.close();
    }
  }
}
