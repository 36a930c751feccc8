// Agent environments of the PRISM study: MiniALF, MiniShop, experts, episodes, tokenizer.
// Pure TypeScript (no tensors), so there is no backend loop and no leak check here.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { InvalidArgumentError, UnknownOptionError } from "../kernel-lib/errors";
import {
  ACT_ID, AgentEnv, ALF_FAMILIES, CLOSABLE, AlfTask, BOS_ID, createEnv, createMiniAlf, createMiniShop, EncodedTrajectory, EOS_ID, expertPolicy, HOME,
  INVALID_ACTION_OBSERVATION, OBS_ID, PAD_ID, randomPolicy, RESULTS_PER_PAGE, runEpisode, runEpisodeAsync, searchOrder,
  shopScore, ShopTask, SPECIAL_TOKENS, splitPairs, SPLITS, splitWords, Task, tokenizerFor, Trajectory, TrajectoryStep,
} from "../kernel-lib/envs";
import { expectError } from "./helpers";

const alf = createMiniAlf();
const shop = createMiniShop();
const ENVS: Array<AgentEnv<Task>> = [alf as unknown as AgentEnv<Task>, shop as unknown as AgentEnv<Task>];
const expertRun = <T extends Task>(env: AgentEnv<T>, task: T) => runEpisode(env, task, expertPolicy({ env: task.env, goal: task.goal }));
const pct = (xs: number[], q: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))]; };

test("tasks and trajectories are a pure function of the seed; other seeds and splits differ", () => {
  for (const env of ENVS) {
    const a = env.generateTasks({ split: "train", count: 40, seed: 7, conflictFraction: 0.5 });
    const b = env.generateTasks({ split: "train", count: 40, seed: 7, conflictFraction: 0.5 });
    assert.equal(a, b, `${env.name}: same seed, same tasks`);
    const c = env.generateTasks({ split: "train", count: 40, seed: 8, conflictFraction: 0.5 });
    assert.not.equal(a.map((t) => t.world), c.map((t) => t.world), `${env.name}: another seed gives other tasks`);
    const seen = env.generateTasks({ split: "seen", count: 40, seed: 7, conflictFraction: 0.5 });
    assert.not.equal(a.map((t) => t.world), seen.map((t) => t.world), `${env.name}: train and seen differ`);
    assert.is(new Set(a.map((t) => t.id)).size, 40, "ids are unique");
    for (let i = 0; i < a.length; i++) {
      assert.equal(expertRun(env, a[i]), expertRun(env, b[i]));
      assert.equal(runEpisode(env, a[i], randomPolicy(3)), runEpisode(env, b[i], randomPolicy(3)));
      // Tasks are plain data: a JSON round trip replays the same episode.
      const copy = JSON.parse(JSON.stringify(a[i])) as Task;
      assert.equal(runEpisode(env, copy, randomPolicy(4)).steps, runEpisode(env, a[i], randomPolicy(4)).steps);
    }
    const r1 = a.map((t) => runEpisode(env, t, randomPolicy(1)).steps.map((s) => s.action));
    const r2 = a.map((t) => runEpisode(env, t, randomPolicy(2)).steps.map((s) => s.action));
    assert.not.equal(r1, r2, "random policies with other seeds act differently");
  }
});

test("conflict labels: exactly round(count × fraction), balanced families, kinds match the env", () => {
  for (const env of ENVS) {
    for (const fraction of [0, 0.3, 0.5, 1]) {
      const tasks = env.generateTasks({ split: "seen", count: 101, seed: 2, conflictFraction: fraction });
      assert.is(tasks.filter((t) => t.conflict).length, Math.round(101 * fraction), `${env.name} fraction ${fraction}`);
      for (const t of tasks) assert.is(t.conflictKind === null, !t.conflict);
    }
    const tasks = env.generateTasks({ split: "train", count: 120, seed: 5 });
    for (const family of env.families) {
      const n = tasks.filter((t) => t.family === family).length;
      assert.ok(Math.abs(n - 120 / env.families.length) <= 1, `${env.name}: family ${family} has ${n} tasks`);
    }
    const only = env.generateTasks({ split: "train", count: 10, seed: 5, families: [env.families[0]] });
    assert.ok(only.every((t) => t.family === env.families[0]));
  }
});

