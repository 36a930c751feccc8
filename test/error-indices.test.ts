/**
 * Issue 19 (2): an error names the example in the caller's input, wherever the input is cut into
 * batches (probe batches, shuffled SFT / LoRA minibatches, feature batches, worker slices), and
 * every trainer checks its whole input before its first optimizer step — after the throw the
 * weights are bit-identical to before the call.
 * The bad example sits in the SECOND batch (index 5 with batch size 4) so a batch-local index (1)
 * and the global one (5) differ; in the shuffled trainers it is also found whatever the order.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { tf } from "../kernel-lib/tf";
import { TinyTransformer } from "../kernel-lib/models/transformer";
import { prepareTokenBatch } from "../kernel-lib/models/token-batch";
import { attachLora } from "../kernel-lib/models/lora";
import { probeTrajectories } from "../kernel-lib/prism/probe";
import { trainSft } from "../kernel-lib/train/sft";
import { grpoStep } from "../kernel-lib/train/grpo";
import type { RolloutSample } from "../kernel-lib/train/rl-types";
import { trainLora } from "../kernel-lib/train/lora-training";
import { loraGradientRows, meanPooledHiddenStates } from "../kernel-lib/studies/g2is/features";
import { exampleLosses } from "../kernel-lib/studies/g2is/evaluation";
import { readLoraParameters } from "../kernel-lib/train/lora-training";
import { probeTrajectoriesParallel, gradientFeaturesParallel } from "../kernel-lib/parallel";
import { RandomProjector } from "../kernel-lib/features/projection";
import { createMiniShop, tokenizerFor } from "../kernel-lib/envs";
import { TransformerAgent } from "../kernel-lib/agents/policy";
import { trainAgentGrpo } from "../kernel-lib/agents/train-grpo";
import { EmptyInputError, InvalidArgumentError } from "../kernel-lib/errors";
import { Rng } from "../kernel-lib/random";
import { TEST_BACKENDS, useBackend, expectNoLeak, expectError } from "./helpers";

const V = 20, T = 10;

function model(seed = 1): TinyTransformer {
  return new TinyTransformer({ vocabSize: V, maxLen: 12, dModel: 8, nLayers: 1, nHeads: 2, dFF: 16, seed });
}

/** n valid examples: random tokens, targets on positions 5 … T−1. */
function examples(n: number, seed = 3): Array<{ tokens: number[]; lossMask: number[] }> {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => ({
    tokens: Array.from({ length: T }, () => rng.int(V)),
    lossMask: Array.from({ length: T }, (_, t) => (t >= 5 ? 1 : 0)),
  }));
}

/** The three audit cases, each planted in example `at`: a token out of range, no target, a mask value 2. */
function corruptions(n: number, at: number): Array<{ name: string; data: ReturnType<typeof examples>; type: new (...a: never[]) => Error; fragment: string }> {
  const badToken = examples(n); badToken[at].tokens[3] = V;
  const noTarget = examples(n); noTarget[at].lossMask.fill(0);
  const maskTwo = examples(n); maskTwo[at].lossMask[7] = 2;
  return [
    { name: "token out of range", data: badToken, type: InvalidArgumentError, fragment: `tokens[${at}][3]` },
    { name: "no target token", data: noTarget, type: EmptyInputError, fragment: `example ${at} has none` },
    { name: "mask value 2", data: maskTwo, type: InvalidArgumentError, fragment: `lossMask[${at}][7]` },
  ];
}

function snapshot(m: TinyTransformer): Float32Array[] {
  return m.namedWeights().map((w) => (w.variable.dataSync() as Float32Array).slice());
}

function assertUnchanged(m: TinyTransformer, before: Float32Array[], label: string): void {
  const after = snapshot(m);
  assert.is(after.length, before.length);
  after.forEach((w, i) => assert.ok(w.every((v, j) => Object.is(v, before[i][j])), `${label}: weight ${m.namedWeights()[i].name} changed`));
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] probeTrajectories names the caller's example, not its row in batch 2`, async () => {
    await useBackend(backend);
    const m = model();
    for (const c of corruptions(6, 5)) {
      await expectNoLeak(`probe, ${c.name}`, () => expectError(() => probeTrajectories(m, c.data, { batchSize: 4 }), c.type, c.fragment));
    }
    m.dispose();
  });

  test(`[${backend}] trainSft: the shuffled minibatches' error names the caller's index, and no weight moved`, async () => {
    await useBackend(backend);
    for (const c of corruptions(8, 5)) {
      const m = model();
      const before = snapshot(m);
      await expectNoLeak(`trainSft, ${c.name}`, () =>
        expectError(() => trainSft(m, c.data, { epochs: 2, batchSize: 2, learningRate: 0.05, seed: 4 }), c.type, c.fragment));
      assertUnchanged(m, before, `trainSft, ${c.name}`);
      m.dispose();
    }
  });

  test(`[${backend}] trainLora: whole set checked before the first update, caller's index named`, async () => {
    await useBackend(backend);
    for (const c of corruptions(8, 5)) {
      const m = model();
      attachLora(m, { rank: 2, seed: 2 });
      const before = snapshot(m);
      await expectNoLeak(`trainLora, ${c.name}`, () =>
        expectError(() => trainLora(m, c.data, { epochs: 2, batchSize: 2, learningRate: 0.05, seed: 4 }), c.type, c.fragment));
      assertUnchanged(m, before, `trainLora, ${c.name}`);
      m.dispose();
    }
  });

  test(`[${backend}] G2IS feature and loss batches name the caller's example`, async () => {
    await useBackend(backend);
    const m = model();
    for (const c of corruptions(6, 5)) {
      await expectNoLeak(`exampleLosses, ${c.name}`, () => expectError(() => exampleLosses(m, c.data, 4), c.type, c.fragment));
    }
    const [badToken] = corruptions(6, 5);
    await expectNoLeak("meanPooledHiddenStates", () => expectError(() => meanPooledHiddenStates(m, badToken.data, 0, 4), InvalidArgumentError, "tokens[5][3]"));
    attachLora(m, { rank: 2, seed: 2 });
    for (const c of corruptions(6, 5)) {
      await expectNoLeak(`loraGradientRows, ${c.name}`, () => expectError(() => loraGradientRows(m, c.data, 4, () => undefined), c.type, c.fragment));
    }
    m.dispose();
  });

  test(`[${backend}] grpoStep checks every sample's tokens before the first minibatch step`, async () => {
    await useBackend(backend);
    const m = model();
    const rows = examples(6);
    // oldLogProbs given and no reference: nothing scores the later minibatches before the first step.
    const samples: RolloutSample[] = rows.map((r, i) => ({ groupId: String(i % 2), reward: i, tokens: r.tokens, actionMask: r.lossMask }));
    samples[5] = { ...samples[5], tokens: samples[5].tokens.map((t, j) => (j === 3 ? V + 4 : t)) };
    const oldLogProbs = samples.map(() => new Array<number>(T).fill(-1));
    const before = snapshot(m);
    await expectNoLeak("grpoStep", () =>
      expectError(() => grpoStep(m, null, samples, { learningRate: 0.05, minibatchSize: 2, oldLogProbs }), InvalidArgumentError, "samples[5].tokens[3]"));
    assertUnchanged(m, before, "grpoStep");
    m.dispose();
  });
}

