/**
 * Property-based fuzzing of every file reader (issue 19 part 3) with fast-check: valid files of
 * random arrays are truncated, bit-flipped, overwritten, extended, or given oversized declarations
 * (header lengths, shapes, zip sizes and offsets, safetensors offsets). Every outcome must be either
 *  - a FileFormatError naming the source (never a RangeError, TypeError or stack overflow), or
 *  - a well-formed value that survives re-encoding unchanged, and equals the original input when
 *    the bytes were not changed,
 * within a time bound per case, raising the process's peak memory by less than 96 MiB per case
 * (so a bomb that inflates is caught) and keeping it bounded over the whole file.
 * The seed is fixed, so a failure reproduces; fast-check prints the shrunk counterexample.
 * GRADLAB_FUZZ_RUNS scales the number of cases (the default 250 runs in ~2 s); GRADLAB_FUZZ_SEED
 * explores other cases (the fixed default is what `npm test` runs).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import {
  ArrayData, DType, DTYPES, NPY_DTYPES, NdArray, bfloat16BitsToFloat32, encodeNpy, encodeNpz, encodeSafetensors,
  float16BitsToFloat32, parseJsonl, parseNpy, parseNpz, parseSafetensors, readJsonl, serialiseJsonlRecord, streamJsonl,
} from "../kernel-lib/io";
import { FileFormatError } from "../kernel-lib/errors";
import { BOMB_MEMBER, npyWithRawHeader, npzBomb } from "./fixtures/hostile-files";

const SEED = Number(process.env.GRADLAB_FUZZ_SEED ?? 190_003);
const RUNS = Number(process.env.GRADLAB_FUZZ_RUNS ?? 250);
const settings = (share = 1) => ({ seed: SEED, numRuns: Math.max(1, Math.round(RUNS * share)), endOnFailure: true, includeErrorInReport: true });
/** Far above any honest case here (each is < 10 ms); a hang or a huge inflation blows through it. */
const CASE_MS = 3000;
/** The most one case may raise the process's peak memory: small next to any bomb below (≥ 128 MiB). */
const CASE_PEAK_GROWTH_KIB = 96 * 1024;
const PEAK_RSS_KIB = 700 * 1024;

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "gradlab-io-fuzz-"));
process.on("exit", () => fs.rmSync(TMP, { recursive: true, force: true }));

// ---- arbitraries: arrays of every dtype ----------------------------------------------------------

const RANGES: Partial<Record<DType, [number, number]>> = {
  uint8: [0, 255], int8: [-128, 127], uint16: [0, 65535], int16: [-32768, 32767], uint32: [0, 4294967295], int32: [-2147483648, 2147483647],
};

function elementArb(dtype: DType): fc.Arbitrary<number | boolean> {
  if (dtype === "bool") return fc.boolean();
  if (RANGES[dtype]) return fc.integer({ min: RANGES[dtype]![0], max: RANGES[dtype]![1] });
  if (dtype === "int64") return fc.maxSafeInteger();
  if (dtype === "uint64") return fc.maxSafeNat();
  if (dtype === "float32") return fc.float();
  if (dtype === "float64") return fc.double();
  // Half precision: values that are exactly representable, so the round trip is exact.
  const decode = dtype === "float16" ? float16BitsToFloat32 : bfloat16BitsToFloat32;
  return fc.integer({ min: 0, max: 0xffff }).map((bits) => decode(Uint16Array.of(bits))[0]);
}

interface Input { dtype: DType; shape: number[]; data: Array<number | boolean> }

const arrayArb = (dtypes: readonly DType[]): fc.Arbitrary<Input> =>
  fc.record({ dtype: fc.constantFrom(...dtypes), shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }) })
    .chain(({ dtype, shape }) => {
      const n = shape.reduce((a, b) => a * b, 1);
      return fc.array(elementArb(dtype), { minLength: n, maxLength: n }).map((data) => ({ dtype, shape, data }));
    });

const nameArb = fc.string({ minLength: 1, maxLength: 8 }).filter((n) => n !== "__metadata__");

// ---- arbitraries: mutations ----------------------------------------------------------------------

/** Little-endian integers that, written over a length, size, offset or count, declare far too much. */
const HUGE = [0xff, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 2 ** 40, 2 ** 53 - 1];

