/**
 * Issue 19 (4): one options contract. Every public callable that takes an options object (found
 * by reading the exported types, options-api.ts) rejects an unknown key with an
 * UnknownOptionError that names the argument and the key.
 *
 * How the walk stays complete: CALLS holds, for every id the type walk finds, a valid minimal call
 * that merges `extra` into its options. The first test fails when the walk finds an option-taking
 * callable without a call here (a new export must come with its check) or a call here names
 * something that is no longer exported. The second makes every call with an unknown key.
 * Each call runs twice with the key: the second run is leak-checked (the first may build the
 * shared fixtures, a model or an env, which stay alive on purpose).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as lab from "../kernel-lib";
import { tf } from "../kernel-lib/tf";
import { UnknownOptionError } from "../kernel-lib/errors";
import { study as sweepStudy } from "./fixtures/sweep-study";
import { optionTakingExports } from "./options-api";
import { useBackend } from "./helpers";

const KEY = "zzNotAnOption";
type Extra = Record<string, unknown>;
type Call = (extra: Extra) => unknown;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gradlab-options-"));
let fileCounter = 0;
const fresh = (name: string) => path.join(dir, `${fileCounter++}-${name}`);

/** Built on first use and kept for the whole file. */
function once<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= build());
}

const V = 20;
const model = once(() => new lab.models.TinyTransformer({ vocabSize: V, maxLen: 12, dModel: 8, nLayers: 1, nHeads: 2, dFF: 16, seed: 1 }));
const loraModel = once(() => {
  const m = new lab.models.TinyTransformer({ vocabSize: V, maxLen: 12, dModel: 8, nLayers: 1, nHeads: 2, dFF: 16, seed: 2 });
  lab.models.attachLora(m, { rank: 2, seed: 1 });
  return m;
});
const gru = once(() => new lab.models.GruLanguageModel({ vocabSize: V, embedSize: 4, hiddenSize: 6, seed: 1 }));
const mlp = once(() => new lab.models.MlpModel({ inputSize: 3, hiddenSizes: [4], outputSize: 2, task: "regression", seed: 1 }));
const examples = once(() => Array.from({ length: 4 }, (_, i) => ({ tokens: [1, 2, 3, 4, 5 + i, 6], lossMask: [0, 0, 0, 1, 1, 1] })));
const rows = (n: number, d: number, seed = 1) => {
  const rng = new lab.Rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: d }, () => rng.normal()));
};
const ndArray = () => ({ data: new Float32Array([1, 2, 3, 4]), shape: [2, 2], dtype: "float32" as const });
const npyFile = once(() => { const f = fresh("a.npy"); lab.io.writeNpy(f, ndArray()); return f; });
const npzFile = once(() => { const f = fresh("a.npz"); lab.io.writeNpz(f, { a: ndArray() }); return f; });
const safetensorsFile = once(() => { const f = fresh("a.safetensors"); lab.io.writeSafetensors(f, { a: ndArray() }); return f; });
const jsonlFile = once(() => { const f = fresh("a.jsonl"); fs.writeFileSync(f, "{\"a\":1}\n{\"a\":2}\n"); return f; });
const shop = once(() => lab.envs.createMiniShop());
const shopTokenizer = once(() => lab.envs.tokenizerFor(shop()));
const agent = once(() => new lab.agents.TransformerAgent(
  new lab.models.TinyTransformer({ vocabSize: shopTokenizer().size, maxLen: 128, dModel: 8, nLayers: 1, nHeads: 2, dFF: 16, seed: 3 }), shopTokenizer()));
