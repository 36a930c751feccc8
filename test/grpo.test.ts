import { test } from "uvu";
import * as assert from "uvu/assert";
import * as tf from "@tensorflow/tfjs";
import { TinyTransformer, TransformerConfig } from "../kernel-lib/models/transformer";
import { GruLanguageModel } from "../kernel-lib/models/gru";
import { attachLora } from "../kernel-lib/models/lora";
import { tokenLogProbs, sampleTokens, LogitsModel } from "../kernel-lib/train/logprobs";
import { computeAdvantages, groupNormalize } from "../kernel-lib/train/advantages";
import { createReference, grpoLoss, grpoStep, GrpoAggregation } from "../kernel-lib/train/grpo";
import type { RolloutSample } from "../kernel-lib/train/rl-types";
import { EmptyInputError, InvalidArgumentError, NonFiniteError, ShapeError, UnknownOptionError } from "../kernel-lib/errors";
import { Rng } from "../kernel-lib/random";
import { TEST_BACKENDS, assertClose, expectError, expectNoLeak, useBackend } from "./helpers";

const SMALL: TransformerConfig = { vocabSize: 6, dModel: 16, nLayers: 1, nHeads: 2, dFF: 24, maxLen: 6, seed: 11 };

function randomTokens(seed: number, N: number, T: number, V: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: N }, () => Array.from({ length: T }, () => rng.int(V)));
}

/** Oracle: each prefix through the model on its own, float64 log-softmax of its last logits. */
function slowTokenLogProbs(model: LogitsModel, tokens: number[][]): number[][] {
  return tokens.map((row) => row.map((token, t) => {
    if (t === 0) return 0;
    const logits = model.forward([row.slice(0, t)]);
    const all = Array.from(logits.dataSync());
    logits.dispose();
    const V = all.length / t;
    const last = all.slice((t - 1) * V, t * V);
    const max = Math.max(...last);
    return last[token] - max - Math.log(last.reduce((a, v) => a + Math.exp(v - max), 0));
  }));
}

function readMatrix(t: tf.Tensor): number[][] {
  const out = t.arraySync() as number[][];
  t.dispose();
  return out;
}

function popStd(xs: number[]): number {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, v) => a + (v - m) ** 2, 0) / xs.length);
}

/** The GRPO loss of the module header, written out per token in plain JS. */
function expectedLoss(lp: number[][], old: number[][], ref: number[][] | null, adv: number[][], mask: number[][], eps: number, beta: number, aggregation: GrpoAggregation) {
  const pg: number[][] = [], k3: number[][] = [];
  let clipped = 0, ratioSum = 0, approx = 0, count = 0;
  lp.forEach((row, i) => {
    pg.push([]); k3.push([]);
    row.forEach((l, t) => {
      if (mask[i][t] !== 1) { pg[i].push(0); k3[i].push(0); return; }
      const rho = Math.exp(l - old[i][t]);
      const a = adv[i][t];
      const clip = Math.min(Math.max(rho, 1 - eps), 1 + eps);
      pg[i].push(-Math.min(rho * a, clip * a));
      const d = ref === null ? 0 : ref[i][t] - l;
      k3[i].push(Math.exp(d) - d - 1);
      if (clip * a < rho * a) clipped++;
      ratioSum += rho; approx += rho - 1 - Math.log(rho); count++;
    });
  });
  const agg = (x: number[][]) => {
    if (aggregation === "tokenLevel") return x.flat().reduce((a, b) => a + b, 0) / count;
    return x.reduce((a, row, i) => a + row.reduce((s, v) => s + v, 0) / mask[i].reduce((s, v) => s + v, 0), 0) / x.length;
  };
  const policyLoss = agg(pg), kl = agg(k3);
  return { loss: policyLoss + beta * kl, policyLoss, kl, clipFraction: clipped / count, meanRatio: ratioSum / count, approxKL: approx / count };
}

// ---------------------------------------------------------------- advantages (pure JS)

