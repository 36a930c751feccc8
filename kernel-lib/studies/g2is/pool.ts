/**
 * The toy dataset: a training pool with planted structure, the targets (a small validation set
 * grouped by subtask + a held-out test each), and the generic mixture the base model is
 * pre-trained on. A pure function of its options (seeded).
 *
 * Pool: the 11 clean families in equal shares, `conflictFraction` conflicting ADD items (split
 * over CONFLICT_KINDS), `duplicateFraction` duplicates of clean items (half exact copies, half
 * near duplicates: one digit of the prompt changed and the answer recomputed), shuffled.
 * Targets (TOY_TARGETS):
 *   MULN        composition absent from the pool (2-digit × 1-digit: MUL1 + ADD + carry)
 *   SORTDESC    second composition (SORT then REV)
 *   multi       MMLU-like: six subtasks (ADD, SUB, CMP, MOD, PAR, COPY), few examples each
 *   single-ADD  one clean skill (shares its prompts with the conflicting items)
 *   union       all of the above: every validation subtask and every test item
 * Test prompts never occur in the pool, the pre-training mixture or any validation set (drawn
 * by rejection), so test accuracy measures generalisation, not recall.
 */
import { InvalidArgumentError, assertKnownKeys } from "../../errors";
import { Rng, Seed } from "../../random";
import { CONFLICT_KINDS, POOL_FAMILIES, PoolFamily, ToyFamily, ToyItem, cleanTwin, generateToyItem, solveToyPrompt } from "./tasks";

/** The toy targets (see the module header): two compositions absent from the pool, a multi-subtask target, one clean skill and their union. */
export const TOY_TARGETS = ["MULN", "SORTDESC", "multi", "single-ADD", "union"] as const;
/** One of `TOY_TARGETS`. */
export type ToyTargetName = (typeof TOY_TARGETS)[number];

/** A toy item placed in the pool: its index and, for a planted duplicate, which row it copies. */
export interface PoolExample extends ToyItem {
  /** Position in the pool. */
  index: number;
  /** For a duplicate: the pool index it copies (exactly or nearly); else null. */
  duplicateOf: number | null;
  nearDuplicate: boolean;
}

/** One toy target: the validation items selection sees (by subtask) and the held-out test evaluation sees. */
export interface TargetSet {
  name: string;
  /** Validation examples grouped by subtask (LESS takes the max over subtasks; G2IS pools them). */
  validation: Record<string, ToyItem[]>;
  /** Held-out test items (each carries its subtask in `family`). */
  test: ToyItem[];
}

/** What `buildToyDataset` returns: the pool, the targets, the pre-training mixture and the conflicting items' clean twins. */
export interface ToyDataset {
  pool: PoolExample[];
  targets: Record<ToyTargetName, TargetSet>;
  /** The generic pre-training mixture (clean pool families, another stream). */
  pretrain: ToyItem[];
  /** Clean twins (same prompt, correct answer) of the conflicting pool items, by pool index. */
  twins: { poolIndex: number; twin: ToyItem }[];
}

/** Options of `buildToyDataset`; the defaults are the study's (8% conflicts, 5% duplicates, 64 test items per target). */
export interface ToyDatasetOptions {
  /** Pool examples (at least 2 per clean family). */
  poolSize: number;
  /** Examples of the generic pre-training mixture (clean families only, never the compositions). */
  pretrainSize: number;
  /** Share of conflicting items in the pool. Default 0.08. */
  conflictFraction?: number;
  /** Share of duplicates. Default 0.05. */
  duplicateFraction?: number;
  /** Validation examples per subtask of the multi-subtask target. Default 4. */
  validationPerSubtask?: number;
  /** Validation examples of a single-subtask target. Default 8. */
  validationSingle?: number;
  /** Test items per target (split over subtasks for multi). Default 64. */
  testPerTarget?: number;
  /** Everything in the dataset derives from it. */
  seed: Seed;
}

