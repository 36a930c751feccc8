/**
 * Issue 20 (1): a user's tf.LayersModel through models.fromLayersModel — per-example gradients
 * (loop and batched), the probe, a tfjs Adam optimizer's state and LESS features — against slow
 * oracles that never touch the adapter: one `tf.variableGrads` per example of tfjs-layers' own
 * loss on `model.apply`, Adam's update written out by hand, and the explicit projection matrix.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { fromLayersModel, LayersModelAdapter } from "../kernel-lib/models/layers-adapter";
import { perExampleGradients } from "../kernel-lib/grads/per-example";
import { probeModel } from "../kernel-lib/prism/probe-model";
import { routeByMetric } from "../kernel-lib/prism/probe";
import { concentrationScores } from "../kernel-lib/metrics/concentration";
import { adamStateFromOptimizer } from "../kernel-lib/features/tfjs-adam";
import { lessFeatures } from "../kernel-lib/features/model-features";
import { RandomProjector, explicitProjectionMatrix } from "../kernel-lib/features/projection";
import { adamPreconditionedFeatures } from "../kernel-lib/features/adam";
import { FeatureStoreWriter, openFeatureStore } from "../kernel-lib/features/feature-store";
import { writeNpy } from "../kernel-lib/io/npy";
import { Rng } from "../kernel-lib/random";
import { FileFormatError, InvalidArgumentError, ShapeError, UnknownOptionError } from "../kernel-lib/errors";
import { TEST_BACKENDS, assertClose, expectError, expectNoLeak, useBackend } from "./helpers";

const B = 6, IN = 5, CLASSES = 3;

function data(seed: number): { x: number[][]; y: number[] } {
  const rng = new Rng(seed);
  return { x: Array.from({ length: B }, () => Array.from({ length: IN }, () => rng.normal())), y: Array.from({ length: B }, (_, i) => i % CLASSES) };
}

/** Dense(relu) → Dropout → Dense(softmax), seeded weights (tf initialisers are not seeded by default). */
function sequentialModel(seed: number): tf.Sequential {
  const net = tf.sequential({
    layers: [
      tf.layers.dense({ units: 4, inputShape: [IN], activation: "relu", name: "hidden", kernelInitializer: tf.initializers.glorotNormal({ seed }) }),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.dense({ units: CLASSES, activation: "softmax", name: "out", kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 1 }), biasInitializer: tf.initializers.randomNormal({ seed: seed + 2 }) }),
    ],
  });
  return net;
}

/** Two Dense branches added together: not a chain, so only the loop may run. */
function branchingModel(seed: number): tf.LayersModel {
  const input = tf.input({ shape: [IN] });
  const a = tf.layers.dense({ units: CLASSES, name: "a", kernelInitializer: tf.initializers.glorotNormal({ seed }) }).apply(input) as tf.SymbolicTensor;
  const b = tf.layers.dense({ units: CLASSES, name: "b", kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 1 }) }).apply(input) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: tf.layers.add().apply([a, b]) as tf.SymbolicTensor });
}

/** The oracle: per example, tf.variableGrads of tfjs-layers' own categorical cross-entropy on model.apply. */
function oracleGradients(net: tf.LayersModel, x: number[][], y: number[], fromLogits: boolean): { losses: number[]; grads: Float32Array[][] } {
  const variables = net.trainableWeights.map((w) => w.read() as tf.Variable);
  const losses: number[] = [], grads: Float32Array[][] = [];
  x.forEach((row, b) => tf.tidy(() => {
    const { value, grads: g } = tf.variableGrads(() => {
      const out = net.apply(tf.tensor2d([row]), { training: false }) as tf.Tensor2D;
      const target = tf.cast(tf.oneHot(tf.tensor1d([y[b]], "int32"), CLASSES), "float32");
      return tf.sum(fromLogits ? tf.losses.softmaxCrossEntropy(target, out, undefined, undefined, tf.Reduction.NONE) : tf.metrics.categoricalCrossentropy(target, out)) as tf.Scalar;
    }, variables);
    losses.push(value.dataSync()[0]);
    grads.push(variables.map((v) => Float32Array.from(g[v.name].dataSync())));
  }));
  return { losses, grads };
}

