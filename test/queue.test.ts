/**
 * Queue sweeps (kernel-lib/experiments/queue.ts) against a real redis-server (test/redis-server.ts):
 * a coordinator and two real worker processes, one SIGKILLed mid-run; a coordinator killed and
 * restarted mid-sweep; a worker-side crash; the CLIs' errors. Fails (does not skip) without Redis.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Queue } from "bullmq";
import Redis from "ioredis";
import { InvalidArgumentError, UnknownOptionError } from "../kernel-lib/errors";
import { QueueConnectionError, queueNameFor, runSweepOnQueue, startQueueWorker } from "../kernel-lib/experiments/queue";
import { QUEUE_PREFIX, SWEEPS_KEY, acquireCoordinatorLock } from "../kernel-lib/experiments/queue-redis";
import { RunStore } from "../kernel-lib/experiments/run-store";
import { SweepEvent, planSweep } from "../kernel-lib/experiments/sweep";
import { expectedQueueMetrics, study, QueueFixtureConfig } from "./fixtures/queue-study";
import { expectError } from "./helpers";
import { RedisServer, startRedisServer } from "./redis-server";

const ROOT = path.resolve(__dirname, "..");
const FIXTURE = path.join(ROOT, "test", "fixtures", "queue-study.ts");
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "gradlab-queue-"));
const tmp = (name: string) => path.join(TMP, name);
const PLAN = planSweep(study, { preset: "quick" });
// Short enough that a killed worker's job is recovered within seconds, long enough that a busy 2-core CI machine
// still renews the lock in time (renewal runs every lock/2 in the worker's main process).
const FAST_WORKER = ["--discover-ms", "200", "--lock-ms", "5000", "--stalled-ms", "2500"];

let redis: RedisServer | null = null;
let redisError: unknown = null;
const children = new Set<ChildProcess>();

test.before(async () => {
  try { redis = await startRedisServer(); } catch (e) { redisError = e; }
});
test.after(async () => {
  for (const child of children) try { process.kill(-child.pid!, "SIGKILL"); } catch { /* gone */ }
  await redis?.stop();
  fs.rmSync(TMP, { recursive: true, force: true });
});

function url(): string {
  if (redis === null) throw redisError; // the clear "redis-server is not installed …" error: the test FAILS
  return redis.url;
}

interface Proc { child: ChildProcess; output: () => string; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> }

/** Runs `node --require tsx/cjs <script> args` in its own process group (so the test can kill it all). */
function start(script: string, args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, ["--require", "tsx/cjs", path.join(ROOT, "scripts", script), ...args], {
    cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FORCE_COLOR: "0", ...env },
  });
  children.add(child);
  let out = "";
  child.stdout!.on("data", (d) => { out += d; });
  child.stderr!.on("data", (d) => { out += d; });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => { children.delete(child); resolve({ code, signal }); }));
  return { child, output: () => out, exit };
}
const coordinator = (store: string, env: Record<string, string> = {}) =>
  start("sweep.ts", ["--study-module", FIXTURE, "--preset", "quick", "--store", store, "--progress", "lines", "--queue", url()], env);
const worker = (env: Record<string, string> = {}) => start("worker.ts", ["--queue", url(), ...FAST_WORKER], env);

async function waitFor(what: string, timeoutMs: number, ok: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
async function exited(p: Proc, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`process did not exit within ${timeoutMs} ms; output:\n${p.output()}`)), timeoutMs).unref());
  return Promise.race([p.exit, timer]);
}

/** True while a process of the process group `pgid` is running (zombies awaiting a reaper do not count). */
function groupAlive(pgid: number): boolean {
  for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    let stat: string;
    try { stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8"); } catch { continue; } // exited meanwhile
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // after "pid (comm) "
    if (Number(pgrp) === pgid && state !== "Z" && state !== "X") return true;
  }
  return false;
}

/** Marker lines of the fixture: [what, configHash, worker pid]. */
const markers = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => l.split(" ")) : []);
const storeLines = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)) : []);
function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const item of items) out.set(key(item), (out.get(key(item)) ?? 0) + 1);
  return out;
}