/** The six subtasks of the MMLU-like "multi" target (each a clean pool family). */
export const MULTI_SUBTASKS: readonly PoolFamily[] = ["ADD", "SUB", "CMP", "MOD", "PAR", "COPY"];
const NEAR_DUPLICATE_FAMILIES: readonly ToyFamily[] = ["ADD", "ADD-carry", "MUL1", "COPY", "REV", "SORT"];

function fraction(argument: string, value: number): number {
  if (typeof value !== "number" || !(value >= 0 && value < 0.5)) throw new InvalidArgumentError(argument, "a number in [0, 0.5)", value);
  return value;
}

function count(argument: string, value: unknown, min: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) throw new InvalidArgumentError(argument, `an integer ≥ ${min}`, value);
  return value;
}

/** Changes one digit of the prompt (not in a task tag) and recomputes the answer. */
function nearDuplicate(item: ToyItem, rng: Rng): ToyItem {
  const positions = [...item.prompt].map((c, i) => (/\d/.test(c) && item.prompt[i - 1] !== "n" ? i : -1)).filter((i) => i >= 0);
  const at = positions[rng.int(positions.length)];
  const digit = (Number(item.prompt[at]) + 1 + rng.int(8)) % 10;
  const prompt = item.prompt.slice(0, at) + digit + item.prompt.slice(at + 1);
  const answer = solveToyPrompt(prompt);
  return { ...item, prompt, answer, correct: answer };
}

/**
 * The toy dataset (see the module header): a pool of the 11 clean families with planted conflicting
 * items and duplicates, the five targets with validation and held-out test, and the pre-training
 * mixture — a pure function of `options` (test prompts never occur in the pool, the mixture or a
 * validation set).
 *
 * @example
 * ```ts
 * const toy = lab.studies.g2is.buildToyDataset({ poolSize: 400, pretrainSize: 200, seed: 0 });
 * toy.pool.filter((e) => e.conflict).length;  // 32: 8% of the pool trains on a wrong ADD answer
 * toy.targets.MULN.test[0];                   // { family: "MULN", prompt: "…*…=", answer: "…", … }
 * toy.twins[0];                               // a conflicting item's index and its clean twin
 * ```
 */
