import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import * as tf from "@tensorflow/tfjs";
import {
  ArrayData, NdArray, atomicWriteFile, parseNpy, readNpy, encodeNpy, writeNpy, parseNpz, readNpz, encodeNpz, writeNpz,
  parseSafetensors, readSafetensors, encodeSafetensors, writeSafetensors, readJsonl, parseJsonl, readLines, streamJsonl,
  writeJsonl, appendJsonl, MalformedLine, ndArrayToTensor, tensorToNdArray,
  float16BitsToFloat32, float32ToFloat16Bits, float32ToBfloat16Bits, bfloat16BitsToFloat32, DType,
} from "../kernel-lib/io";
import { reorderFortran } from "../kernel-lib/io/npy";
import { crc32, crc32Reference } from "../kernel-lib/io/npz";
import { FileFormatError, InvalidArgumentError, NonFiniteError, ShapeError, UnknownOptionError } from "../kernel-lib/errors";
import { Rng } from "../kernel-lib/random";
import { TEST_BACKENDS, expectError, expectNoLeak, useBackend } from "./helpers";

const FIXTURES = path.join(__dirname, "..", "data", "fixtures", "numpy");
const fixture = (name: string) => path.join(FIXTURES, name);
type Described = { dtype: DType; shape: number[]; fortran_order?: boolean; values: Array<number | string> };
const expected = JSON.parse(fs.readFileSync(fixture("expected.json"), "utf8")) as {
  npy: Record<string, Described>; npy_errors: Record<string, string>; npz: Record<string, Record<string, Described>>; npz_member_order: Record<string, string[]>;
  safetensors: Record<string, { metadata: Record<string, string>; tensors: Record<string, Described> }>;
  safetensors_errors: Record<string, string>;
};

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "gradlab-io-"));
const tmp = (name: string) => path.join(TMP, name);
process.on("exit", () => fs.rmSync(TMP, { recursive: true, force: true }));

const PYTHON = process.env.GRADLAB_PYTHON ?? "/usr/bin/python3";
const numpyAvailable = spawnSync(PYTHON, ["-c", "import numpy"], { encoding: "utf8" }).status === 0;
function python(code: string): string {
  const run = spawnSync(PYTHON, ["-c", code], { encoding: "utf8", maxBuffer: 64 << 20 });
  assert.is(run.status, 0, `python failed: ${run.stderr}`);
  return run.stdout;
}
/** Fails the calling test, naming what is missing, when numpy is not importable: a numpy
 *  cross-check that did not run must not be counted as a pass. */
function requireNumpy(what: string): void {
  assert.ok(numpyAvailable, `${what} needs numpy, which ${PYTHON} cannot import: run \`node scripts/setup-jupyter.mjs --for-tests\` (installs python3-numpy)`);
}

function expectedNumber(v: number | string): number {
  return v === "NaN" ? NaN : v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : Number(v);
}
/** Exact comparison (Object.is: distinguishes -0 and matches NaN); BigInts compare as decimal strings. */
function assertValues(actual: ArrayData | ArrayLike<number>, values: Array<number | string>, label: string): void {
  assert.is(actual.length, values.length, `${label}: length`);
  for (let i = 0; i < values.length; i++) {
    const a = actual[i];
    if (typeof a === "bigint") assert.is(String(a), String(values[i]), `${label}[${i}]`);
    else assert.ok(Object.is(a, expectedNumber(values[i])), `${label}[${i}]: got ${a}, expected ${values[i]}`);
  }
}
function assertMatches(array: NdArray & { fortranOrder?: boolean }, want: Described, label: string): void {
  assert.is(array.dtype, want.dtype, `${label}: dtype`);
  assert.equal(array.shape, want.shape, `${label}: shape`);
  if (want.fortran_order !== undefined && array.fortranOrder !== undefined) assert.is(array.fortranOrder, want.fortran_order, `${label}: fortranOrder`);
  assertValues(array.data, want.values, label);
}
const fileBytes = (name: string) => new Uint8Array(fs.readFileSync(fixture(name)));

// ---- .npy ------------------------------------------------------------------------------------

test("every .npy fixture numpy wrote reads back with the right dtype, shape, order and exact values", () => {
  for (const [name, want] of Object.entries(expected.npy)) {
    if (name in expected.npy_errors) continue;
    const array = readNpy(fixture(name));
    assertMatches(array, want, name);
  }
  // Spot checks of the choices: int64 → Float64Array, bool → 0/1 Uint8Array, float16 → Float32Array.
  assert.instance(readNpy(fixture("i8.npy")).data, Float64Array);
  assert.instance(readNpy(fixture("b1.npy")).data, Uint8Array);
  assert.instance(readNpy(fixture("f2.npy")).data, Float32Array);
  assert.equal(readNpy(fixture("scalar_f8.npy")).shape, []);
});

test("files gradlab refuses raise FileFormatError naming the file and problem; int64 beyond 2^53 reads as BigInt on request", async () => {
  for (const [name, phrase] of Object.entries(expected.npy_errors)) {
    await expectError(() => readNpy(fixture(name)), FileFormatError, phrase);
    await expectError(() => readNpy(fixture(name)), FileFormatError, name);
  }
  const big = readNpy(fixture("i8_unsafe.npy"), { int64: "bigint" });
  assert.instance(big.data, BigInt64Array);
  assertValues(big.data, expected.npy["i8_unsafe.npy"].values, "i8_unsafe bigint");
  await expectError(() => readNpy(fixture("i8_unsafe.npy")), FileFormatError, `9007199254740992 at flat index 1`);
  await expectError(() => readNpy(tmp("missing.npy")), FileFormatError, "does not exist");
  await expectError(() => readNpy(TMP), FileFormatError, "is a directory");
});

