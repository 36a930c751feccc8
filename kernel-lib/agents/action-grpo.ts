/**
 * Action-level GRPO for the TransformerAgent: the policy gradient of the policy that actually
 * acts. The agent samples from π(a | s) = softmax_{a ∈ A(s)} (log p_θ(a | ctx(s)) / τ) (policy.ts),
 * so the importance ratio, the clip and the KL belong on log π(a | s) — one term per decision
 * step — not on the chosen action's token log-likelihoods:
 *
 *   log π(a_t | s_t) = s(a_t)/τ − logsumexp_{b ∈ A(s_t)} s(b)/τ,   s(b) = log p_θ(b | ctx(s_t)).
 *
 * Why it matters: the token objective raises or lowers the chosen action's likelihood, and with
 * it every action sharing its tokens ("go to cabinet 1" vs "go to cabinet 2"); nothing normalises a
 * sequence's likelihood over the admissible set, so a negative advantage can push it down without
 * bound while π — the softmax over actions — barely moves, and a token-level KL measures that drift
 * rather than the acting policy's.
 * Here the gradient is ∇s(a_t) − Σ_b π(b)∇s(b): only what separates the chosen action from its
 * alternatives moves, and the ratio is the one PPO's clip is defined for.
 *
 * The price: every admissible action of every step is scored with a gradient (shared-prefix
 * scoring, prefix-scoring.ts: each step's context once, its candidates' few tokens attending to
 * it), so an update costs about what the rollout's scoring cost, times 3 for the backward pass.
 *
 * Each step's context is rebuilt with `agent.query` from the trajectory — exactly what the policy
 * saw when it acted (no trajectory-encoding truncation caveat). The loss is `grpoLoss` from
 * train/grpo.ts on a [episodes, steps] layout, so clipping, k3 KL and the sequence-/token-level
 * aggregations mean what they mean there, with a "token" read as a decision step.
 */
import { tf } from "../tf";
import { assertKnownKeys, InvalidArgumentError, NonFiniteError, ShapeError } from "../errors";
import { checkOptions, option } from "../options";
import { Rng, Seed, toRng } from "../random";
import type { Trajectory } from "../envs/types";
import type { PhaseCost, RolloutSample } from "../train/rl-types";
import { computeAdvantages, StdEstimator } from "../train/advantages";
import { grpoLoss, GrpoLossOptions, GrpoUpdateStats, GrpoUpdateSummary, pickRows, summariseUpdates } from "../train/grpo";
import type { TinyTransformer } from "../models/transformer";
import { candidateScoreMatrix } from "./prefix-scoring";
import { DEFAULT_MAX_ROWS_PER_FORWARD } from "./scoring";
import { episodeLogProbs, episodeQueries, ScoredDecision } from "./episode-scoring";
import type { TransformerAgent } from "./policy";

export type { ScoredDecision };

/**
 * Differentiable log π(chosen | s) — the step's softmax over its candidates at temperature τ — as
 * [Q]. Decisions are scored in chunks of at most `maxRowsPerForward` candidates (big batched
 * matMuls fail on wasm; the inference path chunks the same way). Caller owns the result (or calls
 * it inside a tidy / loss closure).
 */
