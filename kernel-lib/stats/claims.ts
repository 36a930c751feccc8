/**
 * The claims ledger. A notebook registers every paper claim it tests with `claim(...)`: the
 * statement, the paper's number where there is one, and the evidence — a `pairedVerdict`, an
 * `aucVerdict`, or `byConstruction(...)` for an identity. `claim` prints one
 * `gradlab-claim {json}` line (as `startNotebook` prints `gradlab-meta`); the headless runner
 * collects every such line of a run into `reports/claims.json` and the index page's claims table.
 *
 * A claim's verdict:
 *  - "reproduced": the test is significant in the direction the claim predicts (`expect`; "either"
 *    for a claim that something differs at all);
 *  - "not reproduced": significant in the opposite direction, or — when the paper's effect size is
 *    given (`paper.effect`, in the evidence's units, in the claimed direction) — a confidence
 *    interval that excludes an effect that large (an equivalence-style rule: a powered null), or —
 *    when the evidence was made with a smallest effect of interest δ (`pairedVerdict`'s
 *    `smallestEffectOfInterest`) — an interval inside (−δ, +δ): the effect, real or not, is too
 *    small to matter ("negligible", named in the reason);
 *  - "inconclusive": neither — the record carries the minimum detectable effect (with δ: also a
 *    significant effect whose interval still reaches below δ);
 *  - "holds by construction": an identity (true for every input, e.g. group-normalised advantages
 *    sum to zero). Shown with its numeric check, never counted as evidence for the paper.
 */
import { InvalidArgumentError, UnknownOptionError, assertKnownKeys } from "../errors";
import type { AucVerdict } from "./auc";
import { formatP, PairedVerdict, verdictText } from "./verdict";

/**
 * The prefix of the line `claim` prints; the notebook runner collects these lines into
 * reports/claims.json.
 */
export const CLAIM_PREFIX = "gradlab-claim ";
/** The verdicts a claim can get. */
export const CLAIM_VERDICTS = ["reproduced", "not reproduced", "inconclusive", "holds by construction"] as const;
/** A claim's verdict; see CLAIM_VERDICTS. */
export type ClaimVerdict = (typeof CLAIM_VERDICTS)[number];

/** Evidence that a statement is an identity, with the number that checks it on this run. */
export interface ConstructionEvidence {
  kind: "identity";
  /** Why it holds for every input. */
  reason: string;
  /** The checked quantity (e.g. the largest |Σ advantages| seen) and its tolerance. */
  check: { value: number; tolerance: number; what: string } | null;
}

/** Marks a claim as an identity; `check` is a value computed on this run that must be within tolerance. */
export function byConstruction(reason: string, check?: { value: number; tolerance: number; what: string }): ConstructionEvidence {
  if (typeof reason !== "string" || reason.trim() === "") throw new InvalidArgumentError("reason", "a sentence saying why the statement holds for every input", reason);
  if (check !== undefined) {
    assertKnownKeys("check", check, ["value", "tolerance", "what"]);
    if (typeof check.value !== "number" || !(check.tolerance >= 0)) throw new InvalidArgumentError("check", "{ value: number, tolerance ≥ 0, what }", check);
  }
  return { kind: "identity", reason, check: check ?? null };
}

/** What `claim` takes: id, statement, the paper's value, the evidence and the expected direction. */
export interface ClaimInput {
  /** Stable id, e.g. "prism.gini-beats-random.minialf" (lower case, digits, '.', '-'). */
  id: string;
  /** The claim in words, as the paper makes it (or as we pose it). */
  statement: string;
  /** The paper's number where there is one; `effect` (its size in the evidence's units) enables "not reproduced" when the interval excludes it. */
  paper?: { value?: string; reference?: string; effect?: number };
  evidence: PairedVerdict | AucVerdict | ConstructionEvidence;
  /** Which direction of the evidence reproduces the claim (default "positive"); "either" for a claim that something differs at all. */
  expect?: "positive" | "negative" | "either";
  /** Seeds the evidence came from. */
  seeds?: readonly number[];
  /** How to print estimates: multiplier and unit (e.g. 100, "SR points"). */
  scale?: number;
  unit?: string;
  /** Decimals of the printed numbers in the evidence and the reason (default 2; more for small effects, e.g. 4 for 0.0007). */
  digits?: number;
}

/** One ledger row, as printed and as collected into reports/claims.json. */
export interface ClaimRecord {
  id: string;
  statement: string;
  paper: { value?: string; reference?: string; effect?: number } | null;
  verdict: ClaimVerdict;
  /** Why this verdict, in words (includes the minimum detectable effect when inconclusive). */
  reason: string;
  test: string;
  n: number | null;
  /** The sample in words ("128 tasks in 2 seeds"); null for an identity. */
  sample: string | null;
  p: number | null;
  estimate: number | null;
  interval: { lo: number; hi: number; level: number } | null;
  /** null when no effect is detectable at this n (or for an identity). */
  minDetectableEffect: number | null;
  seeds: number[] | null;
  /** The evidence as one sentence fragment. */
  evidence: string;
  /** How estimates print: value × scale, then unit (e.g. 100, "SR points"); 1 and "" when unset. */
  scale: number;
  unit: string;
  /**
   * The smallest effect of interest δ the evidence was judged against (the evidence's units);
   * absent when the evidence had none (so older records and other studies' claims are unchanged).
   */
  smallestEffectOfInterest?: number;
  /** With δ: true when the interval lay inside (−δ, +δ) and the claim is "not reproduced" for that reason. */
  negligible?: boolean;
}

