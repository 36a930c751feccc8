import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { spawn, spawnSync } from "node:child_process";
import {
  RunRecord, RunStore, configHash, canonicalJson, defineStudy, runSweep, planSweep, expandGrid, StudyGrid, RunFailedError,
  SweepEvent, ProgressTracker, createProgressReporter, formatProgressLine, formatDuration, getStudy, registerStudy,
  loadStudyModule, UnknownStudyError, STUDIES, STUDY_MODULES, availableStudies, parseOnlyArguments, JsonObject, RunOne, defaultStorePath,
} from "../kernel-lib/experiments";
import { EmptyInputError, FileFormatError, InvalidArgumentError, NonFiniteError, UnknownOptionError } from "../kernel-lib/errors";
import { study as fixtureStudy, expectedMetrics, FixtureConfig } from "./fixtures/sweep-study";
import { TEST_BACKENDS, expectError, useBackend } from "./helpers";

const ROOT = path.join(__dirname, "..");
const FIXTURE_MODULE = path.join(__dirname, "fixtures", "sweep-study.ts");
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "gradlab-experiments-"));
const tmp = (name: string) => path.join(TMP, name);
process.on("exit", () => fs.rmSync(TMP, { recursive: true, force: true }));

const quiet = () => {};
const silent = { onProgress: quiet };

/** A valid record of study "s" (hash computed from its content). */
function makeRecord(over: Partial<RunRecord> & { config?: JsonObject; seed?: number } = {}): RunRecord {
  const study = over.study ?? "s", config = over.config ?? { arm: "a" }, seed = over.seed ?? 0;
  const hash = configHash(study, config, seed);
  const base: RunRecord = {
    study, runId: `${hash.slice(0, 12)}-1`, configHash: hash, config, seed, status: "ok", metrics: { acc: 0.5 },
    cost: { counters: { steps: 3 }, seconds: 0.25 }, startedAt: "2025-01-01T00:00:00.000Z", finishedAt: "2025-01-01T00:00:01.000Z",
    wallSeconds: 1, backend: "cpu", gitCommit: null, gradlabVersion: "0.1.0",
  };
  return { ...base, ...over, study, config, seed, configHash: over.configHash ?? hash };
}

function grid(axes: StudyGrid["axes"], seeds: number[] = [0], extra: Partial<StudyGrid> = {}): StudyGrid {
  return { axes, seeds, ...extra };
}

function countingStudy(name: string, quick: StudyGrid, runOne?: RunOne) {
  const calls: string[] = [];
  const study = defineStudy({ name, presets: { quick, default: quick, paper: quick } }, async (config, seed, context) => {
    calls.push(`${canonicalJson(config)}#${seed}#${context.attempt}`);
    return runOne ? runOne(config, seed, context) : { metrics: { value: seed + Object.keys(config).length }, cost: { steps: 1 } };
  });
  return { study, calls };
}

// ---- config hash ---------------------------------------------------------------------------------

test("configHash: sha256 of canonical JSON, stable under key order, changes with seed/config/study", () => {
  const config = { b: [1, { y: 2, x: "é" }], a: true, c: null };
  const reordered = { c: null, a: true, b: [1, { x: "é", y: 2 }] };
  // Oracle: the canonical text written by hand.
  const text = `{"config":{"a":true,"b":[1,{"x":"é","y":2}],"c":null},"seed":3,"study":"s"}`;
  assert.is(canonicalJson({ study: "s", config, seed: 3 }), text);
  const expected = createHash("sha256").update(text, "utf8").digest("hex");
  assert.is(configHash("s", config, 3), expected);
  assert.is(configHash("s", reordered, 3), expected);
  assert.is.not(configHash("s", config, 4), expected);
  assert.is.not(configHash("t", config, 3), expected);
  assert.is.not(configHash("s", { ...config, a: false }, 3), expected);
  assert.is.not(configHash("s", { ...config, d: 0 }, 3), expected);
  assert.is.not(configHash("s", { a: 1 }, 0), configHash("s", { a: "1" }, 0), "1 and \"1\" differ");
});

test("canonicalJson rejects values JSON would corrupt, naming the path", async () => {
  await expectError(() => configHash("s", { lr: NaN }, 0), NonFiniteError, "config.lr");
  await expectError(() => configHash("s", { w: [1, Infinity] }, 0), NonFiniteError, "config.w[1]");
  await expectError(() => configHash("s", { a: undefined } as unknown as JsonObject, 0), InvalidArgumentError, "config.a");
  await expectError(() => configHash("s", { when: new Date() } as unknown as JsonObject, 0), InvalidArgumentError, "Date");
  await expectError(() => configHash("s", {}, -1), InvalidArgumentError, "seed");
  await expectError(() => configHash("s", {}, 1.5), InvalidArgumentError, "seed");
});

