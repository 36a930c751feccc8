// Confound controls for the PRISM probe (kernel-lib/prism/confounds.ts, covariates.ts) and the
// length-matched detour control of the environments (envs `detourFraction`).
import { test } from "uvu";
import { claimRecord } from "../kernel-lib/stats/claims";
import * as assert from "uvu/assert";
import * as tf from "@tensorflow/tfjs";
import { aucControllingFor, confoundTable, partialSpearman, probeCovariates, quantileBins, stratifiedAuc, trajectoryCovariates } from "../kernel-lib/prism";
import { probeTrajectories } from "../kernel-lib/prism/probe";
import { TinyTransformer } from "../kernel-lib/models/transformer";
import { AlfTask, createMiniAlf, createMiniShop, expertPolicy, HOME, runEpisode, ShopTask, tokenizerFor } from "../kernel-lib/envs";
import { lookFirstDetourPath } from "../kernel-lib/envs/minialf-world";
import { rocAuc } from "../kernel-lib/metrics/ranking";
import { normalCdf } from "../kernel-lib/stats";
import { Rng } from "../kernel-lib/random";
import { EmptyInputError, InvalidArgumentError, NonFiniteError, ShapeError, UnknownOptionError } from "../kernel-lib/errors";
import { assertClose, expectError, expectNoLeak, TEST_BACKENDS, useBackend } from "./helpers";

const FAST = { permutations: 200, resamples: 200 };

/** Same-stratum pairs counted one by one: positive above negative 1, tie ½. */
function bruteForceStratifiedAuc(score: number[], labels: boolean[], strata: Array<number | string>): number {
  let wins = 0, pairs = 0;
  for (let i = 0; i < score.length; i++) for (let j = 0; j < score.length; j++) {
    if (!labels[i] || labels[j] || strata[i] !== strata[j]) continue;
    pairs++;
    wins += score[i] > score[j] ? 1 : score[i] === score[j] ? 0.5 : 0;
  }
  return wins / pairs;
}

/** Rows whose label rate and a length both rise with the stratum (a confounded design). */
function confounded(n: number, seed: number, effect = 0) {
  const rng = new Rng(seed);
  const length = Array.from({ length: n }, () => 4 + rng.int(5));
  const labels = length.map((l) => rng.uniform() < 0.15 + 0.15 * (l - 4));
  const signal = labels.map((y) => rng.normal() + (y ? effect : 0)); // independent of length given the label
  return { length, labels, signal };
}

test("stratifiedAuc equals a brute-force count of same-stratum pairs; strata lacking a class are listed as excluded", () => {
  for (const seed of [1, 2, 3, 4]) {
    const rng = new Rng(seed);
    const n = 40 + rng.int(40);
    const score = Array.from({ length: n }, () => rng.int(6)); // many ties
    const labels = score.map(() => rng.uniform() < 0.4);
    const strata: Array<number | string> = score.map(() => ["a", "b", "c", 7][rng.int(4)]);
    strata.push("only-negatives"); score.push(3); labels.push(false);
    const r = stratifiedAuc(score, labels, strata, FAST);
    assertClose(r.estimate, bruteForceStratifiedAuc(score, labels, strata), 1e-12, "pair-weighted AUC");
    assertClose(r.rawAuc, rocAuc(score, labels), 1e-12, "raw AUC");
    const lonely = r.strata.find((s) => s.stratum === "only-negatives")!;
    assert.ok(lonely.excluded && lonely.auc === null && lonely.pairs === 0 && lonely.nNegative === 1);
    assert.is(r.excludedRows, 1);
    for (const s of r.strata.filter((x) => !x.excluded)) {
      const idx = strata.map((x, i) => (x === s.stratum ? i : -1)).filter((i) => i >= 0);
      assertClose(s.auc!, rocAuc(idx.map((i) => score[i]), idx.map((i) => labels[i])), 1e-12, `stratum ${s.stratum}`);
      assert.is(s.pairs, s.nPositive * s.nNegative);
    }
    assert.is(r.pairs, r.strata.reduce((a, s) => a + s.pairs, 0));
    assert.ok(r.interval.lo <= r.estimate + 1e-9 && r.estimate - 1e-9 <= r.interval.hi);
    assert.equal(stratifiedAuc(score, labels, strata, FAST), r, "same seed, same result");
  }
});

