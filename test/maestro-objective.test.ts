/**
 * Issue 17, item 1: what the Conductor optimises. Group-normalised advantages sum to zero in
 * every group, so the paper's meta-objective E[mean Â] is identically 0 for every Conductor; the
 * per-response REINFORCE update is non-zero only because it is each response's own-payoff
 * gradient. Checked by exact enumeration of every joint action of a group, against the two
 * controls (an action-independent payoff: expected update 0) and the leave-one-out payoff (a real
 * objective: its REINFORCE estimator is unbiased, checked against finite differences).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../kernel-lib/random";
import { computeAdvantages, groupNormalize } from "../kernel-lib/train/advantages";
import { EmptyInputError, InvalidArgumentError, ShapeError } from "../kernel-lib/errors";
import { Conductor, META_REWARDS, MetaReward, groupSumCheck, leaveOneOutMeans, metaRewards } from "../kernel-lib/maestro";
import {
  MaestroEnv, NUM_COMPONENTS, ResponseBankPolicy, RewardModel, bagOfTokens, bankTargetUtility, bankTrueUtilities, bankUtilityAlignment, buildResponseBank,
  GruResponsePolicy, gruUtilityAlignment, gruUtilityGradient, resolveRunConfig, runMaestroArm,
} from "../kernel-lib/studies/maestro";
import { tokenLogProbs } from "../kernel-lib/train/logprobs";
import { TEST_BACKENDS, assertClose, expectError, expectNoLeak, useBackend } from "./helpers";

const env = new MaestroEnv({ seed: 3 });
const rewards = new RewardModel(env, { seed: 4 });
const K = NUM_COMPONENTS;

test("groupSumCheck: Σ_group Â = 0 for every normalisation (population/sample std, centring only, eps), random rewards and group sizes", () => {
  const rng = new Rng(1);
  for (let trial = 0; trial < 200; trial++) {
    const groups = 1 + rng.int(5), ids: string[] = [], values: number[] = [];
    for (let g = 0; g < groups; g++) {
      const size = 1 + rng.int(8);
      for (let i = 0; i < size; i++) { ids.push(`g${g}`); values.push(rng.int(3) === 0 ? 0.5 : rng.normal() * 10 ** rng.int(4)); }
    }
    for (const options of [{}, { stdEstimator: "sample" as const }, { normalizeStd: false }, { eps: 1e-4 }]) {
      const adv = groupNormalize(values, ids, options);
      const check = groupSumCheck(adv, ids);
      assert.ok(check.maxAbsSum <= 1e-12 * Math.max(1, check.maxAbs) * 8, `trial ${trial} ${JSON.stringify(options)}: ${check.maxAbsSum}`);
      assert.is(check.groups, groups);
    }
  }
  // A group of equal rewards counts as zero-std; its advantages are exactly 0.
  const c = groupSumCheck(groupNormalize([1, 1, 1, 0, 2], ["a", "a", "a", "b", "b"]), ["a", "a", "a", "b", "b"]);
  assert.is(c.constantGroups, 0.5);
  assert.equal(leaveOneOutMeans([1, 2, 3, 10], ["a", "a", "a", "b"]), [2.5, 2, 1.5, 0]);
});

interface Enumeration { J: number; gradW: Float64Array; gradB: Float64Array }

/**
 * Exact expectations over every joint action (K^G of them) of one group of G fixed responses:
 * J = E[mean payoff] and E[the REINFORCE estimator] (conductor.policyGradient: the gradient of
 * −mean(payoff · log π(a|h)), so at an unbiased estimator it is −∇J).
 */