// ---- run store -----------------------------------------------------------------------------------

test("store round trip: append, reopen, queries, flat rows", () => {
  const file = tmp("roundtrip/runs.jsonl"); // the folder is created on first append
  const store = RunStore.open(file);
  assert.is(store.size, 0);
  const a0 = makeRecord({ config: { arm: "a", lr: 0.1 }, seed: 0, metrics: { acc: 0.5, curve: [1, 2], detail: { auc: 0.7 } } });
  const bFail = makeRecord({ config: { arm: "b", lr: 0.1 }, seed: 0, status: "failed", metrics: {}, error: "Error: boom" });
  const bOk = makeRecord({ config: { arm: "b", lr: 0.1 }, seed: 0, runId: `${bFail.configHash.slice(0, 12)}-2`, metrics: { acc: 0.75 } });
  const a1 = makeRecord({ config: { arm: "a", lr: 0.1 }, seed: 1, metrics: { acc: 0.25 }, cost: { counters: { steps: 9 }, seconds: 2 } });
  for (const r of [a0, bFail, bOk, a1]) store.append(r);
  assert.is(fs.readFileSync(file, "utf8").split("\n").length, 5, "4 lines + final newline");

  const warnings: string[] = [];
  const again = RunStore.open(file, { onWarning: (m) => warnings.push(m) });
  assert.equal(again.warnings, []);
  assert.equal(warnings, []);
  assert.equal(again.runs(), [a0, bFail, bOk, a1]);
  assert.equal(again.runs({ status: "failed" }), [bFail]);
  assert.equal(again.runs({ config: { arm: "a" } }), [a0, a1]);
  assert.equal(again.runs({ config: { arm: "a" }, seed: 1 }), [a1]);
  assert.equal(again.runs((r) => r.metrics.acc === 0.75), [bOk]);
  assert.equal(again.latestByConfig(), [a0, bOk, a1], "the ok run replaces the failure");
  assert.ok(again.hasOk(bOk.configHash));
  assert.is(again.attempts(bOk.configHash), 2);
  assert.is(again.attempts(configHash("s", { arm: "z" }, 0)), 0);

  const rows = again.toRecords();
  assert.is(rows.length, 3);
  assert.equal(Object.keys(rows[0]).sort(), Object.keys(rows[1]).sort(), "same columns in every row");
  assert.is(rows[0].arm, "a");
  assert.is(rows[0].lr, 0.1);
  assert.is(rows[0].acc, 0.5);
  assert.is(rows[0]["detail.auc"], 0.7);
  assert.is(rows[0]["cost.steps"], 3);
  assert.is(rows[0].costSeconds, 0.25);
  assert.not.ok("curve" in rows[0], "arrays are left out of flat rows");
  assert.is(rows[1]["detail.auc"], null, "missing values are null");
  assert.is(rows[2].seed, 1);
  assert.throws(() => again.runs({ arm: "a" } as never), (e: unknown) => e instanceof UnknownOptionError);
});

test("store: torn last line is reported, skipped, and the next append starts on its own line", () => {
  const file = tmp("torn.jsonl");
  const good = [makeRecord({ seed: 0 }), makeRecord({ seed: 1 })];
  const torn = JSON.stringify(makeRecord({ seed: 2 })).slice(0, 57);
  fs.writeFileSync(file, good.map((r) => JSON.stringify(r) + "\n").join("") + torn);
  const warnings: string[] = [];
  const store = RunStore.open(file, { onWarning: (m) => warnings.push(m) });
  assert.is(store.size, 2);
  assert.is(store.warnings.length, 1);
  assert.is(store.warnings[0].line, 3);
  assert.match(store.warnings[0].reason, /malformed JSON/);
  assert.is(warnings.length, 1, "printed once");
  assert.match(warnings[0], /line 3 skipped/);

  const next = makeRecord({ seed: 2 });
  store.append(next);
  assert.equal(store.warnings.length, 1, "appending does not re-report");
  const text = fs.readFileSync(file, "utf8");
  assert.ok(text.startsWith(good.map((r) => JSON.stringify(r) + "\n").join("") + torn + "\n"), "earlier bytes untouched, torn line closed");
  assert.ok(text.endsWith(JSON.stringify(next) + "\n"));

  const reread = RunStore.open(file, { onWarning: quiet });
  assert.equal(reread.runs(), [...good, next]);
  assert.equal(reread.warnings.map((w) => w.line), [3]);

  store.close(); // one writer at a time: the appending handle gives the lock back first
  reread.compact();
  assert.equal(RunStore.open(file).warnings, []);
  assert.equal(RunStore.open(file).runs(), [...good, next]);
});