test("encodeNpy writes byte-identical files to np.save (C and Fortran order, 0-d, empty, each dtype)", () => {
  for (const name of ["f4_c_2x3.npy", "f4_f_2x3.npy", "f8_c_2x3x4.npy", "f8_f_2x3x4.npy", "i4_f_3x2.npy", "i1.npy", "i2.npy", "i4.npy",
    "i8.npy", "u1.npy", "u2.npy", "u4.npy", "u8.npy", "b1.npy", "scalar_f8.npy", "scalar_i8.npy", "empty_f4.npy", "empty_3x0_i4.npy", "f4_1d_long.npy", "f8_nonfinite.npy", "f2.npy"]) {
    const read = readNpy(fixture(name));
    const bytes = encodeNpy(read, { fortranOrder: read.fortranOrder });
    assert.equal(Buffer.from(bytes).toString("hex"), fs.readFileSync(fixture(name)).toString("hex"), `${name} bytes`);
  }
});

test("round trip write → read for every dtype, both orders, 0-d and empty; int64 from BigInt", () => {
  const rng = new Rng("npy-roundtrip");
  const cases: Array<{ dtype: DType; data: ArrayLike<number> | ArrayData | boolean[] }> = [
    { dtype: "float32", data: new Float32Array(24).map(() => rng.normal()) },
    { dtype: "float64", data: Array.from({ length: 24 }, () => rng.normal()) },
    { dtype: "int32", data: Int32Array.from({ length: 24 }, () => rng.int(1000) - 500) },
    { dtype: "int64", data: Array.from({ length: 24 }, () => rng.int(1e9) * 1e6 - 5e14) },
    { dtype: "uint8", data: Uint8Array.from({ length: 24 }, () => rng.int(256)) },
    { dtype: "bool", data: Array.from({ length: 24 }, () => rng.uniform() < 0.5) },
    { dtype: "int16", data: Array.from({ length: 24 }, () => rng.int(60000) - 30000) },
    { dtype: "float16", data: Array.from({ length: 24 }, (_, i) => i / 4 - 2) },
  ];
  for (const c of cases) {
    for (const shape of [[24], [2, 3, 4], [4, 6], [1, 24, 1]]) {
      for (const fortranOrder of [false, true]) {
        const file = tmp(`rt-${c.dtype}-${shape.join("x")}-${fortranOrder}.npy`);
        writeNpy(file, { dtype: c.dtype, shape, data: c.data }, { fortranOrder });
        const back = readNpy(file);
        assert.is(back.dtype, c.dtype);
        assert.equal(back.shape, shape);
        assert.is(back.fortranOrder, fortranOrder);
        assert.equal(Array.from(back.data as ArrayLike<number>), Array.from(c.data as ArrayLike<number>, Number), `${c.dtype} ${shape} F=${fortranOrder}`);
        assert.is((fs.statSync(file).size - 24 * (back.data.BYTES_PER_ELEMENT === 4 && c.dtype === "float16" ? 2 : back.data.BYTES_PER_ELEMENT)) % 64, 0, "data starts on a 64-byte boundary");
      }
    }
  }
  const scalar = parseNpy(encodeNpy({ shape: [], data: new Float64Array([2.5]) }));
  assert.equal([scalar.shape, Array.from(scalar.data as Float64Array)], [[], [2.5]]);
  const empty = parseNpy(encodeNpy({ shape: [0, 5], data: new Float32Array(0) }));
  assert.equal([empty.shape, empty.data.length, empty.dtype], [[0, 5], 0, "float32"]);
  const big = parseNpy(encodeNpy({ shape: [2], data: new BigInt64Array([2n ** 62n, -3n]) }), "big", { int64: "bigint" });
  assert.equal(Array.from(big.data as BigInt64Array), [2n ** 62n, -3n]);
});

test("Fortran reordering matches the index formula on random shapes", () => {
  const rng = new Rng("fortran");
  for (let t = 0; t < 30; t++) {
    const shape = Array.from({ length: 1 + rng.int(4) }, () => 1 + rng.int(4));
    const size = shape.reduce((a, b) => a * b, 1);
    const c = Float64Array.from({ length: size }, (_, i) => i);
    const f = reorderFortran(c, shape, "cToF");
    // brute force: element with multi-index idx sits at C offset Σ idx_k·Π_{j>k} d_j and F offset Σ idx_k·Π_{j<k} d_j
    for (let ci = 0; ci < size; ci++) {
      let rest = ci, fOffset = 0;
      const idx = new Array(shape.length);
      for (let k = shape.length - 1; k >= 0; k--) { idx[k] = rest % shape[k]; rest = Math.floor(rest / shape[k]); }
      for (let k = shape.length - 1; k >= 0; k--) fOffset = fOffset * shape[k] + idx[k];
      assert.is(f[fOffset], c[ci], `shape ${shape} index ${idx}`);
    }
    assert.equal(Array.from(reorderFortran(f, shape, "fToC")), Array.from(c));
  }
});

