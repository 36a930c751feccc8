import { test } from "uvu";
import * as assert from "uvu/assert";
import { createMiniShop, tokenizerFor, runEpisode, expertPolicy } from "../kernel-lib/envs";
import { tf } from "../kernel-lib/tf";
import { trainSft } from "../kernel-lib/train/sft";
import { TinyTransformer } from "../kernel-lib/models/transformer";
import { TransformerAgent } from "../kernel-lib/agents/policy";
import { evaluationSet } from "../kernel-lib/agents/evaluate";
import { trainAgentGrpo } from "../kernel-lib/agents/train-grpo";
import { EmptyInputError, InvalidArgumentError, UnknownOptionError } from "../kernel-lib/errors";
import { TEST_BACKENDS, useBackend, expectNoLeak, expectError } from "./helpers";

for (const backend of TEST_BACKENDS) test(`[${backend}] agent GRPO loop: curve, costs, evaluation points, parameters move, no tensor leaks`, async () => {
  await useBackend(backend);
  const env = createMiniShop();
  const tok = tokenizerFor(env);
  const model = new TinyTransformer({ vocabSize: tok.size, dModel: 16, nLayers: 1, nHeads: 2, dFF: 32, maxLen: 128, seed: 1 });
  // A little imitation first, so sampled episodes sometimes buy and group rewards differ.
  const demos = env.generateTasks({ split: "train", count: 32, seed: 9 }).map((t) => tok.encodeTrajectory(runEpisode(env, t, expertPolicy(t)), 128));
  trainSft(model, demos, { epochs: 3, batchSize: 8, learningRate: 1e-2, seed: 1 });
  const agent = new TransformerAgent(model, tok);
  const pool = env.generateTasks({ split: "train", count: 6, seed: 2, conflictFraction: 0.5 });
  const evalTasks = evaluationSet(env, "seen", 4, 3);
  const before = Array.from(model.trainableVariables()[0].dataSync());
  const result = await expectNoLeak("trainAgentGrpo", () =>
    trainAgentGrpo(env, agent, pool, { iterations: 3, tasksPerIteration: 2, groupSize: 4, learningRate: 1e-2, seed: 5, klBeta: 0.01, evalTasks, evalEvery: 2 }));
  assert.is(result.curve.length, 3);
  assert.equal(result.curve.map((p) => p.evalSuccess !== undefined), [false, true, true], "evaluated every 2 iterations and at the end");
  assert.ok(result.cost.envSteps > 0 && result.cost.forwardTokens > 0, "rollouts and evaluation are counted");
  const updates = result.curve.filter((p) => p.loss !== null).length;
  assert.is(result.cost.optimizerSteps, updates, "one optimizer step per iteration with a learning signal");
  // MiniShop scores are graded (0–100), so random-ish rollouts nearly always differ within a group.
  assert.ok(updates >= 1, "at least one iteration had a signal");
  const after = Array.from(model.trainableVariables()[0].dataSync());
  assert.ok(after.some((v, i) => v !== before[i]), "the policy's parameters changed");
  model.dispose();
});

// One backend: every check here fails before any tensor is computed (argument validation), so the
// backend cannot change the outcome.
test("agent GRPO loop rejects bad options", async () => {
  await useBackend("cpu");
  const env = createMiniShop();
  const tok = tokenizerFor(env);
  const model = new TinyTransformer({ vocabSize: tok.size, dModel: 8, nLayers: 1, nHeads: 2, dFF: 8, maxLen: 128, seed: 1 });
  const agent = new TransformerAgent(model, tok);
  const pool = env.generateTasks({ split: "train", count: 2, seed: 2 });
  const base = { iterations: 1, tasksPerIteration: 1, groupSize: 2, learningRate: 1e-3, seed: 1 };
  await expectError(() => trainAgentGrpo(env, agent, [], base), EmptyInputError, "taskPool");
  await expectError(() => trainAgentGrpo(env, agent, pool, { ...base, groupSize: 0 }), InvalidArgumentError, "options.groupSize");
  await expectError(() => trainAgentGrpo(env, agent, pool, { ...base, evalEvery: -1 }), InvalidArgumentError, "options.evalEvery");
  await expectError(() => trainAgentGrpo(env, agent, pool, { ...base, iters: 3 } as never), UnknownOptionError, "options.iters");
  model.dispose();
});

