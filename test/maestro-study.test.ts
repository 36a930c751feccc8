import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { InvalidArgumentError } from "../kernel-lib/errors";
import { PRESETS } from "../kernel-lib/notebook";
import { RunStore, getStudy, planSweep, runSweep } from "../kernel-lib/experiments";
import {
  MAESTRO_ARMS, MAESTRO_GRU_ARMS, MAESTRO_SETTINGS, MAESTRO_STUDY_VERSION, MaestroStudyMetrics, REWARD_COMPONENTS, TASK_TYPES, maestroStudy, maestroStudyOutput, maestroStudyRunConfig, maestroStudyRuns, resolveRunConfig, runMaestroArm, runMaestroStudyPoint, windowMeans,
} from "../kernel-lib/studies/maestro";
import { TEST_BACKENDS, expectError, expectNoLeak, useBackend } from "./helpers";

const ROOT = path.join(__dirname, "..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gradlab-maestro-study-"));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function finiteNumbers(value: unknown, where: string): number {
  if (typeof value === "number") { assert.ok(Number.isFinite(value), `${where} is ${value}`); return 1; }
  if (Array.isArray(value)) return value.reduce((n: number, v, i) => n + finiteNumbers(v, `${where}[${i}]`), 0);
  if (value !== null && typeof value === "object") return Object.entries(value).reduce((n, [k, v]) => n + finiteNumbers(v, `${where}.${k}`), 0);
  assert.ok(typeof value === "string" || typeof value === "boolean", `${where}: unexpected ${String(value)}`);
  return 0;
}

test("grid: every arm on tier A (+ maestro with the continuous mapping), the preset's subset on tier B, the sensitivity settings on their arms, seeds outermost", async () => {
  const expectedSeeds = { quick: 2, default: 6, paper: 10 };
  for (const preset of PRESETS) {
    const plan = planSweep(maestroStudy, { preset });
    const gruArms = MAESTRO_GRU_ARMS[preset];
    // The documented content, written out from the settings table: tier, arm, mapping, setting (last fastest).
    const expected: string[] = [];
    for (const tier of ["bank", "gru"] as const) {
      for (const arm of MAESTRO_ARMS) {
        if (tier === "gru" && !gruArms.includes(arm)) continue;
        for (const mapping of tier === "bank" && arm === "maestro" ? ["discrete", "continuous"] : ["discrete"]) {
          expected.push(`${tier}/${arm}/${mapping}/default`);
          if (mapping !== "discrete") continue;
          for (const [name, setting] of Object.entries(MAESTRO_SETTINGS)) {
            if (setting.presets.includes(preset) && setting[tier].includes(arm)) expected.push(`${tier}/${arm}/${mapping}/${name}`);
          }
        }
      }
    }
    const perSeed = expected.length;
    assert.is(plan.length, expectedSeeds[preset] * perSeed, `${preset}: ${plan.length} runs`);
    const first = plan.slice(0, perSeed);
    assert.ok(first.every((p) => p.seed === plan[0].seed), `${preset}: the first ${perSeed} runs share one seed`);
    const key = (p: (typeof plan)[number]) => `${p.config.tier}/${p.config.arm}/${p.config.mapping}/${p.config.setting}`;
    assert.equal(first.map(key), expected, `${preset}: documented order and content`);
    assert.is(new Set(plan.map((p) => p.configHash)).size, plan.length, "distinct hashes");
    for (const p of first) {
      assert.is(p.config.studyVersion, MAESTRO_STUDY_VERSION);
      const resolved = resolveRunConfig(maestroStudyRunConfig(p.config)); // every planned config is valid
      assert.is(resolved.tier, p.config.tier);
      assert.is(resolved.steps, (p.config[p.config.tier as string] as { steps: number }).steps);
      if (p.config.setting !== "default") {
        for (const [k, v] of Object.entries(MAESTRO_SETTINGS[p.config.setting as string].overrides)) assert.is((resolved as Record<string, unknown>)[k], v, `${key(p)}: ${k}`);
      }
    }
  }
  // Presets never share a config: the step counts are part of the hash.
  const hashes = PRESETS.map((preset) => new Set(planSweep(maestroStudy, { preset }).map((p) => p.configHash)));
  assert.ok([...hashes[0]].every((h) => !hashes[1].has(h) && !hashes[2].has(h)));
  assert.is(getStudy("maestro"), maestroStudy, "registered under its name");
  await expectError(() => maestroStudyRunConfig({ studyVersion: MAESTRO_STUDY_VERSION, tier: "bank", bank: {}, gru: {}, arm: "maestro", mapping: "discrete", setting: "lambda-7" }), InvalidArgumentError, "config.setting");
});