test("store: a line torn inside a multi-byte character costs only that line", () => {
  const file = tmp("torn-utf8.jsonl");
  const good = makeRecord({ config: { arm: "é" } });
  const bytes = Buffer.from(JSON.stringify(makeRecord({ config: { arm: "ééé" }, seed: 1 })), "utf8");
  const cut = bytes.indexOf(Buffer.from("é", "utf8")) + 1; // inside the 2-byte "é"
  fs.writeFileSync(file, Buffer.concat([Buffer.from(JSON.stringify(good) + "\n"), bytes.subarray(0, cut)]));
  const store = RunStore.open(file, { onWarning: quiet });
  assert.equal(store.runs(), [good]);
  assert.ok(store.warnings.some((w) => w.line === 2));
});

test("store: duplicate ok runs keep the first; invalid records and hand edits are reported", async () => {
  const file = tmp("dup.jsonl");
  const first = makeRecord({ metrics: { acc: 1 } });
  const second = makeRecord({ metrics: { acc: 2 }, runId: `${first.configHash.slice(0, 12)}-2` });
  const edited = { ...makeRecord({ seed: 5 }), config: { arm: "edited" } };
  const lines = [first, second, { hello: "world" }, edited, makeRecord({ seed: 6, status: "failed", metrics: {} })];
  fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join("\n") + "\n\n");
  const store = RunStore.open(file, { onWarning: quiet });
  assert.equal(store.runs(), [first]);
  assert.equal(store.warnings.map((w) => w.line), [2, 3, 4, 5]);
  assert.match(store.warnings[0].reason, /duplicate ok run .*kept the first/);
  assert.match(store.warnings[1].reason, /unknown field/);
  assert.match(store.warnings[2].reason, /configHash does not match/);
  assert.match(store.warnings[3].reason, /failed run needs its error/);
  await expectError(() => store.append(second), InvalidArgumentError, "already has one");
  await expectError(() => store.append({ ...makeRecord({ seed: 9 }), wallSeconds: -1 }), InvalidArgumentError, "wallSeconds");
  assert.is(fs.readFileSync(file, "utf8").split("\n").filter(Boolean).length, 5, "rejected appends wrote nothing");
  await expectError(() => RunStore.open(TMP), FileFormatError, "directory");
});

// ---- grids and studies ---------------------------------------------------------------------------

test("expandGrid: cartesian product, seeds outermost, fixed settings, include, only", async () => {
  const g = grid({ arm: ["sft", "rl"], width: [1, 2, 4] }, [0, 7], { fixed: { steps: 10 }, include: (c) => !(c.arm === "rl" && c.width === 4) });
  const points = expandGrid(g);
  assert.is(points.length, 2 * (2 * 3 - 1));
  assert.equal(points.slice(0, 5).map((p) => [p.config.arm, p.config.width, p.seed]), [["sft", 1, 0], ["sft", 2, 0], ["sft", 4, 0], ["rl", 1, 0], ["rl", 2, 0]]);
  assert.ok(points.every((p) => p.config.steps === 10));
  assert.equal(points.slice(5).map((p) => p.seed), [7, 7, 7, 7, 7]);
  const only = expandGrid(g, { only: { width: "2", arm: ["rl", "sft"] }, seeds: [3] });
  assert.equal(only.map((p) => [p.config.arm, p.config.width, p.seed]), [["sft", 2, 3], ["rl", 2, 3]], "string \"2\" matches 2; grid order kept");
  assert.equal(parseOnlyArguments(["arm=a", "arm=b", "x=1=2"]), { arm: ["a", "b"], x: ["1=2"] });
  await expectError(() => expandGrid(g, { only: { size: 1 } }), UnknownOptionError, "valid: arm, width");
  await expectError(() => expandGrid(g, { only: { width: 3 } }), UnknownOptionError, "valid: 1, 2, 4");
  await expectError(() => expandGrid(g, { seeds: [] }), EmptyInputError, "seeds");
  await expectError(() => expandGrid(g, { seeds: [1, 1] }), InvalidArgumentError, "seeds[1]");
  await expectError(() => parseOnlyArguments(["arm"]), InvalidArgumentError, "key=value");
  assert.is(expandGrid(grid({}, [0, 1])).length, 2, "no axes: one config per seed");
});

