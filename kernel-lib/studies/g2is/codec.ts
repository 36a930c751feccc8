/**
 * Text ↔ token ids for the selection pipeline: one layout shared by training, per-example
 * gradients and greedy decoding.
 *
 *   <bos> prompt [<sep>] response <eos> <pad>…     (right-padded to maxLen)
 *
 * `lossMask` is 1 on the response tokens and on <eos> (the model must learn to stop), 0 on the
 * prompt, <bos>, <sep> and padding — so losses and gradients are "on response tokens only".
 *
 * Which codec when:
 *  - `CharCodec` for the toy: a fixed alphabet, one token per character; a text outside the
 *    alphabet or a pair longer than maxLen is an error (the toy never truncates).
 *  - `WordCodec` for real text: lower-cased words, single digits and single punctuation marks
 *    (so numbers need only ten tokens), the `maxVocab` most frequent words of the fitting corpus
 *    (ties by word order), everything else <unk>. Prompts are cut to `maxPromptTokens`, responses
 *    to what is left of maxLen (the <eos> is dropped if it does not fit); `truncated` says so.
 */
import { EmptyInputError, InvalidArgumentError, assertKnownKeys } from "../../errors";

/** A prompt/response pair in the codec's layout (see the module header): ids, loss mask, lengths and whether it was cut. */
export interface EncodedPair {
  /** Exactly maxLen ids. */
  tokens: number[];
  /** 1 on response tokens (and <eos>), 0 elsewhere. */
  lossMask: number[];
  /** Ids before padding. */
  length: number;
  /** The prompt part (<bos> prompt [<sep>]) — where generation starts. */
  promptLength: number;
  truncated: boolean;
}

/** Text ↔ ids in the shared layout: what training, per-example gradients and greedy decoding use (CharCodec, WordCodec). */
export interface SequenceCodec {
  readonly vocabSize: number;
  readonly maxLen: number;
  readonly padId: number;
  readonly eosId: number;
  encodePair(prompt: string, response: string): EncodedPair;
  /** The ids a generation starts from: <bos> prompt [<sep>]. */
  encodePrompt(prompt: string): number[];
  /** Ids → text (stops at nothing: pass the ids you want decoded). */
  decode(ids: readonly number[]): string;
}

function assertLength(maxLen: unknown): asserts maxLen is number {
  if (typeof maxLen !== "number" || !Number.isInteger(maxLen) || maxLen < 3) throw new InvalidArgumentError("maxLen", "an integer ≥ 3", maxLen);
}

function pad(ids: number[], mask: number[], maxLen: number, padId: number): { tokens: number[]; lossMask: number[] } {
  const tokens = ids.concat(new Array(maxLen - ids.length).fill(padId));
  return { tokens, lossMask: mask.concat(new Array(maxLen - mask.length).fill(0)) };
}

/** One token per character of a fixed alphabet; ids 0, 1, 2 are <pad>, <bos>, <eos>. */
export class CharCodec implements SequenceCodec {
  readonly padId = 0;
  readonly bosId = 1;
  readonly eosId = 2;
  readonly vocabSize: number;
  private readonly ids = new Map<string, number>();

  constructor(readonly alphabet: string, readonly maxLen: number) {
    if (typeof alphabet !== "string" || alphabet.length === 0) throw new InvalidArgumentError("alphabet", "a non-empty string", alphabet);
    assertLength(maxLen);
    for (const ch of alphabet) {
      if (this.ids.has(ch)) throw new InvalidArgumentError("alphabet", "distinct characters", `repeated ${JSON.stringify(ch)}`);
      this.ids.set(ch, 3 + this.ids.size);
    }
    this.vocabSize = 3 + this.ids.size;
  }

  private encodeText(argument: string, text: string): number[] {
    return Array.from(text, (ch, i) => {
      const id = this.ids.get(ch);
      if (id === undefined) throw new InvalidArgumentError(`${argument}[${i}]`, `a character of ${JSON.stringify(this.alphabet)}`, ch);
      return id;
    });
  }

  encodePrompt(prompt: string): number[] {
    return [this.bosId, ...this.encodeText("prompt", prompt)];
  }

  encodePair(prompt: string, response: string): EncodedPair {
    if (response.length === 0) throw new EmptyInputError("response", "at least one character (the loss is on the response)");
    const head = this.encodePrompt(prompt), body = [...this.encodeText("response", response), this.eosId];
    const length = head.length + body.length;
    if (length > this.maxLen) throw new InvalidArgumentError("prompt + response", `at most maxLen = ${this.maxLen} tokens with <bos> and <eos>`, `${length} tokens for ${JSON.stringify(prompt + response)}`);
    const { tokens, lossMask } = pad([...head, ...body], [...head.map(() => 0), ...body.map(() => 1)], this.maxLen, this.padId);
    return { tokens, lossMask, length, promptLength: head.length, truncated: false };
  }

