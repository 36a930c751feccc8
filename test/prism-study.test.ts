import { test } from "uvu";
import * as assert from "uvu/assert";
import { EmptyInputError, InvalidArgumentError, UnknownOptionError } from "../kernel-lib/errors";
import { probeTrajectories } from "../kernel-lib/prism";
import {
  rlEffect,
  PRISM_ARMS, armPlan, armRule, splitCorpus, assertArm, assertRoutingMetric, studyBase, clearStudyBases, runPrismArm, prismStudyGrid, prismEnvSettings,
  prismStudyRuns, armStats, meanStdText, taskDifferences, compareArms, PRISM_PRESET_ARMS, PrismEnvSettings, PrismStudyRun,
} from "../kernel-lib/studies/prism";
import { signTest, verdictText } from "../kernel-lib/stats";
import { getStudy, planSweep } from "../kernel-lib/experiments";
import type { RunRecord } from "../kernel-lib/experiments";
import { TEST_BACKENDS, useBackend, expectNoLeak, expectError, assertClose } from "./helpers";

// ---- arms: every split against its definition --------------------------------------------------

const N = 10;
const gini = [0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 0.0];
const l2 = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const inputs = { n: N, scores: { gini, kurtosis: gini.map((g) => -g), cv: gini, l2 }, sqrtNumelScores: { gini: l2 }, passRates: [0, 0, 0, 0, 0, 1, 1, 1, 0.5, 0.5], seed: 3 };
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

test("arms: median, inverse, magnitude and √numel splits send exactly the indices the definition names", () => {
  const topHalf = sorted(gini.map((g, i) => [g, i]).filter(([g]) => g > 0.45).map(([, i]) => i));
  assert.equal(sorted(splitCorpus("prism-gini", inputs).rl), topHalf, "high Gini → RL");
  assert.equal(sorted(splitCorpus("inverse-gini", inputs).sft), topHalf, "inverse: high Gini → SFT");
  assert.equal(sorted(splitCorpus("prism-kurtosis", inputs).sft), topHalf, "kurtosis = −gini here: the mirror image");
  assert.equal(sorted(splitCorpus("magnitude", inputs).rl), [5, 6, 7, 8, 9], "top half of L2 → RL");
  assert.equal(sorted(splitCorpus("prism-gini-sqrtnumel", inputs).rl), [5, 6, 7, 8, 9], "reads the normalised scores");
  const q = splitCorpus("allocation-cv", inputs, 0.3);
  assert.equal(sorted(q.rl), [2, 4, 6], "top 30% CV → RL");
  for (const arm of PRISM_ARMS) {
    const s = splitCorpus(arm, inputs, arm === "allocation-cv" ? 0.7 : 0.5);
    const plan = armPlan(arm);
    if (plan.data === "split") assert.equal(sorted([...s.sft, ...s.rl]), l2.map((_, i) => i), `${arm}: a partition`);
    if (plan.data === "all") assert.ok((!plan.sft || s.sft.length === N) && (!plan.rl || s.rl.length === N), `${arm}: everything`);
    if (plan.data === "none") assert.is(s.sft.length + s.rl.length, 0, "base trains nothing");
  }
});

test("arms: HPT sends the highest pass rates to RL with a seeded (not positional) tie-break; random is seeded", () => {
  const h = splitCorpus("hpt", inputs);
  assert.ok([5, 6, 7, 8, 9].every((i) => h.rl.includes(i)), "pass rates 1 and 0.5 → RL");
  // Five tasks tie at the top (1, 1, 1, 0.5, 0.5 fill exactly 5): now a tie that must be broken.
  const tied = { ...inputs, passRates: new Array(N).fill(0) };
  const draws = [1, 2, 3, 4, 5, 6].map((seed) => sorted(splitCorpus("hpt", { ...tied, seed }).rl).join(","));
  assert.ok(new Set(draws).size > 1, "ties broken differently per seed");
  assert.equal(splitCorpus("hpt", { ...tied, seed: 2 }).rl, splitCorpus("hpt", { ...tied, seed: 2 }).rl, "reproducible");
  assert.equal(splitCorpus("random", inputs).rl, splitCorpus("random", inputs).rl);
  assert.is(splitCorpus("random", inputs).rl.length, 5);
});