test("defineStudy validates presets, names and grids; planSweep rejects unknown presets", async () => {
  const q = grid({ arm: ["a"] });
  const run = async () => ({ metrics: {} });
  await expectError(() => defineStudy({ name: "x", presets: { quick: q, default: q } } as never, run), InvalidArgumentError, "presets.paper");
  await expectError(() => defineStudy({ name: "x", presets: { quick: q, default: q, paper: q, fast: q } } as never, run), UnknownOptionError, "fast");
  await expectError(() => defineStudy({ name: "a/b", presets: { quick: q, default: q, paper: q } }, run), InvalidArgumentError, "definition.name");
  await expectError(() => defineStudy({ name: "x", presets: { quick: grid({ seed: [1] }), default: q, paper: q } }, run), InvalidArgumentError, "seed");
  await expectError(() => defineStudy({ name: "x", presets: { quick: grid({ arm: ["a", "a"] }), default: q, paper: q } }, run), InvalidArgumentError, "axes.arm[1]");
  await expectError(() => defineStudy({ name: "x", presets: { quick: grid({ arm: [] }), default: q, paper: q } }, run), EmptyInputError, "axes.arm");
  await expectError(() => defineStudy({ name: "x", presets: { quick: grid({ arm: ["a"] }, [0], { fixed: { arm: "b" } }), default: q, paper: q } }, run), InvalidArgumentError, "fixed");
  await expectError(() => defineStudy({ name: "x", presets: { quick: { ...q, axis: {} } as never, default: q, paper: q } }, run), UnknownOptionError, "axis");
  await expectError(() => planSweep(fixtureStudy, { preset: "fast" }), UnknownOptionError, "valid: quick, default, paper");
  await expectError(() => runSweep(fixtureStudy, { preset: "fast", store: tmp("never.jsonl"), ...silent }), UnknownOptionError, "quick, default, paper");
  await expectError(() => runSweep(fixtureStudy, { preset: "quick", store: tmp("never.jsonl"), jobs: 0, ...silent }), InvalidArgumentError, "jobs");
  await expectError(() => runSweep(fixtureStudy, { preset: "quick", store: tmp("never.jsonl"), jobs: 1.5, ...silent }), InvalidArgumentError, "jobs");
  await expectError(() => runSweep(fixtureStudy, { preset: "quick", store: tmp("never.jsonl"), concurrency: 2, ...silent } as never), UnknownOptionError, "concurrency");
  assert.not.ok(fs.existsSync(tmp("never.jsonl")));
});

// ---- sweeps --------------------------------------------------------------------------------------

test("runSweep runs every grid point once and skips finished ones on the next call", async () => {
  const { study, calls } = countingStudy("count", grid({ arm: ["a", "b"], width: [1, 2] }, [0, 1]));
  const file = tmp("count.jsonl");
  const events: SweepEvent["type"][] = [];
  const first = await runSweep(study, { preset: "quick", store: file, onProgress: (e) => events.push(e.type) });
  assert.is(calls.length, 8);
  assert.equal(first.summary, { ...first.summary, planned: 8, skipped: 0, done: 8, failed: 0, notRun: 0 });
  assert.equal(events, ["sweep-start", ...Array(8).fill(["run-start", "run-end"]).flat(), "sweep-end"]);
  assert.is(first.records.length, 8);
  assert.equal(first.records.map((r) => r.configHash), planSweep(study, { preset: "quick" }).map((p) => p.configHash), "plan order");
  assert.ok(first.records.every((r) => r.status === "ok" && r.runId.endsWith("-1") && r.cost.counters.steps === 1 && r.wallSeconds >= 0));
  assert.equal(first.toRecords().map((r) => r.value), first.records.map((r) => r.seed + 2));

  const second = await runSweep(study, { preset: "quick", store: file, ...silent });
  assert.is(calls.length, 8, "nothing re-run");
  assert.equal([second.summary.skipped, second.summary.done], [8, 0]);
  assert.equal(second.records, first.records);

  const third = await runSweep(study, { preset: "quick", store: file, seeds: [0, 1, 2], only: { arm: "b" }, ...silent });
  assert.is(calls.length, 10, "only the two new (arm b, seed 2) runs");
  assert.equal([third.summary.planned, third.summary.skipped, third.summary.done], [6, 4, 2]);
  assert.is(RunStore.open(file).size, 10);
});

test("a throwing run is recorded as failed, the sweep goes on, and the next sweep retries it", async () => {
  let failNext = true;
  const { study, calls } = countingStudy("flaky", grid({ arm: ["a", "b", "c"] }), async (config) => {
    if (config.arm === "b" && failNext) throw new RangeError("transient trouble");
    return { metrics: { ok: 1 } };
  });
  const file = tmp("flaky.jsonl");
  const first = await runSweep(study, { preset: "quick", store: file, ...silent });
  assert.equal([first.summary.done, first.summary.failed], [2, 1]);
  const failed = first.records.find((r) => r.status === "failed")!;
  assert.equal(failed.config, { arm: "b" });
  assert.is(failed.error, "RangeError: transient trouble");
  assert.equal(failed.metrics, {});

  failNext = false;
  const second = await runSweep(study, { preset: "quick", store: file, ...silent });
  assert.equal([second.summary.skipped, second.summary.done, second.summary.failed], [2, 1, 0]);
  assert.equal(calls.slice(3), [`{"arm":"b"}#0#2`], "only the failed config, as attempt 2");
  const retried = second.records.find((r) => r.config.arm === "b")!;
  assert.is(retried.status, "ok");
  assert.ok(retried.runId.endsWith("-2"));
  const lines = RunStore.open(file).runs({ config: { arm: "b" } });
  assert.equal(lines.map((r) => r.status), ["failed", "ok"], "the failure stays in the history");
});

