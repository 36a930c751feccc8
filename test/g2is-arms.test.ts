/**
 * Study arms added for issue 18: the oracle arm's draw and the epochs-matched fine-tuning length.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  ORACLE_GROUPS, oracleSelection, toySelectionDataset, finetuneSteps, runBlocks, STUDY_SETTINGS, realSelectionDataset, realTextEncodingStats,
  runStudyArm, releaseStudyPipelines, FINETUNE_REGIMES, StudySettings,
} from "../kernel-lib/studies/g2is";
import { flattenRunRecord, RunRecord } from "../kernel-lib/experiments/run-store";
import { InvalidArgumentError, UnknownOptionError } from "../kernel-lib/errors";
import { TEST_BACKENDS, expectError, useBackend } from "./helpers";

test("oracle arm: B clean rows of the target's hypothesised groups, seeded; all of them when fewer than B", async () => {
  const ds = toySelectionDataset({ poolSize: 300, pretrainSize: 50, validationPerSubtask: 2, validationSingle: 2, testPerTarget: 6, maxLen: 20, seed: 2 });
  for (const target of ["MULN", "SORTDESC", "single-ADD", "multi", "union"]) {
    const picked = oracleSelection(ds, target, 12, 7);
    assert.is(picked.length, 12, target);
    assert.is(new Set(picked).size, 12, `${target}: distinct`);
    for (const i of picked) {
      assert.ok(ORACLE_GROUPS[target].includes(ds.pool[i].group), `${target}: ${ds.pool[i].group} is not a hypothesised group`);
      assert.not.ok(ds.pool[i].conflict, `${target}: a conflicting item`);
    }
    assert.equal(oracleSelection(ds, target, 12, 7), picked, `${target}: a pure function of the seed`);
  }
  assert.not.equal(oracleSelection(ds, "MULN", 12, 8), oracleSelection(ds, "MULN", 12, 7), "another seed, another draw");
  const eligible = ds.pool.map((e, i) => (e.group === "ADD" && !e.conflict ? i : -1)).filter((i) => i >= 0);
  assert.equal(oracleSelection(ds, "single-ADD", eligible.length + 5, 1), eligible, "fewer eligible rows than B: all of them");
  await expectError(() => oracleSelection(ds, "nope", 3, 1), UnknownOptionError, "target");
});

test("epochs-matched regime: ceil(epochs · n / batch) updates; steps-matched ignores n", () => {
  assert.is(finetuneSteps({ steps: 100, batchSize: 16, learningRate: 1e-3 }, 20), 100);
  assert.is(finetuneSteps({ steps: 100, batchSize: 16, learningRate: 1e-3, epochs: 3 }, 20), 4, "3 · 20 / 16 = 3.75 → 4");
  assert.is(finetuneSteps({ steps: 100, batchSize: 16, learningRate: 1e-3, epochs: 3 }, 2000), 375);
  assert.is(finetuneSteps({ steps: 100, batchSize: 16, learningRate: 1e-3, epochs: 1 }, 1), 1);
  const S = STUDY_SETTINGS.quick;
  assert.equal(runBlocks({ target: "multi", method: "g2is", trainK: S.mainTrainK, valK: 0.5, delta: 0.8 }, S), ["main"], "no regime = steps");
});

test("real text: encoding stats per split; the source oracle draws GSM8K rows only", async () => {
  const base = { ...STUDY_SETTINGS.quick.real.data };
  const ds = realSelectionDataset(base);
  const stats = realTextEncodingStats(ds);
  assert.equal(stats.map((s) => s.split), ["pool/gsm8k", "pool/codealpaca", "pool/alpaca-seed", "gsm8k/validation", "gsm8k/test"]);
  for (const g of ds.groups) assert.is(stats.find((s) => s.split === `pool/${g}`)!.pairs, ds.pool.filter((e) => e.group === g).length);
  const test = stats.find((s) => s.split === "gsm8k/test")!;
  assert.is(test.pairs, ds.targets.gsm8k.test.length);
  assert.is(test.responseTokens, ds.targets.gsm8k.test.reduce((n, e) => n + e.example.lossMask.filter((m) => m > 0).length, 0), "response tokens = loss-masked tokens");
  assert.ok(test.unknownResponseTokens > 0 && test.unknownResponseTokens < test.responseTokens);
  const roomy = realTextEncodingStats(realSelectionDataset({ ...base, maxLen: 400, maxPromptTokens: 200 })).find((s) => s.split === "gsm8k/test")!;
  assert.ok(roomy.truncated < test.truncated, `a longer context cuts fewer answers (${roomy.truncated} vs ${test.truncated})`);
  const oracle = oracleSelection(ds, "gsm8k", 20, 0);
  assert.ok(oracle.length === 20 && oracle.every((i) => ds.pool[i].group === "gsm8k"), "source oracle");
  await expectError(() => realTextEncodingStats({ kind: "toy" } as never), InvalidArgumentError, "dataset");
});

test("a study run's metrics flatten beside its config: no metric is named like a grid column (both regimes, a walk arm and LESS)", async () => {
  await useBackend(TEST_BACKENDS[0]);
  const tiny: StudySettings = {
    ...STUDY_SETTINGS.quick,
    toy: {
      data: { poolSize: 120, pretrainSize: 200, validationPerSubtask: 2, validationSingle: 3, testPerTarget: 12, maxLen: 20, seed: 5 },
      pipeline: {
        model: { dModel: 16, nLayers: 1, nHeads: 2, dFF: 32 }, pretrain: { steps: 10, batchSize: 32, learningRate: 3e-3, seed: 0 },
        lora: { rank: 2, targets: ["q", "v"] }, warmup: { fraction: 0.1, epochs: 1, batchSize: 4, learningRate: 3e-3 }, projection: { dim: 16 },
      },
      finetune: { steps: 2, batchSize: 4, learningRate: 1e-3 },
    },
  };
  try {
    for (const method of ["g2is", "less"]) for (const regime of FINETUNE_REGIMES) {
      const config = { target: "multi", method, trainK: tiny.mainTrainK, valK: 0.5, delta: 0.8, regime };
      const { metrics, cost } = runStudyArm(config, tiny, 0);
      const record: RunRecord = { study: "g2is", runId: "x", configHash: "0".repeat(64), config, seed: 0, status: "ok", metrics, cost: { counters: cost, seconds: 0 }, startedAt: "t", finishedAt: "t", wallSeconds: 0, backend: "cpu", gitCommit: null, gradlabVersion: "0" };
      flattenRunRecord(record); // throws on a metric named like a config column
      assert.is(metrics.finetuneSteps, regime === "steps" ? 2 : Math.ceil((3 * (metrics.selected as number)) / 4), `${method}/${regime}: updates`);
      assert.ok(Array.isArray(metrics.selection) && (metrics.selection as number[]).length === metrics.selected, `${method}/${regime}: the selection is stored`);
      if (method === "g2is") assert.ok(metrics.rejections !== null && Array.isArray(metrics.componentAlignment), "walk diagnostics stored");
    }
  } finally {
    releaseStudyPipelines();
  }
});

test.run();
