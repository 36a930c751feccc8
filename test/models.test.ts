import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { TinyTransformer, TransformerConfig, TRANSFORMER_MODULES } from "../kernel-lib/models/transformer";
import { GruLanguageModel } from "../kernel-lib/models/gru";
import { MlpModel } from "../kernel-lib/models/mlp";
import { attachLora, detachLora } from "../kernel-lib/models/lora";
import { loadModel, loadWeightsInto, readModelTensors, saveModel, serializeModel } from "../kernel-lib/models/io";
import { encodeSafetensors, parseSafetensors } from "../kernel-lib/io/safetensors";
import { EmptyInputError, FileFormatError, InvalidArgumentError, NonFiniteError, ShapeError, UnknownOptionError } from "../kernel-lib/errors";
import { Rng } from "../kernel-lib/random";
import { TEST_BACKENDS, assertClose, expectError, expectNoLeak, maxRelativeError, useBackend } from "./helpers";

const SMALL: TransformerConfig = { vocabSize: 13, dModel: 16, nLayers: 2, nHeads: 4, nKvHeads: 2, dFF: 24, maxLen: 10, seed: 7 };

function randomTokens(seed: number, B: number, T: number, V: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: B }, () => Array.from({ length: T }, () => rng.int(V)));
}

function read(t: tf.Tensor): Float32Array {
  return new Float32Array(t.dataSync());
}

function weightArray(model: { namedWeights(): Array<{ name: string; variable: tf.Variable }> }, name: string): Float64Array {
  const w = model.namedWeights().find((n) => n.name === name);
  assert.ok(w, `weight ${name}`);
  return Float64Array.from(w.variable.dataSync());
}

/** Float64 reference forward of the transformer, written from the equations, independent of tf. */
function referenceLogits(model: TinyTransformer, tokens: number[][]): number[][][] {
  const { vocabSize: V, dModel: d, nLayers: L, nHeads: H, nKvHeads: Hkv, normEps: eps } = model.config;
  const hd = d / H, G = H / Hkv;
  const W = (name: string) => weightArray(model, name);
  const rms = (x: number[], g: Float64Array) => {
    const s = Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length + eps);
    return x.map((v, i) => (v / s) * g[i]);
  };
  const lin = (x: number[], w: Float64Array, out: number) => Array.from({ length: out }, (_, o) => x.reduce((a, v, i) => a + v * w[o * x.length + i], 0));
  return tokens.map((row) => {
    const T = row.length;
    const emb = W("tokenEmbedding"), pos = W("positionEmbedding");
    let h = row.map((tok, t) => Array.from({ length: d }, (_, j) => emb[tok * d + j] + pos[t * d + j]));
    for (let l = 0; l < L; l++) {
      const a = h.map((x) => rms(x, W(`layer${l}.attnNorm`)));
      const q = a.map((x) => lin(x, W(`layer${l}.q`), H * hd));
      const k = a.map((x) => lin(x, W(`layer${l}.k`), Hkv * hd));
      const v = a.map((x) => lin(x, W(`layer${l}.v`), Hkv * hd));
      const attn = a.map((_, t) => {
        const out = new Array<number>(H * hd).fill(0);
        for (let head = 0; head < H; head++) {
          const kv = Math.floor(head / G);
          const scores = Array.from({ length: t + 1 }, (_, s) => {
            let dot = 0;
            for (let j = 0; j < hd; j++) dot += q[t][head * hd + j] * k[s][kv * hd + j];
            return dot / Math.sqrt(hd);
          });
          const m = Math.max(...scores), e = scores.map((s) => Math.exp(s - m)), z = e.reduce((x, y) => x + y, 0);
          for (let s = 0; s <= t; s++) for (let j = 0; j < hd; j++) out[head * hd + j] += (e[s] / z) * v[s][kv * hd + j];
        }
        return out;
      });
      const o = attn.map((x) => lin(x, W(`layer${l}.o`), d));
      h = h.map((x, t) => x.map((val, j) => val + o[t][j]));
      const mIn = h.map((x) => rms(x, W(`layer${l}.mlpNorm`)));
      const dFF = model.config.dFF;
      const down = mIn.map((x) => {
        const gate = lin(x, W(`layer${l}.gate`), dFF), up = lin(x, W(`layer${l}.up`), dFF);
        return lin(gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]), W(`layer${l}.down`), d);
      });
      h = h.map((x, t) => x.map((val, j) => val + down[t][j]));
    }
    return h.map((x) => lin(rms(x, W("finalNorm")), W("head"), V));
  });
}

