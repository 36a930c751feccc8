/**
 * One arm of the study = select → fine-tune → evaluate → describe:
 *  - the selection (selection.ts) for a target, budget, valK, δ;
 *  - a fresh LoRA on the base model trained on the selected pool examples with the SAME settings
 *    for every arm: either a fixed number of updates ("steps-matched": equal compute, but a 1%
 *    selection is repeated many more epochs than a 10% one) or, with `epochs`, a fixed number of
 *    passes over the selection ("epochs-matched", as the papers fine-tune: compute grows with B);
 *  - every target's held-out test: exact match of greedy decoding (toy) and mean response loss;
 *    the union target is scored on the pooled predictions of its parts;
 *  - the selection's composition (share of each pool group), conflicting and duplicate shares.
 * Fine-tuning results are memoised per pipeline by (selected set, seed, settings): arms that pick
 * the same set — "full" and "random" for every target, a δ that changes nothing — train once.
 */
import { createHash } from "node:crypto";
import { EmptyInputError } from "../../errors";
import { exactMatch, exampleLosses, fineTuneLora, greedyDecode, withLora } from "./evaluation";
import type { PreparedPipeline } from "./prepare";
import { SelectionOutcome, SelectionRequest, selectForTarget } from "./selection";

/**
 * How every arm fine-tunes its fresh LoRA (exported as `ArmFinetuneSettings`): the same settings for
 * every arm, either a fixed number of updates (steps-matched) or, with `epochs`, a fixed number of
 * passes over the arm's own selection (epochs-matched).
 */
export interface FinetuneSettings {
  /** Optimizer updates (steps-matched regime); ignored when `epochs` is set. */
  steps: number;
  /** Examples per update. */
  batchSize: number;
  /** Peak learning rate (linear decay). */
  learningRate: number;
  /** Epochs-matched regime: ceil(epochs · |selection| / batchSize) updates instead of `steps`. */
  epochs?: number;
}

/** The number of updates an arm trains for under `finetune` on `selected` examples. */
export function finetuneSteps(finetune: FinetuneSettings, selected: number): number {
  return finetune.epochs === undefined ? finetune.steps : Math.max(1, Math.ceil((finetune.epochs * selected) / finetune.batchSize));
}

/** One target's held-out scores after an arm's fine-tune: exact match and loss, overall, per subtask and per item (for paired tests). */
export interface TargetScores {
  /** Exact-match accuracy of greedy decoding (null for real text: not meaningful there). */
  exactMatch: number | null;
  /** Mean response-token loss on the test. */
  loss: number;
  /** Exact match per subtask (toy). */
  perSubtask: Record<string, number>;
  /** Per test item, in the test set's order: 1 exact match / 0 not (null for real text), and its loss — for paired tests across arms. */
  itemCorrect: number[] | null;
  itemLoss: number[];
}

/** What `runArm` returns: the selection, what it is made of, every target's held-out scores and the cost. */
export interface ArmResult {
  selection: SelectionOutcome;
  /** Share of the selection from each pool group (0 for groups not picked). */
  composition: Record<string, number>;
  conflictFraction: number;
  duplicateFraction: number;
  scores: Record<string, TargetScores>;
  finetuneSeconds: number;
  evaluationSeconds: number;
  /** True when the fine-tune + evaluation came from the memo. */
  reused: boolean;
  tokens: number;
}

const memos = new WeakMap<PreparedPipeline, Map<string, { scores: Record<string, TargetScores>; finetuneSeconds: number; evaluationSeconds: number; tokens: number }>>();

