/**
 * The readers on hostile input (issue 19 part 3, audit findings 5, 7 and 8): bounded inflation of
 * .npz members, a bounded non-recursive .npy header parser, and option objects that are checked
 * instead of ignored. Random mutations of every format are in io-fuzz.test.ts.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import * as tf from "@tensorflow/tfjs";
import {
  encodeNpy, encodeNpz, encodeSafetensors, ndArrayToTensor, parseJsonl, parseNpy, parseNpz, parseSafetensors,
  readJsonl, readNpy, readNpz, readSafetensors, streamJsonl, writeJsonl, writeNpy, writeNpz,
} from "../kernel-lib/io";
import { MAX_NPY_HEADER_BYTES } from "../kernel-lib/io/npy";
import { FileFormatError, InvalidArgumentError, UnknownOptionError } from "../kernel-lib/errors";
import { BOMB_MEMBER, npyWithRawHeader, npzBomb } from "./fixtures/hostile-files";
import { TEST_BACKENDS, expectError, expectNoLeak, useBackend } from "./helpers";

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "gradlab-io-untrusted-"));
const tmp = (name: string) => path.join(TMP, name);
process.on("exit", () => fs.rmSync(TMP, { recursive: true, force: true }));

// ---- .npz: bounded inflation -------------------------------------------------------------------

test("a 400 MiB deflate bomb declaring 144 bytes is rejected at the cap, without inflating it", async () => {
  const bomb = npzBomb(400);
  assert.ok(bomb.length < 450 * 1024, `the bomb is small on disk (${bomb.length} bytes)`);
  // Unbounded inflation reported "expected 144 bytes after decompression, got 419430544".
  await expectError(() => parseNpz(bomb, "bomb.npz"), FileFormatError, "bomb.npz: member 'a.npy': inflates to more than the 144 bytes its directory entry declares");
});

test("a bomb whose directory declares 400 MiB is caught by the member's own .npy header before inflating", async () => {
  const declared = 400 * (1 << 20) + BOMB_MEMBER.length;
  await expectError(() => parseNpz(npzBomb(400, declared), "liar.npz"), FileFormatError,
    `liar.npz: member 'a.npy': the zip directory declares ${declared} bytes but the .npy header declares 144`);
});

test("peak memory while rejecting the 400 MiB bombs stays far below the bomb's size (child process)", () => {
  // Peak RSS is only observable from the process itself; before the fix it was ~930 MiB.
  for (const declared of [undefined, String(400 * (1 << 20) + BOMB_MEMBER.length)]) {
    const args = ["--require", "tsx/cjs", path.join(__dirname, "fixtures", "hostile-files.ts"), ...(declared === undefined ? [] : [declared])];
    const run = spawnSync(process.execPath, args, { encoding: "utf8", cwd: path.join(__dirname, "..") });
    assert.is(run.status, 0, `child failed: ${run.stderr}`);
    const report = JSON.parse(run.stdout.trim()) as { fileBytes: number; outcome: string; maxRssKiB: number };
    assert.ok(report.outcome.startsWith("FileFormatError: bomb.npz: member 'a.npy'"), report.outcome);
    assert.ok(report.maxRssKiB < 300 * 1024, `peak RSS ${Math.round(report.maxRssKiB / 1024)} MiB for a ${report.fileBytes}-byte bomb`);
  }
});

test("a member declaring more than deflate can produce from its compressed bytes is rejected up front", async () => {
  const bytes = Buffer.from(encodeNpz({ a: { dtype: "float32", shape: [8], data: new Float32Array(8) } }, { compression: "deflate" }));
  // Patch the uncompressed size in the central directory (offset 24 of the entry) to 2^31.
  const central = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  bytes.writeUInt32LE(0x80000000, central + 24);
  await expectError(() => parseNpz(bytes, "huge.npz"), FileFormatError, "beyond what deflate can produce");
});

test("an end record that counts fewer members than the directory holds is corrupt, not an empty archive", async () => {
  const bytes = Buffer.from(encodeNpz({ a: { shape: [1], data: [1] }, b: { shape: [1], data: [2] } }));
  const eocd = bytes.length - 22;
  bytes.writeUInt16LE(0, eocd + 8);
  bytes.writeUInt16LE(0, eocd + 10);
  await expectError(() => parseNpz(bytes, "count0.npz"), FileFormatError, "beyond its 0 declared entries");
});

test("a zip64 extra field shorter than the sizes it must hold is corrupt (not read from the bytes after it)", async () => {
  const plain = Buffer.from(encodeNpz({ a: { shape: [1], data: [1] } }));
  const eocd = plain.length - 22, cdOffset = plain.readUInt32LE(eocd + 16), cdSize = plain.readUInt32LE(eocd + 12);
  const entry = Buffer.from(plain.subarray(cdOffset, cdOffset + cdSize));
  entry.writeUInt32LE(0xffffffff, 24); // uncompressed size: "see the zip64 extra field"
  entry.writeUInt16LE(4, 30); // extra length 4: an id-1 field with no room for the 8-byte size
  const extra = Buffer.from([0x01, 0x00, 0x00, 0x00]);
  const tail = Buffer.from(plain.subarray(eocd));
  tail.writeUInt32LE(cdSize + 4, 12);
  const bytes = Buffer.concat([plain.subarray(0, cdOffset), entry, extra, tail]);
  await expectError(() => parseNpz(bytes, "z64.npz"), FileFormatError, "z64.npz: central directory entry 0: zip64 extra field is too short");
});

test("honest deflated archives of every size class still read exactly (the peek path included)", () => {
  const big = new Float32Array(300_000).map((_, i) => (i % 97) - 48); // > 4096 compressed bytes: peeks the header
  const bytes = encodeNpz({ big: { shape: [600, 500], data: big }, small: { dtype: "int16", shape: [2], data: [-3, 7] }, empty: { shape: [0, 3], data: [] } }, { compression: "deflate" });
  const out = parseNpz(bytes);
  assert.equal(out.big.shape, [600, 500]);
  assert.equal(Array.from(out.big.data as Float32Array), Array.from(big));
  assert.equal(Array.from(out.small.data as Int16Array), [-3, 7]);
  assert.equal(out.empty.shape, [0, 3]);
});

// ---- .npy: bounded header parsing --------------------------------------------------------------

test("deeply nested .npy headers give a FileFormatError, not a stack overflow", async () => {
  // Before: RangeError: Maximum call stack size exceeded (the parser recursed once per bracket).
  for (const open of ["(", "[", "{'a': "]) {
    await expectError(() => parseNpy(npyWithRawHeader(open.repeat(100_000)), "deep.npy"), FileFormatError, "deep.npy: header: containers nest deeper than 16 levels");
  }
  // Depth 16 is still parsed (then rejected for what it is, not for its depth).
  await expectError(() => parseNpy(npyWithRawHeader("[".repeat(16) + "]".repeat(16)), "ok-depth.npy"), FileFormatError, "header is not a dict");
});

test("headers: size limit, '__proto__' keys are data, trailing commas and empty containers", async () => {
  await expectError(() => parseNpy(npyWithRawHeader(" ".repeat(MAX_NPY_HEADER_BYTES + 1)), "long.npy"), FileFormatError, "header length 1048577 is implausible");
  await expectError(() => parseNpy(npyWithRawHeader("{'__proto__': {'descr': '<f4'}, 'descr': '<f4', 'fortran_order': False, 'shape': ()}"), "proto.npy"),
    FileFormatError, "unexpected keys __proto__");
  const ok = parseNpy(npyWithRawHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 2,), }", new Uint8Array(0)));
  assert.equal(ok.shape, [0, 2]);
  await expectError(() => parseNpy(npyWithRawHeader("{'descr' '<f8'}"), "colon.npy"), FileFormatError, "expected ':'");
  await expectError(() => parseNpy(npyWithRawHeader("{'descr': }"), "value.npy"), FileFormatError, "unexpected \"}\"");
  await expectError(() => parseNpy(npyWithRawHeader("{1: 2}"), "key.npy"), FileFormatError, "dict keys must be strings");
});

// ---- options are checked, not ignored ----------------------------------------------------------

test("every reader refuses unknown option keys and invalid values, naming them", async () => {
  const npy = tmp("a.npy"), npz = tmp("a.npz"), st = tmp("a.safetensors"), jl = tmp("a.jsonl");
  writeNpy(npy, { shape: [2], data: [1, 2] });
  writeNpz(npz, { a: { shape: [2], data: [1, 2] } });
  fs.writeFileSync(st, encodeSafetensors({ a: { shape: [2], data: [1, 2] } }));
  writeJsonl(jl, [{ a: 1 }]);
  const npyBytes = fs.readFileSync(npy), npzBytes = fs.readFileSync(npz), stBytes = fs.readFileSync(st);
  const readers: Array<[string, (options: never) => unknown]> = [
    ["readNpy", (o) => readNpy(npy, o)], ["parseNpy", (o) => parseNpy(npyBytes, "a.npy", o)],
    ["readNpz", (o) => readNpz(npz, o)], ["parseNpz", (o) => parseNpz(npzBytes, "a.npz", o)],
    ["readSafetensors", (o) => readSafetensors(st, o)], ["parseSafetensors", (o) => parseSafetensors(stBytes, "a.st", o)],
  ];
  for (const [name, read] of readers) {
    await expectError(() => read({ int46: "bigint" } as never), UnknownOptionError, "options.int46: unknown value \"int46\"; valid: int64");
    await expectError(() => read({ int64: "BigInt" } as never), UnknownOptionError, "options.int64: unknown value \"BigInt\"; valid: number, bigint");
    await expectError(() => read(null as never), InvalidArgumentError, "options: expected an object");
    assert.ok(read({ int64: "bigint" } as never), `${name} accepts a valid option`);
  }
  // The unknown key is reported even when the file does not exist: the call is wrong either way.
  await expectError(() => readNpy(tmp("missing.npy"), { int46: "bigint" } as never), UnknownOptionError, "options.int46");
  await expectError(() => readJsonl(jl, { onMalformd: "skip" } as never), UnknownOptionError, "options.onMalformd");
  await expectError(() => parseJsonl("1\n", "x", null as never), InvalidArgumentError, "options: expected an object");
  await expectError(async () => { for await (const _ of streamJsonl(jl, { onSkip: "log" } as never)) void _; }, InvalidArgumentError, "options.onSkip: expected a function");
  await expectError(() => parseJsonl(Buffer.from("1\n") as never), InvalidArgumentError, "text: expected a string");
  for (const parse of [parseNpy, parseNpz, parseSafetensors]) {
    await expectError(() => parse("not bytes" as never), InvalidArgumentError, "bytes: expected a Uint8Array");
  }
});

test("writers refuse {fortran: true} instead of silently writing C order", async () => {
  const array = { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] };
  await expectError(() => encodeNpy(array, { fortran: true } as never), UnknownOptionError, "options.fortran: unknown value \"fortran\"; valid: fortranOrder");
  const file = tmp("f.npy");
  await expectError(() => writeNpy(file, array, { fortran: true } as never), UnknownOptionError, "options.fortran");
  assert.not.ok(fs.existsSync(file), "a refused write creates no file");
  await expectError(() => encodeNpz({ a: array }, { fortran: true } as never), UnknownOptionError, "options.fortran");
  await expectError(() => encodeNpy(array, null as never), InvalidArgumentError, "options: expected an object");
  await expectError(() => encodeNpz({ a: array }, null as never), InvalidArgumentError, "options: expected an object");
  // The spelled-out option does what it says.
  writeNpy(file, array, { fortranOrder: true });
  const back = readNpy(file);
  assert.is(back.fortranOrder, true);
  assert.equal(Array.from(back.data as Float64Array), [1, 2, 3, 4, 5, 6]);
});

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] ndArrayToTensor: impossible shapes are typed errors, and no tensor is left behind`, async () => {
    await useBackend(backend);
    await expectNoLeak("ndArrayToTensor errors", async () => {
      // Before: tf's own untyped "Tensor must have a shape comprised of positive integers".
      await expectError(() => ndArrayToTensor({ dtype: "float32", shape: [-1, -2], data: new Float32Array(2) }), InvalidArgumentError, "array.shape[0]: expected a non-negative integer");
      await expectError(() => ndArrayToTensor({ dtype: "float32", shape: [1.5, 2], data: new Float32Array(3) }), InvalidArgumentError, "array.shape[0]");
      await expectError(() => ndArrayToTensor({ dtype: "float32", shape: [2], data: new Float32Array(2) }, null as never), InvalidArgumentError, "options: expected an object");
      const ok = ndArrayToTensor({ dtype: "float32", shape: [2, 1], data: new Float32Array([3, 4]) });
      assert.equal(ok.shape, [2, 1]);
      assert.equal(Array.from(ok.dataSync()), [3, 4]);
      ok.dispose();
    });
    assert.is(tf.getBackend(), backend);
  });
}

test.run();
