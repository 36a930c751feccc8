/**
 * The G2IS study pipeline: toy tasks, codecs, JS Adam vs tf.train.adam, the feature store, LESS
 * features and scores against slow direct computations, greedy decoding, the planted conflict
 * check, the on-disk stage cache, and tensor hygiene.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import {
  CONFLICT_KINDS, POOL_FAMILIES, TOY_FAMILIES, TOY_ALPHABET, generateToyItem, solveToyPrompt, cleanTwin, buildToyDataset, poolComposition,
  CharCodec, WordCodec, loraGradientRows, gradientFeatures, meanPooledHiddenStates,
  greedyDecode, exactMatch, exampleLosses, fineTuneLora, lessScoresFromStores, combineCheckpoints, toySelectionDataset,
  preparePipeline, runArm, selectForTarget, SELECTION_METHODS, pca2d, compositionBarsSpec, walkPictureSpec, runBlocks, runStudyArm, STUDY_SETTINGS,
  realSelectionDataset, meanStd, aggregateRows, studyRows, LogitsModel, PipelineSettings, StudyRow, ldsExperiment, ATTRIBUTION_SCORINGS, lessAblationFeatures, LESS_ABLATION_DIM,
} from "../kernel-lib/studies/g2is";
import { FlatAdam, linearScheduleLr, trainLora, loraParameterNames, readLoraParameters, writeLoraParameters, TrainingExample } from "../kernel-lib/train";
import { FeatureStoreWriter, openFeatureStore, writeFeatureStore } from "../kernel-lib/features";
import { getStudy, planSweep } from "../kernel-lib/experiments";
import type { RunRecord } from "../kernel-lib/experiments";
import { lessScores } from "../kernel-lib/g2is";
import { TinyTransformer } from "../kernel-lib/models/transformer";
import { attachLora, detachLora } from "../kernel-lib/models/lora";
import { RandomProjector, explicitProjectionMatrix } from "../kernel-lib/features/projection";
import { trainSft } from "../kernel-lib/train/sft";
import { EmptyInputError, FileFormatError, InvalidArgumentError, NonFiniteError, ShapeError, UnknownOptionError } from "../kernel-lib/errors";
import { Rng } from "../kernel-lib/random";
import { TEST_BACKENDS, assertClose, expectError, expectNoLeak, maxRelativeError, useBackend } from "./helpers";

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "gradlab-g2is-pipeline-"));
test.after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * b[i]; return s; };
const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
const reverse = (s: string) => s.split("").reverse().join("");

function tinyModel(vocabSize: number, maxLen: number, seed: number, dModel = 16): TinyTransformer {
  return new TinyTransformer({ vocabSize, maxLen, dModel, nLayers: 1, nHeads: 2, dFF: 2 * dModel, seed });
}

function encodeAll(codec: CharCodec, items: { prompt: string; answer: string }[]): TrainingExample[] {
  return items.map((i) => { const e = codec.encodePair(i.prompt, i.answer); return { tokens: e.tokens, lossMask: e.lossMask }; });
}

// ---- toy tasks --------------------------------------------------------------------------------

test("toy prompts are solved correctly (closed cases)", () => {
  const cases: [string, string][] = [
    ["57+68=", "125"], ["0+0=", "0"], ["52-17=", "35"], ["7*8=", "56"], ["23*4=", "92"], ["34?27=", ">"], ["3?30=", "<"], ["44?44=", "="],
    ["c:07=", "07"], ["r:1234=", "4321"], ["s:3142=", "1234"], ["d:3142=", "4321"], ["n3:13323=", "3"], ["n5:1234=", "0"],
    ["p:1011=", "1"], ["p:1001=", "0"], ["17%5=", "2"], ["9%9=", "0"],
  ];
  for (const [prompt, answer] of cases) assert.is(solveToyPrompt(prompt), answer, prompt);
});

test("generated clean items are correct, conflicting items are really wrong, targets are absent from the pool", async () => {
  const rng = new Rng("toy-check");
  for (const family of TOY_FAMILIES) {
    for (let i = 0; i < 200; i++) {
      const item = generateToyItem(family, rng);
      const truth = solveToyPrompt(item.prompt);
      assert.is(item.correct, truth, `${family} ${item.prompt}`);
      if ((CONFLICT_KINDS as readonly string[]).includes(family)) {
        assert.ok(item.conflict && item.answer !== truth, `${family} ${item.prompt}${item.answer} must be wrong`);
        assert.is(item.answer, family === "ADD-reversed" ? reverse(truth) : String(Number(truth) + 1));
        assert.equal(cleanTwin(item), { family: "ADD", prompt: item.prompt, answer: truth, correct: truth, conflict: false });
      } else {
        assert.ok(!item.conflict && item.answer === truth, `${family} ${item.prompt}${item.answer}`);
      }
      if (family === "ADD-carry") {
        const [a, b] = item.prompt.slice(0, -1).split("+").map(Number);
        assert.ok(a % 10 + b % 10 >= 10 && Math.floor(a / 10) + Math.floor(b / 10) + 1 >= 10, `both columns carry in ${item.prompt}`);
      }
      assert.ok([...item.prompt + item.answer].every((c) => TOY_ALPHABET.includes(c)), `${item.prompt}${item.answer} uses the alphabet`);
    }
  }
  const data = buildToyDataset({ poolSize: 400, pretrainSize: 50, seed: 3 });
  assert.is(data.pool.length, 400);
  const comp = poolComposition(data.pool, data.pool.map((p) => p.index));
  assert.is(comp.conflicts, 32, "8% conflicting");
  assert.is(comp.duplicates, 20, "5% duplicates");
  for (const f of POOL_FAMILIES) assert.ok((comp.byFamily[f] ?? 0) >= 30, `${f} present`);
  for (const p of data.pool) {
    if (p.duplicateOf !== null) assert.ok(p.nearDuplicate ? p.prompt !== data.pool[p.duplicateOf].prompt : p.prompt === data.pool[p.duplicateOf].prompt);
    if (!p.conflict) assert.is(p.answer, solveToyPrompt(p.prompt));
  }
  const poolPrompts = new Set(data.pool.map((p) => p.prompt));
  assert.ok(data.pool.every((p) => !/^\d{2}\*\d=$/.test(p.prompt) && !p.prompt.startsWith("d:")), "composition targets are absent from the pool");
  for (const t of Object.values(data.targets)) {
    assert.ok(t.test.length > 0 && Object.keys(t.validation).length > 0);
    assert.ok(t.test.every((e) => !poolPrompts.has(e.prompt)), `${t.name}: test prompts are not in the pool`);
  }
  assert.equal(Object.keys(data.targets.multi.validation), ["ADD", "SUB", "CMP", "MOD", "PAR", "COPY"]);
  assert.is(data.targets.union.test.length, ["MULN", "SORTDESC", "multi", "single-ADD"].reduce((n, k) => n + data.targets[k as "MULN"].test.length, 0));
  assert.is(data.twins.length, 32);
  await expectError(() => solveToyPrompt("12+x="), InvalidArgumentError, "prompt");
  await expectError(() => generateToyItem("MUL2" as never, rng), UnknownOptionError, "family");
  await expectError(() => buildToyDataset({ poolSize: 400, pretrainSize: 10, seed: 0, conflictFraction: 0.7 }), InvalidArgumentError, "options.conflictFraction");
  await expectError(() => buildToyDataset({ poolSize: 400, pretrainSize: 10, seed: 0, colour: 1 } as never), UnknownOptionError, "options.colour");
});

test("codecs: layout, loss mask on the response + <eos>, truncation, bad input", async () => {
  const codec = new CharCodec(TOY_ALPHABET, 10);
  const e = codec.encodePair("1+2=", "3");
  assert.equal(e.tokens.slice(0, 7).map((t) => (t < 3 ? ["<pad>", "<bos>", "<eos>"][t] : TOY_ALPHABET[t - 3])), ["<bos>", "1", "+", "2", "=", "3", "<eos>"]);
  assert.equal(e.lossMask, [0, 0, 0, 0, 0, 1, 1, 0, 0, 0]);
  assert.is(e.promptLength, 5);
  assert.is(codec.decode(codec.encodePrompt("r:12=").slice(1)), "r:12=");
  await expectError(() => codec.encodePair("1+x=", "3"), InvalidArgumentError, "prompt[2]");
  await expectError(() => codec.encodePair("12345+6789=", "13134"), InvalidArgumentError, "maxLen = 10");
  await expectError(() => codec.encodePair("1+2=", ""), EmptyInputError, "response");
  const words = WordCodec.fit(["the cat sat", "the dog sat on 12 mats", "the end"], { maxVocab: 4, maxLen: 8, maxPromptTokens: 3 });
  assert.equal(words.words, ["the", "sat", "cat", "dog"]);
  const w = words.encodePair("the cat sat on mats", "the dog sat down");
  assert.ok(w.truncated);
  assert.equal(w.tokens, [1, 5, 7, 6, 4, 5, 8, 6]);
  assert.equal(w.lossMask, [0, 0, 0, 0, 0, 1, 1, 1]);
  assert.is(words.decode([words.unkId, 5]), "<unk> the");
  await expectError(() => WordCodec.fit([], { maxVocab: 4, maxLen: 8 }), EmptyInputError, "corpus");
});

test("real-text data: shipped subsets load, splits are disjoint, GSM8K calculator notes are removed", () => {
  const ds = realSelectionDataset({
    poolSizes: { gsm8k: 20, codealpaca: 20, "alpaca-seed": 10 }, pretrainSizes: { gsm8k: 10, codealpaca: 10, "alpaca-seed": 10 },
    validationSize: 4, testSize: 8, maxVocab: 300, maxLen: 32, seed: 1,
  });
  assert.is(ds.pool.length, 50);
  assert.equal(Object.keys(ds.targets), ["gsm8k"]);
  assert.is(ds.targets.gsm8k.validation.gsm8k.length, 4);
  assert.is(ds.targets.gsm8k.test.length, 8);
  const poolPrompts = new Set(ds.pool.map((p) => p.prompt));
  assert.ok(ds.targets.gsm8k.validation.gsm8k.every((v) => !poolPrompts.has(v.prompt)));
  assert.ok(ds.pool.every((p) => !p.answer.includes("<<")), "no calculator annotations");
  assert.equal(new Set(ds.pool.map((p) => p.group)), new Set(["gsm8k", "codealpaca", "alpaca-seed"]));
  assert.ok(ds.pool.every((p) => p.example.tokens.length === 32));
});

// ---- Adam checkpoints vs tf.train.adam ---------------------------------------------------------

/** max |a − b| / max |b|: the error relative to the vector's scale. */
function normwiseError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.is(actual.length, expected.length, "length mismatch");
  let worst = 0, scale = 0;
  for (let i = 0; i < expected.length; i++) { worst = Math.max(worst, Math.abs(actual[i] - expected[i])); scale = Math.max(scale, Math.abs(expected[i])); }
  assert.ok(scale > 0, "the reference is not all zeros");
  return worst / scale;
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] LoRA training's Adam state and parameters match tf.train.adam step for step`, async () => {
    await useBackend(backend);
    const codec = new CharCodec(TOY_ALPHABET, 14);
    const rng = new Rng("adam-check");
    const examples = encodeAll(codec, Array.from({ length: 6 }, () => generateToyItem("ADD", rng)));
    const ours = tinyModel(codec.vocabSize, 14, 11), theirs = tinyModel(codec.vocabSize, 14, 11);
    attachLora(ours, { rank: 2, targets: ["q", "v", "up"], seed: 5 });
    attachLora(theirs, { rank: 2, targets: ["q", "v", "up"], seed: 5 });
    // LoRA B starts at zero, so give B a start value (same in both) to make every gradient non-zero.
    const start = readLoraParameters(ours).map((x, i) => x + 0.05 * Math.sin(i));
    writeLoraParameters(ours, start);
    writeLoraParameters(theirs, start);
    const lr = 0.01, steps = 4;
    // One batch = every example, so the shuffled order cannot change a step's (mean) loss.
    const result = await expectNoLeak("trainLora", () => trainLora(ours, examples, { epochs: steps, batchSize: examples.length, learningRate: lr, schedule: "constant", seed: 1 }));
    assert.is(result.checkpoints.length, steps);
    const names = loraParameterNames(theirs), vars = names.map((n) => theirs.weight(n));
    const adam = tf.train.adam(lr, 0.9, 0.999, 1e-8);
    const batch = { tokens: examples.map((e) => e.tokens), lossMask: examples.map((e) => e.lossMask) };
    for (let s = 0; s < steps; s++) {
      const { value, grads } = tf.variableGrads(() => theirs.loss(batch), vars);
      adam.applyGradients(grads);
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());
      const weights = await adam.getWeights();
      const flat = (list: typeof weights) => { const parts = list.map((w) => w.tensor.dataSync() as Float32Array); const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0)); let o = 0; for (const p of parts) { out.set(p, o); o += p.length; } return out; };
      const m = flat(weights.slice(1, 1 + vars.length)), v = flat(weights.slice(1 + vars.length));
      const cp = result.checkpoints[s];
      assert.is(cp.step, s + 1);
      assert.is(cp.adam.step, s + 1);
      assert.is(cp.learningRate, lr);
      // Relative to the vector's largest entry (a single coordinate can sit near 0): both sides are
      // float32 gradients of the same loss, so they agree to a few float32 ulps (measured ≤ 4.4e-6
      // for m and v, ≤ 1.4e-6 for the parameters after 4 steps, on cpu and wasm).
      const params = new Float32Array(vars.reduce((n, x) => n + x.size, 0));
      let o = 0; for (const x of vars) { params.set(x.dataSync() as Float32Array, o); o += x.size; }
      assert.ok(normwiseError(cp.adam.m, m) < 2e-5, `step ${s + 1}: m ${normwiseError(cp.adam.m, m)}`);
      assert.ok(normwiseError(cp.adam.v, v) < 2e-5, `step ${s + 1}: v ${normwiseError(cp.adam.v, v)}`);
      assert.ok(normwiseError(cp.params, params) < 1e-5, `step ${s + 1}: params ${normwiseError(cp.params, params)}`);
    }
    adam.dispose();
    ours.dispose();
    theirs.dispose();
  });
}

