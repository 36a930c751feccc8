/**
 * Ascending sorted copies of float vectors, fast for large N: an LSD radix sort on the IEEE-754
 * bit patterns. Used by the concentration metrics (Gini, top-k mass), whose probe vectors can
 * hold 10⁷ entries: on 10⁷ values `Float64Array.prototype.sort` takes ~1.35 s on this machine,
 * the radix sort ~0.25 s for float32 input and ~0.4–0.6 s for float64 (fewer when passes skip).
 *
 * Which to use when:
 *  - `sortedAscendingCopy(x)` what callers use: built-in typed-array sort below
 *    RADIX_MIN_LENGTH entries (its O(N log N) beats the radix sort's fixed histogram costs
 *    there), radix sort above. Never mutates `x`.
 *  - `radixSortedCopy(x)` the radix sort at any size — for tests and benchmarks.
 *  - `builtinSortedCopy(x)` the reference: copy + `TypedArray.prototype.sort`.
 * All three return the same bits: a Float32Array for Float32Array input (float32 → float64 is
 * exact and monotonic, so sorting in float32 loses nothing and halves memory traffic), a
 * Float64Array for anything else. Order is the typed-array sort's: −0 before +0, ±Infinity at
 * the ends. NaN is not supported by the radix path (callers validate first): a NaN with its
 * sign bit set would land first instead of last.
 *
 * How: a float's bit pattern, read as an unsigned integer, is monotonic in the value for
 * non-negative floats and reversed for negative ones, so flipping every bit of negatives and
 * only the sign bit of non-negatives gives keys whose unsigned order is the float order. One
 * read-only pass builds every digit's histogram; each digit then costs one stable scatter pass,
 * skipped when all keys share that digit (common: equal exponents, float32 values held in
 * float64 have 29 zero low bits). The first pass transforms keys as it reads the caller's
 * array, the last pass transforms them back as it writes, so there is no separate copy pass.
 * Digit width, measured on this machine (2-core EPYC VM, N = 10⁷): 8 bits for both key sizes.
 * A scatter pass costs ~27 ms (32-bit keys) / ~40 ms (64-bit) with ≤ 10-bit digits but ~65 / ~96 ms
 * with 11-bit ones and more with 16-bit ones (2048+ write streams thrash the TLB), so 4 × 8 and
 * 8 × 8 passes beat 3 × 11 and 6 × 11 / 4 × 16. A pass writing into never-touched memory costs
 * another ~30–45 ms of page faults, which is why nothing is allocated that is not needed.
 * Memory: the result plus one scratch buffer of the same size (only the result when the
 * input is a number[]: its Float64Array copy is the scratch).
 */

/**
 * Below this length the built-in sort is faster than the radix sort's fixed costs (measured
 * crossover: ~1000 values for float32, ~2500 for float64; one threshold keeps it simple).
 */
export const RADIX_MIN_LENGTH = 2000;

export type SortedVector = Float32Array | Float64Array;

/** The radix path reads float bits through Int32Array views, which is only meaningful little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Works for Float32Arrays from another realm (e.g. a vm context) too, unlike instanceof. */
function isFloat32Array(values: ArrayLike<number>): values is Float32Array {
  return ArrayBuffer.isView(values) && (values as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] === "Float32Array";
}

/** Ascending copy: built-in sort for short vectors, radix sort for long ones. */
export function sortedAscendingCopy(values: ArrayLike<number>): SortedVector {
  return values.length < RADIX_MIN_LENGTH ? builtinSortedCopy(values) : radixSortedCopy(values);
}

/** Copy + native typed-array sort (numeric, −0 before +0). The oracle for the radix sort. */
export function builtinSortedCopy(values: ArrayLike<number>): SortedVector {
  const copy = isFloat32Array(values) ? new Float32Array(values.length) : new Float64Array(values.length);
  copy.set(values);
  return copy.sort();
}

