/**
 * Agent workloads: what the shared-prefix scorer saves at inference, and what the action-level
 * GRPO objective costs per update against the token-level one, on the same MiniALF rollouts and
 * the notebook-01 agent size. Both are ratios measured in this process.
 */
import { tf } from "../../kernel-lib/tf";
import { createMiniAlf, tokenizerFor, AgentEnv, Task } from "../../kernel-lib/envs";
import { TinyTransformer } from "../../kernel-lib/models/transformer";
import { createReference, grpoStep } from "../../kernel-lib/train/grpo";
import { actionGrpoStep } from "../../kernel-lib/agents/action-grpo";
import { collectRollouts, scoreCandidates, TransformerAgent } from "../../kernel-lib/agents";
import { BenchResult, bestOf } from "./harness";

export async function benchAgentObjectives(): Promise<BenchResult[]> {
  const env = createMiniAlf({ horizon: 15 }) as unknown as AgentEnv<Task>;
  const tok = tokenizerFor(env);
  const model = new TinyTransformer({ vocabSize: tok.size, dModel: 48, nLayers: 2, nHeads: 4, dFF: 96, maxLen: 128, seed: 1 });
  const agent = new TransformerAgent(model, tok);
  const tasks = env.generateTasks({ split: "train", count: 4, seed: 2, conflictFraction: 0 });
  const rollouts = collectRollouts(env, tasks, agent, { groupSize: 4, seed: 3 });
  // Untrained policy: rewards are all 0, so plant a signal (the update's cost does not depend on it).
  const samples = rollouts.samples.map((s, i) => ({ ...s, reward: i % 2 }));
  const steps = rollouts.trajectories.reduce((n, t) => n + t.stepCount, 0);
  const queries = rollouts.trajectories.flatMap((t) => t.steps.map((s, i) => agent.query({ task: t.task, history: t.steps.slice(0, i), observation: s.observation, admissible: s.admissible })));
  const prefix = await bestOf(2, () => scoreCandidates(model, queries, { strategy: "shared-prefix" }));
  const fullRows = await bestOf(1, () => scoreCandidates(model, queries, { strategy: "full-rows" }));
  const reference = createReference(model);
  const optimizer = tf.train.sgd(0); // rate 0: every timed update starts from the same weights
  try {
    const tokens = await bestOf(2, () => grpoStep(model, reference, samples, { optimizer, klBeta: 0.05 }));
    const actions = await bestOf(2, () => actionGrpoStep(agent, reference, rollouts.trajectories, samples, { optimizer, klBeta: 0.05 }));
    return [{
      id: "agent.scoring.shared-prefix",
      value: prefix.seconds * 1000, unit: "ms", baseline: "full-rows scoring (one row per candidate)", baselineValue: fullRows.seconds * 1000,
      ratio: fullRows.seconds / prefix.seconds,
      notes: `${queries.length} MiniALF decision steps; ${prefix.result.forwardTokens} vs ${fullRows.result.forwardTokens} token positions`,
    }, {
      id: "agent.grpo-update.actions",
      value: actions.seconds * 1000, unit: "ms", baseline: "token-level GRPO update on the same rollouts", baselineValue: tokens.seconds * 1000,
      ratio: tokens.seconds / actions.seconds,
      notes: `${rollouts.trajectories.length} episodes, ${steps} steps, 1 epoch; ratio < 1: the action-level update is that much slower (it scores every admissible action with a gradient)`,
    }];
  } finally {
    optimizer.dispose();
    reference.dispose();
    model.dispose();
  }
}
