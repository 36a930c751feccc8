/**
 * The local worker pool (kernel-lib/experiments/pool.ts) through runSweep({ jobs }): real child
 * processes, each with its own backend, the parent the only writer of the store. Checked: a
 * 2-worker sweep stores every config exactly once with the same metrics as the in-process sweep;
 * progress within runs reaches the parent; a worker that dies mid-run becomes a failed record for
 * that run only and the sweep goes on (the next sweep retries it); affinity keeps a worker on its
 * key; a study a worker cannot load is refused with a clear error.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { RunStore, runSweep, defineStudy, planSweep, SweepEvent } from "../kernel-lib/experiments";
import { WorkerPool, defaultJobs } from "../kernel-lib/experiments/pool";
import { study as fixtureStudy, expectedMetrics, FixtureConfig } from "./fixtures/sweep-study";
import { InvalidArgumentError } from "../kernel-lib/errors";
import { expectError } from "./helpers";

const FIXTURE_MODULE = path.join(__dirname, "fixtures", "sweep-study.ts");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gradlab-pool-"));
const tmp = (name: string) => path.join(dir, name);
const savedEnv = { ...process.env };

test.after.each(() => { process.env = { ...savedEnv }; });
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

function okCounts(file: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "")) {
    const r = JSON.parse(line);
    if (r.status === "ok") counts.set(r.configHash, (counts.get(r.configHash) ?? 0) + 1);
  }
  return counts;
}

test("jobs: 2 stores every config once, with the metrics of the in-process sweep; progress comes from the workers", async () => {
  process.env.SWEEP_FIXTURE_SLEEP_MS = "200";
  const events: SweepEvent[] = [];
  const parallel = await runSweep(fixtureStudy, { preset: "quick", store: tmp("pool.jsonl"), jobs: 2, studyModule: FIXTURE_MODULE, onProgress: (e) => events.push(e) });
  const serial = await runSweep(fixtureStudy, { preset: "quick", store: tmp("serial.jsonl"), onProgress: () => {} });
  assert.equal([parallel.summary.done, parallel.summary.failed, parallel.summary.planned], [12, 0, 12]);
  const counts = okCounts(tmp("pool.jsonl"));
  assert.is(counts.size, 12);
  assert.ok([...counts.values()].every((c) => c === 1), "exactly one ok line per config");
  const bySerial = new Map(serial.records.map((r) => [r.configHash, r]));
  for (const r of parallel.records) {
    assert.equal(r.metrics, expectedMetrics(r.config as unknown as FixtureConfig, r.seed) as unknown as typeof r.metrics, `${r.runId} metrics = oracle`);
    assert.equal(r.metrics, bySerial.get(r.configHash)!.metrics, `${r.runId} = in-process run`);
    assert.type(r.backend, "string", "each worker initialised its own backend");
  }
  const progress = events.filter((e) => e.type === "run-progress") as Extract<SweepEvent, { type: "run-progress" }>[];
  assert.is(progress.length, 12, "one progress report per run, sent by the worker");
  assert.ok(progress.every((e) => e.fraction === 0.5 && e.note === "half"));
  const start = events.find((e) => e.type === "sweep-start") as Extract<SweepEvent, { type: "sweep-start" }>;
  assert.is(start.jobs, 2);
});

test("runs overlap: with 2 workers two runs are in progress at once, in two different processes", async () => {
  process.env.SWEEP_FIXTURE_SLEEP_MS = "300";
  process.env.SWEEP_FIXTURE_MARKERS = tmp("markers.txt");
  process.env.SWEEP_FIXTURE_PIDS = "1";
  let active = 0, most = 0;
  await runSweep(fixtureStudy, { preset: "quick", store: tmp("overlap.jsonl"), jobs: 2, studyModule: FIXTURE_MODULE, onProgress: (e) => {
    if (e.type === "run-start") most = Math.max(most, ++active);
    if (e.type === "run-end") active--;
  } });
  assert.is(most, 2, "two runs in progress at once");
  const pids = new Set(fs.readFileSync(tmp("markers.txt"), "utf8").split("\n").filter(Boolean).map((l) => /pid (\d+)/.exec(l)![1]));
  assert.is(pids.size, 2, "two worker processes");
  assert.not.ok(pids.has(String(process.pid)), "no run in the parent");
});

test("a worker dying mid-run fails that run only; the sweep goes on; the next sweep retries it", async () => {
  process.env.SWEEP_FIXTURE_SLEEP_MS = "100";
  process.env.SWEEP_FIXTURE_CRASH = "b";
  const crashed = await runSweep(fixtureStudy, { preset: "quick", store: tmp("crash.jsonl"), jobs: 2, studyModule: FIXTURE_MODULE, onProgress: () => {} });
  assert.equal([crashed.summary.done, crashed.summary.failed], [8, 4], "the 4 arm-b runs failed, the 8 others finished");
  const failed = crashed.records.filter((r) => r.status === "failed");
  assert.ok(failed.every((r) => (r.config as FixtureConfig).arm === "b" && /exited mid-run \(code 3/.test(r.error ?? "")), failed.map((r) => r.error).join("\n"));
  delete process.env.SWEEP_FIXTURE_CRASH;
  const retried = await runSweep(fixtureStudy, { preset: "quick", store: tmp("crash.jsonl"), jobs: 2, studyModule: FIXTURE_MODULE, onProgress: () => {} });
  assert.equal([retried.summary.skipped, retried.summary.done, retried.summary.failed], [8, 4, 0]);
  const store = RunStore.open(tmp("crash.jsonl"));
  assert.is(store.runs({ status: "failed" }).length, 4);
  assert.ok(store.runs({ status: "ok" }).every((r) => r.runId.endsWith(r.config.arm === "b" ? "-2" : "-1")), "retried runs are attempt 2");
});

test("affinity: a free worker takes a pending run with its previous key first", async () => {
  process.env.SWEEP_FIXTURE_SLEEP_MS = "10";
  const pool = await WorkerPool.start({ jobs: 1, study: "sweep-fixture", studyModule: FIXTURE_MODULE }, "quick");
  try {
    const plan = planSweep(fixtureStudy, { preset: "quick" });
    const task = (i: number, affinity: string) => ({ run: plan[i], attempt: 1, index: i, toRun: plan.length, affinity, onProgress: () => {} });
    const first = await pool.run(0, task(0, "x"));
    assert.is(first.status, "ok");
    assert.equal(pool.pick([task(1, "y"), task(2, "x"), task(3, "x")]), { worker: 0, task: 1 });
    assert.equal(pool.pick([task(1, "y"), task(2, "z")]), { worker: 0, task: 0 }, "no match: the first pending run");
  } finally {
    pool.close();
  }
});

test("a study a worker process cannot load is refused before any run; bad jobs values are typed errors", async () => {
  const inline = defineStudy({
    name: "inline-only",
    presets: { quick: { axes: { a: [1, 2] }, seeds: [0] }, default: { axes: { a: [1] }, seeds: [0] }, paper: { axes: { a: [1] }, seeds: [0] } },
  }, () => ({ metrics: { x: 1 } }));
  await expectError(() => runSweep(inline, { preset: "quick", store: tmp("inline.jsonl"), jobs: 2, onProgress: () => {} }), InvalidArgumentError, "studyModule");
  assert.not.ok(fs.existsSync(tmp("inline.jsonl")), "nothing written");
  assert.ok(defaultJobs() >= 1);
});

// ---- the CLI: --jobs, --shard (explicit and from a Slurm array's environment), merge ----------

const ROOT = path.join(__dirname, "..");
function cli(script: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ["--require", "tsx/cjs", path.join(ROOT, "scripts", script), ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, SWEEP_FIXTURE_SLEEP_MS: "50", ...env } });
}
const sweepArgs = (store: string, ...extra: string[]) => ["--study-module", FIXTURE_MODULE, "--preset", "quick", "--store", store, "--progress", "none", ...extra];

test("CLI: shard stores (one explicit, one from SLURM_ARRAY_* variables) merge into the store of a single run", () => {
  const single = cli("sweep.ts", sweepArgs(tmp("cli-single.jsonl"), "--jobs", "2"));
  assert.is(single.status, 0, single.stderr);
  const first = cli("sweep.ts", sweepArgs(tmp("cli-shard0.jsonl"), "--shard", "0/2", "--jobs", "1"));
  assert.is(first.status, 0, first.stderr);
  const second = cli("sweep.ts", sweepArgs(tmp("cli-shard1.jsonl"), "--shard", "auto"), { SLURM_ARRAY_TASK_ID: "2", SLURM_ARRAY_TASK_MIN: "1", SLURM_ARRAY_TASK_COUNT: "2" });
  assert.is(second.status, 0, second.stderr);
  const sizes = ["cli-shard0.jsonl", "cli-shard1.jsonl"].map((f) => RunStore.open(tmp(f)).size);
  assert.is(sizes[0] + sizes[1], 12, `the shards split the grid (${sizes.join(" + ")})`);
  const merged = cli("merge-runs.ts", ["--out", tmp("cli-merged.jsonl"), tmp("cli-shard0.jsonl"), tmp("cli-shard1.jsonl")]);
  assert.is(merged.status, 0, merged.stdout + merged.stderr);
  const a = new Map(RunStore.open(tmp("cli-single.jsonl")).runs().map((r) => [r.configHash, r]));
  const b = RunStore.open(tmp("cli-merged.jsonl")).runs();
  assert.is(b.length, 12);
  for (const r of b) assert.equal(r.metrics, a.get(r.configHash)!.metrics, `${r.runId}: same metrics as the single run`);
});

test("CLI: bad --jobs / --shard values and --queue with --jobs are usage errors (exit 2, one line)", () => {
  for (const extra of [["--jobs", "0"], ["--jobs", "two"], ["--shard", "3/2"], ["--shard", "auto"], ["--queue", "redis://127.0.0.1:1", "--jobs", "2"]]) {
    const run = cli("sweep.ts", sweepArgs(tmp("never-cli.jsonl"), ...extra), { SLURM_ARRAY_TASK_ID: "", JOB_COMPLETION_INDEX: "" });
    assert.is(run.status, 2, `${extra.join(" ")}: ${run.stderr}`);
    assert.is(run.stderr.trim().split("\n").length, 1, run.stderr);
  }
  assert.not.ok(fs.existsSync(tmp("never-cli.jsonl")));
});

test.run();