/** Radix-sorted copy at any length (on a big-endian host, where the bit views differ, the built-in sort). */
export function radixSortedCopy(values: ArrayLike<number>): SortedVector {
  if (!LITTLE_ENDIAN) return builtinSortedCopy(values);
  if (isFloat32Array(values)) return radixSortFloat32(values);
  // Float64Array input is the caller's and must stay untouched; any other input is first
  // copied into a Float64Array that is ours and can double as a scratch buffer.
  const owned = !(ArrayBuffer.isView(values) && (values as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] === "Float64Array");
  const source = owned ? new Float64Array(values) : (values as Float64Array);
  return radixSortFloat64(source, owned);
}

// ---- key transform -------------------------------------------------------------------------
// XOR masks for 32-bit words (as int32, so `>> 31` spreads the sign bit):
//   bits → key: negative (sign 1): flip all; non-negative: flip the sign bit only.
//   key → bits: key sign 0 (was negative): flip all; key sign 1: flip the sign bit only.
// For 64-bit keys the high word decides, and the low word is flipped only for negatives.
// `toKeySel` / `toBitsSel` are −1 to apply a transform and 0 to skip it, so one branch-free
// loop serves the first pass (reads float bits), middle passes (keys) and the last (writes bits).

const BYTE = 0xff;

/** True when some bucket holds all n keys, i.e. this digit is the same everywhere. */
function digitIsConstant(counts: Int32Array, from: number, size: number, n: number): boolean {
  for (let i = from; i < from + size; i++) {
    const c = counts[i];
    if (c !== 0) return c === n;
  }
  return false;
}

/** Exclusive prefix sums of one digit's histogram, in units of `stride` words per element. */
function bucketStarts(counts: Int32Array, from: number, size: number, stride: number): Int32Array {
  const starts = new Int32Array(size);
  let acc = 0;
  for (let d = 0; d < size; d++) { starts[d] = acc * stride; acc += counts[from + d]; }
  return starts;
}

// ---- 32-bit keys -----------------------------------------------------------------------------

function radixSortFloat32(x: Float32Array): Float32Array {
  const n = x.length;
  if (n <= 1) return x.slice();
  const input = new Int32Array(x.buffer, x.byteOffset, n);
  const counts = histogram32(input);
  const digits: number[] = [];
  for (let d = 0; d < 4; d++) if (!digitIsConstant(counts, 256 * d, 256, n)) digits.push(d);
  if (digits.length === 0) return x.slice(); // every key equal: the input is already sorted

  let src = input;
  const first = new Int32Array(n), second = digits.length > 1 ? new Int32Array(n) : first;
  digits.forEach((d, p) => {
    const dst = p % 2 === 0 ? first : second;
    scatter32(src, dst, bucketStarts(counts, 256 * d, 256, 1), 8 * d, p === 0 ? -1 : 0, p === digits.length - 1 ? -1 : 0);
    src = dst;
  });
  return new Float32Array(src.buffer, src.byteOffset, n);
}

/**
 * Counts of each of the 4 key bytes (4 × 256 bins), in one read-only pass. Four interleaved
 * copies of the bins, summed at the end: when many keys share a byte (the exponent byte of
 * similar values) a single copy makes every increment wait on the previous one's store.
 */
