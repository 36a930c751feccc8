import { test } from "uvu";
import * as assert from "uvu/assert";
import * as tf from "@tensorflow/tfjs";
import { TinyTransformer, TransformerConfig } from "../kernel-lib/models/transformer";
import { GruLanguageModel } from "../kernel-lib/models/gru";
import { MlpModel } from "../kernel-lib/models/mlp";
import { attachLora } from "../kernel-lib/models/lora";
import { perExampleGradients } from "../kernel-lib/grads/per-example";
import { aggregateNorms, selectGroups } from "../kernel-lib/grads/groups";
import { chooseProduct } from "../kernel-lib/grads/batched";
import { EmptyInputError, InvalidArgumentError, ShapeError, UnknownOptionError } from "../kernel-lib/errors";
import { Rng } from "../kernel-lib/random";
import { TEST_BACKENDS, assertClose, expectError, expectNoLeak, maxRelativeError, useBackend } from "./helpers";

const RTOL = 1e-4;

function randomBatch(seed: number, B: number, T: number, V: number, fewTargets = true): { tokens: number[][]; lossMask: number[][] } {
  const rng = new Rng(seed);
  const tokens = Array.from({ length: B }, () => Array.from({ length: T }, () => rng.int(V)));
  const lossMask = tokens.map((_, b) => {
    // Example 0 has a single target (the last token), example 1 a response suffix, the rest random.
    if (fewTargets && b === 0) return Array.from({ length: T }, (_, t) => (t === T - 1 ? 1 : 0));
    if (b === 1) return Array.from({ length: T }, (_, t) => (t >= T / 2 ? 1 : 0));
    const row = Array.from({ length: T }, (_, t) => (t > 0 && rng.uniform() < 0.5 ? 1 : 0));
    if (!row.includes(1)) row[T - 1] = 1;
    return row;
  });
  return { tokens, lossMask };
}

function flat(x: number[][] | number[][][]): number[] {
  return (x as number[][]).flat(2) as number[];
}