function enumerate(conductor: Conductor, hidden: number[][], r: number[][], kind: MetaReward, alignment?: number[]): Enumeration {
  const G = hidden.length, ids = hidden.map(() => "g");
  const probs = conductor.probabilities(hidden);
  const D = conductor.inputSize;
  const out: Enumeration = { J: 0, gradW: new Float64Array(D * K), gradB: new Float64Array(K) };
  const equal = new Array<number>(K).fill(1 / K);
  const dot = (w: number[], x: number[]) => w.reduce((s, v, k) => s + v * x[k], 0);
  for (let code = 0; code < K ** G; code++) {
    const actions = Array.from({ length: G }, (_, j) => Math.floor(code / K ** j) % K);
    const p = actions.reduce((acc, a, j) => acc * probs[j][a], 1);
    const R = actions.map((a, j) => dot(conductor.discreteWeights(a), r[j]));
    const fixed = r.map((x) => dot(equal, x));
    const samples = R.map((reward) => ({ groupId: "g", reward, tokens: [0, 0], actionMask: [0, 1] }));
    const payoff = metaRewards(kind, {
      advantages: computeAdvantages(samples).episode, rewards: R, fixedRewards: fixed, groupIds: ids,
      fixedAdvantages: groupNormalize(fixed, ids), alignment,
    });
    out.J += p * payoff.reduce((a, b) => a + b, 0) / G;
    const g = conductor.policyGradient(actions.map((a, j) => ({ hidden: hidden[j], action: a, z: null, advantage: payoff[j] })));
    g.W.forEach((v, i) => { out.gradW[i] += p * v; });
    g.b.forEach((v, i) => { out.gradB[i] += p * v; });
  }
  return out;
}

const norm = (...xs: Float64Array[]) => Math.sqrt(xs.reduce((s, x) => s + x.reduce((a, v) => a + v * v, 0), 0));

