/**
 * On-disk cache of the pipeline's expensive shared stages (pre-trained base model, warm-up
 * checkpoints, feature stores), keyed by a hash of everything that determines them, so every arm
 * of a sweep — and every re-run of a notebook — reuses them.
 *
 *   <root>/<stage>-<key>/        one folder per stage result; `info.json` inside describes it
 *
 * Key = first 20 hex of sha256(canonical JSON of {stage, version, inputs}); `inputs` must include
 * the keys of the stages it builds on (so a new base model invalidates its warm-up and features)
 * and PIPELINE_CACHE_VERSION is bumped whenever the code that builds a stage changes meaning.
 * Atomicity: a stage is built in `<stage>-<key>.tmp-<pid>-<random>` and renamed into place only
 * when complete (rename of a folder is atomic on one filesystem), so a killed build leaves at worst
 * a stray .tmp folder (removed on the next build of that stage) — never a half-filled cache entry.
 * Default root: `<project>/reports/cache/g2is` (reports/ is git-ignored).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { InvalidArgumentError } from "../../errors";
import { canonicalJson } from "../../experiments/canonical";
import { projectRoot } from "../../experiments/provenance";
import { atomicWriteFile } from "../../io/atomic";

/** Bump when a stage's meaning changes (features computed differently, new training loop …). */
export const PIPELINE_CACHE_VERSION = 1;

export function defaultCacheRoot(): string {
  return path.join(projectRoot(), "reports", "cache", "g2is");
}

export function stageKey(stage: string, inputs: unknown): string {
  if (!/^[a-z][a-z0-9-]*$/.test(stage)) throw new InvalidArgumentError("stage", "a lower-case name (letters, digits, -)", stage);
  return createHash("sha256").update(canonicalJson({ stage, version: PIPELINE_CACHE_VERSION, inputs }, "inputs")).digest("hex").slice(0, 20);
}

export interface StageResult<T> {
  value: T;
  /** True when the folder already existed (nothing was built). */
  hit: boolean;
  dir: string;
  /** The info.json written by the build (including its measured seconds). */
  info: Record<string, unknown>;
}

/**
 * Returns the cached stage `stage-key` under `root`, building it first if missing:
 * `build(dir)` fills a fresh temporary folder and returns the info to record (JSON);
 * `load(dir, info)` reads a finished folder.
 */
export function cachedStage<T>(
  root: string, stage: string, key: string,
  build: (dir: string) => Record<string, unknown>,
  load: (dir: string, info: Record<string, unknown>) => T,
): StageResult<T> {
  const name = `${stage}-${key}`;
  const dir = path.join(root, name);
  const infoFile = path.join(dir, "info.json");
  let hit = fs.existsSync(infoFile);
  if (!hit) {
    fs.mkdirSync(root, { recursive: true });
    for (const stray of fs.readdirSync(root)) if (stray.startsWith(`${name}.tmp-`)) fs.rmSync(path.join(root, stray), { recursive: true, force: true });
    const temp = path.join(root, `${name}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
    fs.mkdirSync(temp);
    try {
      const started = performance.now();
      const info = build(temp);
      atomicWriteFile(path.join(temp, "info.json"), JSON.stringify({ stage, key, builtAt: new Date().toISOString(), seconds: (performance.now() - started) / 1000, ...info }, null, 1) + "\n");
      if (fs.existsSync(dir)) fs.rmSync(temp, { recursive: true, force: true }); // someone else finished first: keep theirs
      else fs.renameSync(temp, dir);
    } catch (e) {
      fs.rmSync(temp, { recursive: true, force: true });
      throw e;
    }
    hit = false;
  }
  const info = JSON.parse(fs.readFileSync(infoFile, "utf8")) as Record<string, unknown>;
  return { value: load(dir, info), hit, dir, info };
}
