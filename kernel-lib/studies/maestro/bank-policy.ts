/**
 * Tier A: a categorical "response bank" policy. Each prompt has a fixed bank of B candidate
 * responses built from B styles (slot j is the same style for every prompt: formatted gold,
 * verbose gold, diverse long text, a bare <eos> …), and the policy is
 *   π(j | x) = softmax(x·W + b)_j,   x = the prompt's bag of tokens (counts / prompt length),
 * so the task type must be read from the noisy cue tokens by a linear map. It is exact (the
 * expected true utility is a finite sum) and fast, for checking the maths.
 *
 * For grpoStep it poses as a sequence model: a sample is the prompt followed by one "token", the
 * chosen slot id, and forward() puts the bank logits at the last prompt position (logits of
 * other positions are 0 and masked out; slot ids ≥ B get −1e4, i.e. probability 0).
 *
 * Its "terminal hidden state" (the Conductor's context) is defined as
 *   h = [prompt bag (V) | response bag of tokens (counts / L, V) | response length / L]
 * — the prompt feature vector plus a response embedding; plain numbers, so gradient-free.
 */
import { tf } from "../../tf";
import { InvalidArgumentError, ShapeError } from "../../errors";
import { Rng } from "../../random";
import type { PolicyModel } from "../../train/grpo";
import { CLOSE, CONTENT_START, EOS, MaestroEnv, MaestroPrompt, OPEN, ParsedResponse, VOCAB_SIZE } from "./env";
import type { MaestroPolicy, MaestroRollout, SampleCost, WeightedResponse } from "./policy-types";

/**
 * The tier A bank's response styles, one slot each (slot j is the same style for every prompt):
 * formatted, bare, verbose and repeated gold, a one-word answer, long and medium creative text,
 * rambling without <eos>, empty brackets, an echo of the prompt, and a bare <eos>. They span the
 * components' conflicts (long vs brief, on-topic vs diverse, formatted vs bare).
 */
export const BANK_STYLES = [
  "gold", "gold-bare", "gold-verbose", "gold-repeated", "first-word", "creative-long",
  "creative-medium", "rambling", "empty-brackets", "echo-prompt", "bare-eos",
] as const;
/** One of BANK_STYLES. */
export type BankStyle = (typeof BANK_STYLES)[number];

/**
 * The bank of one prompt: one response per style, a pure function of (env, prompt). Creative
 * prompts have no gold, so "gold" styles use the fact-table answer words, which earn no
 * faithfulness there but still have the same shape.
 */
export function buildResponseBank(env: MaestroEnv, prompt: MaestroPrompt): ParsedResponse[] {
  const L = env.maxResponseLength;
  const rng = new Rng(`bank/${prompt.type}/${prompt.tokens.join(",")}`);
  const answer = prompt.gold ?? prompt.content.slice(0, 3).map((w) => env.factOf(w));
  const words = Array.from({ length: VOCAB_SIZE - CONTENT_START }, (_, i) => CONTENT_START + i);
  const distinct = (n: number, avoid: readonly number[] = []) => rng.shuffle(words.filter((w) => !avoid.includes(w))).slice(0, n);
  const withEos = (body: number[]): ParsedResponse => ({ body: body.slice(0, L - 1), hasEos: true });
  const repeated: number[] = [];
  while (repeated.length < L - 3) repeated.push(...answer);
  const rambling = Array.from({ length: L }, () => rng.choice(words.slice(0, 6)));
  const bank: Record<BankStyle, ParsedResponse> = {
    "gold": withEos([OPEN, ...answer, CLOSE]),
    "gold-bare": withEos([...answer]),
    "gold-verbose": withEos([OPEN, ...answer, ...distinct(L - 3 - answer.length, answer), CLOSE]),
    "gold-repeated": withEos([OPEN, ...repeated.slice(0, L - 3), CLOSE]),
    "first-word": withEos([OPEN, answer[0], CLOSE]),
    "creative-long": withEos([OPEN, ...distinct(L - 3), CLOSE]),
    "creative-medium": withEos([OPEN, ...distinct(5), CLOSE]),
    "rambling": { body: rambling, hasEos: false },
    "empty-brackets": withEos([OPEN, CLOSE]),
    "echo-prompt": withEos([OPEN, ...prompt.content, CLOSE]),
    "bare-eos": withEos([]),
  };
  return BANK_STYLES.map((s) => bank[s]);
}