test("FlatAdam: closed-form first step, schedule, bad input", async () => {
  const adam = new FlatAdam(2, { eps: 1e-8 });
  const params = Float32Array.from([1, -1]);
  adam.update(params, [0.5, -2], 0.1);
  // First Adam step moves every coordinate by lr·sign(g) (m̂ = g, v̂ = g²).
  assertClose(params, [0.9, -0.9], 1e-6, "first step");
  assertClose(adam.m, [0.05, -0.2], 1e-6, "m");
  assertClose(adam.v, [0.00025, 0.004], 1e-6, "v");
  assert.equal([0, 1, 2, 3, 9].map((t) => linearScheduleLr(1, t, 10, 2)), [0, 0.5, 1, 0.875, 0.125]);
  await expectError(() => adam.update(params, [1], 0.1), ShapeError, "grads");
  await expectError(() => adam.update(params, [NaN, 1], 0.1), InvalidArgumentError, "grads[0]");
  await expectError(() => new FlatAdam(3, { beta1: 1 }), InvalidArgumentError, "hyper.beta1");
  const m = tinyModel(10, 8, 1);
  attachLora(m, { rank: 1, seed: 1 });
  await expectError(() => trainLora(m, [{ tokens: [1, 2, 3], lossMask: [0, 1, 1] }], { epochs: 1, steps: 2, batchSize: 1, learningRate: 0.1, seed: 0 }), InvalidArgumentError, "exactly one of epochs or steps");
  await expectError(() => writeLoraParameters(m, new Float32Array(3)), InvalidArgumentError, "params");
  detachLora(m);
  await expectError(() => loraParameterNames(m), InvalidArgumentError, "LoRA attached");
  m.dispose();
});