test("MiniALF regularities hold in regular tasks and exactly one is broken in conflict tasks", () => {
  for (const t of alf.generateTasks({ split: "train", count: 300, seed: 11, conflictFraction: 0.5 })) {
    const targets = t.world.placements.filter((p) => p.object === t.goal.object);
    assert.is(targets.length, t.family === "pick2" ? 2 : 1);
    assert.ok(targets.every((p) => p.place !== t.goal.target), "objects never start at their destination");
    const atHome = targets.every((p) => p.place === HOME[t.goal.object]);
    if (!t.conflict) { assert.ok(atHome && !t.world.microwaveBroken, t.id); continue; }
    if (t.family === "heat") assert.ok(t.conflictKind === "broken-microwave" && t.world.microwaveBroken && atHome, t.id);
    else assert.ok(t.conflictKind === "misplaced" && !t.world.microwaveBroken && targets.every((p) => p.place !== HOME[t.goal.object]), t.id);
  }
});

test("MiniShop regularity: the target is the first result; conflict puts it on page 2 behind visible decoys", () => {
  for (const t of shop.generateTasks({ split: "seen", count: 300, seed: 12, conflictFraction: 0.5 })) {
    const results = t.world.products.filter((p) => p.category === t.goal.category);
    const full = results.filter((p) => shopScore(t.goal, p, t.goal.size) === 100);
    assert.is(full.length, 1, `${t.id}: exactly one full match`);
    const rank = results.indexOf(full[0]);
    if (t.conflict) assert.ok(rank >= RESULTS_PER_PAGE && rank < 2 * RESULTS_PER_PAGE, `${t.id}: rank ${rank}`);
    else assert.is(rank, 0);
    for (const p of results) {
      if (p === full[0]) continue;
      const visibleFlaws = Number(p.color !== t.goal.color) + Number(p.material !== t.goal.material) + Number(p.price > t.goal.maxPrice);
      assert.is(visibleFlaws, 1, `${t.id}: decoys fail exactly one visible requirement`);
    }
  }
});

test("MiniShop sold-out conflict: page 1 is three sold-out matches that cannot be bought; the expert solves it from page 2; page-two tasks are unchanged by the option", () => {
  const soldOutShop = createMiniShop({ conflict: "sold-out" });
  const tasks = soldOutShop.generateTasks({ split: "train", count: 200, seed: 12, conflictFraction: 0.5 });
  const pageTwo = shop.generateTasks({ split: "train", count: 200, seed: 12, conflictFraction: 0.5 });
  assert.equal(createMiniShop({ conflict: "page-two" }).generateTasks({ split: "train", count: 200, seed: 12, conflictFraction: 0.5 }), pageTwo, "the default is page-two");
  assert.ok(!tokenizerFor(shop).vocab.includes("sold"), "page-two keeps its vocabulary");
  assert.ok(tokenizerFor(soldOutShop).vocab.includes("sold"));
  let conflicts = 0;
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i];
    assert.equal(t.conflict, pageTwo[i].conflict, "the same slots are conflicts");
    const results = t.world.products.filter((p) => p.category === t.goal.category);
    if (!t.conflict) { assert.equal(t, pageTwo[i], `${t.id}: a regular task is the page-two one`); continue; }
    conflicts += 1;
    assert.is(t.conflictKind, "sold-out");
    assert.ok(results.slice(0, RESULTS_PER_PAGE).every((p) => p.soldOut === true && shopScore(t.goal, p, t.goal.size) === 100), `${t.id}: page 1 is sold-out matches`);
    assert.is(results.length, RESULTS_PER_PAGE + 1, `${t.id}: the target is alone on page 2`);
    assert.ok(results[RESULTS_PER_PAGE].soldOut === undefined);
    assert.is(shopScore(t.goal, results[RESULTS_PER_PAGE], t.goal.size), 100, `${t.id}: the target leads page 2`);
    const run = expertRun(soldOutShop, t);
    assert.ok(run.success, `${t.id}: the expert solves it`);
    assert.equal(run.steps.map((s) => s.action).slice(0, 2), [`search[${t.goal.category}]`, "click[next >]"]);
    // The regular policy "open the first result" reaches a page that says so and cannot buy.
    const episode = soldOutShop.reset(t);
    episode.step(`search[${t.goal.category}]`);
    assert.ok(episode.observation.includes(`${results[0].id} ${results[0].color} ${results[0].material} ${results[0].category} $${results[0].price} sold out`), episode.observation);
    episode.step(`click[${results[0].id}]`);
    assert.is(episode.observation, `${results[0].id} sold out`);
    assert.equal(episode.admissibleActions(), ["click[< prev]", "click[back to search]"]);
    assert.is(episode.step("click[buy now]").info.admissible, false);
  }
  assert.ok(conflicts > 50, `${conflicts} conflicts`);
});

