// Agents: batched candidate scoring (two strategies vs a one-row loop), greedy/sampled acting,
// lockstep episodes vs one-by-one, the evaluation harness, GRPO rollouts, saving/loading, the
// CLI, and a short SFT that must beat the random agent. Numeric parts run on cpu and wasm; the
// SFT runs on wasm only (it is ~30× slower on cpu and tests nothing backend-specific beyond the
// numeric tests).
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { tf } from "../kernel-lib/tf";
import { EmptyInputError, FileFormatError, InvalidArgumentError, UnknownOptionError } from "../kernel-lib/errors";
import { AgentEnv, createMiniAlf, createMiniShop, runEpisode, Task, tokenizerFor, Tokenizer, Trajectory } from "../kernel-lib/envs";
import { TinyTransformer } from "../kernel-lib/models/transformer";
import { attachLora } from "../kernel-lib/models/lora";
import { saveModel } from "../kernel-lib/models/io";
import { trainSft } from "../kernel-lib/train/sft";
import { Rng } from "../kernel-lib/random";
import {
  agentPolicy, argmax, CandidateQuery, collectRollouts, discountedReturns, evaluateAgent, EvaluationResult, evaluationSet, expertAgent,
  loadAgent, perFamilyRows, randomAgent, runEpisodesBatched, saveAgent, scoreCandidates, softmaxWithTemperature, stepStateKey, summariseSeeds,
  TransformerAgent,
} from "../kernel-lib/agents";
import { TEST_BACKENDS, expectError, expectNoLeak, useBackend } from "./helpers";

const ROOT = path.resolve(__dirname, "..");
const alf = createMiniAlf() as unknown as AgentEnv<Task>;
const shop = createMiniShop() as unknown as AgentEnv<Task>;
const ENVS = [alf, shop];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gradlab-agents-"));

function tinyModel(tok: Tokenizer, seed: number, options: { nKvHeads?: number; dModel?: number; nLayers?: number; maxLen?: number } = {}): TinyTransformer {
  const d = options.dModel ?? 16;
  return new TinyTransformer({ vocabSize: tok.size, dModel: d, nLayers: options.nLayers ?? 2, nHeads: 4, nKvHeads: options.nKvHeads ?? 4, dFF: 2 * d, maxLen: options.maxLen ?? 128, seed });
}

/** Every step of a few expert episodes, as the agent would see it. */
function expertSteps(env: AgentEnv<Task>, count: number, seed: number) {
  const trajectories = env.generateTasks({ split: "seen", count, seed, conflictFraction: 0.5 }).map((t) => runEpisode(env, t, agentPolicy(expertAgent(), t, { mode: "greedy", seed: 0 })));
  return trajectories.flatMap((t) => t.steps.map((s, i) => ({ task: t.task, observation: s.observation, admissible: s.admissible, history: t.steps.slice(0, i) })));
}

/** The oracle: one candidate at a time through model.forward, log-softmax in float64 here. */
function slowScores(model: TinyTransformer, query: CandidateQuery): number[] {
  return query.candidates.map((c) => {
    if (c.length === 0) return 0;
    const row = [...query.context, ...c];
    const logits = model.forward([row]);
    const values = logits.arraySync()[0];
    logits.dispose();
    let sum = 0;
    for (let p = query.context.length - 1; p < row.length - 1; p++) {
      const l = values[p], m = Math.max(...l);
      sum += l[row[p + 1]] - (m + Math.log(l.reduce((acc, x) => acc + Math.exp(x - m), 0)));
    }
    return sum;
  });
}