test("arms: unknown arms and metrics list the valid ones; q only for the allocation sweep", async () => {
  await expectError(() => assertArm("arm", "prism-entropy"), UnknownOptionError, "prism-gini");
  await expectError(() => splitCorpus("bogus" as never, inputs), UnknownOptionError, "allocation-cv");
  await expectError(() => assertRoutingMetric("metric", "l1"), UnknownOptionError, "kurtosis");
  await expectError(() => armRule("prism-gini", 0.3), InvalidArgumentError, "q");
  await expectError(() => armRule("allocation-cv", 1), InvalidArgumentError, "q");
  await expectError(() => splitCorpus("hpt", { n: N, seed: 1 }), InvalidArgumentError, "passRates");
});

// ---- the study grid ------------------------------------------------------------------------------

test("study: registered; the quick grid is every quick arm × env with q swept only for allocation-cv", () => {
  const study = getStudy("prism");
  const plan = planSweep(study, { preset: "quick" });
  const arms = PRISM_PRESET_ARMS.quick;
  assert.is(plan.length, 2 * (arms.length - 1 + 4), "allocation-cv at 4 fractions, the rest once, per env");
  assert.ok(plan.every((p) => (p.config.arm === "allocation-cv") === (p.config.q !== 0.5)));
  assert.is(new Set(plan.map((p) => p.configHash)).size, plan.length, "distinct configs");
  assert.ok(prismStudyGrid("default").seeds!.length >= 2);
  assert.ok(PRISM_PRESET_ARMS.paper.includes("gigpo-100"));
  // The paper preset shares the default settings, so the default runs are its first seeds (one store).
  const paper = new Set(planSweep(study, { preset: "paper" }).map((p) => p.configHash));
  const defaults = planSweep(study, { preset: "default" });
  assert.ok(defaults.length > 0 && defaults.every((p) => paper.has(p.configHash)), "every default run is a paper run");
  assert.ok(paper.size > defaults.length, "the paper preset adds seeds and arms");
});

test("study: a run's config holds only its own env's settings, so changing one env's settings leaves the other's runs (and hashes) alone", () => {
  const plan = planSweep(getStudy("prism"), { preset: "default" });
  for (const p of plan) {
    assert.equal(p.config.settings, prismEnvSettings(p.config.env as "minialf" | "minishop", "default"), `${String(p.config.env)} carries its own settings`);
  }
  assert.equal(new Set(plan.map((p) => p.config.env)), new Set(["minialf", "minishop"]));
  // The hash is a function of {study, config, seed} alone, and these are all a config holds.
  assert.ok(plan.every((p) => Object.keys(p.config).sort().join() === "arm,env,q,settings,studyVersion"), "config keys");
  // Run labels (progress lines) show the settings block as a short digest, distinct per env.
  for (const p of plan) assert.match(p.label, /^env=\w+ settings=\{…[0-9a-f]{8}\} arm=[\w-]+ q=[\d.]+ seed=\d+$/);
  assert.is(new Set(plan.map((p) => /settings=(\S+)/.exec(p.label)![1])).size, 2, "one digest per env");
});

// ---- report helpers: closed forms ----------------------------------------------------------------

function fakeRun(arm: string, seed: number, seenSuccess: number): PrismStudyRun {
  return { env: "minialf", arm: arm as never, q: 0.5, seed, metrics: { seenSuccess } as never, cost: { seconds: 1 } };
}

test("report: mean ± std over seeds; bad metrics and foreign records are typed errors", () => {
  const runs = [fakeRun("random", 0, 0.2), fakeRun("random", 1, 0.4), fakeRun("prism-gini", 0, 0.5), fakeRun("prism-gini", 1, 0.5)];
  const s = armStats(runs, "minialf", "random", "seenSuccess");
  assert.equal([s.n, s.mean], [2, 0.30000000000000004]);
  assert.ok(Math.abs(s.std - Math.sqrt(0.02)) < 1e-12);
  assert.is(meanStdText(s), "30.0 ± 14.1");
  assert.throws(() => armStats(runs, "minialf", "random", "nope"), (e: unknown) => e instanceof InvalidArgumentError && /nope/.test(String(e)));
  assert.throws(() => prismStudyRuns([{ study: "maestro", status: "ok", config: {} } as unknown as RunRecord]), (e: unknown) => e instanceof InvalidArgumentError);
});

