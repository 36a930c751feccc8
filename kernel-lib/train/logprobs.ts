/**
 * Per-token log-probabilities of sequences under an autoregressive policy, and a seeded sampler.
 *
 * `tokenLogProbs` is what every policy-gradient loss in train/ differentiates: entry [n, t] is
 * log p(token_t | tokens_<t), read from the logits at position t−1 (the loss-mask convention of
 * models/token-batch.ts: a token is predicted from everything before it); entry 0 has nothing
 * before it and is 0. The picked log-prob is a one-hot · logSoftmax sum, not a gather, because
 * the wasm backend has no gather gradient. Works with any model exposing `forward(tokens) →
 * logits [N, T, V]` (TinyTransformer, GruLanguageModel).
 *
 * `sampleTokens` extends prompts token by token from the policy's softmax, with a seeded Rng
 * (JS float64 sampling from the logits, so the draw is a pure function of seed and logits). It
 * re-runs the whole prefix each step: fine for the short responses of the toys, quadratic in the
 * response length otherwise. With `stopToken` (e.g. <eos>) a row stops at its first stop token
 * (later positions are `padToken`, log-prob 0), only the rows still generating are run through
 * the model, and the batch ends when every row has stopped, so the work — `forwardTokens`,
 * row-positions the model processed — falls with the length of what the policy emits.
 */
import { tf } from "../tf";
import { oneHotFloat } from "../models/ops";
import { EmptyInputError, InvalidArgumentError, ShapeError, assertKnownKeys } from "../errors";
import { Rng, Seed, toRng } from "../random";

/** Anything that maps token ids [N, T] to next-token logits [N, T, V]. */
export interface LogitsModel {
  forward(tokens: number[][]): tf.Tensor3D;
}

/** Checks a rectangular, non-empty array of non-negative integer ids; returns [N, T]. */
export function checkTokenRows(argument: string, tokens: readonly (readonly number[])[]): [number, number] {
  if (!Array.isArray(tokens)) throw new InvalidArgumentError(argument, "an array of token-id arrays", tokens);
  if (tokens.length === 0) throw new EmptyInputError(argument, "at least one sequence");
  const T = Array.isArray(tokens[0]) ? tokens[0].length : -1;
  if (T < 1) throw new ShapeError(argument, "[N, T] with T ≥ 1", Array.isArray(tokens[0]) ? [tokens.length, 0] : "a flat array");
  tokens.forEach((row, n) => {
    if (!Array.isArray(row) || row.length !== T) throw new ShapeError(`${argument}[${n}]`, `length ${T} (all rows equal)`, Array.isArray(row) ? [row.length] : "not an array");
    row.forEach((id, t) => {
      if (typeof id !== "number" || !Number.isInteger(id) || id < 0) throw new InvalidArgumentError(`${argument}[${n}][${t}]`, "a non-negative integer token id", id);
    });
  });
  return [tokens.length, T];
}

/**
 * Differentiable log p(token_t | tokens_<t) as [N, T]; column 0 is 0. The caller owns the result
 * (wrap in tf.tidy, or call inside an optimizer's loss closure).
 */
export function tokenLogProbs(model: LogitsModel, tokens: number[][]): tf.Tensor2D {
  const [N, T] = checkTokenRows("tokens", tokens);
  return tf.tidy(() => {
    const logits = model.forward(tokens);
    if (logits.rank !== 3 || logits.shape[0] !== N || logits.shape[1] !== T) {
      throw new ShapeError("model.forward(tokens)", `logits [${N}, ${T}, V]`, logits.shape);
    }
    const V = logits.shape[2];
    // next[n, t] = token t+1: the one the logits at t predict. The last column has no next token;
    // it gets id 0 and is dropped by the shift below.
    const next = new Int32Array(N * T);
    for (let n = 0; n < N; n++) {
      for (let t = 0; t < T; t++) {
        const id = t + 1 < T ? tokens[n][t + 1] : 0;
        if (id >= V) throw new InvalidArgumentError(`tokens[${n}][${t + 1}]`, `a token id < vocabulary size ${V}`, id);
        next[n * T + t] = id;
      }
    }
    const logProbs = tf.logSoftmax(tf.reshape(logits, [N * T, V]) as tf.Tensor2D);
    const picked = tf.reshape(tf.sum(tf.mul(logProbs, oneHotFloat(tf.tensor1d(next, "int32"), V)), -1), [N, T]) as tf.Tensor2D;
    if (T === 1) return tf.zeros([N, 1]) as tf.Tensor2D;
    // Shift right by one: what position t−1 predicted belongs to token t.
    return tf.concat([tf.zeros([N, 1]), tf.slice(picked, [0, 0], [N, T - 1])], 1) as tf.Tensor2D;
  });
}

