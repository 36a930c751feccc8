/**
 * One arm of the PRISM study on one shared stage (study-base.ts): split the corpus (arms.ts),
 * SFT on the SFT set's expert demonstrations, then GRPO on the RL set's TASKS starting from the
 * SFT weights, then greedy evaluation on the fixed seen and unseen sets.
 *
 * Budgets scale with the data an arm gets, as in the paper (full GRPO 36h vs PRISM 11h): SFT runs
 * `sft.epochs` passes over ITS set, RL ⌈rl.epochs · |RL set| / tasksPerIteration⌉ iterations.
 *
 * Cost per phase (Table 3): probe (the arms that read the probe pay its measured time and token
 * passes; the stepwise arms pay every re-probe), pass-rate (HPT: the base policy's rollouts), sft,
 * rl. Evaluation is not a training cost and is reported apart.
 *
 * Stepwise arms: `stepwise.rounds` rounds; each round takes its share of the SFT steps and of the
 * RL iterations. Before every round after the first the current policy is re-probed on the whole
 * corpus; the record keeps, per round, the Gini AUC against the conflict label, Spearman ρ with
 * the round-0 scores and the fraction of routes a fresh median split would change.
 */
import { Rng } from "../../random";
import { rocAuc, spearman } from "../../metrics/ranking";
import type { EvaluationResult } from "../../agents/evaluate";
import { evaluateAgent } from "../../agents/evaluate";
import { TransformerAgent } from "../../agents/policy";
import { trainAgentGrpo } from "../../agents/train-grpo";
import { createReference } from "../../train/grpo";
import type { TinyTransformer } from "../../models/transformer";
import { tf } from "../../tf";
import { trainSft } from "../../train/sft";
import { armPlan, PrismArm, splitCorpus } from "./arms";
import { probeTrajectories, ProbeResult } from "../../prism/probe";
import { route } from "../../prism/routing";
import type { StudyBase } from "./study-base";

/** One arm's cost summed over its phases: wall-clock seconds and the hardware-independent counters (Table 3 analogue). */
export interface PhaseTotals { seconds: number; forwardTokens: number; backwardTokens: number; envSteps: number; optimizerSteps: number }

/** An arm's greedy evaluation on one split (seen or unseen): rates, per family and per task (for paired tests). */
export interface SplitEvaluation {
  successRate: number;
  meanScore: number;
  regularSuccess: number;
  conflictSuccess: number;
  perFamily: Record<string, number>;
  episodes: number;
  /** Per evaluation task, in the evaluation set's order: 1 solved / 0 not, and the 0–100 score (for paired tests across arms). */
  taskSuccess: number[];
  taskScore: number[];
}

/** One round of a stepwise arm: how the re-probed Gini scores compare with the base policy's and how the routing moved. */
export interface StepwiseRound {
  round: number;
  giniAuc: number;
  /** Spearman ρ between this round's Gini scores and the base policy's. */
  rhoWithBase: number;
  /** Fraction of corpus items a median split at this round routes differently than round 0. */
  routeChanges: number;
  /** Conflict share of the RL set used in this round. */
  conflictShareRl: number;
}

/** Everything one arm of one (env, seed) produced: both evaluations, the routing's sets and shares, RL diagnostics, stepwise rounds and cost. */
export interface PrismArmResult {
  seen: SplitEvaluation;
  unseen: SplitEvaluation;
  sftSize: number;
  rlSize: number;
  rlFraction: number;
  /** Conflict share of the SFT and RL sets (the corpus is 50%); NaN for an empty set. */
  conflictShareSft: number;
  conflictShareRl: number;
  routingTies: number;
  rlIterations: number;
  /** RL rollouts run, and how many of them were truncated to fit the context (the update then sees less history than the policy acted on). */
  rlRollouts: number;
  rlTruncatedRollouts: number;
  /**
   * Greedy success per seen evaluation task just before RL began (after the arm's SFT), for the
   * RL-effect table (paired with `seen.taskSuccess`); empty for arms without RL and for the
   * stepwise arms, whose RL is interleaved with SFT.
   */
  preRlSeenTaskSuccess: number[];
  /** Mean rollout success over the RL phase, and the fraction of groups with a reward spread. */
  rlRolloutSuccess: number;
  rlGroupsWithSignal: number;
  cost: Record<"probe" | "passRate" | "sft" | "rl", PhaseTotals>;
  trainSeconds: number;
  evalSeconds: number;
  stepwise: StepwiseRound[];
}