// ---- feature store ------------------------------------------------------------------------------

test("feature store: round trip, streaming chunks equal the in-memory rows, incomplete and corrupt stores are errors", async () => {
  const rng = new Rng("store");
  const rows = Array.from({ length: 30 }, () => Float32Array.from({ length: 5 }, () => rng.normal()));
  const dir = path.join(tmpRoot, "store-a");
  const writer = FeatureStoreWriter.create(dir, { dim: 5, chunkRows: 7, attributes: { role: "pool" } });
  writer.append(rows.slice(0, 10));
  writer.append(rows.slice(10));
  const store = writer.finish();
  assert.equal(store.meta.chunks.map((c) => c.rows), [7, 7, 7, 7, 2]);
  assert.equal(store.attributes, { role: "pool" });
  const streamed: Float32Array[] = [];
  let expectedStart = 0;
  for (const chunk of store.chunks()) { assert.is(chunk.start, expectedStart); expectedStart += chunk.rows.length; streamed.push(...chunk.rows); }
  assert.equal(streamed, rows);
  assert.equal(openFeatureStore(dir).readAll(), rows);
  // Rows written chunk by chunk never need to be in memory together.
  const incomplete = path.join(tmpRoot, "store-b");
  FeatureStoreWriter.create(incomplete, { dim: 5, chunkRows: 4 }).append(rows.slice(0, 9));
  await expectError(() => openFeatureStore(incomplete), FileFormatError, "incomplete");
  const corrupt = path.join(tmpRoot, "store-c");
  writeFeatureStore(corrupt, rows, { chunkRows: 16 });
  const chunkFile = path.join(corrupt, "chunk-000001.npy");
  fs.writeFileSync(chunkFile, fs.readFileSync(chunkFile).subarray(0, 100));
  await expectError(() => openFeatureStore(corrupt).readAll(), FileFormatError, "chunk-000001.npy");
  const bad = path.join(tmpRoot, "store-d");
  await expectError(() => FeatureStoreWriter.create(bad, { dim: 5 }).append([new Float32Array(4)]), ShapeError, "rows[0]");
  await expectError(() => FeatureStoreWriter.create(bad, { dim: 5 }).append([Float32Array.from([1, 2, NaN, 4, 5])]), NonFiniteError, "rows[0]");
  await expectError(() => writeFeatureStore(dir, rows), InvalidArgumentError, "meta.json exists");
  fs.writeFileSync(path.join(tmpRoot, "meta-bad.json"), "{");
  fs.mkdirSync(path.join(tmpRoot, "store-e"));
  fs.copyFileSync(path.join(tmpRoot, "meta-bad.json"), path.join(tmpRoot, "store-e", "meta.json"));
  await expectError(() => openFeatureStore(path.join(tmpRoot, "store-e")), FileFormatError, "not valid JSON");
});