test("seen/unseen: the held-out pairs never appear in train or seen tasks, and every family has both", () => {
  for (const family of ALF_FAMILIES) {
    assert.ok(splitPairs(family, false).length > 0 && splitPairs(family, true).length > 0, family);
  }
  const alfPair = (t: AlfTask) => `${t.goal.object}|${t.goal.target}`;
  const shopPair = (t: ShopTask) => `${t.goal.color}|${t.goal.category}`;
  const check = <T extends Task>(env: AgentEnv<T>, pair: (t: T) => string) => {
    const bySplit = Object.fromEntries(SPLITS.map((split) => [split, new Set(env.generateTasks({ split, count: 600, seed: 9, conflictFraction: 0.5 }).map(pair))]));
    for (const p of bySplit.unseen) assert.ok(!bySplit.train.has(p) && !bySplit.seen.has(p), `${env.name}: ${p} leaks`);
    assert.ok(bySplit.unseen.size > 3 && bySplit.train.size > 3);
    const unseenFamilies = new Set(env.generateTasks({ split: "unseen", count: 60, seed: 1 }).map((t) => t.family));
    assert.is(unseenFamilies.size, env.families.length);
  };
  check(alf, alfPair);
  check(shop, shopPair);
});

test("a non-admissible action: clear observation, no state change, counts as a step", async () => {
  for (const env of ENVS) {
    const [task] = env.generateTasks({ split: "train", count: 1, seed: 3 });
    const episode = env.reset(task);
    const before = episode.admissibleActions(), observation = episode.observation;
    for (const bad of ["fly to the moon", "", "click[p99]", "take unicorn from fridge"]) {
      const r = episode.step(bad);
      assert.is(r.observation, INVALID_ACTION_OBSERVATION);
      assert.equal([r.reward, r.done, r.info.admissible], [0, false, false]);
    }
    assert.is(episode.stepCount, 4);
    assert.equal(episode.admissibleActions(), before, "state unchanged");
    assert.is.not(observation, episode.observation);
    // Case and spacing do not matter.
    const r = episode.step(`  ${before[0].toUpperCase().replace(/ /g, "   ")} `);
    assert.ok(r.info.admissible);
    await expectError(() => episode.step(42 as unknown as string), InvalidArgumentError, "action");
  }
});