const ID = /^[a-z0-9][a-z0-9.\-]*$/;

/**
 * Registers a paper claim in the claims ledger: decides its verdict from the evidence
 * ("reproduced" when the evidence's direction is the expected one; "not reproduced" when it is the
 * opposite, when the interval excludes the paper's `effect`, or when evidence made with a smallest
 * effect of interest is negligible; otherwise inconclusive, with the detectable effect), prints one `gradlab-claim` line that the notebook runner collects into
 * `reports/claims.json`, and returns the record. Use it for every claim a notebook tests; evidence
 * is a `stats.pairedVerdict`, a `stats.aucVerdict`, or `byConstruction(reason)` for an identity.
 *
 * @example
 * ```ts
 * const v = lab.stats.pairedVerdict(differences, { clusters: seeds, seed: 1 });
 * const record = lab.claim({
 *   id: "prism.gini-beats-random.minishop",
 *   statement: "Routing by Gini beats random routing",
 *   evidence: v, seeds: [0, 1], scale: 100, unit: "SR points",
 * });
 * lab.stats.claimText(record);                                     // "[REPRODUCED] Routing by Gini … — +4.88 SR points …"
 * ```
 */
export function claim(input: ClaimInput): ClaimRecord {
  const record = claimRecord(input);
  console.log(CLAIM_PREFIX + JSON.stringify(record));
  return record;
}

