/**
 * The toy's character-level tasks: one generator per skill family, the planted conflicting
 * variants, the composition targets that never appear in the pool, and an independent solver.
 *
 * Every item is `prompt` + `answer` (e.g. "57+68=" + "125"); the model sees the prompt and is
 * trained on the answer only. Families (prompt → answer):
 *   ADD        a+b=      a, b ∈ [0, 99]               ADD-carry  two 2-digit numbers whose digit
 *   SUB        a-b=      a ≥ b                                   columns both carry (57+68=125)
 *   MUL1       a*b=      single digits                 CMP        a?b= → "<", ">" or "="
 *   COPY       c:1234=   → 1234                        REV        r:1234= → 4321
 *   SORT       s:3142=   → 1234                        COUNT      n3:13323= → 3 (count of "3")
 *   PAR        p:1011=   → 1 (parity of the ones)      MOD        a%m= → a mod m, m ∈ [2, 9]
 * Conflicting variants use ADD prompts with a wrong answer: "ADD-reversed" writes the sum's digits
 * reversed (57+68=521), "ADD-off-by-one" writes sum+1. Their gradients oppose the clean ADD items'.
 * Composition targets (absent from the pool): "MULN" ab*c= (2-digit × 1-digit: needs MUL1 + ADD +
 * carry) and "SORTDESC" d:3142= → 4321 (SORT then REV).
 *
 * `solveToyPrompt(prompt)` parses a prompt and computes the correct answer without looking at the
 * generator — the oracle the tests check every generated item against.
 */
import { InvalidArgumentError, UnknownOptionError } from "../../errors";
import { Rng } from "../../random";

/** The 11 clean skill families of the toy pool (see the module header for each prompt → answer). */
export const POOL_FAMILIES = ["ADD", "ADD-carry", "SUB", "MUL1", "CMP", "COPY", "REV", "SORT", "COUNT", "PAR", "MOD"] as const;
/** The planted conflicting variants: ADD prompts trained on a wrong answer (digits reversed, or sum + 1). */
export const CONFLICT_KINDS = ["ADD-reversed", "ADD-off-by-one"] as const;
/** The composition targets, never in the pool: MULN (MUL1 + ADD + carry) and SORTDESC (SORT then REV). */
export const COMPOSITION_FAMILIES = ["MULN", "SORTDESC"] as const;
/** One of `POOL_FAMILIES`. */
export type PoolFamily = (typeof POOL_FAMILIES)[number];
/** One of `CONFLICT_KINDS`. */
export type ConflictKind = (typeof CONFLICT_KINDS)[number];
/** One of `COMPOSITION_FAMILIES`. */
export type CompositionFamily = (typeof COMPOSITION_FAMILIES)[number];
/** Any family a toy item can come from: a clean pool family, a conflict kind or a composition. */
export type ToyFamily = PoolFamily | ConflictKind | CompositionFamily;
/** Every `ToyFamily`, pool families first (the order tables and charts use). */
export const TOY_FAMILIES: readonly ToyFamily[] = [...POOL_FAMILIES, ...CONFLICT_KINDS, ...COMPOSITION_FAMILIES];

/** One toy example: a prompt, the answer it trains on and the correct answer (they differ only for a conflicting item). */
export interface ToyItem {
  /** The family that generated it (for conflicting items: the conflict kind). */
  family: ToyFamily;
  prompt: string;
  /** What the item trains on (wrong for conflicting items). */
  answer: string;
  /** The correct answer of the prompt (equals `answer` unless the item is conflicting). */
  correct: string;
  conflict: boolean;
}

const digits = (rng: Rng, length: number, alphabet = "0123456789") => Array.from({ length }, () => alphabet[rng.int(alphabet.length)]).join("");
const between = (rng: Rng, lo: number, hi: number) => lo + rng.int(hi - lo + 1);
const sortAscending = (s: string) => s.split("").sort().join("");
const reverse = (s: string) => s.split("").reverse().join("");

/** A carry in both columns: units sum ≥ 10 and tens sum ≥ 9 (so the carry propagates). */
function carryHeavyPair(rng: Rng): [number, number] {
  const u1 = between(rng, 1, 9), u2 = between(rng, 10 - u1, 9);
  const t1 = between(rng, 1, 9), t2 = between(rng, Math.max(1, 9 - t1), 9);
  return [t1 * 10 + u1, t2 * 10 + u2];
}