/** Bag of tokens (counts / divisor) over the vocabulary. */
export function bagOfTokens(tokens: readonly number[], divisor: number): number[] {
  const x = new Array<number>(VOCAB_SIZE).fill(0);
  for (const t of tokens) x[t] += 1 / divisor;
  return x;
}

/** The linear-softmax bank policy as a sequence model grpoStep can score. */
export class BankLogitsModel implements PolicyModel {
  readonly W: tf.Variable;
  readonly b: tf.Variable;
  constructor(readonly promptLength: number, readonly bankSize: number, init?: { W: tf.Tensor; b: tf.Tensor }, trainable = true) {
    // A fresh policy starts uniform over the bank (zero logits). tf.variable shares the initial
    // tensor's buffer, so a zeros tensor made here is disposed; a copied W/b stays the caller's.
    const W0 = init?.W ?? tf.zeros([VOCAB_SIZE, bankSize]), b0 = init?.b ?? tf.zeros([bankSize]);
    this.W = tf.variable(W0, trainable);
    this.b = tf.variable(b0, trainable);
    if (init === undefined) { W0.dispose(); b0.dispose(); }
  }

  trainableVariables(): tf.Variable[] {
    return [this.W, this.b].filter((v) => v.trainable);
  }

  forward(tokens: number[][]): tf.Tensor3D {
    const P = this.promptLength, B = this.bankSize, V = Math.max(VOCAB_SIZE, B);
    if (!Array.isArray(tokens) || tokens.length === 0 || !tokens.every((r) => Array.isArray(r) && r.length === P + 1)) {
      throw new ShapeError("tokens", `[N, ${P + 1}] (prompt + one slot token)`, Array.isArray(tokens) ? [tokens.length, Array.isArray(tokens[0]) ? tokens[0].length : -1] : "not an array");
    }
    const N = tokens.length;
    const bags = tokens.flatMap((row) => bagOfTokens(row.slice(0, P), P));
    return tf.tidy(() => {
      const slotLogits = tf.add(tf.matMul(tf.tensor2d(bags, [N, VOCAB_SIZE]), this.W), this.b);
      const padded = V > B ? tf.concat([slotLogits, tf.fill([N, V - B], -1e4)], 1) : slotLogits;
      const parts = [tf.zeros([N, P - 1, V]), tf.reshape(padded, [N, 1, V]), tf.zeros([N, 1, V])];
      return tf.concat(parts, 1) as tf.Tensor3D;
    });
  }

  /** π(· | prompt) for each prompt, float64 from the current weights. */
  probabilities(prompts: readonly MaestroPrompt[]): number[][] {
    const W = this.W.dataSync(), b = this.b.dataSync(), B = this.bankSize;
    return prompts.map((p) => {
      const x = bagOfTokens(p.tokens, this.promptLength);
      const logits = Array.from({ length: B }, (_, j) => {
        let s = b[j];
        for (let v = 0; v < VOCAB_SIZE; v++) if (x[v] !== 0) s += x[v] * W[v * B + j];
        return s;
      });
      return softmax(logits);
    });
  }

  dispose(): void {
    this.W.dispose();
    this.b.dispose();
  }
}

/** softmax of a vector in float64, max-shifted so large logits do not overflow. */
export function softmax(logits: readonly number[]): number[] {
  const max = logits.reduce((a, b) => Math.max(a, b), -Infinity); // no spread: a long vector would overflow the stack
  const e = logits.map((v) => Math.exp(v - max));
  const s = e.reduce((a, c) => a + c, 0);
  return e.map((v) => v / s);
}

/**
 * Tier A: the categorical response-bank policy π(j | x) = softmax(x·W + b)_j over the prompt's
 * bank of BANK_STYLES responses (see the module header). Exact and fast: its expected true utility
 * is a finite sum, so it checks the maths; it starts uniform (zero weights). Dispose when done.
 */