type Mutation =
  | { kind: "none" }
  | { kind: "truncate"; at: number }
  | { kind: "flip"; bits: Array<[number, number]> }
  | { kind: "overwrite"; at: number; bytes: Uint8Array }
  | { kind: "append"; bytes: Uint8Array }
  | { kind: "huge"; at: number; width: 2 | 4 | 8; value: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.constant({ kind: "none" as const }), weight: 1 },
  { arbitrary: fc.nat().map((at) => ({ kind: "truncate" as const, at })), weight: 3 },
  { arbitrary: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 }).map((bits) => ({ kind: "flip" as const, bits })), weight: 4 },
  { arbitrary: fc.record({ at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }).map((r) => ({ kind: "overwrite" as const, ...r })), weight: 2 },
  { arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({ kind: "append" as const, bytes })), weight: 1 },
  { arbitrary: fc.record({ at: fc.nat(), width: fc.constantFrom(2 as const, 4 as const, 8 as const), value: fc.oneof(fc.constantFrom(...HUGE), fc.nat()) }).map((r) => ({ kind: "huge" as const, ...r })), weight: 3 },
);

function mutate(original: Uint8Array, m: Mutation): Uint8Array {
  const bytes = Buffer.from(original); // a copy
  const at = (n: number) => (bytes.length === 0 ? 0 : n % bytes.length);
  switch (m.kind) {
    case "none": return bytes;
    case "truncate": return bytes.subarray(0, original.length === 0 ? 0 : m.at % original.length);
    case "flip": for (const [pos, bit] of m.bits) if (bytes.length > 0) bytes[at(pos)] ^= 1 << bit; return bytes;
    case "overwrite": for (let i = 0; i < m.bytes.length && at(m.at) + i < bytes.length; i++) bytes[at(m.at) + i] = m.bytes[i]; return bytes;
    case "append": return Buffer.concat([bytes, m.bytes]);
    case "huge": {
      const start = at(m.at);
      for (let i = 0; i < m.width && start + i < bytes.length; i++) bytes[start + i] = Math.floor(m.value / 2 ** (8 * i)) & 0xff;
      return bytes;
    }
  }
}

// ---- the outcome contract -----------------------------------------------------------------------

/** Runs a reader: returns its value, or null for a FileFormatError naming `source`; anything else fails. */
function outcome<T>(source: string, read: () => T): T | null {
  const started = performance.now(), peakBefore = process.resourceUsage().maxRSS;
  try {
    return read();
  } catch (error) {
    if (!(error instanceof FileFormatError)) {
      throw new Error(`untyped ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`);
    }
    assert.ok(error.message.startsWith(source), `the error names the source: ${error.message}`);
    return null;
  } finally {
    const elapsed = performance.now() - started, growth = process.resourceUsage().maxRSS - peakBefore;
    assert.ok(elapsed < CASE_MS, `one case took ${elapsed.toFixed(0)} ms`);
    assert.ok(growth < CASE_PEAK_GROWTH_KIB, `one case raised peak memory by ${Math.round(growth / 1024)} MiB`);
  }
}

const TYPED: Record<DType, Array<new (n: number) => ArrayData>> = {
  bool: [Uint8Array], uint8: [Uint8Array], int8: [Int8Array], uint16: [Uint16Array], int16: [Int16Array], uint32: [Uint32Array],
  int32: [Int32Array], uint64: [Float64Array, BigUint64Array], int64: [Float64Array, BigInt64Array],
  float16: [Float32Array], bfloat16: [Float32Array], float32: [Float32Array], float64: [Float64Array],
};

/** A value a reader returned must be a real array: known dtype, valid shape, matching data. */
function assertWellFormed(array: NdArray, label: string): void {
  assert.ok(DTYPES.includes(array.dtype), `${label}: dtype ${array.dtype}`);
  assert.ok(Array.isArray(array.shape) && array.shape.every((n) => Number.isSafeInteger(n) && n >= 0), `${label}: shape ${array.shape}`);
  assert.is(array.data.length, array.shape.reduce((a, b) => a * b, 1), `${label}: data length vs shape`);
  assert.ok(TYPED[array.dtype].some((Ctor) => array.data instanceof Ctor), `${label}: ${array.data.constructor.name} for ${array.dtype}`);
  if (array.dtype === "bool") assert.ok((array.data as Uint8Array).every((v) => v === 0 || v === 1), `${label}: bool values are 0/1`);
  if (array.data instanceof Float64Array && (array.dtype === "int64" || array.dtype === "uint64")) {
    assert.ok(array.data.every((v) => Number.isSafeInteger(v)), `${label}: int64 read as numbers are safe integers`);
  }
}

function sameElements(actual: ArrayLike<unknown>, expected: ArrayLike<unknown>, label: string): void {
  assert.is(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = Number(actual[i]), e = Number(expected[i]);
    if (!Object.is(a, e)) assert.unreachable(`${label}[${i}]: got ${a}, expected ${e}`);
  }
}

