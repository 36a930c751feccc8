import { test } from "uvu";
import * as assert from "uvu/assert";
import { createMiniShop, tokenizerFor, runEpisode, expertPolicy } from "../kernel-lib/envs";
import { trainSft } from "../kernel-lib/train/sft";
import { TinyTransformer } from "../kernel-lib/models/transformer";
import { TransformerAgent } from "../kernel-lib/agents/policy";
import { evaluationSet } from "../kernel-lib/agents/evaluate";
import { trainAgentGrpo } from "../kernel-lib/agents/train-grpo";
import { EmptyInputError, InvalidArgumentError, UnknownOptionError } from "../kernel-lib/errors";
import { useBackend, expectNoLeak, expectError } from "./helpers";

test("agent GRPO loop: curve, costs, evaluation points, parameters move, no tensor leaks", async () => {
  await useBackend("wasm");
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

test.run();