function histogram32(input: Int32Array): Int32Array {
  const n = input.length, c = new Int32Array(4 * 1024);
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const u0 = input[i], u1 = input[i + 1], u2 = input[i + 2], u3 = input[i + 3];
    const k0 = u0 ^ ((u0 >> 31) | 0x80000000), k1 = u1 ^ ((u1 >> 31) | 0x80000000);
    const k2 = u2 ^ ((u2 >> 31) | 0x80000000), k3 = u3 ^ ((u3 >> 31) | 0x80000000);
    c[k0 & BYTE]++; c[256 + ((k0 >>> 8) & BYTE)]++; c[512 + ((k0 >>> 16) & BYTE)]++; c[768 + (k0 >>> 24)]++;
    c[1024 + (k1 & BYTE)]++; c[1280 + ((k1 >>> 8) & BYTE)]++; c[1536 + ((k1 >>> 16) & BYTE)]++; c[1792 + (k1 >>> 24)]++;
    c[2048 + (k2 & BYTE)]++; c[2304 + ((k2 >>> 8) & BYTE)]++; c[2560 + ((k2 >>> 16) & BYTE)]++; c[2816 + (k2 >>> 24)]++;
    c[3072 + (k3 & BYTE)]++; c[3328 + ((k3 >>> 8) & BYTE)]++; c[3584 + ((k3 >>> 16) & BYTE)]++; c[3840 + (k3 >>> 24)]++;
  }
  for (; i < n; i++) {
    const u = input[i], k = u ^ ((u >> 31) | 0x80000000);
    c[k & BYTE]++; c[256 + ((k >>> 8) & BYTE)]++; c[512 + ((k >>> 16) & BYTE)]++; c[768 + (k >>> 24)]++;
  }
  const counts = new Int32Array(1024);
  for (let b = 0; b < 1024; b++) counts[b] = c[b] + c[1024 + b] + c[2048 + b] + c[3072 + b];
  return counts;
}

/**
 * One stable counting-sort pass on the byte at `shift`. Unrolled by four with all loads first:
 * V8 cannot move a typed-array load above a typed-array store, and without the unrolling each
 * key's load waits on the previous scatter store (measured 2–3× slower).
 */
function scatter32(src: Int32Array, dst: Int32Array, starts: Int32Array, shift: number, toKeySel: number, toBitsSel: number): void {
  const n = src.length;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    let k0 = src[i], k1 = src[i + 1], k2 = src[i + 2], k3 = src[i + 3];
    k0 ^= ((k0 >> 31) | 0x80000000) & toKeySel;
    k1 ^= ((k1 >> 31) | 0x80000000) & toKeySel;
    k2 ^= ((k2 >> 31) | 0x80000000) & toKeySel;
    k3 ^= ((k3 >> 31) | 0x80000000) & toKeySel;
    const d0 = (k0 >>> shift) & BYTE, d1 = (k1 >>> shift) & BYTE, d2 = (k2 >>> shift) & BYTE, d3 = (k3 >>> shift) & BYTE;
    dst[starts[d0]++] = k0 ^ ((~(k0 >> 31) | 0x80000000) & toBitsSel);
    dst[starts[d1]++] = k1 ^ ((~(k1 >> 31) | 0x80000000) & toBitsSel);
    dst[starts[d2]++] = k2 ^ ((~(k2 >> 31) | 0x80000000) & toBitsSel);
    dst[starts[d3]++] = k3 ^ ((~(k3 >> 31) | 0x80000000) & toBitsSel);
  }
  for (; i < n; i++) {
    let k = src[i];
    k ^= ((k >> 31) | 0x80000000) & toKeySel;
    dst[starts[(k >>> shift) & BYTE]++] = k ^ ((~(k >> 31) | 0x80000000) & toBitsSel);
  }
}

// ---- 64-bit keys -----------------------------------------------------------------------------

/**
 * `x` is read-only unless `owned`, in which case it is reused as the scratch buffer. Elements
 * move as (low, high) int32 pairs, never as doubles: an intermediate key can be a NaN bit
 * pattern, and a NaN is not guaranteed to keep its payload through a float load/store.
 * Digits 0–3 are the bytes of the low word, 4–7 those of the high word.
 */