test("two workers, one SIGKILLed mid-run: every config stored exactly once, the killed run finished by the other", async () => {
  const store = tmp("kill-worker.jsonl"), marks = tmp("kill-worker.markers");
  const env = { QUEUE_FIXTURE_MARKERS: marks, QUEUE_FIXTURE_SLEEP_MS: "800" };
  const a = worker(env), b = worker(env);
  const c = coordinator(store, env);
  // Kill A while it is inside its second run (the first may include the child's start-up).
  await waitFor("worker A to start its second run", 60000, () => markers(marks).filter(([w, , pid]) => w === "start" && pid === String(a.child.pid)).length >= 2);
  const killed = markers(marks).filter(([w, , pid]) => w === "start" && pid === String(a.child.pid)).pop()![1];
  process.kill(a.child.pid!, "SIGKILL"); // the worker only: its sandboxed child must notice and stop too
  assert.is((await exited(a, 5000)).signal, "SIGKILL");
  await waitFor("the killed worker's sandboxed child to exit as well", 5000, () => !groupAlive(a.child.pid!));
  const result = await exited(c, 60000);
  assert.is(result.code, 0, c.output());

  const lines = storeLines(store);
  assert.is(lines.length, PLAN.length, "one line per planned config");
  assert.ok(lines.every((r) => r.status === "ok"), "every run ok");
  assert.equal([...countBy(lines, (r) => r.configHash).values()].every((n) => n === 1), true, "no config stored twice");
  assert.equal(new Set(lines.map((r) => r.configHash)), new Set(PLAN.map((r) => r.configHash)));
  for (const r of lines) assert.equal(r.metrics, expectedQueueMetrics(r.config as QueueFixtureConfig, r.seed));

  const m = markers(marks);
  const starts = countBy(m.filter(([w]) => w === "start"), ([, h]) => h);
  for (const run of PLAN) assert.is(starts.get(run.configHash), run.configHash === killed ? 2 : 1, `starts of ${run.label}`);
  const ends = m.filter(([w, h]) => w === "end" && h === killed).map(([, , pid]) => pid);
  assert.equal(ends, [String(b.child.pid)], "the killed run was finished by the other worker, and only there");
  assert.match(c.output(), /\[12\/12\] ok /);

  b.child.kill("SIGTERM");
  assert.is((await exited(b, 15000)).code, 0, b.output());
  assert.match(b.output(), /left queue-fixture-/);
  const client = new Redis(url());
  try { assert.is(await client.hlen(SWEEPS_KEY), 0, "the sweep withdrew its announcement"); } finally { client.disconnect(); }
});

test("a coordinator killed mid-sweep and restarted stores what finished meanwhile, runs nothing twice; failed runs stored, exit 1", async () => {
  const store = tmp("kill-coordinator.jsonl"), marks = tmp("kill-coordinator.markers");
  const env = { QUEUE_FIXTURE_MARKERS: marks, QUEUE_FIXTURE_SLEEP_MS: "300", QUEUE_FIXTURE_FAIL: "c" };
  const w = worker(env);
  const c1 = coordinator(store, env);
  await waitFor("three stored runs", 60000, () => storeLines(store).length >= 3);
  process.kill(c1.child.pid!, "SIGKILL");
  await exited(c1, 5000);
  const storedBefore = storeLines(store).length;
  const queue = new Queue(queueNameFor(study.name, store), { connection: { host: "127.0.0.1", port: redis!.port, maxRetriesPerRequest: null }, prefix: QUEUE_PREFIX });
  let waiting: string[];
  try {
    await waitFor("two results waiting in Redis", 40000, async () => (await queue.getCompletedCount()) >= 2);
    waiting = (await queue.getCompleted()).map((j) => j.id!);
  } finally {
    await queue.close();
  }
  const c2 = coordinator(store, env);
  const result = await exited(c2, 60000);
  assert.is(result.code, 1, `some runs failed → exit 1\n${c2.output()}`);
  assert.match(c2.output(), new RegExp(`${storedBefore} already in store`));
  assert.match(c2.output(), /failed 4 of 12 planned/);

  const lines = storeLines(store);
  assert.is(lines.length, PLAN.length, `one line per config: ${lines.length}`);
  assert.ok([...countBy(lines, (r) => r.configHash).values()].every((n) => n === 1), "no config stored twice");
  for (const hash of waiting) assert.ok(lines.some((r) => r.configHash === hash), "a result that waited in Redis was stored");
  for (const r of lines) {
    if (r.config.arm === "c") assert.equal([r.status, r.error], ["failed", "Error: arm c fails on purpose"]);
    else assert.equal([r.status, r.metrics], ["ok", expectedQueueMetrics(r.config as QueueFixtureConfig, r.seed)]);
  }
  const starts = countBy(markers(marks).filter(([x]) => x === "start"), ([, h]) => h);
  for (const run of PLAN) assert.is(starts.get(run.configHash), 1, `${run.label} ran once`);
  process.kill(-w.child.pid!, "SIGKILL");
  await exited(w, 5000);
});