test("a pure-length score separates raw but is 0.5 within length strata; a length-independent score keeps its AUC", () => {
  const { length, labels, signal } = confounded(3000, 5, 0.8);
  const lengthScore = length.map((l) => 3 * l + 1);
  const pure = stratifiedAuc(lengthScore, labels, length, FAST);
  assert.ok(pure.rawAuc > 0.65, `raw AUC of length ${pure.rawAuc}`);
  assert.is(pure.estimate, 0.5);
  assert.ok(pure.p > 0.5, `p ${pure.p}`);
  const kept = stratifiedAuc(signal, labels, length, FAST);
  const closedForm = normalCdf(0.8 / Math.SQRT2);
  assert.ok(Math.abs(kept.estimate - kept.rawAuc) < 0.03, `within ${kept.estimate} vs raw ${kept.rawAuc}`);
  assert.ok(Math.abs(kept.estimate - closedForm) < 0.03, `within ${kept.estimate} vs Φ(δ/√2) ${closedForm}`);
  assert.ok(kept.p < 0.01 && kept.verdict === "positive");

  // The extreme MiniShop case: length alone decides the label, so no stratum holds both classes…
  const steps = [4, 4, 4, 5, 5, 5], conflict = [false, false, false, true, true, true];
  assert.is(rocAuc(steps, conflict), 1);
  assert.throws(() => stratifiedAuc(steps, conflict, steps, FAST), (e: Error) => e instanceof InvalidArgumentError && e.message.includes("strata"));
  // …until detour-regular rows of the conflict's length join: then length is exactly 0.5 within strata.
  const withDetour = stratifiedAuc([...steps, 5, 5, 5], [...conflict, false, false, false], [...steps, 5, 5, 5], FAST);
  assert.is(withDetour.estimate, 0.5);
  assert.equal(withDetour.strata.map((s) => [s.stratum, s.excluded]), [[4, true], [5, false]]);
});

test("the within-strata permutation p is calibrated on confounded null data (raw AUC is not)", () => {
  let rejected = 0, rawFar = 0;
  const trials = 300;
  for (let t = 0; t < trials; t++) {
    const { length, labels } = confounded(60, 100 + t);
    const rng = new Rng(`null/${t}`);
    const score = length.map((l) => l + rng.normal()); // depends on length, not on the label given length
    if (labels.every((y) => y) || labels.every((y) => !y)) continue;
    const r = stratifiedAuc(score, labels, length, { permutations: 200, resamples: 100, seed: t });
    if (r.p < 0.05) rejected++;
    if (Math.abs(r.rawAuc - 0.5) > 0.15) rawFar++;
  }
  const rate = rejected / trials;
  console.log(`  null rejection rate at α = 0.05: ${rate.toFixed(3)} (${trials} datasets of 60); raw |AUC − 0.5| > 0.15 in ${rawFar}`);
  assert.ok(rate > 0.015 && rate < 0.09, `rejection rate ${rate}`);
  assert.ok(rawFar > trials / 3, "the raw AUC of a length-driven score is far from 0.5 on this null");
});

test("quantileBins: balanced bins, ties share a bin, bins cut within groups", () => {
  const values = Array.from({ length: 100 }, (_, i) => (i * 37) % 100);
  const bins = quantileBins(values, 4) as number[];
  for (let b = 0; b < 4; b++) assert.is(bins.filter((x) => x === b).length, 25);
  values.forEach((v, i) => assert.is(bins[i], Math.floor(v / 25)));
  const tied = quantileBins([1, 1, 1, 1, 2, 3], 3);
  assert.ok(tied.slice(0, 4).every((b) => b === tied[0]), "tied values share a bin");
  const within = quantileBins([1, 2, 3, 4, 100, 200, 300, 400], 2, { within: [0, 0, 0, 0, 1, 1, 1, 1] });
  assert.equal(within, ["0/0", "0/0", "0/1", "0/1", "1/0", "1/0", "1/1", "1/1"]);
});

