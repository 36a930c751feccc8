/**
 * Shared-prefix candidate scoring for the TinyTransformer: the context of a query goes through
 * the model once, and every candidate of that query runs only its own few tokens, attending to
 * the context's cached keys/values plus its own earlier tokens. Exact (same function as scoring
 * each `context ++ candidate` row with `model.forward`), but an agent step costs ~|context| +
 * Σ|candidate| token positions instead of #candidates × |context|. MiniALF has ~13 admissible
 * actions of ≤ 4 tokens after a context of up to ~120 tokens, so this is ~9× less work. What remains
 * is mostly attention: wasm runs batched matMuls (any batch dimension) on a slow generic kernel.
 *
 * Why here and not in models/: it is an inference-only path for agents (no gradients, no
 * per-example sites). It mirrors TinyTransformer's forward op for op — pre-norm RMSNorm,
 * grouped-query attention with q heads folded per kv head, SwiGLU, LoRA adapters through
 * `model.loraAdapters.apply` — and the tests compare it with `model.forward` (the "full-rows"
 * strategy) and a one-candidate-at-a-time loop. If the transformer's forward changes, those tests
 * fail here first.
 *
 * Masks: context rows are right-padded to the chunk's longest context; a candidate token must not
 * see those pad positions (k ≥ its context length) nor later candidate tokens (causal).
 */

import { tf } from "../tf";
import { rmsNorm, TinyTransformer } from "../models/transformer";
import { plainLinear } from "../models/dense-sites";
import { matMulFast, oneHotFloat } from "../models/ops";
import { PAD_ID } from "../envs/tokenizer";
import type { ScoringRow } from "./scoring";

const MASKED = -1e9; // the transformer's own mask value, so softmax weights match bit for bit

export function scoreSharedPrefix(model: TinyTransformer, rows: readonly ScoringRow[], scores: number[][], maxRowsPerForward: number): { forwardTokens: number; forwardPasses: number } {
  const byQuery = new Map<number, ScoringRow[]>();
  for (const r of rows) byQuery.set(r.query, [...(byQuery.get(r.query) ?? []), r]);
  // Longest contexts first so each chunk's padding is small.
  const groups = [...byQuery.values()].sort((a, b) => b[0].context.length - a[0].context.length || a[0].query - b[0].query);
  let forwardTokens = 0, forwardPasses = 0;
  for (let from = 0; from < groups.length;) {
    const chunk: ScoringRow[][] = [];
    let rowCount = 0;
    while (from < groups.length && (chunk.length === 0 || rowCount + groups[from].length <= maxRowsPerForward)) {
      rowCount += groups[from].length;
      chunk.push(groups[from++]);
    }
    forwardTokens += scoreChunk(model, chunk, scores);
    forwardPasses += 1;
  }
  return { forwardTokens, forwardPasses };
}

/** One context and its candidate actions (each non-empty one is scored; an empty one scores 0). */
export interface PrefixQuery { context: readonly number[]; actions: ReadonlyArray<readonly number[]> }

/**
 * Id, position and mask buffers for a batch of queries. Candidate tokens are laid out [query,
 * candidate slot c < C, token i < M] (padded), so the attention of all candidates of a query to
 * its context is one batched product with that context's keys — no per-candidate copies of the
 * keys (tf.gather on big tensors is slow on wasm).
 */
interface PrefixLayout {
  Q: number; Tc: number; C: number; M: number; N: number;
  ctxIds: Int32Array; candIds: Int32Array; candPositions: Int32Array; ctxMask: Float32Array; candMask: Float32Array;
}