export function actionLogProbs(model: TinyTransformer, decisions: readonly ScoredDecision[], options: { temperature?: number; maxRowsPerForward?: number } = {}): { logProbs: tf.Tensor1D; forwardTokens: number } {
  checkOptions("options", options, { temperature: option.any, maxRowsPerForward: option.any }); // values checked below
  const temperature = options.temperature ?? 1, maxRows = options.maxRowsPerForward ?? DEFAULT_MAX_ROWS_PER_FORWARD;
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new InvalidArgumentError("options.temperature", "a finite number > 0", temperature);
  if (!Number.isInteger(maxRows) || maxRows < 1) throw new InvalidArgumentError("options.maxRowsPerForward", "a positive integer", maxRows);
  if (decisions.length === 0) throw new InvalidArgumentError("decisions", "at least one decision step");
  decisions.forEach((d, q) => {
    if (!Number.isInteger(d.chosen) || d.chosen < 0 || d.chosen >= d.query.actions.length) throw new InvalidArgumentError(`decisions[${q}].chosen`, `an index into its ${d.query.actions.length} candidates`, d.chosen);
  });
  let forwardTokens = 0;
  const logProbs = tf.tidy(() => {
    const parts: tf.Tensor1D[] = [];
    for (let from = 0; from < decisions.length;) {
      let rows = 0, to = from;
      while (to < decisions.length && (to === from || rows + decisions[to].query.actions.length <= maxRows)) rows += decisions[to++].query.actions.length;
      const chunk = decisions.slice(from, to);
      from = to;
      const matrix = candidateScoreMatrix(model, chunk.map((d) => d.query));
      forwardTokens += matrix.forwardTokens;
      const [Q, C] = matrix.scores.shape;
      const chosen = new Float32Array(Q * C);
      chunk.forEach((d, q) => { chosen[q * C + d.chosen] = 1; });
      // Padding candidates get −1e9: exp underflows to exactly 0 in the softmax.
      const logits = tf.add(tf.div(matrix.scores, temperature), tf.mul(tf.sub(matrix.present, 1), 1e9));
      parts.push(tf.sum(tf.mul(tf.logSoftmax(logits), tf.tensor2d(chosen, [Q, C])), 1) as tf.Tensor1D);
    }
    return (parts.length === 1 ? parts[0] : tf.concat(parts)) as tf.Tensor1D;
  });
  return { logProbs, forwardTokens };
}

/**
 * Options of the action-level GRPO step (`objective: "actions"`): the GRPO loss options plus
 * optimizer, temperature, PPO epochs, minibatches and the advantage settings.
 */
export interface ActionGrpoOptions extends GrpoLossOptions {
  /** The caller's optimizer, kept across calls. */
  optimizer: tf.Optimizer;
  /** The sampling temperature of the rollouts (π's τ; default 1). */
  temperature?: number;
  ppoEpochs?: number;
  /** Episodes per optimizer step (default: all). */
  minibatchSize?: number;
  /**
   * Episodes per forward/backward pass (default 16): a minibatch is processed in passes whose
   * gradients are summed before one optimizer step — same update, bounded memory (a single pass
   * over 64 MiniALF episodes exhausted the wasm heap here).
   */
  episodesPerPass?: number;
  seed?: Seed | Rng;
  stepLevel?: boolean;
  stepWeight?: number;
  normalizeStd?: boolean;
  stdEstimator?: StdEstimator;
}

/** The same diagnostics as grpoStep's (means over updates, a "token" read as a decision step). */
export interface ActionGrpoResult extends GrpoUpdateSummary {
  updates: GrpoUpdateStats[];
  /** Per episode: its group-relative advantage. */
  advantages: number[];
  /** Where the ratio's denominator came from: the rollout's recorded behaviour log-probs, or a scoring pass. */
  oldLogProbs: "rollout" | "rescored";
  cost: PhaseCost;
}

const KEYS = ["clipEpsilon", "clipEpsilonHigh", "klBeta", "aggregation", "optimizer", "temperature", "ppoEpochs", "minibatchSize", "episodesPerPass", "seed", "stepLevel", "stepWeight", "normalizeStd", "stdEstimator"];

/**
 * The decisions of one episode, each with its trajectory step index: the context and candidates
 * the agent saw (rebuilt with `agent.query`) and the index of the action it took. Steps whose
 * action was not admissible are skipped: π never chose them.
 */
