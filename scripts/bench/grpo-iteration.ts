/**
 * Where one action-level GRPO iteration's time goes (the README's table): 16 MiniALF episodes
 * (4 tasks × group 4, horizon 15) of the bench agent (d=48, L=2, maxLen 128), split into
 *  - rollout: policy scoring (act) and environment (reset/step), measured by wrapping the env;
 *  - update: the no-gradient passes (reference, and old log-probs unless the rollout recorded
 *    them), the forward of the loss, and its backward (forward+backward minus forward).
 * Run it on two commits to compare: `node --require tsx/cjs scripts/bench/grpo-iteration.ts`.
 * Written to run on older trees too (it probes for the episode-shared path).
 */
import { tf } from "../../kernel-lib/tf";
import { initBackend } from "../../kernel-lib/backend";
import { createMiniAlf, tokenizerFor, AgentEnv, Task } from "../../kernel-lib/envs";
import { TinyTransformer } from "../../kernel-lib/models/transformer";
import { createReference } from "../../kernel-lib/train/grpo";
import { actionGrpoStep, actionLogProbs, trajectoryDecisions } from "../../kernel-lib/agents/action-grpo";
import { collectRollouts, TransformerAgent } from "../../kernel-lib/agents";

function timed<T>(fn: () => T): { seconds: number; result: T } {
  const t0 = process.hrtime.bigint();
  const result = fn();
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, result };
}

async function main(): Promise<void> {
  await initBackend({ force: process.env.GRADLAB_BACKEND ?? "wasm" } as never);
  const base = createMiniAlf({ horizon: 15 }) as unknown as AgentEnv<Task>;
  let envSeconds = 0;
  // The env, with its reset and every episode's step timed.
  const env: AgentEnv<Task> = Object.assign(Object.create(base), {
    reset(task: Task) {
      const t0 = process.hrtime.bigint();
      const episode = base.reset(task);
      envSeconds += Number(process.hrtime.bigint() - t0) / 1e9;
      const step = episode.step.bind(episode);
      (episode as { step: typeof step }).step = (action: string) => {
        const t1 = process.hrtime.bigint();
        const r = step(action);
        envSeconds += Number(process.hrtime.bigint() - t1) / 1e9;
        return r;
      };
      return episode;
    },
  });
  const tok = tokenizerFor(base);
  const model = new TinyTransformer({ vocabSize: tok.size, dModel: 48, nLayers: 2, nHeads: 4, dFF: 96, maxLen: 128, seed: 1 });
  const agent = new TransformerAgent(model, tok);
  const tasks = base.generateTasks({ split: "train", count: 4, seed: 2, conflictFraction: 0 });
  const reference = createReference(model);
  const optimizer = tf.train.sgd(0);
  const rows: Record<string, number[]> = { rolloutScoring: [], environment: [], noGradPasses: [], forward: [], backward: [], total: [] };
  let episodePath = false;
  for (let round = 0; round < 4; round++) {
    envSeconds = 0;
    const rollout = timed(() => collectRollouts(env, tasks, agent, { groupSize: 4, seed: 3 + round }));
    const trajectories = rollout.result.trajectories;
    const samples = rollout.result.samples.map((s, i) => ({ ...s, reward: i % 2 })); // a planted signal: cost does not depend on it
    const update = timed(() => actionGrpoStep(agent, reference, trajectories, samples, { optimizer, klBeta: 0.05 }));
    // The loss's forward alone: log π of every decision, as the update computes it.
    const decisions = trajectories.map((t) => trajectoryDecisions(agent, t).map((d) => d.decision));
    let forward: number;
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const { episodeQueries, episodeLogProbs } = require("../../kernel-lib/agents/episode-scoring");
      episodePath = true;
      const S = Math.max(...decisions.map((d) => d.length));
      forward = timed(() => tf.tidy(() => { episodeLogProbs(model, decisions.map((d) => episodeQueries(d)), S, 1).logProbs.dataSync(); })).seconds;
    } catch {
      forward = timed(() => tf.tidy(() => { actionLogProbs(model, decisions.flat()).logProbs.dataSync(); })).seconds;
    }
    const noGrad = (update.result as { oldLogProbs?: string }).oldLogProbs === "rollout" ? forward : 2 * forward; // reference (+ old)
    if (round === 0) continue; // warm-up (kernel set-up, shape caches)
    rows.rolloutScoring.push(rollout.seconds - envSeconds);
    rows.environment.push(envSeconds);
    rows.noGradPasses.push(noGrad);
    rows.forward.push(forward);
    rows.backward.push(Math.max(0, update.seconds - noGrad - forward));
    rows.total.push(rollout.seconds + update.seconds);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`backend ${tf.getBackend()}, episode-shared scoring: ${episodePath}`);
  for (const [name, xs] of Object.entries(rows)) console.log(`${name.padEnd(15)} ${(median(xs) * 1000).toFixed(0).padStart(7)} ms`);
  optimizer.dispose();
  reference.dispose();
  model.dispose();
}

main().catch((e) => { console.error(e); process.exit(1); });