function maxAbsDiff(a: number[][], b: number[][]): number {
  let worst = 0;
  a.forEach((row, i) => row.forEach((x, j) => { worst = Math.max(worst, Math.abs(x - b[i][j])); }));
  return worst;
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] batched scoring (shared-prefix and full-rows, any chunking, GQA, LoRA) equals the one-row loop`, async () => {
    await useBackend(backend);
    for (const env of ENVS) {
      const tok = tokenizerFor(env);
      const model = tinyModel(tok, 3, { nKvHeads: env === alf ? 2 : 4 });
      const agent = new TransformerAgent(model, tok);
      // Steps from early and late in episodes (short and long contexts), kept few: cpu is slow.
      const steps = expertSteps(env, 2, 5).filter((_, i) => i % 2 === 0).slice(0, 8);
      const queries = steps.map((s) => agent.query(s));
      queries[0] = { context: queries[0].context, candidates: [...queries[0].candidates, []] }; // an empty candidate scores 0
      const oracle = queries.slice(0, 4).map((q) => slowScores(model, q));
      const byStrategy: Record<string, ReturnType<typeof scoreCandidates>> = {};
      for (const strategy of ["shared-prefix", "full-rows"] as const) {
        for (const maxRowsPerForward of strategy === "full-rows" ? [256, 5] : [256, 7, 1]) {
          const got = await expectNoLeak(`${strategy} scoring`, () => scoreCandidates(model, queries, { strategy, maxRowsPerForward }));
          const diff = maxAbsDiff(got.scores.slice(0, 4), oracle);
          assert.ok(diff < 1e-4, `${env.name} ${strategy} rows ${maxRowsPerForward}: max |Δ log p| ${diff}`);
          assert.is(got.scores[0][got.scores[0].length - 1], 0);
          assert.ok(got.forwardTokens > 0 && got.forwardPasses >= 1);
          byStrategy[strategy] ??= got;
        }
      }
      const fast = byStrategy["shared-prefix"], full = byStrategy["full-rows"];
      assert.ok(maxAbsDiff(fast.scores, full.scores) < 1e-4, "the strategies agree on every step");
      assert.ok(fast.forwardTokens < full.forwardTokens / 3, `shared prefix runs far fewer positions (${fast.forwardTokens} vs ${full.forwardTokens})`);
      // LoRA adapters with non-zero B change the function; the shared-prefix path must follow them.
      const adapters = attachLora(model, { rank: 2, seed: 1, targets: ["q", "v", "down"] });
      const rng = new Rng(9);
      for (const { variable } of adapters.named()) tf.tidy(() => variable.assign(tf.tensor(Array.from({ length: variable.size }, () => 0.3 * rng.normal()), variable.shape)));
      const loraQueries = [queries[1], queries[queries.length - 1]];
      const withLora = scoreCandidates(model, loraQueries);
      assert.ok(maxAbsDiff(withLora.scores, loraQueries.map((q) => slowScores(model, q))) < 1e-4, `${env.name}: LoRA shared-prefix matches the loop`);
      assert.ok(maxAbsDiff(withLora.scores, [fast.scores[1], fast.scores[queries.length - 1]]) > 1e-3, "LoRA did change the scores");
      model.dispose();
    }
  });

  test(`[${backend}] greedy = argmax; sampling is reproducible and follows softmax(score / temperature)`, async () => {
    await useBackend(backend);
    const tok = tokenizerFor(shop);
    const model = tinyModel(tok, 4);
    const agent = new TransformerAgent(model, tok);
    const steps = expertSteps(shop, 2, 1);
    const views = steps.map((s, i) => ({ ...s, episodeIndex: i, stepIndex: s.history.length }));
    const { scores } = agent.scoreSteps(views);
    const greedy = await expectNoLeak("act", () => agent.act(views, { mode: "greedy", seed: 0 }));
    assert.equal(greedy.actions, views.map((v, i) => v.admissible[argmax(scores[i])]));
    const a = agent.act(views, { mode: "sample", seed: 5 }).actions, b = agent.act(views, { mode: "sample", seed: 5 }).actions;
    assert.equal(a, b, "same seed, same draws");

    // Many draws at the first step (search page, 5 categories): episode index i gives draw i.
    const first = views[0];
    // The closed form, from the one-row oracle's log-likelihoods s (not from the library's scores
    // or its softmax): π_T(i) = exp(s_i/T) / Σ_j exp(s_j/T) = 1 / Σ_j exp((s_j − s_i)/T).
    const s = slowScores(model, agent.query(first));
    const closedForm = (T: number) => s.map((si) => 1 / s.reduce((acc, sj) => acc + Math.exp((sj - si) / T), 0));
    for (const T of [0.5, 1, 8]) {
      const p = agent.actionProbabilities(first, T);
      p.forEach((pi, i) => assert.ok(Math.abs(pi - closedForm(T)[i]) < 1e-6, `T = ${T}, action ${i}: π ${pi} vs closed form ${closedForm(T)[i]}`));
      // Temperature divides the log-odds: log π(i)/π(j) = (s_i − s_j)/T.
      assert.ok(Math.abs(Math.log(p[1] / p[0]) - (s[1] - s[0]) / T) < 1e-4, `T = ${T}: log-odds ${Math.log(p[1] / p[0])} vs (s₁ − s₀)/T = ${(s[1] - s[0]) / T}`);
    }
    assert.ok(Math.max(...s) - Math.min(...s) > 0.05, "the candidates' scores differ, so temperature matters");
    const temperature = 8;
    const probs = closedForm(temperature);
    const n = backend === "cpu" ? 300 : 1000; // the cpu backend is ~30× slower
    const expected = probs.map((p) => p * n);
    assert.ok(Math.min(...expected) >= 5, `every category expects ≥ 5 draws (${expected.map((e) => e.toFixed(0))})`);
    const draws = agent.act(Array.from({ length: n }, (_, i) => ({ ...first, episodeIndex: i })), { mode: "sample", seed: 11, temperature }).actions;
    const counts = first.admissible.map((action) => draws.filter((d) => d === action).length);
    const chi2 = counts.reduce((s, c, i) => s + (c - expected[i]) ** 2 / expected[i], 0);
    // df = 4: P(χ² > 18.47) = 0.001. The draws are a fixed function of the seed, so this is deterministic.
    assert.ok(chi2 < 18.47, `χ² = ${chi2.toFixed(2)} for counts ${counts} vs expected ${expected.map((e) => e.toFixed(1))}`);
    const otherSeed = agent.act(Array.from({ length: 50 }, (_, i) => ({ ...first, episodeIndex: i })), { mode: "sample", seed: 12, temperature }).actions;
    assert.not.equal(otherSeed, draws.slice(0, 50), "another seed draws differently");
    model.dispose();
  });

  test(`[${backend}] runEpisodesBatched = the same episodes one by one (greedy and sampled); no leaks`, async () => {
    await useBackend(backend);
    // Short horizons: an untrained policy rarely finishes, and full 30-step episodes are slow on cpu.
    for (const env of [createMiniAlf({ horizon: 8 }), createMiniShop({ horizon: 6 })] as unknown as Array<AgentEnv<Task>>) {
      const tok = tokenizerFor(env);
      const model = tinyModel(tok, 6);
      const agent = new TransformerAgent(model, tok);
      const tasks = env.generateTasks({ split: "seen", count: 4, seed: 2, conflictFraction: 0.5 });
      for (const mode of ["greedy", "sample"] as const) {
        const batched = await expectNoLeak("runEpisodesBatched", () => runEpisodesBatched(env, tasks, agent, { mode, seed: 3 }));
        const counters = { forwardTokens: 0, forwardPasses: 0 };
        const one = tasks.map((t, i) => runEpisode(env, t, agentPolicy(agent, t, { mode, seed: 3, episodeIndex: i }, counters)));
        assert.equal(batched.trajectories, one, `${env.name} ${mode}`);
        assert.is(batched.cost.envSteps, one.reduce((s, t) => s + t.stepCount, 0));
        assert.is(batched.rounds, Math.max(...one.map((t) => t.stepCount)));
        assert.ok(batched.cost.forwardTokens > 0 && counters.forwardTokens > 0);
      }
      model.dispose();
    }
  });
}

test("evaluation sets are fixed per (split, seed); the expert scores 100%, the random agent about 0", () => {
  for (const env of ENVS) {
    const seen = evaluationSet(env, "seen", 48, 0);
    assert.equal(seen, evaluationSet(env, "seen", 48, 0), "same seed, same tasks");
    assert.not.equal(seen.map((t) => t.world), evaluationSet(env, "seen", 48, 1).map((t) => t.world));
    assert.ok(seen.every((t) => t.split === "seen"));
    assert.is(seen.filter((t) => t.conflict).length, 24, "half planted conflicts by default");
    assert.is(evaluationSet(env, "seen", 48, 0, { conflictFraction: 0 }).filter((t) => t.conflict).length, 0);
    const train = env.generateTasks({ split: "train", count: 48, seed: 0, conflictFraction: 0.5 });
    assert.not.equal(evaluationSet(env, "train", 48, 0).map((t) => t.world), train.map((t) => t.world), "evaluation tasks differ from training tasks of the same seed");
    for (const split of ["seen", "unseen"]) {
      const tasks = evaluationSet(env, split, 48, 0);
      const expert = evaluateAgent(env, expertAgent(), tasks);
      assert.is(expert.successRate, 1, `${env.name} ${split}: expert`);
      assert.is(expert.meanScore, 100);
      assert.is(expert.split, split);
      assert.is(expert.episodes, 48);
      assert.is(expert.regular.n + expert.conflict.n, 48);
      assert.is(Object.values(expert.perFamily).reduce((s, r) => s + r.n, 0), 48);
      assert.ok(Object.values(expert.perFamily).every((r) => r.successRate === 1));
      assert.is(expert.forwardTokens, 0);
      assert.is(expert.cost.phase, "evaluate");
      assert.is(expert.envSteps, expert.cost.envSteps);
      const random = evaluateAgent(env, randomAgent(1), tasks);
      assert.ok(random.successRate <= 0.1, `${env.name} ${split}: random agent success ${random.successRate}`);
      assert.ok(random.meanScore < 30, `${env.name}: random agent score ${random.meanScore}`);
      assert.equal(evaluateAgent(env, randomAgent(1), tasks).successRate, random.successRate, "reproducible");
      const rows = perFamilyRows(expert);
      assert.is(rows[rows.length - 1].family, "all");
      assert.is(rows.length, Object.keys(expert.perFamily).length + 1);
    }
  }
});

test("admissible actions are prefix-free token sequences (scoring without an end marker is a fair comparison)", () => {
  for (const env of ENVS) {
    const tok = tokenizerFor(env);
    const tasks = env.generateTasks({ split: "train", count: 24, seed: 4, conflictFraction: 0.5 });
    const trajectories = [...runEpisodesBatched(env, tasks, expertAgent(), { mode: "greedy", seed: 0 }).trajectories, ...runEpisodesBatched(env, tasks, randomAgent(2), { mode: "greedy", seed: 0 }).trajectories];
    for (const step of trajectories.flatMap((t) => t.steps)) {
      const seqs = step.admissible.map((a) => tok.encodeAction(a).join(" ") + " ");
      seqs.forEach((a, i) => seqs.forEach((b, j) => assert.ok(i === j || !b.startsWith(a), `${env.name}: "${step.admissible[i]}" is a prefix of "${step.admissible[j]}"`)));
    }
  }
});

test("summariseSeeds: mean and sample std per metric (closed form)", () => {
  const base = evaluateAgent(alf, expertAgent(), evaluationSet(alf, "seen", 12, 0));
  const withRate = (successRate: number, pick: number): EvaluationResult => ({ ...base, successRate, perFamily: { ...base.perFamily, pick: { ...base.perFamily.pick, successRate: pick } } });
  const rows = summariseSeeds([withRate(0.5, 0), withRate(0.7, 1), withRate(0.9, 0.5)]);
  const row = (metric: string) => rows.find((r) => r.metric === metric)!;
  assert.ok(Math.abs(row("successRate").mean - 0.7) < 1e-12);
  assert.ok(Math.abs(row("successRate").std - 0.2) < 1e-12);
  assert.is(row("successRate").n, 3);
  assert.is(row("successRate").min, 0.5);
  assert.ok(Math.abs(row("perFamily.pick.successRate").std - 0.5) < 1e-12);
  assert.is(row("meanScore").std, 0);
  assert.is(summariseSeeds([base]).find((r) => r.metric === "successRate")!.std, 0, "one seed: std 0");
});

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] rollouts: GRPO samples with mask = action tokens, step structure and discounted returns`, async () => {
    await useBackend(backend);
    const gamma = 0.9;
    // The cpu backend is ~30× slower at sampling untrained 30-step episodes: shorter horizons and fewer tasks there.
    const envs = backend === "cpu" ? [createMiniAlf({ horizon: 6 }), createMiniShop({ horizon: 6 })] as unknown as Array<AgentEnv<Task>> : ENVS;
    for (const env of envs) {
      const tok = tokenizerFor(env);
      const model = tinyModel(tok, 8);
      const agent = new TransformerAgent(model, tok);
      const tasks = env.generateTasks({ split: "train", count: backend === "cpu" ? 2 : 4, seed: 9, conflictFraction: 0.5 });
      const G = 3;
      const out = await expectNoLeak("collectRollouts", () => collectRollouts(env, tasks, agent, { groupSize: G, seed: 4, gamma }));
      const again = collectRollouts(env, tasks, agent, { groupSize: G, seed: 4, gamma });
      assert.equal([out.samples, out.stats], [again.samples, again.stats], "a pure function of the seed");
      assert.is(out.samples.length, tasks.length * G);
      out.samples.forEach((s, i) => {
        const t: Trajectory = out.trajectories[i];
        assert.is(s.groupId, tasks[Math.floor(i / G)].id);
        assert.is(t.task.id, s.groupId);
        assert.is(s.reward, t.score / 100);
        const encoded = tok.encodeTrajectory(t, agent.contextLength);
        assert.equal(s.tokens, encoded.tokens);
        assert.equal(s.actionMask, encoded.lossMask);
        assert.is(s.tokens.length, agent.contextLength);
        s.actionMask.forEach((m, k) => assert.is(m === 1, s.tokenStep![k] >= 0, `mask and tokenStep agree at ${k}`));
        const steps = new Set(s.tokenStep!.filter((x) => x >= 0));
        for (const step of steps) {
          assert.ok(step >= 0 && step < t.stepCount);
          const ids = s.tokens.filter((_, k) => s.tokenStep![k] === step);
          assert.equal(ids, tok.encodeAction(t.steps[step].action), "the step's tokens are its action");
        }
        assert.is(s.stepStateKeys!.length, t.stepCount);
        t.steps.forEach((st, k) => assert.is(s.stepStateKeys![k], stepStateKey(st.observation, st.admissible)));
        assert.is(s.stepReturns!.length, t.stepCount);
        s.stepReturns!.forEach((r, k) => assert.ok(Math.abs(r - s.reward * gamma ** (t.stepCount - 1 - k)) < 1e-12));
      });
      const n = out.samples.length;
      assert.is(out.stats.episodes, n);
      assert.is(out.stats.envSteps, out.trajectories.reduce((a, t) => a + t.stepCount, 0));
      assert.is(out.stats.successRate, out.trajectories.filter((t) => t.success).length / n);
      assert.is(out.cost.envSteps, out.stats.envSteps);
      assert.is(out.cost.phase, "rollout");
      assert.ok(out.cost.forwardTokens > 0);
      const groupsWithSignal = tasks.filter((_, g) => new Set(out.samples.slice(g * G, (g + 1) * G).map((s) => s.reward)).size > 1).length;
      assert.is(out.stats.groupsWithSignal, groupsWithSignal);
      assert.is(out.stats.groups, tasks.length);
      model.dispose();
    }
    // Expert rollouts: success reward, an explicit context length and tokenizer.
    const shopTasks = shop.generateTasks({ split: "train", count: 3, seed: 1 });
    const expert = collectRollouts(shop, shopTasks, expertAgent(), { groupSize: 2, seed: 0, reward: "success", contextLength: 128, tokenizer: tokenizerFor(shop) });
    assert.ok(expert.samples.every((s) => s.reward === 1));
    assert.equal(expert.samples[0].stepReturns, discountedReturns(expert.trajectories[0].stepCount, 1, 0.95));
    assert.is(expert.stats.groupsWithSignal, 0);
    // A task listed twice is one group of 2G samples (GRPO task pools may repeat at pass boundaries).
    const twice = collectRollouts(shop, [shopTasks[0], shopTasks[1], shopTasks[0]], expertAgent(), { groupSize: 2, seed: 0, contextLength: 128, tokenizer: tokenizerFor(shop) });
    assert.is(twice.stats.groups, 2);
    assert.is(twice.samples.filter((s) => s.groupId === shopTasks[0].id).length, 4);
    // Identical visible states share a key; different ones do not.
    assert.is(stepStateKey("search page", ["a", "b"]), stepStateKey("search page", ["a", "b"]));
    assert.is.not(stepStateKey("search page", ["a", "b"]), stepStateKey("search page", ["a"]));
    assert.is.not(stepStateKey("ab", ["c"]), stepStateKey("a", ["bc"]));
  });
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] bad input raises typed errors naming the argument`, async () => {
    await useBackend(backend);
    const tok = tokenizerFor(alf);
    const model = tinyModel(tok, 1, { maxLen: 64 });
    const agent = new TransformerAgent(model, tok);
    const tasks = alf.generateTasks({ split: "seen", count: 2, seed: 1 });
    await expectError(() => new TransformerAgent(model, tokenizerFor(shop)), InvalidArgumentError, "tokenizer");
    await expectError(() => new TransformerAgent(model, tok, { contextLength: 65 }), InvalidArgumentError, "contextLength");
    await expectError(() => new TransformerAgent(model, tok, { batch: 3 } as never), UnknownOptionError, "options.batch");
    await expectError(() => new TransformerAgent(model, tok, { scoring: "fast" as never }), UnknownOptionError, "options.scoring");
    await expectError(() => runEpisodesBatched(alf, tasks, agent, { mode: "best" as never, seed: 0 }), UnknownOptionError, "options.mode");
    await expectError(() => runEpisodesBatched(alf, tasks, agent, { mode: "sample", seed: 0, temperature: 0 }), InvalidArgumentError, "options.temperature");
    await expectError(() => runEpisodesBatched(alf, tasks, agent, { mode: "sample", seed: NaN }), InvalidArgumentError, "options.seed");
    await expectError(() => runEpisodesBatched(alf, [], agent, { mode: "greedy", seed: 0 }), EmptyInputError, "tasks");
    await expectError(() => evaluateAgent(alf, agent, tasks, { greedy: true } as never), UnknownOptionError, "options.greedy");
    await expectError(() => evaluationSet(alf, "test", 4, 0), UnknownOptionError, "split");
    await expectError(() => collectRollouts(alf, tasks, agent, { groupSize: 0, seed: 0 }), InvalidArgumentError, "options.groupSize");
    await expectError(() => collectRollouts(alf, tasks, agent, { groupSize: 2, seed: 0, gamma: 1.5 }), InvalidArgumentError, "options.gamma");
    await expectError(() => collectRollouts(alf, tasks, agent, { groupSize: 2, seed: 0, reward: "win" as never }), UnknownOptionError, "options.reward");
    await expectError(() => collectRollouts(alf, tasks, expertAgent(), { groupSize: 2, seed: 0 }), InvalidArgumentError, "options.contextLength");
    await expectError(() => summariseSeeds([]), EmptyInputError, "results");
    await expectError(() => scoreCandidates(model, [{ context: [], candidates: [[1]] }]), EmptyInputError, "queries[0].context");
    await expectError(() => scoreCandidates(model, [{ context: [1], candidates: [[tok.size]] }]), InvalidArgumentError, "queries[0].candidates[0]");
    await expectError(() => scoreCandidates(model, [{ context: new Array(64).fill(1), candidates: [[1]] }]), InvalidArgumentError, "maxLen=64");
    await expectError(() => softmaxWithTemperature([1, NaN]), InvalidArgumentError, "scores");
    // A context that cannot hold instruction + observation + action names contextLength.
    const short = new TransformerAgent(model, tok, { contextLength: 8 });
    await expectError(() => short.act([{ task: tasks[0], observation: "you are in the kitchen", admissible: ["look"], history: [], episodeIndex: 0, stepIndex: 0 }], { mode: "greedy", seed: 0 }), InvalidArgumentError, "contextLength");
    model.dispose();
  });
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] saveAgent / loadAgent round trip; wrong env, plain model files and missing files`, async () => {
    await useBackend(backend);
    const tok = tokenizerFor(alf);
    const model = tinyModel(tok, 2, { maxLen: 96 });
    const agent = new TransformerAgent(model, tok, { contextLength: 80 });
    const file = path.join(tmp, "agent.safetensors");
    saveAgent(agent, alf, file);
    const loaded = loadAgent(file, alf);
    assert.is(loaded.contextLength, 80);
    const steps = expertSteps(alf, 1, 3).slice(0, 3);
    assert.equal(loaded.scoreSteps(steps).scores, agent.scoreSteps(steps).scores);
    loaded.model.dispose();
    await expectError(() => loadAgent(file, shop), FileFormatError, file);
    const plain = path.join(tmp, "plain.safetensors");
    saveModel(model, plain);
    const fromPlain = loadAgent(plain, alf);
    assert.is(fromPlain.contextLength, 96, "plain saveModel file: context length = maxLen");
    fromPlain.model.dispose();
    await expectError(() => loadAgent(plain, shop), FileFormatError, "vocabulary size");
    await expectError(() => loadAgent(path.join(tmp, "missing.safetensors"), alf), FileFormatError, "missing.safetensors");
    model.dispose();
  });
}