/** A run whose per-task outcomes are given (seen split); the other vectors are empty. */
function taskRun(arm: string, seed: number, success: number[], score: number[] = success.map((x) => 100 * x), q = 0.5): PrismStudyRun {
  const metrics = { seenTaskSuccess: success, seenTaskScore: score, unseenTaskSuccess: [], unseenTaskScore: [] };
  return { env: "minialf", arm: arm as never, q, seed, metrics: metrics as never, cost: { seconds: 1 } };
}

test("report: taskDifferences pairs task i of arm a with task i of arm b, seed by seed, on the common seeds only", () => {
  const runs = [
    taskRun("prism-gini", 1, [1, 0, 1, 1]), taskRun("random", 1, [1, 0, 0, 0]),
    taskRun("prism-gini", 0, [1, 1, 0, 1]), taskRun("random", 0, [0, 1, 0, 0]),
    taskRun("random", 2, [0, 0, 0, 0]), // no prism-gini run on seed 2: left out
    taskRun("prism-gini", 3, [1, 1, 1, 1], undefined, 0.3), // another q: not this arm's run
  ];
  const d = taskDifferences(runs, "minialf", "prism-gini", "random", "seenTaskSuccess");
  assert.equal(d.seeds, [0, 1], "common seeds, ascending");
  assert.equal(d.differences, [1, 0, 0, 1, 0, 0, 1, 1]);
  assert.equal(d.clusters, [0, 0, 0, 0, 1, 1, 1, 1]);
  const r = taskDifferences(runs, "minialf", "random", "prism-gini", "seenTaskScore");
  assert.equal(r.differences, [-100, 0, 0, -100, 0, 0, -100, -100], "b − a is the mirror, in the score's units");
});

test("report: compareArms — stratified exact McNemar over tasks within seeds, closed-form p", () => {
  const runs = [
    taskRun("prism-gini", 0, [1, 1, 0, 1]), taskRun("random", 0, [0, 1, 0, 0]),
    taskRun("prism-gini", 1, [1, 0, 1, 1]), taskRun("random", 1, [1, 0, 0, 0]),
  ];
  const v = compareArms(runs, "minialf", "prism-gini", "random", "seenTaskSuccess");
  // 4 discordant tasks, all won by prism-gini: p = 2 · (½)⁴.
  assertClose(v.p, 2 / 16, 1e-12);
  assert.is(v.p, signTest(4, 0));
  assert.is(v.test, "stratified exact McNemar test (tasks within seeds)");
  assert.is(v.sample, "8 tasks in 2 seeds");
  assert.equal([v.estimate, v.n, v.clusters, v.pairs, v.ties], [0.5, 8, 2, 8, 4]);
  assert.equal(v.seeds, [0, 1]);
  assert.is(v.verdict, "inconclusive", "4 of 4 discordant tasks is not p < 0.05");
  const flipped = compareArms(runs, "minialf", "random", "prism-gini", "seenTaskSuccess");
  assert.equal([flipped.p, flipped.estimate], [v.p, -0.5], "symmetric");
  assertClose(compareArms(runs, "minialf", "prism-gini", "random", "seenTaskSuccess", { alternative: "greater" }).p, 1 / 16, 1e-12, "one-sided");
  // Scores: seed 0 differences 10, −5, 20; seed 1: 30, 0, 15 (equal cluster sizes, one zero). Of the
  // 2⁵ sign patterns of the 5 non-zero ones, |Σ ±|d|| ≥ 70 exactly when the flipped magnitudes sum
  // to ≤ 5 or ≥ 75: {}, {5} and their complements — p = 4/32.
  const scored = [
    taskRun("prism-gini", 0, [0, 0, 0], [60, 45, 70]), taskRun("random", 0, [0, 0, 0], [50, 50, 50]),
    taskRun("prism-gini", 1, [0, 0, 0], [80, 50, 65]), taskRun("random", 1, [0, 0, 0], [50, 50, 50]),
  ];
  const s = compareArms(scored, "minialf", "prism-gini", "random", "seenTaskScore");
  assertClose(s.p, 4 / 32, 1e-12);
  assertClose(s.estimate, (25 / 3 + 45 / 3) / 2, 1e-12);
  assert.is(s.test, "stratified exact sign-flip permutation test (tasks within seeds)");
});

