/**
 * Sharding a sweep across machines: shard i of n runs the planned configs whose hash falls in
 * bucket i, into its own store; `merge.ts` joins the shard stores afterwards.
 *
 * Why by hash: the bucket of a config is a pure function of its configHash (first 8 hex digits
 * mod n), so every machine computes the same split without talking to the others, a config never
 * changes shard when the grid grows (new seeds, new axis values only add configs), and a shard
 * that is re-run (requeued job, retried pod) redoes exactly its own configs. The cost: shards are
 * balanced only on average (a 12-run grid over 8 shards gives some shards 0 runs, some 3).
 *
 * Where i and n come from:
 *   - `--shard i/n` (0-based i): `parseShard`;
 *   - a Slurm job array: SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN (ids may start at 1 or any
 *     number: index = (id − min) / step), SLURM_ARRAY_TASK_STEP, SLURM_ARRAY_TASK_COUNT;
 *   - a Kubernetes Indexed Job: JOB_COMPLETION_INDEX, with the count from GRADLAB_SHARD_COUNT
 *     (Kubernetes does not put `completions` in the environment) or an explicit argument;
 *   - anything else: GRADLAB_SHARD_INDEX + GRADLAB_SHARD_COUNT.
 * `shardFromEnvironment` returns null when none is set; `resolveShardFlag("auto" | "i/n")` is what
 * the sweep CLI's `--shard` flag calls. Each shard writes `reports/runs/<study>.shard-<i>-of-<n>.jsonl`
 * by default (`defaultShardStorePath`), so shards never share a store (one writer per store).
 */
import * as path from "node:path";
import { InvalidArgumentError } from "../errors";
import { projectRoot } from "./provenance";

/** Shard `index` (0-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

function checkCount(argument: string, count: unknown): number {
  if (typeof count !== "number" || !Number.isInteger(count) || count < 1) throw new InvalidArgumentError(argument, "a positive integer shard count", count);
  return count;
}

function checkShard(argument: string, shard: Shard): Shard {
  if (shard === null || typeof shard !== "object") throw new InvalidArgumentError(argument, "{index, count}", shard);
  const count = checkCount(`${argument}.count`, shard.count);
  if (!Number.isInteger(shard.index) || shard.index < 0 || shard.index >= count) {
    throw new InvalidArgumentError(`${argument}.index`, `an integer in [0, ${count - 1}] (0-based)`, shard.index);
  }
  return { index: shard.index, count };
}

/** The shard (0 … count−1) a config belongs to: first 8 hex digits of its hash, mod count. */
export function shardOf(configHash: string, count: number): number {
  if (typeof configHash !== "string" || !/^[0-9a-f]{8}/.test(configHash)) throw new InvalidArgumentError("configHash", "a hex config hash (64 hex digits)", configHash);
  return parseInt(configHash.slice(0, 8), 16) % checkCount("count", count);
}

/** The planned runs (anything with a configHash) that belong to `shard`, in plan order. */
export function selectShard<T extends { configHash: string }>(plan: readonly T[], shard: Shard): T[] {
  if (!Array.isArray(plan)) throw new InvalidArgumentError("plan", "an array of planned runs", plan);
  const { index, count } = checkShard("shard", shard);
  return plan.filter((run) => shardOf(run.configHash, count) === index);
}

/** Parses `i/n` (0-based i < n), e.g. the value of `--shard 3/8`. */
export function parseShard(text: string, argument = "--shard"): Shard {
  const m = typeof text === "string" ? /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text) : null;
  if (m === null) throw new InvalidArgumentError(argument, "i/n with 0 <= i < n, e.g. 0/8", text);
  const shard = { index: Number(m[1]), count: Number(m[2]) };
  if (shard.count < 1 || shard.index >= shard.count) throw new InvalidArgumentError(argument, "i/n with 0 <= i < n, e.g. 0/8 (i is 0-based)", text);
  return shard;
}

function intVar(env: NodeJS.ProcessEnv, name: string, min: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  if (!/^\s*\d+\s*$/.test(raw) || Number(raw) < min) throw new InvalidArgumentError(name, `an integer >= ${min}`, raw);
  return Number(raw);
}

