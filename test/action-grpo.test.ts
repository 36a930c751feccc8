// Action-level GRPO: the differentiable candidate-score matrix against the inference scorer, log π
// and its gradient against a full-rows oracle built from model.forward, one GRPO step's
// closed-form diagnostics and direction, the agent loop with objective "actions", bad input and
// tensor leaks.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { tf } from "../kernel-lib/tf";
import { AgentEnv, createMiniAlf, createMiniShop, expertPolicy, runEpisode, Task, tokenizerFor, Trajectory } from "../kernel-lib/envs";
import { TinyTransformer } from "../kernel-lib/models/transformer";
import { deserializeModel, serializeModel } from "../kernel-lib/models/io";
import { trainSft } from "../kernel-lib/train/sft";
import { tokenLogProbs } from "../kernel-lib/train/logprobs";
import { createReference } from "../kernel-lib/train/grpo";
import { candidateScoreMatrix } from "../kernel-lib/agents/prefix-scoring";
import { actionGrpoStep, actionLogProbs, ScoredDecision, trajectoryDecisions } from "../kernel-lib/agents/action-grpo";
import { episodeLogProbs, episodeQueries } from "../kernel-lib/agents/episode-scoring";
import { collectRollouts, scoreCandidates, softmaxWithTemperature, TransformerAgent, trainAgentGrpo } from "../kernel-lib/agents";
import { InvalidArgumentError, NonFiniteError, ShapeError, UnknownOptionError } from "../kernel-lib/errors";
import { TEST_BACKENDS, TestBackend, expectError, expectNoLeak, useBackend } from "./helpers";

const alf = createMiniAlf() as unknown as AgentEnv<Task>;
const shop = createMiniShop() as unknown as AgentEnv<Task>;

function tinyAgent(env: AgentEnv<Task>, seed: number, nKvHeads = 4): TransformerAgent {
  const tok = tokenizerFor(env);
  return new TransformerAgent(new TinyTransformer({ vocabSize: tok.size, dModel: 16, nLayers: 2, nHeads: 4, nKvHeads, dFF: 32, maxLen: 128, seed }), tok);
}

/** A little imitation, so sampled MiniShop episodes sometimes buy and group rewards differ. */
function imitate(agent: TransformerAgent): void {
  const demos = shop.generateTasks({ split: "train", count: 16, seed: 9 }).map((t) => agent.tokenizer.encodeTrajectory(runEpisode(shop, t, expertPolicy(t)), 128));
  trainSft(agent.model, demos, { epochs: 2, batchSize: 8, learningRate: 1e-2, seed: 1 });
}

const imitatedWeights = new Map<number, Buffer>();
/**
 * tinyAgent(shop, seed) after imitate(), on `backend`. The imitation (SFT, not under test here)
 * runs once per seed on wasm and the cpu tests start from the same weights: on the cpu backend
 * it alone costs ~20 s.
 */
async function imitatedAgent(seed: number, backend: TestBackend): Promise<TransformerAgent> {
  if (!imitatedWeights.has(seed)) {
    await useBackend("wasm");
    const agent = tinyAgent(shop, seed);
    imitate(agent);
    imitatedWeights.set(seed, serializeModel(agent.model));
    agent.model.dispose();
  }
  await useBackend(backend);
  return new TransformerAgent(deserializeModel(imitatedWeights.get(seed)!, `imitated agent ${seed}`) as TinyTransformer, tokenizerFor(shop));
}

/** The cpu backend runs these updates ~6× (rollouts ~15×) slower than wasm: it gets fewer episodes. */
const onCpu = <T>(backend: TestBackend, wasm: T, cpu: T): T => (backend === "cpu" ? cpu : wasm);

/** The decisions of a few expert episodes (early and late steps: short and long contexts). */
function expertDecisions(env: AgentEnv<Task>, agent: TransformerAgent, count: number, seed: number): ScoredDecision[] {
  const trajectories = env.generateTasks({ split: "seen", count, seed, conflictFraction: 0.5 }).map((t) => runEpisode(env, t, expertPolicy(t)));
  return trajectories.flatMap((tr) => trajectoryDecisions(agent, tr).map((d) => d.decision));
}