function cleanItem(family: PoolFamily | CompositionFamily, rng: Rng): { prompt: string; answer: string } {
  switch (family) {
    case "ADD": { const a = between(rng, 0, 99), b = between(rng, 0, 99); return { prompt: `${a}+${b}=`, answer: String(a + b) }; }
    case "ADD-carry": { const [a, b] = carryHeavyPair(rng); return { prompt: `${a}+${b}=`, answer: String(a + b) }; }
    case "SUB": { const a = between(rng, 10, 99), b = between(rng, 0, a); return { prompt: `${a}-${b}=`, answer: String(a - b) }; }
    case "MUL1": { const a = between(rng, 0, 9), b = between(rng, 0, 9); return { prompt: `${a}*${b}=`, answer: String(a * b) }; }
    case "CMP": {
      const a = between(rng, 0, 99), b = rng.uniform() < 0.2 ? a : between(rng, 0, 99);
      return { prompt: `${a}?${b}=`, answer: a < b ? "<" : a > b ? ">" : "=" };
    }
    case "COPY": { const s = digits(rng, between(rng, 2, 6)); return { prompt: `c:${s}=`, answer: s }; }
    case "REV": { const s = digits(rng, between(rng, 2, 6)); return { prompt: `r:${s}=`, answer: reverse(s) }; }
    case "SORT": { const s = digits(rng, between(rng, 2, 6)); return { prompt: `s:${s}=`, answer: sortAscending(s) }; }
    case "COUNT": {
      const s = digits(rng, between(rng, 3, 7));
      const x = rng.uniform() < 0.7 ? s[rng.int(s.length)] : digits(rng, 1);
      return { prompt: `n${x}:${s}=`, answer: String(s.split("").filter((c) => c === x).length) };
    }
    case "PAR": { const s = digits(rng, between(rng, 2, 7), "01"); return { prompt: `p:${s}=`, answer: String(s.split("").filter((c) => c === "1").length % 2) }; }
    case "MOD": { const a = between(rng, 0, 99), m = between(rng, 2, 9); return { prompt: `${a}%${m}=`, answer: String(a % m) }; }
    case "MULN": { const a = between(rng, 10, 99), c = between(rng, 2, 9); return { prompt: `${a}*${c}=`, answer: String(a * c) }; }
    case "SORTDESC": { const s = digits(rng, between(rng, 2, 6)); return { prompt: `d:${s}=`, answer: reverse(sortAscending(s)) }; }
  }
}

/** One item of `family`, drawn from `rng`. Conflicting kinds always produce a wrong answer. */
export function generateToyItem(family: ToyFamily, rng: Rng): ToyItem {
  if (!(TOY_FAMILIES as readonly string[]).includes(family)) throw new UnknownOptionError("family", String(family), TOY_FAMILIES);
  if (family === "ADD-reversed" || family === "ADD-off-by-one") {
    for (;;) {
      // Half plain ADD prompts, half carry-heavy ones, so the conflict covers both clean families.
      const [a, b] = rng.uniform() < 0.5 ? [between(rng, 0, 99), between(rng, 0, 99)] : carryHeavyPair(rng);
      const sum = String(a + b);
      const answer = family === "ADD-off-by-one" ? String(a + b + 1) : reverse(sum);
      if (answer !== sum) return { family, prompt: `${a}+${b}=`, answer, correct: sum, conflict: true };
    }
  }
  const { prompt, answer } = cleanItem(family as PoolFamily | CompositionFamily, rng);
  return { family, prompt, answer, correct: answer, conflict: false };
}

/** The clean counterpart of an item: same prompt, the correct answer. */
export function cleanTwin(item: ToyItem): ToyItem {
  // Every conflicting kind is built on ADD prompts.
  return { ...item, family: item.conflict ? "ADD" : item.family, answer: item.correct, conflict: false };
}

/**
 * The correct answer of any toy prompt, computed by parsing it (independent of the generators).
 * Throws InvalidArgumentError for a prompt that is not in one of the toy formats.
 */
export function solveToyPrompt(prompt: string): string {
  let m: RegExpMatchArray | null;
  if ((m = prompt.match(/^(\d+)\+(\d+)=$/))) return String(Number(m[1]) + Number(m[2]));
  if ((m = prompt.match(/^(\d+)-(\d+)=$/))) return String(Number(m[1]) - Number(m[2]));
  if ((m = prompt.match(/^(\d+)\*(\d+)=$/))) return String(Number(m[1]) * Number(m[2]));
  if ((m = prompt.match(/^(\d+)%(\d+)=$/))) return String(Number(m[1]) % Number(m[2]));
  if ((m = prompt.match(/^(\d+)\?(\d+)=$/))) { const a = Number(m[1]), b = Number(m[2]); return a < b ? "<" : a > b ? ">" : "="; }
  if ((m = prompt.match(/^c:(\d+)=$/))) return m[1];
  if ((m = prompt.match(/^r:(\d+)=$/))) return reverse(m[1]);
  if ((m = prompt.match(/^s:(\d+)=$/))) return sortAscending(m[1]);
  if ((m = prompt.match(/^d:(\d+)=$/))) return reverse(sortAscending(m[1]));
  if ((m = prompt.match(/^n(\d):(\d+)=$/))) { const x = m[1]; return String(m[2].split("").filter((c) => c === x).length); }
  if ((m = prompt.match(/^p:([01]+)=$/))) return String(m[1].split("").filter((c) => c === "1").length % 2);
  throw new InvalidArgumentError("prompt", "a toy task prompt (e.g. \"12+34=\", \"r:123=\")", prompt);
}

/** The characters toy prompts and answers use (the character vocabulary's alphabet). */
export const TOY_ALPHABET = "0123456789+-*%?=:<>crsndp";