function cli(args: string[]) {
  const run = spawnSync(process.execPath, ["--require", "tsx/cjs", path.join(ROOT, "scripts", "agent.ts"), ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

test("CLI: one JSON line for expert and random on both envs; usage errors exit 2 naming the option", () => {
  for (const env of ["minialf", "minishop"]) {
    for (const policy of ["expert", "random"]) {
      const run = cli(["--env", env, "--policy", policy, "--episodes", "12", "--split", "unseen", "--seed", "3"]);
      assert.is(run.status, 0, run.stderr);
      const lines = run.stdout.trim().split("\n");
      assert.is(lines.length, 1, "exactly one line on stdout");
      const out = JSON.parse(lines[0]);
      assert.equal([out.env, out.policy, out.split, out.episodes], [env, policy, "unseen", 12]);
      if (policy === "expert") assert.equal([out.successRate, out.meanScore], [1, 100]);
      else assert.ok(out.successRate <= 0.2);
      assert.ok(typeof out.perFamily === "object");
    }
  }
  const unknown = cli(["--env", "minialf", "--policy", "expert", "--episods", "3"]);
  assert.is(unknown.status, 2);
  assert.ok(unknown.stderr.includes("--episods") && unknown.stderr.trim().split("\n").length === 1, unknown.stderr);
  for (const [option, value] of [["--episodes", "1.5"], ["--split", "test"], ["--env", "alfworld"], ["--mode", "best"], ["--conflict-fraction", "2"]]) {
    const args = ["--env", "minialf", "--policy", "expert", option, value];
    if (option === "--env") args.splice(0, 2);
    const bad = cli(args);
    assert.is(bad.status, 2, `${option} ${value}: ${bad.stderr}`);
    assert.ok(bad.stderr.includes(option), `${option}: ${bad.stderr}`);
    assert.is(bad.stdout, "");
  }
  const missing = cli(["--env", "minialf", "--policy", path.join(tmp, "nope.safetensors")]);
  assert.is(missing.status, 1);
  assert.ok(missing.stderr.includes("nope.safetensors"), missing.stderr);
});

test("[wasm] a short SFT on expert trajectories beats the random agent on held-out seen tasks; CLI runs the saved model", async () => {
  await useBackend("wasm");
  const tok = tokenizerFor(alf);
  const contextLength = 128;
  const trainTasks = alf.generateTasks({ split: "train", count: 200, seed: 11, conflictFraction: 0 });
  const demos = runEpisodesBatched(alf, trainTasks, expertAgent(), { mode: "greedy", seed: 0 }).trajectories.map((t) => tok.encodeTrajectory(t, contextLength));
  const model = new TinyTransformer({ vocabSize: tok.size, dModel: 32, nLayers: 2, nHeads: 4, dFF: 64, maxLen: contextLength, seed: 5 });
  const sft = trainSft(model, demos, { epochs: 8, batchSize: 16, learningRate: 1e-2, seed: 2 });
  const agent = new TransformerAgent(model, tok);
  const seen = evaluationSet(alf, "seen", 48, 0, { conflictFraction: 0 });
  const trained = await expectNoLeak("evaluateAgent", () => evaluateAgent(alf, agent, seen, { mode: "greedy" }));
  const random = evaluateAgent(alf, randomAgent(0), seen);
  console.log(`  SFT: ${sft.cost.optimizerSteps} steps in ${sft.cost.seconds.toFixed(1)} s (loss ${sft.epochLosses[0].toFixed(2)} → ${sft.epochLosses[sft.epochLosses.length - 1].toFixed(2)}); ` +
    `greedy success on seen ${trained.successRate.toFixed(2)} vs random ${random.successRate.toFixed(2)}; evaluation ${(trained.envSteps / trained.seconds).toFixed(0)} steps/s`);
  assert.ok(trained.successRate >= random.successRate + 0.3, `SFT ${trained.successRate} vs random ${random.successRate}`);

  // Speed of acting, printed not asserted: lockstep batch vs one episode at a time.
  const speedTasks = seen.slice(0, 16);
  const batched = runEpisodesBatched(alf, speedTasks, agent, { mode: "sample", seed: 1 });
  const started = Date.now();
  const sequential = speedTasks.map((t, i) => runEpisode(alf, t, agentPolicy(agent, t, { mode: "sample", seed: 1, episodeIndex: i })));
  const seqSeconds = (Date.now() - started) / 1000;
  console.log(`  acting: batched ${batched.stepsPerSecond.toFixed(0)} steps/s vs sequential ${(sequential.reduce((s, t) => s + t.stepCount, 0) / seqSeconds).toFixed(0)} steps/s`);

  // The CLI rebuilds the agent from the file and reproduces the in-process evaluation.
  const file = path.join(tmp, "sft-agent.safetensors");
  saveAgent(agent, alf, file);
  const run = cli(["--env", "minialf", "--policy", file, "--episodes", "48", "--split", "seen", "--seed", "0", "--conflict-fraction", "0"]);
  assert.is(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout.trim());
  assert.is(out.successRate, trained.successRate, "CLI = in-process evaluation of the same tasks");
  assert.is(out.policy, file);
  model.dispose();
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test.run();