const zero = (): PhaseTotals => ({ seconds: 0, forwardTokens: 0, backwardTokens: 0, envSteps: 0, optimizerSteps: 0 });

function add(into: PhaseTotals, c: Partial<PhaseTotals>): void {
  for (const k of Object.keys(into) as (keyof PhaseTotals)[]) into[k] += c[k] ?? 0;
}

function probeCost(p: ProbeResult): Partial<PhaseTotals> {
  // One forward and one backward pass over every corpus position.
  const tokens = p.vectors.length * p.contextLength;
  return { seconds: p.seconds, forwardTokens: tokens, backwardTokens: tokens };
}

function summarise(r: EvaluationResult): SplitEvaluation {
  return {
    successRate: r.successRate, meanScore: r.meanScore, regularSuccess: r.regular.successRate, conflictSuccess: r.conflict.successRate,
    perFamily: Object.fromEntries(Object.entries(r.perFamily).map(([f, rec]) => [f, rec.successRate])), episodes: r.episodes,
    taskSuccess: r.trajectories!.map((t) => (t.success ? 1 : 0)), taskScore: r.trajectories!.map((t) => t.score),
  };
}

const share = (idx: readonly number[], labels: readonly boolean[]) => (idx.length === 0 ? NaN : idx.filter((i) => labels[i]).length / idx.length);

/**
 * One arm on one shared base stage. `onProgress` receives the share of the arm's optimizer work
 * done (SFT steps + RL iterations) and a note, for a sweep's progress display.
 */