export function trajectoryDecisions(agent: TransformerAgent, trajectory: Trajectory): Array<{ step: number; decision: ScoredDecision }> {
  const out: Array<{ step: number; decision: ScoredDecision }> = [];
  trajectory.steps.forEach((s, step) => {
    const chosen = s.admissible.indexOf(s.action);
    if (chosen < 0) return;
    const query = agent.query({ task: trajectory.task, history: trajectory.steps.slice(0, step), observation: s.observation, admissible: s.admissible });
    out.push({ step, decision: { query: { context: query.context, actions: query.candidates }, chosen } });
  });
  return out;
}

/**
 * One GRPO iteration at the action level on finished episodes. `samples[i]` is the rollout sample
 * of `trajectories[i]` (collectRollouts' pairing): its groupId, reward and GiGPO step fields give
 * the advantages; its tokens are not used. `reference` null = no KL term.
 */
export function actionGrpoStep(agent: TransformerAgent, reference: TinyTransformer | null, trajectories: readonly Trajectory[], samples: readonly RolloutSample[], options: ActionGrpoOptions): ActionGrpoResult {
  assertKnownKeys("options", options, KEYS);
  if (trajectories.length !== samples.length) throw new ShapeError("samples", `one per trajectory (${trajectories.length})`, [samples.length]);
  if (!(options.optimizer instanceof tf.Optimizer)) throw new InvalidArgumentError("options.optimizer", "a tf.Optimizer (kept across iterations)", options.optimizer);
  const temperature = options.temperature ?? 1;
  const ppoEpochs = options.ppoEpochs ?? 1;
  if (!Number.isInteger(ppoEpochs) || ppoEpochs < 1) throw new InvalidArgumentError("options.ppoEpochs", "a positive integer", ppoEpochs);
  const E = trajectories.length;
  const minibatchSize = Math.min(options.minibatchSize ?? E, E);
  if (!Number.isInteger(minibatchSize) || minibatchSize < 1) throw new InvalidArgumentError("options.minibatchSize", "a positive integer", options.minibatchSize);
  const episodesPerPass = options.episodesPerPass ?? 16;
  if (!Number.isInteger(episodesPerPass) || episodesPerPass < 1) throw new InvalidArgumentError("options.episodesPerPass", "a positive integer", episodesPerPass);
  const lossOptions: GrpoLossOptions = { clipEpsilon: options.clipEpsilon, clipEpsilonHigh: options.clipEpsilonHigh, klBeta: options.klBeta, aggregation: options.aggregation };

  const started = Date.now();
  const cost: PhaseCost = { phase: "rl", seconds: 0, forwardTokens: 0, backwardTokens: 0, optimizerSteps: 0, envSteps: 0 };
  const prepared = prepareActionUpdate(agent, reference, trajectories, samples, { ...options, temperature, episodesPerPass });
  const { S, slotAdvantage, slotMask, oldLogProbs, refLogProbs, advantages } = prepared;
  cost.forwardTokens += prepared.forwardTokens;
  const slotLogProbs = (model: TinyTransformer, rows: readonly number[]): tf.Tensor2D => {
    const { logProbs, forwardTokens } = prepared.logProbs(model, rows);
    cost.forwardTokens += forwardTokens;
    return logProbs;
  };
  const all = Array.from({ length: E }, (_, e) => e);
  const rng = options.seed === undefined ? null : toRng(options.seed);
  const variables = agent.model.trainableVariables();
  const updates: GrpoUpdateStats[] = [];
  const pick = (source: Float32Array, rows: readonly number[]) => tf.tensor2d(pickRows(source, rows, S), [rows.length, S]);
  try {
    for (let epoch = 0; epoch < ppoEpochs; epoch++) {
      const order = rng === null ? all : rng.shuffle(all);
      for (let start = 0; start < E; start += minibatchSize) {
        const rows = order.slice(start, start + minibatchSize);
        const before = cost.forwardTokens;
        // The minibatch's loss is a weighted sum of its passes' losses (means over episodes, or
        // over steps for tokenLevel), so summing weighted pass gradients gives exactly the
        // minibatch gradient; the diagnostics that are step means are weighted by step share.
        const steps = (rs: readonly number[]) => rs.reduce((n, e) => n + prepared.decisionCounts[e], 0);
        const totalSteps = steps(rows);
        let summed: Record<string, tf.Tensor> | null = null;
        const stats = [0, 0, 0, 0, 0];
        let loss = 0;
        try {
          for (let p = 0; p < rows.length; p += episodesPerPass) {
            const part = rows.slice(p, p + episodesPerPass);
            const stepShare = steps(part) / totalSteps;
            const weight = lossOptions.aggregation === "tokenLevel" ? stepShare : part.length / rows.length;
            const kept: tf.Tensor1D[] = [];
            const { value, grads } = tf.variableGrads(() => {
              const out = grpoLoss({
                logProbs: slotLogProbs(agent.model, part), oldLogProbs: pick(oldLogProbs, part),
                refLogProbs: refLogProbs === null ? null : pick(refLogProbs, part), advantages: pick(slotAdvantage, part), mask: pick(slotMask, part),
              }, lossOptions);
              kept.push(tf.keep(out.stats));
              return tf.mul(out.loss, weight) as tf.Scalar;
            }, variables);
            loss += value.dataSync()[0];
            value.dispose();
            kept[0].dataSync().forEach((v, k) => { stats[k] += (k < 2 ? weight : stepShare) * v; });
            kept[0].dispose();
            if (summed === null) summed = grads;
            else {
              const previous: Record<string, tf.Tensor> = summed;
              summed = Object.fromEntries(Object.keys(previous).map((name) => [name, tf.add(previous[name], grads[name])]));
              Object.values(previous).forEach((t) => t.dispose());
              Object.values(grads).forEach((t) => t.dispose());
            }
          }
          // Checked before the step: a non-finite loss never reaches the weights.
          if (!Number.isFinite(loss)) throw new NonFiniteError(`action-level GRPO loss (epoch ${epoch}, minibatch at ${start}; try a smaller learning rate)`);
          options.optimizer.applyGradients(summed as Record<string, tf.Tensor>);
        } finally {
          if (summed !== null) Object.values(summed as Record<string, tf.Tensor>).forEach((t) => t.dispose());
        }
        const [policyLoss, kl, clipFraction, meanRatio, approxKL] = stats;
        updates.push({ epoch, samples: rows.length, loss, policyLoss, kl, clipFraction, meanRatio, approxKL });
        cost.backwardTokens += cost.forwardTokens - before;
        cost.optimizerSteps++;
      }
    }
  } finally {
    cost.seconds = (Date.now() - started) / 1000;
  }
  return { ...summariseUpdates(updates), updates, advantages: advantages.episode, oldLogProbs: prepared.oldFrom, cost };
}