  decode(ids: readonly number[]): string {
    const chars = [...this.ids.keys()];
    return ids.map((id) => (id >= 3 && id < this.vocabSize ? chars[id - 3] : id === this.eosId ? "" : "")).join("");
  }
}

/** Options of `WordCodec` (real text): vocabulary cap, context length and the prompt cut. */
export interface WordCodecOptions {
  /** Words kept besides the 5 special tokens. */
  maxVocab: number;
  /** Context length in tokens (every encoded pair is padded or cut to it). */
  maxLen: number;
  /** Prompt words kept (the first ones). Default half of maxLen. */
  maxPromptTokens?: number;
}

/** Lower-cased words, single digits, single punctuation marks. */
export function splitTextWords(text: string): string[] {
  return text.toLowerCase().match(/[a-z]+|[0-9]|[^\sa-z0-9]/g) ?? [];
}

/** Word-level codec with a capped vocabulary; ids 0–4: <pad> <bos> <eos> <unk> <sep>. */
export class WordCodec implements SequenceCodec {
  static readonly SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>", "<sep>"] as const;
  readonly padId = 0;
  readonly bosId = 1;
  readonly eosId = 2;
  readonly unkId = 3;
  readonly sepId = 4;
  readonly vocabSize: number;
  readonly maxLen: number;
  readonly maxPromptTokens: number;
  private readonly ids: Map<string, number>;

  private constructor(readonly words: readonly string[], maxLen: number, maxPromptTokens: number) {
    this.ids = new Map(words.map((w, i) => [w, 5 + i]));
    this.vocabSize = 5 + words.length;
    this.maxLen = maxLen;
    this.maxPromptTokens = maxPromptTokens;
  }

  /** Learns the vocabulary (most frequent words of `corpus`, ties by first appearance). */
  static fit(corpus: readonly string[], options: WordCodecOptions): WordCodec {
    assertKnownKeys("options", options, ["maxVocab", "maxLen", "maxPromptTokens"]);
    if (!Array.isArray(corpus) || corpus.length === 0) throw new EmptyInputError("corpus", "at least one text");
    if (!Number.isInteger(options.maxVocab) || options.maxVocab < 1) throw new InvalidArgumentError("options.maxVocab", "a positive integer", options.maxVocab);
    assertLength(options.maxLen);
    const maxPrompt = options.maxPromptTokens ?? Math.floor(options.maxLen / 2);
    if (!Number.isInteger(maxPrompt) || maxPrompt < 1 || maxPrompt > options.maxLen - 3) {
      throw new InvalidArgumentError("options.maxPromptTokens", `an integer in [1, maxLen − 3 = ${options.maxLen - 3}]`, maxPrompt);
    }
    const counts = new Map<string, number>();
    corpus.forEach((text, i) => {
      if (typeof text !== "string") throw new InvalidArgumentError(`corpus[${i}]`, "a string", text);
      for (const w of splitTextWords(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
    });
    const order = [...counts.keys()]; // first-appearance order breaks frequency ties
    const rank = new Map(order.map((w, i) => [w, i]));
    const words = order.sort((a, b) => (counts.get(b)! - counts.get(a)!) || (rank.get(a)! - rank.get(b)!)).slice(0, options.maxVocab);
    return new WordCodec(words, options.maxLen, maxPrompt);
  }

  private encodeWords(text: string): number[] {
    return splitTextWords(text).map((w) => this.ids.get(w) ?? this.unkId);
  }

  encodePrompt(prompt: string): number[] {
    return [this.bosId, ...this.encodeWords(prompt).slice(0, this.maxPromptTokens), this.sepId];
  }

  encodePair(prompt: string, response: string): EncodedPair {
    const head = this.encodePrompt(prompt);
    const words = this.encodeWords(response);
    if (words.length === 0) throw new EmptyInputError("response", "at least one word (the loss is on the response)");
    const room = this.maxLen - head.length;
    const body = words.length + 1 <= room ? [...words, this.eosId] : words.slice(0, room);
    const truncated = body.length < words.length + 1 || splitTextWords(prompt).length > this.maxPromptTokens;
    const { tokens, lossMask } = pad([...head, ...body], [...head.map(() => 0), ...body.map(() => 1)], this.maxLen, this.padId);
    return { tokens, lossMask, length: head.length + body.length, promptLength: head.length, truncated };
  }

  decode(ids: readonly number[]): string {
    return ids.map((id) => (id >= 5 ? this.words[id - 5] : WordCodec.SPECIALS[id] ?? "<?>")).join(" ");
  }
}
