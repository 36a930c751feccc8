/**
 * The real-text study's data: GSM8K (math word problems) as the target, a mixed training pool of
 * GSM8K, Code Alpaca and the Alpaca seed tasks, and a disjoint generic mixture of all three to
 * pre-train the tiny base model — read from the subsets the project ships in `data/real/` (see
 * data/README.md for origin and licences; the two CC BY-NC sets are non-commercial only).
 *
 * Pairs with no word in the prompt or the response are dropped (a few seed tasks have an empty
 * output). Texts: GSM8K question → answer with the calculator annotations (<<48/2=24>>) removed; Code Alpaca
 * instruction (+ input) → output; a seed task's instruction (+ its first instance's input) → that
 * instance's output. Tokenised by the word codec (capped vocabulary fitted on pre-training + pool
 * texts, digits one token each), prompts cut to `maxPromptTokens`, responses truncated to maxLen.
 * A tiny model cannot solve GSM8K, so this study reports the target's held-out LOSS and the
 * composition of each selection, not accuracy.
 * Splits are seeded shuffles per source: GSM8K train → validation, pre-training, pool (disjoint);
 * GSM8K test → the held-out test.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { FileFormatError, InvalidArgumentError, assertKnownKeys } from "../../errors";
import { Rng, Seed } from "../../random";
import { readJsonl } from "../../io/jsonl";
import { projectRoot } from "../../experiments/provenance";
import { WordCodec, splitTextWords } from "./codec";
import { EvalEntry, PoolEntry, SelectionDataset, fingerprintOf } from "./dataset";
import type { TrainingExample } from "../../train/lora-training";

/** The real-text sources shipped in data/real/: GSM8K (the target), Code Alpaca and the Alpaca seed tasks. */
export const REAL_SOURCES = ["gsm8k", "codealpaca", "alpaca-seed"] as const;
/** One of `REAL_SOURCES`. */
export type RealSource = (typeof REAL_SOURCES)[number];

/** One prompt/response text pair and the source it came from. */
export interface TextPair { prompt: string; response: string; source: RealSource }

/** Options of `realSelectionDataset`: rows per source and split, the word codec's vocabulary and context, the split seed. */
export interface RealTextOptions {
  /** Pool rows per source. */
  poolSizes: Record<RealSource, number>;
  /** Pre-training rows per source (disjoint from the pool). */
  pretrainSizes: Record<RealSource, number>;
  /** GSM8K validation rows (the target's few examples). Default 16. */
  validationSize?: number;
  /** GSM8K test rows. Default 100. */
  testSize?: number;
  /** Words the codec keeps (the most frequent in pre-training + pool texts); the rest are <unk>. */
  maxVocab: number;
  /** Context length in tokens; longer pairs are cut (`realTextEncodingStats` counts them). */
  maxLen: number;
  /** Prompt words kept. Default half of maxLen. */
  maxPromptTokens?: number;
  /** Seed of the per-source split shuffles. */
  seed: Seed;
  /** Folder holding gsm8k/, codealpaca/, alpaca-seed/ (default <project>/data/real). */
  dataDir?: string;
}

const stripCalculator = (answer: string) => answer.replace(/<<[^>]*>>/g, "");