function npyWithHeader(header: string, data: Uint8Array = new Uint8Array(0), version = 1): Uint8Array {
  const pre = version === 1 ? 10 : 12;
  const text = Buffer.from(header, version === 3 ? "utf8" : "latin1");
  const out = new Uint8Array(pre + text.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const v = new DataView(out.buffer);
  if (version === 1) v.setUint16(8, text.length, true); else v.setUint32(8, text.length, true);
  out.set(text, pre);
  out.set(data, pre + text.length);
  return out;
}

test("header parsing: quoting, key order, Python 2 longs; malformed headers and data lengths are errors", async () => {
  const four = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
  const ok = parseNpy(npyWithHeader(`{"shape": (2L, 2L), "fortran_order": True, "descr": "<f4"}\n`, four));
  assert.equal([ok.shape, ok.fortranOrder, Array.from(ok.data as Float32Array)], [[2, 2], true, [1, 3, 2, 4]]);
  assert.equal(parseNpy(npyWithHeader(`{'descr':'<f4','fortran_order':False,'shape':(4,),}`, four, 2)).shape, [4]);
  const bad: Array<[string, Uint8Array, string]> = [
    ["{'descr': '<f4', 'fortran_order': False}", four, "no 'shape' key"],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'x': 1}", four, "unexpected keys x"],
    ["{'descr': '<f4', 'fortran_order': 0, 'shape': (4,)}", four, "'fortran_order' must be True or False"],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (-4,)}", four, "'shape' must be a tuple"],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (4,)", four, "expected ',' or '}'"],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (5,)}", four, "needs 20: truncated"],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", four, "4 unexpected bytes after the data"],
    ["{'descr': '<x9', 'fortran_order': False, 'shape': (1,)}", four, "unsupported dtype '<x9'"],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (4,)} junk", four, "unexpected text after the dict"],
    ["[1, 2]", four, "header is not a dict"],
  ];
  for (const [header, data, phrase] of bad) await expectError(() => parseNpy(npyWithHeader(header, data), "hand.npy"), FileFormatError, phrase);
  await expectError(() => parseNpy(new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x58, 1, 0, 0, 0]), "x.npy"), FileFormatError, "bad magic");
  await expectError(() => parseNpy(npyWithHeader("{}", four, 4), "x.npy"), FileFormatError, "version 4.0");
  await expectError(() => parseNpy(Buffer.from("PK\x03\x04 not npy at all"), "x.npy"), FileFormatError, "x.npy: bad magic");
});

test("truncating real .npy files at every byte offset raises FileFormatError", async () => {
  for (const name of ["f8_f_2x3x4.npy", "f4_v3.npy", "scalar_f8.npy", "empty_f4.npy", "b1.npy"]) {
    const bytes = fileBytes(name);
    for (let cut = 0; cut < bytes.length; cut++) {
      await expectError(() => parseNpy(bytes.subarray(0, cut), `${name}@${cut}`), FileFormatError, `${name}@${cut}`);
    }
  }
});

test("writers validate their input and name the argument", async () => {
  await expectError(() => encodeNpy({ shape: [2, 2], data: [1, 2, 3] }), ShapeError, "array.data");
  await expectError(() => encodeNpy({ dtype: "int32", shape: [2], data: [1, 2.5] }), InvalidArgumentError, "array.data[1]");
  await expectError(() => encodeNpy({ dtype: "uint8", shape: [1], data: [256] }), InvalidArgumentError, "[0, 255]");
  await expectError(() => encodeNpy({ dtype: "int64", shape: [1], data: [2 ** 60] }), InvalidArgumentError, "array.data[0]");
  await expectError(() => encodeNpy({ dtype: "bfloat16", shape: [1], data: [1] }), InvalidArgumentError, "array.dtype");
  await expectError(() => encodeNpy({ shape: [-1], data: [] }), InvalidArgumentError, "array.shape[0]");
  await expectError(() => encodeNpy({ shape: [1], data: "x" as unknown as number[] }), InvalidArgumentError, "array.data");
  await expectError(() => encodeNpz({ a: { shape: [1], data: [1] } }, { compression: "zstd" as "stored" }), UnknownOptionError, "stored, deflate");
  await expectError(() => encodeSafetensors({ __metadata__: { shape: [1], data: [1] } }), InvalidArgumentError, "__metadata__");
  await expectError(() => encodeSafetensors({ a: { shape: [1], data: [1] } }, { n: 3 as unknown as string }), InvalidArgumentError, "metadata.n");
  const file = tmp("never.npy");
  await expectError(() => writeNpy(file, { shape: [3], data: [1, 2] }), ShapeError, "array.data");
  assert.not.ok(fs.existsSync(file), "a failed encode creates no file");
});

// ---- .npz ------------------------------------------------------------------------------------

test(".npz from np.savez (stored) and np.savez_compressed (deflate, zip64 local headers) read correctly", () => {
  for (const [name, members] of Object.entries(expected.npz)) {
    const archive = readNpz(fixture(name));
    assert.equal(Object.keys(archive).sort(), Object.keys(members).sort(), `${name}: members`);
    if (expected.npz_member_order[name]) assert.equal(Object.keys(archive), expected.npz_member_order[name], `${name}: member order`);
    for (const [key, want] of Object.entries(members)) assertMatches(archive[key], want, `${name}:${key}`);
  }
  assert.is(readNpz(fixture("arrays.npz")).fortran.fortranOrder, true);
});

