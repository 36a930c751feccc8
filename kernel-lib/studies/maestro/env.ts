/**
 * The MAESTRO toy environment: prompts of three task types whose type must be inferred from noisy
 * prompt tokens, gold answers, and the response conventions the reward components read.
 *
 * Vocabulary (48 tokens):
 *   0 <pad>  1 <bos>  2 <eos>  3 "["  4 "]"          structural tokens
 *   5…13     type cues, three per type (creative: imagine story poem; factual: what when who;
 *            concise: brief tldr short)
 *   14…47    content words w0…w33 (prompt subjects, answers, filler)
 *
 * A prompt is <bos> followed by `contentTokens` content words IN ANSWER ORDER with `cueTokens`
 * cue tokens shuffled in among them at random positions. With probability `noise` each cue is
 * replaced by a cue of another (uniformly chosen) type, so the type is a plurality vote the policy
 * (and the Conductor) must learn to read. Gold answers come from a seeded "fact table" f (a
 * permutation of the content words): factual → [f(c1), f(c2), f(c3)], concise → [f(c1)],
 * creative → none, where c1, c2, … are the prompt's content words in the order they appear — so
 * the gold answer is a function of the prompt (before v3 of the study the content words were
 * shuffled with the cues and c1 could not be told apart: best concise faithfulness 0.40).
 *
 * A response is what the policy emits, read up to and including its first <eos> (tokens after it
 * are padding); if there is no <eos> within `maxResponseLength` tokens it is cut there
 * (`hasEos` false). Its length counts every token before <eos>.
 *
 * Which strategy when: noise 0 makes the type a lookup (checks the maths); the default 0.2 makes
 * about one prompt in ten ambiguous, so a type-dependent reward must be inferred, not read off.
 */
import { InvalidArgumentError, UnknownOptionError, assertKnownKeys, assertOneOf } from "../../errors";
import { Rng, Seed, toRng } from "../../random";

/** The toy's three task types; each has its own hidden true-utility weights and must be inferred from noisy cue tokens. */
export const TASK_TYPES = ["creative", "factual", "concise"] as const;
/** One of TASK_TYPES. */
export type TaskType = (typeof TASK_TYPES)[number];

/** Token id of <pad> (positions after a response's end). */
export const PAD = 0;
/** Token id of <bos>, the first token of every prompt. */
export const BOS = 1;
/** Token id of <eos>: a response ends at its first <eos>, and generation of that row stops there. */
export const EOS = 2;
/** Token id of "[", the opening bracket of the format component's bracket convention. */
export const OPEN = 3;
/** Token id of "]", the closing bracket of the bracket convention. */
export const CLOSE = 4;
const CUE_START = 5, CUES_PER_TYPE = 3;
/** First content-word id (14): ids below it are structural tokens and type cues. */
export const CONTENT_START = CUE_START + CUES_PER_TYPE * TASK_TYPES.length; // 14
/** Vocabulary size (48): 5 structural tokens, 9 type cues, 34 content words. */
export const VOCAB_SIZE = 48;
const CONTENT_COUNT = VOCAB_SIZE - CONTENT_START; // 34

const CUE_WORDS: Record<TaskType, readonly string[]> = {
  creative: ["imagine", "story", "poem"],
  factual: ["what", "when", "who"],
  concise: ["brief", "tldr", "short"],
};

/** Each token id's text, for printing responses ("<eos>", "[", "story", "w7", …). */
export const VOCABULARY: readonly string[] = [
  "<pad>", "<bos>", "<eos>", "[", "]",
  ...TASK_TYPES.flatMap((t) => CUE_WORDS[t]),
  ...Array.from({ length: CONTENT_COUNT }, (_, i) => `w${i}`),
];

/** Whether a token is structural (<pad>, <bos>, <eos>, "[", "]"): not counted as content by the rewards. */
export function isStructural(token: number): boolean {
  return token <= CLOSE;
}

/** Whether a token is a content word (w0…w33): what faithfulness and the prompt's subject are made of. */
export function isContent(token: number): boolean {
  return token >= CONTENT_START && token < VOCAB_SIZE;
}

/** The cue tokens of a type. */
export function cueTokens(type: TaskType): number[] {
  const t = TASK_TYPES.indexOf(type);
  return Array.from({ length: CUES_PER_TYPE }, (_, i) => CUE_START + t * CUES_PER_TYPE + i);
}

/** The type a cue token indicates, or null for any other token. */
export function cueType(token: number): TaskType | null {
  if (token < CUE_START || token >= CONTENT_START) return null;
  return TASK_TYPES[Math.floor((token - CUE_START) / CUES_PER_TYPE)];
}