// ---- features, projection sharing, LESS against a slow direct computation -----------------------

/** A tiny model with LoRA, two warm-up checkpoints, a pool and a two-subtask target. */
function tinyLessCase(seed: number) {
  const codec = new CharCodec(TOY_ALPHABET, 20);
  const rng = new Rng(`less-case-${seed}`);
  const pool = encodeAll(codec, ["ADD", "SUB", "REV", "CMP", "MUL1", "ADD-reversed"].flatMap((f) => [generateToyItem(f as never, rng), generateToyItem(f as never, rng)]));
  const targets = { ADD: encodeAll(codec, [generateToyItem("ADD", rng), generateToyItem("ADD", rng)]), REV: encodeAll(codec, [generateToyItem("REV", rng), generateToyItem("REV", rng)]) };
  const model = tinyModel(codec.vocabSize, 20, seed);
  attachLora(model, { rank: 2, targets: ["q", "v", "down"], seed: 2 });
  const warm = trainLora(model, pool, { epochs: 2, batchSize: 4, learningRate: 0.02, seed: 3 });
  return { codec, pool, targets, model, checkpoints: warm.checkpoints };
}

/** One example's flat LoRA gradient by a plain tf.variableGrads call (independent of grads/). */
function directGradient(model: TinyTransformer, example: TrainingExample): Float64Array {
  const vars = loraParameterNames(model).map((n) => model.weight(n));
  const { value, grads } = tf.variableGrads(() => model.loss({ tokens: [example.tokens], lossMask: [example.lossMask] }), vars);
  const out = new Float64Array(vars.reduce((n, v) => n + v.size, 0));
  let o = 0;
  for (const v of vars) { out.set(grads[v.name].dataSync(), o); o += v.size; }
  value.dispose();
  Object.values(grads).forEach((g) => g.dispose());
  return out;
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] pool and target features share one projection; LESS on the pipeline's features equals a direct slow computation`, async () => {
    await useBackend(backend);
    const { pool, targets, model, checkpoints } = tinyLessCase(7);
    const P = checkpoints[0].params.length, d = 16;
    const projector = new RandomProjector({ inputDim: P, outputDim: d, seed: "shared", blockRows: 64 });
    const twin = new RandomProjector({ inputDim: P, outputDim: d, seed: "shared", blockRows: 64 });
    const other = new RandomProjector({ inputDim: P, outputDim: d, seed: "other", blockRows: 64 });
    const probe = [Float32Array.from({ length: P }, (_, i) => Math.cos(i))];
    assert.equal(twin.project(probe), projector.project(probe), "same seed → identical projector");
    assert.not.equal(other.project(probe), projector.project(probe));
    const R = explicitProjectionMatrix({ inputDim: P, outputDim: d, kind: "rademacher", seed: "shared", blockRows: 64 });

    const dir = path.join(tmpRoot, `less-${backend}`);
    const stores = [], targetFeatures: Float32Array[][][] = [], slowPool: Float64Array[][] = [], slowTargets: Float64Array[][][] = [];
    const project = (x: ArrayLike<number>) => { const y = new Float64Array(d); for (let i = 0; i < P; i++) if (x[i] !== 0) for (let j = 0; j < d; j++) y[j] += x[i] * R[i * d + j]; return y; };
    for (const [c, cp] of checkpoints.entries()) {
      writeLoraParameters(model, cp.params);
      const sink = FeatureStoreWriter.create(path.join(dir, `pool-${c}`), { dim: d, chunkRows: 5 });
      await expectNoLeak("gradientFeatures (pool, streamed)", () => gradientFeatures(model, pool, { role: "pool", projector, adam: cp.adam, batchSize: 4, sink }));
      stores.push(sink.finish());
      const inMemory = await expectNoLeak("gradientFeatures (pool)", () => gradientFeatures(model, pool, { role: "pool", projector: twin, adam: cp.adam, batchSize: 3 }));
      assert.ok(maxRelativeError(stores[c].readAll().flatMap((r) => [...r]), inMemory.flatMap((r) => [...r]), 1e-3) < 1e-3, "streamed = in-memory features");
      targetFeatures.push(Object.values(targets).map((rows) => gradientFeatures(model, rows, { role: "target", projector })));
      // Slow path: per-example gradient by variableGrads, Γ by the formula, explicit float64 projection.
      const { m, v, beta1, beta2, eps } = cp.adam;
      slowPool.push(pool.map((e) => {
        const g = directGradient(model, e);
        return project(g.map((x, i) => (beta1 * m[i] + (1 - beta1) * x) / Math.sqrt(beta2 * v[i] + (1 - beta2) * x * x + eps)));
      }));
      slowTargets.push(Object.values(targets).map((rows) => rows.map((e) => project(directGradient(model, e)))));
    }
    const eta = checkpoints.map((c) => c.learningRate), etaSum = eta.reduce((a, b) => a + b, 0);
    const slowScores = pool.map((_, i) => Math.max(...[0, 1].map((s) => {
      let sum = 0;
      for (let c = 0; c < checkpoints.length; c++) for (const t of slowTargets[c][s]) sum += (eta[c] / etaSum) * cosine(slowPool[c][i], t);
      return sum / slowTargets[0][s].length;
    })));
    const streamed = await expectNoLeak("lessScoresFromStores", () => lessScoresFromStores(stores, targetFeatures, eta, ["ADD", "REV"]));
    const inMemory = lessScores(stores.map((s, c) => ({ pool: s.readAll(), targets: { ADD: targetFeatures[c][0], REV: targetFeatures[c][1] }, weight: eta[c] }))).scores;
    assertClose(streamed, inMemory, 1e-6, "streamed LESS = in-memory LESS");
    const worst = Math.max(...slowScores.map((s, i) => Math.abs(s - streamed[i])));
    // Scores are cosine means of size ~0.3; float32 features vs float64 agree to ~6e-8 here.
    assert.ok(worst < 1e-6, `LESS vs slow direct computation: max |Δ| ${worst}`);
    // Combined G2IS rows reproduce the checkpoint-weighted cosine.
    const combined = combineCheckpoints(stores.map((s) => s.readAll()), eta);
    const manual = eta.reduce((acc, e, c) => acc + (e / etaSum) * dot(stores[c].readAll()[0], stores[c].readAll()[1]), 0);
    assertClose(dot(combined[0], combined[1]), manual, 1e-5, "combined inner product");
    model.dispose();
  });
}