const shopTasks = once(() => shop().generateTasks({ split: "train", count: 2, seed: 1 }));
const trajectory = once(() => lab.envs.runEpisode(shop(), shopTasks()[0], lab.envs.expertPolicy(shopTasks()[0])));
const probeResult = once(() => lab.prism.probeTrajectories(model(), examples(), { metrics: ["gini", "l2"] }));
const projector = once(() => new lab.features.RandomProjector({ inputDim: lab.train.readLoraParameters(loraModel()).length, outputDim: 3, seed: 1 }));
const samples = once(() => [0, 1, 2, 3].map((i) => ({ groupId: String(i % 2), reward: i, tokens: [1, 2, 3, 4], actionMask: [0, 1, 1, 1] })));
const sgd = once(() => tf.train.sgd(0));
const spec = () => lab.lineChart([{ x: 1, y: 2 }, { x: 2, y: 3 }], { x: "x", y: "y" });
const maestroEnv = once(() => new lab.studies.maestro.MaestroEnv({ seed: 1 }));
const layersNet = once(() => tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3], name: "d" })] }));
const layersModel = once(() => lab.models.fromLayersModel(layersNet(), { loss: "mean-squared-error" }));
const layersBatch = () => ({ inputs: [[1, 2, 3], [4, 5, 6]], targets: [[1, 0], [0, 1]] });
const adamOptimizer = once(() => tf.train.adam(0.01));
const bridgeOutput = once(() => ({ names: ["a", "b"], norms: [[1, 2], [3, 4]] }) as never);