test("report: three seeds, one task each, all three positive is INCONCLUSIVE (p = 2/2³ = 0.25); six are enough", () => {
  const runs = [0, 1, 2].flatMap((seed) => [taskRun("prism-gini", seed, [1]), taskRun("random", seed, [0])]);
  const v = compareArms(runs, "minialf", "prism-gini", "random", "seenTaskSuccess");
  assert.is(v.p, 0.25);
  assert.is(v.verdict, "inconclusive");
  assert.is(v.minDetectableEffect, Infinity, "3 units can never reach p < 0.05");
  assert.match(verdictText(v), /cannot reach p < 0\.05: smallest attainable p = 0\.250/);
  const six = [0, 1, 2, 3, 4, 5].flatMap((seed) => [taskRun("prism-gini", seed, [1]), taskRun("random", seed, [0])]);
  const w = compareArms(six, "minialf", "prism-gini", "random", "seenTaskSuccess");
  assertClose(w.p, 2 / 64, 1e-12);
  assert.is(w.verdict, "positive");
});

test("report: compareArms errors — mismatched task vectors, no common seed, unknown arm", async () => {
  const mismatched = [taskRun("prism-gini", 0, [1, 1, 0, 1]), taskRun("random", 0, [0, 1, 0])];
  await expectError(() => taskDifferences(mismatched, "minialf", "prism-gini", "random", "seenTaskSuccess"), InvalidArgumentError, "seed 0");
  await expectError(() => compareArms(mismatched, "minialf", "prism-gini", "random", "seenTaskSuccess"), InvalidArgumentError, "equal length");
  const disjoint = [taskRun("prism-gini", 0, [1]), taskRun("random", 1, [0])];
  await expectError(() => compareArms(disjoint, "minialf", "prism-gini", "random", "seenTaskSuccess"), EmptyInputError, "runs");
  await expectError(() => compareArms(disjoint, "minishop", "prism-gini", "random", "seenTaskSuccess"), EmptyInputError, "minishop");
  await expectError(() => compareArms(disjoint, "minialf", "prism-entropy" as never, "random", "seenTaskSuccess"), UnknownOptionError, "prism-gini");
  // Options: unknown keys and unusable values are typed errors naming them, before any data is read.
  const runs = [taskRun("prism-gini", 0, [1, 0]), taskRun("random", 0, [0, 0])];
  await expectError(() => compareArms(runs, "minialf", "prism-gini", "random", "seenTaskSuccess", { qA: 0.3 } as never), UnknownOptionError, "options.qA");
  await expectError(() => compareArms(runs, "minialf", "prism-gini", "random", "seenTaskSuccess", { qa: 2 }), InvalidArgumentError, "options.qa");
  await expectError(() => compareArms(runs, "minialf", "prism-gini", "random", "seenTaskSuccess", { qb: NaN }), InvalidArgumentError, "options.qb");
  await expectError(() => compareArms(runs, "minialf", "prism-gini", "random", "seenTaskSuccess", { alternative: "bigger" as never }), UnknownOptionError, "options.alternative");
  await expectError(() => rlEffect(runs, "minialf", "prism-gini", { seeds: 3 } as never), UnknownOptionError, "options.seeds");
  await expectError(() => rlEffect(runs, "minialf", "prism-gini", { q: "0.5" as never }), InvalidArgumentError, "options.q");
});

test("report: rlEffect pairs each task's success after RL with the same policy's before RL, stratified by seed", () => {
  const withPre = (seed: number, pre: number[], post: number[], truncated = 0) => {
    const r = taskRun("prism-gini", seed, post);
    Object.assign(r.metrics, { preRlSeenTaskSuccess: pre, rlRollouts: 32, rlTruncatedRollouts: truncated });
    return r;
  };
  const runs = [withPre(0, [0, 0, 1, 0, 0, 1], [1, 1, 1, 1, 0, 1]), withPre(1, [0, 0, 0, 1, 0, 0], [1, 1, 1, 1, 1, 0], 3)];
  const e = rlEffect(runs, "minialf", "prism-gini");
  assert.equal([e.n, e.pairs, e.before, e.after, e.rollouts, e.truncated, e.seeds], [12, 12, 3 / 12, 10 / 12, 64, 3, [0, 1]]);
  assert.ok(e.test.includes("McNemar"), e.test);
  // 7 tasks gained, none lost: the exact two-sided McNemar p of 7 vs 0.
  assert.ok(Math.abs(e.p - signTest(7, 0)) < 1e-12, `p ${e.p} vs ${signTest(7, 0)}`);
  assert.is(e.verdict, "positive", "p = 0.016 < 0.05");
  // An arm whose runs have no pre-RL evaluation (SFT only, stepwise) is refused by name.
  assert.throws(() => rlEffect([taskRun("sft-100", 0, [1])], "minialf", "sft-100"), (e: Error) => e instanceof EmptyInputError && /pre-RL/.test(e.message));
});