function layoutQueries(model: TinyTransformer, queries: readonly PrefixQuery[]): PrefixLayout {
  const { nHeads: H, nKvHeads: Hkv, maxLen } = model.config;
  const G = H / Hkv;
  const Q = queries.length;
  const Tc = Math.max(...queries.map((q) => q.context.length));
  const C = Math.max(...queries.map((q) => q.actions.length));
  const M = Math.max(1, ...queries.flatMap((q) => q.actions.map((a) => a.length)));
  const N = C * M; // candidate token slots per query
  const ctxIds = new Int32Array(Q * Tc).fill(PAD_ID);
  const candIds = new Int32Array(Q * N).fill(PAD_ID);
  const candPositions = new Int32Array(Q * N);
  const ctxMask = new Float32Array(G * Tc * Tc);
  for (let i = 0; i < G * Tc; i++) for (let s = (i % Tc) + 1; s < Tc; s++) ctxMask[i * Tc + s] = MASKED;
  // Candidate slot (c, i) of query q sees context keys k < Lc(q) and its own tokens j ≤ i.
  const candMask = new Float32Array(Q * N * (Tc + M));
  queries.forEach((query, q) => {
    const Lc = query.context.length;
    ctxIds.set(query.context, q * Tc);
    for (let slot = 0; slot < N; slot++) {
      candPositions[q * N + slot] = Math.min(Lc + (slot % M), maxLen - 1);
      const base = (q * N + slot) * (Tc + M);
      for (let k = Lc; k < Tc; k++) candMask[base + k] = MASKED;
      for (let j = (slot % M) + 1; j < M; j++) candMask[base + Tc + j] = MASKED;
    }
    query.actions.forEach((action, c) => candIds.set(action, q * N + c * M));
  });
  return { Q, Tc, C, M, N, ctxIds, candIds, candPositions, ctxMask, candMask };
}

/**
 * The final-layer hidden states (before the final norm) of every context position h [Q·Tc, d] and
 * every candidate slot g [Q·N, d]. Differentiable; call inside a tidy or a loss closure.
 */