test("advantages: hand-computed groups, std estimators, centring only", () => {
  const keys = ["g", "g", "g", "g"];
  assert.equal(groupNormalize([1, 0, 0, 1], keys, { eps: 0 }), [1, -1, -1, 1]);
  assertClose(groupNormalize([1, 0, 0, 1], keys), [1, -1, -1, 1].map((v) => v / (1 + 2e-6)), 1e-12, "default eps 1e-6");
  // sample std of {1,0,0,1} = sqrt(1/3): ±0.5/0.57735 = ±0.8660
  assertClose(groupNormalize([1, 0, 0, 1], keys, { eps: 0, stdEstimator: "sample" }), [1, -1, -1, 1].map((v) => v * Math.sqrt(3) / 2), 1e-12, "sample std");
  assert.equal(groupNormalize([1, 0, 0, 1], keys, { normalizeStd: false }), [0.5, -0.5, -0.5, 0.5]);
  // interleaved groups: a = {3, 1} → ±1; b = {2, 2, 5} → mean 3, pop std √2
  const out = groupNormalize([3, 2, 1, 2, 5], ["a", "b", "a", "b", "b"], { eps: 0 });
  assertClose(out, [1, -1 / Math.SQRT2, -1, -1 / Math.SQRT2, 2 / Math.SQRT2], 1e-12, "interleaved");
});

test("advantages: singleton and all-equal groups give exactly 0", () => {
  assert.equal(groupNormalize([7], ["solo"]), [0]);
  assert.equal(groupNormalize([0.1, 0.1, 0.1], ["g", "g", "g"]), [0, 0, 0]);
  assert.equal(groupNormalize([0.1, 0.1, 0.1], ["g", "g", "g"], { normalizeStd: false }), [0, 0, 0]);
  assert.equal(groupNormalize([4, 1, 2], ["x", "y", "y"], { eps: 0 }), [0, -1, 1]);
});

test("advantages: episode-level token advantages follow the action mask", () => {
  const samples: RolloutSample[] = [
    { groupId: "p", reward: 1, tokens: [0, 1, 2, 3], actionMask: [0, 0, 1, 1] },
    { groupId: "p", reward: 0, tokens: [0, 1, 3, 3], actionMask: [0, 1, 1, 0] },
  ];
  const a = computeAdvantages(samples, { eps: 0 });
  assert.equal(a.episode, [1, -1]);
  assert.equal(a.step, null);
  assert.equal(a.token, [[0, 0, 1, 1], [0, -1, -1, 0]]);
});

test("advantages: GiGPO anchor states group steps within an episode group only", () => {
  // group g, rewards {1, 0, 1}: mean 2/3, pop std √2/3 → A_E = [1/√2, −√2, 1/√2]
  // anchor (g, A): returns {1, 0, 1} → same as A_E; (g, B): {1, 0.5} → ±1; (g, C): {0} alone → 0
  // group h also has a state "A"; it must not join g's anchor group (else g's A would change).
  const samples: RolloutSample[] = [
    { groupId: "g", reward: 1, tokens: [0, 1, 2, 0, 3, 0], actionMask: [0, 1, 1, 0, 1, 0], tokenStep: [-1, 0, 0, -1, 1, -1], stepStateKeys: ["A", "B"], stepReturns: [1, 1] },
    { groupId: "g", reward: 0, tokens: [0, 1, 2, 0, 3, 0], actionMask: [0, 1, 0, 0, 1, 1], tokenStep: [-1, 0, -1, -1, 1, 1], stepStateKeys: ["A", "C"], stepReturns: [0, 0] },
    { groupId: "g", reward: 1, tokens: [0, 1, 2, 0, 3, 0], actionMask: [0, 1, 0, 0, 1, 0], tokenStep: [-1, 0, -1, -1, 1, -1], stepStateKeys: ["A", "B"], stepReturns: [1, 0.5] },
    { groupId: "h", reward: 3, tokens: [0, 1, 2, 0, 3, 0], actionMask: [0, 1, 0, 0, 0, 0], tokenStep: [-1, 0, -1, -1, -1, -1], stepStateKeys: ["A"], stepReturns: [5] },
  ];
  const r = 1 / Math.SQRT2, s = Math.SQRT2;
  const a = computeAdvantages(samples, { eps: 0, stepLevel: true, stepWeight: 0.5 });
  assertClose(a.episode, [r, -s, r, 0], 1e-12, "episode");
  assert.ok(a.step !== null);
  assertClose(a.step.flat(), [r, 1, -s, 0, r, -1, 0], 1e-12, "step");
  const c = (e: number, st: number) => e + 0.5 * st;
  assertClose(a.token.flat(), [
    0, c(r, r), c(r, r), 0, c(r, 1), 0,
    0, c(-s, -s), 0, 0, c(-s, 0), c(-s, 0),
    0, c(r, r), 0, 0, c(r, -1), 0,
    0, 0, 0, 0, 0, 0,
  ], 1e-12, "token");
});