// ---- a real (tiny) study point: shared stage + arms ---------------------------------------------

const TINY: PrismEnvSettings = {
  horizon: 8,
  model: { dModel: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, ffMultiplier: 3, contextLength: 192 },
  pretrain: { tasks: 16, maxEpochs: 2, learningRate: 1e-2, conflictFraction: 0.1, criterion: 0.99, validationTasks: 4 },
  corpus: { tasks: 8 },
  sft: { epochs: 1, batchSize: 4, learningRate: 3e-3 },
  rl: { epochs: 1, tasksPerIteration: 2, groupSize: 2, learningRate: 1e-3, klBeta: 0.02, temperature: 1, objective: "actions", ppoEpochs: 2, minibatchSize: 2, reward: "success" },
  hpt: { samples: 2 },
  eval: { tasks: 4 },
  stepwise: { rounds: 2 },
};

for (const backend of TEST_BACKENDS) test(`[${backend}] study point (real training, MiniShop, tiny): phases, costs and routing stats per arm; reproducible; no tensor leaks`, async () => {
  await useBackend(backend);
  clearStudyBases();
  const base = await expectNoLeak("studyBase", () => studyBase("minishop", 0, TINY));
  assert.is(base.corpus.length, 8);
  assert.is(base.labels.filter(Boolean).length, 4, "half the corpus carries the planted conflict");
  assert.is(base.probe.vectors[0].length, 7, "7 matrices × 1 layer");
  assert.ok(base.passRates.every((p) => p >= 0 && p <= 1));
  // The √numel scores come from rescaling the raw vectors; the oracle is the probe's own normalisation.
  const policy = base.freshPolicy();
  const oracle = probeTrajectories(policy, base.demos, { normalisation: "sqrt-numel" });
  policy.dispose();
  for (const m of ["gini", "kurtosis", "cv", "l2"] as const) assertClose(base.sqrtNumelScores[m], oracle.scores[m], 1e-5, `√numel ${m}`);
  assert.is(studyBase("minishop", 0, TINY), base, "memoised per (env, seed, settings)");
  // Pre-training stops at the criterion or at maxEpochs, and says which.
  assert.equal([base.pretrainEpochs, base.pretrainValidation.length], [2, 2], "criterion 0.99 not met by a 16-task model: maxEpochs");
  assert.is(base.pretrainCriterionMet, base.pretrainValidation[1] >= 0.99);
  const easy = studyBase("minishop", 0, { ...TINY, pretrain: { ...TINY.pretrain, criterion: 0 } });
  assert.equal([easy.pretrainEpochs, easy.pretrainCriterionMet], [1, true], "criterion 0 is met after the first epoch");

  const results = new Map<string, ReturnType<typeof runPrismArm>>();
  for (const arm of ["base", "sft-100", "grpo-100", "prism-gini", "sft-then-rl-matched", "hpt", "stepwise-reprobe"] as const) {
    results.set(arm, await expectNoLeak(arm, () => runPrismArm(base, arm, 0.5, 0)));
  }
  const r = (arm: string) => results.get(arm)!;
  assert.equal([r("base").sftSize, r("base").rlSize, r("base").cost.sft.optimizerSteps, r("base").cost.rl.envSteps], [0, 0, 0, 0]);
  assert.ok(r("sft-100").cost.sft.optimizerSteps === 2 && r("sft-100").cost.rl.envSteps === 0, "SFT only: 1 epoch of 8 demos in batches of 4");
  assert.ok(r("grpo-100").rlIterations === 4 && r("grpo-100").cost.sft.optimizerSteps === 0, "RL only: ⌈1·8/2⌉ iterations");
  assert.equal([r("prism-gini").sftSize, r("prism-gini").rlSize, r("prism-gini").rlIterations], [4, 4, 2], "RL budget scales with the RL set");
  assert.ok(r("prism-gini").cost.probe.seconds > 0 && r("grpo-100").cost.probe.seconds === 0, "only probing arms pay for the probe");
  assert.ok(r("hpt").cost.passRate.envSteps > 0 && r("prism-gini").cost.passRate.envSteps === 0, "only HPT pays for pass rates");
  assert.equal([r("sft-then-rl-matched").sftSize, r("sft-then-rl-matched").rlSize, r("sft-then-rl-matched").cost.sft.optimizerSteps, r("sft-then-rl-matched").rlIterations],
    [8, 8, r("prism-gini").cost.sft.optimizerSteps, r("prism-gini").rlIterations], "the compute-matched control sees everything with a 50:50 split's steps");
  for (const arm of ["grpo-100", "prism-gini", "sft-then-rl-matched"]) {
    assert.is(r(arm).preRlSeenTaskSuccess.length, 4, `${arm}: seen success before RL, per task`);
    assert.is(r(arm).rlTruncatedRollouts, 0, `${arm}: context 192 fits every MiniShop rollout of horizon 8`);
    assert.ok(r(arm).rlRollouts > 0, arm);
  }
  assert.equal(r("grpo-100").preRlSeenTaskSuccess, r("base").seen.taskSuccess, "GRPO 100 starts RL from the base policy");
  assert.equal([r("sft-100").preRlSeenTaskSuccess.length, r("stepwise-reprobe").preRlSeenTaskSuccess.length], [0, 0]);
  assert.is(r("stepwise-reprobe").stepwise.length, 2);
  assert.ok(r("stepwise-reprobe").cost.probe.forwardTokens > r("prism-gini").cost.probe.forwardTokens, "re-probing costs more probe passes");
  for (const [arm, res] of results) {
    assert.ok(res.seen.successRate >= 0 && res.seen.successRate <= 1 && res.seen.episodes === 4, arm);
    assert.ok(res.seen.meanScore >= 0 && res.seen.meanScore <= 100, arm);
  }
  // Same seed, rebuilt from scratch: the same numbers.
  clearStudyBases();
  const again = runPrismArm(studyBase("minishop", 0, TINY), "prism-gini", 0.5, 0);
  assert.equal([again.seen.meanScore, again.unseen.meanScore, again.conflictShareRl], [r("prism-gini").seen.meanScore, r("prism-gini").unseen.meanScore, r("prism-gini").conflictShareRl]);
  clearStudyBases();
});

