/**
 * n-gram TF-IDF vectors for the surface-similarity baseline. This is a STAND-IN for Sentence-BERT
 * (no sentence-embedding model is available offline): it captures shared characters and words,
 * not meaning. Label it as such in any table.
 *
 * Definitions follow scikit-learn's TfidfVectorizer defaults, so numbers can be checked against
 * it: tf = raw count (or 1 + ln count with `sublinearTf`), idf = ln((1 + n) / (1 + df)) + 1
 * (smoothed), each row L2-normalised; the vocabulary is sorted lexicographically.
 *  - analyzer "char": n-grams of characters of the lowercased text with whitespace runs collapsed
 *    to one space — right for the toy's character-level tasks ("12+34=46").
 *  - analyzer "word": n-grams of tokens, a token being a run of letters/digits or one other
 *    non-space symbol (unlike sklearn, symbols such as + and = are kept: they carry the task).
 * `maxFeatures` keeps the most frequent n-grams over the fitting corpus (ties by term order);
 * vectors are dense (N × V float32), so keep V modest (default 4096).
 * Fit once on pool ∪ target and transform both, so they share one vocabulary and idf.
 */
import { EmptyInputError, InvalidArgumentError, assertKnownKeys, assertOneOf } from "../errors";

/** TF-IDF analyzers: "char" n-grams (the toy's character tasks) or "word" n-grams (real text). */
export const TFIDF_ANALYZERS = ["char", "word"] as const;
/** One of `TFIDF_ANALYZERS`. */
export type TfidfAnalyzer = (typeof TFIDF_ANALYZERS)[number];

/**
 * Options of `fitTfidf` / `tfidfVectors`. Defaults: character 1–2-grams (the toy's tasks are strings
 * like "12+34=46"), at most 4096 n-grams (rows are dense), lowercase, raw counts; the idf smoothing
 * and L2 normalisation are scikit-learn's.
 */
export interface TfidfOptions {
  /** "char" (default) or "word" n-grams. */
  analyzer?: TfidfAnalyzer;
  /** [min, max] n-gram lengths, inclusive. Default [1, 2]. */
  ngram?: readonly [number, number];
  /** Keep at most this many n-grams (most frequent). Default 4096. */
  maxFeatures?: number;
  /** Drop n-grams found in fewer documents. Default 1. */
  minDf?: number;
  /** Lowercase before counting. Default true (scikit-learn's). */
  lowercase?: boolean;
  /** tf = 1 + ln(count) instead of the raw count. Default false (scikit-learn's). */
  sublinearTf?: boolean;
}

/** A fitted TF-IDF vocabulary and idf; `transform` maps texts to dense L2-normalised rows in it. */
export interface TfidfModel {
  vocabulary: string[];
  idf: Float64Array;
  options: Required<TfidfOptions>;
  /** Dense, L2-normalised rows in the model's vocabulary; a text with no known n-gram gives a zero row. */
  transform(texts: readonly string[]): Float32Array[];
}

const OPTION_KEYS = ["analyzer", "ngram", "maxFeatures", "minDf", "lowercase", "sublinearTf"];

function resolve(options: TfidfOptions): Required<TfidfOptions> {
  if (typeof options !== "object" || options === null) throw new InvalidArgumentError("options", "an options object", options);
  assertKnownKeys("options", options, OPTION_KEYS);
  const r = { analyzer: "char" as TfidfAnalyzer, ngram: [1, 2] as const, maxFeatures: 4096, minDf: 1, lowercase: true, sublinearTf: false, ...options };
  assertOneOf("options.analyzer", r.analyzer, TFIDF_ANALYZERS);
  const [lo, hi] = Array.isArray(r.ngram) ? r.ngram : [NaN, NaN];
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1 || hi < lo) throw new InvalidArgumentError("options.ngram", "[min, max] integers with 1 ≤ min ≤ max", r.ngram);
  if (!Number.isInteger(r.maxFeatures) || r.maxFeatures < 1) throw new InvalidArgumentError("options.maxFeatures", "a positive integer", r.maxFeatures);
  if (!Number.isInteger(r.minDf) || r.minDf < 1) throw new InvalidArgumentError("options.minDf", "a positive integer", r.minDf);
  return r;
}

function checkTexts(argument: string, texts: readonly string[]): void {
  if (!Array.isArray(texts)) throw new InvalidArgumentError(argument, "an array of strings", texts);
  texts.forEach((t, i) => { if (typeof t !== "string") throw new InvalidArgumentError(`${argument}[${i}]`, "a string", t); });
}

/** The n-grams of one text, in order of appearance (with repeats). */
export function ngramsOf(text: string, options: TfidfOptions = {}): string[] {
  const o = resolve(options);
  const source = o.lowercase ? text.toLowerCase() : text;
  const units = o.analyzer === "char"
    ? Array.from(source.replace(/\s+/g, " "))
    : source.match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? [];
  const joiner = o.analyzer === "char" ? "" : " ";
  const out: string[] = [];
  for (let len = o.ngram[0]; len <= o.ngram[1]; len++) {
    for (let s = 0; s + len <= units.length; s++) out.push(units.slice(s, s + len).join(joiner));
  }
  return out;
}

function countGrams(text: string, options: Required<TfidfOptions>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const g of ngramsOf(text, options)) counts.set(g, (counts.get(g) ?? 0) + 1);
  return counts;
}

/** Learns vocabulary and idf from `corpus`. */
export function fitTfidf(corpus: readonly string[], options: TfidfOptions = {}): TfidfModel {
  const o = resolve(options);
  checkTexts("corpus", corpus);
  if (corpus.length === 0) throw new EmptyInputError("corpus", "at least one text");
  const df = new Map<string, number>(), tf = new Map<string, number>();
  for (const text of corpus) {
    for (const [g, c] of countGrams(text, o)) {
      df.set(g, (df.get(g) ?? 0) + 1);
      tf.set(g, (tf.get(g) ?? 0) + c);
    }
  }
  const byTerm = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  let terms = [...df.keys()].filter((g) => (df.get(g) as number) >= o.minDf);
  if (terms.length > o.maxFeatures) {
    terms = terms.sort((a, b) => ((tf.get(b) as number) - (tf.get(a) as number)) || byTerm(a, b)).slice(0, o.maxFeatures);
  }
  if (terms.length === 0) throw new EmptyInputError("corpus", "at least one n-gram (all texts are empty or shorter than ngram[0])");
  const vocabulary = terms.sort(byTerm);
  const n = corpus.length;
  const idf = Float64Array.from(vocabulary, (g) => Math.log((1 + n) / (1 + (df.get(g) as number))) + 1);
  const column = new Map(vocabulary.map((g, i) => [g, i]));
  return {
    vocabulary, idf, options: o,
    transform(texts: readonly string[]): Float32Array[] {
      checkTexts("texts", texts);
      return texts.map((text) => {
        const row = new Float64Array(vocabulary.length);
        for (const [g, c] of countGrams(text, o)) {
          const at = column.get(g);
          if (at !== undefined) row[at] = (o.sublinearTf ? 1 + Math.log(c) : c) * idf[at];
        }
        let s = 0;
        for (let q = 0; q < row.length; q++) s += row[q] * row[q];
        const norm = Math.sqrt(s);
        return Float32Array.from(row, (x) => (norm > 0 ? x / norm : 0));
      });
    },
  };
}

/** Fit on `texts` and transform them (one shared vocabulary). */
export function tfidfVectors(texts: readonly string[], options: TfidfOptions = {}): Float32Array[] {
  return fitTfidf(texts, options).transform(texts);
}