export function buildToyDataset(options: ToyDatasetOptions): ToyDataset {
  assertKnownKeys("options", options, ["poolSize", "pretrainSize", "conflictFraction", "duplicateFraction", "validationPerSubtask", "validationSingle", "testPerTarget", "seed"]);
  const N = count("options.poolSize", options.poolSize, 2 * POOL_FAMILIES.length);
  const pretrainSize = count("options.pretrainSize", options.pretrainSize, 1);
  const conflictShare = fraction("options.conflictFraction", options.conflictFraction ?? 0.08);
  const duplicateShare = fraction("options.duplicateFraction", options.duplicateFraction ?? 0.05);
  const perSubtask = count("options.validationPerSubtask", options.validationPerSubtask ?? 4, 2);
  const single = count("options.validationSingle", options.validationSingle ?? 8, 2);
  const testSize = count("options.testPerTarget", options.testPerTarget ?? 64, MULTI_SUBTASKS.length);
  const rng = new Rng(options.seed).derive("toy-dataset");

  const nConflict = Math.round(N * conflictShare), nDuplicate = Math.round(N * duplicateShare);
  const nClean = N - nConflict - nDuplicate;
  const items: { item: ToyItem; duplicateOf: number | null; near: boolean }[] = [];
  const cleanRng = rng.derive("clean");
  for (let i = 0; i < nClean; i++) items.push({ item: generateToyItem(POOL_FAMILIES[i % POOL_FAMILIES.length], cleanRng), duplicateOf: null, near: false });
  const conflictRng = rng.derive("conflict");
  for (let i = 0; i < nConflict; i++) items.push({ item: generateToyItem(CONFLICT_KINDS[i % CONFLICT_KINDS.length], conflictRng), duplicateOf: null, near: false });
  const duplicateRng = rng.derive("duplicates");
  for (let i = 0; i < nDuplicate; i++) {
    const source = duplicateRng.int(nClean);
    const near = i % 2 === 1 && NEAR_DUPLICATE_FAMILIES.includes(items[source].item.family);
    items.push({ item: near ? nearDuplicate(items[source].item, duplicateRng) : { ...items[source].item }, duplicateOf: source, near });
  }
  // Shuffle, then translate duplicateOf from generation order to pool order.
  const order = rng.derive("shuffle").shuffle(items.map((_, i) => i));
  const positionOf = new Int32Array(items.length);
  order.forEach((generated, position) => { positionOf[generated] = position; });
  const pool: PoolExample[] = order.map((generated, index) => {
    const { item, duplicateOf, near } = items[generated];
    return { ...item, index, duplicateOf: duplicateOf === null ? null : positionOf[duplicateOf], nearDuplicate: near };
  });

  const pretrainRng = rng.derive("pretrain");
  const pretrain = Array.from({ length: pretrainSize }, (_, i) => generateToyItem(POOL_FAMILIES[i % POOL_FAMILIES.length], pretrainRng));

  // Validation first, then tests by rejection against everything seen so far.
  const seen = new Set<string>([...pool.map((p) => p.prompt), ...pretrain.map((p) => p.prompt)]);
  const draw = (family: ToyFamily, stream: Rng, n: number, unseen: boolean): ToyItem[] => {
    const out: ToyItem[] = [];
    for (let attempt = 0; out.length < n; attempt++) {
      const item = generateToyItem(family, stream);
      // A family with few distinct prompts may run out: after many rejections accept repeats.
      if (unseen && seen.has(item.prompt) && attempt < 200 * n) continue;
      seen.add(item.prompt);
      out.push(item);
    }
    return out;
  };
  const valRng = rng.derive("validation"), testRng = rng.derive("test");
  const singleTarget = (name: string, family: ToyFamily): TargetSet => ({ name, validation: { [family]: draw(family, valRng.derive(name), single, true) }, test: [] });
  const targets = {
    MULN: singleTarget("MULN", "MULN"),
    SORTDESC: singleTarget("SORTDESC", "SORTDESC"),
    multi: { name: "multi", validation: Object.fromEntries(MULTI_SUBTASKS.map((f) => [f, draw(f, valRng.derive("multi", f), perSubtask, true)])), test: [] as ToyItem[] },
    "single-ADD": singleTarget("single-ADD", "ADD"),
  };
  targets.MULN.test = draw("MULN", testRng.derive("MULN"), testSize, true);
  targets.SORTDESC.test = draw("SORTDESC", testRng.derive("SORTDESC"), testSize, true);
  targets.multi.test = MULTI_SUBTASKS.flatMap((f, i) => draw(f, testRng.derive("multi", f), Math.floor(testSize / MULTI_SUBTASKS.length) + (i < testSize % MULTI_SUBTASKS.length ? 1 : 0), true));
  targets["single-ADD"].test = draw("ADD", testRng.derive("single-ADD"), testSize, true);
  const unionValidation: Record<string, ToyItem[]> = {};
  for (const t of Object.values(targets)) for (const [subtask, rows] of Object.entries(t.validation)) unionValidation[subtask] = [...(unionValidation[subtask] ?? []), ...rows];
  const union: TargetSet = { name: "union", validation: unionValidation, test: Object.values(targets).flatMap((t) => t.test) };

  const twins = pool.filter((p) => p.conflict).map((p) => ({ poolIndex: p.index, twin: cleanTwin(p) }));
  return { pool, targets: { ...targets, union }, pretrain, twins };
}

/** Subtask name → count of the items in `indices` (for a selection's composition), plus totals. */
export function poolComposition(pool: readonly PoolExample[], indices: readonly number[]): { byFamily: Record<string, number>; conflicts: number; duplicates: number; total: number } {
  const byFamily: Record<string, number> = {};
  let conflicts = 0, duplicates = 0;
  for (const i of indices) {
    const p = pool[i];
    if (p === undefined) throw new InvalidArgumentError("indices", `pool indices in [0, ${pool.length})`, i);
    byFamily[p.family] = (byFamily[p.family] ?? 0) + 1;
    if (p.conflict) conflicts++;
    if (p.duplicateOf !== null) duplicates++;
  }
  return { byFamily, conflicts, duplicates, total: indices.length };
}