/** Oracle log π(chosen): each candidate row through model.forward (differentiable), softmax over candidates. */
function fullRowsLogPi(model: TinyTransformer, decisions: readonly ScoredDecision[], temperature: number): tf.Tensor1D {
  return tf.tidy(() => tf.stack(decisions.map((d) => {
    const rows = d.query.actions.map((a) => [...d.query.context, ...a]);
    const T = Math.max(...rows.map((r) => r.length));
    const padded = rows.map((r) => r.concat(new Array<number>(T - r.length).fill(0)));
    const mask = tf.tensor2d(rows.map((r) => Array.from({ length: T }, (_, t) => (t >= d.query.context.length && t < r.length ? 1 : 0))));
    const scores = tf.sum(tf.mul(tokenLogProbs(model, padded), mask), 1);
    return tf.sum(tf.mul(tf.logSoftmax(tf.div(scores, temperature)), tf.oneHot(d.chosen, rows.length).toFloat()));
  })) as tf.Tensor1D);
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] candidate score matrix = the inference scorer (padding, empty candidates, GQA)`, async () => {
    await useBackend(backend);
    for (const env of [alf, shop]) {
      const agent = tinyAgent(env, 3, env === alf ? 2 : 4);
      const decisions = expertDecisions(env, agent, 1, 4).filter((_, i) => i % 2 === 0).slice(0, 5);
      const queries = decisions.map((d) => d.query);
      queries[0] = { context: queries[0].context, actions: [...queries[0].actions, []] };
      const expected = scoreCandidates(agent.model, queries.map((q) => ({ context: q.context, candidates: q.actions }))).scores;
      const got = await expectNoLeak("candidateScoreMatrix", () => tf.tidy(() => {
        const m = candidateScoreMatrix(agent.model, queries);
        return { scores: m.scores.arraySync(), present: m.present.arraySync() };
      }));
      queries.forEach((q, i) => {
        assert.is(got.present[i].reduce((a, b) => a + b, 0), q.actions.length, `${env.name}: present marks query ${i}'s candidates`);
        q.actions.forEach((_, c) => assert.ok(Math.abs(got.scores[i][c] - expected[i][c]) < 1e-4, `${env.name} q${i} c${c}: ${got.scores[i][c]} vs ${expected[i][c]}`));
      });
      assert.is(got.scores[0][queries[0].actions.length - 1], 0, "an empty candidate scores 0");
      agent.model.dispose();
    }
  });
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] log π and its gradient equal the full-rows oracle; chunking changes nothing`, async () => {
    await useBackend(backend);
    const agent = tinyAgent(alf, 5, 2);
    const decisions = expertDecisions(alf, agent, 1, 7).slice(0, 4);
    const temperature = 0.7;
    const values = await expectNoLeak("actionLogProbs", () => [1, 256].map((rows) => {
      const r = actionLogProbs(agent.model, decisions, { temperature, maxRowsPerForward: rows });
      const v = Array.from(r.logProbs.dataSync());
      r.logProbs.dispose();
      return v;
    }));
    const scores = scoreCandidates(agent.model, decisions.map((d) => ({ context: d.query.context, candidates: d.query.actions }))).scores;
    decisions.forEach((d, i) => {
      const expected = Math.log(softmaxWithTemperature(scores[i], temperature)[d.chosen]);
      for (const v of values) assert.ok(Math.abs(v[i] - expected) < 1e-4, `step ${i}: ${v[i]} vs ${expected}`);
    });
    const variables = agent.model.trainableVariables();
    const gradients = (f: () => tf.Tensor1D) => {
      const { value, grads } = tf.variableGrads(() => tf.sum(f()) as tf.Scalar, variables);
      value.dispose();
      const out = variables.map((v) => Array.from(grads[v.name].dataSync()));
      Object.values(grads).forEach((g) => g.dispose());
      return out;
    };
    const fast = gradients(() => actionLogProbs(agent.model, decisions, { temperature, maxRowsPerForward: 7 }).logProbs);
    const oracle = gradients(() => fullRowsLogPi(agent.model, decisions, temperature));
    let worst = 0, scale = 0;
    fast.forEach((g, k) => g.forEach((x, j) => { worst = Math.max(worst, Math.abs(x - oracle[k][j])); scale = Math.max(scale, Math.abs(oracle[k][j])); }));
    assert.ok(scale > 1e-3, "the gradient is not trivially zero");
    assert.ok(worst < 1e-3 * scale, `max |Δ grad| ${worst} (largest entry ${scale})`);
    agent.model.dispose();
  });
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] episode-shared scoring = per-step log π, values and gradients (nested and truncated episodes)`, async () => {
    await useBackend(backend);
    // contextLength 40 forces history to be dropped in later steps: those start new shared contexts.
    for (const contextLength of [128, 40]) {
      const tok = tokenizerFor(alf);
      const agent = new TransformerAgent(new TinyTransformer({ vocabSize: tok.size, dModel: 16, nLayers: 2, nHeads: 4, nKvHeads: 2, dFF: 32, maxLen: 128, seed: 11 }), tok, { contextLength });
      const trajectories = alf.generateTasks({ split: "seen", count: 3, seed: 12, conflictFraction: 0.5 }).map((t) => runEpisode(alf, t, expertPolicy(t)));
      const perEpisode = trajectories.map((t) => trajectoryDecisions(agent, t).map((d) => d.decision));
      const grouped = perEpisode.map((list) => episodeQueries(list));
      const queryCount = grouped.reduce((n, e) => n + e.queries.length, 0);
      if (contextLength === 128) assert.is(queryCount, trajectories.length, "untruncated episodes: one shared context each");
      else assert.ok(queryCount > trajectories.length, `truncated episodes split into several shared contexts (${queryCount})`);
      const S = Math.max(...perEpisode.map((l) => l.length));
      const temperature = 0.8;
      const variables = agent.model.trainableVariables();
      const run = (f: () => tf.Tensor) => {
        const { value, grads } = tf.variableGrads(() => tf.sum(f()) as tf.Scalar, variables);
        const out = { value: value.dataSync()[0], grads: variables.map((v) => Array.from(grads[v.name].dataSync())) };
        value.dispose();
        Object.values(grads).forEach((g) => g.dispose());
        return out;
      };
      const shared = await expectNoLeak("episodeLogProbs", () => {
        const r = episodeLogProbs(agent.model, grouped, S, temperature);
        const values = r.logProbs.arraySync();
        r.logProbs.dispose();
        return values;
      });
      perEpisode.forEach((list, e) => {
        const r = actionLogProbs(agent.model, list, { temperature });
        const stepValues = r.logProbs.dataSync();
        r.logProbs.dispose();
        list.forEach((_, k) => assert.ok(Math.abs(shared[e][k] - stepValues[k]) < 1e-4, `context ${contextLength} episode ${e} step ${k}: ${shared[e][k]} vs ${stepValues[k]}`));
        for (let k = list.length; k < S; k++) assert.is(shared[e][k], 0, "empty slots hold 0");
      });
      const fast = run(() => episodeLogProbs(agent.model, grouped, S, temperature).logProbs);
      const slow = run(() => actionLogProbs(agent.model, perEpisode.flat(), { temperature }).logProbs);
      assert.ok(Math.abs(fast.value - slow.value) < 1e-3, `sum of log π: ${fast.value} vs ${slow.value}`);
      let worst = 0, scale = 0;
      fast.grads.forEach((g, i) => g.forEach((x, j) => { worst = Math.max(worst, Math.abs(x - slow.grads[i][j])); scale = Math.max(scale, Math.abs(slow.grads[i][j])); }));
      assert.ok(scale > 1e-3 && worst < 1e-3 * scale, `context ${contextLength}: max |Δ grad| ${worst} (largest entry ${scale})`);
      agent.model.dispose();
    }
  });
}