test("the horizon ends an episode with reward 0; stepping after the end is an error", async () => {
  const [alfTask] = alf.generateTasks({ split: "train", count: 1, seed: 4 });
  const idle = runEpisode(alf, alfTask, () => "look");
  assert.equal([idle.stepCount, idle.success, idle.totalReward, idle.hitHorizon], [alf.horizon, false, 0, true]);
  assert.is(alf.horizon, 30);
  const [shopTask] = shop.generateTasks({ split: "train", count: 1, seed: 4 });
  const browse = runEpisode(shop, shopTask, (_o, admissible) => (admissible.includes("click[back to search]") ? "click[back to search]" : "search[hat]"));
  assert.equal([browse.stepCount, browse.success, browse.totalReward, browse.hitHorizon], [15, false, 0, true]);
  const short = createEnv("minialf", { horizon: 5 });
  assert.is(runEpisode(short, alfTask, () => "nonsense").stepCount, 5);
  const episode = short.reset(alfTask);
  while (!episode.done) episode.step("look");
  await expectError(() => episode.step("look"), InvalidArgumentError, "episode is done");
  const viaAsync = await runEpisodeAsync(alf, alfTask, async (o, a, h) => expertPolicy(alfTask)(o, a, h));
  assert.equal(viaAsync, expertRun(alf, alfTask));
});

test("experts solve 100% of tasks in every split, regular and conflict, using only goal + observations", () => {
  for (const env of ENVS) {
    for (const split of SPLITS) {
      for (const [fraction, count] of [[0.5, 300], [1, 60], [0, 60]] as const) {
        for (const task of env.generateTasks({ split, count, seed: 21, conflictFraction: fraction })) {
          const trajectory = expertRun(env, task);
          assert.ok(trajectory.success, `${task.id} (${task.instruction}) failed: ${trajectory.steps.map((s) => s.action).join(" | ")}`);
          assert.ok(trajectory.steps.every((s) => s.valid), `${task.id}: expert took a non-admissible action`);
          assert.is(trajectory.score, 100);
          assert.is(trajectory.totalReward, 1);
          assert.is(trajectory.hitHorizon, false);
        }
      }
    }
  }
});

test("experts show the regular behaviour on regular tasks and adapt visibly on conflict tasks", () => {
  for (const t of alf.generateTasks({ split: "train", count: 240, seed: 31, conflictFraction: 0.5 })) {
    const actions = runEpisode(alf, t, expertPolicy(t)).steps.map((s) => s.action);
    const firstGo = actions.find((a) => a.startsWith("go to"));
    assert.is(firstGo, `go to ${searchOrder(t.goal.object)[0]}`, "the search starts at home");
    if (t.family === "heat") {
      assert.ok(actions.includes("go to microwave"), "tries the microwave first");
      assert.is(actions.includes(`heat ${t.goal.object} with stove`), t.conflict);
      assert.is(actions.includes(`heat ${t.goal.object} with microwave`), !t.conflict);
    } else {
      // Regular: the object is found at home (go [, open], take); conflict: home is searched in vain.
      const home = searchOrder(t.goal.object)[0];
      const afterHome = actions[actions.indexOf(firstGo!) + (CLOSABLE.has(home) ? 2 : 1)];
      assert.is(afterHome.startsWith("take"), !t.conflict, `${t.id}: ${actions.join(" | ")}`);
    }
  }
  for (const t of shop.generateTasks({ split: "train", count: 200, seed: 31, conflictFraction: 0.5 })) {
    const steps = runEpisode(shop, t, expertPolicy(t)).steps;
    const nexts = steps.filter((s) => s.action === "click[next >]").length;
    assert.is(nexts, t.conflict ? 1 : 0);
    if (!t.conflict) assert.is(steps[1].action, `click[${/page 1: (p\d+)/.exec(steps[1].observation)![1]}]`, "clicks the first result");
  }
});

test("random policy success is low", () => {
  for (const env of ENVS) {
    for (const split of SPLITS) {
      const tasks = env.generateTasks({ split, count: 300, seed: 41, conflictFraction: 0.5 });
      const policy = randomPolicy(5);
      const runs = tasks.map((t) => runEpisode(env, t, policy));
      const rate = runs.filter((r) => r.success).length / runs.length;
      const meanScore = runs.reduce((s, r) => s + r.score, 0) / runs.length;
      console.log(`  [envs] random policy ${env.name}/${split}: success ${(100 * rate).toFixed(1)}%, mean score ${meanScore.toFixed(1)}`);
      assert.ok(rate < 0.15, `${env.name}/${split}: random success ${rate}`);
    }
  }
});