/** Scores every target of the dataset for `params` (null = the base model without LoRA). */
export function scoreTargets(p: PreparedPipeline, params: Float32Array | null): Record<string, TargetScores> {
  const { dataset } = p;
  const run = () => {
    const perTarget: Record<string, { predictions: string[] | null; losses: number[] }> = {};
    const names = Object.keys(dataset.targets).filter((n) => n !== "union");
    for (const name of names) {
      const test = dataset.targets[name].test;
      const predictions = dataset.kind === "toy" ? greedyDecode(p.base, dataset.codec, test.map((e) => e.prompt), { maxNewTokens: dataset.maxAnswerTokens + 1 }) : null;
      perTarget[name] = { predictions, losses: exampleLosses(p.base, test.map((e) => e.example)) };
    }
    const scores: Record<string, TargetScores> = {};
    const summarise = (entries: { answer: string; subtask: string }[], predictions: string[] | null, losses: number[]): TargetScores => {
      const perSubtask: Record<string, number> = {};
      if (predictions !== null) {
        for (const s of [...new Set(entries.map((e) => e.subtask))]) {
          const idx = entries.map((e, i) => (e.subtask === s ? i : -1)).filter((i) => i >= 0);
          perSubtask[s] = exactMatch(idx.map((i) => predictions[i]), idx.map((i) => entries[i].answer));
        }
      }
      return {
        exactMatch: predictions === null ? null : exactMatch(predictions, entries.map((e) => e.answer)), loss: losses.reduce((a, b) => a + b, 0) / losses.length, perSubtask,
        itemCorrect: predictions === null ? null : predictions.map((pr, i) => (pr.trim() === entries[i].answer.trim() ? 1 : 0)), itemLoss: losses,
      };
    };
    for (const name of names) scores[name] = summarise(dataset.targets[name].test, perTarget[name].predictions, perTarget[name].losses);
    if (dataset.targets.union !== undefined) {
      // The union's test is the concatenation of its parts' tests (pool.ts), in target order.
      const entries = names.flatMap((n) => dataset.targets[n].test);
      const predictions = dataset.kind === "toy" ? names.flatMap((n) => perTarget[n].predictions!) : null;
      scores.union = summarise(entries, predictions, names.flatMap((n) => perTarget[n].losses));
    }
    return scores;
  };
  return params === null ? run() : withLora(p.base, p.loraOptions, params, run);
}

function describe(p: PreparedPipeline, indices: readonly number[]): { composition: Record<string, number>; conflictFraction: number; duplicateFraction: number } {
  const composition: Record<string, number> = Object.fromEntries(p.dataset.groups.map((g) => [g, 0]));
  let conflicts = 0, duplicates = 0;
  for (const i of indices) {
    const e = p.dataset.pool[i];
    composition[e.group] = (composition[e.group] ?? 0) + 1;
    if (e.conflict) conflicts++;
    if (e.duplicate) duplicates++;
  }
  const n = Math.max(1, indices.length);
  for (const g of Object.keys(composition)) composition[g] /= n;
  return { composition, conflictFraction: conflicts / n, duplicateFraction: duplicates / n };
}

/**
 * One arm of the study (see the module header): select with `selectForTarget`, fine-tune a fresh
 * LoRA on the selection under `finetune`, score every target's held-out test item by item, and
 * describe the selection. Fine-tunes of an identical selection are memoised per pipeline.
 *
 * @example
 * ```ts
 * // `pipe` from lab.studies.g2is.preparePipeline (see its example)
 * const arm = lab.studies.g2is.runArm(pipe, { method: "g2is", target: "multi", trainK: 0.1, valK: 0.5, delta: 0.8, k: 5, seed: 0 },
 *   { steps: 10, batchSize: 8, learningRate: 1e-3 });              // add `epochs: 3` for the epochs-matched regime
 * arm.scores.multi.exactMatch;   // greedy-decoding exact match on the held-out test (0–1)
 * arm.scores.multi.itemCorrect;  // per test item, for paired tests against another arm
 * arm.conflictFraction;          // share of planted conflicting items in the selection
 * ```
 */
export function runArm(p: PreparedPipeline, request: SelectionRequest, finetune: FinetuneSettings): ArmResult {
  const selection = selectForTarget(p, request);
  if (selection.indices.length === 0 && request.method !== "base") throw new EmptyInputError("selection", `at least one example (method ${request.method} selected none)`);
  let memo = memos.get(p);
  if (memo === undefined) { memo = new Map(); memos.set(p, memo); }
  const sorted = [...selection.indices].sort((a, b) => a - b);
  const key = createHash("sha256").update(JSON.stringify({ sorted, seed: request.seed, finetune })).digest("hex");
  let cached = memo.get(key);
  const reused = cached !== undefined;
  if (cached === undefined) {
    let params: Float32Array | null = null, finetuneSeconds = 0, tokens = 0;
    if (sorted.length > 0) {
      const training = { steps: finetuneSteps(finetune, sorted.length), batchSize: finetune.batchSize, learningRate: finetune.learningRate, schedule: "linear" as const };
      const tuned = fineTuneLora(p.base, sorted.map((i) => p.dataset.pool[i].example), { lora: p.loraOptions, training }, request.seed);
      params = tuned.params;
      finetuneSeconds = tuned.seconds;
      tokens = tuned.tokens;
    }
    const started = performance.now();
    const scores = scoreTargets(p, params);
    cached = { scores, finetuneSeconds, evaluationSeconds: (performance.now() - started) / 1000, tokens };
    memo.set(key, cached);
  }
  return { selection, ...describe(p, selection.indices), ...cached, reused };
}