/** One prompt of the toy: its type, tokens, content words in answer order, and gold answer (null for creative). */
export interface MaestroPrompt {
  /** Unique within its set: used as the GRPO group id. */
  id: string;
  /** Its task type (hidden from the policy except through the noisy cues). */
  type: TaskType;
  /** <bos> + shuffled cues and content words; every prompt has the same length. */
  tokens: number[];
  /** The content words in the order the answer uses them. */
  content: number[];
  /** Gold answer (content words), null for creative prompts. */
  gold: number[] | null;
}

/** A response read from a policy's output. */
export interface ParsedResponse {
  /** Tokens before the first <eos> (or all of them, cut at maxResponseLength). */
  body: number[];
  hasEos: boolean;
}

/**
 * Options of `new MaestroEnv(...)`: only `seed` is required; the defaults (cue noise 0.2, 3 cues,
 * 4 content words, responses up to 12 tokens) make about one prompt in ten ambiguous, so the type
 * must be inferred rather than read off, while keeping the toy fast.
 */
export interface MaestroEnvOptions {
  /** Seed of the fact table and of every prompt set. */
  seed: Seed;
  /** Probability that a cue token is swapped for another type's cue (default 0.2). */
  noise?: number;
  /** Cue tokens per prompt (default 3). */
  cueTokens?: number;
  /** Content words per prompt (default 4; at least 3, the factual answer's length). */
  contentTokens?: number;
  /** Longest response, <eos> included (default 12). */
  maxResponseLength?: number;
}
/** MaestroEnvOptions with every default filled in (`MaestroEnv#options`). */
export type ResolvedMaestroEnvOptions = Required<MaestroEnvOptions>;

const ENV_KEYS = ["seed", "noise", "cueTokens", "contentTokens", "maxResponseLength"];
/**
 * The disjoint prompt sets an env draws: "eval" (held-out evaluation), "validation" (the tuned
 * static search and the target-informed payoff read it) and "pretrain" (tier B's verbose SFT).
 */
export const PROMPT_SETS = ["eval", "validation", "pretrain"] as const;
/** One of PROMPT_SETS. */
export type PromptSetName = (typeof PROMPT_SETS)[number];

/**
 * The MAESTRO toy environment (see the module header): seeded prompts of three task types with
 * noisy cues, a fact table that defines gold answers, and the response conventions the reward
 * components read. A pure function of its options: the same seed gives the same prompts.
 *
 * @example
 * ```ts
 * const env = new lab.studies.maestro.MaestroEnv({ seed: 0 });
 * const prompts = env.promptSet("eval", 20);            // 20 per type
 * prompts[0].type, prompts[0].gold;                     // e.g. "factual", [w…, w…, w…]
 * ```
 */
export class MaestroEnv {
  /** The options with defaults filled in. */
  readonly options: ResolvedMaestroEnvOptions;
  /** VOCAB_SIZE. */
  readonly vocabSize = VOCAB_SIZE;
  /** Tokens per prompt (<bos> + cues + content words; the same for every prompt). */
  readonly promptLength: number;
  /** Longest response, <eos> included. */
  readonly maxResponseLength: number;
  /** The seeded fact table: content word → its "answer" content word (a permutation). */
  private readonly fact: Map<number, number>;
  private readonly rng: Rng;

  constructor(options: MaestroEnvOptions) {
    if (options === null || typeof options !== "object") throw new InvalidArgumentError("options", "a MaestroEnvOptions object", options);
    assertKnownKeys("options", options, ENV_KEYS);
    if (typeof options.seed !== "number" && typeof options.seed !== "string") throw new InvalidArgumentError("options.seed", "a number or string", options.seed);
    this.options = { noise: 0.2, cueTokens: 3, contentTokens: 4, maxResponseLength: 12, ...options };
    const { noise, cueTokens: cues, contentTokens, maxResponseLength } = this.options;
    if (typeof noise !== "number" || !(noise >= 0 && noise <= 1)) throw new InvalidArgumentError("options.noise", "a probability in [0, 1]", noise);
    integerIn("options.cueTokens", cues, 1, 8);
    integerIn("options.contentTokens", contentTokens, 3, 12);
    integerIn("options.maxResponseLength", maxResponseLength, 6, 64);
    this.promptLength = 1 + cues + contentTokens;
    this.maxResponseLength = maxResponseLength;
    this.rng = new Rng(options.seed).derive("maestro-env");
    const words = Array.from({ length: CONTENT_COUNT }, (_, i) => CONTENT_START + i);
    const image = this.rng.derive("fact-table").shuffle(words);
    this.fact = new Map(words.map((w, i) => [w, image[i]]));
  }