// ---- evaluation ------------------------------------------------------------------------------------

/** A logits model whose greedy continuation is known: after digit k comes digit k+1, after 9 <eos>. */
function successorModel(codec: CharCodec): LogitsModel {
  const V = codec.vocabSize, nine = 3 + TOY_ALPHABET.indexOf("9");
  const next = Int32Array.from({ length: V }, (_, id) => (id >= 3 && id < nine ? id + 1 : codec.eosId));
  return {
    config: { maxLen: codec.maxLen, vocabSize: V },
    forward: (tokens) => tf.tidy(() => tf.mul(tf.oneHot(tf.tensor2d(tokens.map((row) => row.map((t) => next[t])), undefined, "int32"), V), 10) as tf.Tensor3D),
  };
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] greedy decoding and exact match: closed cases and a per-example oracle`, async () => {
    await useBackend(backend);
    const codec = new CharCodec(TOY_ALPHABET, 12);
    const succ = successorModel(codec);
    const out = await expectNoLeak("greedyDecode", () => greedyDecode(succ, codec, ["5", "12+8", "r:9", "0"], { maxNewTokens: 6, batchSize: 3 }));
    assert.equal(out, ["6789", "9", "", "123456"]);
    assert.equal(greedyDecode(succ, codec, ["0"], { maxNewTokens: 3 }), ["123"], "stops at maxNewTokens");
    assert.equal(greedyDecode(succ, codec, ["0123456"], { maxNewTokens: 9 }), ["789"], "stops at <eos>");
    assert.is(exactMatch(out, ["6789", "9", "1", " 123456 "]), 0.75);
    await expectError(() => exactMatch(["1"], ["1", "2"]), ShapeError, "predictions");
    await expectError(() => greedyDecode(succ, codec, [], { maxNewTokens: 2 }), EmptyInputError, "prompts");
    // A real (random) transformer: batched decoding = one prompt at a time with a plain argmax loop.
    const model = tinyModel(codec.vocabSize, 12, 21);
    const prompts = ["12+34=", "r:123=", "7*8=", "p:1="];
    const batched = greedyDecode(model, codec, prompts, { maxNewTokens: 5 });
    const slow = prompts.map((p) => {
      const ids = codec.encodePrompt(p), gen: number[] = [];
      for (let s = 0; s < 5; s++) {
        const logits = model.forward([ids]);
        const row = Array.from(logits.dataSync()).slice((ids.length - 1) * codec.vocabSize, ids.length * codec.vocabSize);
        logits.dispose();
        const best = row.indexOf(Math.max(...row));
        if (best === codec.eosId) break;
        gen.push(best); ids.push(best);
      }
      return codec.decode(gen);
    });
    assert.equal(batched, slow);
    const losses = await expectNoLeak("exampleLosses", () => exampleLosses(model, encodeAll(codec, [{ prompt: "1+1=", answer: "2" }, { prompt: "2+2=", answer: "4" }])));
    assert.is(losses.length, 2);
    model.dispose();
  });
}

// ---- the planted conflict: negative gradient cosines with clean twins ------------------------------

test("[wasm] planted check: conflicting items have negative gradient cosine with their clean twins more often than chance", async () => {
  await useBackend("wasm");
  const codec = new CharCodec(TOY_ALPHABET, 10);
  // A model that knows single-digit addition (100 prompts), so a wrong label is news to it.
  const all = Array.from({ length: 100 }, (_, k) => ({ prompt: `${Math.floor(k / 10)}+${k % 10}=`, answer: String(Math.floor(k / 10) + (k % 10)) }));
  const model = new TinyTransformer({ vocabSize: codec.vocabSize, maxLen: 10, dModel: 32, nLayers: 2, nHeads: 4, dFF: 64, seed: 4 });
  trainSft(model, encodeAll(codec, all), { epochs: 200, maxSteps: 500, batchSize: 50, learningRate: 5e-3, seed: 1 });
  const accuracy = exactMatch(greedyDecode(model, codec, all.map((a) => a.prompt), { maxNewTokens: 3 }), all.map((a) => a.answer));
  attachLora(model, { rank: 4, targets: ["q", "v", "up", "down"], seed: 2 });
  trainLora(model, encodeAll(codec, all), { epochs: 2, batchSize: 25, learningRate: 2e-3, seed: 3 }); // B ≠ 0: every adapter has a gradient
  const twoDigit = all.filter((a) => a.answer.length === 2 && reverse(a.answer) !== a.answer);
  const conflicts = [
    ...twoDigit.map((a) => ({ prompt: a.prompt, answer: reverse(a.answer) })),
    ...all.filter((a) => Number(a.answer) < 18).map((a) => ({ prompt: a.prompt, answer: String(Number(a.answer) + 1) })),
  ];
  const twins = conflicts.map((c) => ({ prompt: c.prompt, answer: solveToyPrompt(c.prompt) }));
  const grads = (items: { prompt: string; answer: string }[]) => { const out: Float32Array[] = []; loraGradientRows(model, encodeAll(codec, items), 64, (_s, rows) => out.push(...rows)); return out; };
  const gc = await expectNoLeak("loraGradientRows", () => grads(conflicts)), gt = grads(twins);
  const conflictRate = gc.filter((g, i) => cosine(g, gt[i]) < 0).length / gc.length;
  // Chance: clean items against clean items of other prompts (same task, no conflict).
  const shuffled = new Rng("pairs").shuffle(gt.map((_, i) => i));
  const chanceRate = gt.filter((g, i) => shuffled[i] !== i && cosine(g, gt[shuffled[i]]) < 0).length / gt.length;
  console.log(`  planted check: base accuracy ${(100 * accuracy).toFixed(0)}%; conflict vs clean twin cosine < 0 in ${(100 * conflictRate).toFixed(0)}% of ${gc.length} pairs, clean vs clean (other prompt) in ${(100 * chanceRate).toFixed(0)}%`);
  assert.ok(accuracy > 0.8, `the base model learned the task (${accuracy})`);
  assert.ok(conflictRate > Math.max(0.5, chanceRate), `conflict rate ${conflictRate} vs chance ${chanceRate}`);
  detachLora(model);
  model.dispose();
});

// ---- the whole pipeline on a tiny dataset: cache, every arm, leaks ----------------------------------

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] pipeline end to end on a tiny toy: cached stages, every selection arm, no tensor leak`, async () => {
    await useBackend(backend);
    const ds = toySelectionDataset({ poolSize: 120, pretrainSize: 200, validationPerSubtask: 2, validationSingle: 3, testPerTarget: 12, maxLen: 20, seed: 5 });
    const settings: PipelineSettings = {
      model: { dModel: 16, nLayers: 1, nHeads: 2, dFF: 32 },
      pretrain: { steps: 20, batchSize: 32, learningRate: 3e-3, seed: 0 },
      lora: { rank: 2, targets: ["q", "v"] },
      warmup: { fraction: 0.1, epochs: 2, batchSize: 4, learningRate: 3e-3 },
      projection: { dim: 32 },
      chunkRows: 50,
    };
    const cacheRoot = path.join(tmpRoot, `cache-${backend}`);
    const before = tf.memory().numTensors;
    const first = preparePipeline(ds, settings, 1, { cacheRoot });
    assert.ok(Object.values(first.stages).every((s) => !s.hit), "built on the first call");
    assert.is(first.checkpoints.length, 2);
    assert.equal(first.poolStores[0].meta.chunks.map((c) => c.rows), [50, 50, 20]);
    first.base.dispose();
    const second = preparePipeline(ds, settings, 1, { cacheRoot });
    assert.ok(Object.values(second.stages).every((s) => s.hit), "every stage cached on the second call");
    assert.equal(second.poolFeatures, first.poolFeatures);
    assert.equal(second.validation.multi.subtasks, ["ADD", "SUB", "CMP", "MOD", "PAR", "COPY"]);
    const runs = SELECTION_METHODS.map((method) => runArm(second, { method, target: "multi", trainK: 0.1, valK: 0.5, delta: 0.8, k: 5, seed: 2 }, { steps: 3, batchSize: 4, learningRate: 1e-3 }));
    const targetNames = Object.keys(second.dataset.targets).filter((n) => n !== "union");
    const unionTest = targetNames.flatMap((n) => second.dataset.targets[n].test);
    const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    for (const r of runs) {
      const { method, indices, budget, components, underfilled } = r.selection;
      if (method === "full" || method === "base") assert.is(indices.length, method === "full" ? 120 : 0, method);
      else {
        assert.is(budget, 12, `${method}: budget = floor(120 · trainK)`);
        assert.ok(indices.length >= 1, `${method}: selected nothing`);
        if (method.startsWith("g2is")) {
          // A walk may fall short of its budget only by reporting it.
          assert.is(indices.length, components.reduce((n, c) => n + c.path.length, 0), `${method}: indices are the walks' paths`);
          assert.ok(indices.length === budget || underfilled > 0, `${method}: ${indices.length} of ${budget} selected and no under-fill reported`);
        } else assert.is(indices.length, budget, `${method}: exactly the budget`);
      }
      assert.is(new Set(indices).size, indices.length, "no repeats");
      assertClose(Object.values(r.composition).reduce((a, b) => a + b, 0), indices.length > 0 ? 1 : 0, 1e-9, "composition sums to 1");
      // The scores hold together: the union is the item-weighted mean of its parts, each the mean of its items.
      const union = r.scores.union;
      assert.ok(union.itemCorrect !== null && union.itemCorrect.length === unionTest.length && union.itemCorrect.every((x) => x === 0 || x === 1), `${method}: union items`);
      assertClose(union.exactMatch!, mean(union.itemCorrect!), 1e-12, `${method}: union exact match = mean of its items`);
      assertClose(union.exactMatch!, targetNames.reduce((sum, n) => sum + r.scores[n].exactMatch! * r.scores[n].itemCorrect!.length, 0) / unionTest.length, 1e-12, `${method}: union = item-weighted parts`);
      assertClose(union.loss, mean(union.itemLoss), 1e-12, `${method}: union loss = mean item loss`);
      assert.ok(union.itemLoss.every((l) => Number.isFinite(l) && l > 0), `${method}: item losses`);
    }
    // The base arm's exact match, recomputed outside the pipeline: greedy answers of the base model vs the answers.
    const baseRun = runs.find((r) => r.selection.method === "base")!;
    const predictions = greedyDecode(second.base, second.dataset.codec, unionTest.map((e) => e.prompt), { maxNewTokens: second.dataset.maxAnswerTokens + 1 });
    assert.equal(baseRun.scores.union.itemCorrect, predictions.map((p, i) => (p.trim() === unionTest[i].answer.trim() ? 1 : 0)), "base arm: per-item exact match");
    const less = selectForTarget(second, { method: "less", target: "multi", trainK: 0.1, valK: 0.5, delta: 0.8, k: 5, seed: 0 });
    const direct = lessScores(second.poolFeatures.map((pool, c) => ({ pool, targets: Object.fromEntries(second.validation.multi.subtasks.map((s, si) => [s, second.validation.multi.byCheckpoint[c][si]])), weight: second.checkpoints[c].learningRate })));
    const top = Array.from(direct.scores.keys()).sort((a, b) => direct.scores[b] - direct.scores[a] || a - b).slice(0, 12);
    assert.equal(less.indices, top, "LESS arm (streamed from the stores) = top-k of in-memory LESS scores");
    const ldsSettings = { subsets: 3, fraction: 0.5, finetune: { steps: 2, batchSize: 4, learningRate: 1e-3 }, seed: 0, cacheRoot };
    const lds = ldsExperiment(second, "multi", ldsSettings);
    assert.ok(lds.subsets.length === 3 && lds.subsets.every((sub) => sub.length === 60 && new Set(sub).size === 60), "3 half-pool subsets");
    const nVal = second.validation.multi.byCheckpoint[0].flat().length;
    assert.ok(lds.losses.every((l) => l.length === nVal && l.every((x) => Number.isFinite(x) && x > 0)), "a loss per validation example per subset");
    assert.equal(Object.keys(lds.results), [...ATTRIBUTION_SCORINGS]);
    assert.ok(Object.values(lds.results).every((r) => r.perTarget.length === nVal), "one ρ per validation example");
    assert.equal(ldsExperiment(second, "multi", ldsSettings).losses, lds.losses, "the fine-tunes come from the disk cache");
    // LESS's ablation stores come from the same gradient pass as the Adam store: recompute 5 rows the slow way.
    const ablationProjector = new RandomProjector({ inputDim: second.gradientDim, outputDim: 32, kind: "rademacher", seed: "1/projection" });
    attachLora(second.base, { ...second.loraOptions, seed: "check" });
    writeLoraParameters(second.base, second.checkpoints[0].params);
    const five = second.dataset.pool.slice(0, 5).map((e) => e.example);
    assertClose(gradientFeatures(second.base, five, { role: "target", projector: ablationProjector }).flatMap((r) => Array.from(r)), second.poolFeaturesSgd[0].slice(0, 5).flatMap((r) => Array.from(r)), 1e-5, "pool-sgd = plain gradients");
    assertClose(gradientFeatures(second.base, five, { role: "pool", projector: ablationProjector, adam: second.checkpoints[0].adam, form: "bias-corrected" }).flatMap((r) => Array.from(r)), second.poolFeaturesBiasCorrected[0].slice(0, 5).flatMap((r) => Array.from(r)), 1e-5, "pool-bias-corrected");
    assertClose(gradientFeatures(second.base, five, { role: "pool", projector: ablationProjector, adam: second.checkpoints[0].adam }).flatMap((r) => Array.from(r)), second.poolFeatures[0].slice(0, 5).flatMap((r) => Array.from(r)), 1e-5, "pool (LESS form)");
    detachLora(second.base);
    const ablation = lessAblationFeatures(second);
    assert.ok(ablation.lowDim.pool.length === 2 && ablation.lowDim.pool[0].length === 120 && ablation.lowDim.pool[0][0].length === LESS_ABLATION_DIM, "d64 pool per checkpoint");
    assert.equal(ablation.lowDim.validation.multi.subtasks, second.validation.multi.subtasks);
    assert.ok(ablation.noWarmup.pool.length === 120 && ablation.noWarmup.pool[0].length === 32 && ablation.noWarmup.validation.multi.byCheckpoint.length === 1, "no-warm-up: one plain-gradient checkpoint at d");
    assert.ok(ablation.noWarmup.pool.every((r) => Math.abs(Math.hypot(...r) - 1) < 1e-4), "unit rows");
    assert.ok(runs[0].reused === false && runArm(second, { method: "full", target: "MULN", trainK: 0.1, valK: 0.5, delta: 0.8, k: 5, seed: 2 }, { steps: 3, batchSize: 4, learningRate: 1e-3 }).reused, "the full-data fine-tune is reused across targets");
    await expectError(() => selectForTarget(second, { method: "magic" as never, target: "multi", trainK: 0.1, valK: 0.5, delta: 0.8, k: 5, seed: 0 }), UnknownOptionError, "request.method");
    await expectError(() => selectForTarget(second, { method: "g2is", target: "nope", trainK: 0.1, valK: 0.5, delta: 0.8, k: 5, seed: 0 }), UnknownOptionError, "request.target");
    second.base.dispose();
    assert.is(tf.memory().numTensors, before, "no tensors left behind by the pipeline");
    const hidden = await expectNoLeak("meanPooledHiddenStates", () => { const m = tinyModel(ds.codec.vocabSize, 20, 3); const h = meanPooledHiddenStates(m, ds.pool.slice(0, 5).map((p) => p.example), ds.codec.padId); m.dispose(); return h; });
    assert.is(hidden.length, 5);
    await expectNoLeak("fineTuneLora", () => { const m = tinyModel(ds.codec.vocabSize, 20, 3); fineTuneLora(m, ds.pool.slice(0, 4).map((p) => p.example), { lora: { rank: 1, targets: ["q"] }, training: { steps: 2, batchSize: 2, learningRate: 1e-3 } }, 0); m.dispose(); });
  });
}