test("stopOnFailure records the failure, then throws RunFailedError; invalid results are failures", async () => {
  const { study, calls } = countingStudy("stop", grid({ arm: ["a", "b", "c"] }), async (config) => {
    if (config.arm === "b") return { metrics: { loss: NaN } };
    return { metrics: { loss: 1 } };
  });
  const file = tmp("stop.jsonl");
  const events: SweepEvent[] = [];
  await expectError(() => runSweep(study, { preset: "quick", store: file, stopOnFailure: true, onProgress: (e) => events.push(e) }), RunFailedError, "metrics.loss: contains NaN");
  assert.is(calls.length, 2, "c was not run");
  const end = events[events.length - 1];
  assert.ok(end.type === "sweep-end" && end.summary.notRun === 1 && end.summary.failed === 1);
  assert.equal(RunStore.open(file).runs().map((r) => r.status), ["ok", "failed"]);

  const bad = countingStudy("bad", grid({ arm: ["a"] }), async () => ({ metrics: { arm: 1 } }));
  const r1 = await runSweep(bad.study, { preset: "quick", store: tmp("bad.jsonl"), ...silent });
  assert.match(r1.records[0].error!, /metrics\.arm.*config column/);
  const typo = countingStudy("typo", grid({ arm: ["a"] }), async () => ({ metric: { x: 1 } }) as never);
  const r2 = await runSweep(typo.study, { preset: "quick", store: tmp("typo.jsonl"), ...silent });
  assert.match(r2.records[0].error!, /invalid result from runOne: .*metric/);
  const negative = countingStudy("neg", grid({ arm: ["a"] }), async () => ({ metrics: {}, cost: { steps: -1 } }));
  const r3 = await runSweep(negative.study, { preset: "quick", store: tmp("neg.jsonl"), ...silent });
  assert.match(r3.records[0].error!, /cost\.steps/);
});

for (const backend of TEST_BACKENDS) {
  test(`records carry the active backend (${backend}), version and commit`, async () => {
    await useBackend(backend);
    const { study } = countingStudy(`backend-${backend}`, grid({ arm: ["a"] }));
    const result = await runSweep(study, { preset: "quick", store: tmp(`backend-${backend}.jsonl`), ...silent });
    const r = result.records[0];
    assert.is(r.backend, backend);
    assert.is(r.gradlabVersion, JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version);
    assert.ok(r.gitCommit === null || /^[0-9a-f]{40}$/.test(r.gitCommit));
    assert.ok(Date.parse(r.startedAt) <= Date.parse(r.finishedAt));
    assert.is(defaultStorePath("prism"), path.join(ROOT, "reports", "runs", "prism.jsonl"), "default store is in the project, whatever the cwd");
  });
}

// ---- progress ------------------------------------------------------------------------------------

function fakeRun(label: string, index: number, wallSeconds: number, status: "ok" | "failed" = "ok"): Extract<SweepEvent, { type: "run-end" }> {
  const record = makeRecord({ seed: index, wallSeconds, status, metrics: {}, ...(status === "failed" ? { error: "Error: boom" } : {}) });
  return { type: "run-end", run: { config: record.config, seed: index, configHash: record.configHash, label }, record, index, toRun: 4 };
}
const START: SweepEvent = { type: "sweep-start", study: "s", preset: "quick", store: "/x.jsonl", planned: 6, skipped: 2, toRun: 4 };

