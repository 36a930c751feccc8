/**
 * Issue 17, item 2: generation stops at <eos> per row, a batch ends when every row has, GRPO
 * scores only what was emitted, and the work (not the wall-clock) falls with the response length.
 * Every fast path is checked against the slow full-budget oracle on cpu and wasm.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../kernel-lib/random";
import { LogitsModel, sampleTokens } from "../kernel-lib/train/logprobs";
import { grpoStep } from "../kernel-lib/train/grpo";
import { InvalidArgumentError } from "../kernel-lib/errors";
import { EOS, GruResponsePolicy, MaestroEnv, MaestroRollout, PAD, pretrainVerbose, runMaestroArm } from "../kernel-lib/studies/maestro";
import { TEST_BACKENDS, assertClose, expectError, expectNoLeak, useBackend } from "./helpers";

const env = new MaestroEnv({ seed: 5 });
const P = env.promptLength, L = env.maxResponseLength;

/** Row-positions the stopping sampler must have run: step s runs the rows still generating, each of length P + s. */
function expectedForwardTokens(emitted: readonly number[], promptLength: number): number {
  const longest = Math.max(...emitted);
  let total = 0;
  for (let s = 0; s < longest; s++) total += emitted.filter((e) => e > s).length * (promptLength + s);
  return total;
}

/** A small GRU policy pre-trained (80 SFT steps, seeded) on verbose targets of 2–7 tokens. */
function shortPolicy(stopAtEos: boolean): GruResponsePolicy {
  const policy = new GruResponsePolicy(env, { seed: 7, hiddenSize: 12, embedSize: 8, stopAtEos });
  pretrainVerbose(policy, { steps: 80, seed: 1, minLength: 2, maxLength: 7 });
  return policy;
}

/** A fixed-logit model over V tokens whose <eos> logit is `eosLogit` (every other logit 0, whatever the prefix). */
function constantModel(V: number, eosLogit: number): LogitsModel {
  return {
    forward: (tokens) => tf.tidy(() => {
      const row = Array.from({ length: V }, (_, v) => (v === EOS ? eosLogit : 0));
      return tf.tile(tf.tensor3d(row, [1, 1, V]), [tokens.length, tokens[0].length, 1]) as tf.Tensor3D;
    }),
  };
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] sampleTokens with stopToken = the full-budget sample cut at its first stop (slow oracle); work counted exactly`, async () => {
    await useBackend(backend);
    // A short verbose pre-training with targets of 2–7 tokens, so rows stop at different lengths.
    const policy = shortPolicy(true);
    const model = policy.model;
    const prompts = env.samplePrompts(6, 2).flatMap((p) => [p.tokens, p.tokens, p.tokens]);
    const fast = await expectNoLeak("stopping sampler", () => sampleTokens(model, prompts, { steps: L, seed: 11, stopToken: EOS, padToken: PAD }));
    const slow = sampleTokens(model, prompts, { steps: L, seed: 11 });
    const width = fast.tokens[0].length - P;
    assert.is(width, Math.max(...fast.emitted), "batch ends with its longest row");
    assert.ok(fast.emitted.some((e) => e < width), "rows stop at different lengths (the test needs it)");
    assert.ok(width <= L);
    fast.tokens.forEach((row, n) => {
      const tail = slow.tokens[n].slice(P);
      const stop = tail.indexOf(EOS);
      const emitted = stop < 0 ? L : stop + 1;
      assert.is(fast.emitted[n], emitted, `row ${n}: emitted length`);
      assert.equal(row.slice(P, P + emitted), tail.slice(0, emitted), `row ${n}: same tokens as the full-budget sample`);
      assert.equal(row.slice(P + emitted), new Array(width - emitted).fill(PAD), `row ${n}: padding after its stop`);
      assertClose(fast.logProbs[n].slice(0, emitted), slow.logProbs[n].slice(0, emitted), 1e-5, `row ${n}: behaviour log-probs`);
      assert.ok(fast.logProbs[n].slice(emitted).every((v) => v === 0), `row ${n}: log-prob 0 after its stop`);
    });
    assert.is(fast.forwardTokens, expectedForwardTokens(fast.emitted, P), "forward work = Σ_s (rows still generating) × (P + s)");
    assert.is(slow.forwardTokens, prompts.length * Array.from({ length: L }, (_, s) => P + s).reduce((a, b) => a + b, 0));
    assert.ok(fast.forwardTokens < slow.forwardTokens);
    policy.dispose();
  });

  test(`[${backend}] GRPO on rollouts padded to the batch's longest response = GRPO on rollouts padded to L (same update), at less work`, async () => {
    await useBackend(backend);
    const fast = shortPolicy(true), slow = shortPolicy(false);
    const prompts = env.samplePrompts(3, 9);
    const a = fast.sampleWithCost(prompts, 4, new Rng(1)), b = slow.sampleWithCost(prompts, 4, new Rng(1));
    assert.equal(a.rollouts.map((r) => r.response), b.rollouts.map((r) => r.response), "same responses for one seed");
    assert.is(b.cost.sequenceLength, P + L);
    assert.is(a.cost.sequenceLength, P + Math.max(...a.rollouts.map((r) => r.actionMask.reduce((x, m) => x + m, 0))));
    assert.ok(a.cost.generatedTokens < b.cost.generatedTokens && a.cost.forwardTokens < b.cost.forwardTokens);
    const samples = (rs: MaestroRollout[]) => rs.map((r, i) => ({ groupId: r.groupId, reward: (i * 7) % 5, tokens: r.tokens, actionMask: r.actionMask }));
    const step = (policy: GruResponsePolicy, rs: MaestroRollout[]) => {
      const optimizer = tf.train.sgd(0.5);
      const out = grpoStep(policy.model, policy.reference, samples(rs), { optimizer, klBeta: 0.05, oldLogProbs: rs.map((r) => r.behaviourLogProbs) });
      optimizer.dispose();
      return out;
    };
    const ra = await expectNoLeak("grpo, batch-max padding", () => step(fast, a.rollouts));
    const rb = step(slow, b.rollouts);
    assertClose(ra.advantages, rb.advantages, 1e-12, "advantages");
    assertClose(ra.loss, rb.loss, 1e-5, "loss");
    const wa = fast.model.trainableVariables().map((v) => Array.from(v.dataSync()));
    const wb = slow.model.trainableVariables().map((v) => Array.from(v.dataSync()));
    wa.forEach((w, i) => assertClose(w, wb[i], 1e-5, `weights ${i} after the update`));
    assert.ok(ra.cost.forwardTokens < rb.cost.forwardTokens, `GRPO work ${ra.cost.forwardTokens} < ${rb.cost.forwardTokens}`);
    fast.dispose(); slow.dispose();
  });
}

