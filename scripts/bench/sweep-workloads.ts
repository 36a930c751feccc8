/**
 * Sweep throughput: the quick PRISM grid (38 real training runs) with `--jobs 2` against
 * `--jobs 1`, both run in this command as whole `npm run sweep` processes into fresh stores, so
 * process start-up, worker start-up and the shared base stage are all inside the measurement.
 * ratio = jobs-1 wall time ÷ jobs-2 wall time (> 1 = the pool is faster; 2 is the ceiling on two
 * cores). The two stores must hold the same configs with the same metrics (wall-clock fields aside)
 * — the pool changes where runs execute, never what they compute — and the row's notes say whether they did.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { RunStore } from "../../kernel-lib/experiments/run-store";
import type { BenchResult } from "./harness";

const root = join(__dirname, "..", "..");

function sweep(store: string, jobs: number): number {
  const started = performance.now();
  const run = spawnSync(process.execPath, ["--require", "tsx/cjs", join(root, "scripts", "sweep.ts"), "--study", "prism", "--preset", "quick", "--store", store, "--jobs", String(jobs), "--progress", "none"], {
    cwd: root, encoding: "utf8", env: { ...process.env, FORCE_COLOR: "0" }, maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`sweep --jobs ${jobs} failed (exit ${run.status}): ${(run.stderr || run.stdout).slice(-2000)}`);
  return (performance.now() - started) / 1000;
}

/** Metrics without wall-clock fields (any key naming seconds): those differ between any two runs. */
function computed(metrics: unknown): string {
  return JSON.stringify(metrics, (key, value) => (/seconds/i.test(key) ? undefined : value));
}

/** Same configs, same computed metrics in both stores (the count of configs whose metrics differ). */
function differences(a: string, b: string): { configs: number; differing: number } {
  const left = new Map(RunStore.open(a).runs({ status: "ok" }).map((r) => [r.configHash, computed(r.metrics)]));
  const right = RunStore.open(b).runs({ status: "ok" });
  return { configs: left.size, differing: right.filter((r) => left.get(r.configHash) !== computed(r.metrics)).length + Math.abs(left.size - right.length) };
}

/** Per-run wall-clock seconds of a store, longest first (what bounds a two-worker sweep). */
export function runSeconds(store: string): number[] {
  return RunStore.open(store).runs({ status: "ok" }).map((r) => r.wallSeconds).sort((x, y) => y - x);
}

export function benchSweepJobs(workdir: string): BenchResult[] {
  const one = join(workdir, "sweep-jobs1.jsonl"), two = join(workdir, "sweep-jobs2.jsonl");
  const serial = sweep(one, 1);
  const parallel = sweep(two, 2);
  const diff = differences(one, two);
  return [{
    id: "sweep.jobs2_vs_jobs1", value: parallel, unit: "s", baseline: "the same quick PRISM grid with --jobs 1", baselineValue: serial, ratio: serial / parallel,
    notes: `${diff.configs} runs; ${diff.differing === 0 ? "identical metrics in both stores (wall-clock fields aside)" : `${diff.differing} configs DIFFER between the stores (wall-clock fields aside)`}`,
  }];
}