function sharedPrefixStates(model: TinyTransformer, layout: PrefixLayout): { h: tf.Tensor2D; g: tf.Tensor2D } {
  const { vocabSize: V, dModel: d, nLayers: L, nHeads: H, nKvHeads: Hkv, normEps: eps, maxLen } = model.config;
  const hd = model.headDim, G = H / Hkv;
  const { Q, Tc, C, M, N } = layout;
  const w = (name: string) => model.weight(name);
  const adapters = model.loraAdapters;
  const dense = (name: string, x: tf.Tensor2D): tf.Tensor2D => {
    const y = plainLinear(name, x, w(name) as tf.Tensor2D);
    return adapters === null ? y : adapters.apply(name, x, y, plainLinear);
  };
  const embed = (ids: Int32Array, positions: tf.Tensor2D | null) => {
    const tokens = matMulFast(oneHotFloat(tf.tensor1d(ids, "int32"), V), w("tokenEmbedding") as tf.Tensor2D);
    return positions === null ? tokens : tf.add(tokens, positions) as tf.Tensor2D;
  };
  /** [B·T, n·hd] → [B, n, T, hd] */
  const toHeads = (x: tf.Tensor2D, B: number, T: number, n: number) => tf.transpose(tf.reshape(x, [B, T, n, hd]), [0, 2, 1, 3]) as tf.Tensor4D;
  /** kv heads [B, Hkv, T, hd] → one per query head [B·H, T, hd] (query head h reads kv head ⌊h/G⌋). */
  const perQueryHead = (x: tf.Tensor4D, B: number, T: number) =>
    tf.reshape(G === 1 ? x : tf.tile(tf.reshape(x, [B, Hkv, 1, T * hd]), [1, 1, G, 1]), [B * H, T, hd]) as tf.Tensor3D;
  const mlp = (x: tf.Tensor2D, l: number) => {
    const m = rmsNorm(x, w(`layer${l}.mlpNorm`) as tf.Tensor1D, eps);
    const gate = dense(`layer${l}.gate`, m), up = dense(`layer${l}.up`, m);
    return tf.add(x, dense(`layer${l}.down`, tf.mul(tf.mul(gate, tf.sigmoid(gate)), up))) as tf.Tensor2D;
  };
  const scale = 1 / Math.sqrt(hd);

  // Context positions 0…Tc−1 broadcast over the queries (as the model does; tile is slow on wasm).
  let h = tf.reshape(tf.add(tf.reshape(embed(layout.ctxIds, null), [Q, Tc, d]), tf.slice(w("positionEmbedding"), [0, 0], [Tc, d])), [Q * Tc, d]) as tf.Tensor2D;
  let g = embed(layout.candIds, matMulFast(oneHotFloat(tf.tensor1d(layout.candPositions, "int32"), maxLen), w("positionEmbedding") as tf.Tensor2D));
  const ctxMaskT = tf.tensor2d(layout.ctxMask, [G * Tc, Tc]);
  const candMaskT = tf.tensor4d(layout.candMask, [Q, 1, N, Tc + M]);
  for (let l = 0; l < L; l++) {
    const norm = w(`layer${l}.attnNorm`) as tf.Tensor1D;
    // Context: the model's own attention (q heads folded per kv head) on the padded context rows.
    const a = rmsNorm(h, norm, eps);
    const kc = toHeads(dense(`layer${l}.k`, a), Q, Tc, Hkv), vc = toHeads(dense(`layer${l}.v`, a), Q, Tc, Hkv);
    const qc = tf.reshape(toHeads(dense(`layer${l}.q`, a), Q, Tc, H), [Q * Hkv, G * Tc, hd]);
    const ctxScores = tf.add(tf.mul(tf.matMul(qc, tf.reshape(kc, [Q * Hkv, Tc, hd]), false, true), scale), ctxMaskT);
    const ctxOut = tf.matMul(tf.softmax(ctxScores), tf.reshape(vc, [Q * Hkv, Tc, hd]));
    const ctxAttention = tf.reshape(tf.transpose(tf.reshape(ctxOut, [Q, H, Tc, hd]), [0, 2, 1, 3]), [Q * Tc, H * hd]) as tf.Tensor2D;
    const hNext = mlp(tf.add(h, dense(`layer${l}.o`, ctxAttention)), l);
    // Candidates: scores against the query's context keys and against their own earlier tokens,
    // one softmax over both.
    const b = rmsNorm(g, norm, eps);
    const qg = tf.reshape(toHeads(dense(`layer${l}.q`, b), Q, N, H), [Q * H, N, hd]);
    const kSelf = perQueryHead(toHeads(dense(`layer${l}.k`, b), Q, N, Hkv), Q, N);
    const vSelf = perQueryHead(toHeads(dense(`layer${l}.v`, b), Q, N, Hkv), Q, N);
    const toContext = tf.matMul(qg, perQueryHead(kc, Q, Tc), false, true); // [Q·H, N, Tc]
    const toSelf = tf.reshape(tf.matMul(tf.reshape(qg, [Q * H * C, M, hd]), tf.reshape(kSelf, [Q * H * C, M, hd]), false, true), [Q * H, N, M]);
    const raw = tf.mul(tf.concat([toContext, toSelf], 2), scale);
    const weights = tf.reshape(tf.softmax(tf.add(tf.reshape(raw, [Q, H, N, Tc + M]), candMaskT)), [Q * H, N, Tc + M]);
    const fromContext = tf.matMul(tf.slice(weights, [0, 0, 0], [Q * H, N, Tc]), perQueryHead(vc, Q, Tc));
    const fromSelf = tf.matMul(tf.reshape(tf.slice(weights, [0, 0, Tc], [Q * H, N, M]), [Q * H * C, M, M]), tf.reshape(vSelf, [Q * H * C, M, hd]));
    const candOut = tf.add(fromContext, tf.reshape(fromSelf, [Q * H, N, hd]));
    const candAttention = tf.reshape(tf.transpose(tf.reshape(candOut, [Q, H, N, hd]), [0, 2, 1, 3]), [Q * N, H * hd]) as tf.Tensor2D;
    g = mlp(tf.add(g, dense(`layer${l}.o`, candAttention)), l);
    h = hNext;
  }
  return { h, g };
}

/** log-softmax of the model's head on hidden states x [R, d] (final norm applied). */
function headLogProbs(model: TinyTransformer, x: tf.Tensor2D): tf.Tensor2D {
  return tf.logSoftmax(plainLinear("head", rmsNorm(x, model.weight("finalNorm") as tf.Tensor1D, model.config.normEps), model.weight("head") as tf.Tensor2D));
}

/**
 * Scores one chunk of queries (each a list of rows sharing one context) into `scores`; returns
 * token positions run. Inference only: picks log-probs with tf.gather (fast, no wasm gradient).
 */
