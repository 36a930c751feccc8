/**
 * Reads LESS features made in PyTorch by scripts/torch_less.py: one gradlab feature store per
 * warm-up checkpoint (ckpt-<k>/, unit rows of the projected — for pool runs Adam-preconditioned —
 * per-example LoRA gradients) plus less-manifest.json, possibly split over shard folders.
 *
 * Which function when:
 *  - `readLessFeatures(dirs)`: one role (pool or target), all its shards: validates that every
 *    shard finished, that they come from the same settings (data, model, checkpoints, weights,
 *    projection, form) and that shards 0 … n−1 are each there once, then concatenates each
 *    checkpoint's rows in shard order (shards are contiguous row ranges, so this is the data order).
 *  - `lessCheckpointsFromBridge(pool, target)`: the `LessCheckpoint[]` that `g2is.lessScores` /
 *    `g2is.selectLess` take (pool rows, target rows, checkpoint weight η), after checking the two
 *    runs share checkpoints and projection. For the G2IS walk, pass one checkpoint's pool and target
 *    rows to `g2is.selectG2IS`.
 * Errors name the folder and the file; nothing is returned from a partial or mismatched set.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { EmptyInputError, FileFormatError, InvalidArgumentError } from "../errors";
import { openFeatureStore } from "../features/feature-store";
import type { LessCheckpoint } from "../g2is/less";

/** The manifest torch_less.py writes (fields gradlab reads). */
export interface LessBridgeManifest {
  format: string;
  version: number;
  complete: boolean;
  role: "pool" | "target";
  adam_form: "less" | "bias-corrected" | null;
  data: { file: string; sha256: string };
  n_examples: number;
  parameters: number;
  projection: { kind: "rademacher"; seed: number | string; dim: number; blockRows: number; inputDim: number };
  checkpoints: { dir: string; weight: number; step: number | null; scale: number; store: string; adapters: string[] }[];
  shard: { index: number; count: number; start: number; end: number };
  settings_hash: string;
  [key: string]: unknown;
}

/** One checkpoint's features over all shards. */
export interface LessBridgeCheckpoint {
  /** The checkpoint folder the features were computed at. */
  dir: string;
  /** η: the checkpoint's weight in the LESS score. */
  weight: number;
  /** Optimizer steps at the checkpoint (null for a target run that read no optimizer). */
  step: number | null;
  /** One unit row per example, in data order. */
  rows: Float32Array[];
}

/** What `readLessFeatures` returns. */
export interface LessBridgeFeatures {
  role: "pool" | "target";
  adamForm: "less" | "bias-corrected" | null;
  checkpoints: LessBridgeCheckpoint[];
  projection: LessBridgeManifest["projection"];
  /** Examples in the data file (the rows of every checkpoint). */
  n: number;
  /** The shards' manifests, in shard order. */
  manifests: LessBridgeManifest[];
}

/** The `format` of torch_less.py's less-manifest.json. */
export const LESS_BRIDGE_FORMAT = "gradlab-less-features";

function readManifest(dir: string): LessBridgeManifest {
  const file = path.join(dir, "less-manifest.json");
  if (!fs.existsSync(file)) throw new FileFormatError(file, "missing: not a torch_less.py output folder");
  let m: LessBridgeManifest;
  try {
    m = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new FileFormatError(file, `not valid JSON (${(e as Error).message})`);
  }
  if (m?.format !== LESS_BRIDGE_FORMAT || m.version !== 1) throw new FileFormatError(file, `format ${JSON.stringify(m?.format)} version ${m?.version}; expected ${LESS_BRIDGE_FORMAT} 1`);
  if (m.complete !== true) throw new FileFormatError(file, "complete is false: the run was interrupted (rerun the same command to resume it)");
  if (!Array.isArray(m.checkpoints) || m.checkpoints.length === 0) throw new FileFormatError(file, "no checkpoints");
  return m;
}