test("progress: ETA is the mean run time of this session times the runs left", () => {
  let now = 1000;
  const tracker = new ProgressTracker(() => now);
  tracker.handle(START);
  assert.is(tracker.snapshot().etaSeconds, null, "unknown before the first run ends");
  tracker.handle({ type: "run-start", run: fakeRun("arm=a seed=0", 0, 0).run, index: 0, toRun: 4 });
  assert.is(tracker.snapshot().current, "arm=a seed=0");
  now += 3000;
  tracker.handle(fakeRun("arm=a seed=0", 0, 2));
  tracker.handle(fakeRun("arm=b seed=0", 1, 4, "failed"));
  const s = tracker.snapshot();
  assert.equal([s.finished, s.failed, s.meanRunSeconds, s.etaSeconds, s.elapsedSeconds], [2, 1, 3, 6, 3]);
  assert.is(s.lastFailure, "arm=b seed=0: Error: boom");
  const line = formatProgressLine(s);
  assert.match(line, /^s\/quick \[#{10}\.{10}\] 2\/4 runs · elapsed 3\.0s · ETA 6\.0s · 1 failed · 2 already in store$/);
  assert.equal([formatDuration(0.44), formatDuration(42), formatDuration(185), formatDuration(3720), formatDuration(null)], ["0.4s", "42s", "3m05s", "1h02m", "?"]);
});

test("progress renderers: lines, tty (\\r), notebook display updated in place by display_id", () => {
  const summary = { study: "s", preset: "quick" as const, store: "/x.jsonl", planned: 6, skipped: 2, done: 1, failed: 1, notRun: 2, wallSeconds: 5 };
  const events: SweepEvent[] = [START, { type: "run-start", run: fakeRun("arm=a", 0, 1).run, index: 0, toRun: 4 }, fakeRun("arm=a", 0, 1),
    fakeRun("arm=b", 1, 1, "failed"), { type: "sweep-end", summary }];

  const lines: string[] = [];
  const lineReporter = createProgressReporter({ mode: "lines", stream: { write: (t: string) => lines.push(t) } });
  events.forEach(lineReporter);
  assert.is(lines.length, 4, "start, one per finished run, summary");
  assert.ok(lines.every((l) => l.endsWith("\n") && !l.includes("\r")));
  assert.match(lines[1], /^\[1\/4\] ok arm=a \(1\.0s\)/);
  assert.match(lines[2], /^\[2\/4\] FAILED arm=b \(1\.0s\): Error: boom/);
  assert.match(lines[3], /done 1, skipped 2 \(already in store\), failed 1, not run 2/);

  const tty: string[] = [];
  const ttyReporter = createProgressReporter({ mode: "auto", stream: { write: (t: string) => tty.push(t), isTTY: true, columns: 60 }, target: { kind: "none", reason: "test" }, refreshMs: 0 });
  events.forEach(ttyReporter);
  const updates = tty.filter((t) => t.startsWith("\r") && !t.endsWith("\n"));
  assert.ok(updates.length >= 3, "status line rewritten in place");
  assert.ok(updates.every((t) => t.length <= 60 + 4), "cut to the terminal width");
  assert.ok(tty.some((t) => t.includes("FAILED arm=b") && t.endsWith("\n")), "failures get their own line");
  assert.match(tty[tty.length - 1], /done 1, .*\n$/);

  const sent: Array<{ text: string; id: unknown; update: boolean }> = [];
  const target = { kind: "bundle" as const, write: (c: { data: Record<string, unknown>; transient: Record<string, unknown> }, update: boolean) => sent.push({ text: String(c.data["text/plain"]), id: c.transient.display_id, update }) };
  const nbReporter = createProgressReporter({ target, refreshMs: 0, notebookMinSeconds: 0, stream: { write: () => assert.unreachable("notebook mode must not print") } });
  events.forEach(nbReporter);
  assert.is(sent.length, events.length);
  assert.equal(sent.map((s) => s.update), [false, true, true, true, true]);
  assert.ok(typeof sent[0].id === "string" && sent.every((s) => s.id === sent[0].id), "one display_id");
  assert.match(sent[3].text, /last failure: arm=b: Error: boom/);
  assert.match(sent[4].text, /done 1, skipped 2/);

  // Throttled (the default): hundreds of runs inside the interval send only the first and the final state.
  const throttled: Array<{ text: string; update: boolean }> = [];
  const thr = createProgressReporter({ target: { kind: "bundle" as const, write: (c: { data: Record<string, unknown> }, update: boolean) => throttled.push({ text: String(c.data["text/plain"]), update }) }, refreshMs: 0, now: () => 0 });
  thr({ ...START, planned: 302, toRun: 300 } as SweepEvent);
  for (let i = 0; i < 300; i++) thr({ ...fakeRun(`arm=${i}`, i, 1), toRun: 300 });
  thr({ type: "sweep-end", summary });
  assert.equal(throttled.map((t) => t.update), [false, true], "first and final state only");
  assert.match(throttled[1].text, /done 1, skipped 2/);
  assert.throws(() => createProgressReporter({ notebookMinSeconds: -1 }), (e: unknown) => e instanceof InvalidArgumentError && /notebookMinSeconds/.test(String(e)));

  const fallback: string[] = [];
  const fb = createProgressReporter({ mode: "notebook", target: { kind: "fallback", reason: "old tslab", show: () => {} }, stream: { write: (t: string) => fallback.push(t) } });
  events.forEach(fb);
  assert.is(fallback.length, 4, "no display updates available: one line per finished run");
  assert.throws(() => createProgressReporter({ mode: "bars" as never }), (e: unknown) => e instanceof UnknownOptionError);
});

// ---- registry ------------------------------------------------------------------------------------

function getStudyError(name: string): string {
  try {
    getStudy(name);
  } catch (error) {
    assert.instance(error, UnknownStudyError);
    return (error as Error).message;
  }
  return assert.unreachable(`getStudy(${JSON.stringify(name)}) returned a study`) as never;
}

test("registry: register/get, lazy project studies, clear errors for unknown and unimplemented ones", async () => {
  assert.equal([...STUDIES], ["prism", "g2is", "maestro"]);
  assert.is(getStudy("sweep-fixture"), fixtureStudy, "the fixture registered itself on import");
  assert.is(loadStudyModule(FIXTURE_MODULE), fixtureStudy, "already loaded: found through its exports");
  const mine = registerStudy(countingStudy("mine", grid({ arm: ["a"] })).study);
  assert.is(getStudy("mine"), mine);
  assert.ok(availableStudies().includes("mine"));
  await expectError(() => getStudy("no-such-study"), UnknownStudyError, "unknown study \"no-such-study\"; available: ");
  // Every project study is implemented: its module exists, is listed as available, loads lazily
  // and registers a study under its own name with every preset planning at least one run.
  for (const name of STUDIES) {
    const file = path.join(ROOT, "kernel-lib", "experiments", STUDY_MODULES[name]);
    assert.ok(fs.existsSync(`${file}.ts`), `${name}: no module ${file}.ts`);
    assert.ok(availableStudies().includes(name), `${name}: not listed in availableStudies() (${availableStudies().join(", ")})`);
    const study = getStudy(name);
    assert.is(study.name, name, `${file} registers "${name}"`);
    assert.equal(Object.keys(study.presets).sort(), ["default", "paper", "quick"], `${name}: presets`);
    for (const preset of ["quick", "default", "paper"] as const) assert.ok(planSweep(study, { preset }).length > 0, `${name}: the ${preset} grid plans no runs`);
  }
  const unknownListing = getStudyError("no-such-study");
  for (const name of STUDIES) assert.ok(unknownListing.includes(name), `the unknown-study message lists ${name}: ${unknownListing}`);
  assert.not.ok(unknownListing.includes("not implemented yet"), unknownListing);
  await expectError(() => loadStudyModule(tmp("missing-study.ts")), FileFormatError, "does not exist");
});

// ---- the CLI, including a SIGKILL in the middle of a sweep ---------------------------------------

const CLI = [path.join(ROOT, "scripts", "sweep.ts")];
function cliArgs(store: string, extra: string[] = []): string[] {
  return ["--require", "tsx/cjs", ...CLI, "--study-module", FIXTURE_MODULE, "--preset", "quick", "--store", store, "--progress", "lines", ...extra];
}
function runCli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env } });
}
const completeLines = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").slice(0, -1) : []);

