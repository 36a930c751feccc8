/**
 * Shared-prefix candidate scoring for the TinyTransformer: the context of a query goes through
 * the model once, and its candidates run only the tokens that are new to them — as a prefix tree
 * (candidates sharing a first token share its row) attending to the context's keys/values plus
 * their ancestors. Exact (same function as scoring each `context ++ candidate` row with
 * `model.forward`), but an agent step costs ~|context| + #distinct candidate prefixes token
 * positions instead of #candidates × |context|: on MiniALF ~2 prefix rows per step for ~12
 * candidates. With `contextLengths` (episode-scoring.ts) one context serves every step of an
 * episode, each step's candidates seeing only their own prefix of it.
 *
 * Why here and not in models/: it is an agent path with no per-example sites. It mirrors
 * TinyTransformer's forward op for op — pre-norm RMSNorm, grouped-query attention with q heads
 * folded per kv head, SwiGLU, LoRA adapters through `model.loraAdapters.apply` — and the tests
 * compare it with `model.forward` (the "full-rows" strategy) and a one-candidate-at-a-time loop.
 * If the transformer's forward changes, those tests fail here first.
 *
 * Masks: context rows are right-padded to the chunk's longest context; a node must not see those
 * pad positions (k ≥ its decision's context length) nor nodes other than its ancestors.
 */

import { tf } from "../tf";
import { rmsNorm, TinyTransformer } from "../models/transformer";
import { plainLinear } from "../models/dense-sites";
import { matMulFast, oneHotFloat } from "../models/ops";
import { PAD_ID } from "../envs/tokenizer";
import type { ScoringRow } from "./scoring";
import { InvalidArgumentError } from "../errors";

