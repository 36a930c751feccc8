/**
 * Turning the study's run records into the numbers a notebook shows: typed rows from the run
 * store, mean ± std over seeds per group, and per-target comparisons. Pure data: nothing is
 * rendered or trained here.
 *
 * Which function when: `studyRows` once on the sweep's records; `aggregateRows` for any
 * "mean ± std over seeds" table or chart (std is the sample standard deviation, n − 1 in the
 * denominator; 0 with a single seed, which `n` makes visible).
 */
import { EmptyInputError, InvalidArgumentError } from "../../errors";
import { checkOptions, option } from "../../options";
import type { Rng, Seed } from "../../random";
import { pairedVerdict, PairedVerdict } from "../../stats/verdict";
import type { Alternative } from "../../stats/sign-test";
import type { RunRecord } from "../../experiments/run-store";
import type { WalkRejections } from "../../g2is/walk";
import { selectionStability } from "../../g2is/diagnostics";
import type { StudyRunConfig } from "./study-runs";

/** One G2IS run as a row: its grid point (the run config's axes) and what it measured. */
export interface StudyRow extends Pick<StudyRunConfig, "target" | "method" | "trainK" | "valK" | "delta" | "regime"> {
  /** Updates the arm's fine-tune took (0 for base). */
  finetuneSteps: number;
  seed: number;
  blocks: string[];
  dataset: string;
  exactMatch: number | null;
  testLoss: number;
  /** Per test item (same order in every arm of a seed): 1/0 exact match (null for real text) and loss. */
  itemCorrect: number[] | null;
  itemLoss: number[];
  selected: number;
  budget: number;
  conflictFraction: number;
  duplicateFraction: number;
  composition: Record<string, number>;
  componentWeights: number[];
  componentPaths: number[][];
  componentKinds: string[][];
  fallbacks: number;
  underfilled: number;
  /** Selected pool rows (null for full / base, and for runs stored before study version 3). */
  selection: number[] | null;
  /** G2IS arms: the walk's turned-down candidates per scan and constraint (null otherwise). */
  rejections: WalkRejections | null;
  /** G2IS arms: |cos(Σ, K_i)| after each acceptance, per component. */
  componentAlignment: number[][];
  finetuneSeconds: number;
  wallSeconds: number;
}

/** The ok records of the g2is study as typed rows. */
export function studyRows(records: readonly RunRecord[]): StudyRow[] {
  if (!Array.isArray(records)) throw new InvalidArgumentError("records", "an array of run records", records);
  return records.filter((r) => r.status === "ok").map((r) => {
    const c = r.config as Record<string, unknown>, m = r.metrics as Record<string, unknown>;
    return {
      target: String(c.target), method: String(c.method), trainK: Number(c.trainK), valK: Number(c.valK), delta: Number(c.delta), seed: r.seed,
      regime: String(c.regime ?? "steps"), finetuneSteps: Number(m.finetuneSteps ?? NaN),
      blocks: String(m.blocks ?? "").split("+").filter((b) => b.length > 0), dataset: String(m.dataset),
      exactMatch: m.exactMatch === null || m.exactMatch === undefined ? null : Number(m.exactMatch),
      testLoss: Number(m.testLoss),
      itemCorrect: Array.isArray(m.itemCorrect) ? (m.itemCorrect as number[]) : null, itemLoss: Array.isArray(m.itemLoss) ? (m.itemLoss as number[]) : [],
      selected: Number(m.selected), budget: Number(m.budget),
      conflictFraction: Number(m.conflictFraction), duplicateFraction: Number(m.duplicateFraction),
      composition: (m.composition ?? {}) as Record<string, number>,
      componentWeights: (m.componentWeights ?? []) as number[], componentPaths: (m.componentPaths ?? []) as number[][],
      componentKinds: (m.componentKinds ?? []) as string[][],
      fallbacks: Number(m.fallbacks ?? 0), underfilled: Number(m.underfilled ?? 0),
      selection: Array.isArray(m.selection) ? (m.selection as number[]) : null,
      rejections: (m.rejections ?? null) as WalkRejections | null,
      componentAlignment: (m.componentAlignment ?? []) as number[][],
      finetuneSeconds: Number(m.finetuneSeconds ?? 0), wallSeconds: r.wallSeconds,
    };
  });
}

/** A metric aggregated over a group of runs (typically seeds): mean, sample std (n − 1; 0 for one value) and the count of finite values. */
export interface Aggregate { mean: number; std: number; n: number }

/** Mean and sample std (n − 1; 0 for one value) of finite values; NaN mean for none. */
export function meanStd(values: readonly number[]): Aggregate {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return { mean: NaN, std: NaN, n: 0 };
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
  return { mean, std, n: v.length };
}

/**
 * Groups rows by the given fields and aggregates `metric` over each group (typically over seeds):
 * one record per group with the key fields, `mean`, `std`, `n`, in first-appearance order.
 */