test("shopScore follows WebShop's r_type·(attrs + options + price)/(count) with closed-form values", () => {
  const [t] = shop.generateTasks({ split: "train", count: 1, seed: 1 });
  const g = t.goal;
  const base = { id: "p10", category: g.category, color: g.color, material: g.material, sizes: [g.size], price: g.maxPrice };
  assert.is(shopScore(g, base, g.size), 100);
  assert.is(shopScore(g, base, null), 75);
  assert.is(shopScore(g, { ...base, price: g.maxPrice + 1 }, g.size), 75);
  assert.is(shopScore(g, { ...base, color: g.color === "red" ? "blue" : "red", price: 999 }, null), 25);
  assert.is(shopScore(g, { ...base, category: g.category === "hat" ? "bag" : "hat" }, g.size), 0);
  // Buying a decoy through the env: partial score, reward score/100, no success.
  const conflict = shop.generateTasks({ split: "train", count: 4, seed: 2, conflictFraction: 1 })[0];
  const episode = shop.reset(conflict);
  episode.step(`search[${conflict.goal.category}]`);
  const first = /page 1: (p\d+)/.exec(episode.observation)![1];
  episode.step(`click[${first}]`);
  const r = episode.step("click[buy now]");
  const decoy = conflict.world.products.find((p) => p.id === first)!;
  assert.is(r.info.score, shopScore(conflict.goal, decoy, null));
  assert.ok(r.done && !r.info.success && r.reward === r.info.score! / 100 && r.info.score! < 100);
});

test("tokenizer: small vocab, specials first, no unknown words, round trip", () => {
  for (const env of ENVS) {
    const tok = tokenizerFor(env);
    assert.ok(tok.size < 200, `${env.name}: vocab ${tok.size}`);
    assert.equal(tok.vocab.slice(0, 6), [...SPECIAL_TOKENS]);
    assert.equal([PAD_ID, BOS_ID, OBS_ID, ACT_ID, EOS_ID].map((id) => tok.vocab[id]), ["<pad>", "<bos>", "<obs>", "<act>", "<eos>"]);
    assert.equal(tokenizerFor(env).vocab, tok.vocab, "deterministic");
    console.log(`  [envs] ${env.name} vocabulary: ${tok.size} tokens`);
    const tasks = env.generateTasks({ split: "unseen", count: 150, seed: 51, conflictFraction: 0.5 });
    for (const t of tasks) {
      for (const trajectory of [expertRun(env, t), runEpisode(env, t, randomPolicy(6))]) {
        const texts = [t.instruction, trajectory.finalObservation, ...trajectory.steps.flatMap((s) => [s.observation, s.action, ...s.admissible])];
        for (const text of texts) {
          assert.equal(tok.unknownWords(text), [], `${env.name}: unknown words in "${text}"`);
          assert.is(tok.decode(tok.encodeText(text)), splitWords(text).join(" "));
        }
      }
    }
  }
  assert.equal(splitWords("Nothing happens. (not an admissible action)"), ["nothing", "happens", ".", "(", "not", "an", "admissible", "action", ")"]);
  assert.equal(splitWords("click[p12] $35"), ["click", "[", "p12", "]", "$", "3", "5"]);
});

/** Slow oracle: the loss mask is 1 from just after each <act> up to the next <obs>/<eos>. */
function maskOracle(tokens: number[]): number[] {
  let inAction = false;
  return tokens.map((id) => {
    if (id === ACT_ID) { inAction = true; return 0; }
    if (id === OBS_ID || id === EOS_ID || id === PAD_ID) inAction = false;
    return inAction ? 1 : 0;
  });
}