test("compute falls with length: a model that stops sooner generates fewer tokens and runs fewer forward row-positions", () => {
  const prompts = Array.from({ length: 16 }, () => [1, 5, 14, 15]);
  const rows = [-2, 0, 1, 2, 4].map((eosLogit) => {
    const out = sampleTokens(constantModel(env.vocabSize, eosLogit), prompts, { steps: L, seed: 3, stopToken: EOS });
    const generated = out.emitted.reduce((a, b) => a + b, 0);
    assert.is(out.forwardTokens, expectedForwardTokens(out.emitted, 4));
    return { eosLogit, generated, forward: out.forwardTokens };
  });
  console.log(`  eos logit → generated tokens / forward row-positions: ${rows.map((r) => `${r.eosLogit}: ${r.generated}/${r.forward}`).join(", ")}`);
  for (let i = 1; i < rows.length; i++) {
    assert.ok(rows[i].generated < rows[i - 1].generated, `generated falls: ${JSON.stringify(rows)}`);
    assert.ok(rows[i].forward < rows[i - 1].forward, `forward work falls: ${JSON.stringify(rows)}`);
  }
  // Without a stop token every row runs the whole budget, whatever the model.
  const full = sampleTokens(constantModel(env.vocabSize, 4), prompts, { steps: L, seed: 3 });
  assert.ok(full.emitted.every((e) => e === L));
});

test("tier B run: per-step generated tokens and forward work are logged beside wall-clock and fall as brevity training shortens responses", () => {
  const run = runMaestroArm({ arm: "single-brevity", tier: "gru", steps: 10, pretrainSteps: 60, promptsPerStep: 3, groupSize: 8, evalPromptsPerType: 2, evalSamples: 2, curveEvalEvery: 0 }, 1);
  const c = run.curves;
  assert.is(c.generatedTokens.length, 10);
  assert.is(c.forwardTokens.length, 10);
  assert.is(c.secondsPerStep.length, 10);
  // Generated tokens are exactly the responses' bodies + <eos>: 24 responses × (mean length + share with <eos>).
  c.generatedTokens.forEach((g, s) => {
    const bodies = Math.round(24 * c.length[s]); // the step's summed body lengths (length is their mean)
    assert.ok(g >= bodies && g <= bodies + 24, `step ${s}: ${g} generated vs ${bodies} body tokens`);
  });
  const first = c.generatedTokens.slice(0, 3).reduce((a, b) => a + b, 0), last = c.generatedTokens.slice(-3).reduce((a, b) => a + b, 0);
  const fFirst = c.forwardTokens.slice(0, 3).reduce((a, b) => a + b, 0), fLast = c.forwardTokens.slice(-3).reduce((a, b) => a + b, 0);
  console.log(`  tier B brevity: generated ${c.generatedTokens.join(", ")}; forward ${c.forwardTokens.join(", ")}`);
  assert.ok(last < first, `generated tokens fall (${first} → ${last})`);
  assert.ok(fLast < fFirst, `forward work falls (${fFirst} → ${fLast})`);
  assert.ok(run.metrics.generatedTokensPerStep > 0 && run.metrics.forwardTokensPerStep > run.metrics.generatedTokensPerStep);
});

test("sampleTokens: bad stopToken / padToken name the option", async () => {
  const m = constantModel(8, 0);
  await expectError(() => sampleTokens(m, [[1]], { steps: 2, seed: 1, stopToken: -1 }), InvalidArgumentError, "options.stopToken");
  await expectError(() => sampleTokens(m, [[1]], { steps: 2, seed: 1, stopToken: 2, padToken: 1.5 }), InvalidArgumentError, "options.padToken");
  await expectError(() => new GruResponsePolicy(env, { seed: 1, stopAtEos: "yes" as never }), InvalidArgumentError, "options.stopAtEos");
});

test.run();
