/**
 * Tier B: a tiny autoregressive GRU policy (models/gru.ts) over the toy's vocabulary, pre-trained
 * by SFT (train/sft.ts) to be VERBOSE — "[ answer filler… ] <eos>" filling most of the response
 * budget — so that a reward mix can teach it to cut the redundancy.
 *
 * Sampling uses train/logprobs' sampleTokens with <eos> as its stop token (default): a row stops
 * at its own <eos>, only unfinished rows are run, and the batch ends when every row has stopped.
 * Rollouts are padded only to the longest response of the batch, so GRPO's forward passes (and
 * the Conductor's context pass) cover prompt + the longest emitted response, not the budget L;
 * the action mask covers exactly the emitted tokens (<eos> included). `stopAtEos: false` keeps
 * the old full-budget path (every row gets L tokens, rollouts padded to L) for comparison: the
 * emitted responses are the same for one seed, only the work differs (`SampleCost`).
 * The Conductor's context is the GRU hidden state at the last emitted
 * token (after prompt + response), read as plain numbers: the gradient is stopped by construction.
 * The prompt-level context is the state at the last prompt token.
 *
 * Costs (wasm, H = 32): sampling re-runs the prefix per token (quadratic in the emitted length,
 * L ≤ 12 here), a GRPO step of 32 responses is a few hundred ms; pre-training a few hundred SFT
 * steps takes seconds.
 */
import { InvalidArgumentError, assertKnownKeys } from "../../errors";
import { Rng, Seed, toRng } from "../../random";
import { GruLanguageModel } from "../../models/gru";
import { createReference } from "../../train/grpo";
import { sampleTokens } from "../../train/logprobs";
import { SequenceExample, SftResult, trainSft } from "../../train/sft";
import { CLOSE, CONTENT_START, EOS, MaestroEnv, MaestroPrompt, OPEN, PAD, VOCAB_SIZE } from "./env";
import type { MaestroPolicy, MaestroRollout, SampleCost, WeightedResponse } from "./policy-types";

/** Options of `new GruResponsePolicy(env, ...)`: only `seed` is required; the small defaults keep tier B runs to minutes on 2 cores. */
export interface GruPolicyOptions {
  /** Seed of the initial weights and the policy's sampling streams. */
  seed: Seed;
  /** Token-embedding width (default 16). */
  embedSize?: number;
  /** GRU hidden width (default 32); also the Conductor's context size. */
  hiddenSize?: number;
  /** Stop each row at its <eos> and pad batches to their longest response (default true); false: every row runs the full budget L. */
  stopAtEos?: boolean;
}

/**
 * Tier B: a tiny GRU language model that generates responses token by token and, by default,
 * stops each row at its <eos> (a batch ends when every row has), so a policy that learns to answer
 * briefly also gets cheaper per step; `pretrainVerbose` makes it verbose first (the SFT start).
 * Its Conductor context is the GRU's terminal hidden state (stopped gradient). Dispose when done.
 */
export class GruResponsePolicy implements MaestroPolicy {
  /** "gru". */
  readonly tier = "gru" as const;
  /** The trained GRU language model. */
  readonly model: GruLanguageModel;
  /** Frozen copy for the KL term (refreshed after pre-training). */
  reference: GruLanguageModel;
  /** GRU hidden width: the Conductor's context size. */
  readonly hiddenSize: number;
  /** Whether generation stops each row at its <eos>. */
  readonly stopAtEos: boolean;

  constructor(readonly env: MaestroEnv, options: GruPolicyOptions) {
    if (!(env instanceof MaestroEnv)) throw new InvalidArgumentError("env", "a MaestroEnv", env);
    if (options === null || typeof options !== "object") throw new InvalidArgumentError("options", "a GruPolicyOptions object", options);
    assertKnownKeys("options", options, ["seed", "embedSize", "hiddenSize", "stopAtEos"]);
    this.stopAtEos = options.stopAtEos ?? true;
    if (typeof this.stopAtEos !== "boolean") throw new InvalidArgumentError("options.stopAtEos", "true or false", this.stopAtEos);
    this.model = new GruLanguageModel({
      vocabSize: VOCAB_SIZE, embedSize: options.embedSize ?? 16, hiddenSize: options.hiddenSize ?? 32,
      maxLen: env.promptLength + env.maxResponseLength, seed: options.seed,
    });
    this.hiddenSize = this.model.config.hiddenSize;
    this.reference = createReference(this.model);
  }