const CALLS: Record<string, Call> = {
  // errors.ts and options.ts: the validators themselves
  "assertKnownKeys": (x) => lab.assertKnownKeys("options", { known: 1, ...x }, ["known"]),
  "checkOptions": (x) => lab.checkOptions("options", { known: 1, ...x }, { known: lab.option.any }),
  "initBackend": (x) => lab.initBackend({ force: "cpu", ...x }),

  // viz
  "lineChart": (x) => lab.lineChart([{ x: 1, y: 2 }], { x: "x", y: "y", ...x }),
  "scatterChart": (x) => lab.scatterChart([{ x: 1, y: 2 }], { x: "x", y: "y", ...x }),
  "barChart": (x) => lab.barChart([{ x: "a", y: 2 }], { x: "x", y: "y", ...x }),
  "histogram": (x) => lab.histogram([{ v: 1 }, { v: 2 }], { x: "v", ...x }),
  "heatmap": (x) => lab.heatmap([{ a: "p", b: "q", v: 1 }], { x: "a", y: "b", value: "v", ...x }),
  "facet": (x) => lab.facet(spec(), { column: "x", ...x }),
  "renderFigure": (x) => lab.renderFigure(spec(), { ...x }),
  "svgToPng": (x) => lab.svgToPng("<svg xmlns='http://www.w3.org/2000/svg' width='4' height='4'></svg>", { ...x }),
  "Figure#render": (x) => lab.figure(spec()).render({ ...x }),
  "Figure#save": (x) => lab.figure(spec()).save(fresh("fig.svg"), { ...x }),
  "Figure#show": (x) => lab.figure(spec()).show({ ...x }),
  "display": (x) => lab.display(lab.figure(spec()), { ...x }, { send: () => undefined } as never),
  "figureBundle": (x) => lab.figureBundle(lab.figure(spec()), { ...x }),
  "tableBundle": (x) => lab.tableBundle([{ a: 1 }], { ...x }),
  "displayTable": (x) => lab.displayTable([{ a: 1 }], { ...x }, { send: () => undefined } as never),

  // metrics, stats
  "metrics.concentrationScores": (x) => lab.metrics.concentrationScores([[1, 2, 3]], ["gini"], { ...x }),
  "stats.pairedVerdict": (x) => lab.stats.pairedVerdict([0.1, 0.2, -0.1, 0.3], { seed: 1, ...x }),
  "stats.verdictText": (x) => lab.stats.verdictText(lab.stats.pairedVerdict([0.1, 0.2, -0.1, 0.3], { seed: 1 }), { ...x }),
  "stats.aucVerdict": (x) => lab.stats.aucVerdict([1, 2, 3, 4], [0, 0, 1, 1], { seed: 1, ...x }),
  "stats.signFlipTest": (x) => lab.stats.signFlipTest([0.1, 0.2, -0.1, 0.3], { seed: 1, ...x }),
  "stats.stratifiedSignFlipTest": (x) => lab.stats.stratifiedSignFlipTest([0.1, 0.2, -0.1, 0.3], [0, 0, 1, 1], { seed: 1, ...x }),
  "stats.bootstrapInterval": (x) => lab.stats.bootstrapInterval(5, (idx) => idx.length, { resamples: 20, seed: 1, ...x }),
  "stats.clusterBootstrapInterval": (x) => lab.stats.clusterBootstrapInterval(5, (idx) => idx.length, { resamples: 20, seed: 1, ...x }),
  "stats.minDetectableEffect": (x) => lab.stats.minDetectableEffect({ se: 0.1, df: 10, units: 11, ...x }),

  // io
  "io.parseNpy": (x) => lab.io.parseNpy(fs.readFileSync(npyFile()), "a.npy", { ...x }),
  "io.readNpy": (x) => lab.io.readNpy(npyFile(), { ...x }),
  "io.encodeNpy": (x) => lab.io.encodeNpy(ndArray(), { ...x }),
  "io.writeNpy": (x) => lab.io.writeNpy(fresh("b.npy"), ndArray(), { ...x }),
  "io.parseNpz": (x) => lab.io.parseNpz(fs.readFileSync(npzFile()), "a.npz", { ...x }),
  "io.readNpz": (x) => lab.io.readNpz(npzFile(), { ...x }),
  "io.encodeNpz": (x) => lab.io.encodeNpz({ a: ndArray() }, { ...x }),
  "io.writeNpz": (x) => lab.io.writeNpz(fresh("b.npz"), { a: ndArray() }, { ...x }),
  "io.parseSafetensors": (x) => lab.io.parseSafetensors(fs.readFileSync(safetensorsFile()), "a.safetensors", { ...x }),
  "io.readSafetensors": (x) => lab.io.readSafetensors(safetensorsFile(), { ...x }),
  "io.parseJsonl": (x) => lab.io.parseJsonl("{\"a\":1}\n", "x.jsonl", { ...x }),
  "io.readJsonl": (x) => lab.io.readJsonl(jsonlFile(), { ...x }),
  "io.readLines": async (x) => { for await (const _ of lab.io.readLines(jsonlFile(), { ...x })) break; },
  "io.streamJsonl": async (x) => { for await (const _ of lab.io.streamJsonl(jsonlFile(), { ...x })) break; },
  "io.ndArrayToTensor": (x) => lab.io.ndArrayToTensor(ndArray(), { ...x }).dispose(),

  // envs
  "envs.createEnv": (x) => lab.envs.createEnv("minishop", { ...x }),
  "envs.createMiniAlf": (x) => lab.envs.createMiniAlf({ ...x }),
  "envs.createMiniShop": (x) => lab.envs.createMiniShop({ ...x }),
  "new envs.MiniAlfEnv": (x) => new lab.envs.MiniAlfEnv({ ...x }),
  "new envs.MiniShopEnv": (x) => new lab.envs.MiniShopEnv({ ...x }),
  "envs.MiniAlfEnv#generateTasks": (x) => lab.envs.createMiniAlf().generateTasks({ split: "train", count: 1, seed: 1, ...x }),
  "envs.MiniShopEnv#generateTasks": (x) => shop().generateTasks({ split: "train", count: 1, seed: 1, ...x }),

  // models, grads, features
  "new models.TinyTransformer": (x) => new lab.models.TinyTransformer({ vocabSize: V, maxLen: 4, dModel: 4, nLayers: 1, nHeads: 1, dFF: 4, seed: 1, ...x } as never).dispose(),
  "new models.GruLanguageModel": (x) => new lab.models.GruLanguageModel({ vocabSize: V, embedSize: 2, hiddenSize: 2, seed: 1, ...x } as never).dispose(),
  "new models.MlpModel": (x) => new lab.models.MlpModel({ inputSize: 2, hiddenSizes: [2], outputSize: 1, task: "regression", seed: 1, ...x } as never).dispose(),
  "models.TinyTransformer#forward": (x) => model().forward([[1, 2]], { ...x }),
  "models.GruLanguageModel#forward": (x) => gru().forward([[1, 2]], { ...x }),
  "models.MlpModel#forward": (x) => mlp().forward([[1, 2, 3]], { ...x } as never),
  "new models.LoraAdapters": (x) => new lab.models.LoraAdapters(model().parameterGroups(), { rank: 1, seed: 1, ...x }).dispose(),
  "models.attachLora": (x) => lab.models.attachLora(model(), { rank: 1, seed: 1, ...x }),
  "models.fromLayersModel": (x) => lab.models.fromLayersModel(layersNet(), { loss: "mean-squared-error", ...x }),
  "new models.LayersModelAdapter": (x) => new lab.models.LayersModelAdapter(layersNet(), { loss: "mean-squared-error", ...x }),
  "grads.perExampleGradients": (x) => lab.grads.perExampleGradients(model(), examplesBatch(), { ...x }),
  "grads.loopPerExample": (x) => lab.grads.loopPerExample(model(), model().prepareBatch(examplesBatch()), model().parameterGroups().slice(0, 1), { fullVectors: false, product: "auto", ...x }),
  "grads.batchedPerExample": (x) => lab.grads.batchedPerExample(model(), model().prepareBatch(examplesBatch()), model().parameterGroups().slice(0, 1), { fullVectors: false, product: "auto", ...x }),
  "new features.RandomProjector": (x) => new lab.features.RandomProjector({ inputDim: 4, outputDim: 2, seed: 1, ...x }),
  "features.explicitProjectionMatrix": (x) => lab.features.explicitProjectionMatrix({ inputDim: 4, outputDim: 2, kind: "rademacher", seed: 1, blockRows: 2, ...x }),
  "features.adamPreconditionedFeatures": (x) => lab.features.adamPreconditionedFeatures(rows(2, 3), { m: new Float32Array(3), v: new Float32Array(3).fill(1) }, { ...x }),
  "features.lessFeatures": (x) => lab.features.lessFeatures(layersModel(), layersBatch(), { role: "target", projector: new lab.features.RandomProjector({ inputDim: 8, outputDim: 2, seed: 1 }), ...x }),
  "features.perExampleGradientRows": (x) => lab.features.perExampleGradientRows(layersModel(), layersBatch(), { ...x }, () => undefined),
  "features.adamStateFromOptimizer": (x) => lab.features.adamStateFromOptimizer(adamOptimizer(), layersModel(), { ...x }),
  "features.l2NormalizeRows": (x) => lab.features.l2NormalizeRows(rows(2, 3), { ...x }),
  "features.cosineSimilarityMatrix": (x) => lab.features.cosineSimilarityMatrix(rows(2, 3), rows(2, 3, 2), { ...x }),
  "features.forEachCosineBlock": (x) => lab.features.forEachCosineBlock(rows(2, 3), rows(2, 3, 2), () => undefined, { ...x }),

  // prism
  "prism.probeTrajectories": (x) => lab.prism.probeTrajectories(model(), examples(), { ...x }),
  "prism.probeModel": (x) => lab.prism.probeModel(layersModel(), layersBatch(), { ...x }),
  "prism.routeByMetric": (x) => lab.prism.routeByMetric(probeResult(), "gini", { rule: "median", ...x }),
  "prism.route": (x) => lab.prism.route([1, 2, 3], { rule: "median", ...x }),
  "prism.confoundTable": (x) => lab.prism.confoundTable({ s: [1, 2, 3, 4, 5, 6] }, { c: [1, 1, 2, 2, 3, 3] }, [0, 1, 0, 1, 0, 1], { seed: 1, ...x }),
  "prism.aucControllingFor": (x) => lab.prism.aucControllingFor({ s: [1, 2, 3, 4, 5, 6] }, [0, 1, 0, 1, 0, 1], [1, 1, 2, 2, 3, 3], { seed: 1, ...x }),
  "prism.stratifiedAuc": (x) => lab.prism.stratifiedAuc([1, 2, 3, 4], [0, 1, 0, 1], [0, 0, 1, 1], { seed: 1, ...x }),
  "prism.quantileBins": (x) => lab.prism.quantileBins([1, 2, 3, 4], 2, { ...x }),
  "parallel.probeTrajectoriesParallel": (x) => lab.parallel.probeTrajectoriesParallel(model(), examples(), { threads: 1, ...x }),
  "parallel.gradientFeaturesParallel": (x) => lab.parallel.gradientFeaturesParallel(loraModel(), examples(), { threads: 1, role: "target", projector: projector(), ...x }),
  "parallel.exactKnnGraphParallel": (x) => lab.parallel.exactKnnGraphParallel(rows(4, 3), { k: 1, threads: 1, ...x }),
  "new parallel.ComputePool": (x) => new lab.parallel.ComputePool({ threads: 1, ...x }),

  // train
  "train.sampleTokens": (x) => lab.train.sampleTokens(model(), [[1, 2]], { steps: 1, seed: 1, ...x }),
  "train.computeAdvantages": (x) => lab.train.computeAdvantages(samples(), { ...x }),
  "train.groupNormalize": (x) => lab.train.groupNormalize([1, 2], ["a", "a"], { ...x }),
  "train.grpoStep": (x) => lab.train.grpoStep(model(), null, samples(), { learningRate: 1e-9, ...x }),
  "train.grpoLoss": (x) => tf.tidy(() => {
    const z = () => tf.zeros([1, 2]) as tf.Tensor2D;
    lab.train.grpoLoss({ logProbs: z(), oldLogProbs: z(), refLogProbs: null, advantages: z(), mask: tf.ones([1, 2]) as tf.Tensor2D }, { ...x });
  }),
  "train.trainSft": (x) => lab.train.trainSft(model(), examples(), { epochs: 1, batchSize: 4, learningRate: 1e-9, seed: 1, ...x }),

  // experiments
  "experiments.RunStore.open": (x) => lab.experiments.RunStore.open(fresh("runs.jsonl"), { ...x }),
  "experiments.RunStore.openForWriting": (x) => lab.experiments.RunStore.openForWriting(fresh("runs.jsonl"), { ...x }),
  "experiments.expandGrid": (x) => lab.experiments.expandGrid({ axes: { a: [1, 2] }, fixed: {}, seeds: [0] }, { ...x }),
  "experiments.planSweep": (x) => lab.experiments.planSweep(sweepStudy as never, { preset: "quick", ...x }),
  "experiments.runSweep": (x) => lab.experiments.runSweep(sweepStudy as never, { preset: "quick", store: fresh("sweep.jsonl"), seeds: [], ...x }),
  "experiments.WorkerPool.start": (x) => lab.experiments.WorkerPool.start({ jobs: 1, study: "sweep-fixture", ...x } as never, "quick"),
  "experiments.createProgressReporter": (x) => lab.experiments.createProgressReporter({ mode: "off", ...x } as never),
  "experiments.tryAcquireLock": (x) => lab.experiments.tryAcquireLock(fresh("target"), { ...x })?.release(),
  "experiments.acquireLock": (x) => lab.experiments.acquireLock(fresh("target"), { ...x }).release(),
  "experiments.mergeRunStores": (x) => lab.experiments.mergeRunStores([], { out: fresh("merged.jsonl"), ...x }),

  // bridge
  "bridge.bridgeToProbeResult": (x) => lab.bridge.bridgeToProbeResult(bridgeOutput(), { ...x }),
  "bridge.bridgeProjector": (x) => lab.bridge.bridgeProjector(bridgeOutput(), { ...x }),

  // maestro
  "new studies.maestro.MaestroEnv": (x) => new lab.studies.maestro.MaestroEnv({ seed: 1, ...x }),
  "new studies.maestro.RewardModel": (x) => new lab.studies.maestro.RewardModel(maestroEnv(), { seed: 1, ...x }),
  "new studies.maestro.GruResponsePolicy": (x) => new lab.studies.maestro.GruResponsePolicy(maestroEnv(), { seed: 1, embedSize: 2, hiddenSize: 2, ...x }).dispose(),
  "studies.maestro.pretrainVerbose": (x) => lab.studies.maestro.pretrainVerbose(undefined as never, { steps: 1, seed: 1, ...x }),
  "new maestro.Conductor": (x) => new lab.maestro.Conductor({ inputSize: 2, ...x }).dispose(),
  "studies.maestro.resolveRunConfig": (x) => lab.studies.maestro.resolveRunConfig({ arm: "static", ...x } as never),
  "studies.maestro.runMaestroArm": (x) => lab.studies.maestro.runMaestroArm({ arm: "static", ...x } as never, 1),
  "studies.maestro.comparePrompts": (x) => lab.studies.maestro.comparePrompts([], "bank", "maestro", "equal", "promptUtility", { ...x }),
  "studies.maestro.compareRuns": (x) => lab.studies.maestro.compareRuns([], "bank", "maestro", "equal", (r) => r.metrics.trueUtility, { ...x }),

  // g2is
  "g2is.lessScores": (x) => lab.g2is.lessScores([], { ...x }),
  "g2is.selectLess": (x) => lab.g2is.selectLess([], 1, { ...x }),
  "g2is.coreKnowledge": (x) => lab.g2is.coreKnowledge(rows(3, 4), { ...x }),
  "g2is.symmetricEigen": (x) => lab.g2is.symmetricEigen([2, 0, 0, 1], 2, { ...x }),
  "g2is.componentBudgets": (x) => lab.g2is.componentBudgets(1000, [0.5, 0.5], { ...x }),
  "g2is.exactKnnGraph": (x) => lab.g2is.exactKnnGraph(rows(4, 3), { k: 1, ...x }),
  "g2is.hnswKnnGraph": (x) => lab.g2is.hnswKnnGraph(rows(4, 3), { k: 1, ...x }),
  "g2is.buildKnnGraph": (x) => lab.g2is.buildKnnGraph(rows(4, 3), "exact", { k: 1, ...x }),
  "g2is.gradientWalk": (x) => lab.g2is.gradientWalk(rows(4, 3), [rows(1, 3)[0]], [1], lab.g2is.exactKnnGraph(rows(4, 3), { k: 1 }), { ...x }),
  "g2is.selectG2IS": (x) => lab.g2is.selectG2IS(rows(6, 3), rows(2, 3, 2), { ...x }),
  "g2is.selectNoGraph": (x) => lab.g2is.selectNoGraph(rows(6, 3), rows(2, 3, 2), { ...x }),
  "g2is.fitTfidf": (x) => lab.g2is.fitTfidf(["a b", "b c"], { ...x }),
  "g2is.tfidfVectors": (x) => lab.g2is.tfidfVectors(["a b", "b c"], { ...x }),
  "g2is.ngramsOf": (x) => lab.g2is.ngramsOf("a b", { ...x }),
  "g2is.negativePairFraction": (x) => lab.g2is.negativePairFraction(rows(4, 3), { ...x }),
  "g2is.graphAgreement": (x) => lab.g2is.graphAgreement(lab.g2is.exactKnnGraph(rows(4, 3), { k: 1 }), rows(4, 3), { ...x }),
  "g2is.kernelScores": (x) => lab.g2is.kernelScores(rows(4, 3), rows(2, 3), { ...x }),
  "studies.g2is.buildToyDataset": (x) => lab.studies.g2is.buildToyDataset({ poolSize: 8, pretrainSize: 4, seed: 1, ...x }),
  "studies.g2is.toySelectionDataset": (x) => lab.studies.g2is.toySelectionDataset({ poolSize: 8, pretrainSize: 4, seed: 1, maxLen: 24, ...x }),
  "studies.g2is.realSelectionDataset": (x) => lab.studies.g2is.realSelectionDataset({ poolSizes: {}, pretrainSizes: {}, maxVocab: 50, maxLen: 16, seed: 1, ...x } as never),
  "studies.g2is.WordCodec.fit": (x) => lab.studies.g2is.WordCodec.fit(["a b", "b c"], { maxVocab: 10, maxLen: 8, ...x }),
  "train.trainLora": (x) => lab.train.trainLora(loraModel(), examples(), { steps: 1, batchSize: 2, learningRate: 1e-9, seed: 1, ...x }),
  "features.FeatureStoreWriter.create": (x) => lab.features.FeatureStoreWriter.create(fresh("store"), { dim: 2, ...x }),
  "features.writeFeatureStore": (x) => lab.features.writeFeatureStore(fresh("store"), rows(2, 2), { ...x }),
  "studies.g2is.poolFeatureForms": (x) => lab.studies.g2is.poolFeatureForms(loraModel(), examples(), { projector: projector(), ...x } as never),
  "studies.g2is.gradientFeatures": (x) => lab.studies.g2is.gradientFeatures(loraModel(), examples(), { role: "target", projector: projector(), ...x }),
  "studies.g2is.greedyDecode": (x) => lab.studies.g2is.greedyDecode(model(), new lab.studies.g2is.CharCodec("ab", 8), ["a"], { maxNewTokens: 1, ...x }),
  "studies.g2is.cachedStage": (x) => lab.studies.g2is.cachedStage(dir, `stage${fileCounter++}`, "k", () => ({}), () => 1, { ...x }),
  "studies.g2is.preparePipeline": (x) => lab.studies.g2is.preparePipeline(undefined as never, undefined as never, 1, { ...x }),
  "studies.g2is.pca2d": (x) => lab.studies.g2is.pca2d(rows(4, 3), { ...x }),
  "studies.g2is.compositionBarsSpec": (x) => lab.studies.g2is.compositionBarsSpec([], { ...x }),
  "studies.g2is.walkPictureSpec": (x) => lab.studies.g2is.walkPictureSpec([], [], { ...x }),
  "studies.g2is.compareMethods": (x) => lab.studies.g2is.compareMethods([], {} as never, "a", "b", "correct", { ...x }),
  "studies.g2is.runStudyArm": (x) => lab.studies.g2is.runStudyArm({ target: "arith", method: "random", trainK: 0.05, valK: 1, delta: 0, ...x } as never, undefined as never, 1),

  // agents
  "agents.scoreCandidates": (x) => lab.agents.scoreCandidates(model(), [{ context: [1, 2], candidates: [[3], [4]] }], { ...x }),
  "new agents.TransformerAgent": (x) => new lab.agents.TransformerAgent(agent().model, shopTokenizer(), { ...x }),
  "agents.TransformerAgent#act": (x) => agent().act([], { mode: "greedy", seed: 1, ...x }),
  "agents.agentPolicy": (x) => lab.agents.agentPolicy(agent(), shopTasks()[0], { mode: "greedy", seed: 1, ...x }),
  "agents.runEpisodesBatched": (x) => lab.agents.runEpisodesBatched(shop(), shopTasks(), agent(), { mode: "greedy", seed: 1, ...x }),
  "agents.collectRollouts": (x) => lab.agents.collectRollouts(shop(), shopTasks(), agent(), { groupSize: 2, seed: 1, ...x }),
  "agents.rolloutSample": (x) => lab.agents.rolloutSample(trajectory(), shopTokenizer(), 128, { ...x }),
  "agents.evaluationSet": (x) => lab.agents.evaluationSet(shop(), "seen", 2, 1, { ...x }),
  "agents.evaluateAgent": (x) => lab.agents.evaluateAgent(shop(), agent(), shopTasks(), { ...x }),
  "agents.loadAgent": (x) => lab.agents.loadAgent(fresh("missing-agent"), shop(), { ...x }),
  "agents.trainAgentGrpo": (x) => lab.agents.trainAgentGrpo(shop(), agent(), shopTasks(), { iterations: 1, tasksPerIteration: 1, groupSize: 2, learningRate: 1e-9, seed: 1, ...x }),
  "agents.actionGrpoStep": (x) => lab.agents.actionGrpoStep(agent(), null, [trajectory()], [{ groupId: "g", reward: 1, tokens: [0, 1], actionMask: [0, 1] }], { optimizer: sgd(), ...x }),
  "agents.actionLogProbs": (x) => lab.agents.actionLogProbs(model(), [{ query: { context: [1, 2], actions: [[3], [4]] }, chosen: 0 }], { ...x }).logProbs.dispose(),
  "agents.resolveActOptions": (x) => lab.agents.resolveActOptions({ mode: "greedy", seed: 1, ...x }),

  // studies.prism
  "studies.prism.compareArms": (x) => lab.studies.prism.compareArms(prismRuns(), "minishop", "base", "sft-100", "seenTaskSuccess", { ...x }),
  "studies.prism.rlEffect": (x) => lab.studies.prism.rlEffect(prismRuns(), "minishop", "sft-then-rl", { ...x }),
};