function assertSameArray(actual: NdArray, expected: { dtype: DType; shape: readonly number[]; data: ArrayLike<unknown> }, label: string): void {
  assert.is(actual.dtype, expected.dtype, `${label}: dtype`);
  assert.equal(actual.shape, [...expected.shape], `${label}: shape`);
  sameElements(actual.data, expected.data, label);
}

function checkPeakMemory(label: string): void {
  const peak = process.resourceUsage().maxRSS;
  assert.ok(peak < PEAK_RSS_KIB, `${label}: peak RSS ${Math.round(peak / 1024)} MiB`);
}

// ---- .npy ----------------------------------------------------------------------------------------

test(".npy: random arrays, randomly damaged — a FileFormatError or a correct array", () => {
  fc.assert(fc.property(arrayArb(NPY_DTYPES), fc.boolean(), mutationArb, (input, fortranOrder, mutation) => {
    const clean = encodeNpy(input, { fortranOrder });
    const bytes = mutate(clean, mutation);
    const value = outcome("case.npy", () => parseNpy(bytes, "case.npy"));
    if (value === null) return;
    assertWellFormed(value, "npy");
    // Whatever was accepted re-encodes to the same array (the reader returned what the bytes say).
    assertSameArray(parseNpy(encodeNpy(value)), value, "re-encoded");
    if (Buffer.compare(Buffer.from(bytes), Buffer.from(clean)) === 0) assertSameArray(value, input, "unchanged file");
  }), settings());
  checkPeakMemory("npy");
});

const shapeEntryArb = fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constantFrom(-1, 2 ** 31, 2 ** 40, 2 ** 53 - 1, 2 ** 53 + 1), fc.bigInt({ min: 0n, max: 10n ** 30n }));
const descrArb = fc.oneof(fc.constantFrom("<f4", "<f8", "|b1", "<i8", ">u2", "<f2", "|u1"), fc.string({ maxLength: 5 }));

test(".npy: hand-written headers with oversized or odd shapes, dtypes and nesting", () => {
  fc.assert(fc.property(descrArb, fc.oneof(fc.boolean(), fc.constant(0)), fc.array(shapeEntryArb, { maxLength: 4 }), fc.uint8Array({ maxLength: 64 }),
    fc.oneof({ arbitrary: fc.integer({ min: 0, max: 40 }), weight: 9 }, { arbitrary: fc.constantFrom(5_000, 100_000), weight: 1 }),
    (descr, fortran, shape, data, depth) => {
      const shapeText = `(${shape.map(String).join(", ")}${shape.length === 1 ? "," : ""})`;
      const fortranText = fortran === true ? "True" : fortran === false ? "False" : "0";
      const header = `${"[".repeat(depth)}{'descr': '${descr}', 'fortran_order': ${fortranText}, 'shape': ${shapeText}}${"]".repeat(depth)}`;
      const bytes = npyWithRawHeader(header, data);
      const value = outcome("hand.npy", () => parseNpy(bytes, "hand.npy"));
      if (value !== null) {
        assertWellFormed(value, "hand-written npy");
        assert.is(depth, 0, "only an unnested dict is a header");
      }
    }), settings());
  checkPeakMemory("npy headers");
});

// ---- .npz ----------------------------------------------------------------------------------------

const archiveArb = fc.dictionary(nameArb, arrayArb(NPY_DTYPES), { maxKeys: 3 });

test(".npz: random archives (stored and deflate), randomly damaged — a FileFormatError or correct arrays", () => {
  fc.assert(fc.property(archiveArb, fc.constantFrom("stored" as const, "deflate" as const), mutationArb, (arrays, compression, mutation) => {
    const clean = encodeNpz(arrays, { compression });
    const bytes = mutate(clean, mutation);
    const value = outcome("case.npz", () => parseNpz(bytes, "case.npz"));
    if (value === null) return;
    for (const [name, array] of Object.entries(value)) {
      assertWellFormed(array, `member ${name}`);
      assertSameArray(parseNpy(encodeNpy(array)), array, `member ${name} re-encoded`);
    }
    if (Buffer.compare(Buffer.from(bytes), Buffer.from(clean)) === 0) {
      assert.equal(Object.keys(value), Object.keys(arrays), "member names and order");
      for (const name of Object.keys(arrays)) assertSameArray(value[name], arrays[name], `member ${name}`);
    }
  }), settings());
  checkPeakMemory("npz");
});