function readRecords(file: string): unknown[] {
  if (file.endsWith(".jsonl")) {
    const { records, malformed } = readJsonl(file, { onMalformed: "skip" });
    if (malformed.length > 0) throw new FileFormatError(file, `line ${malformed[0].line}: ${malformed[0].problem}`);
    return records;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new FileFormatError(file, `cannot read as JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(parsed)) throw new FileFormatError(file, "expected a JSON array of records");
  return parsed;
}

function field(file: string, record: unknown, i: number, name: string): string {
  const value = (record as Record<string, unknown> | null)?.[name];
  if (typeof value !== "string") throw new FileFormatError(file, `record ${i}: field ${name} is not a string`);
  return value;
}

/** Every text pair of the shipped subsets, per source (GSM8K split into train and test). */
export function loadRealTextSources(dataDir = path.join(projectRoot(), "data", "real")): { train: Record<RealSource, TextPair[]>; gsm8kTest: TextPair[] } {
  const file = (...parts: string[]) => path.join(dataDir, ...parts);
  const gsm = (name: string) => readRecords(file("gsm8k", name)).map((r, i): TextPair => ({
    prompt: field(name, r, i, "question"), response: stripCalculator(field(name, r, i, "answer")), source: "gsm8k",
  }));
  const codeFile = file("codealpaca", "code_alpaca_500.json");
  const code = readRecords(codeFile).map((r, i): TextPair => {
    const input = field(codeFile, r, i, "input");
    return { prompt: field(codeFile, r, i, "instruction") + (input ? `\n${input}` : ""), response: field(codeFile, r, i, "output"), source: "codealpaca" };
  });
  const seedFile = file("alpaca-seed", "seed_tasks.jsonl");
  const seeds = readRecords(seedFile).map((r, i): TextPair => {
    const instances = (r as { instances?: unknown }).instances;
    if (!Array.isArray(instances) || instances.length === 0) throw new FileFormatError(seedFile, `record ${i}: instances must be a non-empty list`);
    const input = field(seedFile, instances[0], i, "input");
    return { prompt: field(seedFile, r, i, "instruction") + (input ? `\n${input}` : ""), response: field(seedFile, instances[0], i, "output"), source: "alpaca-seed" };
  });
  // A pair without words on either side (a few seed tasks have an empty output) cannot train anything.
  const usable = (pairs: TextPair[]) => pairs.filter((p) => splitTextWords(p.prompt).length > 0 && splitTextWords(p.response).length > 0);
  return { train: { gsm8k: usable(gsm("train-500.jsonl")), codealpaca: usable(code), "alpaca-seed": usable(seeds) }, gsm8kTest: usable(gsm("test-200.jsonl")) };
}

/**
 * The real-text study's dataset (see the module header): a GSM8K target (validation + held-out
 * test) and a pool mixing GSM8K, Code Alpaca and Alpaca seed rows, encoded by a word codec fitted
 * on the pre-training and pool texts; a pure function of its options and the shipped files.
 *
 * @example
 * ```ts
 * const real = lab.studies.g2is.realSelectionDataset({
 *   poolSizes: { gsm8k: 40, codealpaca: 60, "alpaca-seed": 20 }, pretrainSizes: { gsm8k: 40, codealpaca: 40, "alpaca-seed": 20 },
 *   maxVocab: 400, maxLen: 128, seed: 0,
 * });
 * real.pool.length;                                        // 120
 * lab.studies.g2is.realTextEncodingStats(real);            // per split: pairs cut, <unk> response tokens
 * ```
 */
export function realSelectionDataset(options: RealTextOptions): SelectionDataset {
  assertKnownKeys("options", options, ["poolSizes", "pretrainSizes", "validationSize", "testSize", "maxVocab", "maxLen", "maxPromptTokens", "seed", "dataDir"]);
  const sources = loadRealTextSources(options.dataDir);
  const validationSize = options.validationSize ?? 16, testSize = options.testSize ?? 100;
  const rng = new Rng(options.seed).derive("real-text-splits");
  const pool: TextPair[] = [], pretrain: TextPair[] = [];
  let validation: TextPair[] = [];
  for (const source of REAL_SOURCES) {
    const rows = rng.derive(source).shuffle(sources.train[source]);
    const nVal = source === "gsm8k" ? validationSize : 0;
    const need = nVal + options.pretrainSizes[source] + options.poolSizes[source];
    if (!Number.isInteger(need) || need > rows.length) throw new InvalidArgumentError(`options.poolSizes.${source} + pretrainSizes.${source}`, `at most ${rows.length - nVal} rows (what data/real holds)`, need - nVal);
    validation = validation.concat(rows.slice(0, nVal));
    // Loops, not push(...rows): sizes are options, and a spread of ~10⁵ rows overflows the stack.
    for (const row of rows.slice(nVal, nVal + options.pretrainSizes[source])) pretrain.push(row);
    for (const row of rows.slice(nVal + options.pretrainSizes[source], need)) pool.push(row);
  }
  if (testSize > sources.gsm8kTest.length) throw new InvalidArgumentError("options.testSize", `at most ${sources.gsm8kTest.length}`, testSize);
  const test = sources.gsm8kTest.slice(0, testSize);
  const codec = WordCodec.fit([...pretrain, ...pool].map((p) => `${p.prompt} ${p.response}`), { maxVocab: options.maxVocab, maxLen: options.maxLen, maxPromptTokens: options.maxPromptTokens });
  const encode = (p: TextPair): TrainingExample => { const e = codec.encodePair(p.prompt, p.response); return { tokens: e.tokens, lossMask: e.lossMask }; };
  const evalEntry = (p: TextPair): EvalEntry => ({ prompt: p.prompt, answer: p.response, subtask: "gsm8k", example: encode(p) });
  const poolEntries: PoolEntry[] = rng.derive("pool-order").shuffle(pool).map((p) => ({ prompt: p.prompt, answer: p.response, group: p.source, conflict: false, duplicate: false, example: encode(p) }));
  const target = { name: "gsm8k", validation: { gsm8k: validation.map(evalEntry) }, test: test.map(evalEntry) };
  return {
    kind: "real", codec, pool: poolEntries, targets: { gsm8k: target }, pretrain: pretrain.map(encode), twins: [], groups: [...REAL_SOURCES],
    maxAnswerTokens: options.maxLen, fingerprint: fingerprintOf({ kind: "real", options: { ...options, dataDir: undefined }, pool: poolEntries.map((p) => p.example.tokens), validation: target.validation.gsm8k.map((e) => e.example.tokens), test: target.test.map((e) => e.example.tokens), pretrain: pretrain.map((p) => p.prompt) }),
  };
}

/** How much of a split survives encoding: truncated pairs and <unk> share of the loss-masked tokens. */
export interface EncodingStats { split: string; pairs: number; truncated: number; responseTokens: number; unknownResponseTokens: number }

/**
 * Per split of a real-text dataset (pool per source, the target's validation and test): how many
 * pairs the codec cut (prompt beyond maxPromptTokens or response beyond maxLen), and how many of the
 * response tokens the loss is computed on are <unk>. What the held-out loss measures follows from
 * these: with every GSM8K answer cut after a few words, it is the answers' opening, not the math.
 */
export function realTextEncodingStats(dataset: SelectionDataset): EncodingStats[] {
  if (dataset === null || typeof dataset !== "object" || dataset.kind !== "real") throw new InvalidArgumentError("dataset", "a real-text SelectionDataset", dataset === null || typeof dataset !== "object" ? dataset : dataset.kind);
  const codec = dataset.codec as WordCodec;
  const stats = (split: string, pairs: readonly { prompt: string; answer: string }[]): EncodingStats => {
    let truncated = 0, responseTokens = 0, unknown = 0;
    for (const p of pairs) {
      const e = codec.encodePair(p.prompt, p.answer);
      if (e.truncated) truncated++;
      e.lossMask.forEach((m, i) => { if (m > 0) { responseTokens++; if (e.tokens[i] === codec.unkId) unknown++; } });
    }
    return { split, pairs: pairs.length, truncated, responseTokens, unknownResponseTokens: unknown };
  };
  const out = dataset.groups.map((g) => stats(`pool/${g}`, dataset.pool.filter((e) => e.group === g)));
  for (const [name, t] of Object.entries(dataset.targets)) {
    out.push(stats(`${name}/validation`, Object.values(t.validation).flat()));
    out.push(stats(`${name}/test`, t.test));
  }
  return out;
}