test("partialSpearman equals the correlation of rank residuals on z's ranks", () => {
  const rng = new Rng(9);
  const z = Array.from({ length: 200 }, () => rng.normal());
  const x = z.map((v) => v + rng.normal()), y = z.map((v) => -v + 0.5 * rng.normal());
  const ranks = (v: number[]) => v.map((a) => v.filter((b) => b < a).length + 1); // no ties in normals
  const residual = (a: number[], b: number[]) => {
    const ma = mean(a), mb = mean(b);
    const slope = a.reduce((s, v, i) => s + (v - ma) * (b[i] - mb), 0) / b.reduce((s, v) => s + (v - mb) ** 2, 0);
    return a.map((v, i) => v - ma - slope * (b[i] - mb));
  };
  const rx = residual(ranks(x), ranks(z)), ry = residual(ranks(y), ranks(z));
  const pearson = rx.reduce((s, v, i) => s + v * ry[i], 0) / Math.sqrt(rx.reduce((s, v) => s + v * v, 0) * ry.reduce((s, v) => s + v * v, 0));
  assertClose(partialSpearman(x, y, z)!, pearson, 1e-9, "partial ρ");
  assert.is(partialSpearman(x, y, x), null, "ρxz = 1 leaves nothing to correlate");
});

test("aucControllingFor: a score that is the covariate drops to 0.5, a covariate-free signal does not", () => {
  const rng = new Rng(12);
  const n = 2000;
  const level = Array.from({ length: n }, (_, i) => i % 4); // 4 equal-sized levels: bins = levels
  const labels = level.map((l) => rng.uniform() < 0.2 + 0.2 * l);
  const signal = labels.map((y) => rng.normal() + (y ? 1 : 0));
  const r = aucControllingFor({ level: level.map((l) => l * 2), signal }, labels, level, { bins: 4, ...FAST });
  assert.is(r.residual.estimate, 0.5, "4 levels in 4 bins: nothing left within a bin");
  const [lv, sg] = r.rows;
  assert.ok(lv.rawAuc > 0.7 && lv.controlledAuc === 0.5, `level: raw ${lv.rawAuc}, controlled ${lv.controlledAuc}`);
  assert.ok(Math.abs(sg.controlledAuc - sg.rawAuc) < 0.03 && sg.controlledAuc > 0.7, `signal: raw ${sg.rawAuc}, controlled ${sg.controlledAuc}`);
  assert.ok(sg.partialSpearman! > 0.3 && Math.abs(lv.partialSpearman ?? 0) < 1e-9);
  assert.ok(sg.pairsKept > 0 && sg.pairsKept < 1);
  // Clustered: bins are cut per cluster, pairs never cross clusters.
  const clusters = labels.map((_, i) => (i < n / 2 ? "s0" : "s1"));
  const c = aucControllingFor({ signal }, labels, level, { bins: 4, clusters, ...FAST });
  assert.ok(c.bins.every((b) => typeof b === "string" && /^s[01]\/[0-3]$/.test(b)));
  assert.is(c.residual.strata.length, 8);
});

test("confoundTable: one row per score and covariate, each the aucVerdict of that column", () => {
  const { length, labels, signal } = confounded(200, 21, 0.5);
  const rows = confoundTable({ signal }, { steps: length }, labels, { ...FAST, seed: 3 });
  assert.equal(rows.map((r) => [r.name, r.kind]), [["signal", "score"], ["steps", "covariate"]]);
  for (const r of rows) {
    assertClose(r.auc, rocAuc(r.name === "signal" ? signal : length, labels), 1e-12, r.name);
    assert.is(r.nPositive + r.nNegative, 200);
    assert.is(r.nPositive, labels.filter(Boolean).length);
    assert.ok(r.lo <= r.auc && r.auc <= r.hi && r.p > 0 && r.p <= 1);
  }
  const again = confoundTable({ signal, extra: length }, { steps: length }, labels, { ...FAST, seed: 3 });
  assert.equal(again.find((r) => r.name === "steps"), rows[1], "a row's draws do not depend on the other rows");
  const clustered = confoundTable({ signal }, {}, labels, { ...FAST, clusters: labels.map((_, i) => i % 2) });
  assert.is(clustered[0].clusters, 2);
  assert.ok(clustered[0].interval.includes("cluster"));
});