/** Options of `sampleTokens`: steps, seed, temperature and the stop / pad tokens. */
export interface SampleOptions {
  /** Tokens to append to every prompt. */
  steps: number;
  seed: Seed | Rng;
  /** Softmax temperature (default 1): logits are divided by it. */
  temperature?: number;
  /**
   * A row stops after emitting this token (e.g. <eos>); the batch ends when every row has, so
   * `steps` is then the most tokens a row may emit. Default: none, every row gets `steps` tokens.
   */
  stopToken?: number;
  /** What fills a stopped row's later positions (default 0). Only with stopToken. */
  padToken?: number;
}

/**
 * What `sampleTokens` returns: the sequences, the log-probabilities of the emitted tokens, which
 * were emitted, and the forward cost.
 */
export interface SampledSequences {
  /**
   * Prompt followed by the sampled tokens, [N, promptLength + S]: S = steps, or with stopToken
   * the longest row's emitted length (stop token included); shorter rows end in padToken.
   */
  tokens: number[][];
  /** log p of each sampled token under the (temperature-1) policy, [N, S] — the behaviour log-probs; 0 after a row's stop. */
  logProbs: number[][];
  /** Per row: tokens it emitted (its stop token included, padding not). */
  emitted: number[];
  /** Row-positions the model's forward passes processed (Σ over steps of rows run × prefix length): the sampling work. */
  forwardTokens: number;
}

/**
 * Autoregressive sampling from the policy's softmax. With an Rng as seed the stream is advanced
 * (successive calls draw different samples); with a number/string seed each call restarts it.
 * Draws are made row by row, in order, so a result is a pure function of (seed, logits). A row
 * that has stopped still takes its one uniform draw per step (discarded) until the batch ends, so
 * the tokens a row emits are the same with and without `stopToken` — the full-length sample cut
 * at its first stop token (the slow oracle of test/maestro-generation.test.ts).
 */
export function sampleTokens(model: LogitsModel, prompts: number[][], options: SampleOptions): SampledSequences {
  if (options === null || typeof options !== "object") throw new InvalidArgumentError("options", "an object {steps, seed, temperature?, stopToken?, padToken?}", options);
  assertKnownKeys("options", options, ["steps", "seed", "temperature", "stopToken", "padToken"]);
  const { steps, stopToken } = options;
  const temperature = options.temperature ?? 1;
  const padToken = options.padToken ?? 0;
  if (typeof steps !== "number" || !Number.isInteger(steps) || steps < 1) throw new InvalidArgumentError("options.steps", "a positive integer", steps);
  if (typeof temperature !== "number" || !(temperature > 0) || !Number.isFinite(temperature)) throw new InvalidArgumentError("options.temperature", "a finite number > 0", temperature);
  if (stopToken !== undefined && !(typeof stopToken === "number" && Number.isInteger(stopToken) && stopToken >= 0)) throw new InvalidArgumentError("options.stopToken", "a non-negative integer token id", stopToken);
  if (typeof padToken !== "number" || !Number.isInteger(padToken) || padToken < 0) throw new InvalidArgumentError("options.padToken", "a non-negative integer token id", padToken);
  const [N] = checkTokenRows("prompts", prompts);
  const rng = toRng(options.seed);
  const tokens = prompts.map((p) => p.slice());
  const logProbs = prompts.map(() => [] as number[]);
  const emitted = new Array<number>(N).fill(0);
  const done = new Array<boolean>(N).fill(false);
  let forwardTokens = 0;
  for (let step = 0; step < steps; step++) {
    const active = done.every((d) => !d) ? null : done.map((d, n) => (d ? -1 : n)).filter((n) => n >= 0);
    if (active !== null && active.length === 0) break;
    const rows = active === null ? tokens : active.map((n) => tokens[n]);
    const M = rows.length, T = rows[0].length;
    forwardTokens += M * T;
    const last = tf.tidy(() => {
      const logits = model.forward(rows);
      const V = logits.shape[2];
      return tf.reshape(tf.slice(logits, [0, T - 1, 0], [M, 1, V]), [M, V]);
    });
    const V = last.shape[1] as number;
    const values = last.dataSync();
    last.dispose();
    let m = 0;
    for (let n = 0; n < N; n++) {
      if (done[n]) {
        rng.uniform(); // keeps every row's draws where the full-length sampler has them
        tokens[n].push(padToken);
        logProbs[n].push(0);
        continue;
      }
      const row = Array.from(values.subarray(m * V, (m + 1) * V));
      m++;
      const id = rng.categorical(softmax(row, temperature));
      tokens[n].push(id);
      logProbs[n].push(logSoftmaxAt(row, id));
      emitted[n]++;
      if (id === stopToken) done[n] = true;
    }
  }
  return { tokens, logProbs, emitted, forwardTokens };
}

/** float64 softmax of logits / temperature (max-shifted). */
function softmax(logits: readonly number[], temperature = 1): number[] {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v / temperature);
  const exps = logits.map((v) => Math.exp(v / temperature - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}

function logSoftmaxAt(logits: readonly number[], index: number): number {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let total = 0;
  for (const v of logits) total += Math.exp(v - max);
  return logits[index] - max - Math.log(total);
}