test("library API: a crashing run's job is retried, then stored as failed; events and summary", async () => {
  const store = tmp("api.jsonl");
  process.env.QUEUE_FIXTURE_CRASH = "b"; // read by the worker's child processes (forked with this env)
  process.env.QUEUE_FIXTURE_SLEEP_MS = "100";
  const lines: string[] = [];
  const handle = await startQueueWorker({ queue: url(), studyModule: FIXTURE, concurrency: 2, discoverMs: 100, log: (l) => lines.push(l) });
  const events: SweepEvent[] = [];
  try {
    const result = await runSweepOnQueue(study, {
      queue: url(), preset: "quick", store, seeds: [0], only: { arm: ["a", "b"] }, studyModule: FIXTURE,
      attempts: 2, retryDelayMs: 100, pollMs: 100, onProgress: (e) => events.push(e),
    });
    assert.equal([result.summary.planned, result.summary.done, result.summary.failed, result.summary.notRun], [4, 2, 2, 0]);
    assert.is(result.records.length, 4);
    for (const r of result.records) {
      if (r.config.arm === "a") assert.is(r.status, "ok");
      else assert.match(r.error ?? "", /^queue: the job failed on the worker after 2 attempt\(s\): /);
    }
    assert.is(events.filter((e) => e.type === "run-end").length, 4);
    assert.ok(events.some((e) => e.type === "run-start") && events.some((e) => e.type === "run-progress"), "start and progress events arrive from the workers");
    assert.equal([events[0].type, events[events.length - 1].type], ["sweep-start", "sweep-end"]);
    assert.is(RunStore.open(store).runs().length, 4);
  } finally {
    delete process.env.QUEUE_FIXTURE_CRASH;
    delete process.env.QUEUE_FIXTURE_SLEEP_MS;
    await handle.close();
  }
  assert.ok(lines.some((l) => l.includes("failed on this worker")), lines.join("\n"));
  await expectError(() => runSweepOnQueue(study, { queue: url(), preset: "quick", store, bogus: 1 } as never), UnknownOptionError, "bogus");
  await expectError(() => runSweepOnQueue(study, { queue: "localhost:6379", preset: "quick", store }), InvalidArgumentError, "options.queue: expected a Redis URL");
  await expectError(() => startQueueWorker({ queue: url(), concurrency: 0 }), InvalidArgumentError, "options.concurrency");
  await expectError(() => startQueueWorker({ queue: "redis://127.0.0.1:1" }), QueueConnectionError, "cannot reach Redis at redis://127.0.0.1:1");
});

test("coordinator lock: a holder on another host is waited for, then named; a dead one on this host is taken over", async () => {
  const client = new Redis(url());
  try {
    const key = `${QUEUE_PREFIX}:lock-test:coordinator`;
    await client.set(key, JSON.stringify({ host: "elsewhere", pid: 4242, token: "x" }), "PX", 60000);
    const t0 = Date.now();
    await expectError(() => acquireCoordinatorLock(client, "lock-test", 300), InvalidArgumentError, "elsewhere pid 4242 holds");
    assert.ok(Date.now() - t0 >= 300, "waited for the TTL first");
    await client.set(key, JSON.stringify({ host: os.hostname(), pid: 2 ** 22 + 1, token: "y" }), "PX", 60000); // no such pid
    const lock = await acquireCoordinatorLock(client, "lock-test", 300);
    assert.is(JSON.parse((await client.get(key))!).pid, process.pid);
    await lock.release();
    assert.is(await client.exists(key), 0);
  } finally {
    client.disconnect();
  }
});