  resetReference(): void {
    this.reference.dispose();
    this.reference = createReference(this.model);
  }

  /** Prompt + emitted response + <pad> to `width` response positions, and the matching action mask. */
  private rollout(prompt: MaestroPrompt, emittedTail: readonly number[], logProbs: readonly number[], width: number): MaestroRollout {
    const response = this.env.parseResponse(emittedTail);
    const emitted = this.env.responseTokens(response);
    const pad = new Array<number>(width - emitted.length).fill(PAD);
    const own = logProbs.slice(0, emitted.length);
    return {
      prompt, groupId: prompt.id, response,
      tokens: [...prompt.tokens, ...emitted, ...pad],
      actionMask: [...prompt.tokens.map(() => 0), ...emitted.map(() => 1), ...pad.map(() => 0)],
      behaviourLogProbs: [...prompt.tokens.map(() => 0), ...own, ...pad.map(() => 0)],
      logProb: own.reduce((a, b) => a + b, 0),
    };
  }

  sample(prompts: readonly MaestroPrompt[], groupSize: number, rng: Rng): MaestroRollout[] {
    return this.sampleWithCost(prompts, groupSize, rng).rollouts;
  }

  /** `sample`, with the work it took. */
  sampleWithCost(prompts: readonly MaestroPrompt[], groupSize: number, rng: Rng): { rollouts: MaestroRollout[]; cost: SampleCost } {
    if (!Number.isInteger(groupSize) || groupSize < 1) throw new InvalidArgumentError("groupSize", "a positive integer", groupSize);
    const rows = prompts.flatMap((p) => Array.from({ length: groupSize }, () => p.tokens.slice()));
    const P = this.env.promptLength, L = this.env.maxResponseLength;
    const drawn = sampleTokens(this.model, rows, this.stopAtEos ? { steps: L, seed: rng, stopToken: EOS, padToken: PAD } : { steps: L, seed: rng });
    const width = this.stopAtEos ? drawn.tokens[0].length - P : L;
    const rollouts = drawn.tokens.map((row, i) => this.rollout(prompts[Math.floor(i / groupSize)], row.slice(P), drawn.logProbs[i], width));
    const generated = this.stopAtEos ? drawn.emitted.reduce((a, b) => a + b, 0) : rows.length * L;
    return { rollouts, cost: { generatedTokens: generated, forwardTokens: drawn.forwardTokens, sequenceLength: P + width } };
  }

  terminalHidden(rollouts: readonly MaestroRollout[]): number[][] {
    if (rollouts.length === 0) return [];
    const P = this.env.promptLength;
    const positions = rollouts.map((r) => P - 1 + r.actionMask.reduce((a, m) => a + m, 0));
    return this.hiddenAt(rollouts.map((r) => r.tokens), positions);
  }

  promptHidden(prompts: readonly MaestroPrompt[]): number[][] {
    if (prompts.length === 0) return [];
    return this.hiddenAt(prompts.map((p) => p.tokens), prompts.map(() => this.env.promptLength - 1));
  }

  /** `samples` sampled responses per prompt, each with probability 1/samples. */
  responseDistribution(prompts: readonly MaestroPrompt[], rng: Rng, samples: number): WeightedResponse[][] {
    const rollouts = this.sample(prompts, samples, rng);
    const hidden = this.terminalHidden(rollouts);
    return prompts.map((_, i) => rollouts.slice(i * samples, (i + 1) * samples).map((r, g) => ({
      response: r.response, probability: 1 / samples, hidden: hidden[i * samples + g],
    })));
  }

  dispose(): void {
    this.model.dispose();
    this.reference.dispose();
  }