test("advantages: bad input raises typed errors naming the field", async () => {
  const ok: RolloutSample = { groupId: "g", reward: 1, tokens: [0, 1], actionMask: [0, 1] };
  await expectError(() => computeAdvantages([ok, { ...ok, reward: NaN }]), NonFiniteError, "samples[1].reward");
  await expectError(() => computeAdvantages([]), EmptyInputError, "samples");
  await expectError(() => computeAdvantages([ok], { stepLevel: true }), InvalidArgumentError, "samples[0].stepStateKeys");
  await expectError(() => computeAdvantages([{ ...ok, tokenStep: [-1, 3], stepStateKeys: ["s"], stepReturns: [1] }], { stepLevel: true }), InvalidArgumentError, "samples[0].tokenStep[1]");
  await expectError(() => computeAdvantages([{ ...ok, tokenStep: [-1, 0], stepStateKeys: ["s"], stepReturns: [1, 2] }], { stepLevel: true }), ShapeError, "samples[0].stepReturns");
  await expectError(() => computeAdvantages([ok], { normalise: true } as never), UnknownOptionError, "options.normalise");
  await expectError(() => computeAdvantages([ok], { stdEstimator: "biased" as never }), UnknownOptionError, "options.stdEstimator");
  await expectError(() => groupNormalize([1, 2], ["a"]), ShapeError, "groupKeys");
  await expectError(() => groupNormalize([1, Infinity], ["a", "a"]), NonFiniteError, "values");
});

