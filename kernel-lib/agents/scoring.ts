/**
 * Batched teacher-forced scoring of candidate continuations: for each query (a context) and each
 * of its candidates (an action's tokens), the model's summed log-probability of the candidate's
 * tokens given the context — log p(a | ctx) = Σ_j log p(a_j | ctx, a_<j).
 *
 * Two exact strategies, same numbers up to float rounding:
 * - "shared-prefix" (default, prefix-scoring.ts): each context goes through the model ONCE and its
 *   keys/values are reused by all of its candidates — an agent step costs one context row plus a
 *   few candidate tokens instead of one full row per candidate (measured per agent step: MiniALF
 *   ~130 instead of ~1150 token positions, MiniShop ~130 instead of ~470; 3–9× the steps/s on wasm).
 * - "full-rows" (here): every (query, candidate) pair is one row `context ++ candidate` through
 *   `model.forward`. Rows are sorted by length and each chunk of at most `maxRowsPerForward` rows
 *   is right-padded only to its longest row: the model is causal, so padding after a row never
 *   changes its logits. It uses nothing but the model's public forward: the reference the
 *   shared-prefix strategy is tested against (and the tests check both against a one-row loop).
 * Either way all queries (all waiting episodes' steps) are batched together; only the log-probs
 * of candidate tokens are read back.
 */

import { tf } from "../tf";
import { assertKnownKeys, assertOneOf, EmptyInputError, InvalidArgumentError } from "../errors";
import { PAD_ID } from "../envs/tokenizer";
import type { TinyTransformer } from "../models/transformer";
import { scoreSharedPrefix } from "./prefix-scoring";

/** One scoring query: a context and the candidate continuations to score after it. */
export interface CandidateQuery {
  /** Context token ids (at least one: the first candidate token is predicted from its last). */
  context: readonly number[];
  /** Candidate continuations; an empty candidate scores 0 (log of an empty product). */
  candidates: ReadonlyArray<readonly number[]>;
}

/**
 * What `scoreCandidates` returns: summed log-probabilities per query and candidate, and the forward
 * passes spent.
 */
export interface CandidateScores {
  /** [query][candidate] summed log-probability of the candidate's tokens. */
  scores: number[][];
  /** Token positions pushed through the model (rows × padded length, summed over forward passes). */
  forwardTokens: number;
  forwardPasses: number;
}

/** Rows per forward pass when scoring candidate actions (bounds the memory of one batched forward). */
export const DEFAULT_MAX_ROWS_PER_FORWARD = 256;

/**
 * How candidates are scored: "shared-prefix" (default, context once per query) or "full-rows" (one
 * row per candidate; the oracle).
 */
export const SCORING_STRATEGIES = ["shared-prefix", "full-rows"] as const;
/** shared-prefix: context once per query, candidates attend to its cached keys (prefix-scoring.ts); full-rows: one full row per candidate. */
export type ScoringStrategy = (typeof SCORING_STRATEGIES)[number];

/**
 * One row of a full-rows scoring pass: which query and candidate, and its context and action
 * tokens.
 */
export interface ScoringRow { query: number; candidate: number; context: readonly number[]; action: readonly number[] }

/**
 * Validates the queries against the model (context non-empty, context + candidate ≤ maxLen, ids
 * in the vocabulary) and lists the rows to score (non-empty candidates) with zero-filled scores.
 */
export function prepareScoring(model: TinyTransformer, queries: readonly CandidateQuery[]): { scores: number[][]; rows: ScoringRow[] } {
  if (!Array.isArray(queries)) throw new InvalidArgumentError("queries", "an array of {context, candidates}", queries);
  const { maxLen, vocabSize } = model.config;
  const checkIds = (argument: string, ids: readonly number[]) => {
    for (const id of ids) if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new InvalidArgumentError(argument, `token ids in [0, ${vocabSize})`, id);
  };
  const rows: ScoringRow[] = [];
  const scores = queries.map((q, i) => {
    if (q === null || typeof q !== "object" || !Array.isArray(q.context) || !Array.isArray(q.candidates)) {
      throw new InvalidArgumentError(`queries[${i}]`, "an object {context: number[], candidates: number[][]}", q);
    }
    if (q.context.length === 0) throw new EmptyInputError(`queries[${i}].context`, "at least one token to predict the first candidate token from");
    checkIds(`queries[${i}].context`, q.context);
    q.candidates.forEach((c: readonly number[], j: number) => {
      if (!Array.isArray(c)) throw new InvalidArgumentError(`queries[${i}].candidates[${j}]`, "an array of token ids", c);
      checkIds(`queries[${i}].candidates[${j}]`, c);
      if (q.context.length + c.length > maxLen) {
        throw new InvalidArgumentError(`queries[${i}].candidates[${j}]`, `context + candidate of at most maxLen=${maxLen} tokens`, q.context.length + c.length);
      }
      if (c.length > 0) rows.push({ query: i, candidate: j, context: q.context, action: c });
    });
    return q.candidates.map(() => 0);
  });
  return { scores, rows };
}