  /** The answer word of a content word (the fact table). */
  factOf(word: number): number {
    const v = this.fact.get(word);
    if (v === undefined) throw new InvalidArgumentError("word", `a content word id in [${CONTENT_START}, ${VOCAB_SIZE})`, word);
    return v;
  }

  /** One prompt of a given type (seeded). */
  makePrompt(type: TaskType, rng: Rng, id: string): MaestroPrompt {
    assertOneOf("type", type, TASK_TYPES);
    const { noise, cueTokens: cues, contentTokens } = this.options;
    const content = rng.sampleIndices(CONTENT_COUNT, contentTokens).map((i) => CONTENT_START + i);
    const own = cueTokens(type);
    const others = TASK_TYPES.filter((t) => t !== type);
    const cueList = Array.from({ length: cues }, (_, i) => {
      // Drawn unconditionally so noise levels share the same prompt words for one seed.
      const u = rng.uniform(), other = rng.choice(others), pick = rng.int(CUES_PER_TYPE);
      return u < noise ? cueTokens(other)[pick] : own[i % CUES_PER_TYPE];
    });
    // Content keeps its order; the cues go to random positions among it, in random order.
    const cuePositions = new Set(rng.sampleIndices(cues + contentTokens, cues));
    const shuffledCues = rng.shuffle(cueList);
    let nextCue = 0, nextContent = 0;
    const body = Array.from({ length: cues + contentTokens }, (_, i) => (cuePositions.has(i) ? shuffledCues[nextCue++] : content[nextContent++]));
    const tokens = [BOS, ...body];
    const answers = content.map((w) => this.factOf(w));
    const gold = type === "factual" ? answers.slice(0, 3) : type === "concise" ? answers.slice(0, 1) : null;
    return { id, type, tokens, content, gold };
  }

  /** `count` prompts with types balanced round-robin then shuffled (every type when count ≥ 3). */
  samplePrompts(count: number, seed: Seed | Rng, idPrefix = "p"): MaestroPrompt[] {
    integerIn("count", count, 1, 1_000_000);
    const rng = toRng(seed);
    const types = rng.shuffle(Array.from({ length: count }, (_, i) => TASK_TYPES[i % TASK_TYPES.length]));
    return types.map((t, i) => this.makePrompt(t, rng, `${idPrefix}${i}`));
  }

  /** A fixed held-out set (same for every run of one env seed): `perType` prompts of each type. */
  promptSet(name: PromptSetName, perType: number): MaestroPrompt[] {
    if (!(PROMPT_SETS as readonly string[]).includes(name)) throw new UnknownOptionError("name", name, PROMPT_SETS);
    integerIn("perType", perType, 1, 100_000);
    const rng = this.rng.derive("set", name);
    const out: MaestroPrompt[] = [];
    for (let i = 0; i < perType; i++) for (const t of TASK_TYPES) out.push(this.makePrompt(t, rng, `${name}-${t}-${i}`));
    return out;
  }

  /** Reads a policy's emitted tokens as a response (cut at the first <eos> or maxResponseLength). */
  parseResponse(tokens: readonly number[]): ParsedResponse {
    const limit = Math.min(tokens.length, this.maxResponseLength);
    for (let t = 0; t < limit; t++) if (tokens[t] === EOS) return { body: tokens.slice(0, t), hasEos: true };
    return { body: tokens.slice(0, limit), hasEos: false };
  }

  /** The emitted tokens of a parsed response: body, then <eos> if it had one. */
  responseTokens(response: ParsedResponse): number[] {
    return response.hasEos ? [...response.body, EOS] : response.body.slice();
  }

  decode(tokens: readonly number[]): string {
    return tokens.map((t) => VOCABULARY[t] ?? `?${t}`).join(" ");
  }

  /** The type a plurality of cue tokens indicates (ties → first in TASK_TYPES order); for diagnostics. */
  cueVote(prompt: MaestroPrompt): TaskType {
    const votes = TASK_TYPES.map((t) => prompt.tokens.filter((x) => cueType(x) === t).length);
    return TASK_TYPES[votes.indexOf(Math.max(...votes))];
  }
}

function integerIn(argument: string, v: unknown, lo: number, hi: number): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) throw new InvalidArgumentError(argument, `an integer in [${lo}, ${hi}]`, v);
}

/** 1 − distinct/length of a response body (0 for an empty body): the share of repeated tokens. */
export function repetitionRate(body: readonly number[]): number {
  if (body.length === 0) return 0;
  return 1 - new Set(body).size / body.length;
}