const MASKED = -1e9; // the transformer's own mask value

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
 * One context and its candidate actions (each non-empty one is scored; an empty one scores 0).
 * `contextLengths[c]`, when given, says candidate c follows only the first contextLengths[c]
 * context tokens: the decisions of one episode share one context (each step's context is a prefix
 * of the next step's), so an episode's context runs through the model once for all its steps.
 */
export interface PrefixQuery { context: readonly number[]; actions: ReadonlyArray<readonly number[]>; contextLengths?: readonly number[] }

/** The context length candidate c of `query` follows (validated). */
function contextLengthOf(query: PrefixQuery, c: number): number {
  const length = query.contextLengths === undefined ? query.context.length : query.contextLengths[c];
  if (!Number.isInteger(length) || length < 1 || length > query.context.length) {
    throw new InvalidArgumentError("query.contextLengths", `integers in [1, ${query.context.length}] (one per action)`, length);
  }
  return length;
}

/**
 * Id, position, mask and selection buffers for a batch of queries.
 *
 * Candidates are laid out as a prefix tree per decision: the distinct proper prefixes of a
 * decision's candidates are its "nodes" (MiniALF's ~12 candidates per step share ~2, "go to …";
 * measured 480 nodes for 2880 candidates, 18× fewer rows than one row per candidate token). A node
 * is the last token of its prefix at position Lc + depth, attending to the decision's context
 * (keys < Lc) and to its ancestors (itself included). Its output predicts the token after it, so a
 * candidate's log-likelihood is log p(a₀ | context position Lc−1) + Σᵢ log p(aᵢ | node a₀…aᵢ₋₁):
 * a "first" pick (context position, token) from the context states and "pair" picks (node, next
 * token) from the node states, each distinct pick computed once and summed into its candidates.
 * Selections are one-hot products (wasm has no gather gradient).
 */
interface PrefixLayout {
  Q: number; Tc: number; C: number; Nn: number; P: number; F: number;
  ctxIds: Int32Array; ctxMask: Float32Array;
  nodeIds: Int32Array; nodePositions: Int32Array; nodeCtxMask: Float32Array; nodeSelfMask: Float32Array;
  /** [Q, F, Tc] and [Q, F, V]: first-token pick f reads context position firstAt[f]'s prediction of token firstToken[f]. */
  firstAt: Float32Array;
  firstToken: Float32Array;
  /** [Q, C, F]: candidate c's first-token pick. */
  firstOfCandidate: Float32Array;
  /** [Q, P, Nn] and [Q, P, V]: pair p reads node pairNode[p]'s prediction of token pairToken[p]. */
  pairNode: Float32Array; pairToken: Float32Array;
  /** [Q, C, P]: which pairs make up candidate c. */
  pairOfCandidate: Float32Array;
  /** [Q, C]: 1 where candidate c exists. */
  present: Float32Array;
}

function layoutQueries(model: TinyTransformer, queries: readonly PrefixQuery[]): PrefixLayout {
  const { nHeads: H, nKvHeads: Hkv, maxLen, vocabSize: V } = model.config;
  const G = H / Hkv;
  const Q = queries.length;
  const Tc = Math.max(...queries.map((q) => q.context.length));
  const C = Math.max(1, ...queries.map((q) => q.actions.length));
  // Per query: nodes keyed by (context length, prefix), and the pairs each candidate needs.
  const trees = queries.map((query) => {
    if (query.contextLengths !== undefined && query.contextLengths.length !== query.actions.length) {
      throw new InvalidArgumentError("query.contextLengths", `one length per action (${query.actions.length})`, query.contextLengths.length);
    }
    const nodes: Array<{ token: number; position: number; Lc: number; ancestors: number[] }> = [];
    const index = new Map<string, number>();
    const pairs: Array<{ node: number; token: number }> = [];
    const pairIndex = new Map<string, number>();
    // First tokens: one pick per distinct (context position, token) — a decision's candidates
    // share their context position and mostly a handful of first words.
    const firsts: Array<{ at: number; token: number }> = [];
    const firstIndex = new Map<string, number>();
    const candidateFirst = query.actions.map((action, c) => {
      if (action.length === 0) return -1;
      const at = contextLengthOf(query, c) - 1, key = `${at}|${action[0]}`;
      let f = firstIndex.get(key);
      if (f === undefined) { f = firsts.length; firsts.push({ at, token: action[0] }); firstIndex.set(key, f); }
      return f;
    });
    const candidatePairs = query.actions.map((action, c) => {
      const Lc = contextLengthOf(query, c);
      const used: number[] = [];
      let parent = -1;
      for (let i = 0; i + 1 < action.length; i++) {
        const key = `${Lc}|${action.slice(0, i + 1).join(",")}`;
        let node = index.get(key);
        if (node === undefined) {
          node = nodes.length;
          nodes.push({ token: action[i], position: Math.min(Lc + i, maxLen - 1), Lc, ancestors: parent < 0 ? [] : [...nodes[parent].ancestors, parent] });
          index.set(key, node);
        }
        const pairKey = `${node}|${action[i + 1]}`;
        let pair = pairIndex.get(pairKey);
        if (pair === undefined) { pair = pairs.length; pairs.push({ node, token: action[i + 1] }); pairIndex.set(pairKey, pair); }
        used.push(pair);
        parent = node;
      }
      return { Lc, used };
    });
    return { nodes, pairs, candidatePairs, firsts, candidateFirst };
  });
  const Nn = Math.max(1, ...trees.map((t) => t.nodes.length));
  const P = Math.max(1, ...trees.map((t) => t.pairs.length));
  const F = Math.max(1, ...trees.map((t) => t.firsts.length));
  const ctxIds = new Int32Array(Q * Tc).fill(PAD_ID);
  const ctxMask = new Float32Array(G * Tc * Tc);
  for (let i = 0; i < G * Tc; i++) for (let s = (i % Tc) + 1; s < Tc; s++) ctxMask[i * Tc + s] = MASKED;
  const nodeIds = new Int32Array(Q * Nn).fill(PAD_ID), nodePositions = new Int32Array(Q * Nn);
  // Padding nodes see only context position 0 and themselves: finite, and never read.
  const nodeCtxMask = new Float32Array(Q * Nn * Tc).fill(MASKED), nodeSelfMask = new Float32Array(Q * Nn * Nn).fill(MASKED);
  const firstAt = new Float32Array(Q * F * Tc), firstToken = new Float32Array(Q * F * V), firstOfCandidate = new Float32Array(Q * C * F);
  const pairNode = new Float32Array(Q * P * Nn), pairToken = new Float32Array(Q * P * V);
  const pairOfCandidate = new Float32Array(Q * C * P), present = new Float32Array(Q * C);
  queries.forEach((query, q) => {
    ctxIds.set(query.context, q * Tc);
    const tree = trees[q];
    for (let n = 0; n < Nn; n++) {
      const node = tree.nodes[n];
      const row = q * Nn + n;
      nodeSelfMask[row * Nn + n] = 0;
      if (node === undefined) { nodeCtxMask[row * Tc] = 0; continue; }
      nodeIds[row] = node.token;
      nodePositions[row] = node.position;
      nodeCtxMask.fill(0, row * Tc, row * Tc + node.Lc);
      for (const a of node.ancestors) nodeSelfMask[row * Nn + a] = 0;
    }
    tree.firsts.forEach((first, f) => {
      firstAt[(q * F + f) * Tc + first.at] = 1;
      firstToken[(q * F + f) * V + first.token] = 1;
    });
    tree.pairs.forEach((pair, p) => {
      pairNode[(q * P + p) * Nn + pair.node] = 1;
      pairToken[(q * P + p) * V + pair.token] = 1;
    });
    query.actions.forEach((action, c) => {
      present[q * C + c] = 1;
      if (action.length === 0) return; // log of an empty product
      firstOfCandidate[(q * C + c) * F + tree.candidateFirst[c]] = 1;
      for (const p of tree.candidatePairs[c].used) pairOfCandidate[(q * C + c) * P + p] += 1;
    });
  });
  return { Q, Tc, C, Nn, P, F, ctxIds, ctxMask, nodeIds, nodePositions, nodeCtxMask, nodeSelfMask, firstAt, firstToken, firstOfCandidate, pairNode, pairToken, pairOfCandidate, present };
}

/**
 * The final-layer hidden states (before the final norm) of every context position h [Q·Tc, d] and
 * every prefix-tree node g [Q·Nn, d]. Differentiable; call inside a tidy or a loss closure.
 */
function sharedPrefixStates(model: TinyTransformer, layout: PrefixLayout): { h: tf.Tensor2D; g: tf.Tensor2D } {
  const { vocabSize: V, dModel: d, nLayers: L, nHeads: H, nKvHeads: Hkv, normEps: eps, maxLen } = model.config;
  const hd = model.headDim, G = H / Hkv;
  const { Q, Tc, Nn } = layout;
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
  let g = embed(layout.nodeIds, matMulFast(oneHotFloat(tf.tensor1d(layout.nodePositions, "int32"), maxLen), w("positionEmbedding") as tf.Tensor2D));
  const ctxMaskT = tf.tensor2d(layout.ctxMask, [G * Tc, Tc]);
  const nodeCtxMaskT = tf.tensor4d(layout.nodeCtxMask, [Q, 1, Nn, Tc]);
  const nodeSelfMaskT = tf.tensor4d(layout.nodeSelfMask, [Q, 1, Nn, Nn]);
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
    // Nodes: scores against the decision's context keys and against their ancestors, one softmax
    // over both — by hand on the two parts, because slicing or concatenating along the key axis
    // runs at ~0.1 GB/s on wasm (45 ms per 4M floats, measured).
    const b = rmsNorm(g, norm, eps);
    const qg = tf.reshape(toHeads(dense(`layer${l}.q`, b), Q, Nn, H), [Q * H, Nn, hd]);
    const kSelf = perQueryHead(toHeads(dense(`layer${l}.k`, b), Q, Nn, Hkv), Q, Nn);
    const vSelf = perQueryHead(toHeads(dense(`layer${l}.v`, b), Q, Nn, Hkv), Q, Nn);
    const toContext = tf.add<tf.Tensor4D>(tf.reshape(tf.mul(tf.matMul(qg, perQueryHead(kc, Q, Tc), false, true), scale), [Q, H, Nn, Tc]), nodeCtxMaskT);
    const toSelf = tf.add<tf.Tensor4D>(tf.reshape(tf.mul(tf.matMul(qg, kSelf, false, true), scale), [Q, H, Nn, Nn]), nodeSelfMaskT);
    const peak = rowPeak(toContext, toSelf);
    const expContext = tf.exp(tf.sub(toContext, peak)), expSelf = tf.exp(tf.sub(toSelf, peak));
    const total = tf.add(tf.sum(expContext, -1, true), tf.sum(expSelf, -1, true));
    const fromContext = tf.matMul(tf.reshape(tf.div(expContext, total), [Q * H, Nn, Tc]), perQueryHead(vc, Q, Tc));
    const fromSelf = tf.matMul(tf.reshape(tf.div(expSelf, total), [Q * H, Nn, Nn]), vSelf);
    const nodeOut = tf.add(fromContext, fromSelf);
    const nodeAttention = tf.reshape(tf.transpose(tf.reshape(nodeOut, [Q, H, Nn, hd]), [0, 2, 1, 3]), [Q * Nn, H * hd]) as tf.Tensor2D;
    g = mlp(tf.add(g, dense(`layer${l}.o`, nodeAttention)), l);
    h = hNext;
  }
  return { h, g };
}