/** Everything an action-level update needs before its first gradient (see prepareActionUpdate). */
export interface PreparedActionUpdate {
  /** Step slots per episode (the most decisions of any episode). */
  S: number;
  /** Decisions per episode (its slots that hold one). */
  decisionCounts: number[];
  /** [E·S] advantage per decision slot, and 1 where the slot holds a decision. */
  slotAdvantage: Float32Array;
  slotMask: Float32Array;
  /** [E·S] the behaviour policy's log π per slot, and where it came from. */
  oldLogProbs: Float32Array;
  oldFrom: "rollout" | "rescored";
  /** [E·S] the reference's log π (null: no KL term). */
  refLogProbs: Float32Array | null;
  advantages: ReturnType<typeof computeAdvantages>;
  /** Token positions run to prepare (re-scoring, reference). */
  forwardTokens: number;
  /** Differentiable log π of the decisions of episodes `rows`, [rows.length, S]. */
  logProbs(model: TinyTransformer, rows: readonly number[]): { logProbs: tf.Tensor2D; forwardTokens: number };
}

/**
 * The inputs of the action-level GRPO loss for these episodes: advantages per decision slot, the
 * old (behaviour) log-probs — the rollout's recorded ones when present at this temperature, else a
 * scoring pass — and the reference's. actionGrpoStep runs its epochs on these; the bench's
 * PyTorch check computes the same loss from them.
 */