export class ResponseBankPolicy implements MaestroPolicy {
  /** "bank". */
  readonly tier = "bank" as const;
  /** The trained linear-softmax model (posing as a sequence model for grpoStep). */
  readonly model: BankLogitsModel;
  /** Frozen copy for the KL term. */
  reference: BankLogitsModel;
  /** Length of the Conductor's context: prompt bag + response bag + length (2V + 1). */
  readonly hiddenSize = 2 * VOCAB_SIZE + 1;
  /** Responses per prompt (one per style). */
  readonly bankSize = BANK_STYLES.length;

  constructor(readonly env: MaestroEnv) {
    if (!(env instanceof MaestroEnv)) throw new InvalidArgumentError("env", "a MaestroEnv", env);
    this.model = new BankLogitsModel(env.promptLength, this.bankSize);
    this.reference = this.frozenCopy();
  }

  private frozenCopy(): BankLogitsModel {
    return new BankLogitsModel(this.env.promptLength, this.bankSize, { W: this.model.W, b: this.model.b }, false);
  }

  resetReference(): void {
    this.reference.dispose();
    this.reference = this.frozenCopy();
  }

  bank(prompt: MaestroPrompt): ParsedResponse[] {
    return buildResponseBank(this.env, prompt);
  }

  sample(prompts: readonly MaestroPrompt[], groupSize: number, rng: Rng): MaestroRollout[] {
    if (!Number.isInteger(groupSize) || groupSize < 1) throw new InvalidArgumentError("groupSize", "a positive integer", groupSize);
    const probs = this.model.probabilities(prompts);
    const out: MaestroRollout[] = [];
    prompts.forEach((prompt, i) => {
      const bank = this.bank(prompt);
      for (let g = 0; g < groupSize; g++) {
        const slot = rng.categorical(probs[i]);
        const logProb = Math.log(probs[i][slot]);
        out.push({
          prompt, groupId: prompt.id, response: bank[slot],
          tokens: [...prompt.tokens, slot], actionMask: [...prompt.tokens.map(() => 0), 1],
          behaviourLogProbs: [...prompt.tokens.map(() => 0), logProb], logProb,
        });
      }
    });
    return out;
  }

  /** `sample`; a response counts its body and <eos> as generated; the bank scores one row (prompt + slot) per prompt. */
  sampleWithCost(prompts: readonly MaestroPrompt[], groupSize: number, rng: Rng): { rollouts: MaestroRollout[]; cost: SampleCost } {
    const rollouts = this.sample(prompts, groupSize, rng);
    const generatedTokens = rollouts.reduce((a, r) => a + r.response.body.length + (r.response.hasEos ? 1 : 0), 0);
    const T = this.env.promptLength + 1;
    return { rollouts, cost: { generatedTokens, forwardTokens: prompts.length * T, sequenceLength: T } };
  }

  hiddenOf(prompt: MaestroPrompt, response: ParsedResponse | null): number[] {
    const L = this.env.maxResponseLength;
    const x = bagOfTokens(prompt.tokens, this.env.promptLength);
    if (response === null) return [...x, ...new Array<number>(VOCAB_SIZE + 1).fill(0)];
    const emitted = response.hasEos ? [...response.body, EOS] : response.body;
    return [...x, ...bagOfTokens(emitted, L), response.body.length / L];
  }

  terminalHidden(rollouts: readonly MaestroRollout[]): number[][] {
    return rollouts.map((r) => this.hiddenOf(r.prompt, r.response));
  }

  promptHidden(prompts: readonly MaestroPrompt[]): number[][] {
    return prompts.map((p) => this.hiddenOf(p, null));
  }

  /** Exact: every bank response with its probability π(j | x) (rng and samples unused). */
  responseDistribution(prompts: readonly MaestroPrompt[]): WeightedResponse[][] {
    const probs = this.model.probabilities(prompts);
    return prompts.map((p, i) => this.bank(p).map((response, j) => ({ response, probability: probs[i][j], hidden: this.hiddenOf(p, response) })));
  }

  dispose(): void {
    this.model.dispose();
    this.reference.dispose();
  }
}