test("CLI: unknown study or preset → exit 2 with one line naming the valid values; failures → exit 1", () => {
  const unknown = runCli(["--require", "tsx/cjs", ...CLI, "--study", "no-such-study", "--preset", "quick"]);
  assert.is(unknown.status, 2);
  assert.is(unknown.stderr.trim().split("\n").length, 1);
  assert.match(unknown.stderr, /^sweep: study: unknown study "no-such-study"; available: /);
  const preset = runCli(cliArgs(tmp("cli-never.jsonl")).map((a) => (a === "quick" ? "fast" : a)));
  assert.is(preset.status, 2);
  assert.is(preset.stderr.trim(), `sweep: preset: unknown value "fast"; valid: quick, default, paper`);
  const only = runCli(cliArgs(tmp("cli-never.jsonl"), ["--only", "arm=z"]));
  assert.is(only.status, 2);
  assert.match(only.stderr.trim(), /^sweep: only\.arm: unknown value "z"; valid: a, b, c$/);
  assert.not.ok(fs.existsSync(tmp("cli-never.jsonl")));

  const store = tmp("cli-fail.jsonl");
  const failing = runCli(cliArgs(store, ["--only", "arm=b", "--seeds", "0"]), { SWEEP_FIXTURE_FAIL: "b", SWEEP_FIXTURE_SLEEP_MS: "0" });
  assert.is(failing.status, 1, failing.stderr);
  assert.match(failing.stdout, /done 0, skipped 0 \(already in store\), failed 2 of 2 planned/);
  assert.equal(RunStore.open(store).runs().map((r) => r.error), ["Error: arm b fails on purpose", "Error: arm b fails on purpose"]);
});

const TORN_APPEND = path.join(__dirname, "fixtures", "torn-append.ts");