/** Float64 masked next-token CE per example from logits, straight from the definition. */
function referenceLosses(logits: ArrayLike<number>, tokens: number[][], mask: number[][], V: number): number[] {
  const T = tokens[0].length;
  return tokens.map((row, b) => {
    let sum = 0, count = 0;
    for (let t = 1; t < T; t++) {
      if (mask[b][t] !== 1) continue;
      const base = (b * T + t - 1) * V;
      let max = -Infinity;
      for (let v = 0; v < V; v++) max = Math.max(max, logits[base + v]);
      let z = 0;
      for (let v = 0; v < V; v++) z += Math.exp(logits[base + v] - max);
      sum += -(logits[base + row[t]] - max - Math.log(z));
      count++;
    }
    return sum / count;
  });
}

test("config validation names the bad field", async () => {
  await expectError(() => new TinyTransformer({ ...SMALL, nHeads: 3 }), InvalidArgumentError, "config.nHeads");
  await expectError(() => new TinyTransformer({ ...SMALL, nKvHeads: 3 }), InvalidArgumentError, "config.nKvHeads");
  await expectError(() => new TinyTransformer({ ...SMALL, dModel: 0 }), InvalidArgumentError, "config.dModel");
  await expectError(() => new TinyTransformer({ ...SMALL, extra: 1 } as unknown as TransformerConfig), UnknownOptionError, "config.extra");
  await expectError(() => new GruLanguageModel({ vocabSize: 1, embedSize: 4, hiddenSize: 4, seed: 1 }), InvalidArgumentError, "config.vocabSize");
  await expectError(() => new MlpModel({ inputSize: 3, hiddenSizes: [4], outputSize: 2, task: "ranking" as "regression", seed: 1 }), UnknownOptionError, "config.task");
});

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] transformer: deterministic init, shapes, parameter groups (GQA)`, async () => {
    await useBackend(backend);
    const a = new TinyTransformer(SMALL), b = new TinyTransformer(SMALL), c = new TinyTransformer({ ...SMALL, seed: 8 });
    try {
      assert.equal(read(a.weight("layer1.up")), read(b.weight("layer1.up")));
      assert.not.equal(read(a.weight("layer1.up")), read(c.weight("layer1.up")));
      const groups = a.parameterGroups();
      assert.is(groups.length, 7 * SMALL.nLayers);
      assert.equal(groups.map((g) => g.module), [...TRANSFORMER_MODULES, ...TRANSFORMER_MODULES]);
      const byName = new Map(groups.map((g) => [g.name, g]));
      assert.equal(byName.get("layer0.q")?.shape, [16, 16]);
      assert.equal(byName.get("layer0.k")?.shape, [8, 16]); // nKvHeads·headDim = 2·4
      assert.equal(byName.get("layer1.down")?.shape, [16, 24]);
      assert.ok(groups.every((g) => g.trainable && g.part === "weight"));
      const tokens = randomTokens(1, 3, 7, SMALL.vocabSize);
      await expectNoLeak("forward", () => {
        const out = a.forward(tokens, { returnHidden: true });
        assert.equal(out.logits.shape, [3, 7, 13]);
        assert.equal(out.hidden.shape, [3, 7, 16]);
        tf.dispose([out.logits, out.hidden]);
      });
    } finally {
      [a, b, c].forEach((m) => m.dispose());
    }
  });

  test(`[${backend}] transformer: logits match a float64 reference implementation`, async () => {
    await useBackend(backend);
    for (const config of [SMALL, { ...SMALL, nKvHeads: 1, nLayers: 1, seed: 3 }, { ...SMALL, nHeads: 2, nKvHeads: 2, seed: 4 }]) {
      const model = new TinyTransformer(config);
      const tokens = randomTokens(2, 2, 6, config.vocabSize);
      const logits = model.forward(tokens);
      const expected = referenceLogits(model, tokens).flat(2);
      const err = maxRelativeError(read(logits), expected, 1e-2);
      assert.ok(err < 1e-4, `logits vs reference (nKvHeads=${config.nKvHeads}): ${err}`);
      logits.dispose();
      model.dispose();
    }
  });

  test(`[${backend}] transformer: causal — a later token never changes earlier logits`, async () => {
    await useBackend(backend);
    const model = new TinyTransformer(SMALL);
    const tokens = randomTokens(3, 1, 8, SMALL.vocabSize);
    const changed = tokens.map((r) => r.slice());
    const j = 5;
    changed[0][j] = (changed[0][j] + 1) % SMALL.vocabSize;
    const a = read(model.forward(tokens)), b = read(model.forward(changed));
    const V = SMALL.vocabSize;
    for (let t = 0; t < 8; t++) {
      const diff = Math.max(...Array.from({ length: V }, (_, v) => Math.abs(a[t * V + v] - b[t * V + v])));
      if (t < j) assert.ok(diff === 0, `position ${t} changed by ${diff}`);
      else assert.ok(diff > 1e-4, `position ${t} should depend on token ${j}`);
    }
    model.dispose();
  });

  test(`[${backend}] transformer: masked loss equals the definition; per-example losses average to the loss`, async () => {
    await useBackend(backend);
    const model = new TinyTransformer(SMALL);
    const tokens = randomTokens(4, 3, 7, SMALL.vocabSize);
    const lossMask = [[0, 0, 0, 1, 1, 1, 1], [0, 1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 1]];
    await expectNoLeak("loss", () => {
      const logits = model.forward(tokens);
      const expected = referenceLosses(read(logits), tokens, lossMask, SMALL.vocabSize);
      logits.dispose();
      const per = model.perExampleLosses({ tokens, lossMask });
      assertClose(read(per), expected, 1e-5, "per-example losses");
      per.dispose();
      const loss = model.loss({ tokens, lossMask });
      assertClose(loss.dataSync()[0], expected.reduce((a, b) => a + b, 0) / 3, 1e-5, "batch loss = mean of per-example");
      loss.dispose();
    });
    model.dispose();
  });

  test(`[${backend}] transformer: gradients flow everywhere under this backend (no gather)`, async () => {
    await useBackend(backend);
    const model = new TinyTransformer(SMALL);
    const tokens = randomTokens(5, 2, 6, SMALL.vocabSize);
    const lossMask = [[0, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1]];
    await expectNoLeak("variableGrads", () => {
      const { value, grads } = tf.variableGrads(() => model.loss({ tokens, lossMask }), model.trainableVariables());
      assert.is(Object.keys(grads).length, model.namedWeights().length);
      const embGrad = grads[model.weight("tokenEmbedding").name].dataSync();
      const usedRow = tokens[0][0] * SMALL.dModel;
      assert.ok(embGrad.slice(usedRow, usedRow + SMALL.dModel).some((v) => v !== 0), "embedding rows of used tokens get gradient");
      tf.dispose([value, ...Object.values(grads)]);
    });
    model.dispose();
  });

  test(`[${backend}] transformer: bad input raises typed errors naming the argument`, async () => {
    await useBackend(backend);
    const model = new TinyTransformer(SMALL);
    const tokens = randomTokens(6, 2, 5, SMALL.vocabSize);
    const lossMask = [[0, 1, 1, 1, 1], [0, 0, 1, 1, 1]];
    await expectError(() => model.forward([[1, 2], [3]]), ShapeError, "tokens[1]");
    await expectError(() => model.forward(tf.tensor1d([1, 2, 3], "int32")), ShapeError, "tokens");
    await expectError(() => model.forward([[1, 2, 13]]), InvalidArgumentError, "token id in [0, 13)");
    await expectError(() => model.forward([[1, 2.5]]), InvalidArgumentError, "tokens[0][1]");
    await expectError(() => model.forward([[1, NaN]]), NonFiniteError, "tokens");
    await expectError(() => model.forward([]), EmptyInputError, "tokens");
    await expectError(() => model.forward([new Array(11).fill(1)]), ShapeError, "maxLen");
    await expectError(() => model.loss({ tokens, lossMask: [[0, 1, 1, 1]] }), ShapeError, "lossMask");
    await expectError(() => model.loss({ tokens, lossMask: [[0, 1, 1, 1, 1], [0, 0, 2, 1, 1]] }), InvalidArgumentError, "lossMask[1][2]");
    await expectError(() => model.loss({ tokens, lossMask: [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]] }), InvalidArgumentError, "lossMask[0][0]");
    await expectError(() => model.loss({ tokens, lossMask: [[0, 1, 1, 1, 1], [0, 0, 0, 0, 0]] }), EmptyInputError, "example 1");
    await expectError(() => model.loss({ tokens: [[1], [2]], lossMask: [[0], [0]] }), ShapeError, "length ≥ 2");
    await expectError(() => model.forward(tokens, { hidden: true } as never), UnknownOptionError, "options.hidden");
    model.dispose();
  });

  test(`[${backend}] LoRA: B = 0 leaves outputs unchanged, only A/B train, merge equals the adapted model`, async () => {
    await useBackend(backend);
    const model = new TinyTransformer(SMALL);
    const tokens = randomTokens(7, 2, 6, SMALL.vocabSize);
    const lossMask = [[0, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1]];
    const before = read(model.forward(tokens));
    const adapters = attachLora(model, { targets: ["q", "layer1.down"], rank: 2, alpha: 4, seed: 1 });
    assert.equal(adapters.options.targets, ["layer0.q", "layer1.q", "layer1.down"]);
    assert.equal(read(model.forward(tokens)), before, "identical logits with B = 0");
    const trainable = model.trainableVariables();
    assert.is(trainable.length, 6);
    assert.ok(model.parameterGroups().filter((g) => g.part === "weight").every((g) => !g.trainable), "base matrices frozen");
    await expectNoLeak("LoRA grads", () => {
      const { value, grads } = tf.variableGrads(() => model.loss({ tokens, lossMask }));
      const names = new Map(model.namedWeights().map((w) => [w.variable.name, w.name]));
      assert.equal(Object.keys(grads).map((k) => names.get(k)).sort(), model.parameterGroups().filter((g) => g.part !== "weight").map((g) => g.name).sort());
      // With B = 0, ∂L/∂A = scale·Bᵀ(…) = 0 exactly, while B gets a gradient.
      assert.ok(grads[model.weight("layer0.q.loraA").name].dataSync().every((v) => v === 0));
      assert.ok(grads[model.weight("layer0.q.loraB").name].dataSync().some((v) => v !== 0));
      tf.dispose([value, ...Object.values(grads)]);
    });
    await expectError(() => attachLora(model, { rank: 1, seed: 2 }), InvalidArgumentError, "detachLora first");
    // Give B values, then compare with a plain model whose W = W + (alpha/r)·B·A.
    const rng = new Rng(9);
    for (const g of model.parameterGroups().filter((p) => p.part === "loraB")) {
      model.weight(g.name).assign(tf.tensor2d(Float32Array.from({ length: g.shape[0] * g.shape[1] }, () => rng.normal() * 0.3), g.shape));
    }
    const adapted = read(model.forward(tokens));
    assert.ok(maxRelativeError(adapted, before, 1) > 1e-3, "non-zero B changes outputs");
    const merged = new TinyTransformer(SMALL);
    for (const name of adapters.options.targets) {
      tf.tidy(() => merged.weight(name).assign(tf.add(model.weight(name), tf.mul(tf.matMul(model.weight(`${name}.loraB`), model.weight(`${name}.loraA`)), adapters.scale))));
    }
    assertClose(read(merged.forward(tokens)), adapted, 1e-4, "merged vs adapted logits");
    detachLora(model);
    assert.is(model.trainableVariables().length, model.namedWeights().length);
    assert.equal(read(model.forward(tokens)), before);
    await expectError(() => attachLora(model, { targets: ["qq"], rank: 1, seed: 1 }), UnknownOptionError, "options.targets");
    merged.dispose();
    model.dispose();
  });

  test(`[${backend}] save → load round trip: identical logits (transformer + LoRA, GRU, MLP)`, async () => {
    await useBackend(backend);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gradlab-models-"));
    try {
      const model = new TinyTransformer(SMALL);
      attachLora(model, { rank: 2, seed: 3 });
      model.weight("layer1.v.loraB").assign(tf.fill([8, 2], 0.25) as tf.Tensor2D);
      const tokens = randomTokens(8, 2, 6, SMALL.vocabSize);
      const file = path.join(dir, "tiny.safetensors");
      saveModel(model, file);
      assert.equal(fs.readdirSync(dir), ["tiny.safetensors"], "no temporary file left behind");
      const loaded = loadModel(file) as TinyTransformer;
      assert.equal(read(loaded.forward(tokens)), read(model.forward(tokens)));
      assert.equal(loaded.loraAdapters?.options, model.loraAdapters?.options);
      loaded.dispose();
      model.dispose();

      const gru = new GruLanguageModel({ vocabSize: 9, embedSize: 5, hiddenSize: 6, seed: 2 });
      saveModel(gru, file);
      const gru2 = loadModel(file) as GruLanguageModel;
      const seq = randomTokens(9, 2, 5, 9);
      assert.equal(read(gru2.forward(seq)), read(gru.forward(seq)));
      const mlp = new MlpModel({ inputSize: 3, hiddenSizes: [5, 4], outputSize: 2, task: "regression", seed: 4 });
      saveModel(mlp, file);
      const mlp2 = new MlpModel({ inputSize: 3, hiddenSizes: [5, 4], outputSize: 2, task: "regression", seed: 99 });
      loadWeightsInto(mlp2, file);
      const x = [[0.1, -2, 3], [1, 1, 1]];
      assert.equal(read(mlp2.forward(x)), read(mlp.forward(x)));
      // Wrong shapes / names are rejected before anything is overwritten.
      const other = new MlpModel({ inputSize: 3, hiddenSizes: [6, 4], outputSize: 2, task: "regression", seed: 4 });
      const kept = read(other.weight("layer0.weight"));
      await expectError(() => loadWeightsInto(other, file), ShapeError, "layer0.weight");
      assert.equal(read(other.weight("layer0.weight")), kept);
      await expectError(() => loadWeightsInto(gru, file), FileFormatError, "unexpected tensor layer0."); // the MLP file's first tensor by the codec's order (item size, then name)
      [gru, gru2, mlp, mlp2, other].forEach((m) => m.dispose());
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("model files go through io's one safetensors codec and atomic writer; malformed files raise FileFormatError naming the file", async () => {
  const mlp = new MlpModel({ inputSize: 2, hiddenSizes: [3], outputSize: 1, task: "regression", seed: 1 });
  const bytes = serializeModel(mlp, { note: "x" });
  const headerLength = Number(bytes.readBigUInt64LE(0));
  assert.is((8 + headerLength) % 8, 0, "data is 8-byte aligned");
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString());
  assert.equal([header["layer0.weight"].dtype, header["layer0.weight"].shape], ["F32", [3, 2]]);
  assert.equal([header.__metadata__.format, header.__metadata__.kind, header.__metadata__.note], ["gradlab", "mlp", "x"]);
  // The general reader (io/) reads what the model writer wrote, value for value.
  assert.equal(Array.from(parseSafetensors(bytes, "mem").tensors["layer0.weight"].data as Float32Array), Array.from(mlp.weight("layer0.weight").dataSync()));
  assert.equal(Array.from(readModelTensors(bytes, "mem").tensors.get("layer0.bias")!.data), [0, 0, 0]);

  await expectError(() => readModelTensors(bytes.subarray(0, 5), "f.safetensors"), FileFormatError, "f.safetensors: truncated");
  await expectError(() => readModelTensors(bytes.subarray(0, bytes.length - 4), "f.safetensors"), FileFormatError, "f.safetensors");
  const garbage = Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from("{oops")]);
  await expectError(() => readModelTensors(garbage, "g"), FileFormatError, "not valid UTF-8 JSON");
  const f16 = encodeSafetensors({ "layer0.weight": { dtype: "float16", shape: [3, 2], data: [1, 2, 3, 4, 5, 6] } });
  await expectError(() => readModelTensors(f16, "h"), FileFormatError, "must be float32");
  await expectError(() => serializeModel(mlp, { kind: "gru" }), InvalidArgumentError, "extraMetadata.kind");
  const missing = path.join(os.tmpdir(), "gradlab-no-such-file.safetensors");
  await expectError(() => loadModel(missing), FileFormatError, "cannot read");
  await expectError(() => saveModel(mlp, "/no/such/dir/x.safetensors"), InvalidArgumentError, "does not exist");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gradlab-model-file-"));
  try {
    saveModel(mlp, path.join(dir, "m.safetensors"));
    assert.equal(fs.readdirSync(dir), ["m.safetensors"], "no temporary file left behind");
    assert.equal(fs.readFileSync(path.join(dir, "m.safetensors")), serializeModel(mlp));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    mlp.dispose();
  }
});

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] GRU: shapes, causality, loss definition, gradient vs finite differences`, async () => {
    await useBackend(backend);
    const gru = new GruLanguageModel({ vocabSize: 7, embedSize: 4, hiddenSize: 5, seed: 3 });
    const tokens = randomTokens(10, 2, 6, 7);
    const lossMask = [[0, 1, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1]];
    await expectNoLeak("gru forward/loss", () => {
      const out = gru.forward(tokens, { returnHidden: true });
      assert.equal(out.logits.shape, [2, 6, 7]);
      assert.equal(out.hidden.shape, [2, 6, 5]);
      const expected = referenceLosses(read(out.logits), tokens, lossMask, 7);
      const per = gru.perExampleLosses({ tokens, lossMask });
      assertClose(read(per), expected, 1e-5, "gru per-example losses");
      // Hidden state at step t depends on tokens ≤ t only.
      const changed = tokens.map((r) => r.slice());
      changed[0][4] = (changed[0][4] + 1) % 7;
      const other = gru.forward(changed, { returnHidden: true });
      const h1 = read(out.hidden), h2 = read(other.hidden);
      for (let t = 0; t < 6; t++) {
        const diff = Math.max(...Array.from({ length: 5 }, (_, j) => Math.abs(h1[t * 5 + j] - h2[t * 5 + j])));
        assert.ok(t < 4 ? diff === 0 : diff > 0, `step ${t}`);
      }
      tf.dispose([out.logits, out.hidden, per, other.logits, other.hidden]);
    });
    checkFiniteDifferences(gru.trainableVariables(), () => gru.loss({ tokens, lossMask }), 11);
    gru.dispose();
  });

  test(`[${backend}] MLP: shapes, closed-form losses, gradient vs finite differences, errors`, async () => {
    await useBackend(backend);
    const clf = new MlpModel({ inputSize: 3, hiddenSizes: [6, 5], outputSize: 4, task: "classification", activation: "tanh", seed: 5 });
    const inputs = [[0.5, -1, 2], [0, 0.3, -0.7], [1, 1, 1]];
    const targets = [3, 0, 2];
    await expectNoLeak("mlp", () => {
      const out = clf.forward(inputs, { returnHidden: true });
      assert.equal(out.outputs.shape, [3, 4]);
      assert.equal(out.hidden.shape, [3, 5]);
      const logits = read(out.outputs);
      const expected = targets.map((c, b) => {
        const row = Array.from(logits.slice(b * 4, b * 4 + 4));
        const m = Math.max(...row);
        return -(row[c] - m - Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0)));
      });
      const per = clf.perExampleLosses({ inputs, targets });
      assertClose(read(per), expected, 1e-5, "classification CE");
      tf.dispose([out.outputs, out.hidden, per]);
    });
    checkFiniteDifferences(clf.trainableVariables(), () => clf.loss({ inputs, targets }), 12);
    const reg = new MlpModel({ inputSize: 3, hiddenSizes: [4], outputSize: 2, task: "regression", seed: 6 });
    const y = [[1, 2], [0, -1], [0.5, 0.5]];
    const pred = read(reg.forward(inputs));
    const per = reg.perExampleLosses({ inputs, targets: y });
    assertClose(read(per), y.map((row, b) => ((pred[2 * b] - row[0]) ** 2 + (pred[2 * b + 1] - row[1]) ** 2) / 2), 1e-5, "regression MSE");
    per.dispose();
    await expectError(() => clf.forward([[1, 2]]), ShapeError, "inputs");
    await expectError(() => clf.loss({ inputs, targets: [3, 0] }), ShapeError, "targets");
    await expectError(() => clf.loss({ inputs, targets: [3, 0, 4] }), InvalidArgumentError, "class id in [0, 4)");
    await expectError(() => reg.loss({ inputs, targets: [[1, NaN], [0, 0], [0, 0]] }), NonFiniteError, "targets");
    clf.dispose();
    reg.dispose();
  });
}