export function runPrismArm(base: StudyBase, arm: PrismArm, q: number, seed: number, onProgress?: (fraction: number, note?: string) => void): PrismArmResult {
  const plan = armPlan(arm);
  const s = base.settings;
  const rng = new Rng(seed).derive("prism-arm", base.envName, arm, q);
  const cost = { probe: zero(), passRate: zero(), sft: zero(), rl: zero() };
  const n = base.corpus.length;
  const split = splitCorpus(arm, { n, scores: base.probe.scores, sqrtNumelScores: base.sqrtNumelScores, passRates: base.passRates, seed }, q);
  if (plan.needs === "probe" || plan.needs === "probe-sqrt-numel") add(cost.probe, probeCost(base.probe));
  if (plan.needs === "pass-rate") add(cost.passRate, base.passRateCost);

  const model = base.freshPolicy();
  const agent = new TransformerAgent(model, base.tokenizer);
  const disposeAtEnd: Array<{ dispose(): void }> = [];
  let preRlSeen: number[] = [];
  const started = Date.now();
  const stepwise: StepwiseRound[] = [];
  let rlIterations = 0, rolloutSuccessSum = 0, signalSum = 0, groupsSum = 0, rlRollouts = 0, rlTruncatedRollouts = 0;
  try {
    const rounds = plan.rounds === "one" ? 1 : s.stepwise.rounds;
    const sftStepsTotal = (size: number) => s.sft.epochs * Math.ceil(size / s.sft.batchSize);
    const rlItersTotal = (size: number) => Math.ceil((s.rl.epochs * size) / s.rl.tasksPerIteration);
    let sftSet = split.sft, rlSet = split.rl;
    // Budgets fixed from the first split so that re-routing moves data, not compute; the
    // compute-matched control takes a 50:50 split's budgets while seeing all the data.
    const half = Math.round(n / 2);
    const sftBudget = !plan.sft ? 0 : sftStepsTotal(plan.budget === "half-split" ? half : sftSet.length);
    const rlBudget = !plan.rl ? 0 : rlItersTotal(plan.budget === "half-split" ? half : rlSet.length);
    // One Adam per phase and one KL anchor for the whole arm: a stepwise arm's rounds are one SFT
    // run and one RL run interleaved, so re-routing is the only thing its rounds change.
    const sftOptimizer = tf.train.adam(s.sft.learningRate), rlOptimizer = tf.train.adam(s.rl.learningRate);
    disposeAtEnd.push(sftOptimizer, rlOptimizer);
    let reference: TinyTransformer | null = null;
    let workDone = 0;
    const tick = (units: number, note: string) => { workDone += units; onProgress?.(workDone / Math.max(1, sftBudget + rlBudget), note); };
    for (let round = 0; round < rounds; round++) {
      if (plan.rounds !== "one") {
        let gini = base.probe.scores.gini;
        if (round > 0) {
          const re = probeTrajectories(model, base.demos, { batchSize: 32, metrics: ["gini"] });
          add(cost.probe, probeCost(re));
          gini = re.scores.gini;
          const fresh = route(gini, { rule: "median" });
          if (plan.rounds === "reprobe") { sftSet = fresh.sftIndices; rlSet = fresh.rlIndices; }
          stepwise.push({
            round, giniAuc: rocAuc(gini, base.labels.map((l) => (l ? 1 : 0))), rhoWithBase: spearman(gini, base.probe.scores.gini),
            routeChanges: fresh.routes.filter((r, i) => r !== split.routes[i]).length / n, conflictShareRl: share(rlSet, base.labels),
          });
        } else {
          stepwise.push({ round, giniAuc: rocAuc(gini, base.labels.map((l) => (l ? 1 : 0))), rhoWithBase: 1, routeChanges: 0, conflictShareRl: share(rlSet, base.labels) });
        }
      }
      const sftSteps = Math.round((sftBudget * (round + 1)) / rounds) - Math.round((sftBudget * round) / rounds);
      if (sftSteps > 0 && sftSet.length > 0) {
        const r = trainSft(model, sftSet.map((i) => base.demos[i]), {
          epochs: Math.ceil(sftSteps / Math.ceil(sftSet.length / s.sft.batchSize)) + 1, maxSteps: sftSteps,
          batchSize: s.sft.batchSize, learningRate: s.sft.learningRate, seed: rng.derive("sft", round), optimizer: sftOptimizer,
        });
        add(cost.sft, { ...r.cost });
        tick(sftSteps, `SFT ${round + 1}/${rounds}`);
      }
      const iterations = Math.round((rlBudget * (round + 1)) / rounds) - Math.round((rlBudget * round) / rounds);
      if (iterations > 0 && rlSet.length > 0) {
        if (reference === null) {
          // The RL effect: greedy success on the seen set just before RL starts (after SFT), paired with the final one.
          if (plan.rounds === "one") preRlSeen = summarise(evaluateAgent(base.env, agent, base.evalSets.seen, { mode: "greedy", keepTrajectories: true })).taskSuccess;
          reference = createReference(model);
          disposeAtEnd.push(reference);
        }
        const r = trainAgentGrpo(base.env, agent, rlSet.map((i) => base.corpus[i]), {
          iterations, tasksPerIteration: Math.min(s.rl.tasksPerIteration, rlSet.length), groupSize: s.rl.groupSize,
          learningRate: s.rl.learningRate, klBeta: s.rl.klBeta, temperature: s.rl.temperature, stepLevel: plan.stepLevel,
          objective: s.rl.objective, ppoEpochs: s.rl.ppoEpochs, minibatchSize: s.rl.minibatchSize, reward: s.rl.reward,
          optimizer: rlOptimizer, reference,
          seed: rng.derive("rl", round), onIteration: (p) => tick(1, `RL ${p.iteration}/${iterations}`),
        });
        add(cost.rl, r.cost);
        rlIterations += iterations;
        for (const p of r.curve) {
          const groups = Math.min(s.rl.tasksPerIteration, rlSet.length);
          rolloutSuccessSum += p.rolloutSuccess; signalSum += p.groupsWithSignal; groupsSum += groups;
          rlRollouts += groups * s.rl.groupSize; rlTruncatedRollouts += p.truncatedSamples;
        }
      }
    }
    const trainSeconds = (Date.now() - started) / 1000;
    const evalStarted = Date.now();
    const seen = summarise(evaluateAgent(base.env, agent, base.evalSets.seen, { mode: "greedy", keepTrajectories: true }));
    const unseen = summarise(evaluateAgent(base.env, agent, base.evalSets.unseen, { mode: "greedy", keepTrajectories: true }));
    return {
      seen, unseen, sftSize: plan.sft ? split.sft.length : 0, rlSize: plan.rl ? split.rl.length : 0,
      rlFraction: plan.data === "split" ? split.rl.length / n : plan.rl ? 1 : 0,
      conflictShareSft: plan.sft ? share(split.sft, base.labels) : NaN, conflictShareRl: plan.rl ? share(split.rl, base.labels) : NaN,
      routingTies: split.routing?.ties ?? 0, rlIterations, rlRollouts, rlTruncatedRollouts, preRlSeenTaskSuccess: preRlSeen,
      rlRolloutSuccess: rlIterations > 0 ? rolloutSuccessSum / rlIterations : NaN,
      rlGroupsWithSignal: groupsSum > 0 ? signalSum / groupsSum : NaN,
      cost, trainSeconds, evalSeconds: (Date.now() - evalStarted) / 1000, stepwise,
    };
  } finally {
    for (const d of disposeAtEnd) d.dispose();
    model.dispose();
  }
}