test("CLI: SIGKILL in the middle of an append, then resume: finished lines kept, torn line skipped and isolated, every config exactly once, metrics = oracle", async () => {
  const store = tmp("kill.jsonl"), markers = tmp("kill-markers.txt"), signal = tmp("kill-torn.txt");
  // The third append gets a short write (half its bytes), then the sweep blocks until killed: the
  // SIGKILL lands inside RunStore.append, with a torn record on disk (test/fixtures/torn-append.ts).
  const child = spawn(process.execPath, ["--require", "tsx/cjs", "--require", TORN_APPEND, ...cliArgs(store).slice(2)], {
    cwd: ROOT, stdio: "ignore",
    env: { ...process.env, SWEEP_FIXTURE_MARKERS: markers, SWEEP_FIXTURE_SLEEP_MS: "40", TORN_APPEND_STORE: store, TORN_APPEND_AT: "3", TORN_APPEND_SIGNAL: signal },
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, sig) => resolve({ code, signal: sig })));
  let exitedEarly = false;
  void exited.then(() => { exitedEarly = true; });
  const started = () => (fs.existsSync(markers) ? fs.readFileSync(markers, "utf8").split("\n").filter(Boolean).length : 0);
  const deadline = Date.now() + 60000;
  try {
    while (!(fs.existsSync(signal) && fs.readFileSync(signal, "utf8").endsWith("\n"))) {
      assert.not.ok(exitedEarly, "the sweep exited before its third append");
      assert.ok(Date.now() < deadline, "the sweep never reached its third append");
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    child.kill("SIGKILL");
  }
  assert.equal(await exited, { code: null, signal: "SIGKILL" }, "killed, not exited (99 = the fixture gave up waiting)");
  const tornHash = fs.readFileSync(signal, "utf8").trim();
  const before = fs.readFileSync(store, "utf8");
  const beforeLines = before.split("\n");
  const finished = beforeLines.slice(0, -1), torn = beforeLines[beforeLines.length - 1];
  assert.is(finished.length, 2, "two appends finished before the torn one");
  assert.ok(torn.length > 0 && !before.endsWith("\n"), "the kill left a torn last line");
  assert.throws(() => JSON.parse(torn), SyntaxError, "the last line is only part of a record");
  assert.ok(finished.every((line) => line.startsWith("{") && line.endsWith("}")));

  // Reading: both finished records, the torn line reported (not fatal) and skipped.
  const warnings: string[] = [];
  const killed = RunStore.open(store, { onWarning: (m) => warnings.push(m) });
  assert.equal(killed.runs().map((r) => canonicalJson(r as never)), finished.map((line) => canonicalJson(JSON.parse(line))), "nothing finished is lost");
  assert.equal(killed.warnings.map((w) => w.line), [3], "the torn line, and only it, is reported");
  assert.match(killed.warnings[0].reason, /malformed JSON/);
  assert.is(warnings.length, 1);
  assert.match(warnings[0], /line 3 skipped/);
  assert.not.ok(killed.runs().some((r) => r.configHash === tornHash), "the torn run is not counted as finished");
  assert.ok(started() > finished.length, `killed with a run in progress (${started()} started, ${finished.length} recorded)`);

  const resumedMarkers = tmp("resume-markers.txt");
  const resume = runCli(cliArgs(store), { SWEEP_FIXTURE_MARKERS: resumedMarkers, SWEEP_FIXTURE_SLEEP_MS: "20" });
  assert.is(resume.status, 0, resume.stderr);
  assert.match(resume.stdout, /done 10, skipped 2 \(already in store\), failed 0 of 12/);
  assert.is(fs.readFileSync(resumedMarkers, "utf8").split("\n").filter(Boolean).length, 10, "finished runs were not redone; the torn one was");
  const after = fs.readFileSync(store, "utf8");
  assert.ok(after.startsWith(before), "bytes written before the kill are unchanged");
  assert.ok(after.slice(before.length).startsWith("\n{"), "the first append after the torn line starts on a line of its own");
  const resumed = RunStore.open(store, { onWarning: quiet });
  assert.equal(resumed.warnings.map((w) => w.line), [3], "the torn line is still there, reported and skipped");
  const hashes = resumed.runs().map((r) => r.configHash);
  assert.is(hashes.length, 12);
  assert.is(new Set(hashes).size, 12, "every config exactly once");
  assert.is(hashes.filter((h) => h === tornHash).length, 1, "the torn run was redone once");
  for (const r of resumed.runs()) {
    const config = r.config as FixtureConfig;
    assert.ok(r.status === "ok" && r.runId.endsWith("-1"), r.runId);
    assert.equal(r.metrics, expectedMetrics(config, r.seed), `metrics of ${r.runId} vs oracle`);
    assert.equal(r.cost.counters, { optimizerSteps: config.steps, forwardTokens: config.width * config.steps }, `cost of ${r.runId}`);
  }
  // compact() drops the torn line and nothing else.
  resumed.compact();
  resumed.close();
  const compacted = RunStore.open(store);
  assert.equal(compacted.warnings, []);
  assert.equal(compacted.runs().map((r) => r.configHash).sort(), [...hashes].sort());
  assert.is(fs.readFileSync(store, "utf8").split("\n").filter(Boolean).length, 12);
});

test.run();