test("PreparedTokenBatch.rows equals preparing those examples on their own, bit for bit", () => {
  const data = examples(7);
  const all = prepareTokenBatch({ tokens: data.map((e) => e.tokens), lossMask: data.map((e) => e.lossMask) }, V, 12);
  const pick = [6, 0, 3];
  const direct = prepareTokenBatch({ tokens: pick.map((i) => data[i].tokens), lossMask: pick.map((i) => data[i].lossMask) }, V, 12);
  const cut = all.rows(pick);
  assert.equal(Array.from(cut.tokens), Array.from(direct.tokens));
  assert.equal(Array.from(cut.lossMask), Array.from(direct.lossMask));
  assert.equal(Array.from(cut.predictionWeights), Array.from(direct.predictionWeights));
  assert.throws(() => all.rows([7]), (e: Error) => e instanceof InvalidArgumentError && e.message.includes("indices[0]"));
});

test("prepareTokenBatch names rows by the given first index or index list", async () => {
  const [badToken, , maskTwo] = corruptions(3, 1);
  const batch = (d: typeof badToken.data) => ({ tokens: d.map((e) => e.tokens), lossMask: d.map((e) => e.lossMask) });
  await expectError(() => prepareTokenBatch(batch(badToken.data), V, 12, 40), InvalidArgumentError, "tokens[41][3]");
  await expectError(() => prepareTokenBatch(batch(maskTwo.data), V, 12, [9, 17, 2]), InvalidArgumentError, "lossMask[17][7]");
});

test("the parallel probe and features name the caller's example (checked before any worker starts)", async () => {
  await useBackend("cpu");
  const m = model();
  // Two threads: examples 3 … 5 would go to the second worker, which would call the bad one 2.
  for (const c of corruptions(6, 5)) {
    await expectError(() => probeTrajectoriesParallel(m, c.data, { threads: 2 }), c.type, c.fragment);
  }
  attachLora(m, { rank: 2, seed: 2 });
  const projector = new RandomProjector({ inputDim: readLoraParameters(m).length, outputDim: 2, seed: 1 });
  for (const c of corruptions(6, 5)) {
    await expectError(() => gradientFeaturesParallel(m, c.data, { threads: 2, role: "target", projector }), c.type, c.fragment);
  }
  m.dispose();
});

test("trainAgentGrpo checks the whole task pool and the evaluation tasks before its first step", async () => {
  await useBackend("cpu");
  const env = createMiniShop();
  const tok = tokenizerFor(env);
  const m = new TinyTransformer({ vocabSize: tok.size, dModel: 8, nLayers: 1, nHeads: 2, dFF: 16, maxLen: 128, seed: 1 });
  const agent = new TransformerAgent(m, tok);
  const pool = env.generateTasks({ split: "train", count: 6, seed: 2 });
  const alien = { ...pool[0], env: "minialf" } as typeof pool[0];
  const options = { iterations: 4, tasksPerIteration: 2, groupSize: 2, learningRate: 0.05, seed: 5 };
  const before = snapshot(m);
  // The bad task is drawn only in a later iteration (or never, with 4 × 2 draws from a shuffled pool of 6 + 1).
  await expectError(() => trainAgentGrpo(env, agent, [...pool, alien], options), InvalidArgumentError, "taskPool[6]");
  await expectError(() => trainAgentGrpo(env, agent, pool, { ...options, evalTasks: [pool[0], alien] }), InvalidArgumentError, "options.evalTasks[1]");
  await expectError(() => trainAgentGrpo(env, agent, pool, { ...options, klBeta: -1 }), InvalidArgumentError, "options.klBeta");
  await expectError(() => trainAgentGrpo(env, agent, pool, { ...options, onIteration: 3 as never }), InvalidArgumentError, "options.onIteration");
  assertUnchanged(m, before, "trainAgentGrpo");
  m.dispose();
});

test.run();