// wasm only: on the cpu backend this update costs 40–100 s (rollouts ~15×, the update ~6× slower),
// and its numeric parts — log π and its gradient against the full-rows oracle, episode-shared
// scoring, the candidate score matrix, the rollout's log-probs against re-scoring — run on both.
for (const backend of ["wasm"] as const) {
  test(`[${backend}] one action-level GRPO step: ratio 1 and KL 0 at the first update, moves π toward positive advantages, counts cost, no leaks`, async () => {
    const agent = await imitatedAgent(2, backend);
    const tasks = shop.generateTasks({ split: "train", count: 4, seed: 4 });
    const rollouts = collectRollouts(shop, tasks, agent, { groupSize: 6, seed: 3 });
    const trajectories = rollouts.trajectories as Trajectory[];
    const decisionsOf = (t: Trajectory) => trajectoryDecisions(agent, t).map((d) => d.decision);
    const meanLogPi = () => trajectories.map((t) => {
      const r = actionLogProbs(agent.model, decisionsOf(t));
      const v = r.logProbs.dataSync().reduce((a, b) => a + b, 0) / t.steps.length;
      r.logProbs.dispose();
      return v;
    });
    const before = meanLogPi();
    const reference = createReference(agent.model);
    // The optimizer is made and disposed inside: Adam's moment slots are its state, not a leak.
    const result = await expectNoLeak("actionGrpoStep", () => {
      const optimizer = tf.train.adam(1e-2);
      try { return actionGrpoStep(agent, reference, trajectories, rollouts.samples, { optimizer, klBeta: 0.04, ppoEpochs: 2, seed: 1 }); } finally { optimizer.dispose(); }
    });
    const first = result.updates[0];
    assert.ok(Math.abs(first.meanRatio - 1) < 1e-5 && first.clipFraction === 0, "the first update is on-policy: ρ = 1, nothing clipped");
    assert.ok(Math.abs(first.kl) < 1e-5, "the reference is the policy at the start: KL 0");
    assert.ok(Math.abs(first.policyLoss + 0) < 1e-5, "sequence-level mean of ρ·A over groups with zero-mean advantages is 0");
    assert.is(result.updates.length, 2, "one update per epoch (one minibatch)");
    assert.is(result.oldLogProbs, "rollout", "the rollout's recorded behaviour log-probs are reused");
    assert.ok(result.advantages.some((a) => a !== 0), "the groups carry a signal");
    const after = meanLogPi();
    const alignment = result.advantages.reduce((s, a, i) => s + a * (after[i] - before[i]), 0);
    assert.ok(alignment > 0, `π moved toward positive-advantage episodes (Σ A·Δ mean log π = ${alignment})`);
    assert.is(result.cost.optimizerSteps, 2);
    assert.ok(result.cost.forwardTokens > result.cost.backwardTokens && result.cost.backwardTokens > 0, "old/ref passes are forward only");
    const optimizer = tf.train.adam(1e-2);
    await expectError(() => actionGrpoStep(agent, reference, trajectories.slice(1), rollouts.samples, { optimizer }), ShapeError, "samples");
    await expectError(() => actionGrpoStep(agent, reference, trajectories, rollouts.samples, { optimizer: {} as never }), InvalidArgumentError, "options.optimizer");
    await expectError(() => actionGrpoStep(agent, reference, trajectories, rollouts.samples, { optimizer, epochs: 2 } as never), UnknownOptionError, "options.epochs");
    await expectError(() => actionLogProbs(agent.model, [{ ...decisionsOf(trajectories[0])[0], chosen: 99 }]), InvalidArgumentError, "decisions[0].chosen");
    optimizer.dispose();
    reference.dispose();
    agent.model.dispose();
  });
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] the rollout's behaviour log-probs equal a re-scoring pass: same update either way`, async () => {
    const agent = await imitatedAgent(6, backend);
    const rollouts = collectRollouts(shop, shop.generateTasks({ split: "train", count: onCpu(backend, 3, 2), seed: 8 }), agent, { groupSize: onCpu(backend, 4, 2), seed: 5, temperature: 0.9 });
    const trajectories = rollouts.trajectories as Trajectory[];
    assert.ok(rollouts.samples.every((s) => s.behaviourTemperature === 0.9 && s.behaviourLogProbs?.length === trajectories[rollouts.samples.indexOf(s)].steps.length), "every step's log π is recorded");
    const stripped = rollouts.samples.map(({ behaviourLogProbs: _l, behaviourTemperature: _t, ...rest }) => rest);
    const start = agent.model.namedWeights().map((w) => w.variable.clone());
    const step = (samples: typeof rollouts.samples, temperature: number) => {
      agent.model.namedWeights().forEach((w, i) => w.variable.assign(start[i]));
      const optimizer = tf.train.sgd(0.1);
      try {
        return actionGrpoStep(agent, null, trajectories, samples, { optimizer, temperature, ppoEpochs: 2, seed: 3 });
      } finally { optimizer.dispose(); }
    };
    const reused = step(rollouts.samples, 0.9), rescored = step(stripped, 0.9), otherTemperature = step(rollouts.samples, 1);
    assert.is(reused.oldLogProbs, "rollout");
    assert.is(rescored.oldLogProbs, "rescored");
    assert.is(otherTemperature.oldLogProbs, "rescored", "log-probs recorded at another temperature are not reused");
    reused.updates.forEach((u, k) => {
      assert.ok(Math.abs(u.meanRatio - rescored.updates[k].meanRatio) < 1e-5 && Math.abs(u.policyLoss - rescored.updates[k].policyLoss) < 1e-5, `update ${k}: ${JSON.stringify(u)} vs ${JSON.stringify(rescored.updates[k])}`);
    });
    assert.ok(reused.cost.forwardTokens < rescored.cost.forwardTokens, "reusing skips a scoring pass");
    start.forEach((t) => t.dispose());
    agent.model.dispose();
  });
}