// ---- study grid and charts -----------------------------------------------------------------------

test("study grid blocks, 2-D PCA against the known axes, chart specs", async () => {
  const S = STUDY_SETTINGS.default;
  const at = (target: string, method: string, trainK: number, valK = 0.5, delta = 0.8) => runBlocks({ target, method, trainK, valK, delta }, S);
  assert.equal(at("MULN", "g2is", S.mainTrainK), ["main"]);
  assert.equal(at("MULN", "less", 0.01), ["budget"]);
  assert.equal(at("multi", "g2is", S.mainTrainK, 0.9), ["valK"]);
  assert.equal(at("multi", "g2is", S.mainTrainK, 0.5, 0.95), ["delta"]);
  assert.equal(at("multi", "random", S.mainTrainK, 0.9), []);
  assert.equal(at("multi", "full", 0.01), []);
  assert.equal(at("gsm8k", "g2is", S.real.trainK), ["main"]);
  assert.equal(at("SORTDESC", "g2is", S.mainTrainK, 0.9), []);
  const epochs = (target: string, method: string, trainK: number, valK = 0.5) => runBlocks({ target, method, trainK, valK, delta: 0.8, regime: "epochs" }, S);
  assert.equal(epochs("MULN", "oracle", S.mainTrainK), ["epochs"]);
  assert.equal(epochs("MULN", "less", 0.01), ["epochs"], "budget sweep in the epochs-matched regime");
  assert.equal(epochs("MULN", "sim-tfidf", S.mainTrainK), []);
  assert.equal(epochs("multi", "g2is", S.mainTrainK, 0.9), [], "no valK sweep in the epochs regime");
  assert.equal(epochs("gsm8k", "g2is", S.real.trainK), []);
  // Points spread along known orthogonal directions with variances 9 and 1 (and a little noise).
  const rng = new Rng("pca");
  const rows = Array.from({ length: 400 }, () => { const a = 3 * rng.normal(), b = rng.normal(); return Float32Array.from([a, b, a, -b, 0.01 * rng.normal()].map((x, i) => (i < 4 ? x / Math.SQRT2 : x))); });
  const p = pca2d(rows);
  assert.ok(Math.abs(Math.abs(p.axes[0][0]) - Math.SQRT1_2) < 0.02 && Math.abs(Math.abs(p.axes[0][2]) - Math.SQRT1_2) < 0.02, "first axis = (1,0,1,0)/√2");
  assert.ok(Math.abs(Math.abs(p.axes[1][1]) - Math.SQRT1_2) < 0.02, "second axis = (0,1,0,−1)/√2");
  assert.ok(Math.abs(dot(p.axes[0], p.axes[1])) < 1e-9, "orthogonal");
  assert.ok(p.varianceRatios[0] > 0.85 && p.varianceRatios[0] + p.varianceRatios[1] > 0.99);
  const bars = compositionBarsSpec([{ method: "g2is", target: "multi", group: "ADD", share: 1 }]);
  assert.is((bars.facet as { column: { field: string } }).column.field, "target");
  const walk = walkPictureSpec([{ x: 0, y: 0, group: "ADD" }], [{ x: 0, y: 0, component: "K1", step: 0, kind: "anchor" }]);
  assert.is((walk.layer as unknown[]).length, 3);
  await expectError(() => pca2d([new Float32Array(2)]), EmptyInputError, "rows");
  await expectError(() => compositionBarsSpec([]), EmptyInputError, "rows");
});

