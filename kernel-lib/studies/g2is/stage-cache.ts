/**
 * On-disk cache of the pipeline's expensive shared stages (pre-trained base model, warm-up
 * checkpoints, feature stores), keyed by a hash of everything that determines them, so every arm
 * of a sweep — and every re-run of a notebook — reuses them.
 *
 *   <root>/<stage>-<key>/        one folder per stage result; `info.json` inside describes it
 *   <root>/<stage>-<key>.lock    held while that stage is being built (experiments/lock.ts)
 *
 * Key = first 20 hex of sha256(canonical JSON of {stage, version, inputs}); `inputs` must include
 * the keys of the stages it builds on (so a new base model invalidates its warm-up and features)
 * and PIPELINE_CACHE_VERSION is bumped whenever the code that builds a stage changes meaning.
 * Atomicity: a stage is built in `<stage>-<key>.tmp-<pid>-<random>` and renamed into place only
 * when complete (rename of a folder is atomic on one filesystem), so a killed build leaves at worst
 * a stray .tmp folder — never a half-filled cache entry.
 * Concurrency: the cache is shared by every process of a machine (the workers of a pool, two
 * notebooks). A build holds the stage's lock; a second process wanting the same stage WAITS for
 * it (polling, up to `waitTimeoutMs`, default 30 min, then StoreLockedError naming the builder)
 * and loads its result instead of building it again. A builder killed on this host leaves a lock
 * with a dead pid, which the next process takes over (lock.ts). Stray `.tmp-<pid>-…` folders are
 * removed, under the lock, only when that pid is not running on this host (or is this process,
 * which is not building it) — never another live process's build.
 * Default root: `<project>/reports/cache/g2is` (reports/ is git-ignored).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { InvalidArgumentError, assertKnownKeys } from "../../errors";
import { canonicalJson } from "../../experiments/canonical";
import { projectRoot } from "../../experiments/provenance";
import { FileLock, isProcessAlive, lockHeldError, sleepSync, tryAcquireLock } from "../../experiments/lock";
import { atomicWriteFile } from "../../io/atomic";

/** Bump when a stage's meaning changes (features computed differently, new training loop …). */
export const PIPELINE_CACHE_VERSION = 1;

/** The default cache folder: `<project>/reports/cache/g2is`. */
export function defaultCacheRoot(): string {
  return path.join(projectRoot(), "reports", "cache", "g2is");
}

/** The cache key of a stage: 20 hex of sha256 over {stage, PIPELINE_CACHE_VERSION, inputs}. */
export function stageKey(stage: string, inputs: unknown): string {
  if (!/^[a-z][a-z0-9-]*$/.test(stage)) throw new InvalidArgumentError("stage", "a lower-case name (letters, digits, -)", stage);
  return createHash("sha256").update(canonicalJson({ stage, version: PIPELINE_CACHE_VERSION, inputs }, "inputs")).digest("hex").slice(0, 20);
}

/** What `cachedStage` returns: the stage's value (built now or loaded), whether it was a cache hit, its folder and its info.json. */
export interface StageResult<T> {
  /** What the stage's load function read from its folder. */
  value: T;
  /** True when the folder already existed (nothing was built). */
  hit: boolean;
  dir: string;
  /** The info.json written by the build (including its measured seconds). */
  info: Record<string, unknown>;
}

export interface CachedStageOptions {
  /** How long to wait for another process building the same stage. Default 30 min. */
  waitTimeoutMs?: number;
  /** Poll interval while waiting. Default 500 ms. */
  pollMs?: number;
  /** Receives lock take-over and waiting notes; default console.warn. */
  onWarning?: (message: string) => void;
}