function radixSortFloat64(x: Float64Array, owned: boolean): Float64Array {
  const n = x.length;
  if (n <= 1) return owned ? x : x.slice();
  const input = new Int32Array(x.buffer, x.byteOffset, 2 * n);
  const counts = new Int32Array(8 * 256);
  for (let i = 0; i < 2 * n; i += 2) {
    const hi = input[i + 1], sign = hi >> 31;
    const lo = input[i] ^ sign, khi = hi ^ (sign | 0x80000000);
    counts[lo & BYTE]++;
    counts[256 + ((lo >>> 8) & BYTE)]++;
    counts[512 + ((lo >>> 16) & BYTE)]++;
    counts[768 + (lo >>> 24)]++;
    counts[1024 + (khi & BYTE)]++;
    counts[1280 + ((khi >>> 8) & BYTE)]++;
    counts[1536 + ((khi >>> 16) & BYTE)]++;
    counts[1792 + (khi >>> 24)]++;
  }
  const digits: number[] = [];
  for (let d = 0; d < 8; d++) if (!digitIsConstant(counts, 256 * d, 256, n)) digits.push(d);
  if (digits.length === 0) return owned ? x : x.slice();

  let src = input;
  const first = new Int32Array(2 * n);
  const second = digits.length === 1 ? first : owned ? input : new Int32Array(2 * n);
  digits.forEach((d, p) => {
    const dst = p % 2 === 0 ? first : second;
    scatter64(src, dst, bucketStarts(counts, 256 * d, 256, 2), d < 4 ? 0 : 1, 8 * (d % 4),
      p === 0 ? -1 : 0, p === digits.length - 1 ? -1 : 0);
    src = dst;
  });
  return new Float64Array(src.buffer, src.byteOffset, n);
}

/** Stable pass on the byte at `shift` of word `word` (0 low, 1 high); unrolled as scatter32. */
function scatter64(src: Int32Array, dst: Int32Array, starts: Int32Array, word: number, shift: number, toKeySel: number, toBitsSel: number): void {
  const end = src.length;
  let i = 0;
  for (; i + 7 < end; i += 8) {
    let l0 = src[i], h0 = src[i + 1], l1 = src[i + 2], h1 = src[i + 3];
    let l2 = src[i + 4], h2 = src[i + 5], l3 = src[i + 6], h3 = src[i + 7];
    let s = (h0 >> 31) & toKeySel; l0 ^= s; h0 ^= (s | 0x80000000) & toKeySel;
    s = (h1 >> 31) & toKeySel; l1 ^= s; h1 ^= (s | 0x80000000) & toKeySel;
    s = (h2 >> 31) & toKeySel; l2 ^= s; h2 ^= (s | 0x80000000) & toKeySel;
    s = (h3 >> 31) & toKeySel; l3 ^= s; h3 ^= (s | 0x80000000) & toKeySel;
    const d0 = ((word === 0 ? l0 : h0) >>> shift) & BYTE, d1 = ((word === 0 ? l1 : h1) >>> shift) & BYTE;
    const d2 = ((word === 0 ? l2 : h2) >>> shift) & BYTE, d3 = ((word === 0 ? l3 : h3) >>> shift) & BYTE;
    let p = starts[d0]; starts[d0] = p + 2; s = ~(h0 >> 31) & toBitsSel;
    dst[p] = l0 ^ s; dst[p + 1] = h0 ^ ((s | 0x80000000) & toBitsSel);
    p = starts[d1]; starts[d1] = p + 2; s = ~(h1 >> 31) & toBitsSel;
    dst[p] = l1 ^ s; dst[p + 1] = h1 ^ ((s | 0x80000000) & toBitsSel);
    p = starts[d2]; starts[d2] = p + 2; s = ~(h2 >> 31) & toBitsSel;
    dst[p] = l2 ^ s; dst[p + 1] = h2 ^ ((s | 0x80000000) & toBitsSel);
    p = starts[d3]; starts[d3] = p + 2; s = ~(h3 >> 31) & toBitsSel;
    dst[p] = l3 ^ s; dst[p + 1] = h3 ^ ((s | 0x80000000) & toBitsSel);
  }
  for (; i < end; i += 2) {
    let lo = src[i], hi = src[i + 1];
    let s = (hi >> 31) & toKeySel; lo ^= s; hi ^= (s | 0x80000000) & toKeySel;
    const d = ((word === 0 ? lo : hi) >>> shift) & BYTE;
    const p = starts[d]; starts[d] = p + 2; s = ~(hi >> 31) & toBitsSel;
    dst[p] = lo ^ s; dst[p + 1] = hi ^ ((s | 0x80000000) & toBitsSel);
  }
}