/** Offsets of every size, offset and count field of a zip written by encodeNpz (no comments, no extras). */
function zipFieldOffsets(bytes: Uint8Array): Array<{ at: number; width: 2 | 4 }> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), fields: Array<{ at: number; width: 2 | 4 }> = [];
  const eocd = bytes.length - 22;
  fields.push({ at: eocd + 8, width: 2 }, { at: eocd + 10, width: 2 }, { at: eocd + 12, width: 4 }, { at: eocd + 16, width: 4 });
  for (let at = view.getUint32(eocd + 16, true); at < eocd; at += 46 + view.getUint16(at + 28, true)) {
    fields.push({ at: at + 20, width: 4 }, { at: at + 24, width: 4 }, { at: at + 28, width: 2 }, { at: at + 42, width: 4 });
    const local = view.getUint32(at + 42, true);
    fields.push({ at: local + 18, width: 4 }, { at: local + 22, width: 4 }, { at: local + 26, width: 2 }, { at: local + 28, width: 2 });
  }
  return fields;
}

test(".npz: oversized sizes, offsets and counts in the zip structures", () => {
  fc.assert(fc.property(archiveArb.filter((a) => Object.keys(a).length > 0), fc.constantFrom("stored" as const, "deflate" as const), fc.nat(), fc.oneof(fc.constantFrom(...HUGE), fc.nat()),
    (arrays, compression, which, value) => {
      const bytes = Buffer.from(encodeNpz(arrays, { compression }));
      const fields = zipFieldOffsets(bytes), field = fields[which % fields.length];
      if (field.width === 2) bytes.writeUInt16LE(value & 0xffff, field.at); else bytes.writeUInt32LE(value % 2 ** 32, field.at);
      const out = outcome("sizes.npz", () => parseNpz(bytes, "sizes.npz"));
      if (out !== null) for (const [name, array] of Object.entries(out)) assertWellFormed(array, `member ${name}`);
    }), settings());
  checkPeakMemory("npz fields");
});

test(".npz: a member large enough to be peeked before inflating, randomly damaged", () => {
  const big = new Float32Array(40_000).map((_, i) => Math.sin(i) * 1000);
  const clean = encodeNpz({ big: { shape: [200, 200], data: big } }, { compression: "deflate" });
  fc.assert(fc.property(mutationArb, (mutation) => {
    const bytes = mutate(clean, mutation);
    const out = outcome("big.npz", () => parseNpz(bytes, "big.npz"));
    if (out !== null) for (const [name, array] of Object.entries(out)) assertWellFormed(array, `member ${name}`);
    if (out !== null && Buffer.compare(Buffer.from(bytes), Buffer.from(clean)) === 0) sameElements(out.big.data, big, "big");
  }), settings(0.3));
  checkPeakMemory("npz big member");
});

test(".npz: deflate bombs of 128–400 MiB declaring honest, inflated or random sizes are rejected without inflating", () => {
  fc.assert(fc.property(fc.integer({ min: 128, max: 400 }), fc.oneof(fc.constant("member"), fc.constant("inflated"), fc.nat()), (mib, declared) => {
    const size = declared === "member" ? BOMB_MEMBER.length : declared === "inflated" ? BOMB_MEMBER.length + mib * 2 ** 20 : declared;
    assert.is(outcome("bomb.npz", () => parseNpz(npzBomb(mib, size), "bomb.npz")), null, "a bomb is never accepted");
  }), settings(0.1));
  checkPeakMemory("npz bombs");
});

// ---- safetensors ---------------------------------------------------------------------------------

const metadataArb = fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 2 });

test("safetensors: random files, randomly damaged — a FileFormatError or correct tensors", () => {
  fc.assert(fc.property(fc.dictionary(nameArb, arrayArb(DTYPES), { maxKeys: 3 }), metadataArb, mutationArb, (tensors, metadata, mutation) => {
    const clean = encodeSafetensors(tensors, metadata);
    const bytes = mutate(clean, mutation);
    const value = outcome("case.safetensors", () => parseSafetensors(bytes, "case.safetensors"));
    if (value === null) return;
    for (const [name, array] of Object.entries(value.tensors)) assertWellFormed(array, `tensor ${name}`);
    assert.ok(Object.values(value.metadata).every((v) => typeof v === "string"), "metadata values are strings");
    const again = parseSafetensors(encodeSafetensors(value.tensors, value.metadata));
    for (const [name, array] of Object.entries(value.tensors)) assertSameArray(again.tensors[name], array, `tensor ${name} re-encoded`);
    if (Buffer.compare(Buffer.from(bytes), Buffer.from(clean)) === 0) {
      assert.equal(Object.keys(value.tensors).sort(), Object.keys(tensors).sort(), "tensor names");
      for (const name of Object.keys(tensors)) assertSameArray(value.tensors[name], tensors[name], `tensor ${name}`);
      assert.equal({ ...value.metadata }, { ...metadata }, "metadata");
    }
  }), settings());
  checkPeakMemory("safetensors");
});

