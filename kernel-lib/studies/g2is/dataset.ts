/**
 * The dataset shape the selection pipeline works on, whatever the source: a pool of encoded
 * training examples (each with a `group` — toy family or real source — for composition reports),
 * targets (validation examples grouped by subtask, a held-out test), the base model's generic
 * pre-training mixture, and a content fingerprint that keys every on-disk cache.
 *
 * `toySelectionDataset` encodes the toy (pool.ts) with the character codec; real text comes from
 * real-text.ts. Both produce the same shape, so warm-up, features, selection and evaluation are
 * one code path.
 */
import { createHash } from "node:crypto";
import { CharCodec, SequenceCodec } from "./codec";
import type { TrainingExample } from "../../train/lora-training";
import { ToyDatasetOptions, buildToyDataset } from "./pool";
import { CONFLICT_KINDS, POOL_FAMILIES, TOY_ALPHABET } from "./tasks";

/** One pool example as the pipeline sees it: text, group, planted flags and its encoded training example. */
export interface PoolEntry {
  prompt: string;
  answer: string;
  /** Family (toy) or source (real): what composition is reported over. */
  group: string;
  conflict: boolean;
  duplicate: boolean;
  example: TrainingExample;
}

/** One validation or test example of a target: text, subtask and its encoded form. */
export interface EvalEntry {
  prompt: string;
  answer: string;
  subtask: string;
  example: TrainingExample;
}

/** One target of a `SelectionDataset`: validation examples by subtask (what selection sees) and the held-out test. */
export interface TargetData {
  name: string;
  /** Subtask → validation examples (few each). */
  validation: Record<string, EvalEntry[]>;
  test: EvalEntry[];
}

/** The dataset shape every stage of the study works on, toy or real text (see the module header). */
export interface SelectionDataset {
  kind: "toy" | "real";
  codec: SequenceCodec;
  pool: PoolEntry[];
  targets: Record<string, TargetData>;
  pretrain: TrainingExample[];
  /** Clean twins of conflicting pool items (toy only). */
  twins: { poolIndex: number; example: TrainingExample }[];
  /** Every group in display order. */
  groups: string[];
  /** Longest answer in any test set, in tokens (greedy decoding's budget, without <eos>). */
  maxAnswerTokens: number;
  /** sha256 of the encoded content (cache key). */
  fingerprint: string;
}

/** sha256 over a JSON rendering of the encoded content. */
export function fingerprintOf(parts: unknown): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex");
}

/**
 * The toy dataset (`buildToyDataset`) encoded with the character codec at context `maxLen`, in the
 * shape the pipeline works on; groups are the pool families then the conflict kinds.
 *
 * @example
 * ```ts
 * const ds = lab.studies.g2is.toySelectionDataset({ poolSize: 400, pretrainSize: 200, maxLen: 20, seed: 0 });
 * ds.pool[0].example;        // { tokens, lossMask }: the loss is on the answer tokens only
 * Object.keys(ds.targets);   // ["MULN", "SORTDESC", "multi", "single-ADD", "union"]
 * ds.fingerprint;            // sha256 of the encoded content: the key of every cached stage
 * ```
 */
export function toySelectionDataset(options: ToyDatasetOptions & { maxLen: number }): SelectionDataset {
  const { maxLen, ...rest } = options;
  const codec = new CharCodec(TOY_ALPHABET, maxLen);
  const data = buildToyDataset(rest);
  const encode = (prompt: string, answer: string): TrainingExample => {
    const e = codec.encodePair(prompt, answer);
    return { tokens: e.tokens, lossMask: e.lossMask };
  };
  const pool: PoolEntry[] = data.pool.map((p) => ({
    prompt: p.prompt, answer: p.answer, group: p.family, conflict: p.conflict, duplicate: p.duplicateOf !== null, example: encode(p.prompt, p.answer),
  }));
  const targets: Record<string, TargetData> = {};
  for (const [name, t] of Object.entries(data.targets)) {
    targets[name] = {
      name,
      validation: Object.fromEntries(Object.entries(t.validation).map(([s, items]) => [s, items.map((i) => ({ prompt: i.prompt, answer: i.answer, subtask: s, example: encode(i.prompt, i.answer) }))])),
      test: t.test.map((i) => ({ prompt: i.prompt, answer: i.answer, subtask: i.family, example: encode(i.prompt, i.answer) })),
    };
  }
  const pretrain = data.pretrain.map((i) => encode(i.prompt, i.answer));
  const twins = data.twins.map((t) => ({ poolIndex: t.poolIndex, example: encode(t.twin.prompt, t.twin.answer) }));
  const maxAnswerTokens = Object.values(targets).flatMap((t) => t.test.map((e) => e.answer.length)).reduce((a, b) => Math.max(a, b), -Infinity);
  const fingerprint = fingerprintOf({ kind: "toy", alphabet: TOY_ALPHABET, maxLen, pool: data.pool, targets: data.targets, pretrain: data.pretrain });
  return { kind: "toy", codec, pool, targets, pretrain, twins, groups: [...POOL_FAMILIES, ...CONFLICT_KINDS], maxAnswerTokens, fingerprint };
}