/**
 * max(max_k a, max_k b) per row, as a constant of the backward pass: a softmax is unchanged by the
 * shift, and tf.max's own gradient (an equality test broadcast over the input) cost more than the
 * softmax on wasm. The max runs inside the custom op, so it never reaches the tape.
 */
const rowPeak: (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor4D = (() => {
  const op = tf.customGrad(((a: tf.Tensor4D, b: tf.Tensor4D) => ({
    value: tf.maximum(tf.max(a, -1, true), tf.max(b, -1, true)),
    gradFunc: () => [tf.zerosLike(a), tf.zerosLike(b)],
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (a: tf.Tensor4D, b: tf.Tensor4D) => op(a, b) as tf.Tensor4D;
})();

/** log-softmax of the model's head on hidden states x [R, d] (final norm applied). */
function headLogProbs(model: TinyTransformer, x: tf.Tensor2D): tf.Tensor2D {
  return tf.logSoftmax(plainLinear("head", rmsNorm(x, model.weight("finalNorm") as tf.Tensor1D, model.config.normEps), model.weight("head") as tf.Tensor2D));
}

/**
 * Scores one chunk of queries (each a list of rows sharing one context) into `scores`; returns
 * token positions run.
 */
function scoreChunk(model: TinyTransformer, queries: ScoringRow[][], scores: number[][]): number {
  const matrix = tf.tidy(() => {
    const m = candidateScoreMatrix(model, queries.map((group) => ({ context: group[0].context, actions: group.map((r) => r.action) })));
    m.present.dispose();
    return m;
  });
  const values = matrix.scores.dataSync();
  const C = matrix.scores.shape[1];
  matrix.scores.dispose();
  queries.forEach((group, q) => group.forEach((row, c) => { scores[row.query][row.candidate] += values[q * C + c]; }));
  return matrix.forwardTokens;
}

/**
 * Differentiable log p_θ(a | ctx) of every candidate of every query, as [Q, C] (C = the most
 * candidates of any query; the second tensor is 1 where a candidate exists, 0 on padding). The
 * picks are one-hot products (wasm has no gather gradient), so an action-level policy gradient
 * can flow through it. All queries go in one batch: the caller chooses the batch size. The caller
 * owns (or tidies) both tensors.
 */
export function candidateScoreMatrix(model: TinyTransformer, queries: readonly PrefixQuery[]): { scores: tf.Tensor2D; present: tf.Tensor2D; forwardTokens: number } {
  const V = model.config.vocabSize;
  const layout = layoutQueries(model, queries);
  const { Q, Tc, C, Nn, P, F } = layout;
  const scores = tf.tidy(() => {
    const { h, g } = sharedPrefixStates(model, layout);
    const hFirst = tf.reshape(tf.matMul(tf.tensor3d(layout.firstAt, [Q, F, Tc]), tf.reshape(h, [Q, Tc, -1])), [Q * F, -1]) as tf.Tensor2D;
    const firstPicks = tf.sum(tf.mul(tf.reshape(headLogProbs(model, hFirst), [Q, F, V]), tf.tensor3d(layout.firstToken, [Q, F, V])), 2);
    const first = tf.reshape(tf.matMul(tf.tensor3d(layout.firstOfCandidate, [Q, C, F]), tf.reshape(firstPicks, [Q, F, 1])), [Q, C]);
    const nodeLogProbs = tf.reshape(headLogProbs(model, g), [Q, Nn, V]);
    const pairs = tf.sum(tf.mul(tf.matMul(tf.tensor3d(layout.pairNode, [Q, P, Nn]), nodeLogProbs), tf.tensor3d(layout.pairToken, [Q, P, V])), 2);
    const rest = tf.reshape(tf.matMul(tf.tensor3d(layout.pairOfCandidate, [Q, C, P]), tf.reshape(pairs, [Q, P, 1])), [Q, C]);
    return tf.add(first, rest) as tf.Tensor2D;
  });
  return { scores, present: tf.tensor2d(layout.present, [Q, C]), forwardTokens: Q * Tc + Q * Nn };
}