/**
 * Log-likelihood of each candidate continuation given its query's context, under `model`.
 * "shared-prefix" (default) encodes each context once and lets the candidates attend to its cached
 * keys; "full-rows" runs one full row per candidate (the oracle).
 */
export function scoreCandidates(model: TinyTransformer, queries: readonly CandidateQuery[], options: { strategy?: ScoringStrategy; maxRowsPerForward?: number } = {}): CandidateScores {
  assertKnownKeys("options", options, ["strategy", "maxRowsPerForward"]);
  const strategy = options.strategy ?? "shared-prefix";
  assertOneOf("options.strategy", String(strategy), SCORING_STRATEGIES);
  const maxRows = options.maxRowsPerForward ?? DEFAULT_MAX_ROWS_PER_FORWARD;
  if (!Number.isInteger(maxRows) || maxRows <= 0) throw new InvalidArgumentError("options.maxRowsPerForward", "a positive integer", maxRows);
  const { scores, rows } = prepareScoring(model, queries);
  const run = strategy === "full-rows" ? scoreFullRows : scoreSharedPrefix;
  const { forwardTokens, forwardPasses } = run(model, rows, scores, maxRows);
  return { scores, forwardTokens, forwardPasses };
}

/** One row `context ++ candidate` per candidate; adds into `scores`. */
function scoreFullRows(model: TinyTransformer, rows: readonly ScoringRow[], scores: number[][], maxRowsPerForward: number): { forwardTokens: number; forwardPasses: number } {
  const vocabSize = model.config.vocabSize;
  // Longest first, ties in input order: chunks of similar lengths waste little padding.
  const ordered = rows.map((r) => ({ ...r, tokens: [...r.context, ...r.action] }))
    .sort((a, b) => b.tokens.length - a.tokens.length || a.query - b.query || a.candidate - b.candidate);
  let forwardTokens = 0, forwardPasses = 0;
  for (let from = 0; from < ordered.length; from += maxRowsPerForward) {
    const chunk = ordered.slice(from, from + maxRowsPerForward);
    const T = chunk[0].tokens.length;
    const padded = chunk.map((r) => r.tokens.concat(new Array<number>(T - r.tokens.length).fill(PAD_ID)));
    // Position p of row b predicts token p+1: flat row index b·T + p, target id per pick.
    const positions: number[] = [], targets: number[] = [], owners: number[] = [];
    chunk.forEach((r, b) => {
      for (let p = r.context.length - 1; p < r.tokens.length - 1; p++) { positions.push(b * T + p); targets.push(r.tokens[p + 1]); owners.push(b); }
    });
    const picked = tf.tidy(() => {
      const logits = model.forward(padded);
      const atPositions = tf.gather(tf.reshape(logits, [chunk.length * T, vocabSize]), tf.tensor1d(positions, "int32"));
      const logProbs = tf.reshape(tf.logSoftmax(atPositions), [-1]);
      return tf.gather(logProbs, tf.tensor1d(targets.map((t, k) => k * vocabSize + t), "int32"));
    });
    const values = picked.dataSync();
    picked.dispose();
    values.forEach((v, k) => { const r = chunk[owners[k]]; scores[r.query][r.candidate] += v; });
    forwardTokens += chunk.length * T;
    forwardPasses += 1;
  }
  return { forwardTokens, forwardPasses };
}

/** softmax(scores / temperature), computed stably (max subtracted). */
export function softmaxWithTemperature(scores: readonly number[], temperature = 1): number[] {
  if (scores.length === 0) throw new EmptyInputError("scores", "at least one candidate score");
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new InvalidArgumentError("temperature", "a finite number > 0", temperature);
  const scaled = scores.map((s) => s / temperature);
  const top = Math.max(...scaled);
  if (!Number.isFinite(top)) throw new InvalidArgumentError("scores", "finite log-probabilities", top);
  const exps = scaled.map((s) => Math.exp(s - top));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}

/** Index of the largest score (the first one on ties). */
export function argmax(values: readonly number[]): number {
  if (values.length === 0) throw new EmptyInputError("values", "at least one value");
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
