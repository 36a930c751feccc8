/**
 * Seeded random streams. Every stochastic function in gradlab takes a seed (or an `Rng`), so a
 * result is a pure function of its seed on a given backend. Streams are derived by label
 * (`rng.derive("init", layer)`) rather than drawn in sequence, so adding a draw in one place
 * does not shift the numbers everywhere else.
 *
 * Generator: sfc32 (small, fast, passes PractRand to 2^40+), seeded through a 128-bit string hash.
 */

import { InvalidArgumentError } from "./errors";

/** A seed: a number or a string (hashed to the generator's 128-bit state). */
export type Seed = number | string;

/** 128-bit string hash (cyrb128) to seed sfc32's four words. */
function hash128(text: string): [number, number, number, number] {
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4; h2 ^= h1; h3 ^= h1; h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/**
 * A seeded random stream (sfc32, seeded through a 128-bit string hash). Every stochastic gradlab
 * function takes a seed or an Rng, so results are pure functions of the seed. Derive independent
 * streams by label (`rng.derive("init", layer)`) rather than drawing in sequence, so adding a draw
 * in one place does not shift numbers elsewhere.
 *
 * @example
 * ```ts
 * const rng = new lab.Rng(1);
 * const init = rng.derive("init", 0);
 * init.normal(); init.uniform();
 * ```
 */
export class Rng {
  private a: number; private b: number; private c: number; private d: number;
  private spareNormal: number | null = null;

  constructor(readonly seed: Seed) {
    if (typeof seed === "number" && !Number.isFinite(seed)) throw new InvalidArgumentError("seed", "a finite number or a string", seed);
    if (typeof seed !== "number" && typeof seed !== "string") throw new InvalidArgumentError("seed", "a finite number or a string", seed);
    [this.a, this.b, this.c, this.d] = hash128(`gradlab:${String(seed)}`);
    for (let i = 0; i < 12; i++) this.nextUint32(); // warm up away from the hash's structure
  }

  /** An independent stream named by labels; the same (seed, labels) always gives the same stream. */
  derive(...labels: Array<string | number>): Rng {
    return new Rng(`${String(this.seed)}/${labels.join("/")}`);
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 53 bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5, lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("n", "a positive integer", n);
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal (Box–Muller, caching the second value). */
  normal(): number {
    if (this.spareNormal !== null) { const z = this.spareNormal; this.spareNormal = null; return z; }
    let u = 0; while (u === 0) u = this.uniform();
    const v = this.uniform(), r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** ±1 with equal probability. */
  rademacher(): number { return (this.nextUint32() & 1) === 0 ? -1 : 1; }

  /** A 31-bit integer seed for tfjs ops that take a numeric seed. */
  tfSeed(): number { return this.nextUint32() >>> 1; }

  /** Fisher–Yates shuffle of a copy. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) { const j = this.int(i + 1); [out[i], out[j]] = [out[j], out[i]]; }
    return out;
  }

  choice<T>(items: readonly T[]): T {
    if (items.length === 0) throw new InvalidArgumentError("items", "a non-empty array", items);
    return items[this.int(items.length)];
  }

  /** Index drawn with probability proportional to non-negative weights. */
  categorical(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) {
      if (!(weights[i] >= 0) || !Number.isFinite(weights[i])) throw new InvalidArgumentError("weights", "finite non-negative numbers", weights[i]);
      total += weights[i];
    }
    if (!(total > 0)) throw new InvalidArgumentError("weights", "a positive sum", total);
    let r = this.uniform() * total;
    for (let i = 0; i < weights.length; i++) { r -= weights[i]; if (r < 0) return i; }
    return weights.length - 1;
  }

  /** k distinct indices from [0, n), in random order. */
  sampleIndices(n: number, k: number): number[] {
    if (!Number.isInteger(k) || k < 0 || k > n) throw new InvalidArgumentError("k", `an integer in [0, ${n}]`, k);
    return this.shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, k);
  }
}

/** Accepts a seed or an existing stream. */
export function toRng(seedOrRng: Seed | Rng): Rng {
  return seedOrRng instanceof Rng ? seedOrRng : new Rng(seedOrRng);
}