// wasm only: on the cpu backend this update costs 40–100 s (rollouts ~15×, the update ~6× slower),
// and its numeric parts — log π and its gradient against the full-rows oracle, episode-shared
// scoring, the candidate score matrix, the rollout's log-probs against re-scoring — run on both.
for (const backend of ["wasm"] as const) {
  test(`[${backend}] passes of a minibatch sum to the same update as one pass (both aggregations); a NaN never reaches the weights`, async () => {
    const agent = await imitatedAgent(8, backend);
    const rollouts = collectRollouts(shop, shop.generateTasks({ split: "train", count: 3, seed: 5 }), agent, { groupSize: 4, seed: 2 });
    const trajectories = rollouts.trajectories as Trajectory[];
    const start = agent.model.namedWeights().map((w) => w.variable.clone());
    const restore = () => agent.model.namedWeights().forEach((w, i) => w.variable.assign(start[i]));
    for (const aggregation of ["sequenceLevel", "tokenLevel"] as const) {
      const after = [1, 5, 64].map((episodesPerPass) => {
        restore();
        const optimizer = tf.train.sgd(0.5);
        const r = actionGrpoStep(agent, null, trajectories, rollouts.samples, { optimizer, aggregation, episodesPerPass, seed: 1 });
        optimizer.dispose();
        return { weights: agent.model.namedWeights().map((w) => Array.from(w.variable.dataSync())), loss: r.loss };
      });
      let worst = 0, moved = 0;
      after[0].weights.forEach((w, k) => w.forEach((x, j) => {
        for (const other of after.slice(1)) worst = Math.max(worst, Math.abs(x - other.weights[k][j]));
        moved = Math.max(moved, Math.abs(x - start[k].dataSync()[j]));
      }));
      assert.ok(moved > 1e-4, `${aggregation}: the step moved the weights (${moved})`);
      assert.ok(worst < 1e-5 + 1e-3 * moved, `${aggregation}: 1, 5 and 64 episodes per pass give the same step (max |Δ| ${worst}, step ${moved})`);
      for (const other of after.slice(1)) assert.ok(Math.abs(other.loss - after[0].loss) < 1e-5, `${aggregation}: same loss`);
    }
    restore();
      const optimizer = tf.train.sgd(1e30);
    const before = agent.model.namedWeights().map((w) => Array.from(w.variable.dataSync()));
    // A huge step blows the weights up; the next epoch's loss is non-finite and must stop there.
    await expectError(() => actionGrpoStep(agent, null, trajectories, rollouts.samples, { optimizer, ppoEpochs: 3, episodesPerPass: 2 }), NonFiniteError, "action-level GRPO loss");
    assert.ok(agent.model.namedWeights().every((w) => Array.from(w.variable.dataSync()).every(Number.isFinite)), "no NaN/Inf was written into the weights");
    assert.ok(agent.model.namedWeights().some((w, k) => Array.from(w.variable.dataSync()).some((x, j) => x !== before[k][j])), "the first (finite) step did happen");
    optimizer.dispose();
    start.forEach((t) => t.dispose());
    agent.model.dispose();
  });
}