test("windowMeans: means of consecutive windows (last one shorter), closed cases and a loop oracle", async () => {
  assert.equal(windowMeans([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 3), [2, 5, 8, 10]);
  assert.equal(windowMeans([1, 2, 3], 1), [1, 2, 3]);
  assert.equal(windowMeans([], 4), []);
  const xs = Array.from({ length: 37 }, (_, i) => Math.sin(i) * 3 + i / 7);
  const oracle: number[] = [];
  for (let i = 0; i < xs.length; i += 5) { let s = 0, n = 0; for (let j = i; j < Math.min(i + 5, xs.length); j++) { s += xs[j]; n++; } oracle.push(s / n); }
  windowMeans(xs, 5).forEach((v, i) => assert.ok(Math.abs(v - oracle[i]) <= 1e-5 * Math.max(1, Math.abs(oracle[i])), `window ${i}`));
  await expectError(() => windowMeans(xs, 0), InvalidArgumentError, "width");
});

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] maestroStudyOutput: scalar metrics finite, curves windowed from the run's own curves, arrays kept`, async () => {
    await useBackend(backend);
    const result = await expectNoLeak("maestro run", () => runMaestroArm({ arm: "maestro", steps: 24, evalPromptsPerType: 4 }, 5));
    const full = maestroStudyOutput(result, 100).metrics as unknown as MaestroStudyMetrics;
    assert.is(full.curves.step.length, 24, "fewer steps than curvePoints: no windowing");
    full.curves.weightsByType.factual.forEach((row, i) => row.forEach((w, k) => assert.ok(Math.abs(w - result.curves.weightsByType.factual[i][k]) < 1e-5)));
    const out = maestroStudyOutput(result, 5);
    const m = out.metrics as unknown as MaestroStudyMetrics;
    assert.is(m.curves.step.length, 5, "ceil(24 / 5) = 5 steps per window");
    assert.equal(m.curves.step, [2, 7, 12, 17, 21.5], "each window's mean step (the last window, 20…23, is shorter)");
    assert.ok(Math.abs(m.curves.length[1] - result.curves.length.slice(5, 10).reduce((a, b) => a + b, 0) / 5) < 1e-5);
    assert.is(m.curves.metaGradient.norm.length, 3, "6 Conductor updates (every 4 steps) in windows of ceil(6 / 5) = 2");
    assert.is(m.trueUtility, result.metrics.trueUtilityOverall);
    assert.equal(m.actionHistogram, result.metrics.actionHistogram);
    assert.ok(m.metaGradientMaxNorm! >= m.metaGradientMeanNorm! && m.metaGradientMeanNorm! > 0);
    assert.ok(finiteNumbers(out.metrics, "metrics") > 100);
    assert.equal(JSON.parse(JSON.stringify(out)), out, "JSON round trip");
    assert.is(out.cost!.policySteps, 24);
    assert.is(out.cost!.conductorUpdates, 6);
    assert.is(out.cost!.seconds, result.metrics.totalSeconds);
    // A static arm has no Conductor fields but its static w.
    const equal = maestroStudyOutput(runMaestroArm({ arm: "equal", steps: 4, evalPromptsPerType: 2 }, 5)).metrics as unknown as MaestroStudyMetrics;
    assert.is(equal.actionHistogram, undefined);
    assert.is(equal.metaGradientMeanNorm, undefined);
    assert.equal(equal.staticWeights, new Array(REWARD_COMPONENTS.length).fill(1 / REWARD_COMPONENTS.length));
  });
}