export function prepareActionUpdate(
  agent: TransformerAgent, reference: TinyTransformer | null, trajectories: readonly Trajectory[], samples: readonly RolloutSample[],
  options: Pick<ActionGrpoOptions, "stepLevel" | "stepWeight" | "normalizeStd" | "stdEstimator"> & { temperature: number; episodesPerPass: number },
): PreparedActionUpdate {
  const { temperature, episodesPerPass } = options;
  if (trajectories.length !== samples.length) throw new ShapeError("samples", `one per trajectory (${trajectories.length})`, [samples.length]);
  const E = trajectories.length;
  const advantages = computeAdvantages(samples, { normalizeStd: options.normalizeStd, stdEstimator: options.stdEstimator, stepLevel: options.stepLevel, stepWeight: options.stepWeight });
  const stepWeight = options.stepWeight ?? 1;
  const decisions = trajectories.map((t) => trajectoryDecisions(agent, t));
  decisions.forEach((list, e) => {
    if (list.length === 0) throw new InvalidArgumentError(`trajectories[${e}]`, "at least one step whose action was admissible (a decision of the policy)", "none");
  });
  const S = Math.max(...decisions.map((d) => d.length));
  // Per episode and step slot: the advantage, and whether the slot holds a decision.
  const slotAdvantage = new Float32Array(E * S), slotMask = new Float32Array(E * S);
  decisions.forEach((list, e) => list.forEach(({ step }, k) => {
    slotMask[e * S + k] = 1;
    slotAdvantage[e * S + k] = advantages.episode[e] + (advantages.step === null ? 0 : stepWeight * advantages.step[e][step]);
  }));
  // Each episode's steps share one context where they nest (episode-scoring.ts): exact, and
  // ~steps/2 times fewer context positions than scoring every step's context on its own.
  const episodes = decisions.map((list) => episodeQueries(list.map((d) => d.decision)));
  const logProbs = (model: TinyTransformer, rows: readonly number[]) => episodeLogProbs(model, rows.map((e) => episodes[e]), S, temperature);
  let forwardTokens = 0;
  const withoutGrad = (model: TinyTransformer): Float32Array => {
    const out = new Float32Array(E * S);
    for (let from = 0; from < E; from += episodesPerPass) {
      const rows = Array.from({ length: Math.min(episodesPerPass, E - from) }, (_, i) => from + i);
      const t = logProbs(model, rows);
      forwardTokens += t.forwardTokens;
      out.set(t.logProbs.dataSync(), from * S);
      t.logProbs.dispose();
    }
    return out;
  };
  // The behaviour log-probs the rollout recorded when it sampled are the "old" policy's by
  // definition; scoring again is needed only for rollouts that did not record them (or at
  // another temperature).
  const recorded = samples.every((s, e) => s.behaviourLogProbs !== undefined && s.behaviourTemperature === temperature && s.behaviourLogProbs.length === trajectories[e].steps.length);
  let oldLogProbs: Float32Array;
  if (recorded) {
    oldLogProbs = new Float32Array(E * S);
    decisions.forEach((list, e) => list.forEach(({ step }, k) => { oldLogProbs[e * S + k] = (samples[e].behaviourLogProbs as number[])[step]; }));
  } else {
    oldLogProbs = withoutGrad(agent.model);
  }
  const refLogProbs = reference === null ? null : withoutGrad(reference);
  return { S, decisionCounts: decisions.map((d) => d.length), slotAdvantage, slotMask, oldLogProbs, oldFrom: recorded ? "rollout" : "rescored", refLogProbs, advantages, forwardTokens, logProbs };
}