/** Removes `<name>.tmp-<pid>-…` folders whose pid is not running here (call under the stage lock). */
function removeDeadTemps(root: string, name: string): void {
  for (const entry of fs.readdirSync(root)) {
    if (!entry.startsWith(`${name}.tmp-`)) continue;
    const pid = Number(/^(\d+)-/.exec(entry.slice(name.length + 5))?.[1] ?? NaN);
    if (!Number.isInteger(pid) || pid <= 0) continue; // not ours to judge
    if (pid === process.pid || !isProcessAlive(pid)) fs.rmSync(path.join(root, entry), { recursive: true, force: true });
  }
}

/**
 * Returns the cached stage `stage-key` under `root`, building it first if missing:
 * `build(dir)` fills a fresh temporary folder and returns the info to record (JSON);
 * `load(dir, info)` reads a finished folder. If another process is building the same stage, waits
 * for it and loads its result (`hit: true`); see the module header.
 */
export function cachedStage<T>(
  root: string, stage: string, key: string,
  build: (dir: string) => Record<string, unknown>,
  load: (dir: string, info: Record<string, unknown>) => T,
  options: CachedStageOptions = {},
): StageResult<T> {
  assertKnownKeys("options", options, ["waitTimeoutMs", "pollMs", "onWarning"]);
  const waitTimeoutMs = options.waitTimeoutMs ?? 30 * 60 * 1000, pollMs = options.pollMs ?? 500;
  for (const [k, v] of [["waitTimeoutMs", waitTimeoutMs], ["pollMs", pollMs]] as const) {
    if (typeof v !== "number" || !(v >= 0) || !Number.isFinite(v)) throw new InvalidArgumentError(`options.${k}`, "a non-negative number of milliseconds", v);
  }
  const name = `${stage}-${key}`;
  const dir = path.join(root, name);
  const infoFile = path.join(dir, "info.json");
  let hit = true;
  if (!fs.existsSync(infoFile)) {
    fs.mkdirSync(root, { recursive: true });
    const lockTarget = path.join(root, name);
    const started = Date.now();
    let lock: FileLock | null = null;
    let waitingSaid = false;
    while (!fs.existsSync(infoFile)) {
      lock = tryAcquireLock(lockTarget, { command: `g2is stage ${name} (${process.argv.map((a) => path.basename(a)).join(" ")})`, onWarning: options.onWarning });
      if (lock !== null) break;
      const waited = Date.now() - started;
      const timedOut = waited >= waitTimeoutMs ? lockHeldError(lockTarget, waited) : null;
      if (timedOut !== null) throw timedOut; // (null: released just now — try once more)
      if (!waitingSaid) { (options.onWarning ?? ((m: string) => console.warn(m)))(`g2is cache: waiting for another process building ${name}`); waitingSaid = true; }
      sleepSync(Math.min(pollMs, waitTimeoutMs - waited));
    }
    if (lock !== null) {
      try {
        if (!fs.existsSync(infoFile)) { // finished by someone else between our check and the lock?
          removeDeadTemps(root, name);
          buildInto(root, name, dir, stage, key, build);
          hit = false;
        }
      } finally {
        lock.release();
      }
    }
  }
  const info = JSON.parse(fs.readFileSync(infoFile, "utf8")) as Record<string, unknown>;
  return { value: load(dir, info), hit, dir, info };
}

function buildInto(root: string, name: string, dir: string, stage: string, key: string, build: (dir: string) => Record<string, unknown>): void {
  const temp = path.join(root, `${name}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
  fs.mkdirSync(temp);
  try {
    const started = performance.now();
    const info = build(temp);
    atomicWriteFile(path.join(temp, "info.json"), JSON.stringify({ stage, key, builtAt: new Date().toISOString(), seconds: (performance.now() - started) / 1000, ...info }, null, 1) + "\n");
    if (fs.existsSync(path.join(dir, "info.json"))) { fs.rmSync(temp, { recursive: true, force: true }); return; } // built without the lock meanwhile: keep it
    fs.rmSync(dir, { recursive: true, force: true }); // an incomplete folder (not made by this code): replace it
    fs.renameSync(temp, dir);
  } catch (e) {
    fs.rmSync(temp, { recursive: true, force: true });
    throw e;
  }
}