const l2 = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0));

test("groups: one per layer weight, named <layer>.<weight>, kernels in their own [in, out] layout", async () => {
  await useBackend("cpu");
  const net = sequentialModel(1);
  const groups = fromLayersModel(net, { loss: "sparse-categorical-crossentropy" }).parameterGroups();
  assert.equal(groups.map((g) => [g.name, g.layer, g.module, g.shape, g.layout ?? "out-in", g.trainable]), [
    ["hidden.kernel", 0, "kernel", [IN, 4], "in-out", true],
    ["hidden.bias", 0, "bias", [4, 1], "out-in", true],
    ["out.kernel", 2, "kernel", [4, CLASSES], "in-out", true],
    ["out.bias", 2, "bias", [CLASSES, 1], "out-in", true],
  ]);
  net.layers[0].trainable = false;
  assert.equal(fromLayersModel(net, { loss: "sparse-categorical-crossentropy" }).parameterGroups().map((g) => g.trainable), [false, false, true, true]);
  net.dispose();
});

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] per-example gradients of a tf.sequential model: loop and batched equal the variableGrads oracle`, async () => {
    await useBackend(backend);
    const net = sequentialModel(3);
    const model = fromLayersModel(net, { loss: "sparse-categorical-crossentropy" });
    const { x, y } = data(5);
    const oracle = oracleGradients(net, x, y, false);
    assert.is(model.batchedSupport(model.parameterGroups()), null);
    for (const strategy of ["loop", "batched", "auto"] as const) {
      const result = await expectNoLeak(strategy, () => perExampleGradients(model, { inputs: x, targets: y }, { strategy, fullVectors: true }));
      assert.is(result.strategy, strategy === "loop" ? "loop" : "batched");
      assertClose(result.losses, oracle.losses, 1e-5, `${strategy} losses`);
      result.fullVectors!.forEach((parts, b) => parts.forEach((part, j) => {
        assertClose(part, oracle.grads[b][j], 1e-4, `${strategy} example ${b} ${result.matrices[j].name}`);
        assertClose(result.norms[b][j], l2(oracle.grads[b][j]), 1e-4, `${strategy} norm`);
      }));
      // byLayer aggregates a layer's kernel and bias: √(‖∇K‖² + ‖∇b‖²).
      assertClose(result.byLayer.norms[0][0], Math.hypot(result.norms[0][0], result.norms[0][1]), 1e-6, "byLayer");
    }
    // The gradient-norm path (no full vectors) picks gram or direct and agrees too.
    const norms = perExampleGradients(model, { inputs: x, targets: y }, { strategy: "batched", groups: ["kernel"] });
    norms.norms.forEach((row, b) => assertClose(row, [l2(oracle.grads[b][0]), l2(oracle.grads[b][2])], 1e-4, "kernel norms"));
    net.dispose();
  });

  test(`[${backend}] a branching functional model runs the loop ("auto"), refuses "batched" with the reason, and matches the oracle (logits loss)`, async () => {
    await useBackend(backend);
    const net = branchingModel(7);
    const model = fromLayersModel(net, { loss: "sparse-categorical-crossentropy-logits" });
    const { x, y } = data(8);
    const oracle = oracleGradients(net, x, y, true);
    const result = await expectNoLeak("auto", () => perExampleGradients(model, { inputs: x, targets: y }, { fullVectors: true }));
    assert.is(result.strategy, "loop");
    assertClose(result.losses, oracle.losses, 1e-5, "losses");
    result.fullVectors!.forEach((parts, b) => parts.forEach((part, j) => assertClose(part, oracle.grads[b][j], 1e-4, `example ${b} weight ${j}`)));
    await expectError(() => perExampleGradients(model, { inputs: x, targets: y }, { strategy: "batched" }), InvalidArgumentError, "not a chain");
    net.dispose();
  });

  test(`[${backend}] a tf.sequential nested inside another model: inner weights keep distinct names, the loop matches the oracle`, async () => {
    await useBackend(backend);
    const inner = tf.sequential({ layers: [
      tf.layers.dense({ units: 4, inputShape: [IN], activation: "tanh", kernelInitializer: tf.initializers.glorotNormal({ seed: 51 }) }),
      tf.layers.dense({ units: 4, activation: "relu", kernelInitializer: tf.initializers.glorotNormal({ seed: 52 }) }),
    ] });
    const net = tf.sequential({ layers: [inner, tf.layers.dense({ units: CLASSES, activation: "softmax", name: "top", kernelInitializer: tf.initializers.glorotNormal({ seed: 53 }) })] });
    const model = fromLayersModel(net, { loss: "sparse-categorical-crossentropy" });
    const groups = model.parameterGroups();
    assert.is(new Set(groups.map((g) => g.name)).size, 6, groups.map((g) => g.name).join(", "));
    assert.equal(groups.map((g) => g.layer), [0, 0, 0, 0, 1, 1]);
    assert.ok(model.batchedSupport(groups) !== null, "a nested model is not batched");
    const { x, y } = data(54);
    const oracle = oracleGradients(net, x, y, false);
    const result = await expectNoLeak("nested", () => perExampleGradients(model, { inputs: x, targets: y }, { fullVectors: true }));
    assert.is(result.strategy, "loop");
    result.fullVectors!.forEach((parts, b) => parts.forEach((part, j) => assertClose(part, oracle.grads[b][j], 1e-4, `example ${b} ${result.matrices[j].name}`)));
    net.dispose();
  });

  test(`[${backend}] Embedding → Dense on [B, T, d] rows → Flatten → Dense: batched over the Dense weights, loop for the embeddings`, async () => {
    await useBackend(backend);
    const T = 3, V = 7;
    const net = tf.sequential({
      layers: [
        tf.layers.embedding({ inputDim: V, outputDim: 4, inputLength: T, name: "embed", embeddingsInitializer: tf.initializers.randomNormal({ seed: 1 }) }),
        tf.layers.dense({ units: 5, activation: "tanh", name: "mix", kernelInitializer: tf.initializers.glorotNormal({ seed: 2 }) }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2, name: "head", kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }) }),
      ],
    });
    const model = fromLayersModel(net, { loss: "mean-squared-error" });
    const rng = new Rng(4);
    const inputs = Array.from({ length: 4 }, () => Array.from({ length: T }, () => rng.int(V)));
    const targets = Array.from({ length: 4 }, () => [rng.normal(), rng.normal()]);
    const dense = ["mix.kernel", "mix.bias", "head.kernel", "head.bias"];
    // Oracle over the Dense variables (wasm has no gradient for the embedding's gather).
    const variables = dense.map((n) => model.weight(n));
    const oracle = inputs.map((row, b) => tf.tidy(() => {
      const { grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(net.apply(tf.tensor2d([row]), { training: false }) as tf.Tensor, tf.tensor2d([targets[b]])))) as tf.Scalar, variables);
      return variables.map((v) => Float32Array.from(grads[v.name].dataSync()));
    }));
    assert.is(model.batchedSupport(model.parameterGroups().filter((g) => dense.includes(g.name))), null);
    assert.match(model.batchedSupport(model.parameterGroups()) ?? "", "embed.embeddings is not a Dense kernel or bias");
    for (const strategy of ["loop", "batched"] as const) {
      const result = await expectNoLeak(strategy, () => perExampleGradients(model, { inputs, targets }, { strategy, groups: dense, fullVectors: true }));
      result.fullVectors!.forEach((parts, b) => parts.forEach((part, j) => assertClose(part, oracle[b][j], 1e-4, `${strategy} example ${b} ${dense[j]}`)));
    }
    if (backend === "cpu") {
      const all = perExampleGradients(model, { inputs, targets }, { fullVectors: true });
      assert.is(all.strategy, "loop");
      assert.is(all.matrices[0].name, "embed.embeddings");
    }
    net.dispose();
  });

  test(`[${backend}] adamStateFromOptimizer: moments after model.fit equal Adam written out from the per-example gradients`, async () => {
    await useBackend(backend);
    // No Dropout here: fit trains with it active, the adapter (like any probe) runs in inference mode.
    const plain = tf.sequential({ layers: [
      tf.layers.dense({ units: 4, inputShape: [IN], activation: "relu", name: "h", kernelInitializer: tf.initializers.glorotNormal({ seed: 12 }) }),
      tf.layers.dense({ units: CLASSES, activation: "softmax", name: "o", kernelInitializer: tf.initializers.glorotNormal({ seed: 13 }) }),
    ] });
    const optimizer = tf.train.adam(0.05, 0.8, 0.99);
    plain.compile({ optimizer, loss: "sparseCategoricalCrossentropy" });
    const model = fromLayersModel(plain, { loss: "sparse-categorical-crossentropy" });
    const { x, y } = data(14);
    const meanGradient = () => {
      const rows = perExampleGradients(model, { inputs: x, targets: y }, { strategy: "loop", fullVectors: true }).fullVectors!;
      const flat = rows.map((parts) => Float32Array.from(parts.flatMap((p) => Array.from(p))));
      return Float64Array.from(flat[0], (_, i) => flat.reduce((s, r) => s + r[i], 0) / flat.length);
    };
    const xs = tf.tensor2d(x), ys = tf.tensor1d(y);
    let m = new Float64Array(0), v = new Float64Array(0);
    for (let step = 1; step <= 2; step++) {
      const g = meanGradient();
      if (step === 1) { m = new Float64Array(g.length); v = new Float64Array(g.length); }
      m = m.map((mi, i) => 0.8 * mi + 0.2 * g[i]);
      v = v.map((vi, i) => 0.99 * vi + 0.01 * g[i] * g[i]);
      await plain.fit(xs, ys, { epochs: 1, batchSize: B, shuffle: false, verbose: 0 });
      const state = await expectNoLeak("adamStateFromOptimizer", () => adamStateFromOptimizer(optimizer, model));
      assert.is(state.step, step);
      assert.equal([state.beta1, state.beta2], [0.8, 0.99]);
      assertClose(state.eps, 1e-7, 1e-9, "tfjs's default epsilon");
      assertClose(state.m, m, 2e-4, `m after step ${step}`);
      assertClose(state.v, v, 2e-4, `v after step ${step}`);
    }
    const kernels = await adamStateFromOptimizer(optimizer, model, { groups: ["kernel"] });
    assert.is(kernels.m.length, IN * 4 + 4 * CLASSES);
    const untrained = fromLayersModel(sequentialModel(15), { loss: "sparse-categorical-crossentropy" });
    await expectError(() => adamStateFromOptimizer(optimizer, untrained), InvalidArgumentError, "has not updated it");
    await expectError(() => adamStateFromOptimizer(tf.train.sgd(0.1) as never, model), InvalidArgumentError, "optimizer");
    tf.dispose([xs, ys]);
    untrained.model.dispose();
    plain.dispose();
  });

  test(`[${backend}] lessFeatures on a tf.sequential model equal Adam → explicit projection → unit rows; probeModel equals the oracle norms`, async () => {
    await useBackend(backend);
    const net = sequentialModel(21);
    const model = fromLayersModel(net, { loss: "sparse-categorical-crossentropy" });
    const { x, y } = data(22);
    const oracle = oracleGradients(net, x, y, false);
    const flat = oracle.grads.map((parts) => Float32Array.from(parts.flatMap((p) => Array.from(p))));
    const P = flat[0].length, d = 8;
    const rng = new Rng(23);
    const adam = { m: Float32Array.from({ length: P }, () => 0.01 * rng.normal()), v: Float32Array.from({ length: P }, () => 1e-4 * rng.uniform()), step: 3, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
    const R = explicitProjectionMatrix({ inputDim: P, outputDim: d, kind: "rademacher", seed: 9, blockRows: 16 });
    const expected = (rows: Float32Array[]) => rows.map((r) => {
      const z = Array.from({ length: d }, (_, j) => r.reduce((s, ri, i) => s + ri * R[i * d + j], 0));
      const n = Math.hypot(...z);
      return z.map((zj) => zj / n);
    });
    for (const strategy of ["loop", "batched"] as const) {
      for (const form of ["less", "bias-corrected"] as const) {
        const projector = new RandomProjector({ inputDim: P, outputDim: d, seed: 9, blockRows: 16 });
        const pool = await expectNoLeak("lessFeatures pool", () => lessFeatures(model, { inputs: x, targets: y }, { role: "pool", projector, adam, form, strategy, batchSize: 4 }));
        expected(adamPreconditionedFeatures(flat, adam, { form })).forEach((row, b) => assertClose(pool[b], row, 1e-4, `${strategy} ${form} pool row ${b}`));
      }
      const projector = new RandomProjector({ inputDim: P, outputDim: d, seed: 9, blockRows: 16 });
      const progress: number[] = [];
      const target = lessFeatures(model, { inputs: x, targets: y }, { role: "target", projector, strategy, batchSize: 4, onProgress: (done) => progress.push(done) });
      assert.equal(progress, [4, B]);
      expected(flat).forEach((row, b) => assertClose(target[b], row, 1e-4, `${strategy} target row ${b}`));
    }
    const probe = await expectNoLeak("probeModel", () => probeModel(model, { inputs: x, targets: y }, { groups: ["kernel"], batchSize: 4, examples: x.map((_, i) => ({ id: `e${i}`, label: i % 2 === 0 })) }));
    assert.is(probe.strategy, "batched");
    assert.equal(probe.matrices.map((m) => m.name), ["hidden.kernel", "out.kernel"]);
    probe.vectors.forEach((row, b) => assertClose(row, [l2(oracle.grads[b][0]), l2(oracle.grads[b][2])], 1e-4, `probe vector ${b}`));
    const scores = concentrationScores(probe.vectors, ["gini"]);
    assertClose(probe.scores.gini, scores.map((s) => s.gini), 1e-12, "gini");
    assert.is(routeByMetric(probe, "gini", { rule: "median" }).routes.length, B);
    assert.is(probe.examples[3].id, "e3");
    const loop = probeModel(model, { inputs: x, targets: y }, { groups: ["kernel"], strategy: "loop", normalisation: "sqrt-numel" });
    loop.vectors.forEach((row, b) => assertClose(row, [l2(oracle.grads[b][0]) / Math.sqrt(IN * 4), l2(oracle.grads[b][2]) / Math.sqrt(4 * CLASSES)], 1e-4, `sqrt-numel ${b}`));
    net.dispose();
  });
}

test("resumable featurisation: a FeatureStoreWriter left by a dead run is resumed (resume: true) and lessFeatures continues at start = writer.rows", async () => {
  await useBackend("cpu");
  const net = sequentialModel(41);
  const model = fromLayersModel(net, { loss: "sparse-categorical-crossentropy" });
  const { x, y } = data(42);
  const P = model.parameterGroups().reduce((n, g) => n + g.shape[0] * g.shape[1], 0);
  const projector = new RandomProjector({ inputDim: P, outputDim: 4, seed: 2 });
  const whole = lessFeatures(model, { inputs: x, targets: y }, { role: "target", projector });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gradlab-resume-"));
  try {
    // The "dead" run: 5 rows appended with chunkRows 2 → two full chunks on disk, one row lost, no meta.json.
    const first = FeatureStoreWriter.create(dir, { dim: 4, chunkRows: 2 });
    lessFeatures(model, { inputs: x.slice(0, 5), targets: y.slice(0, 5) }, { role: "target", projector, sink: first });
    writeNpy(path.join(dir, "chunk-000002.npy"), { data: new Float32Array(4), shape: [1, 4] }); // a short chunk only finish() may write
    await expectError(() => openFeatureStore(dir), FileFormatError, "incomplete");
    await expectError(() => FeatureStoreWriter.create(dir, { dim: 3, chunkRows: 2, resume: true }), FileFormatError, "same dim and chunkRows");
    const writer = FeatureStoreWriter.create(dir, { dim: 4, chunkRows: 2, resume: true });
    assert.is(writer.rows, 4);
    const progress: Array<[number, number]> = [];
    const returned = lessFeatures(model, { inputs: x, targets: y }, { role: "target", projector, sink: writer, start: writer.rows, batchSize: 1, onProgress: (d, t) => progress.push([d, t]) });
    assert.equal(returned, []);
    assert.equal(progress, [[5, B], [6, B]]);
    const store = writer.finish();
    assert.is(store.rows, B);
    store.readAll().forEach((row, i) => assertClose(row, whole[i], 1e-6, `row ${i}`));
    await expectError(() => lessFeatures(model, { inputs: x, targets: y }, { role: "target", projector, start: B + 1 }), InvalidArgumentError, "options.start");
    assert.equal(lessFeatures(model, { inputs: x, targets: y }, { role: "target", projector, start: B }), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    net.dispose();
  }
});

test("typed errors name the argument: loss, inputs, targets, options, projector width", async () => {
  await useBackend("cpu");
  const net = sequentialModel(31);
  const { x, y } = data(32);
  await expectError(() => fromLayersModel(net, { loss: "hinge" as never }), UnknownOptionError, "options.loss");
  await expectError(() => fromLayersModel(net, { loss: "mean-squared-error", lr: 1 } as never), UnknownOptionError, "options");
  await expectError(() => fromLayersModel({} as never, { loss: "mean-squared-error" }), InvalidArgumentError, "model");
  const model = fromLayersModel(net, { loss: "sparse-categorical-crossentropy" });
  assert.ok(model instanceof LayersModelAdapter);
  await expectError(() => model.prepareBatch({ inputs: x.map((r) => r.slice(1)), targets: y }), ShapeError, "batch.inputs");
  await expectError(() => model.prepareBatch({ inputs: x, targets: y.map(() => CLASSES) }), InvalidArgumentError, "batch.targets[0]");
  await expectError(() => model.prepareBatch({ inputs: x, targets: y.slice(1) }), ShapeError, "batch.targets");
  await expectError(() => model.prepareBatch({ inputs: [[1, 2, 3, 4, NaN]], targets: [0] }), Error, "batch.inputs[0]");
  await expectError(() => probeModel(model, { inputs: x, targets: y }, { examples: [{ id: "a" }] }), ShapeError, "options.examples");
  await expectError(() => probeModel(model, { inputs: x, targets: y }, { strategy: "fast" as never }), UnknownOptionError, "options.strategy");
  const projector = new RandomProjector({ inputDim: 3, outputDim: 2, seed: 1 });
  await expectError(() => lessFeatures(model, { inputs: x, targets: y }, { role: "target", projector }), ShapeError, "options.projector");
  await expectError(() => lessFeatures(model, { inputs: x, targets: y }, { role: "pool", projector }), InvalidArgumentError, "options.adam");
  net.dispose();
});

test.run();