/**
 * Central finite differences of `loss` at a few coordinates of every variable, against
 * tf.variableGrads. float32: eps = 1e-2 keeps the rounding error of the difference (~1e-7·|L|/eps)
 * well under the truncation error (~eps²·|L'''|), so a 2% tolerance (+ a small absolute floor) is tight.
 */
function checkFiniteDifferences(variables: tf.Variable[], loss: () => tf.Scalar, seed: number): void {
  const rng = new Rng(seed);
  const { grads, value } = tf.variableGrads(loss, variables);
  value.dispose();
  const eps = 1e-2;
  for (const v of variables) {
    const g = grads[v.name].dataSync();
    const original = new Float32Array(v.dataSync());
    for (let k = 0; k < 3; k++) {
      const i = rng.int(original.length);
      const at = (delta: number) => {
        const shifted = original.slice();
        shifted[i] += delta;
        tf.tidy(() => v.assign(tf.tensor(shifted, v.shape)));
        const l = loss();
        const out = l.dataSync()[0];
        l.dispose();
        return out;
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      tf.tidy(() => v.assign(tf.tensor(original, v.shape)));
      assert.ok(Math.abs(fd - g[i]) <= 2e-2 * Math.abs(fd) + 2e-4, `${v.name}[${i}]: autodiff ${g[i]} vs finite difference ${fd}`);
    }
  }
  tf.dispose(Object.values(grads));
}

test.run();