// wasm only: this checks the sweep's store and resume (backend-independent); the runs' numerics
// are checked on both backends in maestro.test.ts.
for (const backend of ["wasm"] as const) {
  test(`[${backend}] a small sweep writes ok records to a temp store; the second sweep skips them; records read back typed`, async () => {
    await useBackend(backend);
    const store = path.join(tmp, "maestro.jsonl");
    const only = { tier: "bank", arm: ["equal", "maestro"], mapping: ["discrete", "continuous"], setting: "default" };
    const options = { preset: "quick", seeds: [3], only, store, onProgress: () => {} };
    const first = await runSweep(maestroStudy, options);
    assert.equal([first.summary.planned, first.summary.done, first.summary.skipped, first.summary.failed], [3, 3, 0, 0], "equal has no continuous variant");
    const second = await runSweep(maestroStudy, options);
    assert.equal([second.summary.done, second.summary.skipped], [0, 3], "resumed from the store");
    assert.is(RunStore.open(store).size, 3, "no line written twice");
    const rows = second.toRecords();
    for (const row of rows) {
      for (const column of ["trueUtility", "trueUtilityByType.creative", "length", "secondsPerStep", "finalReward"]) {
        assert.ok(typeof row[column] === "number" && Number.isFinite(row[column] as number), `${column} = ${row[column]}`);
      }
      assert.ok(!Object.keys(row).some((k) => k.startsWith("curves")), "curves are not table columns");
    }
    const runs = maestroStudyRuns(second.records);
    assert.equal(runs.map((r) => `${r.variant}/${r.conductor}`), ["maestro/true", "maestro (continuous)/true", "equal/false"]);
    for (const r of runs) {
      finiteNumbers(r.metrics, `${r.tier}/${r.arm}`);
      for (const t of TASK_TYPES) assert.is(r.metrics.curves.weightsByType[t].length, r.metrics.curves.step.length);
    }
    const foreign = { ...second.records[0], study: "other" };
    await expectError(() => maestroStudyRuns([foreign]), InvalidArgumentError, "records");
  });
}

// wasm only: the cpu backend runs tier B's leak and finiteness checks in maestro.test.ts.
for (const backend of ["wasm"] as const) {
  test(`[${backend}] runOne: metrics are finite JSON numbers for a Conductor arm on tier B`, async () => {
    await useBackend(backend);
    const plan = planSweep(maestroStudy, { preset: "quick", only: { tier: "gru", arm: "maestro", setting: "default" }, seeds: [7] });
    assert.is(plan.length, 1);
    const out = await expectNoLeak("runOne", () => runMaestroStudyPoint(plan[0].config, 7));
    assert.ok(finiteNumbers(out.metrics, "metrics") > 50);
    assert.ok((out.metrics as unknown as MaestroStudyMetrics).pretrainSeconds > 0, "tier B pre-trains");
    assert.ok(Object.values(out.cost!).every((v) => Number.isFinite(v) && v >= 0));
  });
}

test("CLI: npm run sweep -- --study maestro finds the study through the registry and resumes", () => {
  const store = path.join(tmp, "cli.jsonl");
  const args = ["--require", "tsx/cjs", path.join(ROOT, "scripts", "sweep.ts"), "--study", "maestro", "--preset", "quick", "--store", store,
    "--seeds", "0", "--only", "tier=bank", "--only", "arm=equal", "--only", "mapping=discrete", "--only", "setting=default", "--progress", "none"];
  const once = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8" });
  assert.is(once.status, 0, once.stderr);
  assert.match(once.stdout, /done 1, skipped 0/);
  const twice = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8" });
  assert.is(twice.status, 0, twice.stderr);
  assert.match(twice.stdout, /done 0, skipped 1/);
  const [record] = RunStore.open(store).runs();
  // A process that chose no backend gets the project's preferred one, not tfjs's silent cpu default.
  if (process.env.GRADLAB_BACKEND === undefined) assert.is.not(record.backend, "cpu");
});

test.run();