test("typed errors for bad input and unknown options", async () => {
  const score = [1, 2, 3, 4], labels = [true, false, true, false], strata = [0, 0, 1, 1];
  await expectError(() => stratifiedAuc(score, labels, strata, { permutation: 10 } as never), UnknownOptionError, "options.permutation");
  await expectError(() => stratifiedAuc([1, NaN, 3, 4], labels, strata), NonFiniteError, "score");
  await expectError(() => stratifiedAuc([1, 2, 3], labels, strata), ShapeError, "score");
  await expectError(() => stratifiedAuc(score, labels, [0, 0, 1]), InvalidArgumentError, "strata");
  await expectError(() => stratifiedAuc(score, [true, false, 2, false] as never, strata), InvalidArgumentError, "labels[2]");
  await expectError(() => stratifiedAuc(score, [true, true, true, true], strata), InvalidArgumentError, "both classes");
  await expectError(() => stratifiedAuc(score, labels, [0, 1, 2, 3]), InvalidArgumentError, "strata");
  await expectError(() => stratifiedAuc(score, labels, strata, { permutations: 5 }), InvalidArgumentError, "options.permutations");
  await expectError(() => confoundTable({}, { loss: score }, labels), EmptyInputError, "scores");
  await expectError(() => confoundTable({ loss: score }, { loss: score }, labels), InvalidArgumentError, "covariates.loss");
  await expectError(() => confoundTable({ gini: [1, 2] }, {}, labels), ShapeError, "scores.gini");
  await expectError(() => confoundTable({ gini: score }, {}, labels, { cluster: [0] } as never), UnknownOptionError, "options.cluster");
  await expectError(() => aucControllingFor({ gini: score }, labels, score, { bin: 2 } as never), UnknownOptionError, "options.bin");
  await expectError(() => aucControllingFor({ gini: score }, labels, [1, 2, Infinity, 4]), NonFiniteError, "covariate");
  await expectError(() => quantileBins([1, 2, 3], 4), InvalidArgumentError, "k");
  await expectError(() => quantileBins([], 1), EmptyInputError, "values");
  await expectError(() => trajectoryCovariates([]), EmptyInputError, "encoded");
  await expectError(() => trajectoryCovariates([{ lossMask: [0, 1, 1], actionSpans: [{ step: 0, start: 1, end: 2 }], length: 3 }]), InvalidArgumentError, "encoded[0]");
  await expectError(() => probeCovariates({ losses: [1, 2] }, [{ lossMask: [0, 1], actionSpans: [{ step: 0, start: 1, end: 2 }], length: 2 }]), ShapeError, "encoded");
  const shop = createMiniShop();
  await expectError(() => shop.generateTasks({ split: "train", count: 4, seed: 0, detourFraction: 1.5 }), InvalidArgumentError, "detourFraction");
  const task = shop.generateTasks({ split: "train", count: 1, seed: 0 })[0];
  await expectError(() => expertPolicy({ ...task, detour: { kind: "look-first", targets: [] } }), InvalidArgumentError, "task.detour");
});

// ---- The length-matched control in the environments ----

const shop = createMiniShop(), alf = createMiniAlf();
const actionTokenCount = (lossMask: number[]) => lossMask.reduce((a, b) => a + b, 0);