  private hiddenAt(tokens: number[][], positions: number[]): number[][] {
    const H = this.hiddenSize, T = tokens[0].length;
    const { logits, hidden } = this.model.forward(tokens, { returnHidden: true });
    const values = hidden.dataSync();
    logits.dispose();
    hidden.dispose();
    return positions.map((t, i) => Array.from(values.subarray((i * T + t) * H, (i * T + t + 1) * H)));
  }
}

/**
 * A verbose target: "[" + answer words + distinct filler words + "]" <eos>, `bodyLength` tokens
 * before <eos>. The answer comes first, so cutting the filler keeps what is faithful.
 */
export function verboseResponse(env: MaestroEnv, prompt: MaestroPrompt, rng: Rng, bodyLength: number): number[] {
  const answer = prompt.gold ?? prompt.content.slice(0, 3).map((w) => env.factOf(w));
  const words = Array.from({ length: VOCAB_SIZE - CONTENT_START }, (_, i) => CONTENT_START + i).filter((w) => !answer.includes(w));
  const filler = rng.shuffle(words).slice(0, Math.max(0, bodyLength - 2 - answer.length));
  return [OPEN, ...answer, ...filler, CLOSE].slice(0, bodyLength).concat([EOS]);
}

/** Options of `pretrainVerbose`: SFT steps and seed are required; defaults make the start clearly verbose (bodies of L − 4 … L − 1 tokens). */
export interface VerbosePretrainOptions {
  /** SFT optimizer steps. */
  steps: number;
  /** Seed of the targets and the batches. */
  seed: Seed | Rng;
  /** SFT batch size (default 16). */
  batchSize?: number;
  /** SFT Adam rate (default 0.02). */
  learningRate?: number;
  /** Pre-training prompts (default 60; types balanced). */
  prompts?: number;
  /** Body lengths of the targets, uniform in [min, max] (default [L − 4, L − 1]). */
  minLength?: number;
  /** Longest target body (default L − 1). */
  maxLength?: number;
}

/** SFT on verbose targets; refreshes the policy's KL reference to the pre-trained weights. */
export function pretrainVerbose(policy: GruResponsePolicy, options: VerbosePretrainOptions): SftResult {
  if (options === null || typeof options !== "object") throw new InvalidArgumentError("options", "a VerbosePretrainOptions object", options);
  assertKnownKeys("options", options, ["steps", "seed", "batchSize", "learningRate", "prompts", "minLength", "maxLength"]);
  const env = policy.env, L = env.maxResponseLength;
  const minLength = options.minLength ?? L - 4, maxLength = options.maxLength ?? L - 1;
  if (!Number.isInteger(minLength) || !Number.isInteger(maxLength) || minLength < 0 || maxLength > L - 1 || minLength > maxLength) {
    throw new InvalidArgumentError("options.minLength/maxLength", `integers with 0 ≤ min ≤ max ≤ ${L - 1}`, [minLength, maxLength]);
  }
  const rng = toRng(options.seed).derive("verbose-pretrain");
  const prompts = env.samplePrompts(options.prompts ?? 60, rng.derive("prompts"), "pre");
  const examples: SequenceExample[] = [];
  // Several targets per prompt: the model learns a distribution over fillers and lengths, so
  // GRPO groups later differ in length (the signal brevity needs).
  for (const prompt of prompts) {
    for (let r = 0; r < 4; r++) {
      const body = minLength + rng.int(maxLength - minLength + 1);
      const response = verboseResponse(env, prompt, rng, body);
      const pad = new Array<number>(L - response.length).fill(PAD);
      examples.push({
        tokens: [...prompt.tokens, ...response, ...pad],
        lossMask: [...prompt.tokens.map(() => 0), ...response.map(() => 1), ...pad.map(() => 0)],
      });
    }
  }
  const epochs = Math.ceil((options.steps * (options.batchSize ?? 16)) / examples.length) + 1;
  const result = trainSft(policy.model, examples, {
    epochs, batchSize: options.batchSize ?? 16, learningRate: options.learningRate ?? 0.02,
    seed: rng.derive("order"), maxSteps: options.steps,
  });
  policy.resetReference();
  return result;
}
