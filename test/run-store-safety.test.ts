/**
 * Concurrency safety of the experiment stores, with real child processes: the lock file
 * (experiments/lock.ts), one writer per run store, compaction racing a writer, SIGKILL safety,
 * provenance fields, merging stores, sharding a sweep, and the g2is stage cache shared by
 * several processes.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn, spawnSync, ChildProcess } from "node:child_process";
import {
  RunStore, RunRecord, acquireLock, tryAcquireLock, readLockHolder, lockFileFor, schedulerSlot, CORRUPT_LOCK_STALE_MS,
  runProvenance, runRecordProblem, flattenRunRecord, mergeRunStores, formatMergeReport, shardOf, selectShard, parseShard,
  shardFromEnvironment, resolveShardFlag, defaultShardStorePath, shardStorePaths, planSweep, runSweep, getStudy, configHash,
} from "../kernel-lib/experiments";
import { executeRun } from "../kernel-lib/experiments/execute";
import { cachedStage } from "../kernel-lib/studies/g2is/stage-cache";
import { EmptyInputError, FileFormatError, InvalidArgumentError, StoreLockedError, UnknownOptionError } from "../kernel-lib/errors";
import { safetyRecord } from "./fixtures/concurrency-child";
import { study as fixtureStudy } from "./fixtures/sweep-study";
import { expectError } from "./helpers";

const ROOT = path.join(__dirname, "..");
const CHILD = path.join(__dirname, "fixtures", "concurrency-child.ts");
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "gradlab-safety-"));
const tmp = (name: string) => path.join(TMP, name);
const children: ChildProcess[] = [];
process.on("exit", () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  fs.rmSync(TMP, { recursive: true, force: true });
});
const quiet = () => {};

function child(args: string[], env: Record<string, string> = {}): { proc: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> } {
  const proc = spawn(process.execPath, ["--require", "tsx/cjs", CHILD, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
  children.push(proc);
  let stdout = "", stderr = "";
  proc.stdout!.on("data", (d) => (stdout += d));
  proc.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { proc, exited };
}

async function waitFor(what: string, condition: () => boolean, ms = 20000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The pid of a process that has exited (so surely not running). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

// ---- the lock file -------------------------------------------------------------------------------

test("lock: O_EXCL file with {pid, host, startedAt, command}; a second holder is refused by name; release", async () => {
  const target = tmp("lock-basic/store.jsonl");
  const lock = acquireLock(target, { command: "first writer" });
  const holder = JSON.parse(fs.readFileSync(lockFileFor(target), "utf8"));
  assert.equal([holder.pid, holder.host, holder.command], [process.pid, os.hostname(), "first writer"]);
  assert.ok(!Number.isNaN(Date.parse(holder.startedAt)));
  assert.equal(readLockHolder(target)?.token, lock.holder.token);
  await expectError(() => acquireLock(target), StoreLockedError, `pid ${process.pid} on host ${os.hostname()} since ${holder.startedAt} (first writer)`);
  await expectError(() => acquireLock(target), StoreLockedError, "close() that one first");
  assert.is(tryAcquireLock(target), null);
  lock.assertHeld();
  lock.release();
  lock.release(); // idempotent
  assert.not.ok(fs.existsSync(lockFileFor(target)));
  await expectError(() => lock.assertHeld(), StoreLockedError, "released");
  const again = acquireLock(target);
  fs.unlinkSync(lockFileFor(target)); // broken by hand
  await expectError(() => again.assertHeld(), StoreLockedError, "no longer holds the lock");
  const third = acquireLock(target);
  again.release(); // must not delete the lock it no longer owns
  assert.ok(fs.existsSync(lockFileFor(target)));
  third.release();
  await expectError(() => acquireLock(target, { timeout: 5 } as never), UnknownOptionError, "timeout");
  await expectError(() => acquireLock(target, { timeoutMs: -1 }), InvalidArgumentError, "options.timeoutMs");
});

test("lock: another process's lock names it; waiting times out; SIGTERM releases; SIGKILL leaves a stale lock taken over with a warning", async () => {
  const target = tmp("lock-proc/x"), ready = tmp("lock-proc/ready");
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const a = child(["hold-lock", target, ready]);
  await waitFor("the child's lock", () => fs.existsSync(ready));
  await expectError(() => acquireLock(target), StoreLockedError, `pid ${a.proc.pid} on host ${os.hostname()}`);
  await expectError(() => acquireLock(target), StoreLockedError, "safety-test lock holder");
  const t0 = Date.now();
  await expectError(() => acquireLock(target, { timeoutMs: 300, pollMs: 50 }), StoreLockedError, "waited 0.");
  assert.ok(Date.now() - t0 >= 290, "waited the timeout");
  a.proc.kill("SIGTERM");
  const ended = await a.exited;
  assert.is(ended.signal, "SIGTERM", "still dies of SIGTERM");
  assert.not.ok(fs.existsSync(lockFileFor(target)), "released on SIGTERM");

  fs.unlinkSync(ready);
  const b = child(["hold-lock", target, ready]);
  await waitFor("the second child's lock", () => fs.existsSync(ready));
  b.proc.kill("SIGKILL");
  await b.exited;
  assert.ok(fs.existsSync(lockFileFor(target)), "SIGKILL leaves the lock file");
  const warnings: string[] = [];
  const lock = acquireLock(target, { onWarning: (m) => warnings.push(m) });
  assert.is(warnings.length, 1);
  assert.match(warnings[0], new RegExp(`taking over .*pid ${b.proc.pid} .*no longer running`));
  lock.release();
});

test("lock: corrupt/empty lock is stale only when old; another host is never stolen (unless breakLock); own pid not held; same Slurm slot", async () => {
  const target = tmp("lock-stale/y"), file = lockFileFor(target);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, "");
  await expectError(() => acquireLock(target), StoreLockedError, "being created or is corrupt");
  const old = (Date.now() - CORRUPT_LOCK_STALE_MS - 2000) / 1000;
  fs.utimesSync(file, old, old);
  const warnings: string[] = [];
  acquireLock(target, { onWarning: (m) => warnings.push(m) }).release();
  assert.match(warnings.pop()!, /empty or unreadable/);

  const foreign = { pid: 4242, host: "some-other-node", startedAt: "2025-01-01T00:00:00.000Z", command: "sweep on the cluster", token: "abc" };
  fs.writeFileSync(file, JSON.stringify(foreign));
  await expectError(() => acquireLock(target), StoreLockedError, "pid 4242 on host some-other-node since 2025-01-01T00:00:00.000Z (sweep on the cluster)");
  await expectError(() => acquireLock(target), StoreLockedError, `never broken automatically: if that process is gone, delete ${file}`);
  acquireLock(target, { breakLock: true, onWarning: (m) => warnings.push(m) }).release();
  assert.match(warnings.pop()!, /breakLock was requested/);

  fs.writeFileSync(file, JSON.stringify({ ...foreign, host: os.hostname(), pid: process.pid })); // our pid, but not held by us
  acquireLock(target, { onWarning: (m) => warnings.push(m) }).release();
  assert.match(warnings.pop()!, /earlier process with the same pid/);

  for (const [name, value] of [["SLURM_JOB_ID", "777"], ["JOB_COMPLETION_INDEX", "3"]]) {
    const saved = process.env[name];
    process.env[name] = value;
    try {
      assert.ok(schedulerSlot()!.includes(value));
      fs.writeFileSync(file, JSON.stringify({ ...foreign, slot: schedulerSlot() }));
      acquireLock(target, { onWarning: (m) => warnings.push(m) }).release();
      assert.match(warnings.pop()!, /earlier attempt of this scheduler job/);
      fs.writeFileSync(file, JSON.stringify({ ...foreign, slot: "slurm::778.." }));
      await expectError(() => acquireLock(target), StoreLockedError, "some-other-node");
      fs.unlinkSync(file);
    } finally {
      if (saved === undefined) delete process.env[name]; else process.env[name] = saved;
    }
  }

  if (fs.existsSync("/proc/self/ns/pid")) { // Linux: pid namespace, boot id, pid reuse
    const local = { ...foreign, host: os.hostname(), pid: deadPid() };
    fs.writeFileSync(file, JSON.stringify({ ...local, pidns: "pid:[1]" }));
    await expectError(() => acquireLock(target), StoreLockedError, "another host (or pid namespace)");
    fs.writeFileSync(file, JSON.stringify({ ...local, pid: 1, boot: "an-earlier-boot" }));
    acquireLock(target, { onWarning: (m) => warnings.push(m) }).release();
    assert.match(warnings.pop()!, /rebooted/);
    const sleeper = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
    children.push(sleeper);
    fs.writeFileSync(file, JSON.stringify({ ...local, pid: sleeper.pid, pidStart: "1" }));
    acquireLock(target, { onWarning: (m) => warnings.push(m) }).release();
    assert.match(warnings.pop()!, /now belongs to a newer process/);
    sleeper.kill("SIGKILL");
  }
});

test("lock: six processes racing to take over one stale lock — exactly one wins", async () => {
  for (let round = 0; round < 2; round++) {
    const target = tmp(`lock-race/${round}`), out = tmp(`lock-race/out-${round}`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(lockFileFor(target), JSON.stringify({ pid: deadPid(), host: os.hostname(), startedAt: "x", command: "dead", token: "t" }));
    const racers = Array.from({ length: 6 }, () => child(["try-lock", target, out, "1500"]));
    await waitFor("the racers", () => fs.readdirSync(path.dirname(out)).filter((f) => f.startsWith(`out-${round}.ready-`)).length === 6);
    fs.writeFileSync(`${out}.go`, "");
    const ends = await Promise.all(racers.map((r) => r.exited));
    assert.ok(ends.every((e) => e.code === 0), ends.map((e) => e.stderr).join("\n"));
    const lines = fs.readFileSync(out, "utf8").trim().split("\n");
    assert.is(lines.length, 6);
    assert.is(lines.filter((l) => l.startsWith("won")).length, 1, `round ${round}: ${lines.join(", ")}`);
  }
});

// ---- one writer per run store --------------------------------------------------------------------

test("store: two handles cannot both write; close() hands over; the next writer sees what the first wrote", async () => {
  const file = tmp("handles/runs.jsonl");
  const a = RunStore.open(file), b = RunStore.open(file);
  a.append(safetyRecord(0));
  assert.ok(a.locked);
  await expectError(() => b.append(safetyRecord(1)), StoreLockedError, `pid ${process.pid}`);
  await expectError(() => RunStore.openForWriting(file), StoreLockedError, "close() that one first");
  assert.is(RunStore.open(file).size, 1, "reading never locks");
  a.close();
  assert.not.ok(a.locked);
  assert.is(b.size, 0, "b's view is from before a's append");
  b.append(safetyRecord(1));
  assert.equal(b.runs().map((r) => r.seed), [0, 1], "taking the lock re-read the file");
  await expectError(() => b.append(safetyRecord(0)), InvalidArgumentError, "already has one");
  b.close();
  assert.is(a.size, 1);
  a.refresh();
  assert.is(a.size, 2);
  await expectError(() => RunStore.open(file, { lockTimeout: 1 } as never), UnknownOptionError, "lockTimeout");
});

test("store: a store held by another process is refused naming it; two CLI sweeps on one store never both run (12 lines for 12 runs)", async () => {
  const file = tmp("held/runs.jsonl"), ready = tmp("held/ready");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const holder = child(["hold-store", file, ready]);
  await waitFor("the holder", () => fs.existsSync(ready));
  await expectError(() => RunStore.openForWriting(file), StoreLockedError, `locked by pid ${holder.proc.pid} on host ${os.hostname()}`);
  await expectError(() => RunStore.open(file).append(safetyRecord(3)), StoreLockedError, "(safety-test holder)");
  holder.proc.kill("SIGKILL");
  await holder.exited;

  const store = tmp("held/sweep.jsonl"), gate = tmp("held/gate");
  // The first sweep holds after its first run until the gate opens, so the second always meets
  // it mid-way, however slow the machine is to start the second process.
  const cli = (markers: string) => spawn(process.execPath, ["--require", "tsx/cjs", "scripts/sweep.ts", "--study-module", path.join(__dirname, "fixtures", "sweep-study.ts"), "--preset", "quick", "--store", store, "--progress", "none", "--jobs", "1"],
    { cwd: ROOT, env: { ...process.env, SWEEP_FIXTURE_SLEEP_MS: "50", SWEEP_FIXTURE_MARKERS: markers, SWEEP_FIXTURE_GATE: gate } });
  const first = cli(tmp("held/m1"));
  children.push(first);
  const firstDone = new Promise<number | null>((r) => first.on("exit", (code) => r(code)));
  await waitFor("the first sweep's first line", () => fs.existsSync(store) && fs.readFileSync(store, "utf8").length > 0);
  const second = cli(tmp("held/m2"));
  children.push(second);
  let err = "";
  second.stderr!.on("data", (d) => (err += d));
  const secondCode = await new Promise<number | null>((r) => second.on("exit", (code) => r(code)));
  fs.writeFileSync(gate, "");
  assert.is.not(secondCode, 0);
  assert.match(err, new RegExp(`locked by pid ${first.pid} on host`));
  assert.is(await firstDone, 0);
  const lines = fs.readFileSync(store, "utf8").trim().split("\n");
  assert.is(lines.length, 12);
  assert.is(new Set(RunStore.open(store).runs().map((r) => r.configHash)).size, 12);
  const secondStarted = fs.existsSync(tmp("held/m2")) ? fs.readFileSync(tmp("held/m2"), "utf8").trim().split("\n").length : 0;
  assert.ok(secondStarted <= 1, `the second sweep ran ${secondStarted} runs before being refused`);
});

test("store: compact() on a stale handle keeps runs another handle appended", () => {
  const file = tmp("stale-compact.jsonl");
  const first = RunStore.open(file);
  first.append(safetyRecord(0));
  first.append(safetyRecord(1));
  first.close();
  const stale = RunStore.open(file); // sees 2
  const other = RunStore.open(file);
  other.append(safetyRecord(2));
  other.append(safetyRecord(3));
  other.close();
  fs.appendFileSync(file, '{"torn": tr');
  assert.is(stale.size, 2);
  stale.compact();
  assert.equal(stale.runs().map((r) => r.seed), [0, 1, 2, 3], "the handle was refreshed");
  assert.not.ok(stale.locked, "compact gives back a lock it took");
  const reread = RunStore.open(file);
  assert.equal(reread.runs().map((r) => r.seed), [0, 1, 2, 3]);
  assert.equal(reread.warnings, []);
});

test("store: compact() racing a writer in another process loses nothing (many iterations)", async () => {
  const file = tmp("race/runs.jsonl");
  const seedStore = RunStore.open(file);
  for (let s = 0; s < 3; s++) seedStore.append(safetyRecord(1000 + s));
  seedStore.close();
  const writer = child(["append", file, "60", "0"]);
  let done = false, compactions = 0;
  void writer.exited.then(() => (done = true));
  const store = RunStore.open(file, { lockTimeoutMs: 60000, onWarning: quiet });
  while (!done) {
    store.compact();
    if (store.size > 3 && store.size < 63) compactions++; // while the writer was writing
    await new Promise((r) => setTimeout(r, Math.random() * 4));
  }
  const end = await writer.exited;
  assert.is(end.code, 0, end.stderr);
  store.compact();
  const final = RunStore.open(file);
  assert.equal(final.warnings, []);
  const seeds = final.runs().map((r) => r.seed).sort((x, y) => x - y);
  assert.equal(seeds, [...Array.from({ length: 60 }, (_, i) => i), 1000, 1001, 1002]);
  assert.ok(compactions >= 20, `only ${compactions} compactions raced the writer`);
});

test("store: SIGKILL of a writer mid-stream keeps every finished line; the next writer takes the lock over", async () => {
  for (let round = 0; round < 3; round++) {
    const file = tmp(`kill/${round}.jsonl`), ready = tmp(`kill/ready-${round}`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const writer = child(["append-hold", file, ready]);
    await waitFor("records", () => fs.existsSync(ready));
    await new Promise((r) => setTimeout(r, 20 + round * 30));
    writer.proc.kill("SIGKILL");
    await writer.exited;
    const text = fs.readFileSync(file, "utf8");
    const warnings: string[] = [];
    const store = RunStore.openForWriting(file, { onWarning: (m) => warnings.push(m) });
    const lines = text.split("\n").filter(Boolean);
    assert.ok(store.size >= lines.length - 1 && store.size >= 6, `${store.size} records of ${lines.length} lines`);
    assert.ok(store.warnings.length <= 1, "at most a torn last line");
    assert.ok(warnings.some((w) => w.includes(`pid ${writer.proc.pid}`) && w.includes("no longer running")), warnings.join("\n"));
    assert.equal(store.runs().map((r) => r.seed), Array.from({ length: store.size }, (_, i) => i));
    store.append(safetyRecord(100000));
    store.close();
  }
});

// ---- provenance ----------------------------------------------------------------------------------

test("provenance: every field present and typed; records with or without it validate; flat rows carry it", () => {
  const p = runProvenance();
  assert.equal(Object.keys(p).sort(), ["backendVersion", "gitDirty", "host", "nodeVersion", "peakRssMB", "tfjsVersion"]);
  assert.ok(p.gitDirty === null || typeof p.gitDirty === "boolean");
  assert.is(p.nodeVersion, process.version);
  assert.is(p.tfjsVersion, require("@tensorflow/tfjs/package.json").version);
  assert.is(p.host, os.hostname());
  assert.ok(p.peakRssMB > 10 && p.peakRssMB < 1e6, `peakRssMB ${p.peakRssMB}`);
  assert.ok(p.backendVersion === null || /^\d+\.\d+/.test(p.backendVersion));
  const withIt: RunRecord = { ...safetyRecord(1), ...p };
  assert.is(runRecordProblem(withIt), null);
  assert.is(runRecordProblem(safetyRecord(1)), null, "old records (no provenance) still read");
  assert.match(runRecordProblem({ ...withIt, gitDirty: "yes" })!, /gitDirty/);
  assert.match(runRecordProblem({ ...withIt, peakRssMB: -1 })!, /peakRssMB/);
  assert.match(runRecordProblem({ ...withIt, host: 3 })!, /host/);
  const row = flattenRunRecord(withIt);
  assert.is(row.host, os.hostname());
  assert.is(row.peakRssMB, p.peakRssMB);
  assert.is(flattenRunRecord(safetyRecord(1)).gitDirty, null);
  assert.is(withIt.configHash, configHash("safety", { arm: "a" }, 1), "configHash unchanged by provenance");
});

// ---- merge ---------------------------------------------------------------------------------------

function writeLines(file: string, values: unknown[], tail = ""): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, values.map((v) => JSON.stringify(v) + "\n").join("") + tail);
}

test("merge: re-validates, drops exact duplicates, reports ok conflicts (first by finishedAt wins), keeps failures, skips bad lines", async () => {
  const at = (s: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, s)).toISOString();
  const r = (seed: number, finished: number, extra: Partial<RunRecord> = {}): RunRecord => ({ ...safetyRecord(seed), startedAt: at(0), finishedAt: at(finished), ...extra });
  const fail = (seed: number, finished: number) => r(seed, finished, { status: "failed", metrics: {}, error: "Error: boom" });
  const late0 = r(0, 9, { runId: `${safetyRecord(0).configHash.slice(0, 12)}-2`, metrics: { value: 99 } });
  const a = tmp("merge/a.jsonl"), b = tmp("merge/b.jsonl"), out = tmp("merge/out.jsonl");
  writeLines(a, [fail(0, 1), r(0, 2), r(1, 3), late0], '{"torn":');
  writeLines(b, [r(1, 3), r(2, 4), { ...r(3, 5), config: { arm: "edited" } }, fail(0, 1)]);
  const report = mergeRunStores([a, b], { out });
  assert.is(report.duplicatesDropped, 2, "r(1) and fail(0) appear in both");
  assert.is(report.conflicts.length, 1);
  assert.is(report.conflicts[0].kept.finishedAt, at(2));
  assert.equal(report.conflicts[0].dropped.map((d) => [d.runId, d.file, d.line, d.sameMetrics]), [[late0.runId, a, 4, false]]);
  assert.equal(report.skipped.map((s) => [path.basename(s.file), s.line]), [["a.jsonl", 5], ["b.jsonl", 3]]);
  assert.match(report.skipped[1].reason, /configHash does not match/);
  assert.equal([report.records, report.ok, report.failed], [4, 3, 1]);
  const merged = RunStore.open(out);
  assert.equal(merged.warnings, []);
  assert.equal(merged.runs().map((x) => [x.seed, x.status]), [[0, "failed"], [0, "ok"], [1, "ok"], [2, "ok"]], "chronological");
  assert.match(formatMergeReport(report), /conflicts: 1[\s\S]*DIFFERENT metrics[\s\S]*skipped lines: 2/);

  const again = mergeRunStores([b], { out }); // merging INTO an existing store keeps what it had
  assert.ok(again.inputs[0].existingOutput);
  assert.is(again.records, 4);
  await expectError(() => mergeRunStores([], { out }), EmptyInputError, "inputs");
  await expectError(() => mergeRunStores([a, a], { out }), InvalidArgumentError, "each store once");
  await expectError(() => mergeRunStores([tmp("merge/none.jsonl")], { out }), FileFormatError, "does not exist");
  await expectError(() => mergeRunStores([a], { out, force: true } as never), UnknownOptionError, "force");
  const lock = acquireLock(out, { command: "someone writing" });
  await expectError(() => mergeRunStores([a], { out }), StoreLockedError, "someone writing");
  lock.release();
});

test("merge-runs CLI: exit 0 clean, 1 with conflicts/skips, 2 for usage errors (unknown flags refused)", () => {
  const a = tmp("cli/a.jsonl"), b = tmp("cli/b.jsonl"), out = tmp("cli/out.jsonl");
  const [r0, r1, r2] = [0, 1, 2].map((seed) => safetyRecord(seed));
  writeLines(a, [r0, r1]);
  writeLines(b, [r1, r2]); // r1 copied to both: an exact duplicate
  const run = (...args: string[]) => spawnSync(process.execPath, ["--require", "tsx/cjs", "scripts/merge-runs.ts", ...args], { cwd: ROOT, encoding: "utf8" });
  const ok = run("--out", out, a, b);
  assert.is(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /3 records \(3 ok, 0 failed\)[\s\S]*duplicates dropped: 1/);
  const json = run("--json", "--out", tmp("cli/out2.jsonl"), a);
  assert.is(JSON.parse(json.stdout).records, 2);
  fs.appendFileSync(b, "not json\n");
  const skipped = run("--out", tmp("cli/out3.jsonl"), a, b);
  assert.is(skipped.status, 1);
  assert.match(skipped.stdout, /skipped lines: 1/);
  for (const bad of [["--out", out, "--fast", a], [a, b], ["--out", out], ["--out", out, tmp("cli/missing.jsonl")], ["-x", "--out", out, a]]) {
    const r = run(...bad);
    assert.is(r.status, 2, `${bad.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^merge-runs: /);
  }
  assert.match(run("--out", out, "--fast", a).stderr, /unknown value "--fast"/);
});

// ---- shards --------------------------------------------------------------------------------------

test("shards: shardOf is the first 8 hex digits mod n; every plan is covered exactly once for n = 1..8", () => {
  const h = "8f" + "0".repeat(62);
  assert.is(shardOf(h, 7), 0x8f000000 % 7);
  assert.is(shardOf(h, 1), 0);
  assert.throws(() => shardOf("xyz", 2), (e: unknown) => e instanceof InvalidArgumentError && /configHash/.test(String(e)));
  assert.throws(() => shardOf(h, 0), (e: unknown) => e instanceof InvalidArgumentError && /count/.test(String(e)));
  const plans = [
    planSweep(getStudy("prism"), { preset: "quick" }), planSweep(getStudy("prism"), { preset: "default" }),
    planSweep(fixtureStudy, { preset: "default" }),
  ];
  for (const plan of plans) {
    for (let n = 1; n <= 8; n++) {
      const seen: string[] = [];
      for (let i = 0; i < n; i++) {
        const part = selectShard(plan, { index: i, count: n });
        assert.ok(part.every((run) => shardOf(run.configHash, n) === i));
        seen.push(...part.map((run) => run.configHash));
      }
      assert.is(seen.length, plan.length, `n=${n}`);
      assert.equal(new Set(seen), new Set(plan.map((run) => run.configHash)));
    }
  }
  assert.throws(() => selectShard(plans[0], { index: 3, count: 3 }), (e: unknown) => e instanceof InvalidArgumentError && /shard\.index/.test(String(e)));
});

test("shards: --shard i/n, Slurm array and Kubernetes Indexed Job environments, typed errors naming the variable", async () => {
  assert.equal(parseShard("3/8"), { index: 3, count: 8 });
  for (const bad of ["8/8", "1/0", "-1/4", "a/b", "3", ""]) await expectError(() => parseShard(bad), InvalidArgumentError, "--shard");
  assert.is(shardFromEnvironment({}), null);
  assert.equal(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: "5", SLURM_ARRAY_TASK_MIN: "0", SLURM_ARRAY_TASK_COUNT: "8" }), { index: 5, count: 8 });
  assert.equal(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: "1", SLURM_ARRAY_TASK_MIN: "1", SLURM_ARRAY_TASK_COUNT: "8" }), { index: 0, count: 8 }, "--array=1-8");
  assert.equal(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: "15", SLURM_ARRAY_TASK_MIN: "1", SLURM_ARRAY_TASK_STEP: "2", SLURM_ARRAY_TASK_COUNT: "8" }), { index: 7, count: 8 }, "--array=1-15:2");
  assert.equal(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: "2", SLURM_ARRAY_TASK_COUNT: "4" }, 3), { index: 2, count: 3 }, "count override");
  await expectError(() => shardFromEnvironment({ SLURM_ARRAY_TASK_ID: "x", SLURM_ARRAY_TASK_COUNT: "4" }), InvalidArgumentError, "SLURM_ARRAY_TASK_ID");
  await expectError(() => shardFromEnvironment({ SLURM_ARRAY_TASK_ID: "9", SLURM_ARRAY_TASK_MIN: "1", SLURM_ARRAY_TASK_COUNT: "3" }), InvalidArgumentError, "SLURM_ARRAY_TASK_ID");
  await expectError(() => shardFromEnvironment({ SLURM_ARRAY_TASK_ID: "2" }), InvalidArgumentError, "SLURM_ARRAY_TASK_COUNT");
  await expectError(() => shardFromEnvironment({ SLURM_ARRAY_TASK_ID: "2", SLURM_ARRAY_TASK_COUNT: "0" }), InvalidArgumentError, "SLURM_ARRAY_TASK_COUNT");
  assert.equal(shardFromEnvironment({ JOB_COMPLETION_INDEX: "3", GRADLAB_SHARD_COUNT: "4" }), { index: 3, count: 4 });
  assert.equal(shardFromEnvironment({ JOB_COMPLETION_INDEX: "3" }, 5), { index: 3, count: 5 });
  await expectError(() => shardFromEnvironment({ JOB_COMPLETION_INDEX: "3" }), InvalidArgumentError, "GRADLAB_SHARD_COUNT");
  await expectError(() => shardFromEnvironment({ JOB_COMPLETION_INDEX: "4", GRADLAB_SHARD_COUNT: "4" }), InvalidArgumentError, "JOB_COMPLETION_INDEX");
  await expectError(() => shardFromEnvironment({ JOB_COMPLETION_INDEX: "1", SLURM_ARRAY_TASK_ID: "1", GRADLAB_SHARD_COUNT: "4" }), InvalidArgumentError, "only one shard index");
  assert.equal(shardFromEnvironment({ GRADLAB_SHARD_INDEX: "1", GRADLAB_SHARD_COUNT: "2" }), { index: 1, count: 2 });
  assert.equal(resolveShardFlag("auto", { JOB_COMPLETION_INDEX: "0", GRADLAB_SHARD_COUNT: "2" }), { index: 0, count: 2 });
  assert.equal(resolveShardFlag("1/2", {}), { index: 1, count: 2 });
  await expectError(() => resolveShardFlag("auto", {}), InvalidArgumentError, "none of those variables is set");
  assert.is(defaultShardStorePath("prism", { index: 2, count: 8 }), path.join(ROOT, "reports", "runs", "prism.shard-2-of-8.jsonl"));
  assert.equal(shardStorePaths("s", 2, "/r"), ["/r/s.shard-0-of-2.jsonl", "/r/s.shard-1-of-2.jsonl"]);
});

test("shards: running each shard into its own store, then merging, equals one unsharded sweep", async () => {
  const saved = process.env.SWEEP_FIXTURE_SLEEP_MS;
  process.env.SWEEP_FIXTURE_SLEEP_MS = "0";
  try {
    const single = await runSweep(fixtureStudy, { preset: "default", store: tmp("shard/single.jsonl"), onProgress: quiet });
    single.store.close();
    const plan = planSweep(fixtureStudy, { preset: "default" });
    for (const count of [3, 5]) {
      const stores = shardStorePaths(fixtureStudy.name, count, tmp(`shard/${count}`));
      for (let index = 0; index < count; index++) {
        const store = RunStore.openForWriting(stores[index]);
        const part = selectShard(plan, { index, count });
        for (const [i, run] of part.entries()) store.append(await executeRun(fixtureStudy as never, "default", run, 1, i, part.length));
        store.close();
      }
      const out = tmp(`shard/merged-${count}.jsonl`);
      const report = mergeRunStores(stores.filter((f) => fs.existsSync(f)), { out });
      assert.equal([report.conflicts.length, report.skipped.length, report.duplicatesDropped], [0, 0, 0]);
      const merged = RunStore.open(out).runs();
      const reference = single.store.runs();
      assert.is(merged.length, reference.length);
      const byHash = new Map(reference.map((r) => [r.configHash, r]));
      for (const r of merged) {
        const ref = byHash.get(r.configHash);
        assert.ok(ref !== undefined, `merged ${r.runId} is not in the single sweep`);
        assert.equal([r.status, r.metrics, r.cost.counters, r.config, r.seed], [ref!.status, ref!.metrics, ref!.cost.counters, ref!.config, ref!.seed]);
      }
      assert.equal(new Set(merged.map((r) => r.configHash)), new Set(byHash.keys()));
    }
  } finally {
    if (saved === undefined) delete process.env.SWEEP_FIXTURE_SLEEP_MS; else process.env.SWEEP_FIXTURE_SLEEP_MS = saved;
  }
});

// ---- the g2is stage cache ------------------------------------------------------------------------

test("stage cache: three processes wanting one stage — exactly one build, all get its result", async () => {
  const root = tmp("stage/concurrent"), builds = tmp("stage/builds.txt");
  const procs = Array.from({ length: 3 }, () => child(["stage", root, "k1", builds, "1500"]));
  const ends = await Promise.all(procs.map((p) => p.exited));
  assert.ok(ends.every((e) => e.code === 0), ends.map((e) => e.stderr).join("\n"));
  const results = ends.map((e) => JSON.parse(e.stdout.trim()) as { value: string; hit: boolean });
  assert.is(fs.readFileSync(builds, "utf8").trim().split("\n").length, 1, "one build");
  assert.is(new Set(results.map((r) => r.value)).size, 1, "same result everywhere");
  assert.is(results.filter((r) => !r.hit).length, 1);
  assert.equal(fs.readdirSync(root).sort(), ["teststage-k1"], "no tmp folder, no lock left");
});

test("stage cache: a live process's tmp folder is kept, a dead one's removed; a killed builder's lock is taken over; waiting times out by name", async () => {
  const root = tmp("stage/strays");
  fs.mkdirSync(root, { recursive: true });
  const sleeper = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
  children.push(sleeper);
  const live = path.join(root, `teststage-k2.tmp-${sleeper.pid}-aaaa`), dead = path.join(root, `teststage-k2.tmp-${deadPid()}-bbbb`);
  for (const d of [live, dead]) { fs.mkdirSync(d); fs.writeFileSync(path.join(d, "partial"), "x"); }
  const build = (dir: string) => { fs.writeFileSync(path.join(dir, "v"), "built"); return {}; };
  const load = (dir: string) => fs.readFileSync(path.join(dir, "v"), "utf8");
  const r = cachedStage(root, "teststage", "k2", build, load, { onWarning: quiet });
  assert.equal([r.value, r.hit], ["built", false]);
  assert.ok(fs.existsSync(live), "a running process's build folder is never deleted");
  assert.not.ok(fs.existsSync(dead), "a dead process's build folder is cleaned up");
  sleeper.kill("SIGKILL");

  const builds = tmp("stage/builds-k3.txt");
  const builder = child(["stage", root, "k3", builds, "60000"]);
  await waitFor("the builder to start", () => fs.existsSync(builds));
  const warnings: string[] = [];
  await expectError(() => cachedStage(root, "teststage", "k3", build, load, { waitTimeoutMs: 300, pollMs: 50, onWarning: (m) => warnings.push(m) }), StoreLockedError, `pid ${builder.proc.pid}`);
  assert.match(warnings[0], /waiting for another process building teststage-k3/);
  builder.proc.kill("SIGKILL");
  await builder.exited;
  assert.ok(fs.readdirSync(root).some((e) => e.startsWith(`teststage-k3.tmp-${builder.proc.pid}-`)), "the killed build left its tmp folder");
  const after = cachedStage(root, "teststage", "k3", build, load, { onWarning: (m) => warnings.push(m) });
  assert.equal([after.value, after.hit], ["built", false]);
  assert.ok(warnings.some((w) => w.includes(`pid ${builder.proc.pid}`) && w.includes("no longer running")), warnings.join("\n"));
  assert.equal(fs.readdirSync(root).filter((e) => e.startsWith("teststage-k3")), ["teststage-k3"]);
  await expectError(() => cachedStage(root, "teststage", "k3", build, load, { wait: 1 } as never), UnknownOptionError, "wait");
});

test.run();