// wasm only: on the cpu backend this update costs 40–100 s (rollouts ~15×, the update ~6× slower),
// and its numeric parts — log π and its gradient against the full-rows oracle, episode-shared
// scoring, the candidate score matrix, the rollout's log-probs against re-scoring — run on both.
for (const backend of ["wasm"] as const) {
  test(`[${backend}] agent GRPO with objective \"actions\": loop runs, counts, rejects unknown objectives`, async () => {
    const agent = await imitatedAgent(6, backend);
    const pool = shop.generateTasks({ split: "train", count: 4, seed: 2 });
    const result = await expectNoLeak("trainAgentGrpo actions", () =>
      trainAgentGrpo(shop, agent, pool, { iterations: 2, tasksPerIteration: 2, groupSize: 3, learningRate: 1e-2, seed: 5, objective: "actions", minibatchSize: 4 }));
    const updates = result.curve.filter((p) => p.loss !== null).length;
    assert.ok(updates >= 1);
    assert.is(result.cost.optimizerSteps, updates * 2, "6 episodes in minibatches of 4 = 2 optimizer steps per update");
    await expectError(() => trainAgentGrpo(shop, agent, pool, { iterations: 1, tasksPerIteration: 1, groupSize: 2, learningRate: 1e-3, seed: 1, objective: "sequence" as never }), UnknownOptionError, "options.objective");
    agent.model.dispose();
  });
}

test.run();