test("encodeTrajectory: fixed length, loss mask exactly on action tokens, truncation keeps the instruction", async () => {
  for (const env of ENVS) {
    const tok = tokenizerFor(env);
    let truncated = 0;
    const tasks = env.generateTasks({ split: "train", count: 60, seed: 61, conflictFraction: 0.5 });
    for (const t of tasks) {
      const trajectory = expertRun(env, t) as Trajectory;
      const instruction = tok.encodeText(t.instruction);
      for (const contextLength of [256, 64]) {
        // Every one of these 60 trajectories fits 64 tokens once old steps are dropped: no throw is tolerated.
        const encoded: EncodedTrajectory = tok.encodeTrajectory(trajectory, contextLength);
        if (encoded.droppedSteps > 0) truncated++;
        assert.is(encoded.tokens.length, contextLength);
        assert.is(encoded.lossMask.length, contextLength);
        assert.equal(encoded.lossMask, maskOracle(encoded.tokens));
        assert.equal(encoded.tokens.slice(0, 1 + instruction.length), [BOS_ID, ...instruction], "instruction kept");
        assert.is(encoded.tokens[encoded.length - 1], EOS_ID);
        assert.ok(encoded.tokens.slice(encoded.length).every((id) => id === PAD_ID));
        assert.is(encoded.actionSpans.length, trajectory.steps.length - encoded.droppedSteps);
        encoded.actionSpans.forEach((span, k) => {
          assert.is(span.step, encoded.droppedSteps + k, "the most recent steps are kept");
          assert.is(tok.decode(encoded.tokens.slice(span.start, span.end)), splitWords(trajectory.steps[span.step].action).join(" "));
        });
        assert.is(encoded.lossMask.reduce((a, b) => a + b, 0), encoded.actionSpans.reduce((s, sp) => s + sp.end - sp.start, 0));
        if (contextLength === 256) assert.is(encoded.droppedSteps, 0);
      }
    }
    assert.ok(truncated > 0, `${env.name}: some trajectories are truncated at 64 tokens (the dropping path is exercised)`);
    const long = expertRun(env, env.generateTasks({ split: "train", count: 1, seed: 1, conflictFraction: 1 })[0]) as Trajectory;
    await expectError(() => tok.encodeTrajectory(long, 5), InvalidArgumentError, "contextLength");
    await expectError(() => tok.encodeTrajectory(long, 0), InvalidArgumentError, "contextLength");
    // The inference-time context follows the same rule and ends with <act>.
    const history = long.steps.slice(0, -1).map((s) => ({ observation: s.observation, action: s.action }));
    const last = long.steps[long.steps.length - 1];
    const context = tok.encodeContext(long.task.instruction, history, last.observation, 48, 6);
    assert.ok(context.length <= 48 - 6);
    assert.is(context[context.length - 1], ACT_ID);
    assert.equal(context.slice(0, 1 + tok.encodeText(long.task.instruction).length), [BOS_ID, ...tok.encodeText(long.task.instruction)]);
    const full = tok.encodeTrajectory(long, 512);
    const lastSpan = full.actionSpans[full.actionSpans.length - 1];
    assert.equal(tok.encodeContext(long.task.instruction, history, last.observation, 512, 0), full.tokens.slice(0, lastSpan.start));
  }
});

// The PRISM study's contexts (kernel-lib/studies/prism/study.ts: 256 for both) are chosen so that
// no expert demonstration is cut: checked on 300 regular and 300 conflict tasks.
const PRISM_STUDY_CONTEXT: Record<string, number> = { minialf: 256, minishop: 256 };
test("expert trajectories fit the PRISM study's contexts untruncated (lengths printed)", () => {
  for (const env of ENVS) {
    const tok = tokenizerFor(env);
    const context = PRISM_STUDY_CONTEXT[env.name];
    assert.ok(context !== undefined, `a study context for ${env.name}`);
    for (const fraction of [0, 1]) {
      const trajectories = env.generateTasks({ split: "train", count: 300, seed: 71, conflictFraction: fraction }).map((t) => expertRun(env, t));
      const lengths = trajectories.map((t) => tok.encodeTrajectory(t, 1024).length);
      const over = lengths.filter((n) => n > 128).length;
      console.log(`  [envs] ${env.name} expert tokens (${fraction ? "conflict" : "regular"}): median ${pct(lengths, 0.5)}, p90 ${pct(lengths, 0.9)}, max ${Math.max(...lengths)}, >128: ${over}/300`);
      assert.ok(Math.max(...lengths) <= context, `${env.name}: longest expert trajectory ${Math.max(...lengths)} tokens > context ${context}`);
      trajectories.forEach((t, i) => assert.is(tok.encodeTrajectory(t, context).droppedSteps, 0, `${env.name} task ${i}: steps dropped at context ${context}`));
    }
  }
});