test("safetensors: hand-written headers with oversized shapes, offsets and header lengths", () => {
  const bigNumber = fc.oneof(fc.integer({ min: 0, max: 16 }), fc.constantFrom(-1, 0.5, 2 ** 26, 2 ** 52, 2 ** 53, 1e300));
  const entryArb = fc.record({
    dtype: fc.oneof(fc.constantFrom("F32", "F16", "BF16", "I64", "BOOL", "U8"), fc.string({ maxLength: 4 })),
    shape: fc.array(bigNumber, { maxLength: 3 }),
    data_offsets: fc.oneof(fc.tuple(bigNumber, bigNumber), fc.array(bigNumber, { maxLength: 3 })),
  });
  fc.assert(fc.property(fc.dictionary(nameArb, entryArb, { maxKeys: 3 }), fc.uint8Array({ maxLength: 64 }), fc.option(fc.constantFrom(...HUGE), { nil: undefined }),
    (header, data, declaredLength) => {
      const json = Buffer.from(JSON.stringify(header), "utf8");
      const bytes = Buffer.alloc(8 + json.length + data.length);
      const length = declaredLength ?? json.length;
      bytes.writeUInt32LE(length % 2 ** 32, 0);
      bytes.writeUInt32LE(Math.floor(length / 2 ** 32), 4);
      json.copy(bytes, 8);
      bytes.set(data, 8 + json.length);
      const value = outcome("hand.safetensors", () => parseSafetensors(bytes, "hand.safetensors"));
      if (value !== null) for (const [name, array] of Object.entries(value.tensors)) assertWellFormed(array, `tensor ${name}`);
    }), settings());
  checkPeakMemory("safetensors headers");
});

// ---- JSONL ---------------------------------------------------------------------------------------

const recordsArb = fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 6 });

test("JSONL: damaged files — readJsonl's two policies and streamJsonl agree, line by line", async () => {
  let n = 0;
  await fc.assert(fc.asyncProperty(recordsArb, mutationArb, async (records, mutation) => {
    const clean = Buffer.from(records.map((r, i) => serialiseJsonlRecord(r, `records[${i}]`) + "\n").join(""), "utf8");
    const bytes = mutate(clean, mutation);
    const file = path.join(TMP, `case-${n++}.jsonl`);
    fs.writeFileSync(file, bytes);
    const skipped = outcome(file, () => readJsonl(file, { onMalformed: "skip" }));
    if (skipped !== null) {
      // Every non-blank line is accounted for: a record equal to JSON.parse of it, or a malformed line.
      const text = new TextDecoder().decode(bytes).replace(/^\uFEFF/, "");
      const lines = text.split("\n").map((l) => l.replace(/\r$/, "")).filter((l) => l.trim() !== "");
      assert.is(skipped.records.length + skipped.malformed.length, lines.length, "records + malformed = non-blank lines");
      const thrown = outcome(file, () => readJsonl(file));
      if (thrown === null) assert.ok(skipped.malformed.length > 0, "the default policy throws only when a line is malformed");
      else assert.equal(thrown.records, skipped.records, "both policies agree on a clean file");
      const streamed: unknown[] = [], streamSkipped: number[] = [];
      for await (const { value } of streamJsonl(file, { onMalformed: "skip", onSkip: (m) => streamSkipped.push(m.line), chunkBytes: 7 })) streamed.push(value);
      assert.equal(streamed, skipped.records, "streaming equals whole-file reading");
      assert.equal(streamSkipped, skipped.malformed.map((m) => m.line), "same malformed lines");
      if (Buffer.compare(bytes, clean) === 0) assert.equal(skipped.records, JSON.parse(JSON.stringify(records)), "unchanged file");
    }
    fs.unlinkSync(file);
  }), settings(0.6));
  // parseJsonl on arbitrary text never throws anything but a FileFormatError naming the source.
  fc.assert(fc.property(fc.string({ maxLength: 200, unit: "binary" }), (text) => {
    const out = outcome("text.jsonl", () => parseJsonl(text, "text.jsonl"));
    if (out !== null) assert.ok(Array.isArray(out.records));
  }), settings());
  checkPeakMemory("jsonl");
});

test.run();