// ---------------------------------------------------------------- numeric, per backend

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] tokenLogProbs matches a per-prefix oracle (transformer and GRU), column 0 is 0`, async () => {
    await useBackend(backend);
    const tokens = randomTokens(1, 3, 5, 6);
    const models: LogitsModel[] = [new TinyTransformer(SMALL), new GruLanguageModel({ vocabSize: 6, embedSize: 5, hiddenSize: 7, seed: 2 })];
    for (const model of models) {
      const fast = await expectNoLeak("tokenLogProbs", () => readMatrix(tokenLogProbs(model, tokens)));
      const slow = slowTokenLogProbs(model, tokens);
      fast.forEach((row) => assert.is(row[0], 0));
      assertClose(fast.flat(), slow.flat(), 1e-4, "log-probs vs oracle");
      (model as TinyTransformer).dispose();
    }
  });

  test(`[${backend}] tokenLogProbs gradient = the model's own masked CE gradient (differentiable on ${backend})`, async () => {
    await useBackend(backend);
    const model = new TinyTransformer(SMALL);
    const tokens = randomTokens(2, 3, 5, 6);
    const lossMask = [[0, 1, 1, 0, 1], [0, 0, 0, 1, 1], [0, 1, 1, 1, 1]];
    const variables = model.trainableVariables();
    await expectNoLeak("grad", () => {
      const ours = tf.variableGrads(() => tf.tidy(() => {
        const m = tf.tensor2d(lossMask);
        return tf.neg(tf.mean(tf.div(tf.sum(tf.mul(tokenLogProbs(model, tokens), m), 1), tf.sum(m, 1)))) as tf.Scalar;
      }), variables);
      const theirs = tf.variableGrads(() => model.loss({ tokens, lossMask }), variables);
      assertClose(ours.value.dataSync(), theirs.value.dataSync(), 1e-5, "loss");
      let compared = 0;
      for (const name of Object.keys(theirs.grads)) {
        assertClose(ours.grads[name].dataSync(), theirs.grads[name].dataSync(), 2e-3, `grad ${name}`);
        compared++;
      }
      assert.ok(compared >= 5);
      tf.dispose([ours.value, theirs.value, ...Object.values(ours.grads), ...Object.values(theirs.grads)]);
    });
    model.dispose();
  });

  test(`[${backend}] sampleTokens: seeded, frequencies follow the softmax, returns behaviour log-probs`, async () => {
    await useBackend(backend);
    const model = new TinyTransformer(SMALL);
    const prompts = Array.from({ length: 3000 }, () => [0, 3]);
    const a = await expectNoLeak("sample", () => sampleTokens(model, prompts, { steps: 1, seed: 5 }));
    const b = sampleTokens(model, prompts, { steps: 1, seed: 5 });
    assert.equal(a.tokens, b.tokens, "same seed, same samples");
    const probs = readMatrix(tf.tidy(() => tf.softmax(tf.reshape(tf.slice(model.forward([[0, 3]]), [0, 1, 0], [1, 1, 6]), [1, 6])))).flat();
    const counts = new Array(6).fill(0);
    a.tokens.forEach((row) => counts[row[2]]++);
    counts.forEach((c, v) => {
      const sd = Math.sqrt(3000 * probs[v] * (1 - probs[v]));
      assert.ok(Math.abs(c - 3000 * probs[v]) <= 4.5 * sd + 1, `token ${v}: ${c} draws vs expected ${(3000 * probs[v]).toFixed(1)}`);
    });
    a.logProbs.slice(0, 20).forEach((lp, i) => assertClose(lp[0], Math.log(probs[a.tokens[i][2]]), 1e-4, "behaviour log-prob"));
    // a two-step sample's log-probs are what tokenLogProbs gives the finished sequence
    const two = sampleTokens(model, [[0, 1], [0, 2]], { steps: 2, seed: new Rng(9) });
    const rescored = readMatrix(tokenLogProbs(model, two.tokens));
    assertClose(two.logProbs.flat(), rescored.map((r) => r.slice(2)).flat(), 1e-4, "rescored");
    await expectError(() => sampleTokens(model, prompts, { steps: 0, seed: 1 }), InvalidArgumentError, "options.steps");
    await expectError(() => sampleTokens(model, [[0, 1], [0]], { steps: 1, seed: 1 }), ShapeError, "prompts[1]");
    await expectError(() => sampleTokens(model, [[0]], { steps: 1, seed: 1, temp: 2 } as never), UnknownOptionError, "options.temp");
    model.dispose();
  });

  test(`[${backend}] grpoLoss: hand-made tokens with clipping on both sides, both aggregations, and its gradient`, async () => {
    await useBackend(backend);
    // ratios exp(lp − old): 1.5 (A>0, clipped), 0.5 (A<0, clipped), 1.5 (A<0, not clipped), 1, 0.9
    const lp = [[0, -1.0, -0.5, -2.0], [0, -0.3, -1.2, -0.7]];
    const old = [[-1e4, -1.0 - Math.log(1.5), -0.5 - Math.log(0.5), 5], [0, -0.3 - Math.log(1.5), -1.2, -0.7 - Math.log(0.9)]];
    const ref = [[0, -1.2, -0.4, -2.5], [0, -0.1, -1.0, -0.9]];
    const adv = [[0, 2, -1, 0], [0, -0.5, -0.5, -0.5]];
    const mask = [[0, 1, 1, 0], [0, 1, 1, 1]];
    for (const aggregation of ["tokenLevel", "sequenceLevel"] as const) {
      const want = expectedLoss(lp, old, ref, adv, mask, 0.2, 0.1, aggregation);
      assert.is(want.clipFraction, 2 / 5);
      const got = await expectNoLeak("grpoLoss", () => tf.tidy(() => {
        const { loss, stats } = grpoLoss({ logProbs: tf.tensor2d(lp), oldLogProbs: tf.tensor2d(old), refLogProbs: tf.tensor2d(ref), advantages: tf.tensor2d(adv), mask: tf.tensor2d(mask) }, { clipEpsilon: 0.2, klBeta: 0.1, aggregation });
        return [loss.dataSync()[0], ...Array.from(stats.dataSync())];
      }));
      assertClose(got, [want.loss, want.policyLoss, want.kl, want.clipFraction, want.meanRatio, want.approxKL], 1e-5, aggregation);
      // d loss / d lp per token: weight · (−ρA where unclipped + β(1 − exp(ref − lp)))
      const grad = readMatrix(tf.tidy(() => tf.grad((x: tf.Tensor) => grpoLoss({ logProbs: x as tf.Tensor2D, oldLogProbs: tf.tensor2d(old), refLogProbs: tf.tensor2d(ref), advantages: tf.tensor2d(adv), mask: tf.tensor2d(mask) }, { clipEpsilon: 0.2, klBeta: 0.1, aggregation }).loss)(tf.tensor2d(lp))));
      const expected = lp.map((row, i) => row.map((l, t) => {
        if (mask[i][t] === 0) return 0;
        const weight = aggregation === "tokenLevel" ? 1 / 5 : 1 / (2 * mask[i].reduce((a, b) => a + b, 0));
        const rho = Math.exp(l - old[i][t]), a = adv[i][t];
        const clip = Math.min(Math.max(rho, 0.8), 1.2);
        const pg = clip * a < rho * a ? 0 : -rho * a;
        return weight * (pg + 0.1 * (1 - Math.exp(ref[i][t] - l)));
      }));
      grad.flat().forEach((g, k) => assert.ok(Math.abs(g - expected.flat()[k]) < 1e-5, `${aggregation} grad[${k}] ${g} vs ${expected.flat()[k]}`));
    }
    const [a, b] = [tf.zeros([2, 3]) as tf.Tensor2D, tf.zeros([2, 4]) as tf.Tensor2D];
    await expectNoLeak("failing grpoLoss", () => expectError(() => grpoLoss({ logProbs: a, oldLogProbs: b, refLogProbs: null, advantages: a, mask: a }), ShapeError, "inputs.oldLogProbs"));
    tf.dispose([a, b]);
  });

  test(`[${backend}] grpoStep: first-update loss equals the hand formula (supplied old log-probs, reference, both aggregations)`, async () => {
    await useBackend(backend);
    const samples: RolloutSample[] = [
      { groupId: "a", reward: 1, tokens: [0, 1, 2, 3, 4], actionMask: [0, 0, 1, 1, 1] },
      { groupId: "a", reward: 0, tokens: [0, 1, 5, 2, 0], actionMask: [0, 0, 1, 1, 0] },
      { groupId: "b", reward: 0.2, tokens: [0, 2, 2, 4, 1], actionMask: [0, 0, 1, 0, 0] },
      { groupId: "b", reward: 0.8, tokens: [0, 2, 3, 3, 3], actionMask: [0, 0, 1, 1, 1] },
    ];
    const offsets = [0.3, -0.05, 0.25, -0.3, 0.1];
    for (const aggregation of ["tokenLevel", "sequenceLevel"] as const) {
      const policy = new TinyTransformer(SMALL);
      const reference = new TinyTransformer({ ...SMALL, seed: 99 });
      const tokens = samples.map((s) => s.tokens);
      const lp = readMatrix(tokenLogProbs(policy, tokens));
      const ref = readMatrix(tokenLogProbs(reference, tokens));
      const old = lp.map((row, i) => row.map((l, t) => l - offsets[(i + t) % 5]));
      // group a: {1, 0} → ±1/(0.5+1e-6)·0.5; group b: {0.2, 0.8} → ∓0.3/(0.3+1e-6)
      const ea = 0.5 / (0.5 + 1e-6), eb = 0.3 / (0.3 + 1e-6);
      const episode = [ea, -ea, -eb, eb];
      const adv = samples.map((s, i) => s.actionMask.map((m) => m * episode[i]));
      const want = expectedLoss(lp, old, ref, adv, samples.map((s) => s.actionMask), 0.2, 0.05, aggregation);
      assert.ok(want.clipFraction > 0 && want.clipFraction < 1, "the case exercises clipping");
      const result = grpoStep(policy, reference, samples, { learningRate: 1e-3, clipEpsilon: 0.2, klBeta: 0.05, aggregation, oldLogProbs: old });
      assertClose(result.advantages, episode, 1e-9, "advantages");
      assertClose([result.loss, result.policyLoss, result.kl, result.clipFraction, result.meanRatio, result.approxKL],
        [want.loss, want.policyLoss, want.kl, want.clipFraction, want.meanRatio, want.approxKL], 2e-4, aggregation);
      // cost: reference forward + one update (the old log-probs were supplied)
      assert.equal({ ...result.cost, seconds: 0 }, { phase: "rl", seconds: 0, forwardTokens: 2 * 4 * 5, backwardTokens: 4 * 5, optimizerSteps: 1, envSteps: 0 });
      policy.dispose(); reference.dispose();
    }
  });

  test(`[${backend}] grpoStep: KL is 0 against a fresh reference copy; epochs, minibatches and cost counters`, async () => {
    await useBackend(backend);
    const policy = new TinyTransformer(SMALL);
    const reference = createReference(policy);
    const samples: RolloutSample[] = randomTokens(3, 4, 5, 6).map((tokens, i) => ({ groupId: String(i % 2), reward: i, tokens, actionMask: [0, 0, 1, 1, 1] }));
    const one = grpoStep(policy, reference, samples, { learningRate: 1e-2 });
    assert.ok(Math.abs(one.kl) < 1e-6, `kl ${one.kl}`);
    assert.ok(Math.abs(one.meanRatio - 1) < 1e-5 && one.clipFraction === 0 && Math.abs(one.approxKL) < 1e-6);
    // policy loss at ρ = 1 is −mean(A) over the aggregation; sequenceLevel with equal masks → −mean(episode A) = 0
    assert.ok(Math.abs(one.policyLoss) < 1e-5);
    const optimizer = tf.train.adam(0.05);
    const many = grpoStep(policy, reference, samples, { optimizer, ppoEpochs: 3, minibatchSize: 3, seed: 4, clipEpsilon: 0.1 });
    assert.is(many.updates.length, 6);
    assert.equal(many.updates.map((u) => u.samples), [3, 1, 3, 1, 3, 1]);
    assert.ok(many.updates.slice(2).some((u) => Math.abs(u.meanRatio - 1) > 1e-3), "later epochs see ρ ≠ 1");
    assert.ok(many.kl > 0, "the policy moved away from the reference");
    const T = 5;
    assert.equal({ ...many.cost, seconds: 0 }, { phase: "rl", seconds: 0, forwardTokens: 4 * T + 4 * T + 3 * 4 * T, backwardTokens: 3 * 4 * T, optimizerSteps: 6, envSteps: 0 });
    const noRef = grpoStep(policy, null, samples, { optimizer });
    assert.is(noRef.kl, 0);
    assert.is(noRef.cost.forwardTokens, 2 * 4 * T);
    optimizer.dispose(); policy.dispose(); reference.dispose();
  });

  test(`[${backend}] grpoStep: a positive-advantage sample's action tokens gain log-prob, the negative one's lose`, async () => {
    await useBackend(backend);
    const policy = new TinyTransformer(SMALL);
    const samples: RolloutSample[] = [
      { groupId: "q", reward: 1, tokens: [0, 2, 4, 1], actionMask: [0, 0, 1, 1] },
      { groupId: "q", reward: 0, tokens: [0, 2, 5, 3], actionMask: [0, 0, 1, 1] },
    ];
    const actionLogProb = () => readMatrix(tokenLogProbs(policy, samples.map((s) => s.tokens))).map((r) => r[2] + r[3]);
    const before = actionLogProb();
    const result = grpoStep(policy, null, samples, { learningRate: 1e-2 });
    const after = actionLogProb();
    assert.equal(result.advantages.map((a) => Math.sign(a)), [1, -1]);
    assert.ok(after[0] > before[0] + 1e-3, `positive sample: ${before[0]} → ${after[0]}`);
    assert.ok(after[1] < before[1] - 1e-3, `negative sample: ${before[1]} → ${after[1]}`);
    policy.dispose();
  });

  test(`[${backend}] GRPO lifts a one-token task from ~1/V to near-certain success`, async () => {
    await useBackend(backend);
    const V = 8, targets = [5, 6, 7, 2], prompts = [[0, 1], [0, 2], [0, 3], [0, 4]], G = 8;
    const policy = new TinyTransformer({ vocabSize: V, dModel: 16, nLayers: 1, nHeads: 2, dFF: 32, maxLen: 4, seed: 3 });
    const reference = createReference(policy);
    const optimizer = tf.train.adam(0.02);
    const rng = new Rng("grpo-lift");
    // Exact success probability: mean over prompts of p(target | prompt).
    const success = () => readMatrix(tokenLogProbs(policy, prompts.map((p, i) => [...p, targets[i]]))).reduce((a, r) => a + Math.exp(r[2]), 0) / prompts.length;
    const start = success();
    const sampledRewards: number[] = [];
    for (let step = 0; step < 40; step++) {
      const { tokens } = sampleTokens(policy, prompts.flatMap((p) => Array(G).fill(p)), { steps: 1, seed: rng });
      const samples: RolloutSample[] = tokens.map((row, i) => {
        const prompt = Math.floor(i / G);
        return { groupId: `prompt${prompt}`, reward: row[2] === targets[prompt] ? 1 : 0, tokens: row, actionMask: [0, 0, 1] };
      });
      sampledRewards.push(samples.reduce((a, s) => a + s.reward, 0) / samples.length);
      grpoStep(policy, reference, samples, { optimizer, klBeta: 0.01 });
    }
    const end = success();
    console.log(`  [${backend}] GRPO lift: p(success) ${start.toFixed(3)} → ${end.toFixed(3)}; sampled success first step ${sampledRewards[0].toFixed(3)}, last ${sampledRewards[39].toFixed(3)}`);
    assert.ok(start < 0.25, `start ${start}`);
    assert.ok(end > 0.8 && end - start >= 0.6 && end >= 3 * start, `end ${end} vs start ${start}`);
    optimizer.dispose(); policy.dispose(); reference.dispose();
  });

  test(`[${backend}] grpoStep leaks no tensors over several steps (transformer with GiGPO, GRU)`, async () => {
    await useBackend(backend);
    const policy = new TinyTransformer(SMALL);
    const reference = createReference(policy);
    const samples: RolloutSample[] = randomTokens(4, 4, 5, 6).map((tokens, i) => ({
      groupId: "g", reward: i % 2, tokens, actionMask: [0, 1, 1, 0, 1], tokenStep: [-1, 0, 0, -1, 1],
      stepStateKeys: ["s0", i < 2 ? "s1" : "s2"], stepReturns: [i % 2, (i % 2) * 0.9],
    }));
    const optimizer = tf.train.adam(1e-2);
    grpoStep(policy, reference, samples, { optimizer }); // warm-up: Adam creates its slot variables
    const rng = new Rng("leak");
    await expectNoLeak("grpoStep ×3", () => {
      for (let k = 0; k < 3; k++) grpoStep(policy, reference, samples, { optimizer, ppoEpochs: 2, minibatchSize: 2, seed: rng, stepLevel: true });
    });
    await expectNoLeak("failing grpoStep", () => expectError(() => grpoStep(policy, reference, [{ ...samples[0], tokens: [0, 1, 9, 2, 3] }], { optimizer }), InvalidArgumentError, "samples[0].tokens[2]"));
    optimizer.dispose(); policy.dispose(); reference.dispose();

    const gru = new GruLanguageModel({ vocabSize: 6, embedSize: 5, hiddenSize: 8, seed: 1 });
    const gruRef = createReference(gru);
    const gruOptimizer = tf.train.adam(1e-2);
    grpoStep(gru, gruRef, samples, { optimizer: gruOptimizer });
    const res = await expectNoLeak("GRU grpoStep ×2", () => [grpoStep(gru, gruRef, samples, { optimizer: gruOptimizer }), grpoStep(gru, gruRef, samples, { optimizer: gruOptimizer, aggregation: "tokenLevel" })]);
    res.forEach((r) => assert.ok(Number.isFinite(r.loss) && r.kl > 0));
    gruOptimizer.dispose(); gru.dispose(); gruRef.dispose();
  });

  test(`[${backend}] createReference: same logits, frozen, unaffected by later policy updates (transformer, LoRA, GRU)`, async () => {
    await useBackend(backend);
    const tokens = randomTokens(5, 2, 5, 6);
    const lora = new TinyTransformer(SMALL);
    attachLora(lora, { rank: 2, seed: 1 });
    const policies = [new TinyTransformer(SMALL), lora, new GruLanguageModel({ vocabSize: 6, embedSize: 4, hiddenSize: 6, seed: 3 })];
    for (const policy of policies) {
      const samples: RolloutSample[] = tokens.map((t, i) => ({ groupId: "g", reward: i, tokens: t, actionMask: [0, 1, 1, 1, 1] }));
      grpoStep(policy, null, samples, { learningRate: 0.05 }); // move LoRA's B away from 0
      const reference = createReference(policy);
      assert.is(reference.trainableVariables().length, 0);
      assert.is(reference.namedWeights().length, policy.namedWeights().length);
      const logits = (m: LogitsModel) => { const t = m.forward(tokens); const v = Array.from(t.dataSync()); t.dispose(); return v; };
      const before = logits(reference);
      assertClose(before, logits(policy), 1e-6, "same logits");
      grpoStep(policy, reference, samples, { learningRate: 0.05 });
      assertClose(logits(reference), before, 1e-7, "reference unchanged");
      assert.ok(logits(policy).some((v, i) => Math.abs(v - before[i]) > 1e-4), "policy moved");
      policy.dispose(); reference.dispose();
    }
    await expectError(() => createReference({} as never), InvalidArgumentError, "model");
  });

  test(`[${backend}] grpoStep: bad input raises typed errors naming the argument`, async () => {
    await useBackend(backend);
    const policy = new TinyTransformer(SMALL);
    const ok: RolloutSample = { groupId: "g", reward: 1, tokens: [0, 1, 2], actionMask: [0, 1, 1] };
    const base = { learningRate: 1e-3 };
    const run = (samples: RolloutSample[], options: object = base) => () => grpoStep(policy, null, samples, options as never);
    await expectError(run([ok], { ...base, clipEps: 0.2 }), UnknownOptionError, "options.clipEps");
    await expectError(run([ok], { ...base, clipEpsilon: -0.1 }), InvalidArgumentError, "options.clipEpsilon");
    await expectError(run([ok], { ...base, klBeta: NaN }), InvalidArgumentError, "options.klBeta");
    await expectError(run([ok], { ...base, ppoEpochs: 0 }), InvalidArgumentError, "options.ppoEpochs");
    await expectError(run([ok], { ...base, minibatchSize: 1.5 }), InvalidArgumentError, "options.minibatchSize");
    await expectError(run([ok], { ...base, aggregation: "perToken" }), UnknownOptionError, "options.aggregation");
    await expectError(run([ok], {}), InvalidArgumentError, "optimizer");
    const optimizer = tf.train.adam(1e-3);
    await expectError(run([ok], { optimizer, learningRate: 1e-3 }), InvalidArgumentError, "options.learningRate");
    optimizer.dispose();
    await expectError(run([ok], { learningRate: -1 }), InvalidArgumentError, "options.learningRate");
    await expectError(run([]), EmptyInputError, "samples");
    await expectError(run([ok, { ...ok, tokens: [0, 1, 2, 3], actionMask: [0, 1, 1, 1] }]), ShapeError, "samples[1].tokens");
    await expectError(run([ok, { ...ok, actionMask: [0, 1] }]), ShapeError, "samples[1].actionMask");
    await expectError(run([ok, ok, { ...ok, actionMask: [0, 0, 0] }]), InvalidArgumentError, "samples[2].actionMask");
    await expectError(run([{ ...ok, actionMask: [1, 1, 0] }]), InvalidArgumentError, "samples[0].actionMask[0]");
    await expectError(run([ok, { ...ok, reward: NaN }]), NonFiniteError, "samples[1].reward");
    await expectError(run([ok], { ...base, oldLogProbs: [[0, 0]] }), ShapeError, "options.oldLogProbs[0]");
    await expectError(run([ok], { ...base, oldLogProbs: [[0, NaN, 0]] }), NonFiniteError, "options.oldLogProbs[0]");
    await expectError(run([ok], { ...base, stepLevel: true }), InvalidArgumentError, "stepStateKeys");
    policy.dispose();
    // any policy shape works; one whose logits are NaN stops with a typed error and leaks nothing
    const w = tf.variable(tf.ones([3]));
    const nanPolicy = { forward: (t: number[][]) => tf.tidy(() => tf.add(tf.zeros([t.length, t[0].length, 3]), tf.mul(w, NaN)) as tf.Tensor3D), trainableVariables: () => [w] };
    await expectNoLeak("NaN loss", () => expectError(() => grpoStep(nanPolicy, null, [ok, { ...ok, reward: 0 }], base), NonFiniteError, "GRPO loss"));
    assert.equal(Array.from(w.dataSync()), [1, 1, 1], "the non-finite step was not applied to the weights");
    w.dispose();
  });
}

test.run();