for (const backend of TEST_BACKENDS) test(`[${backend}] caller-owned optimizer: two SFT calls sharing one Adam equal one two-epoch call; GRPO leaves a caller's optimizer and reference alive`, async () => {
  await useBackend(backend);
  const env = createMiniShop();
  const tok = tokenizerFor(env);
  const config = { vocabSize: tok.size, dModel: 8, nLayers: 1, nHeads: 2, dFF: 16, maxLen: 128, seed: 3 };
  const demos = env.generateTasks({ split: "train", count: 4, seed: 4 }).map((t) => tok.encodeTrajectory(runEpisode(env, t, expertPolicy(t)), 128));
  const weights = (m: TinyTransformer) => m.trainableVariables().flatMap((v) => Array.from(v.dataSync()));
  // One batch holds every demo, so the shuffle order cannot differ between the runs.
  const sft = { batchSize: 8, learningRate: 1e-2, seed: 1 };
  const once = new TinyTransformer(config);
  trainSft(once, demos, { ...sft, epochs: 2 });
  const shared = new TinyTransformer(config);
  const adam = tf.train.adam(1e-2);
  trainSft(shared, demos, { ...sft, epochs: 1, optimizer: adam }); // creates Adam's moments (the optimizer's, not a leak)
  await expectNoLeak("trainSft with a caller's optimizer", () => { trainSft(shared, demos, { ...sft, epochs: 1, optimizer: adam }); });
  const fresh = new TinyTransformer(config);
  trainSft(fresh, demos, { ...sft, epochs: 1 });
  trainSft(fresh, demos, { ...sft, epochs: 1 });
  // Equal up to float summation order (the one batch's rows may come shuffled differently).
  const gap = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));
  assert.ok(gap(weights(shared), weights(once)) < 1e-6, `Adam's moments carried across the calls: the same as one uninterrupted run (gap ${gap(weights(shared), weights(once))})`);
  assert.ok(gap(weights(fresh), weights(once)) > 1e-3, `a fresh Adam per call is a different run, so the oracle can fail (gap ${gap(weights(fresh), weights(once))})`);
  await expectError(() => trainSft(shared, demos, { ...sft, epochs: 1, optimizer: {} as never }), InvalidArgumentError, "options.optimizer");

  const agent = new TransformerAgent(shared, tok);
  const reference = new TinyTransformer(config);
  const pool = env.generateTasks({ split: "train", count: 2, seed: 2 });
  await expectNoLeak("trainAgentGrpo with a caller's optimizer and reference", () => {
    trainAgentGrpo(env, agent, pool, { iterations: 2, tasksPerIteration: 1, groupSize: 4, learningRate: 1e-2, seed: 1, objective: "actions", optimizer: adam, reference });
  }, { alive: Object.fromEntries(reference.trainableVariables().map((v, i) => [`reference variable ${i}`, v])) });
  assert.ok(!reference.trainableVariables()[0].isDisposed, "the caller's reference is not disposed");
  trainSft(shared, demos, { ...sft, epochs: 1, optimizer: adam }); // the caller's optimizer still works
  await expectError(() => trainAgentGrpo(env, agent, pool, { iterations: 1, tasksPerIteration: 1, groupSize: 2, learningRate: 1e-2, seed: 1, reference: {} as never }), InvalidArgumentError, "options.reference");
  adam.dispose();
  for (const m of [once, shared, fresh, reference]) m.dispose();
});

test.run();