/** The settings every shard of one run must share (everything but the shard itself). */
function runKey(m: LessBridgeManifest): string {
  return JSON.stringify({
    role: m.role, form: m.adam_form, data: m.data.sha256, n: m.n_examples, model: m["model"], projection: m.projection, count: m.shard.count,
    checkpoints: m.checkpoints.map((c) => [c.weight, c.step, c.scale, c.adapters]),
  });
}

/**
 * All shards of one torch_less.py run (one folder, or one per shard in any order), merged.
 *
 * @example
 * const pool = lab.bridge.readLessFeatures(["runs/pool.shard-0-of-2", "runs/pool.shard-1-of-2"]);
 * const target = lab.bridge.readLessFeatures("runs/target");
 * const scores = lab.g2is.lessScores(lab.bridge.lessCheckpointsFromBridge(pool, target));
 */
export function readLessFeatures(dirs: string | readonly string[]): LessBridgeFeatures {
  const list = typeof dirs === "string" ? [dirs] : dirs;
  if (!Array.isArray(list)) throw new InvalidArgumentError("dirs", "a folder or an array of shard folders", dirs);
  if (list.length === 0) throw new EmptyInputError("dirs", "at least one folder");
  const shards = list.map((dir) => ({ dir, m: readManifest(dir) }));
  const key = runKey(shards[0].m);
  for (const s of shards) {
    if (runKey(s.m) !== key) throw new InvalidArgumentError("dirs", `shards of one run (${s.dir} has other settings than ${shards[0].dir})`, s.dir);
  }
  const count = shards[0].m.shard.count;
  shards.sort((a, b) => a.m.shard.index - b.m.shard.index);
  const indices = shards.map((s) => s.m.shard.index);
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !indices.includes(i));
  if (missing.length > 0 || indices.length !== count) {
    throw new InvalidArgumentError("dirs", `every shard 0…${count - 1} exactly once (missing: ${missing.join(", ") || "none"}; given: ${indices.join(", ")})`, list);
  }
  const { m } = shards[0];
  const checkpoints: LessBridgeCheckpoint[] = m.checkpoints.map((c, k) => {
    const rows: Float32Array[] = [];
    for (const s of shards) {
      const store = openFeatureStore(path.join(s.dir, s.m.checkpoints[k].store));
      const expected = s.m.shard.end - s.m.shard.start;
      if (store.rows !== expected || store.dim !== m.projection.dim) {
        throw new FileFormatError(path.join(s.dir, s.m.checkpoints[k].store, "meta.json"), `${store.rows} × ${store.dim}; the manifest says ${expected} × ${m.projection.dim}`);
      }
      for (const row of store.readAll()) rows.push(row);
    }
    return { dir: c.dir, weight: c.weight, step: c.step, rows };
  });
  if (checkpoints[0].rows.length !== m.n_examples) throw new FileFormatError(shards[0].dir, `the shards hold ${checkpoints[0].rows.length} rows; the data has ${m.n_examples}`);
  return { role: m.role, adamForm: m.adam_form, checkpoints, projection: m.projection, n: m.n_examples, manifests: shards.map((s) => s.m) };
}

/** LESS checkpoints from a pool run and a target run made at the same checkpoints and projection. */
export function lessCheckpointsFromBridge(pool: LessBridgeFeatures, target: LessBridgeFeatures): LessCheckpoint[] {
  if (pool?.role !== "pool") throw new InvalidArgumentError("pool", "features of a --role pool run", pool?.role);
  if (target?.role !== "target") throw new InvalidArgumentError("target", "features of a --role target run", target?.role);
  if (JSON.stringify(pool.projection) !== JSON.stringify(target.projection)) {
    throw new InvalidArgumentError("target", "the pool's projection (same seed, dim, blockRows, parameters)", target.projection);
  }
  if (pool.checkpoints.length !== target.checkpoints.length || pool.checkpoints.some((c, k) => c.dir !== target.checkpoints[k].dir || c.weight !== target.checkpoints[k].weight)) {
    throw new InvalidArgumentError("target", "the pool's checkpoints, in the same order and with the same weights", target.checkpoints.map((c) => c.dir));
  }
  return pool.checkpoints.map((c, k) => ({ pool: c.rows, targets: [target.checkpoints[k].rows], weight: c.weight }));
}