test("study stage: MiniShop's conflict kinds — a sold-out corpus and evaluation, page-two pre-training demos; typed errors elsewhere", async () => {
  clearStudyBases();
  const soldOut: PrismEnvSettings = { ...TINY, shopConflict: "sold-out", pretrain: { ...TINY.pretrain, maxEpochs: 1, shopConflict: "page-two" } };
  const base = await expectNoLeak("studyBase", () => studyBase("minishop", 0, soldOut));
  const kinds = (tasks: readonly { conflict: boolean; conflictKind: string | null }[]) => new Set(tasks.filter((t) => t.conflict).map((t) => t.conflictKind));
  assert.equal(kinds(base.corpus), new Set(["sold-out"]), "the corpus carries the study's conflict");
  assert.equal(kinds([...base.evalSets.seen, ...base.evalSets.unseen]), new Set(["sold-out"]), "so do the evaluation sets");
  assert.ok(base.tokenizer.vocab.includes("sold"), "the tokenizer covers the sold-out pages");
  assert.ok(base.corpus.some((t) => t.conflict), "a conflict in the corpus");
  await expectError(() => studyBase("minialf", 0, { ...TINY, shopConflict: "sold-out" }), InvalidArgumentError, "settings.shopConflict");
  await expectError(() => studyBase("minialf", 0, { ...TINY, pretrain: { ...TINY.pretrain, shopConflict: "page-two" } }), InvalidArgumentError, "settings.pretrain.shopConflict");
  await expectError(() => studyBase("minishop", 0, { ...TINY, shopConflict: "sold-old" as never }), UnknownOptionError, "options.conflict");
  clearStudyBases();
});

test.run();