test("detourFraction 0 changes nothing; > 0 marks exactly round(regular × f) regular tasks and keeps ids, labels and families", () => {
  for (const env of [shop, alf] as const) {
    const plain = (env as typeof shop).generateTasks({ split: "train", count: 61, seed: 4, conflictFraction: 0.5 }) as Array<ShopTask | AlfTask>;
    const zero = (env as typeof shop).generateTasks({ split: "train", count: 61, seed: 4, conflictFraction: 0.5, detourFraction: 0 }) as Array<ShopTask | AlfTask>;
    assert.equal(zero, plain);
    assert.ok(plain.every((t) => !("detour" in t)), "no detour key without the option");
    const half = (env as typeof shop).generateTasks({ split: "train", count: 61, seed: 4, conflictFraction: 0.5, detourFraction: 0.5 }) as Array<ShopTask | AlfTask>;
    const regular = plain.filter((t) => !t.conflict).length;
    assert.is(half.filter((t) => t.detour !== undefined).length, Math.round(regular * 0.5));
    assert.ok(half.every((t) => t.detour === undefined || !t.conflict), "only regular tasks detour");
    assert.equal(half.map((t) => [t.id, t.conflict, t.family, t.goal]), plain.map((t) => [t.id, t.conflict, t.family, t.goal]));
    half.forEach((t, i) => { if (t.detour === undefined) assert.equal(t, plain[i], "tasks without a detour are unchanged"); });
    const copy = JSON.parse(JSON.stringify(half)) as typeof half;
    copy.forEach((t, i) => assert.equal(runEpisode(env as never, t as never, expertPolicy(t)).steps, runEpisode(env as never, half[i] as never, expertPolicy(half[i])).steps));
  }
});

test("MiniShop detour demos: exactly 5 steps like conflict demos (regular 4), 21 action tokens (conflict 22), all solved", () => {
  const tok = tokenizerFor(shop);
  const tasks = shop.generateTasks({ split: "seen", count: 300, seed: 8, conflictFraction: 0.5, detourFraction: 0.5 });
  const rows = tasks.map((t) => {
    const tr = runEpisode(shop, t, expertPolicy(t));
    assert.ok(tr.success, `${t.id} solved`);
    const kind = t.conflict ? "conflict" : t.detour ? "detour" : "regular";
    return { kind, steps: tr.stepCount, tokens: actionTokenCount(tok.encodeTrajectory(tr, 160).lossMask) };
  });
  for (const [kind, steps, tokens] of [["regular", 4, 17], ["detour", 5, 21], ["conflict", 5, 22]] as const) {
    const of = rows.filter((r) => r.kind === kind);
    assert.ok(of.length > 50);
    assert.ok(of.every((r) => r.steps === steps && r.tokens === tokens), `${kind}: ${steps} steps, ${tokens} action tokens`);
  }
});

test("MiniALF detour demos: the conflict twin's length, and step-count means that match conflict demos", () => {
  const tok = tokenizerFor(alf);
  // Twin check: a conflict task and its regular twin (object at home, detour drawn from where the conflict put it).
  let same = 0, total = 0;
  for (const t of alf.generateTasks({ split: "train", count: 600, seed: 5, conflictFraction: 1 })) {
    const misplaced = t.goal.family === "heat" ? [] : t.world.placements.filter((p) => p.object === t.goal.object).map((p) => p.place);
    const twin: AlfTask = {
      ...t, conflict: false, conflictKind: null,
      world: { microwaveBroken: false, placements: t.world.placements.map((p) => (p.object === t.goal.object ? { ...p, place: HOME[t.goal.object] } : p)) },
      detour: { kind: "look-first", targets: lookFirstDetourPath(t.goal, misplaced, new Rng(0)) },
    };
    const a = runEpisode(alf, t, expertPolicy(t)), b = runEpisode(alf, twin, expertPolicy(twin));
    assert.ok(a.success && b.success);
    total++;
    if (a.stepCount === b.stepCount) same++;
  }
  console.log(`  MiniALF twins with the conflict's step count: ${same}/${total}`);
  assert.ok(same / total > 0.97, `${same}/${total}`);

  const tasks = alf.generateTasks({ split: "train", count: 1200, seed: 6, conflictFraction: 0.5, detourFraction: 1 });
  const plain = alf.generateTasks({ split: "train", count: 1200, seed: 6, conflictFraction: 0.5 });
  const measure = (list: AlfTask[]) => list.map((t) => {
    const tr = runEpisode(alf, t, expertPolicy(t));
    assert.ok(tr.success, `${t.id} solved`);
    return { steps: tr.stepCount, tokens: actionTokenCount(tok.encodeTrajectory(tr, 400).lossMask) };
  });
  const conflict = measure(tasks.filter((t) => t.conflict)), detour = measure(tasks.filter((t) => t.detour)), regular = measure(plain.filter((t) => !t.conflict));
  const m = (xs: Array<{ steps: number; tokens: number }>, k: "steps" | "tokens") => mean(xs.map((x) => x[k]));
  console.log(`  MiniALF mean steps / action tokens: regular ${m(regular, "steps").toFixed(2)} / ${m(regular, "tokens").toFixed(2)}, detour ${m(detour, "steps").toFixed(2)} / ${m(detour, "tokens").toFixed(2)}, conflict ${m(conflict, "steps").toFixed(2)} / ${m(conflict, "tokens").toFixed(2)}`);
  assert.ok(Math.abs(m(detour, "steps") - m(conflict, "steps")) < 0.3);
  assert.ok(Math.abs(m(detour, "tokens") - m(conflict, "tokens")) < 1);
  assert.ok(m(conflict, "steps") - m(regular, "steps") > 3);
  const lengthAuc = rocAuc([...conflict, ...detour].map((x) => x.steps), [...conflict.map(() => 1), ...detour.map(() => 0)]);
  console.log(`  MiniALF step-count AUC, conflict vs detour-regular: ${lengthAuc.toFixed(3)}`);
  assert.ok(Math.abs(lengthAuc - 0.5) < 0.05);
});