for (const backend of TEST_BACKENDS) {
test(`[${backend}] E[Â] ≡ 0 by exact enumeration; the paper's per-response update is non-zero anyway (own-payoff gradient); an action-independent payoff gives 0; the leave-one-out payoff is unbiased`, async () => {
  await useBackend(backend);
  const prompt = env.samplePrompts(3, 13).find((p) => p.type === "creative");
  assert.ok(prompt !== undefined);
  const bank = buildResponseBank(env, prompt);
  const policy = new ResponseBankPolicy(env);
  const chosen = [0, 5, 9].map((j) => bank[j]); // formatted gold, creative-long, echo-prompt
  const hidden = chosen.map((resp) => policy.hiddenOf(prompt, resp));
  const r = chosen.map((resp) => rewards.components(prompt, resp));
  await expectNoLeak("enumeration", () => {
    for (const seed of [1, 2]) {
      const conductor = new Conductor({ inputSize: policy.hiddenSize, initScale: 0.5, seed });
      const paper = enumerate(conductor, hidden, r, "advantage");
      const control = enumerate(conductor, hidden, r, "fixed-advantage");
      const loo = enumerate(conductor, hidden, r, "loo-fixed");
      console.log(`  φ seed ${seed}: J(Â) = ${paper.J.toExponential(2)}, ‖E[update]‖ = ${norm(paper.gradW, paper.gradB).toExponential(3)}; fixed payoff ‖E[update]‖ = ${norm(control.gradW, control.gradB).toExponential(2)}; J(loo) = ${loo.J.toFixed(4)}`);
      assert.ok(Math.abs(paper.J) < 1e-12, `J = E[mean Â] = ${paper.J} for every φ`);
      assert.ok(norm(paper.gradW, paper.gradB) > 1e-3, "the per-response estimator's expectation is not 0 (it is not ∇J = 0)");
      assert.ok(norm(control.gradW, control.gradB) < 1e-12, "action-independent payoff: expected update 0");
      assert.ok(Math.abs(loo.J) > 1e-3, "the leave-one-out payoff has a non-zero expectation");
      // Unbiased: E[estimator] = −∇J, checked on the bias b by central differences of the exact J.
      const eps = 1e-3;
      for (let k = 0; k < K; k++) {
        const shifted = (delta: number) => {
          tf.tidy(() => conductor.b.assign(tf.add(conductor.b, tf.oneHot(tf.tensor1d([k], "int32"), K).reshape([K]).mul(delta))));
          const J = enumerate(conductor, hidden, r, "loo-fixed").J;
          tf.tidy(() => conductor.b.assign(tf.sub(conductor.b, tf.oneHot(tf.tensor1d([k], "int32"), K).reshape([K]).mul(delta))));
          return J;
        };
        const fd = (shifted(eps) - shifted(-eps)) / (2 * eps);
        assertClose(-loo.gradB[k], fd, 2e-3 * Math.max(1, Math.abs(fd)), `loo: E[estimator]_b${k} = −∂J/∂b${k}`);
        // The target-informed payoff (fixed alignments g) is unbiased for its objective too.
        const g = [0.3, -0.2, 0.5];
        const aligned = enumerate(conductor, hidden, r, "alignment", g);
        const shiftedAligned = (delta: number) => {
          tf.tidy(() => conductor.b.assign(tf.add(conductor.b, tf.oneHot(tf.tensor1d([k], "int32"), K).reshape([K]).mul(delta))));
          const J = enumerate(conductor, hidden, r, "alignment", g).J;
          tf.tidy(() => conductor.b.assign(tf.sub(conductor.b, tf.oneHot(tf.tensor1d([k], "int32"), K).reshape([K]).mul(delta))));
          return J;
        };
        const fdAligned = (shiftedAligned(eps) - shiftedAligned(-eps)) / (2 * eps);
        assertClose(-aligned.gradB[k], fdAligned, 2e-3 * Math.max(1, Math.abs(fdAligned)), `alignment: E[estimator]_b${k} = −∂J/∂b${k}`);
        const Jpaper = (() => {
          tf.tidy(() => conductor.b.assign(tf.add(conductor.b, tf.oneHot(tf.tensor1d([k], "int32"), K).reshape([K]).mul(0.5))));
          const J = enumerate(conductor, hidden, r, "advantage").J;
          tf.tidy(() => conductor.b.assign(tf.sub(conductor.b, tf.oneHot(tf.tensor1d([k], "int32"), K).reshape([K]).mul(0.5))));
          return J;
        })();
        assert.ok(Math.abs(Jpaper) < 1e-12, `J(Â) stays 0 when φ moves (b${k} + 0.5): ${Jpaper}`);
      }
      conductor.dispose();
    }
  });
  policy.dispose();
});

test(`[${backend}] runs: Σ_group Â is 0 on every step (logged per step); the paper's mean payoff per step is 0, the leave-one-out payoff's is not; prompt-level meta-gradient vanishes, shared-action's (per-response h) does not`, async () => {
  await useBackend(backend);
  const steps = 24;
  const run = (arm: "maestro" | "loo-meta" | "prompt-level" | "shared-action" | "fixed-advantage") => runMaestroArm({ arm, steps, conductorEvery: 4, curveEvalEvery: 0, evalPromptsPerType: 4, validationPromptsPerType: 4 }, 5);
  const maestro = run("maestro"), loo = run("loo-meta"), promptLevel = run("prompt-level"), shared = run("shared-action");
  for (const r of [maestro, loo, promptLevel, shared]) {
    assert.is(r.curves.advantageGroupSum.length, steps);
    // Rounding bound: Σ(R − mean) is O(G·ε·|R|) in float64, divided by std + eps ≥ eps = 1e-6:
    // 8 · 2.2e-16 · 1 / 1e-6 ≈ 2e-9 in a near-tie group (a default tier A run reached 1.7e-9).
    assert.ok(r.metrics.maxAdvantageGroupSum < 1e-8, `${r.arm}: max |Σ_group Â| = ${r.metrics.maxAdvantageGroupSum}`);
    assert.ok(r.curves.zeroStdGroups.every((z) => z >= 0 && z <= 1));
  }
  assert.ok(maestro.curves.metaReward.every((m) => Math.abs(m) < 1e-8), "mean Â per step is 0 (up to the rounding bound above)");
  assert.ok(loo.curves.metaReward.some((m) => Math.abs(m) > 1e-3), "leave-one-out payoff: non-zero mean");
  const pl = Math.max(...promptLevel.curves.metaGradient.norm), sa = Math.min(...shared.curves.metaGradient.norm);
  console.log(`  meta-gradient: prompt-level max ${pl.toExponential(2)}, shared-action (per-response h) min ${sa.toExponential(2)}, per-response min ${Math.min(...maestro.curves.metaGradient.norm).toExponential(2)}`);
  assert.ok(pl < 1e-10, `prompt-level ${pl}`);
  assert.ok(sa > 1e-6, `shared action with per-response h: ${sa}`);
});
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] bankUtilityAlignment = the directional derivative of the validation true utility along ∇log π(y_j|x_j) (central differences); the aligned-meta arm runs on tier A`, async () => {
    await useBackend(backend);
    const policy = new ResponseBankPolicy(env);
    tf.tidy(() => { policy.model.W.assign(tf.randomNormal(policy.model.W.shape, 0, 0.5, "float32", 3)); policy.model.b.assign(tf.randomNormal(policy.model.b.shape, 0, 0.5, "float32", 4)); });
    const targets = env.promptSet("validation", 5);
    const utilities = bankTrueUtilities(policy, rewards, targets);
    const rollouts = policy.sample(env.samplePrompts(3, 21), 4, new Rng(2));
    const g = await expectNoLeak("alignment", () => bankUtilityAlignment(policy, targets, utilities, rollouts));
    const W0 = Float64Array.from(policy.model.W.dataSync()), b0 = Float64Array.from(policy.model.b.dataSync());
    const B = policy.bankSize, P = env.promptLength;
    const probs = policy.model.probabilities(rollouts.map((r) => r.prompt));
    const eps = 1e-3;
    rollouts.forEach((r, j) => {
      const slot = r.tokens[r.tokens.length - 1];
      const x = bagOfTokens(r.prompt.tokens, P);
      const dir = probs[j].map((p, k) => (k === slot ? 1 : 0) - p);
      const at = (h: number) => {
        tf.tidy(() => {
          policy.model.W.assign(tf.tensor2d(Float32Array.from(W0.map((w, i) => w + h * x[Math.floor(i / B)] * dir[i % B])), policy.model.W.shape as [number, number]));
          policy.model.b.assign(tf.tensor1d(Float32Array.from(b0.map((v, k) => v + h * dir[k]))));
        });
        return bankTargetUtility(policy, targets, utilities);
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      assertClose(g[j], fd, 2e-3 * Math.max(0.05, Math.abs(fd)), `g_${j} vs central difference`);
    });
    tf.tidy(() => { policy.model.W.assign(tf.tensor2d(Float32Array.from(W0), policy.model.W.shape as [number, number])); policy.model.b.assign(tf.tensor1d(Float32Array.from(b0))); });
    assert.ok(g.some((v) => Math.abs(v) > 1e-4), "alignments are not all 0");
    policy.dispose();
    const run = runMaestroArm({ arm: "aligned-meta", steps: 8, conductorEvery: 4, curveEvalEvery: 0, evalPromptsPerType: 2, validationPromptsPerType: 3 }, 1);
    assert.is(run.config.metaReward, "alignment");
    assert.is(run.curves.metaGradient.norm.length, 2);
    assert.ok(run.curves.metaReward.some((m) => m !== 0));
  });
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] gruUtilityAlignment = ∇U·∇log π(y_j|x_j) by per-rollout autodiff (the slow oracle); weights restored exactly; ∇U seeded; the aligned-meta arm runs on tier B`, async () => {
    await useBackend(backend);
    const policy = new GruResponsePolicy(env, { seed: 5, hiddenSize: 8, embedSize: 6 });
    const targets = env.promptSet("validation", 2);
    const gU = await expectNoLeak("utility gradient", () => gruUtilityGradient(policy, rewards, targets, 4, new Rng(1)));
    assert.equal(Array.from(gruUtilityGradient(policy, rewards, targets, 4, new Rng(1))), Array.from(gU), "a pure function of its seed");
    assert.ok(gU.some((v) => v !== 0), "∇U is not 0");
    const rollouts = policy.sample(env.samplePrompts(3, 21), 3, new Rng(2));
    const vars = policy.model.trainableVariables();
    const before = vars.map((v) => Array.from(v.dataSync()));
    const g = await expectNoLeak("alignment", () => gruUtilityAlignment(policy, gU, rollouts));
    assert.equal(vars.map((v) => Array.from(v.dataSync())), before, "weights restored exactly");
    const oracle = rollouts.map((r) => {
      const { value, grads } = tf.variableGrads(() => tf.tidy(() => tf.sum(tf.mul(tokenLogProbs(policy.model, [r.tokens]), tf.tensor2d([r.actionMask]))) as tf.Scalar), vars);
      let dot = 0, offset = 0;
      for (const v of vars) { const d = grads[v.name].dataSync(); for (let k = 0; k < d.length; k++) dot += d[k] * gU[offset + k]; offset += d.length; grads[v.name].dispose(); }
      value.dispose();
      return dot;
    });
    const scale = Math.max(...oracle.map(Math.abs));
    // A float32 central difference (h = 1e-2): within 2% of each value (or of 5% of the largest).
    oracle.forEach((dot, j) => assert.ok(Math.abs(g[j] - dot) <= 2e-2 * Math.max(0.05 * scale, Math.abs(dot)), `g_${j} = ${g[j]} vs per-rollout autodiff ${dot}`));
    assert.equal(gruUtilityAlignment(policy, new Float64Array(gU.length), rollouts), rollouts.map(() => 0), "∇U = 0: all zeros");
    await expectError(() => gruUtilityAlignment(policy, new Float64Array(3), rollouts), InvalidArgumentError, "utilityGradient");
    await expectError(() => gruUtilityGradient(policy, rewards, targets, 1, new Rng(1)), InvalidArgumentError, "samples");
    policy.dispose();
    const run = runMaestroArm({ arm: "aligned-meta", tier: "gru", steps: 4, conductorEvery: 2, pretrainSteps: 4, promptsPerStep: 3, groupSize: 4, gruHiddenSize: 8, gruEmbedSize: 6,
      curveEvalEvery: 0, evalPromptsPerType: 1, evalSamples: 2, validationPromptsPerType: 1 }, 1);
    assert.is(run.config.metaReward, "alignment");
    assert.is(run.curves.metaGradient.norm.length, 2);
    assert.ok(run.curves.metaReward.some((m) => m !== 0), "the Conductor was paid a non-zero alignment payoff");
  });
}

