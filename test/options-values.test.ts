/**
 * Issue 19 (4), the audit's cases one by one (reliability review, findings 7 and 8): unknown keys
 * and unusable values in the readers, writers and initBackend; the untyped crashes that were left
 * (bootstrapInterval without options or with a non-function statistic, ndArrayToTensor with a
 * negative or fractional shape, signTest at n = 2e5); and the shared validator's own value checks.
 * options-contract.test.ts walks the whole API for unknown keys; this file checks values.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tf } from "../kernel-lib/tf";
import { initBackend } from "../kernel-lib/backend";
import { checkOptions, option } from "../kernel-lib/options";
import { assertKnownKeys, InvalidArgumentError, UnknownOptionError } from "../kernel-lib/errors";
import { encodeNpy, parseNpy, readNpy, writeNpy } from "../kernel-lib/io/npy";
import { encodeNpz, parseNpz, readNpz, writeNpz } from "../kernel-lib/io/npz";
import { encodeSafetensors, parseSafetensors, readSafetensors } from "../kernel-lib/io/safetensors";
import { ndArrayToTensor } from "../kernel-lib/io/tensor";
import { bootstrapInterval, clusterBootstrapInterval } from "../kernel-lib/stats/bootstrap";
import { minDetectableEffect } from "../kernel-lib/stats/power";
import { signTest } from "../kernel-lib/stats/sign-test";
import { svgToPng } from "../kernel-lib/viz/render";
import { ComputePool } from "../kernel-lib/parallel/thread-pool";
import { expectError, expectNoLeak, TEST_BACKENDS, useBackend } from "./helpers";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gradlab-option-values-"));
const array = { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3], dtype: "float32" as const };

test("every reader refuses {int46} and {int64: \"BigInt\"} naming the key", async () => {
  const npy = path.join(dir, "a.npy"), npz = path.join(dir, "a.npz"), st = path.join(dir, "a.safetensors");
  writeNpy(npy, array);
  writeNpz(npz, { a: array });
  fs.writeFileSync(st, encodeSafetensors({ a: array }));
  const readers: Array<[string, (options: never) => unknown]> = [
    ["readNpy", (o) => readNpy(npy, o)], ["parseNpy", (o) => parseNpy(encodeNpy(array), "a.npy", o)],
    ["readNpz", (o) => readNpz(npz, o)], ["parseNpz", (o) => parseNpz(encodeNpz({ a: array }), "a.npz", o)],
    ["readSafetensors", (o) => readSafetensors(st, o)], ["parseSafetensors", (o) => parseSafetensors(encodeSafetensors({ a: array }), "a.st", o)],
  ];
  for (const [name, read] of readers) {
    await expectError(() => read({ int46: "bigint" } as never), UnknownOptionError, "options.int46");
    await expectError(() => read({ int64: "BigInt" } as never), UnknownOptionError, "options.int64");
    read({ int64: "bigint" } as never); // the valid spelling still reads
    assert.ok(name.length > 0);
  }
});

test("writeNpy / encodeNpy refuse {fortran: true} instead of writing C order", async () => {
  await expectError(() => encodeNpy(array, { fortran: true } as never), UnknownOptionError, "options.fortran");
  const file = path.join(dir, "f.npy");
  await expectError(() => writeNpy(file, array, { fortran: true } as never), UnknownOptionError, "options.fortran");
  assert.not.ok(fs.existsSync(file), "nothing written");
});

test("initBackend({forse}) is an UnknownOptionError, and a non-string force an InvalidArgumentError, before any backend changes", async () => {
  await useBackend("cpu");
  await expectError(() => initBackend({ forse: "wasm" } as never), UnknownOptionError, "options.forse");
  await expectError(() => initBackend({ force: 3 } as never), InvalidArgumentError, "options.force");
  await expectError(() => initBackend(null as never), InvalidArgumentError, "options");
  assert.is(tf.getBackend(), "cpu", "the failed calls left the backend alone");
});

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] ndArrayToTensor: negative or fractional shapes are typed errors, no tensor left`, async () => {
    await useBackend(backend);
    for (const shape of [[-1, -2], [1.5, 2]]) {
      await expectNoLeak(`shape ${shape}`, () => expectError(() => ndArrayToTensor({ data: new Float32Array(2), shape, dtype: "float32" }), InvalidArgumentError, "array.shape[0]"));
    }
  });
}

test("bootstrapInterval without options, without a seed or with a non-function statistic: typed errors", async () => {
  const stat = (idx: number[]) => idx.length;
  await expectError(() => (bootstrapInterval as (...a: unknown[]) => unknown)(10, stat), InvalidArgumentError, "options");
  await expectError(() => bootstrapInterval(10, stat, {} as never), InvalidArgumentError, "options.seed");
  await expectError(() => bootstrapInterval(10, 5 as never, { seed: 1 }), InvalidArgumentError, "statistic");
  await expectError(() => clusterBootstrapInterval(3, "mean" as never, { seed: 1 }), InvalidArgumentError, "statistic");
  await expectError(() => bootstrapInterval(10, stat, { seed: 1, reps: 5 } as never), UnknownOptionError, "options.reps");
  assert.is(bootstrapInterval(10, stat, { seed: 1, resamples: 20 }).estimate, 10);
});

test("signTest(2e5, 2e5) and (1e6, 1e6) return p = 1 (no stack overflow)", () => {
  assert.is(signTest(2e5, 2e5), 1);
  assert.is(signTest(1e6, 1e6), 1);
});

test("value checks name the key: render scale, MDE options, pool options", async () => {
  const svg = "<svg xmlns='http://www.w3.org/2000/svg' width='4' height='4'></svg>";
  await expectError(() => svgToPng(svg, { scale: 0 }), InvalidArgumentError, "options.scale");
  await expectError(() => svgToPng(svg, { background: 3 } as never), InvalidArgumentError, "options.background");
  await expectError(() => minDetectableEffect({ se: 1, df: 3, units: -1 }), InvalidArgumentError, "options.units");
  await expectError(() => minDetectableEffect({ se: 1, df: 3, units: 6, alternative: "both" as never }), UnknownOptionError, "options.alternative");
  await expectError(() => new ComputePool({ backend: 1 } as never), InvalidArgumentError, "options.backend");
});

test("checkOptions: unknown keys, non-object options and each value check", async () => {
  const spec = {
    n: option.positiveInteger, k: option.nonNegativeInteger, x: option.positiveNumber, y: option.nonNegativeNumber, z: option.finiteNumber,
    p: option.fraction, b: option.boolean, s: option.string, f: option.function, o: option.object, a: option.array,
    m: option.oneOf(["sum", "mean"]), e: option.either(option.positiveInteger, option.string, "a count or a name"), free: option.any,
  };
  const valid = { n: 2, k: 0, x: 0.5, y: 0, z: -3, p: 1, b: false, s: "", f: () => 1, o: {}, a: [], m: "mean", e: "all", free: Symbol("any") };
  assert.is(checkOptions("opts", valid, spec), valid);
  assert.is(checkOptions("opts", undefined, spec), undefined);
  assert.is(checkOptions("opts", { n: undefined }, spec) !== undefined, true, "an undefined value is the default, not an error");
  await expectError(() => checkOptions("opts", { nn: 2 }, spec), UnknownOptionError, "opts.nn");
  for (const bad of [null, 3, "n", [1]]) await expectError(() => checkOptions("opts", bad as never, spec), InvalidArgumentError, "opts: expected an options object");
  const cases: Array<[string, unknown, new (...a: never[]) => Error]> = [
    ["n", 0, InvalidArgumentError], ["n", 1.5, InvalidArgumentError], ["k", -1, InvalidArgumentError], ["x", 0, InvalidArgumentError],
    ["x", Infinity, InvalidArgumentError], ["y", -0.1, InvalidArgumentError], ["z", NaN, InvalidArgumentError], ["p", 1.01, InvalidArgumentError],
    ["b", "true", InvalidArgumentError], ["s", 1, InvalidArgumentError], ["f", {}, InvalidArgumentError], ["o", [], InvalidArgumentError],
    ["o", null, InvalidArgumentError], ["a", {}, InvalidArgumentError], ["m", "avg", UnknownOptionError], ["m", 1, InvalidArgumentError],
    ["e", -2, InvalidArgumentError], ["n", "2", InvalidArgumentError],
  ];
  for (const [key, value, type] of cases) await expectError(() => checkOptions("opts", { [key]: value }, spec), type, `opts.${key}`);
});

test("assertKnownKeys: options that are not an object are an InvalidArgumentError, not a TypeError", async () => {
  await expectError(() => assertKnownKeys("options", null as never, ["a"]), InvalidArgumentError, "options: expected an options object");
  await expectError(() => assertKnownKeys("options", [1] as never, ["a"]), InvalidArgumentError, "options: expected an options object");
  await expectError(() => assertKnownKeys("options", { b: 1 }, ["a"]), UnknownOptionError, "options.b");
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

test.run();