function countFrom(env: NodeJS.ProcessEnv, countOverride: number | undefined, variable: string, scheduler: string): number {
  if (countOverride !== undefined) return checkCount("countOverride", countOverride);
  const count = intVar(env, variable, 1);
  if (count === undefined) throw new InvalidArgumentError(variable, `the number of shards (${scheduler} does not say how many there are; set ${variable}, or pass --shard i/n)`);
  return count;
}

function inRange(shard: Shard, source: string): Shard {
  if (shard.index >= shard.count) throw new InvalidArgumentError(source, `an index below the shard count ${shard.count} (0-based)`, shard.index);
  return shard;
}

/**
 * The shard this process is, from its scheduler's environment (see the module header), or null
 * when no scheduler variable is set. `countOverride` replaces the environment's count.
 * Malformed or inconsistent variables are InvalidArgumentErrors naming the variable.
 */
export function shardFromEnvironment(env: NodeJS.ProcessEnv = process.env, countOverride?: number): Shard | null {
  if (env === null || typeof env !== "object") throw new InvalidArgumentError("env", "an environment object (process.env)", env);
  const slurm = intVar(env, "SLURM_ARRAY_TASK_ID", 0);
  const k8s = intVar(env, "JOB_COMPLETION_INDEX", 0);
  const generic = intVar(env, "GRADLAB_SHARD_INDEX", 0);
  const set = [slurm !== undefined && "SLURM_ARRAY_TASK_ID", k8s !== undefined && "JOB_COMPLETION_INDEX", generic !== undefined && "GRADLAB_SHARD_INDEX"].filter(Boolean);
  if (set.length > 1) throw new InvalidArgumentError(String(set[1]), `unset (only one shard index may be set; ${set.join(" and ")} are)`, env[String(set[1])]);
  if (slurm !== undefined) {
    const min = intVar(env, "SLURM_ARRAY_TASK_MIN", 0) ?? 0, step = intVar(env, "SLURM_ARRAY_TASK_STEP", 1) ?? 1;
    if (slurm < min || (slurm - min) % step !== 0) {
      throw new InvalidArgumentError("SLURM_ARRAY_TASK_ID", `min + k*step (SLURM_ARRAY_TASK_MIN=${min}, SLURM_ARRAY_TASK_STEP=${step}); use a range like --array=0-7 or --shard i/n`, slurm);
    }
    const count = countFrom(env, countOverride, "SLURM_ARRAY_TASK_COUNT", "this Slurm");
    return inRange({ index: (slurm - min) / step, count }, "SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN; ids must form one range like --array=0-7 or 1-8)");
  }
  if (k8s !== undefined) return inRange({ index: k8s, count: countFrom(env, countOverride, "GRADLAB_SHARD_COUNT", "Kubernetes") }, "JOB_COMPLETION_INDEX");
  if (generic !== undefined) return inRange({ index: generic, count: countFrom(env, countOverride, "GRADLAB_SHARD_COUNT", "GRADLAB_SHARD_INDEX") }, "GRADLAB_SHARD_INDEX");
  return null;
}

/** `--shard auto` → the environment's shard (an error if there is none); `--shard i/n` → parseShard. */
export function resolveShardFlag(value: string, env: NodeJS.ProcessEnv = process.env, argument = "--shard"): Shard {
  if (value === "auto") {
    const shard = shardFromEnvironment(env);
    if (shard === null) throw new InvalidArgumentError(argument, "i/n, or auto inside a Slurm array job (SLURM_ARRAY_TASK_ID) or Kubernetes Indexed Job (JOB_COMPLETION_INDEX + GRADLAB_SHARD_COUNT); none of those variables is set", value);
    return shard;
  }
  return parseShard(value, argument);
}

/** `<project>/reports/runs/<study>.shard-<i>-of-<n>.jsonl` (in `dir` if given). */
export function defaultShardStorePath(study: string, shard: Shard, dir = path.join(projectRoot(), "reports", "runs")): string {
  if (typeof study !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(study)) throw new InvalidArgumentError("study", "a study name", study);
  const { index, count } = checkShard("shard", shard);
  return path.join(dir, `${study}.shard-${index}-of-${count}.jsonl`);
}

/** Every shard store of a split into `count` (what to pass to merge-runs). */
export function shardStorePaths(study: string, count: number, dir?: string): string[] {
  return Array.from({ length: checkCount("count", count) }, (_, index) => defaultShardStorePath(study, { index, count }, dir));
}