test("trajectoryCovariates counts the loss mask and kept steps of encoded trajectories", () => {
  const tok = tokenizerFor(shop);
  const tasks = shop.generateTasks({ split: "train", count: 12, seed: 2, conflictFraction: 0.5, detourFraction: 1 });
  const encoded = tasks.map((t) => tok.encodeTrajectory(runEpisode(shop, t, expertPolicy(t)), 128));
  const c = trajectoryCovariates(encoded);
  assert.equal(c.steps, tasks.map(() => 5));
  assert.equal(c.actionTokens, encoded.map((e) => actionTokenCount(e.lossMask)));
  assert.equal(c.tokens, encoded.map((e) => e.length));
  const truncated = tok.encodeTrajectory(runEpisode(shop, tasks[0], expertPolicy(tasks[0])), 60);
  assert.ok(truncated.droppedSteps > 0);
  assert.is(trajectoryCovariates([truncated]).steps[0], 5 - truncated.droppedSteps, "dropped steps are not counted");
});

// ---- End to end: a tiny model probed on MiniShop expert demos ----

for (const backend of TEST_BACKENDS) test(`[${backend}] MiniShop end to end: length alone separates conflict from regular (AUC 1) but not from detour-regular (0.5)`, async () => {
  await useBackend(backend);
  const tok = tokenizerFor(shop);
  const contextLength = 128;
  const tasks = shop.generateTasks({ split: "seen", count: 48, seed: 3, conflictFraction: 0.5 });
  const detourTasks = shop.generateTasks({ split: "seen", count: 48, seed: 3, conflictFraction: 0.5, detourFraction: 1 }).filter((t) => t.detour);
  const all = [...tasks, ...detourTasks];
  const encoded = all.map((t) => tok.encodeTrajectory(runEpisode(shop, t, expertPolicy(t)), contextLength));
  assert.ok(encoded.every((e) => e.droppedSteps === 0), "every demo fits the context");
  const before = tf.memory().numTensors;
  const model = new TinyTransformer({ vocabSize: tok.size, dModel: 16, nLayers: 1, nHeads: 2, dFF: 32, maxLen: contextLength, seed: 0 });
  const probe = await expectNoLeak("probe", () => probeTrajectories(model, encoded.map((e) => ({ tokens: e.tokens, lossMask: e.lossMask })), { batchSize: 24, metrics: ["gini", "kurtosis", "l2"] }));
  model.dispose();
  assert.is(tf.memory().numTensors, before, "model and probe leave no tensor");

  const covariates = probeCovariates(probe, encoded);
  const kind = all.map((t) => (t.conflict ? "conflict" : t.detour ? "detour" : "regular"));
  const subset = <T>(xs: readonly T[], keep: (k: string) => boolean) => xs.filter((_, i) => keep(kind[i]));
  const table = (control: "regular" | "detour") => {
    const keep = (k: string) => k === "conflict" || k === control;
    const cols = (rec: Record<string, number[]>) => Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, subset(v, keep)]));
    return confoundTable(cols(probe.scores as Record<string, number[]>), cols(covariates), subset(kind, keep).map((k) => k === "conflict"), FAST);
  };
  const vsRegular = table("regular"), vsDetour = table("detour");
  const show = (rows: ReturnType<typeof table>) => rows.map((r) => `${r.name} ${r.auc.toFixed(2)} [${r.lo.toFixed(2)}, ${r.hi.toFixed(2)}]`).join("; ");
  console.log(`  [${backend}] conflict vs regular (n ${vsRegular[0].nPositive}/${vsRegular[0].nNegative}): ${show(vsRegular)}`);
  console.log(`  conflict vs detour  (n ${vsDetour[0].nPositive}/${vsDetour[0].nNegative}): ${show(vsDetour)}`);
  const auc = (rows: ReturnType<typeof table>, name: string) => rows.find((r) => r.name === name)!.auc;
  assert.is(auc(vsRegular, "steps"), 1);
  assert.is(auc(vsRegular, "actionTokens"), 1);
  assert.is(auc(vsDetour, "steps"), 0.5);
  assert.is(auc(vsDetour, "actionTokens"), 1, "the detour is one action token shorter (21 vs 22): matched in steps, not in tokens");

  // Controlling for steps over all three kinds: only the 5-step stratum (conflict vs detour) counts.
  const labels = kind.map((k) => k === "conflict");
  const whole = confoundTable(probe.scores, covariates, labels, FAST); // the probe's records pass as they are
  assert.equal(whole.map((r) => r.name), ["gini", "kurtosis", "l2", "loss", "actionTokens", "steps", "tokens"]);
  const gini = stratifiedAuc(probe.scores.gini, labels, covariates.steps, FAST);
  assert.equal(gini.strata.map((s) => [s.stratum, s.excluded]).sort(), [[4, true], [5, false]]);
  console.log(`  gini: raw AUC ${gini.rawAuc.toFixed(2)}, within step strata ${gini.estimate.toFixed(2)} [${gini.interval.lo.toFixed(2)}, ${gini.interval.hi.toFixed(2)}], p ${gini.p.toFixed(3)}`);
  const byLoss = aucControllingFor(probe.scores as Record<string, number[]>, labels, covariates.loss, { bins: 4, ...FAST });
  console.log(`  controlling for loss (4 bins, residual loss AUC ${byLoss.residual.estimate.toFixed(2)}): ${byLoss.rows.map((r) => `${r.name} ${r.rawAuc.toFixed(2)} → ${r.controlledAuc.toFixed(2)}, partial ρ ${r.partialSpearman?.toFixed(2)}`).join("; ")}`);
  assert.is(byLoss.rows.length, 3);
});

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

test("a stratified AUC is claim evidence: its minimum detectable effect shrinks with n, and the ledger names its test and n", () => {
  const make = (n: number) => {
    const labels = Array.from({ length: n }, (_, i) => i % 2 === 0);
    const score = labels.map((l, i) => (l ? 0.3 : 0) + ((i * 7919) % 101) / 101);
    return stratifiedAuc(score, labels, labels.map((_, i) => Math.floor((4 * i) / n)), { seed: 1, permutations: 500, resamples: 500 });
  };
  const small = make(40), large = make(400);
  assert.ok(small.minDetectableEffect > large.minDetectableEffect && large.minDetectableEffect > 0, `${small.minDetectableEffect} vs ${large.minDetectableEffect}`);
  assert.equal([large.clusters, large.perCluster.length], [4, 4]);
  const record = claimRecord({ id: "test.stratified", statement: "a stratified AUC as evidence", evidence: large });
  assert.equal([record.test, record.n], [large.test, 400]);
  assert.is(record.verdict, large.verdict === "positive" ? "reproduced" : large.verdict === "negative" ? "not reproduced" : "inconclusive");
});

test.run();