function scoreChunk(model: TinyTransformer, queries: ScoringRow[][], scores: number[][]): number {
  const V = model.config.vocabSize;
  const layout = layoutQueries(model, queries.map((group) => ({ context: group[0].context, actions: group.map((r) => r.action) })));
  const { Tc, M, N } = layout;
  // Picks: log p of each candidate token; the first is read at the context's last position.
  const firstPicks: number[] = [], slotsToRead: number[] = [], slotTargets: number[] = [];
  queries.forEach((group, q) => group.forEach((row, c) => {
    firstPicks.push(q * V + row.action[0]);
    for (let i = 0; i + 1 < row.action.length; i++) { slotsToRead.push(q * N + c * M + i); slotTargets.push(row.action[i + 1]); }
  }));
  const picked = tf.tidy(() => {
    const { h, g } = sharedPrefixStates(model, layout);
    const logProbsAt = (x: tf.Tensor2D, at: number[]) => tf.reshape(headLogProbs(model, tf.gather(x, tf.tensor1d(at, "int32"))), [-1]);
    const lastContext = queries.map((group, q) => q * Tc + group[0].context.length - 1);
    const first = tf.gather(logProbsAt(h, lastContext), tf.tensor1d(firstPicks, "int32"));
    if (slotsToRead.length === 0) return first;
    const rest = tf.gather(logProbsAt(g, slotsToRead), tf.tensor1d(slotTargets.map((t, k) => k * V + t), "int32"));
    return tf.concat([first, rest]);
  });
  const values = picked.dataSync();
  picked.dispose();
  const rows = queries.flat();
  rows.forEach((row, i) => { scores[row.query][row.candidate] += values[i]; });
  let k = rows.length;
  rows.forEach((row) => { for (let i = 0; i + 1 < row.action.length; i++) scores[row.query][row.candidate] += values[k++]; });
  return layout.Q * Tc + layout.Q * N;
}

/**
 * Differentiable log p_θ(a | ctx) of every candidate of every query, as [Q, C] (C = the most
 * candidates of any query; the second tensor is 1 where a candidate exists, 0 on padding). Same
 * numbers as `scoreSharedPrefix`, but the picks are one-hot products instead of tf.gather (wasm
 * has no gather gradient), so an action-level policy gradient can flow through it. All queries go
 * in one batch: the caller chooses the batch size. The caller owns (or tidies) both tensors.
 */
export function candidateScoreMatrix(model: TinyTransformer, queries: readonly PrefixQuery[]): { scores: tf.Tensor2D; present: tf.Tensor2D; forwardTokens: number } {
  const V = model.config.vocabSize;
  const layout = layoutQueries(model, queries);
  const { Q, Tc, C, M, N } = layout;
  const lastContext = new Float32Array(Q * Tc);
  const firstTargets = new Float32Array(Q * C * V);
  const restTargets = new Float32Array(Q * N * V);
  const present = new Float32Array(Q * C);
  queries.forEach((query, q) => {
    lastContext[q * Tc + query.context.length - 1] = 1;
    query.actions.forEach((action, c) => {
      present[q * C + c] = 1;
      if (action.length === 0) return; // log of an empty product
      firstTargets[(q * C + c) * V + action[0]] = 1;
      for (let i = 0; i + 1 < action.length; i++) restTargets[(q * N + c * M + i) * V + action[i + 1]] = 1;
    });
  });
  const scores = tf.tidy(() => {
    const { h, g } = sharedPrefixStates(model, layout);
    const hLast = tf.sum(tf.mul(tf.reshape(h, [Q, Tc, -1]), tf.tensor3d(lastContext, [Q, Tc, 1])), 1) as tf.Tensor2D;
    const first = tf.sum(tf.mul(tf.reshape(headLogProbs(model, hLast), [Q, 1, V]), tf.tensor3d(firstTargets, [Q, C, V])), 2);
    const rest = tf.sum(tf.reshape(tf.sum(tf.mul(headLogProbs(model, g), tf.tensor2d(restTargets, [Q * N, V])), 1), [Q, C, M]), 2);
    return tf.add(first, rest) as tf.Tensor2D;
  });
  return { scores, present: tf.tensor2d(present, [Q, C]), forwardTokens: Q * Tc + Q * N };
}
