/**
 * log π(a_t | s_t) for every decision of whole episodes, with each episode's context run through
 * the model once instead of once per step.
 *
 * Why it is exact: the agent's context for step t (tokenizer.encodeContext: <bos> instruction,
 * past steps, <obs> observation <act>) is a prefix of its context for step t+1 whenever no old
 * step had to be dropped to fit the context length. Under causal attention a prefix's hidden
 * states do not depend on what follows it, so the longest context of a run of nested steps gives
 * every shorter one's states; each step's candidates attend only to their own step's prefix
 * (PrefixQuery.contextLengths). A step whose context is not an extension of the previous one
 * (history dropped) starts a new shared context, so truncated episodes stay exact, only slower.
 *
 * Cost: an episode of n steps and context T runs ~T + Σ_t |candidate tokens| positions instead of
 * Σ_t T_t + |candidate tokens| (~n/2 times fewer context positions). The test compares it with
 * the per-step path (actionLogProbs) value by value and gradient by gradient.
 */
import { tf } from "../tf";
import { InvalidArgumentError } from "../errors";
import type { TinyTransformer } from "../models/transformer";
import { candidateScoreMatrix, PrefixQuery } from "./prefix-scoring";

/** One decision step to score: the context and candidates the agent saw, and which it chose. */
export interface ScoredDecision { query: PrefixQuery; chosen: number }

/** Where one decision's candidates sit among its shared query's actions. */
export interface PlacedDecision {
  /** Index of the decision within its episode (the step slot of the loss layout). */
  slot: number;
  /** Which of the episode's queries holds it. */
  query: number;
  /** Its candidates are actions first … first + count − 1 of that query. */
  first: number;
  count: number;
  /** Index of the chosen candidate among its own `count`. */
  chosen: number;
}

/** An episode's decisions as shared-context queries. */
export interface EpisodeQueries { queries: PrefixQuery[]; decisions: PlacedDecision[] }

function extendsContext(previous: readonly number[], next: readonly number[]): boolean {
  if (next.length < previous.length) return false;
  for (let i = 0; i < previous.length; i++) if (previous[i] !== next[i]) return false;
  return true;
}

/** Groups an episode's decisions (in step order) into as few shared-context queries as exactness allows. */
export function episodeQueries(decisions: readonly ScoredDecision[]): EpisodeQueries {
  const queries: Array<{ context: readonly number[]; actions: Array<readonly number[]>; contextLengths: number[] }> = [];
  const placed: PlacedDecision[] = [];
  decisions.forEach((decision, slot) => {
    const context = decision.query.context;
    let current = queries[queries.length - 1];
    if (current === undefined || !extendsContext(current.context, context)) {
      current = { context, actions: [], contextLengths: [] };
      queries.push(current);
    } else {
      current.context = context;
    }
    placed.push({ slot, query: queries.length - 1, first: current.actions.length, count: decision.query.actions.length, chosen: decision.chosen });
    for (const action of decision.query.actions) {
      current.actions.push(action);
      current.contextLengths.push(context.length);
    }
  });
  return { queries, decisions: placed };
}

/**
 * log π of every decision of `episodes`, laid out [episodes.length, S] (S ≥ the most decisions of
 * any episode; empty slots hold 0). Differentiable; the caller owns the result. `forwardTokens`
 * counts the token positions run.
 */
export function episodeLogProbs(model: TinyTransformer, episodes: readonly EpisodeQueries[], S: number, temperature: number): { logProbs: tf.Tensor2D; forwardTokens: number } {
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new InvalidArgumentError("temperature", "a finite number > 0", temperature);
  const queries = episodes.flatMap((e) => e.queries);
  if (queries.length === 0) throw new InvalidArgumentError("episodes", "at least one decision");
  const maxSlots = Math.max(...episodes.map((e) => e.decisions.length));
  if (!Number.isInteger(S) || S < maxSlots) throw new InvalidArgumentError("S", `an integer ≥ the most decisions of an episode (${maxSlots})`, S);
  const Qn = queries.length, C = Math.max(...queries.map((q) => q.actions.length));
  // Decision rows: D per query (the most any query holds); row (q, r) is q's r-th decision.
  const queryBase: number[] = [];
  episodes.reduce((base, e) => { queryBase.push(base); return base + e.queries.length; }, 0);
  const rowsNeeded = episodes.map((e, episode) => e.decisions.map((d) => ({ q: queryBase[episode] + d.query, d })));
  const perQuery = new Array<number>(Qn).fill(0);
  for (const list of rowsNeeded) for (const { q } of list) perQuery[q]++;
  const rowOf: Array<{ episode: number; slot: number; row: number }> = [];
  const D = Math.max(...perQuery);
  const member = new Float32Array(Qn * D * C).fill(-1e9);
  const chosen = new Float32Array(Qn * D * C);
  const filled = new Array<number>(Qn).fill(0);
  rowsNeeded.forEach((list, episode) => list.forEach(({ q, d }) => {
    const r = filled[q]++;
    const base = (q * D + r) * C;
    member.fill(0, base + d.first, base + d.first + d.count);
    chosen[base + d.first + d.chosen] = 1;
    rowOf.push({ episode, slot: d.slot, row: q * D + r });
  }));
  const place = new Float32Array(episodes.length * S * Qn * D);
  for (const { episode, slot, row } of rowOf) place[(episode * S + slot) * Qn * D + row] = 1;
  let forwardTokens = 0;
  const logProbs = tf.tidy(() => {
    const matrix = candidateScoreMatrix(model, queries);
    forwardTokens = matrix.forwardTokens;
    // Each decision's softmax runs over its own candidates only (−1e9 elsewhere: exp gives 0).
    const logits = tf.add(tf.reshape(tf.div(matrix.scores, temperature), [Qn, 1, C]), tf.tensor3d(member, [Qn, D, C]));
    const perRow = tf.sum(tf.mul(tf.logSoftmax(logits), tf.tensor3d(chosen, [Qn, D, C])), 2);
    const placed = tf.matMul(tf.tensor2d(place, [episodes.length * S, Qn * D]), tf.reshape(perRow, [Qn * D, 1]));
    return tf.reshape(placed, [episodes.length, S]) as tf.Tensor2D;
  });
  return { logProbs, forwardTokens };
}