function l2(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

const SHAPES: TransformerConfig[] = [
  { vocabSize: 11, dModel: 8, nLayers: 1, nHeads: 2, nKvHeads: 2, dFF: 12, maxLen: 8, seed: 1 },
  { vocabSize: 17, dModel: 16, nLayers: 2, nHeads: 4, nKvHeads: 2, dFF: 24, maxLen: 12, seed: 2 },
  { vocabSize: 9, dModel: 24, nLayers: 3, nHeads: 4, nKvHeads: 1, dFF: 16, maxLen: 6, seed: 3 },
  { vocabSize: 20, dModel: 12, nLayers: 2, nHeads: 3, nKvHeads: 3, dFF: 40, maxLen: 20, seed: 4 },
];
const BATCHES: Array<[number, number]> = [[3, 6], [4, 12], [5, 5], [2, 20]];

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] batched equals the loop oracle for every matrix (several shapes, GQA, both products)`, async () => {
    await useBackend(backend);
    SHAPES.forEach((config, i) => {
      const model = new TinyTransformer(config);
      const [B, T] = BATCHES[i];
      const batch = randomBatch(10 + i, B, T, config.vocabSize);
      const loop = perExampleGradients(model, batch, { strategy: "loop" });
      assert.is(loop.matrices.length, 7 * config.nLayers);
      assert.is(loop.norms.length, B);
      for (const product of ["gram", "direct", "auto"] as const) {
        const batched = perExampleGradients(model, batch, { strategy: "batched", product });
        assert.is(batched.strategy, "batched");
        const err = maxRelativeError(flat(batched.norms), flat(loop.norms), 1e-8);
        assert.ok(err <= RTOL, `shape ${i} ${product}: max relative error ${err}`);
        assertClose(batched.losses, loop.losses, 1e-5, "losses");
      }
      assert.ok(flat(loop.norms).every((n) => n > 0), "every matrix gets a gradient");
      model.dispose();
    });
  });

  test(`[${backend}] per-example losses are the model's; norms match a one-example variableGrads; aggregates`, async () => {
    await useBackend(backend);
    const config = SHAPES[1];
    const model = new TinyTransformer(config);
    const batch = randomBatch(20, 4, 9, config.vocabSize);
    const r = perExampleGradients(model, batch);
    assert.is(r.strategy, "batched");
    const per = model.perExampleLosses(batch);
    assertClose(r.losses, Array.from(per.dataSync()), 1e-5, "per-example losses");
    per.dispose();
    const loss = model.loss(batch);
    assertClose(r.losses.reduce((a, b) => a + b, 0) / r.losses.length, loss.dataSync()[0], 1e-5, "mean = model loss");
    loss.dispose();
    // Example 2 on its own, gradients of the plain model loss (no LinearFn machinery at all).
    const single = { tokens: [batch.tokens[2]], lossMask: [batch.lossMask[2]] };
    const vars = r.matrices.map((m) => model.weight(m.name));
    const { value, grads } = tf.variableGrads(() => model.loss(single), vars);
    const direct = vars.map((v) => l2(new Float32Array(grads[v.name].dataSync())));
    assertClose(r.norms[2], direct, RTOL, "example 2 norms vs variableGrads");
    tf.dispose([value, ...Object.values(grads)]);
    // byLayer / byModule are √Σ norm² over their matrices.
    for (let b = 0; b < 4; b++) {
      for (const [k, layer] of r.byLayer.keys.entries()) {
        const expected = Math.sqrt(r.matrices.reduce((s, m, j) => s + (m.layer === layer ? r.norms[b][j] ** 2 : 0), 0));
        assertClose(r.byLayer.norms[b][k], expected, 1e-12, "byLayer");
      }
      for (const [k, module] of r.byModule.keys.entries()) {
        const expected = Math.sqrt(r.matrices.reduce((s, m, j) => s + (m.module === module ? r.norms[b][j] ** 2 : 0), 0));
        assertClose(r.byModule.norms[b][k], expected, 1e-12, "byModule");
      }
    }
    assert.equal(r.byLayer.keys, [0, 1]);
    assert.equal(r.byModule.keys, ["q", "k", "v", "o", "gate", "up", "down"]);
    model.dispose();
  });

  test(`[${backend}] loop gradients match central finite differences (tiny model)`, async () => {
    await useBackend(backend);
    const model = new TinyTransformer({ vocabSize: 7, dModel: 8, nLayers: 2, nHeads: 2, nKvHeads: 1, dFF: 8, maxLen: 6, seed: 5 });
    const batch = randomBatch(30, 2, 5, 7);
    const r = perExampleGradients(model, batch, { strategy: "loop", fullVectors: true, groups: ["all"] });
    const rng = new Rng(31);
    const eps = 1e-2;
    for (const b of [0, 1]) {
      const single = { tokens: [batch.tokens[b]], lossMask: [batch.lossMask[b]] };
      const lossAt = () => { const l = model.loss(single); const v = l.dataSync()[0]; l.dispose(); return v; };
      for (const name of ["layer0.q", "layer0.v", "layer1.k", "layer1.gate", "layer1.down", "layer0.o"]) {
        const j = r.matrices.findIndex((m) => m.name === name);
        const variable = model.weight(name);
        const original = new Float32Array(variable.dataSync());
        const gradient = r.fullVectors![b][j];
        for (let k = 0; k < 3; k++) {
          const i = rng.int(original.length);
          const at = (delta: number) => {
            const shifted = original.slice();
            shifted[i] += delta;
            tf.tidy(() => variable.assign(tf.tensor(shifted, variable.shape)));
            return lossAt();
          };
          const fd = (at(eps) - at(-eps)) / (2 * eps);
          tf.tidy(() => variable.assign(tf.tensor(original, variable.shape)));
          assert.ok(Math.abs(fd - gradient[i]) <= 2e-2 * Math.abs(fd) + 2e-4, `example ${b} ${name}[${i}]: loop ${gradient[i]} vs finite difference ${fd}`);
        }
        // A directional derivative along the gradient itself has a large signal: d/dε L(W + ε·g/‖g‖) = ‖g‖.
        const norm = l2(gradient);
        const along = (scale: number) => {
          tf.tidy(() => variable.assign(tf.tensor(original.map((w, i) => w + (scale * gradient[i]) / norm), variable.shape)));
          return lossAt();
        };
        const slope = (along(eps) - along(-eps)) / (2 * eps);
        tf.tidy(() => variable.assign(tf.tensor(original, variable.shape)));
        assertClose(slope, norm, 2e-2, `example ${b} ${name}: directional derivative vs norm`);
      }
    }
    model.dispose();
  });

  test(`[${backend}] full vectors: their norms are the norms, batched equals loop, size limit`, async () => {
    await useBackend(backend);
    const config = SHAPES[1];
    const model = new TinyTransformer(config);
    const batch = randomBatch(40, 3, 8, config.vocabSize);
    const groups = ["layer1.q", "v", "layer0.down"];
    const loop = perExampleGradients(model, batch, { strategy: "loop", groups, fullVectors: true });
    const batched = perExampleGradients(model, batch, { strategy: "batched", groups, fullVectors: true });
    assert.equal(batched.matrices.map((m) => m.name), ["layer0.v", "layer0.down", "layer1.q", "layer1.v"], "model order, deduplicated");
    for (let b = 0; b < 3; b++) {
      batched.matrices.forEach((m, j) => {
        const v = batched.fullVectors![b][j];
        assert.is(v.length, m.numel);
        assertClose(l2(v), batched.norms[b][j], 1e-5, "‖full vector‖ = norm");
        const err = maxRelativeError(v, loop.fullVectors![b][j], 1e-3);
        assert.ok(err <= 1e-3, `${m.name} example ${b}: batched vs loop vector ${err}`);
      });
    }
    await expectError(() => perExampleGradients(model, batch, { fullVectors: true, groups: ["all"], fullVectorLimit: 1000 }), InvalidArgumentError, "options.fullVectors");
    await expectError(() => perExampleGradients(model, batch, { fullVectors: true, groups: ["all"], fullVectorLimit: 0 }), InvalidArgumentError, "options.fullVectorLimit");
    model.dispose();
  });

  test(`[${backend}] per-position norms: batched ‖x_t‖·‖δ_t‖ equals the loop's zero-probe gradients`, async () => {
    await useBackend(backend);
    const config = SHAPES[2];
    const model = new TinyTransformer(config);
    const batch = randomBatch(50, 3, 6, config.vocabSize);
    const positions = [0, 2, 5];
    const loop = perExampleGradients(model, batch, { strategy: "loop", positions });
    const batched = perExampleGradients(model, batch, { strategy: "batched", positions });
    assert.equal(batched.positions!.positions, positions);
    assert.is(batched.positions!.norms.length, 3);
    assert.is(batched.positions!.norms[0].length, 3);
    const err = maxRelativeError(flat(batched.positions!.norms), flat(loop.positions!.norms), 1e-6);
    assert.ok(err <= 1e-3, `per-position norms batched vs loop: ${err}`);
    // Triangle inequality: Σ_t ‖term_t‖ ≥ ‖Σ_t term_t‖ (all positions).
    const all = perExampleGradients(model, batch, { positions: [0, 1, 2, 3, 4, 5] });
    for (let b = 0; b < 3; b++) all.matrices.forEach((_, j) => {
      const sum = all.positions!.norms[b].reduce((s, row) => s + row[j], 0);
      assert.ok(sum >= all.norms[b][j] * (1 - 1e-5), "Σ per-position norms ≥ norm");
    });
    await expectError(() => perExampleGradients(model, batch, { positions: [6] }), InvalidArgumentError, "options.positions");
    await expectError(() => perExampleGradients(model, batch, { positions: [] }), EmptyInputError, "options.positions");
    model.dispose();
  });

  test(`[${backend}] LoRA: default groups are the adapters; A has zero gradient at B = 0; batched equals loop`, async () => {
    await useBackend(backend);
    const model = new TinyTransformer(SHAPES[1]);
    attachLora(model, { targets: ["q", "v"], rank: 2, seed: 3 });
    const batch = randomBatch(60, 3, 7, SHAPES[1].vocabSize);
    const r = perExampleGradients(model, batch);
    assert.equal(r.matrices.map((m) => m.name), ["layer0.q.loraA", "layer0.q.loraB", "layer0.v.loraA", "layer0.v.loraB", "layer1.q.loraA", "layer1.q.loraB", "layer1.v.loraA", "layer1.v.loraB"]);
    r.matrices.forEach((m, j) => {
      for (let b = 0; b < 3; b++) assert.ok(m.part === "loraA" ? r.norms[b][j] === 0 : r.norms[b][j] > 0, `${m.name}`);
    });
    // Give B values so A gets gradients too, then compare strategies (including frozen base matrices).
    const rng = new Rng(61);
    for (const m of r.matrices.filter((x) => x.part === "loraB")) {
      model.weight(m.name).assign(tf.tensor2d(Float32Array.from({ length: m.numel }, () => rng.normal() * 0.5), m.shape));
    }
    const loop = perExampleGradients(model, batch, { strategy: "loop", groups: ["all"] });
    const batched = perExampleGradients(model, batch, { strategy: "batched", groups: ["all"] });
    assert.is(batched.matrices.length, 14 + 8);
    const err = maxRelativeError(flat(batched.norms), flat(loop.norms), 1e-8);
    assert.ok(err <= RTOL, `LoRA batched vs loop ${err}`);
    model.dispose();
  });

  test(`[${backend}] GRU (matrices called once per step) and MLP: batched equals loop; MLP closed form`, async () => {
    await useBackend(backend);
    const gru = new GruLanguageModel({ vocabSize: 8, embedSize: 5, hiddenSize: 6, seed: 4 });
    const batch = randomBatch(70, 4, 7, 8);
    const gLoop = perExampleGradients(gru, batch, { strategy: "loop", positions: [1, 6] });
    const gBatched = perExampleGradients(gru, batch, { strategy: "batched", positions: [1, 6] });
    assert.equal(gBatched.matrices.map((m) => m.module), ["xr", "xz", "xn", "hr", "hz", "hn", "head"]);
    assert.ok(maxRelativeError(flat(gBatched.norms), flat(gLoop.norms), 1e-8) <= RTOL, "GRU norms");
    assert.ok(maxRelativeError(flat(gBatched.positions!.norms), flat(gLoop.positions!.norms), 1e-6) <= 1e-3, "GRU per-step norms");
    gru.dispose();

    const mlp = new MlpModel({ inputSize: 4, hiddenSizes: [6], outputSize: 3, task: "classification", seed: 8 });
    const inputs = [[1, 0, -1, 2], [0.5, 0.5, 0.5, 0.5], [-1, 2, 0, 0]];
    const targets = [0, 2, 1];
    const mLoop = perExampleGradients(mlp, { inputs, targets }, { strategy: "loop" });
    const mBatched = perExampleGradients(mlp, { inputs, targets });
    assert.ok(maxRelativeError(flat(mBatched.norms), flat(mLoop.norms), 1e-8) <= RTOL, "MLP norms");
    // Output layer of a softmax classifier: ∇W = (p − y) hᵀ, so ‖∇W‖ = ‖p − y‖·‖h‖ per example.
    const { outputs, hidden } = mlp.forward(inputs, { returnHidden: true });
    const p = tf.softmax(outputs).arraySync() as number[][], h = hidden.arraySync() as number[][];
    tf.dispose([outputs, hidden]);
    targets.forEach((c, b) => {
      const pe = Math.sqrt(p[b].reduce((s, v, k) => s + (v - (k === c ? 1 : 0)) ** 2, 0));
      const hn = Math.sqrt(h[b].reduce((s, v) => s + v * v, 0));
      assertClose(mBatched.norms[b][1], pe * hn, 1e-5, "output layer closed form");
    });
    mlp.dispose();
  });

  test(`[${backend}] no tensor leaks: forward, loss, both strategies with every option`, async () => {
    await useBackend(backend);
    const model = new TinyTransformer(SHAPES[1]);
    const batch = randomBatch(80, 3, 6, SHAPES[1].vocabSize);
    await expectNoLeak("forward", () => tf.dispose(model.forward(batch.tokens)));
    await expectNoLeak("loss", () => tf.dispose(model.loss(batch)));
    for (const strategy of ["loop", "batched"] as const) {
      await expectNoLeak(strategy, () => perExampleGradients(model, batch, { strategy }));
      await expectNoLeak(`${strategy} + options`, () => perExampleGradients(model, batch, { strategy, positions: [1, 3], fullVectors: true, groups: ["layer0.q", "k"] }));
    }
    await expectNoLeak("error path", async () => {
      await expectError(() => perExampleGradients(model, { tokens: batch.tokens, lossMask: [[0, 1]] }), ShapeError, "lossMask");
    });
    model.dispose();
  });
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] bad input raises typed errors naming the argument`, async () => {
    await useBackend(backend);
    const model = new TinyTransformer(SHAPES[0]);
    const batch = randomBatch(90, 2, 5, SHAPES[0].vocabSize);
    await expectError(() => perExampleGradients(model, { tokens: [[1, 2, 3]], lossMask: batch.lossMask }), ShapeError, "lossMask");
    await expectError(() => perExampleGradients(model, { tokens: [[1, 2], [3]], lossMask: batch.lossMask }), ShapeError, "tokens[1]");
    await expectError(() => perExampleGradients(model, { tokens: [[1, 2, 99, 0, 0], [1, 1, 1, 1, 1]], lossMask: batch.lossMask }), InvalidArgumentError, "[0, 11)");
    await expectError(() => perExampleGradients(model, batch, { strategy: "vmap" as "loop" }), UnknownOptionError, "options.strategy");
    await expectError(() => perExampleGradients(model, batch, { product: "fast" as "gram" }), UnknownOptionError, "options.product");
    await expectError(() => perExampleGradients(model, batch, { group: ["q"] } as never), UnknownOptionError, "options.group");
    await expectError(() => perExampleGradients(model, batch, { groups: ["attention"] }), UnknownOptionError, "options.groups");
    await expectError(() => perExampleGradients(model, batch, { groups: [] }), EmptyInputError, "options.groups");
    await expectError(() => perExampleGradients(model, batch, { positions: [1.5] }), InvalidArgumentError, "options.positions");
    model.dispose();
  });
}

test("group selection and aggregation helpers", () => {
  const groups = [
    { name: "layer0.q", layer: 0, module: "q", part: "weight" as const, shape: [4, 4] as [number, number], trainable: true },
    { name: "layer0.k", layer: 0, module: "k", part: "weight" as const, shape: [2, 4] as [number, number], trainable: false },
    { name: "layer1.q", layer: 1, module: "q", part: "weight" as const, shape: [4, 4] as [number, number], trainable: true },
  ];
  assert.equal(selectGroups(groups).map((g) => g.name), ["layer0.q", "layer1.q"]);
  assert.equal(selectGroups(groups, ["all"]).map((g) => g.name), ["layer0.q", "layer0.k", "layer1.q"]);
  assert.equal(selectGroups(groups, ["layer1", "k"]).map((g) => g.name), ["layer0.k", "layer1.q"]);
  const agg = aggregateNorms([[3, 4, 12]], [0, 0, 1]);
  assert.equal(agg, { keys: [0, 1], norms: [[5, 12]] });
  // Cost rule: gram when T < in·out/(in+out+1) roughly; direct for long sequences.
  assert.is(chooseProduct(4, 64, 64), "gram");
  assert.is(chooseProduct(64, 64, 64), "direct");
});

// The benchmark's two shapes (npm run bench times them; here only the values are checked), B kept
// small: T = 64 makes the cost rule pick the direct product everywhere, T = 16 the gram product
// for the wide matrices; each is also forced the other way.
for (const backend of TEST_BACKENDS) {
  test(`[${backend}] batched equals the loop at the benchmark's shapes (L = 2, d = 64 T = 64 and d = 32 T = 16; every product)`, async () => {
    await useBackend(backend);
    const shapes: Array<{ config: TransformerConfig; T: number }> = [
      { config: { vocabSize: 64, dModel: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, dFF: 128, maxLen: 64, seed: 1 }, T: 64 },
      { config: { vocabSize: 64, dModel: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, dFF: 64, maxLen: 16, seed: 1 }, T: 16 },
    ];
    const chosen = new Set<string>();
    for (const { config, T } of shapes) {
      const model = new TinyTransformer(config);
      const batch = randomBatch(100, 4, T, config.vocabSize, false);
      const loop = perExampleGradients(model, batch, { strategy: "loop" });
      assert.ok(flat(loop.norms).every((n) => n > 0), "every matrix gets a gradient");
      for (const product of ["auto", "gram", "direct"] as const) {
        const batched = await expectNoLeak(`batched ${product}`, () => perExampleGradients(model, batch, { strategy: "batched", product }));
        if (product === "auto") batched.products!.forEach((p) => chosen.add(p));
        const err = maxRelativeError(flat(batched.norms), flat(loop.norms), 1e-8);
        assert.ok(err <= RTOL, `T = ${T} ${product}: max relative error ${err}`);
        assertClose(batched.losses, loop.losses, 1e-5, `T = ${T} ${product}: losses`);
      }
      model.dispose();
    }
    assert.equal([...chosen].sort(), ["direct", "gram"], "the cost rule picks each product somewhere");
  });
}

test.run();
