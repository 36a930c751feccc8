/**
 * Agent workloads: what the shared-prefix scorer saves at inference, and what the action-level
 * GRPO objective costs per update against the token-level one, on the same MiniALF rollouts and
 * the notebook-01 agent size. Both are ratios measured in this process.
 */
import { tf } from "../../kernel-lib/tf";
import { createMiniAlf, tokenizerFor, AgentEnv, Task } from "../../kernel-lib/envs";
import { TinyTransformer } from "../../kernel-lib/models/transformer";
import { createReference, grpoStep } from "../../kernel-lib/train/grpo";
import { actionGrpoStep, prepareActionUpdate, trajectoryDecisions } from "../../kernel-lib/agents/action-grpo";
import { grpoLoss } from "../../kernel-lib/train/grpo";
import { writeSafetensors } from "../../kernel-lib/io/safetensors";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { collectRollouts, scoreCandidates, TransformerAgent } from "../../kernel-lib/agents";
import { BenchResult, bestOf } from "./harness";

/** GRPO options of the timed updates (the PyTorch twin reads them from the workload file). */
const UPDATE = { klBeta: 0.05, clipEpsilon: 0.2, temperature: 1 };

/**
 * Writes what scripts/bench/python_side.py needs to run the PyTorch twin of the action-level
 * update on the same weights and rollouts, with gradlab's own log π, loss and gradients to
 * compare against: action-model.safetensors, action-grads.safetensors, action-workload.json.
 */
export function writeActionWorkload(workdir: string, agent: TransformerAgent, reference: TinyTransformer, trajectories: Parameters<typeof actionGrpoStep>[2], samples: Parameters<typeof actionGrpoStep>[3]): void {
  const prepared = prepareActionUpdate(agent, reference, trajectories, samples, { temperature: UPDATE.temperature, episodesPerPass: 16 });
  const E = trajectories.length, S = prepared.S;
  const variables = agent.model.trainableVariables();
  const names = new Map(agent.model.namedWeights().map((w) => [w.variable.name, w.name]));
  let logPi: number[] = [], stats: number[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const { logProbs } = prepared.logProbs(agent.model, Array.from({ length: E }, (_, e) => e));
    logPi = Array.from(logProbs.dataSync());
    const t = (a: Float32Array) => tf.tensor2d(a, [E, S]);
    const out = grpoLoss({ logProbs, oldLogProbs: t(prepared.oldLogProbs), refLogProbs: t(prepared.refLogProbs as Float32Array), advantages: t(prepared.slotAdvantage), mask: t(prepared.slotMask) }, { klBeta: UPDATE.klBeta, clipEpsilon: UPDATE.clipEpsilon });
    stats = Array.from(out.stats.dataSync());
    out.stats.dispose();
    return out.loss;
  }, variables);
  const gradTensors: Record<string, { dtype: "float32"; shape: number[]; data: Float32Array }> = {};
  for (const v of variables) gradTensors[names.get(v.name) as string] = { dtype: "float32", shape: v.shape, data: grads[v.name].dataSync() as Float32Array };
  const weights: Record<string, { dtype: "float32"; shape: number[]; data: Float32Array }> = {};
  for (const { name, variable } of agent.model.namedWeights()) weights[name] = { dtype: "float32", shape: variable.shape, data: variable.dataSync() as Float32Array };
  writeSafetensors(join(workdir, "action-model.safetensors"), weights);
  writeSafetensors(join(workdir, "action-grads.safetensors"), gradTensors);
  const episodes = trajectories.map((t) => trajectoryDecisions(agent, t).map(({ decision }) => ({ context: decision.query.context, candidates: decision.query.actions, chosen: decision.chosen })));
  writeFileSync(join(workdir, "action-workload.json"), JSON.stringify({
    config: agent.model.config, options: UPDATE, E, S, episodes,
    old: Array.from(prepared.oldLogProbs), advantages: Array.from(prepared.slotAdvantage), mask: Array.from(prepared.slotMask),
    gradlab: { logPi, loss: value.dataSync()[0], stats },
  }));
  value.dispose();
  Object.values(grads).forEach((g) => g.dispose());
}

export async function benchAgentObjectives(workdir: string): Promise<{ rows: BenchResult[]; actionsSeconds: number; tokensSeconds: number }> {
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
    const tokens = await bestOf(3, () => grpoStep(model, reference, samples, { optimizer, klBeta: UPDATE.klBeta, clipEpsilon: UPDATE.clipEpsilon }));
    const actions = await bestOf(3, () => actionGrpoStep(agent, reference, rollouts.trajectories, samples, { optimizer, klBeta: UPDATE.klBeta, clipEpsilon: UPDATE.clipEpsilon, temperature: UPDATE.temperature }));
    writeActionWorkload(workdir, agent, reference, rollouts.trajectories, samples);
    return { actionsSeconds: actions.seconds, tokensSeconds: tokens.seconds, rows: [{
      id: "agent.scoring.shared-prefix",
      value: prefix.seconds * 1000, unit: "ms", baseline: "full-rows scoring (one row per candidate)", baselineValue: fullRows.seconds * 1000,
      ratio: fullRows.seconds / prefix.seconds,
      notes: `${queries.length} MiniALF decision steps; ${prefix.result.forwardTokens} vs ${fullRows.result.forwardTokens} token positions`,
    }, {
      id: "agent.grpo-update.actions_vs_tokens",
      value: actions.seconds * 1000, unit: "ms", baseline: "token-level GRPO update on the same rollouts", baselineValue: tokens.seconds * 1000,
      ratio: tokens.seconds / actions.seconds,
      notes: `${rollouts.trajectories.length} episodes, ${steps} steps, 1 epoch, KL on; goal ≥ 0.5 (the action-level update at most 2× the token-level one); old log-probs ${actions.result.oldLogProbs}`,
    }]};
  } finally {
    optimizer.dispose();
    reference.dispose();
    model.dispose();
  }
}
