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

/**
 * Scores one chunk of queries (each a list of rows sharing one context); returns token positions
 * run. Candidate tokens are laid out [query, candidate slot c < C, token i < M] (padded), so the
 * attention of all candidates of a query to its context is one batched product with that
 * context's keys — no per-candidate copies of the keys (tf.gather on big tensors is slow on wasm).
 */
function scoreChunk(model: TinyTransformer, queries: ScoringRow[][], scores: number[][]): number {
  const { vocabSize: V, dModel: d, nLayers: L, nHeads: H, nKvHeads: Hkv, normEps: eps, maxLen } = model.config;
  const hd = model.headDim, G = H / Hkv;
  const Q = queries.length;
  const Tc = queries[0][0].context.length;
  const C = Math.max(...queries.map((group) => group.length));
  const M = Math.max(...queries.flat().map((r) => r.action.length));
  const N = C * M; // candidate token slots per query

  const ctxIds = new Int32Array(Q * Tc).fill(PAD_ID);
  const candIds = new Int32Array(Q * N).fill(PAD_ID);
  const candPositions = new Int32Array(Q * N);
  const ctxMask = new Float32Array(G * Tc * Tc);
  for (let i = 0; i < G * Tc; i++) for (let s = (i % Tc) + 1; s < Tc; s++) ctxMask[i * Tc + s] = MASKED;
  // Candidate slot (c, i) of query q sees context keys k < Lc(q) and its own tokens j ≤ i.
  const candMask = new Float32Array(Q * N * (Tc + M));
  // Picks: log p of each candidate token; the first is read at the context's last position.
  const firstPicks: number[] = [], slotsToRead: number[] = [], slotTargets: number[] = [];
  queries.forEach((group, q) => {
    const Lc = group[0].context.length;
    ctxIds.set(group[0].context, q * Tc);
    for (let slot = 0; slot < N; slot++) {
      candPositions[q * N + slot] = Math.min(Lc + (slot % M), maxLen - 1);
      const base = (q * N + slot) * (Tc + M);
      for (let k = Lc; k < Tc; k++) candMask[base + k] = MASKED;
      for (let j = (slot % M) + 1; j < M; j++) candMask[base + Tc + j] = MASKED;
    }
    group.forEach((row, c) => {
      candIds.set(row.action, q * N + c * M);
      firstPicks.push(q * V + row.action[0]);
      for (let i = 0; i + 1 < row.action.length; i++) { slotsToRead.push(q * N + c * M + i); slotTargets.push(row.action[i + 1]); }
    });
  });

  const picked = tf.tidy(() => {
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
    let h = tf.reshape(tf.add(tf.reshape(embed(ctxIds, null), [Q, Tc, d]), tf.slice(w("positionEmbedding"), [0, 0], [Tc, d])), [Q * Tc, d]) as tf.Tensor2D;
    let g = embed(candIds, matMulFast(oneHotFloat(tf.tensor1d(candPositions, "int32"), maxLen), w("positionEmbedding") as tf.Tensor2D));
    const ctxMaskT = tf.tensor2d(ctxMask, [G * Tc, Tc]);
    const candMaskT = tf.tensor4d(candMask, [Q, 1, N, Tc + M]);
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
    const finalNorm = w("finalNorm") as tf.Tensor1D;
    const logProbsAt = (x: tf.Tensor2D, at: number[]) =>
      tf.reshape(tf.logSoftmax(plainLinear("head", rmsNorm(tf.gather(x, tf.tensor1d(at, "int32")), finalNorm, eps), w("head") as tf.Tensor2D)), [-1]);
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
  return Q * Tc + Q * N;
}