test("MiniShop sold-out: even an adversary that always takes the longest observation (never buying) fits the study's 256-token context at horizon 8", () => {
  const env = createMiniShop({ horizon: 8, conflict: "sold-out" });
  const tok = tokenizerFor(env);
  let longest = 0;
  for (const t of env.generateTasks({ split: "train", count: 120, seed: 9, conflictFraction: 0.5 })) {
    const adversary = (_o: string, admissible: readonly string[], history: readonly TrajectoryStep[]) => {
      let best = admissible[0], bestLength = -1;
      for (const a of admissible) {
        if (a === "click[buy now]") continue;
        const episode = env.reset(t);
        for (const h of history) episode.step(h.action);
        const length = tok.encodeText(episode.step(a).observation).length + tok.encodeText(a).length;
        if (length > bestLength) { bestLength = length; best = a; }
      }
      return best;
    };
    longest = Math.max(longest, tok.encodeTrajectory(runEpisode(env, t, adversary), 4096).length);
  }
  console.log(`  [envs] minishop sold-out, longest-observation adversary: ${longest} tokens`);
  assert.ok(longest <= PRISM_STUDY_CONTEXT.minishop, `${longest} tokens > ${PRISM_STUDY_CONTEXT.minishop}`);
  assert.ok(longest > 192, "the adversary is long enough to have needed the larger context");
});

test("bad options raise typed errors naming the argument", async () => {
  for (const env of ENVS) {
    await expectError(() => env.generateTasks({ split: "test" as never, count: 3, seed: 1 }), UnknownOptionError, "split");
    await expectError(() => env.generateTasks({ split: "train", count: 3, seed: 1, conflictFraktion: 0.5 } as never), UnknownOptionError, "conflictFraktion");
    await expectError(() => env.generateTasks({ split: "train", count: 3, seed: 1, families: ["juggle"] }), UnknownOptionError, "families");
    for (const count of [0, -1, 1.5, NaN]) await expectError(() => env.generateTasks({ split: "train", count, seed: 1 }), InvalidArgumentError, "count");
    for (const f of [-0.1, 1.5, NaN]) await expectError(() => env.generateTasks({ split: "train", count: 3, seed: 1, conflictFraction: f }), InvalidArgumentError, "conflictFraction");
    await expectError(() => env.generateTasks({ split: "train", count: 3, seed: NaN }), InvalidArgumentError, "seed");
  }
  const [shopTask] = shop.generateTasks({ split: "train", count: 1, seed: 1 });
  await expectError(() => alf.reset(shopTask as unknown as AlfTask), InvalidArgumentError, "task");
  await expectError(() => createEnv("webshop"), UnknownOptionError, "env");
  await expectError(() => createMiniAlf({ horizn: 3 } as never), UnknownOptionError, "horizn");
  await expectError(() => createMiniShop({ horizon: 0 }), InvalidArgumentError, "horizon");
  await expectError(() => createMiniShop({ conflict: "sold-old" as never }), UnknownOptionError, "options.conflict");
  await expectError(() => expertPolicy({ env: "gym" as never, goal: {} }), UnknownOptionError, "task.env");
  await expectError(() => runEpisode(alf, alf.generateTasks({ split: "train", count: 1, seed: 1 })[0], () => 7 as unknown as string), InvalidArgumentError, "policy");
});

test.run();