test("the compiled library (dist/, plain node without tsx) runs a queue sweep with its .js processor", async () => {
  const dist = path.join(ROOT, "dist", "kernel-lib", "experiments");
  assert.ok(fs.existsSync(path.join(dist, "queue-processor.js")), "dist/ is missing the queue modules: run `npm run build` first");
  fs.writeFileSync(tmp("dist-study.js"), `
const { defineStudy } = require(${JSON.stringify(path.join(dist, "sweep.js"))});
const { registerStudy } = require(${JSON.stringify(path.join(dist, "registry.js"))});
const grid = { axes: { x: [1, 2, 3] }, fixed: {}, seeds: [0] };
exports.study = registerStudy(defineStudy({ name: "dist-fixture", presets: { quick: grid, default: grid, paper: grid } },
  async (config, seed) => ({ metrics: { y: config.x * 2 + seed, tsx: typeof require.extensions[".ts"] === "function" } })));
`);
  fs.writeFileSync(tmp("dist-run.js"), `
const q = require(${JSON.stringify(path.join(dist, "queue.js"))});
const { study } = require("./dist-study.js");
(async () => {
  const url = process.argv[2], studyModule = require.resolve("./dist-study.js"), notices = [];
  const worker = await q.startQueueWorker({ queue: url, studyModule, discoverMs: 100, log: () => {} });
  const r = await q.runSweepOnQueue(study, { queue: url, preset: "quick", store: process.argv[3], studyModule, pollMs: 100, onProgress: () => {}, log: (l) => notices.push(l) });
  await worker.close();
  console.log(JSON.stringify({ summary: r.summary, metrics: r.records.map((x) => x.metrics), notices }));
})().catch((e) => { console.error(e); process.exit(1); });
`);
  const child = spawn(process.execPath, [tmp("dist-run.js"), url(), tmp("dist.jsonl")], { cwd: TMP, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => { out += d; });
  child.stderr.on("data", (d) => { out += d; });
  const code = await new Promise((resolve) => child.on("exit", resolve));
  assert.is(code, 0, out);
  const result = JSON.parse(out.trim().split("\n").pop()!);
  assert.equal([result.summary.done, result.summary.failed], [3, 0]);
  assert.equal(result.metrics, [{ y: 2, tsx: false }, { y: 4, tsx: false }, { y: 6, tsx: false }], "run in children without tsx");
  assert.match(result.notices.join("\n"), /outside the project: start every worker with --study-module/);
});

test("CLIs: unknown flags and bad or unreachable Redis URLs → exit 2 with one clear line", async () => {
  const cases: [string, string[], RegExp][] = [
    ["worker.ts", ["--queue", url(), "--bogus", "1"], /^worker: argument: unknown value "--bogus"/],
    ["worker.ts", ["--queue", "http://127.0.0.1:6379"], /^worker: --queue: expected a Redis URL like redis:\/\/host:6379/],
    ["worker.ts", ["--queue", "redis://127.0.0.1:1"], /^worker: queue: cannot reach Redis at redis:\/\/127\.0\.0\.1:1: /],
    ["worker.ts", [], /^worker: --queue: expected a Redis URL/],
    ["sweep.ts", ["--study-module", FIXTURE, "--preset", "quick", "--queue", url(), "--bogus"], /^sweep: argument: unknown value "--bogus"/],
    ["sweep.ts", ["--study-module", FIXTURE, "--preset", "quick", "--queue", "127.0.0.1:6379"], /^sweep: --queue: expected a Redis URL/],
    ["sweep.ts", ["--study-module", FIXTURE, "--preset", "quick", "--store", tmp("never.jsonl"), "--queue", "redis://127.0.0.1:1"], /^sweep: queue: cannot reach Redis at redis:\/\/127\.0\.0\.1:1: /],
  ];
  const runs = cases.map(([script, args]) => start(script, args));
  for (let i = 0; i < cases.length; i++) {
    const { code } = await exited(runs[i], 30000);
    const [script, args, pattern] = cases[i];
    assert.is(code, 2, `${script} ${args.join(" ")}: ${runs[i].output()}`);
    assert.is(runs[i].output().trim().split("\n").length, 1, runs[i].output());
    assert.match(runs[i].output(), pattern);
  }
  assert.not.ok(fs.existsSync(tmp("never.jsonl")), "nothing written when Redis is unreachable");
});

test.run();