/**
 * Known gaps, each with who fixes it: these still accept an unknown key. The test checks that
 * they STILL do (so an entry cannot outlive its fix: once the owner adds the check, the test fails
 * until the entry is removed here) and never lets a new gap in (anything else must reject).
 */
const PENDING: Record<string, string> = {};

/** Two seeds of three arms with per-task success vectors: what compareArms and rlEffect read. */
const prismRuns = once(() => ["base", "sft-100", "sft-then-rl"].flatMap((arm) => [0, 1].map((seed) => ({
  env: "minishop", arm, q: 0.5, seed, cost: {},
  metrics: { seenTaskSuccess: [1, 0, 1, seed], preRlSeenTaskSuccess: arm === "sft-then-rl" ? [0, 0, 1, 0] : [], rlRollouts: 4, rlTruncatedRollouts: 0 },
}))) as never[]);

function examplesBatch() {
  return { tokens: examples().map((e) => e.tokens), lossMask: examples().map((e) => e.lossMask) };
}

const walked = optionTakingExports(path.join(__dirname, ".."));

test("every exported callable that takes options has a call in CALLS, and every call is still exported", () => {
  const ids = new Set(walked.map((e) => e.id));
  assert.ok(walked.length > 100, `the type walk found only ${walked.length} option-taking callables: is options-api.ts still reading kernel-lib/index.ts?`);
  const missing = [...ids].filter((id) => !(id in CALLS));
  const stale = Object.keys(CALLS).filter((id) => !ids.has(id));
  assert.equal(missing, [], `exported with options but not checked here (add a valid minimal call to CALLS): ${missing.join(", ")}`);
  assert.equal(stale, [], `in CALLS but not an exported option-taking callable: ${stale.join(", ")}`);
});

async function thrownBy(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  return null;
}

test("every one of them rejects an unknown key with an UnknownOptionError naming the argument and the key", async () => {
  await useBackend("cpu");
  const failures: string[] = [];
  for (const { id } of walked) {
    const call = CALLS[id];
    if (call === undefined) continue; // reported by the completeness test
    const first = await thrownBy(() => call({ [KEY]: 1 }));
    const before = tf.memory().numTensors;
    const error = await thrownBy(() => call({ [KEY]: 1 }));
    const leaked = tf.memory().numTensors - before;
    const ok = error instanceof UnknownOptionError && error.argument.endsWith(`.${KEY}`) && error.message.includes(KEY);
    const what = error === null ? "accepted the unknown key" : `${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`;
    if (id in PENDING) {
      if (ok) failures.push(`${id}: now rejects the unknown key — remove it from PENDING`);
      else if (error !== null) failures.push(`${id} (pending): the valid minimal call failed for another reason: ${what}`);
    } else if (!ok) failures.push(`${id}: ${what}`);
    else if (leaked !== 0) failures.push(`${id}: ${leaked} tensors leaked on the error path`);
    void first;
  }
  assert.equal(failures, [], `\n${failures.join("\n")}`);
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

test.run();