test(".npz round trip, stored and deflate; deterministic bytes; odd member names", () => {
  const arrays = {
    weights: { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
    __proto__x: { dtype: "int64" as DType, shape: [], data: [7] },
    "naïve/ünïcode": { dtype: "bool" as DType, shape: [2], data: [true, false] },
    empty: { shape: [0], data: new Float64Array(0) },
  };
  for (const compression of ["stored", "deflate"] as const) {
    const file = tmp(`rt-${compression}.npz`);
    writeNpz(file, arrays, { compression });
    const back = readNpz(file);
    assert.equal(Object.keys(back), Object.keys(arrays));
    assert.equal(Array.from(back.weights.data as Float32Array), [1, 2, 3, 4, 5, 6]);
    assert.equal(back.weights.shape, [2, 3]);
    assert.equal([back.__proto__x.shape, Array.from(back.__proto__x.data as Float64Array)], [[], [7]]);
    assert.equal(Array.from(back["naïve/ünïcode"].data as Uint8Array), [1, 0]);
    assert.equal(Buffer.from(encodeNpz(arrays, { compression })).toString("hex"), fs.readFileSync(file).toString("hex"), "deterministic");
  }
  const proto = parseNpz(encodeNpz({ ["__proto__"]: { shape: [1], data: [1] } }));
  assert.ok(Object.prototype.hasOwnProperty.call(proto, "__proto__"), "__proto__ member is an own key");
});

/**
 * Rewrites a small archive (no comment, no zip64) into the full zip64 layout big archives use:
 * saturated 32-bit sizes/offsets in the central directory with a zip64 extra field, and a zip64
 * end-of-central-directory record + locator. numpy only writes this past 4 GiB, so build it here.
 */
function toFullZip64(archive: Uint8Array): Uint8Array {
  const v = new DataView(archive.buffer, archive.byteOffset, archive.byteLength);
  const eocd = archive.length - 22;
  const count = v.getUint16(eocd + 10, true), cdOffset = v.getUint32(eocd + 16, true);
  const central: Buffer[] = [];
  for (let i = 0, at = cdOffset; i < count; i++) {
    const nameLength = v.getUint16(at + 28, true), extraLength = v.getUint16(at + 30, true), commentLength = v.getUint16(at + 32, true);
    const head = Buffer.from(archive.slice(at, at + 46)), hv = new DataView(head.buffer, head.byteOffset, 46);
    const compressed = hv.getUint32(20, true), size = hv.getUint32(24, true), offset = hv.getUint32(42, true);
    hv.setUint32(20, 0xffffffff, true); hv.setUint32(24, 0xffffffff, true); hv.setUint32(42, 0xffffffff, true);
    hv.setUint16(30, extraLength + 28, true);
    const extra = Buffer.alloc(28);
    extra.writeUInt16LE(1, 0); extra.writeUInt16LE(24, 2);
    extra.writeBigUInt64LE(BigInt(size), 4); extra.writeBigUInt64LE(BigInt(compressed), 12); extra.writeBigUInt64LE(BigInt(offset), 20);
    const rest = Buffer.from(archive.slice(at + 46, at + 46 + nameLength + extraLength + commentLength));
    central.push(Buffer.concat([head, rest.subarray(0, nameLength), extra, rest.subarray(nameLength)]));
    at += 46 + nameLength + extraLength + commentLength;
  }
  const cd = Buffer.concat(central);
  const record = Buffer.alloc(56);
  record.writeUInt32LE(0x06064b50, 0); record.writeBigUInt64LE(44n, 4); record.writeUInt16LE(45, 12); record.writeUInt16LE(45, 14);
  record.writeBigUInt64LE(BigInt(count), 24); record.writeBigUInt64LE(BigInt(count), 32);
  record.writeBigUInt64LE(BigInt(cd.length), 40); record.writeBigUInt64LE(BigInt(cdOffset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0); locator.writeBigUInt64LE(BigInt(cdOffset + cd.length), 8); locator.writeUInt32LE(1, 16);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(0xffff, 8); end.writeUInt16LE(0xffff, 10);
  end.writeUInt32LE(0xffffffff, 12); end.writeUInt32LE(0xffffffff, 16);
  return Buffer.concat([Buffer.from(archive.slice(0, cdOffset)), cd, record, locator, end]);
}

test(".npz with zip64 central directory and end records reads like the plain archive (and numpy agrees)", () => {
  const plain = encodeNpz({ a: { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }, b: { dtype: "int32", shape: [3], data: [5, 6, 7] } }, { compression: "deflate" });
  const zip64 = toFullZip64(plain);
  assert.equal(parseNpz(zip64, "zip64.npz"), parseNpz(plain, "plain.npz"));
  requireNumpy("numpy reading the zip64 archive");
  fs.writeFileSync(tmp("zip64.npz"), zip64);
  const out = python(`import numpy as np, json; z = np.load(${JSON.stringify(tmp("zip64.npz"))}); print(json.dumps({k: z[k].tolist() for k in z.files}))`);
  assert.equal(JSON.parse(out), { a: [[1, 2], [3, 4]], b: [5, 6, 7] }, "the hand-built zip64 layout is valid for Python's zipfile too");
});

test("CRC-32: zlib fast path equals the table oracle", () => {
  const rng = new Rng("crc");
  for (const n of [0, 1, 7, 1000, 65537]) {
    const bytes = Uint8Array.from({ length: n }, () => rng.int(256));
    assert.is(crc32(bytes), crc32Reference(bytes), `n=${n}`);
  }
  assert.is(crc32Reference(Buffer.from("123456789")), 0xcbf43926); // the standard check value
});

test("truncated or corrupted .npz raise FileFormatError", async () => {
  for (const name of ["arrays.npz", "arrays_compressed.npz"]) {
    const bytes = fileBytes(name);
    for (let cut = 0; cut < bytes.length; cut += name.includes("compressed") ? 1 : 3) {
      await expectError(() => parseNpz(bytes.subarray(0, cut), `${name}@${cut}`), FileFormatError, `${name}@${cut}`);
    }
  }
  // Flip one byte inside the first member's array data: stored → CRC mismatch; deflate → inflate or CRC error.
  const stored = fileBytes("arrays.npz");
  const corrupt = stored.slice();
  corrupt[0x40 + 128 + 3] ^= 0xff; // local header (0x3e incl. zip64 extra) + 128-byte npy header + 3
  await expectError(() => parseNpz(corrupt, "corrupt.npz"), FileFormatError, "CRC-32 mismatch");
  const deflated = fileBytes("arrays_compressed.npz").slice();
  deflated[0x50] ^= 0x55;
  await expectError(() => parseNpz(deflated, "corrupt2.npz"), FileFormatError, "corrupt2.npz: member 'weights.npy'");
  await expectError(() => parseNpz(fileBytes("f4_c_2x3.npy"), "notzip.npz"), FileFormatError, "not a zip archive");
  await expectError(() => readNpz(tmp("missing.npz")), FileFormatError, "does not exist");
  // A member that is not .npy, and a member whose .npy is malformed: the message names the member.
  const withBadMember = Buffer.from(encodeNpz({ a: { shape: [2], data: [1, 2] } }));
  const renamed = Buffer.from(withBadMember.toString("latin1").split("a.npy").join("a.txt"), "latin1");
  await expectError(() => parseNpz(renamed, "x.npz"), FileFormatError, "member 'a.txt' is not a .npy array");
});

// ---- safetensors -----------------------------------------------------------------------------

test("safetensors fixture (F32/F64/I64/I32/F16/BF16/U8/BOOL, 0-d, empty, metadata) reads exactly", () => {
  for (const [name, want] of Object.entries(expected.safetensors)) {
    const content = readSafetensors(fixture(name));
    assert.equal(content.metadata, want.metadata);
    assert.equal(Object.keys(content.tensors).sort(), Object.keys(want.tensors).sort());
    for (const [key, w] of Object.entries(want.tensors)) assertMatches(content.tensors[key], w, `${name}:${key}`);
    assert.instance(content.tensors["brain.bf16"].data, Float32Array);
    assert.instance(content.tensors["half.f16"].data, Float32Array);
  }
});

test("malformed safetensors: overlap, out of range, size mismatch, hole, unknown dtype, bad metadata, truncation", async () => {
  for (const [name, phrase] of Object.entries(expected.safetensors_errors)) {
    await expectError(() => readSafetensors(fixture(name)), FileFormatError, phrase);
    await expectError(() => readSafetensors(fixture(name)), FileFormatError, name);
  }
  const bytes = fileBytes("mixed.safetensors");
  for (let cut = 0; cut < bytes.length; cut++) {
    await expectError(() => parseSafetensors(bytes.subarray(0, cut), `st@${cut}`), FileFormatError, `st@${cut}`);
  }
  const extra = new Uint8Array(bytes.length + 4);
  extra.set(bytes);
  await expectError(() => parseSafetensors(extra, "extra.st"), FileFormatError, "4 bytes after the last tensor");
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setUint32(4, 1, true);
  await expectError(() => parseSafetensors(huge, "huge.st"), FileFormatError, "implausible");
  const notJson = new Uint8Array([4, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7b, 0x20, 0x20]);
  await expectError(() => parseSafetensors(notJson, "nj.st"), FileFormatError, "not valid UTF-8 JSON");
  await expectError(() => readSafetensors(tmp("missing.safetensors")), FileFormatError, "does not exist");
});

test("safetensors round trip with metadata, 8-byte aligned header, float16/bfloat16 rounding to nearest even", () => {
  const file = tmp("rt.safetensors");
  const rounding = readNpz(fixture("f16_rounding.npz"));
  const f32 = rounding.f32.data as Float32Array;
  writeSafetensors(file, {
    "layer.0.w": { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
    step: { dtype: "int64", shape: [], data: [123456789012] },
    half: { dtype: "float16", shape: [f32.length], data: f32 },
    brain: { dtype: "bfloat16", shape: [f32.length], data: f32 },
    flags: { dtype: "bool", shape: [3], data: [true, false, true] },
  }, { format: "pt", note: "ünïcode ok" });
  const raw = fs.readFileSync(file);
  assert.is(raw.readUInt32LE(0) % 8, 0, "header length is a multiple of 8");
  const back = readSafetensors(file);
  assert.equal(back.metadata, { format: "pt", note: "ünïcode ok" });
  assert.equal(Array.from(back.tensors["layer.0.w"].data as Float32Array), [1, 2, 3, 4]);
  assert.equal([back.tensors.step.shape, Array.from(back.tensors.step.data as Float64Array)], [[], [123456789012]]);
  assert.equal(Array.from(back.tensors.flags.data as Uint8Array), [1, 0, 1]);
  // Our float16 encoding equals numpy's astype(float16) bit for bit (fixture), decoding equals its values.
  const half = back.tensors.half.data as Float32Array;
  const numpyHalfBits = rounding.f16_bits.data as Uint16Array;
  assert.equal(Array.from(float32ToFloat16Bits(f32)), Array.from(numpyHalfBits));
  assert.equal(Array.from(half), Array.from(float16BitsToFloat32(numpyHalfBits)));
  // The committed fixture was made with torch; if it is ever regenerated without, this fails.
  assert.ok(rounding.bf16_bits_torch, "f16_rounding.npz has no bf16_bits_torch: regenerate it with torch (scripts/make-fixtures.py)");
  assert.equal(Array.from(float32ToBfloat16Bits(f32)), Array.from(rounding.bf16_bits_torch.data as Uint16Array), "bf16 = torch");
  assert.equal(Array.from(back.tensors.brain.data as Float32Array), Array.from(bfloat16BitsToFloat32(rounding.bf16_bits_torch.data as Uint16Array)));
});

test("float16: all 65536 bit patterns decode and re-encode to themselves (NaNs stay NaN)", () => {
  const bits = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const values = float16BitsToFloat32(bits), again = float32ToFloat16Bits(values);
  for (let h = 0; h < 65536; h++) {
    if (Number.isNaN(values[h])) assert.ok((again[h] & 0x7c00) === 0x7c00 && (again[h] & 0x3ff) !== 0, `NaN ${h}`);
    else assert.is(again[h], h, `pattern ${h.toString(16)}`);
  }
});

test("float16 against live numpy: every bit pattern's value, and rounding of every midpoint ± 1 ulp", () => {
  requireNumpy("float16 exhaustive comparison");
  const table = Buffer.from(python("import numpy as np,sys; sys.stdout.write(np.arange(65536,dtype=np.uint16).view(np.float16).astype(np.float32).tobytes().hex())"), "hex");
  const numpyValues = new Float32Array(table.buffer, table.byteOffset, 65536);
  const ours = float16BitsToFloat32(Uint16Array.from({ length: 65536 }, (_, i) => i));
  for (let h = 0; h < 65536; h++) assert.ok(Object.is(ours[h], numpyValues[h]), `decode ${h}`);
  // Inputs: each finite positive half value h and the float32s at, just below and just above (h + next)/2.
  const inputs: number[] = [];
  for (let h = 0; h < 0x7bff; h++) {
    const mid = Math.fround((ours[h] + ours[h + 1]) / 2);
    const w = new Float32Array([mid]), u = new Uint32Array(w.buffer);
    inputs.push(ours[h], mid, new Float32Array(new Uint32Array([u[0] - 1]).buffer)[0], new Float32Array(new Uint32Array([u[0] + 1]).buffer)[0]);
  }
  const f32 = Float32Array.from(inputs.flatMap((v) => [v, -v]));
  const file = tmp("f16-inputs.npy");
  writeNpy(file, { shape: [f32.length], data: f32 });
  const numpyBits = Buffer.from(python(`import numpy as np,sys; sys.stdout.write(np.load(${JSON.stringify(file)}).astype(np.float16).view(np.uint16).tobytes().hex())`), "hex");
  const expectedBits = new Uint16Array(numpyBits.buffer, numpyBits.byteOffset, f32.length);
  const ourBits = float32ToFloat16Bits(f32);
  let mismatches = 0;
  for (let i = 0; i < f32.length; i++) if (ourBits[i] !== expectedBits[i]) mismatches++;
  assert.is(mismatches, 0, `${mismatches} of ${f32.length} float16 roundings differ from numpy`);
});

// ---- interop: gradlab writes, real numpy reads -------------------------------------------------

test("numpy reads what gradlab writes (.npy all dtypes/orders, .npz stored+deflate, safetensors parsed by hand)", () => {
  requireNumpy("numpy reading gradlab's files");
  const rng = new Rng("interop");
  const written: Record<string, { dtype: DType; shape: number[]; data: number[]; fortranOrder: boolean }> = {};
  const dtypes: DType[] = ["float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool", "float16"];
  for (const dtype of dtypes) {
    for (const [shape, fortranOrder] of [[[2, 3, 4], false], [[2, 3, 4], true], [[5], false], [[], false], [[0, 3], false], [[3, 1, 2], true]] as Array<[number[], boolean]>) {
      const size = shape.reduce((a, b) => a * b, 1);
      const data = Array.from({ length: size }, () => {
        if (dtype === "bool") return rng.int(2);
        if (dtype.startsWith("float")) return dtype === "float16" ? rng.int(2000) / 8 - 100 : Math.fround(rng.normal());
        return rng.int(dtype.endsWith("8") ? 100 : 30000) * (dtype.startsWith("u") ? 1 : rng.rademacher());
      });
      const name = `w-${dtype}-${shape.join("x") || "scalar"}-${fortranOrder ? "F" : "C"}.npy`;
      writeNpy(tmp(name), { dtype, shape, data }, { fortranOrder });
      written[name] = { dtype, shape, data, fortranOrder };
    }
  }
  const npzArrays = { a: { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }, b: { dtype: "int64" as DType, shape: [3], data: [1, -2, 2 ** 40] } };
  writeNpz(tmp("w-stored.npz"), npzArrays);
  writeNpz(tmp("w-deflate.npz"), npzArrays, { compression: "deflate" });
  writeSafetensors(tmp("w.safetensors"), { x: { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) }, y: { dtype: "bfloat16", shape: [2], data: [1.5, -2] }, z: { dtype: "int64", shape: [], data: [-5] } }, { k: "v" });

  const script = `
import json, struct, sys, numpy as np
d = ${JSON.stringify(TMP)}
names = json.loads(sys.argv[1])
out = {}
for n in names:
    a = np.load(d + "/" + n)
    out[n] = {"descr": a.dtype.str, "shape": list(a.shape), "F": bool(a.ndim > 1 and a.flags.f_contiguous and not a.flags.c_contiguous),
              "values": np.ascontiguousarray(a).astype(np.float64).reshape(-1).tolist()}
for n in ["w-stored.npz", "w-deflate.npz"]:
    z = np.load(d + "/" + n)
    out[n] = {k: {"descr": z[k].dtype.str, "shape": list(z[k].shape), "values": z[k].astype(np.float64).reshape(-1).tolist()} for k in z.files}
raw = open(d + "/w.safetensors", "rb").read()
(hl,) = struct.unpack("<Q", raw[:8]); hdr = json.loads(raw[8:8 + hl]); buf = raw[8 + hl:]
st = {"meta": hdr.pop("__metadata__"), "hl_mod8": hl % 8}
for k, info in hdr.items():
    b0, b1 = info["data_offsets"]; chunk = buf[b0:b1]
    if info["dtype"] == "BF16":
        vals = (np.frombuffer(chunk, "<u2").astype(np.uint32) << 16).view(np.float32)
    else:
        vals = np.frombuffer(chunk, {"F32": "<f4", "I64": "<i8"}[info["dtype"]])
    st[k] = {"dtype": info["dtype"], "shape": info["shape"], "values": vals.astype(np.float64).tolist()}
out["w.safetensors"] = st
print(json.dumps(out))
`;
  const run = spawnSync(PYTHON, ["-c", script, JSON.stringify(Object.keys(written))], { encoding: "utf8" });
  assert.is(run.status, 0, run.stderr);
  const seen = JSON.parse(run.stdout);
  const descr: Record<string, string> = { float32: "<f4", float64: "<f8", int8: "|i1", int16: "<i2", int32: "<i4", int64: "<i8", uint8: "|u1", uint16: "<u2", uint32: "<u4", uint64: "<u8", bool: "|b1", float16: "<f2" };
  for (const [name, w] of Object.entries(written)) {
    const s = seen[name];
    assert.is(s.descr, descr[w.dtype], `${name} dtype`);
    assert.equal(s.shape, w.shape, `${name} shape`);
    assert.is(s.F, w.fortranOrder && w.shape.filter((d) => d > 1).length > 1, `${name} order`);
    assert.equal(s.values, w.data, `${name} values`);
  }
  for (const n of ["w-stored.npz", "w-deflate.npz"]) {
    assert.equal(seen[n].a, { descr: "<f4", shape: [2, 2], values: [1, 2, 3, 4] }, n);
    assert.equal(seen[n].b, { descr: "<i8", shape: [3], values: [1, -2, 2 ** 40] }, n);
  }
  assert.equal(seen["w.safetensors"], {
    meta: { k: "v" }, hl_mod8: 0,
    x: { dtype: "F32", shape: [2, 3], values: [1, 2, 3, 4, 5, 6] },
    y: { dtype: "BF16", shape: [2], values: [1.5, -2] },
    z: { dtype: "I64", shape: [], values: [-5] },
  });
});

// ---- atomic writes ---------------------------------------------------------------------------

const leftovers = (dir: string) => fs.readdirSync(dir).filter((f) => f.includes(".tmp-"));

test("atomicWriteFile replaces whole files and leaves no temp files, also when the rename fails", async () => {
  const dir = fs.mkdtempSync(path.join(TMP, "atomic-"));
  const file = path.join(dir, "out.txt");
  atomicWriteFile(file, "first");
  atomicWriteFile(file, new Uint8Array([0x73, 0x65, 0x63, 0x6f, 0x6e, 0x64]));
  assert.is(fs.readFileSync(file, "utf8"), "second");
  // Renaming over a non-empty folder fails: the error surfaces, the temp file is gone, the folder is intact.
  const blocker = path.join(dir, "blocker");
  fs.mkdirSync(blocker);
  fs.writeFileSync(path.join(blocker, "keep"), "x");
  let threw = false;
  try { atomicWriteFile(blocker, "data"); } catch { threw = true; }
  assert.ok(threw, "rename over a non-empty folder throws");
  assert.equal(leftovers(dir), []);
  assert.is(fs.readFileSync(path.join(blocker, "keep"), "utf8"), "x");
  // Missing parent folder: throws before anything exists.
  assert.throws(() => atomicWriteFile(path.join(dir, "no", "such", "f.txt"), "x"));
  assert.equal(leftovers(dir), []);
  await expectError(() => atomicWriteFile("", "x"), InvalidArgumentError, "path");
  await expectError(() => atomicWriteFile(file, 5 as unknown as string), InvalidArgumentError, "data");
  // Every writer goes through it: a failed encode after a good file leaves the good file untouched.
  writeNpy(path.join(dir, "a.npy"), { shape: [2], data: [1, 2] });
  await expectError(() => writeNpy(path.join(dir, "a.npy"), { shape: [2], data: [1] }), ShapeError, "array.data");
  assert.equal(Array.from(readNpy(path.join(dir, "a.npy")).data as Float64Array), [1, 2]);
  assert.equal(leftovers(dir), []);
});

// ---- JSONL -----------------------------------------------------------------------------------

test("JSONL round trip; blank lines, CRLF and BOM accepted; non-finite numbers rejected on write", async () => {
  const file = tmp("runs.jsonl");
  const records = [{ run: 1, loss: 0.5, tags: ["a", "b"], note: "line\nbreak ünï" }, { run: 2, loss: 0.25 }, [1, 2], "text", 3, null];
  writeJsonl(file, records);
  assert.equal(readJsonl(file), { records, malformed: [] });
  assert.is(fs.readFileSync(file, "utf8").split("\n").length, records.length + 1, "one line per record");
  assert.equal(parseJsonl('\ufeff{"a":1}\r\n\r\n  \n{"a":2}').records, [{ a: 1 }, { a: 2 }]);
  await expectError(() => writeJsonl(tmp("nan.jsonl"), [{ ok: 1 }, { loss: NaN }]), NonFiniteError, "records[1].loss");
  await expectError(() => writeJsonl(tmp("big.jsonl"), [{ n: 10n }]), InvalidArgumentError, "records[0]");
  await expectError(() => writeJsonl(tmp("undef.jsonl"), [undefined]), InvalidArgumentError, "records[0]");
  assert.not.ok(fs.existsSync(tmp("nan.jsonl")), "nothing written when a record is bad");
});

test("JSONL malformed lines: default throws naming file and line; skip mode reports them", async () => {
  const file = tmp("bad.jsonl");
  fs.writeFileSync(file, '{"a":1}\n{"a":2,}\n\n{"a":3}\n{"a":4, "b": [1, 2');
  await expectError(() => readJsonl(file), FileFormatError, `${file}: line 2: malformed JSON`);
  const lenient = readJsonl(file, { onMalformed: "skip" });
  assert.equal(lenient.records, [{ a: 1 }, { a: 3 }]);
  assert.equal(lenient.malformed.map((m) => [m.file, m.line, m.text]), [[file, 2, '{"a":2,}'], [file, 5, '{"a":4, "b": [1, 2']]);
  await expectError(() => readJsonl(file, { onMalformed: "ignore" as "skip" }), UnknownOptionError, "throw, skip");
  await expectError(() => readJsonl(tmp("missing.jsonl")), FileFormatError, "does not exist");
  fs.writeFileSync(tmp("latin1.jsonl"), Buffer.from([0x7b, 0x7d, 0x0a, 0xff, 0x0a]));
  await expectError(() => readJsonl(tmp("latin1.jsonl")), FileFormatError, "not valid UTF-8");
});

test("appendJsonl after a crash: the torn last line is isolated and reported, new records survive", () => {
  const file = tmp("store.jsonl");
  appendJsonl(file, [{ step: 1 }, { step: 2 }]);
  appendJsonl(file, [{ step: 3 }]);
  appendJsonl(file, []);
  fs.appendFileSync(file, '{"step": 4, "los'); // simulated crash mid-write
  appendJsonl(file, [{ step: 5 }]);
  const result = readJsonl(file, { onMalformed: "skip" });
  assert.equal(result.records, [{ step: 1 }, { step: 2 }, { step: 3 }, { step: 5 }]);
  assert.equal(result.malformed.map((m) => m.line), [4]);
});

test("streaming reader equals the whole-file reader, across chunk boundaries inside multi-byte characters", async () => {
  const file = tmp("stream.jsonl");
  const rng = new Rng("stream");
  const lines: string[] = [];
  for (let i = 0; i < 300; i++) {
    lines.push(i % 37 === 5 ? "{broken" : i % 41 === 7 ? "" : JSON.stringify({ i, s: "ü€𝄞".repeat(rng.int(4)), x: rng.normal() }));
  }
  fs.writeFileSync(file, "\ufeff" + lines.join("\r\n") + "\n");
  const whole = readJsonl(file, { onMalformed: "skip" });
  for (const chunkBytes of [1, 3, 7, 64, 1 << 20]) {
    const records: unknown[] = [], skipped: MalformedLine[] = [];
    for await (const { value } of streamJsonl(file, { onMalformed: "skip", onSkip: (m) => skipped.push(m), chunkBytes })) records.push(value);
    assert.equal(records, whole.records, `chunk ${chunkBytes}`);
    assert.equal(skipped, whole.malformed, `chunk ${chunkBytes}`);
  }
  const seen: number[] = [];
  for await (const { line } of readLines(file, { chunkBytes: 5 })) seen.push(line);
  assert.equal(seen, Array.from({ length: 300 }, (_, i) => i + 1));
  let caught: unknown = null;
  try { for await (const _ of streamJsonl(file)) { /* consume */ } } catch (e) { caught = e; }
  assert.instance(caught, FileFormatError);
  assert.match((caught as Error).message, "line 6: malformed JSON");
  caught = null;
  try { for await (const _ of readLines(tmp("nope.jsonl"))) { /* consume */ } } catch (e) { caught = e; }
  assert.instance(caught, FileFormatError);
  assert.match((caught as Error).message, "does not exist");
});

// ---- tensors ---------------------------------------------------------------------------------

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] NdArray ↔ tf.Tensor: dtypes map as documented, no leaks`, async () => {
    await useBackend(backend);
    await expectNoLeak("ndArrayToTensor", () => {
      const f = readNpy(fixture("f8_c_2x3x4.npy"));
      const t = ndArrayToTensor(f);
      assert.equal([t.dtype, t.shape], ["float32", [2, 3, 4]]);
      const back = tensorToNdArray(t);
      assert.equal(Array.from(back.data as Float32Array), Array.from(Float32Array.from(f.data as Float64Array)));
      t.dispose();
      const i = ndArrayToTensor(readNpy(fixture("i4_f_3x2.npy")));
      assert.equal([i.dtype, i.shape, Array.from(i.dataSync())], ["int32", [3, 2], [-(2 ** 31), 2 ** 31 - 1, 0, -1, 7, 123456]]);
      i.dispose();
      const b = ndArrayToTensor(readNpy(fixture("b1.npy")));
      assert.equal([b.dtype, Array.from(b.dataSync())], ["bool", [1, 0, 1, 0, 0, 1]]);
      assert.equal(tensorToNdArray(b), { dtype: "bool", shape: [2, 3], data: new Uint8Array([1, 0, 1, 0, 0, 1]) });
      b.dispose();
      const s = ndArrayToTensor(readNpy(fixture("scalar_i8.npy")));
      assert.equal([s.dtype, s.shape, Array.from(s.dataSync())], ["int32", [], [-7]]);
      s.dispose();
      const forced = ndArrayToTensor(readNpy(fixture("i8.npy")), { dtype: "float32" });
      assert.is(forced.dtype, "float32");
      forced.dispose();
    });
    await expectNoLeak("errors", async () => {
      await expectError(() => ndArrayToTensor(readNpy(fixture("i8.npy"))), InvalidArgumentError, "int32 range");
      await expectError(() => ndArrayToTensor(readNpy(fixture("u4.npy"))), InvalidArgumentError, "array.data[1]");
      await expectError(() => ndArrayToTensor({ dtype: "float32", shape: [3], data: new Float32Array(2) }), InvalidArgumentError, "3 elements");
      await expectError(() => ndArrayToTensor(readNpy(fixture("f4_c_2x3.npy")), { dtype: "complex64" as "float32" }), UnknownOptionError, "options.dtype");
      const str = tf.tensor(["a"]);
      await expectError(() => tensorToNdArray(str), InvalidArgumentError, "tensor.dtype");
      str.dispose();
    });
    // A tensor written with gradlab reads back identically.
    await expectNoLeak("round trip", () => {
      const t = tf.tensor([[1.5, -2], [3, 4]]);
      writeNpy(tmp(`t-${backend}.npy`), tensorToNdArray(t));
      t.dispose();
      const r = ndArrayToTensor(readNpy(tmp(`t-${backend}.npy`)));
      assert.equal(r.arraySync(), [[1.5, -2], [3, 4]]);
      r.dispose();
    });
  });
}

test.run();