test("the registered study: grid blocks per preset, stale settings rejected; report helpers", async () => {
  const study = getStudy("g2is");
  assert.is(study.name, "g2is");
  const quick = planSweep(study as never, { preset: "quick" });
  assert.ok(quick.length > 40 && quick.every((r) => r.config.preset === "quick"));
  const mainToy = quick.filter((r) => r.config.trainK === STUDY_SETTINGS.quick.mainTrainK && r.config.valK === 0.5 && r.config.delta === 0.8 && r.config.target !== "gsm8k" && r.config.regime === "steps");
  assert.ok(quick.some((r) => r.config.regime === "epochs"), "the epochs-matched regime is in the grid");
  assert.is(mainToy.length, 5 * SELECTION_METHODS.length, "main block: every toy target × every method");
  assert.is(quick.filter((r) => r.config.target === "gsm8k").length, SELECTION_METHODS.length);
  assert.ok(quick.every((r) => runBlocks(r.config as never, STUDY_SETTINGS.quick).length > 0));
  await expectError(() => study.runOne({ ...(quick[0].config as object), settingsHash: "stale" } as never, 0, {} as never), InvalidArgumentError, "config.settingsHash");
  // Every grid config passes runStudyArm's option check (the study's fixed keys are allowed): given no
  // settings it fails after the check, never with an UnknownOptionError (notebook 03 broke on this).
  for (const point of [quick[0], quick[quick.length - 1]]) {
    let thrown: unknown = null;
    try { runStudyArm(point.config as never, undefined as never, 0); } catch (e) { thrown = e; }
    assert.ok(thrown !== null, "no settings cannot run");
    assert.not.instance(thrown, UnknownOptionError, `grid config ${JSON.stringify(point.config)} refused: ${String(thrown)}`);
  }
  assert.equal(meanStd([1, 2, 3]), { mean: 2, std: 1, n: 3 });
  assert.equal(meanStd([5]), { mean: 5, std: 0, n: 1 });
  assert.ok(Number.isNaN(meanStd([]).mean));
  const record = (method: string, seed: number, exactMatch: number): RunRecord => ({
    study: "g2is", runId: "x", configHash: "0".repeat(64), config: { target: "multi", method, trainK: 0.05, valK: 0.5, delta: 0.8 }, seed, status: "ok",
    metrics: { dataset: "toy", blocks: "main", exactMatch, testLoss: 1, selected: 3, budget: 3, conflictFraction: 0, duplicateFraction: 0, composition: {}, componentWeights: [], componentPaths: [], componentKinds: [] },
    cost: { counters: {}, seconds: 1 }, startedAt: "t", finishedAt: "t", wallSeconds: 1, backend: "wasm", gitCommit: null, gradlabVersion: "0",
  });
  const rs: StudyRow[] = studyRows([record("g2is", 0, 0.5), record("g2is", 1, 0.7), record("less", 0, 0.2), { ...record("less", 1, 0.9), status: "failed" }]);
  assert.is(rs.length, 3, "failed runs are left out");
  const agg = aggregateRows(rs, ["method"], (r) => r.exactMatch);
  assert.is(agg.length, 2);
  assertClose([agg[0].mean, agg[0].std, agg[1].mean], [0.6, Math.sqrt(0.02), 0.2], 1e-12, "aggregates");
});

test.run();