/** The record `claim` prints, without printing it. */
export function claimRecord(input: ClaimInput): ClaimRecord {
  assertKnownKeys("claim", input, ["id", "statement", "paper", "evidence", "expect", "seeds", "scale", "unit", "digits"]);
  if (input.digits !== undefined && !(Number.isInteger(input.digits) && input.digits >= 0 && input.digits <= 10)) throw new InvalidArgumentError("claim.digits", "an integer in [0, 10]", input.digits);
  const digits = input.digits ?? 2;
  if (typeof input.id !== "string" || !ID.test(input.id)) throw new InvalidArgumentError("claim.id", "lower-case letters, digits, '.' and '-'", input.id);
  if (typeof input.statement !== "string" || input.statement.trim() === "") throw new InvalidArgumentError("claim.statement", "a non-empty sentence", input.statement);
  if (input.paper !== undefined) assertKnownKeys("claim.paper", input.paper, ["value", "reference", "effect"]);
  const expect = input.expect ?? "positive";
  if (expect !== "positive" && expect !== "negative" && expect !== "either") throw new UnknownOptionError("claim.expect", String(expect), ["positive", "negative", "either"]);
  if (input.seeds !== undefined && !(Array.isArray(input.seeds) && input.seeds.every((s) => Number.isInteger(s)))) throw new InvalidArgumentError("claim.seeds", "an array of integer seeds", input.seeds);
  const e = input.evidence;
  if (e === null || typeof e !== "object") throw new InvalidArgumentError("claim.evidence", "a pairedVerdict, aucVerdict or byConstruction result", e);
  if (input.scale !== undefined && !(typeof input.scale === "number" && Number.isFinite(input.scale) && input.scale > 0)) throw new InvalidArgumentError("claim.scale", "a positive number", input.scale);
  if (input.paper?.effect !== undefined && !(typeof input.paper.effect === "number" && Number.isFinite(input.paper.effect))) throw new InvalidArgumentError("claim.paper.effect", "a finite number", input.paper.effect);
  const base = { id: input.id, statement: input.statement, paper: input.paper ?? null, seeds: input.seeds ? [...input.seeds] : null, scale: input.scale ?? 1, unit: input.unit ?? "" };

  if ("kind" in e && e.kind === "identity") {
    const holds = e.check === null || Math.abs(e.check.value) <= e.check.tolerance;
    const checkText = e.check === null ? "" : ` Checked on this run: ${e.check.what} = ${e.check.value.toExponential(2)} (tolerance ${e.check.tolerance.toExponential(0)}).`;
    return {
      ...base, scale: 1, unit: "", verdict: holds ? "holds by construction" : "not reproduced",
      reason: holds ? `An identity, not evidence: ${e.reason}.${checkText}` : `The identity check FAILED — a bug, not a finding: ${e.reason}.${checkText}`,
      test: "identity (no test)", n: null, sample: null, p: null, estimate: e.check?.value ?? null, interval: null, minDetectableEffect: null, evidence: `${e.reason}.${checkText}`,
    };
  }
  if (!("verdict" in e) || !("p" in e) || typeof e.test !== "string") throw new InvalidArgumentError("claim.evidence", "a pairedVerdict, aucVerdict or byConstruction result", e);
  const scale = input.scale ?? 1, unit = input.unit ? ` ${input.unit}` : "";
  const opposite = expect === "positive" ? "negative" : expect === "negative" ? "positive" : "none";
  const mde = Number.isFinite(e.minDetectableEffect) ? e.minDetectableEffect : null;
  const paperEffect = input.paper?.effect;
  const delta = "smallestEffectOfInterest" in e ? e.smallestEffectOfInterest : undefined;
  const negligible = "negligible" in e && e.negligible === true;
  const deltaText = delta === undefined ? "" : `${(scale * delta).toFixed(digits)}${unit}`;
  const intervalText = (iv: { lo: number; hi: number; level: number }) => `the ${Math.round(100 * iv.level)}% interval [${(scale * iv.lo).toFixed(digits)}, ${(scale * iv.hi).toFixed(digits)}]${unit}`;
  let verdict: ClaimVerdict, reason: string;
  if (e.verdict === expect || (expect === "either" && e.verdict !== "inconclusive")) {
    verdict = "reproduced";
    reason = `${e.test}: p = ${formatP(e.p)} < ${e.alpha}, in the claimed direction${delta === undefined || e.interval === null ? "" : `, and ${intervalText(e.interval)} clears the smallest effect of interest (${deltaText})`}.`;
  } else if (e.verdict === opposite) {
    verdict = "not reproduced";
    reason = `${e.test}: p = ${formatP(e.p)} < ${e.alpha}, in the OPPOSITE direction${delta === undefined ? "" : ` by at least the smallest effect of interest (${deltaText})`}.`;
  } else if (negligible && e.interval !== null) {
    verdict = "not reproduced";
    reason = `${e.test}: p = ${formatP(e.p)}; NEGLIGIBLE — ${intervalText(e.interval)} lies inside ±${deltaText}, the smallest effect of interest: whatever its sign, the effect is too small to matter${e.p < e.alpha ? " (significant, but below what matters)" : ""}.`;
  } else if (delta !== undefined && e.p < e.alpha && e.estimate !== 0 && e.interval !== null) {
    verdict = "inconclusive";
    reason = `${e.test}: p = ${formatP(e.p)} < ${e.alpha}, but ${intervalText(e.interval)} reaches below the smallest effect of interest (${deltaText}): an effect may be there, it is not shown to matter.`;
  } else if (paperEffect !== undefined && e.interval !== null && excludesPaperEffect(e.interval, Math.abs(paperEffect), expect)) {
    verdict = "not reproduced";
    reason = `${e.test}: p = ${formatP(e.p)}; ${intervalText(e.interval)} excludes an effect of the paper's size (${(scale * Math.abs(paperEffect)).toFixed(digits)}${unit}).`;
  } else if ("ties" in e && e.ties === e.pairs) {
    verdict = "inconclusive";
    reason = `${e.test}: a tie — all ${e.pairs} paired differences are 0.`;
  } else {
    verdict = "inconclusive";
    reason = mde === null
      ? `${e.test}: at this n the test cannot reach p < ${e.alpha} whatever the effect.`
      : `${e.test}: p = ${formatP(e.p)}; this n detects only effects above ${(scale * mde).toFixed(digits)}${unit}.`;
  }
  const interval = e.interval === null ? null : { lo: e.interval.lo, hi: e.interval.hi, level: e.interval.level };
  const evidence = "perCluster" in e
    ? `AUC ${e.estimate.toFixed(3)} [${Math.round(100 * e.interval.level)}% CI ${e.interval.lo.toFixed(3)}, ${e.interval.hi.toFixed(3)}]; ${e.test}, n = ${e.n}, p = ${formatP(e.p)}`
    : verdictText(e, { scale: input.scale, unit: input.unit, digits });
  const sample = "perCluster" in e ? `${e.n} rows${e.clusters > 1 ? ` in ${e.clusters} clusters` : ""}` : e.sample;
  const record: ClaimRecord = { ...base, verdict, reason, test: e.test, n: e.n, sample, p: e.p, estimate: e.estimate, interval, minDetectableEffect: mde, evidence };
  if (delta !== undefined) { record.smallestEffectOfInterest = delta; record.negligible = negligible; }
  return record;
}

/** Whether an interval rules out an effect of size `size` in the claimed direction. */
function excludesPaperEffect(interval: { lo: number; hi: number }, size: number, expect: "positive" | "negative" | "either"): boolean {
  if (expect === "positive") return interval.hi < size;
  if (expect === "negative") return interval.lo > -size;
  return interval.lo > -size && interval.hi < size;
}

/** "[reproduced] statement — evidence (paper: value)" for a findings line. */
export function claimText(record: ClaimRecord): string {
  const paper = record.paper?.value ? ` (paper: ${record.paper.value})` : "";
  return `[${record.verdict.toUpperCase()}] ${record.statement}${paper} — ${record.evidence.replace(/\.$/, "")}.`;
}