test("metaRewards / groupSumCheck: typed errors name the argument", async () => {
  await expectError(() => metaRewards("mean" as never, { advantages: [0], rewards: [0], fixedRewards: [0], fixedAdvantages: [0], groupIds: ["a"] }), InvalidArgumentError, "kind");
  await expectError(() => metaRewards("loo-fixed", { advantages: [0], rewards: [0, 1], fixedRewards: [0], fixedAdvantages: [0], groupIds: ["a"] }), ShapeError, "inputs.rewards");
  await expectError(() => groupSumCheck([], []), EmptyInputError, "groupIds");
  await expectError(() => metaRewards("alignment", { advantages: [0], rewards: [0], fixedRewards: [0], fixedAdvantages: [0], groupIds: ["a"] }), InvalidArgumentError, "inputs.alignment");
  assert.equal(metaRewards("alignment", { advantages: [0, 0], rewards: [1, 2], fixedRewards: [0.5, 3], fixedAdvantages: [0, 0], groupIds: ["a", "a"], alignment: [2, -1] }), [1, 1]);
  await expectError(() => groupSumCheck([NaN], ["a"]), Error, "values");
  assert.equal([...META_REWARDS], ["advantage", "fixed-advantage", "loo-fixed", "alignment"]);
});

test.run();