export function aggregateRows<K extends keyof StudyRow>(rows: readonly StudyRow[], by: readonly K[], metric: (row: StudyRow) => number | null): (Pick<StudyRow, K> & Aggregate)[] {
  const groups = new Map<string, { key: Pick<StudyRow, K>; values: number[] }>();
  for (const row of rows) {
    const key = Object.fromEntries(by.map((k) => [k, row[k]])) as Pick<StudyRow, K>;
    const id = JSON.stringify(key);
    let g = groups.get(id);
    if (g === undefined) { g = { key, values: [] }; groups.set(id, g); }
    const v = metric(row);
    if (v !== null) g.values.push(v);
  }
  return [...groups.values()].map((g) => ({ ...g.key, ...meanStd(g.values) }));
}

/** Which rows of the study a comparison reads: one target, one budget/valK/δ point. */
export interface ComparisonPoint { target: string; trainK: number; valK?: number; delta?: number; regime?: string }

/**
 * Method a vs method b through the statistics layer, item by item: every method of a seed is
 * evaluated on the same test items, so item i pairs with item i; seeds are the clusters (a
 * stratified test, exact McNemar for exact match). `metric` "correct" compares exact match
 * (a − b), "loss" compares held-out loss as b − a (positive = a has the LOWER loss). `pointB`
 * compares b at another budget / valK / δ (the same target), e.g. one method at 5% vs at 1%.
 */
export function compareMethods(rows: readonly StudyRow[], point: ComparisonPoint, a: string, b: string, metric: "correct" | "loss", options: { seed?: Seed | Rng; alternative?: Alternative; pointB?: ComparisonPoint } = {}): PairedVerdict & { seeds: number[] } {
  checkOptions("options", options, { seed: option.any, alternative: option.any, pointB: option.object }); // seed, alternative: pairedVerdict
  const pointB = options.pointB ?? point;
  if (pointB.target !== point.target) throw new InvalidArgumentError("options.pointB.target", `the same target as point (${point.target}): items pair only within one test set`, pointB.target);
  const matches = (r: StudyRow, method: string, at: ComparisonPoint) => r.method === method && r.target === at.target && r.trainK === at.trainK
    && (at.valK === undefined || r.valK === at.valK) && (at.delta === undefined || r.delta === at.delta) && r.regime === (at.regime ?? "steps");
  const bySeed = (method: string, at: ComparisonPoint) => new Map(rows.filter((r) => matches(r, method, at)).map((r) => [r.seed, metric === "correct" ? r.itemCorrect : r.itemLoss]));
  const sa = bySeed(a, point), sb = bySeed(b, pointB);
  const seeds = [...sa.keys()].filter((s) => sb.has(s)).sort((x, y) => x - y);
  if (seeds.length === 0) throw new EmptyInputError("rows", `seeds on which both ${a} and ${b} ran for ${JSON.stringify(point)}`);
  const differences: number[] = [], clusters: number[] = [];
  for (const seed of seeds) {
    const x = sa.get(seed), y = sb.get(seed);
    if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length || x.length === 0) {
      throw new InvalidArgumentError("rows", `per-item ${metric === "correct" ? "exact-match" : "loss"} vectors of equal length for ${a} and ${b} (seed ${seed}); re-run the study to store them`);
    }
    x.forEach((v, i) => { differences.push(metric === "correct" ? v - y[i] : y[i] - v); clusters.push(seed); });
  }
  const v = pairedVerdict(differences, { clusters, unitName: "item", clusterName: "seed", seed: options.seed, alternative: options.alternative });
  return { ...v, seeds };
}

/** Selection overlap across seeds for one arm at one point: pairwise Jaccard of the selected rows. */
export interface StabilityRow { target: string; method: string; trainK: number; valK: number; delta: number; seeds: number; meanJaccard: number; minJaccard: number }

/**
 * Jaccard stability of every (target, method, trainK, valK, δ) group that ran on ≥ 2 seeds and
 * stored its selection: the mean and the smallest pairwise overlap of the seeds' selections.
 */
export function selectionStabilityRows(rows: readonly StudyRow[]): StabilityRow[] {
  if (!Array.isArray(rows)) throw new InvalidArgumentError("rows", "an array of study rows", rows);
  const groups = new Map<string, { row: StudyRow; selections: number[][] }>();
  for (const r of rows) {
    if (r.selection === null) continue;
    const id = JSON.stringify([r.target, r.method, r.trainK, r.valK, r.delta]);
    const g = groups.get(id) ?? { row: r, selections: [] as number[][] };
    g.selections.push(r.selection);
    groups.set(id, g);
  }
  return [...groups.values()].filter((g) => g.selections.length >= 2).map(({ row, selections }) => {
    const s = selectionStability(selections);
    return { target: row.target, method: row.method, trainK: row.trainK, valK: row.valK, delta: row.delta, seeds: selections.length, meanJaccard: s.mean, minJaccard: s.min };
  });
}
