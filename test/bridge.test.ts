/**
 * "Bring your own gradients": scripts/torch_probe.py (PyTorch) against gradlab on the same model.
 *
 *  - the Rademacher blocks the Python script generates are bit-identical to gradlab's
 *    generateProjectionBlock (several seeds, dims, block sizes, short last blocks);
 *  - PyTorch probe norms and losses equal gradlab's probeTrajectories (cpu and wasm), by loop and
 *    by vmap; PyTorch features equal gradlab's RandomProjector applied to gradlab's own per-example
 *    full gradient vectors ([out, in] row-major = torch's .flatten());
 *  - the bridge output feeds PRISM scoring and routing unchanged;
 *  - bad input: the script names the JSONL line; the reader raises typed errors for a missing or
 *    incomplete manifest, shape mismatches, NaN rows, missing or truncated arrays, and a run that
 *    was really killed half-way.
 * Without PyTorch each of the nine cross-checks FAILS, naming what is missing and how to install
 * it (`node scripts/setup-jupyter.mjs --for-tests`): a check that did not run is never a pass.
 * The committed fixture (data/fixtures/bridge) is checked against gradlab without torch, so it
 * stays trustworthy where torch is absent. Regenerate it with GRADLAB_UPDATE_BRIDGE_FIXTURES=1.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { TinyTransformer, TransformerConfig } from "../kernel-lib/models/transformer";
import { saveModel, loadModel } from "../kernel-lib/models/io";
import { probeTrajectories, routeByMetric, probeRecords, ProbeExample } from "../kernel-lib/prism/probe";
import { perExampleGradients } from "../kernel-lib/grads/per-example";
import type { PreparedTokenBatch, TokenBatch } from "../kernel-lib/models/token-batch";
import { generateProjectionBlock } from "../kernel-lib/features/projection";
import { writeNpy, readNpy } from "../kernel-lib/io/npy";
import { writeSafetensors } from "../kernel-lib/io/safetensors";
import { Rng } from "../kernel-lib/random";
import { FileFormatError, InvalidArgumentError, NonFiniteError, UnknownOptionError } from "../kernel-lib/errors";
import { readBridgeOutput, BridgeOutput } from "../kernel-lib/bridge/read";
import { readBridgeOutputs } from "../kernel-lib/bridge/shards";
import { bridgeToProbeResult, bridgeProjector, bridgeFeatures } from "../kernel-lib/bridge/convert";
import { TEST_BACKENDS, useBackend, expectNoLeak, maxRelativeError, expectError } from "./helpers";

const ROOT = path.join(__dirname, "..");
const SCRIPT = path.join(ROOT, "scripts", "torch_probe.py");
const FIXTURES = path.join(ROOT, "data", "fixtures", "bridge");
const RTOL = 1e-4;

function findTorchPython(): string | null {
  const candidates = [process.env.GRADLAB_PYTHON, "/usr/bin/python3", "python3"].filter((p): p is string => !!p);
  for (const python of [...new Set(candidates)]) {
    const r = spawnSync(python, ["-c", "import torch, numpy"], { encoding: "utf8" });
    if (r.status === 0) return python;
  }
  return null;
}
const PYTHON = findTorchPython();
const TORCH_MISSING = "needs PyTorch: no Python here (GRADLAB_PYTHON, /usr/bin/python3, python3) can `import torch, numpy`; " +
  "install it with `node scripts/setup-jupyter.mjs --for-tests` (apt-get install python3-torch)";

/** The Python that imports torch. Without one the calling test fails naming what is missing:
 *  a cross-check that did not run must never be counted as a pass. */
function torchPython(): string {
  if (PYTHON === null) throw new Error(TORCH_MISSING);
  return PYTHON;
}

/** A test that needs PyTorch: it fails up front, with TORCH_MISSING, when torch is absent. */
function torchTest(name: string, body: () => void | Promise<void>): void {
  test(name, async () => {
    torchPython();
    await body();
  });
}

function runProbe(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(torchPython(), [SCRIPT, ...args], { encoding: "utf8", cwd: ROOT, env: { ...process.env, OMP_NUM_THREADS: "2" } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
function runProbeOk(args: string[]): void {
  const r = runProbe(args);
  assert.is(r.status, 0, `torch_probe.py ${args.join(" ")} failed:\n${r.stderr}`);
}

// ---- the shared setup: one model, one batch, runs of the real script ----------------------------

const CONFIG: TransformerConfig = { vocabSize: 13, dModel: 16, nLayers: 2, nHeads: 4, nKvHeads: 2, dFF: 24, maxLen: 12, seed: 5 };
const T = 10;

function makeExamples(n: number, seed: number, vocab: number, length: number): ProbeExample[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, b) => {
    const tokens = Array.from({ length }, () => rng.int(vocab));
    // b = 0: a single target; b = 1: a response suffix; others: random targets.
    const lossMask = tokens.map((_, t) => (t === 0 ? 0 : b === 0 ? Number(t === length - 1) : b === 1 ? Number(t >= length / 2) : Number(rng.uniform() < 0.5)));
    if (!lossMask.includes(1)) lossMask[length - 1] = 1;
    return { tokens, lossMask, id: `ex${b}`, group: b % 2 === 0 ? "even" : "odd", label: b % 3 === 0 };
  });
}

function writeJsonlRows(file: string, examples: ProbeExample[]): void {
  fs.writeFileSync(file, examples.map((e) => JSON.stringify({ id: e.id, group: e.group, label: e.label, tokens: e.tokens, loss_mask: e.lossMask })).join("\n") + "\n");
}

interface Setup { dir: string; examples: ProbeExample[]; modelFile: string; dataFile: string; loopOut: string; vmapOut: string }
let setupCache: Setup | null = null;
function setup(): Setup {
  if (setupCache) return setupCache;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gradlab-bridge-"));
  const examples = makeExamples(9, 21, CONFIG.vocabSize, T);
  const modelFile = path.join(dir, "model.safetensors"), dataFile = path.join(dir, "data.jsonl");
  const model = new TinyTransformer(CONFIG);
  saveModel(model, modelFile);
  model.dispose();
  writeJsonlRows(dataFile, examples);
  const loopOut = path.join(dir, "loop"), vmapOut = path.join(dir, "vmap");
  // blockRows 100 splits P = 3840 into 39 blocks with a short last one; the vmap run uses the default 4096.
  const loop = runProbe(["--model", modelFile, "--data", dataFile, "--out", loopOut, "--project", "32", "--seed", "11", "--block-rows", "100", "--batch-size", "4"]);
  assert.is(loop.status, 0, loop.stderr);
  // A progress line per batch on stderr (9 examples in batches of 4: 4, 8, 9).
  assert.equal(loop.stderr.split("\n").filter((l) => l.startsWith("torch_probe: ") && l.includes("examples/s")).map((l) => l.split(" ")[1]), ["4/9", "8/9", "9/9"]);
  // No cache: the projection matrix is regenerated block by block for every batch (the large-P path).
  const vmap = runProbe(["--model", modelFile, "--data", dataFile, "--out", vmapOut, "--project", "24", "--seed", "run-7", "--batch-size", "5", "--vmap", "--projection-cache-mb", "0", "--quiet"]);
  assert.is(vmap.status, 0, vmap.stderr);
  assert.not.match(vmap.stderr, "examples/s", "--quiet prints no progress line");
  return (setupCache = { dir, examples, modelFile, dataFile, loopOut, vmapOut });
}

/** Normwise error per row: max over rows of ‖a − b‖ / ‖b‖ (features are sums of ± terms, so a
 *  single entry can sit near 0 and its elementwise relative error says nothing). */
function rowwiseRelative(actual: ArrayLike<number>[], expected: ArrayLike<number>[]): number {
  let worst = 0;
  expected.forEach((e, i) => {
    let num = 0, den = 0;
    for (let j = 0; j < e.length; j++) { num += (actual[i][j] - e[j]) ** 2; den += e[j] ** 2; }
    worst = Math.max(worst, Math.sqrt(num / den));
  });
  return worst;
}

/** Elementwise relative error, entries below 1% of the row's largest entry measured against that 1%. */
function elementwiseRelative(actual: ArrayLike<number>[], expected: ArrayLike<number>[]): number {
  let worst = 0;
  expected.forEach((e, i) => {
    const floor = 1e-2 * Math.max(...Array.from(e, Math.abs));
    worst = Math.max(worst, maxRelativeError(actual[i], e, floor));
  });
  return worst;
}

function gradlabFeatures(model: TinyTransformer, examples: ProbeExample[], out: BridgeOutput): Float32Array[] {
  const names = out.manifest.matrices.map((m) => m.name);
  const grads = perExampleGradients<TokenBatch, PreparedTokenBatch>(model, { tokens: examples.map((e) => e.tokens), lossMask: examples.map((e) => e.lossMask) }, { strategy: "loop", groups: names, fullVectors: true });
  assert.equal(grads.matrices.map((m) => m.name), names, "gradlab's matrix order is the manifest's");
  const projector = bridgeProjector(out);
  return expectNoLeakSync(() => projector.projectGroups(grads.fullVectors!.map((row) => Object.fromEntries(names.map((n, j) => [n, row[j]])))));
}
function expectNoLeakSync<T>(fn: () => T): T {
  const tf = require("@tensorflow/tfjs");
  const before = tf.memory().numTensors;
  const r = fn();
  assert.is(tf.memory().numTensors, before, "tensor leak");
  return r;
}

// ---- bit-identical projection blocks ------------------------------------------------------------

// Every test in this block runs the real script under PyTorch (torchTest: fails without torch).
{
  torchTest("Python's Rademacher blocks are bit-identical to gradlab's generateProjectionBlock", () => {
    // [seed, dim, blockRows, blockIndex, rows]: default-sized blocks, odd dims (partial words), a
    // unicode string seed (UTF-16 hashing), short last blocks, negative and large numeric seeds.
    const cases: Array<[number | string, number, number, number, number]> = [
      [7, 64, 4096, 0, 4096], [7, 64, 4096, 1, 1000], ["héllo✓ 𝔾", 5, 7, 3, 7], ["héllo✓ 𝔾", 5, 7, 4, 2],
      [123456789, 33, 100, 0, 100], [-3, 8, 64, 2, 17], ["run-7", 24, 4096, 0, 3840], [0, 1, 1, 5, 1],
    ];
    const code = `import sys, json; sys.path.insert(0, ${JSON.stringify(path.dirname(SCRIPT))}); import torch_probe as tp
cases = json.loads(sys.argv[1]); out = []
for seed, d, br, b, rows in cases:
    block = tp.rademacher_blocks(str(seed), d, br, [b], rows=rows)[0]
    out.append({"scale": float(abs(block[0, 0])), "signs": "".join("+" if v > 0 else "-" for v in block.reshape(-1))})
print(json.dumps(out))`;
    const r = spawnSync(torchPython(), ["-c", code, JSON.stringify(cases)], { encoding: "utf8", maxBuffer: 64 << 20 });
    assert.is(r.status, 0, r.stderr);
    const blocks = JSON.parse(r.stdout) as Array<{ scale: number; signs: string }>;
    cases.forEach(([seed, d, br, b, rows], i) => {
      const ours = generateProjectionBlock(seed, "rademacher", d, br, b, rows, "rows");
      assert.is(blocks[i].signs.length, ours.length, `case ${i}: size`);
      assert.is(blocks[i].scale, ours[0] > 0 ? ours[0] : -ours[0], `case ${i}: the float32 scale 1/√d`);
      let mismatches = 0;
      for (let k = 0; k < ours.length; k++) if ((ours[k] > 0 ? "+" : "-") !== blocks[i].signs[k]) mismatches++;
      assert.is(mismatches, 0, `case ${i} (${JSON.stringify(cases[i])}): ${mismatches} signs differ`);
    });
  });

  // ---- PyTorch vs gradlab on the same model ----------------------------------------------------

  for (const backend of TEST_BACKENDS) {
    torchTest(`[${backend}] PyTorch probe norms, losses and features equal gradlab's (loop run, 39 projection blocks)`, async () => {
      await useBackend(backend);
      const s = setup();
      const out = readBridgeOutput(s.loopOut);
      assert.is(out.manifest.n_examples, s.examples.length);
      assert.is(out.manifest.matrices.length, 7 * CONFIG.nLayers);
      const model = new TinyTransformer(CONFIG);
      try {
        const probe = await expectNoLeak("probeTrajectories", () => probeTrajectories(model, s.examples));
        assert.equal(out.manifest.matrices.map((m) => m.name), probe.matrices.map((m) => m.name));
        assert.equal(out.manifest.matrices.map((m) => m.shape), probe.matrices.map((m) => m.shape));
        const normErr = maxRelativeError(out.norms.flat(), probe.vectors.flat());
        const lossErr = maxRelativeError(out.losses!, probe.losses);
        console.log(`  [${backend}] probe norms: max relative error ${normErr.toExponential(2)} over ${out.norms.flat().length} (example, matrix) pairs; losses ${lossErr.toExponential(2)}`);
        assert.ok(normErr <= RTOL, `norms: ${normErr}`);
        assert.ok(lossErr <= RTOL, `losses: ${lossErr}`);

        const ours = gradlabFeatures(model, s.examples, out);
        const rowErr = rowwiseRelative(out.features!, ours), elemErr = elementwiseRelative(out.features!, ours);
        console.log(`  [${backend}] features (d=32): row-normwise relative error ${rowErr.toExponential(2)}, elementwise (floor 1e-2·row max) ${elemErr.toExponential(2)}`);
        assert.ok(rowErr <= RTOL, `features rowwise: ${rowErr}`);
        assert.ok(elemErr <= RTOL, `features elementwise: ${elemErr}`);
      } finally {
        model.dispose();
      }
    });
  }

  for (const backend of TEST_BACKENDS) {
    torchTest(`[${backend}] vmap run equals the loop run's norms and gradlab's features (default blockRows, string seed)`, async () => {
      await useBackend(backend);
      const s = setup();
      const loop = readBridgeOutput(s.loopOut), vmap = readBridgeOutput(s.vmapOut);
      assert.is(vmap.manifest.per_example, "vmap");
      assert.is(vmap.manifest.seed, "run-7");
      assert.equal(vmap.manifest.projection, { kind: "rademacher", dim: 24, blockRows: 4096, inputDim: 3840, cache: "none" });
      const vmapErr = maxRelativeError(vmap.norms.flat(), loop.norms.flat());
      console.log(`  vmap vs loop norms: max relative error ${vmapErr.toExponential(2)}`);
      assert.ok(vmapErr <= 1e-5, `vmap vs loop norms: ${vmapErr}`);
      const model = new TinyTransformer(CONFIG);
      try {
        const ours = gradlabFeatures(model, s.examples, vmap);
        const rowErr = rowwiseRelative(vmap.features!, ours), elemErr = elementwiseRelative(vmap.features!, ours);
        console.log(`  vmap features (d=24, one 4096-row block): row-normwise ${rowErr.toExponential(2)}, elementwise ${elemErr.toExponential(2)}`);
        assert.ok(rowErr <= RTOL, `vmap features rowwise: ${rowErr}`);
        assert.ok(elemErr <= RTOL, `vmap features elementwise: ${elemErr}`);
      } finally {
        model.dispose();
      }
    });
  }

  for (const backend of TEST_BACKENDS) {
    torchTest(`[${backend}] bridge output drives PRISM scoring and routing like gradlab's own probe`, async () => {
      await useBackend(backend);
      const s = setup();
      const out = readBridgeOutput(s.loopOut);
      const model = new TinyTransformer(CONFIG);
      try {
        for (const normalisation of ["raw", "sqrt-numel"] as const) {
          const ours = probeTrajectories(model, s.examples, { normalisation });
          const theirs = bridgeToProbeResult(out, { normalisation });
          for (const metric of Object.keys(ours.scores) as Array<keyof typeof ours.scores>) {
            assert.ok(maxRelativeError(theirs.scores[metric], ours.scores[metric], 1e-6) <= RTOL, `${normalisation} ${metric}`);
          }
          assert.equal(routeByMetric(theirs, "gini", { rule: "median" }).routes, routeByMetric(ours, "gini", { rule: "median" }).routes);
          assert.equal(routeByMetric(theirs, "l2", { rule: "top-q", q: 0.3 }).routes, routeByMetric(ours, "l2", { rule: "top-q", q: 0.3 }).routes);
        }
        const records = probeRecords(bridgeToProbeResult(out));
        assert.equal(records.map((r) => r.id), s.examples.map((e) => e.id));
        assert.equal(records.map((r) => r.group), s.examples.map((e) => e.group));
        assert.equal(records.map((r) => r.label), s.examples.map((e) => e.label));
        assert.is(bridgeToProbeResult(out).contextLength, T);
        assert.is(bridgeFeatures(out).length, s.examples.length);
      } finally {
        model.dispose();
      }
    });
  }

  torchTest("--module hook: text rows through a user tokenizer, loop and vmap agree, names parsed", () => {
    const s = setup();
    const hook = path.join(s.dir, "my_hook.py");
    fs.writeFileSync(hook, `import torch
class TinyLM(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embed = torch.nn.Embedding(40, 8)
        self.layers = torch.nn.ModuleList([torch.nn.ModuleDict({"q_proj": torch.nn.Linear(8, 8, bias=False), "up_proj": torch.nn.Linear(8, 16), "down_proj": torch.nn.Linear(16, 8)}) for _ in range(2)])
        self.lm_head = torch.nn.Linear(8, 40, bias=False)
    def forward(self, input_ids):
        h = self.embed(input_ids)
        for layer in self.layers:
            h = h + torch.tanh(layer["q_proj"](h)).cumsum(1) / (1 + torch.arange(h.shape[1]))[None, :, None]
            h = h + layer["down_proj"](torch.relu(layer["up_proj"](h)))
        return self.lm_head(h)
def make():
    return TinyLM(), lambda text: [ord(c) % 40 for c in text]
`);
    const data = path.join(s.dir, "text.jsonl");
    fs.writeFileSync(data, [{ prompt: "add 2 3", response: "5" }, { prompt: "copy abc", response: "abc" }, { prompt: "x", response: "yz!" }].map((r) => JSON.stringify(r)).join("\n") + "\n");
    const loop = path.join(s.dir, "hook-loop"), vmap = path.join(s.dir, "hook-vmap");
    runProbeOk(["--module", `${hook}:make`, "--data", data, "--out", loop, "--project", "8", "--seed", "1", "--device", "cpu"]);
    runProbeOk(["--module", `${hook}:make`, "--data", data, "--out", vmap, "--project", "8", "--seed", "1", "--device", "cpu", "--vmap", "--batch-size", "3"]);
    const a = readBridgeOutput(loop), b = readBridgeOutput(vmap);
    assert.equal(a.manifest.matrices.map((m) => `${m.layer}:${m.module}`), ["0:q", "0:up", "0:down", "1:q", "1:up", "1:down"]);
    assert.equal(a.examples!.map((e) => e.n_targets), [1, 3, 3]);
    assert.ok(maxRelativeError(b.norms.flat(), a.norms.flat()) <= 1e-5, "hook: vmap vs loop norms (right padding is exact)");
    assert.ok(rowwiseRelative(b.features!, a.features!) <= 1e-5, "hook: vmap vs loop features");
    assert.match(a.manifest.model.sha256 as string, /^[0-9a-f]{64}$/);
  });

  // The two script runs of the mask-rule test, made once and compared with gradlab on each backend.
  let maskRuns: { field: string; all: string } | null = null;
  const maskRuleRuns = (s: Setup): { field: string; all: string } => {
    if (maskRuns) return maskRuns;
    const data = path.join(s.dir, "fields.jsonl");
    fs.writeFileSync(data, s.examples.map((e) => JSON.stringify({ tokens: e.tokens, weights: e.lossMask, loss_mask: e.tokens.map(() => 7) })).join("\n") + "\n");
    const field = path.join(s.dir, "field"), all = path.join(s.dir, "all");
    // Also the middle cache level: R's draws (15 KB) fit 0.1 MB, its float32 blocks (480 KB) do not.
    runProbeOk(["--model", s.modelFile, "--data", data, "--out", field, "--mask-rule", "field:weights", "--batch-size", "9",
      "--project", "32", "--seed", "11", "--block-rows", "100", "--projection-cache-mb", "0.1"]);
    runProbeOk(["--model", s.modelFile, "--data", data, "--out", all, "--mask-rule", "all", "--batch-size", "9", "--vmap"]);
    return (maskRuns = { field, all });
  };
  for (const backend of TEST_BACKENDS) {
    torchTest(`[${backend}] mask rules: field:NAME reads another column, all targets every token after the first`, async () => {
      await useBackend(backend);
      const s = setup();
      const { field, all } = maskRuleRuns(s);
      const byField = readBridgeOutput(field), byMask = readBridgeOutput(s.loopOut);
      assert.ok(maxRelativeError(byField.norms.flat(), byMask.norms.flat()) <= 1e-5, "field:weights = the loss_mask run");
      assert.is(byField.manifest.projection!.cache, "draws");
      assert.is(byMask.manifest.projection!.cache, "blocks");
      assert.ok(rowwiseRelative(byField.features!, byMask.features!) <= 1e-6, "cached draws give the cached blocks' features");
      const model = new TinyTransformer(CONFIG);
      try {
        const everyToken = s.examples.map((e) => ({ tokens: e.tokens, lossMask: e.tokens.map((_, t) => Number(t > 0)) }));
        const probe = probeTrajectories(model, everyToken);
        const out = readBridgeOutput(all);
        assert.is(out.manifest.mask_rule, "all");
        assert.ok(maxRelativeError(out.norms.flat(), probe.vectors.flat()) <= RTOL, "--mask-rule all = gradlab with every token after the first as target");
        assert.equal(out.examples!.map((e) => e.n_targets), s.examples.map(() => T - 1));
      } finally {
        model.dispose();
      }
    });
  }

  torchTest("the script rejects bad input with a message naming the line or the option", () => {
    const s = setup();
    const bad = (name: string, rows: unknown[]): string => {
      const file = path.join(s.dir, name);
      fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
      return file;
    };
    const good = { tokens: [1, 2, 3], loss_mask: [0, 1, 1] };
    const expectFailure = (args: string[], fragments: string[]) => {
      const r = runProbe(args);
      assert.is(r.status, 2, `expected exit 2 for ${args.join(" ")}, got ${r.status}: ${r.stderr}`);
      for (const f of fragments) assert.ok(r.stderr.includes(f), `stderr "${r.stderr.trim()}" does not mention "${f}"`);
    };
    const out = path.join(s.dir, "bad-out");
    expectFailure(["--model", s.modelFile, "--data", bad("first.jsonl", [good, good, { tokens: [1, 2, 3], loss_mask: [1, 1, 0] }]), "--out", out], ["line 3", "loss_mask[0]"]);
    expectFailure(["--model", s.modelFile, "--data", bad("vocab.jsonl", [good, { tokens: [1, 99, 3], loss_mask: [0, 1, 1] }]), "--out", out], ["line 2", "vocabulary"]);
    expectFailure(["--model", s.modelFile, "--data", bad("json.jsonl", [good]), "--out", out, "--mask-rule", "field:weights"], ["field", "weights"]);
    expectFailure(["--model", s.modelFile, "--data", s.dataFile, "--out", out, "--mask-rule", "prompt"], ["--mask-rule"]);
    expectFailure(["--model", s.modelFile, "--data", s.dataFile, "--out", out, "--project", "8"], ["--seed"]);
    expectFailure(["--model", s.modelFile, "--data", s.dataFile, "--out", out, "--matrices", "nothing_matches"], ["--matrices", "nothing_matches"]);
    const foreign = path.join(s.dir, "foreign.safetensors");
    writeSafetensors(foreign, { w: { shape: [2, 2], data: new Float32Array(4) } });
    expectFailure(["--model", foreign, "--data", s.dataFile, "--out", out], [foreign, "gradlab transformer"]);
    const hasTransformers = spawnSync(torchPython(), ["-c", "import transformers"]).status === 0;
    if (!hasTransformers) expectFailure(["--hf", "meta-llama/Llama-3.1-8B", "--data", s.dataFile, "--out", out], ["transformers"]);
    assert.not.ok(fs.existsSync(path.join(out, "manifest.json")), "a run rejected during validation leaves no manifest");
  });

  torchTest("a run killed half-way is reported as an interrupted run (real SIGKILL)", async () => {
    const s = setup();
    const data = path.join(s.dir, "long.jsonl"), out = path.join(s.dir, "killed");
    writeJsonlRows(data, makeExamples(60, 4, CONFIG.vocabSize, T));
    const child = spawn(torchPython(), [SCRIPT, "--model", s.modelFile, "--data", data, "--out", out, "--batch-size", "1", "--sleep-per-batch", "0.25", "--project", "8", "--seed", "2"], { stdio: "ignore" });
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    const examplesFile = path.join(out, "examples.jsonl");
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (fs.existsSync(examplesFile) && fs.readFileSync(examplesFile, "utf8").split("\n").length > 3) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGKILL");
    await exited;
    assert.ok(fs.existsSync(path.join(out, "probe_norms.npy")), "partial arrays exist");
    await expectError(() => readBridgeOutput(out), FileFormatError, "interrupted run");
    await expectError(() => readBridgeOutput(out), FileFormatError, "of 60 rows");
    const manifest = JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"));
    assert.is(manifest.complete, false);
    // Rerunning the same command (the test-only sleep is not a setting) resumes: the rows on disk are kept.
    const args = ["--model", s.modelFile, "--data", data, "--out", out, "--batch-size", "1", "--project", "8", "--seed", "2"];
    runProbeOk(args);
    const resumed = readBridgeOutput(out);
    assert.ok(resumed.manifest.resumed_rows as number >= 3 && (resumed.manifest.resumed_rows as number) < 60, `kept ${resumed.manifest.resumed_rows} rows`);
    const fresh = path.join(s.dir, "unkilled");
    runProbeOk(["--model", s.modelFile, "--data", data, "--out", fresh, "--batch-size", "1", "--project", "8", "--seed", "2", "--quiet"]);
    const whole = readBridgeOutput(fresh);
    assert.ok(maxRelativeError(resumed.norms.flat(), whole.norms.flat()) <= 1e-6, "norms after resume");
    assert.ok(rowwiseRelative(resumed.features!, whole.features!) <= 1e-6, "features after resume");
    assert.equal(resumed.examples!.map((e) => e.line), whole.examples!.map((e) => e.line));
    // A complete run of the same command is left alone.
    const again = runProbe(args);
    assert.is(again.status, 0, again.stderr);
    assert.match(again.stderr, "already holds this run, complete");
  });

  torchTest("--shard i/n: two shard folders merged by readBridgeOutputs equal one run; a missing or foreign shard is refused", async () => {
    const s = setup();
    const shards = [0, 1].map((i) => path.join(s.dir, `shard-${i}`));
    shards.forEach((out, i) => runProbeOk(["--model", s.modelFile, "--data", s.dataFile, "--out", out, "--project", "32", "--seed", "11", "--block-rows", "100", "--batch-size", "4", "--shard", `${i}/2`, "--quiet"]));
    const one = readBridgeOutput(s.loopOut), merged = readBridgeOutputs([shards[1], shards[0]]);
    assert.equal([readBridgeOutput(shards[0]).norms.length, readBridgeOutput(shards[1]).norms.length], [4, 5]);
    assert.is(merged.manifest.n_examples, 9);
    assert.ok(maxRelativeError(merged.norms.flat(), one.norms.flat()) <= 1e-6, "norms");
    assert.ok(maxRelativeError(merged.losses!, one.losses!) <= 1e-6, "losses");
    assert.ok(rowwiseRelative(merged.features!, one.features!) <= 1e-6, "features");
    assert.equal(merged.examples!.map((e) => e.id), one.examples!.map((e) => e.id));
    assert.equal(bridgeToProbeResult(merged).examples.map((e) => e.id), bridgeToProbeResult(one).examples.map((e) => e.id));
    await expectError(() => readBridgeOutputs([shards[0]]), InvalidArgumentError, "missing: 1");
    await expectError(() => readBridgeOutputs([shards[0], s.loopOut]), InvalidArgumentError, "other settings");
    const bad = runProbe(["--model", s.modelFile, "--data", s.dataFile, "--out", path.join(s.dir, "x"), "--shard", "2/2"]);
    assert.is(bad.status, 2);
    assert.match(bad.stderr, "--shard");
  });
}

// ---- the committed fixture, checked against gradlab without torch --------------------------------

const FIXTURE_CONFIG: TransformerConfig = { vocabSize: 11, dModel: 8, nLayers: 1, nHeads: 2, nKvHeads: 1, dFF: 12, maxLen: 8, seed: 3 };
const FIXTURE_ARGS = ["--model", "data/fixtures/bridge/model.safetensors", "--data", "data/fixtures/bridge/input.jsonl", "--out", "data/fixtures/bridge/run",
  "--project", "16", "--seed", "3", "--block-rows", "64", "--batch-size", "4"];

if (process.env.GRADLAB_UPDATE_BRIDGE_FIXTURES === "1") {
  test("regenerate data/fixtures/bridge with the real script", () => {
    torchPython();
    fs.mkdirSync(FIXTURES, { recursive: true });
    const model = new TinyTransformer(FIXTURE_CONFIG);
    saveModel(model, path.join(FIXTURES, "model.safetensors"));
    model.dispose();
    writeJsonlRows(path.join(FIXTURES, "input.jsonl"), makeExamples(6, 8, FIXTURE_CONFIG.vocabSize, 8));
    runProbeOk(FIXTURE_ARGS);
  });
}

function fixtureInputs(): ProbeExample[] {
  return fs.readFileSync(path.join(FIXTURES, "input.jsonl"), "utf8").trim().split("\n").map((line) => {
    const r = JSON.parse(line);
    return { tokens: r.tokens, lossMask: r.loss_mask, id: r.id, group: r.group, label: r.label };
  });
}

for (const backend of TEST_BACKENDS) {
  test(`[${backend}] fixture: the committed PyTorch output matches gradlab's probe and projection (no torch needed)`, async () => {
    await useBackend(backend);
    const out = readBridgeOutput(path.join(FIXTURES, "run"));
    assert.ok(out.manifest.complete);
    assert.equal(out.manifest.projection, { kind: "rademacher", dim: 16, blockRows: 64, inputDim: 480, cache: "blocks" });
    const model = loadModel(path.join(FIXTURES, "model.safetensors")) as TinyTransformer;
    try {
      const examples = fixtureInputs();
      const probe = await expectNoLeak("probeTrajectories (fixture)", () => probeTrajectories(model, examples));
      assert.ok(maxRelativeError(out.norms.flat(), probe.vectors.flat()) <= RTOL, "fixture norms");
      assert.ok(maxRelativeError(out.losses!, probe.losses) <= RTOL, "fixture losses");
      const ours = gradlabFeatures(model, examples, out);
      assert.ok(rowwiseRelative(out.features!, ours) <= RTOL, "fixture features");
    } finally {
      model.dispose();
    }
  });
}

// ---- reader: typed errors for every way a folder can be wrong ----------------------------------

function copyFixture(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gradlab-bridge-bad-"));
  for (const name of fs.readdirSync(path.join(FIXTURES, "run"))) fs.copyFileSync(path.join(FIXTURES, "run", name), path.join(dir, name));
  return dir;
}
function editManifest(dir: string, edit: (m: Record<string, unknown>) => void): void {
  const file = path.join(dir, "manifest.json");
  const m = JSON.parse(fs.readFileSync(file, "utf8"));
  edit(m);
  fs.writeFileSync(file, JSON.stringify(m));
}

test("reader: missing folder pieces and an incomplete manifest raise FileFormatError naming the file", async () => {
  let dir = copyFixture();
  fs.rmSync(path.join(dir, "manifest.json"));
  await expectError(() => readBridgeOutput(dir), FileFormatError, "manifest.json");
  dir = copyFixture();
  editManifest(dir, (m) => { m.complete = false; });
  await expectError(() => readBridgeOutput(dir), FileFormatError, "interrupted run");
  dir = copyFixture();
  fs.rmSync(path.join(dir, "features.npy"));
  await expectError(() => readBridgeOutput(dir), FileFormatError, "features.npy");
  dir = copyFixture();
  fs.rmSync(path.join(dir, "probe_norms.npy"));
  await expectError(() => readBridgeOutput(dir), FileFormatError, "probe_norms.npy");
  dir = copyFixture();
  const losses = fs.readFileSync(path.join(dir, "losses.npy"));
  fs.writeFileSync(path.join(dir, "losses.npy"), losses.subarray(0, losses.length - 6));
  await expectError(() => readBridgeOutput(dir), FileFormatError, "losses.npy");
  dir = copyFixture();
  fs.writeFileSync(path.join(dir, "manifest.json"), "{\"version\": 1, \"complete\": tr");
  await expectError(() => readBridgeOutput(dir), FileFormatError, "not valid JSON");
  dir = copyFixture();
  editManifest(dir, (m) => { m.version = 99; });
  await expectError(() => readBridgeOutput(dir), FileFormatError, "version 99");
});

test("reader: array shapes that disagree with the manifest name the file, expected and actual", async () => {
  let dir = copyFixture();
  editManifest(dir, (m) => { m.n_examples = 7; });
  await expectError(() => readBridgeOutput(dir), FileFormatError, "probe_norms.npy: shape [6, 7] does not match the manifest: expected [7, 7]");
  dir = copyFixture();
  editManifest(dir, (m) => { (m.matrices as unknown[]).pop(); (m.projection as Record<string, unknown>).inputDim = 480 - 96; });
  await expectError(() => readBridgeOutput(dir), FileFormatError, "expected [6, 6]");
  dir = copyFixture();
  writeNpy(path.join(dir, "features.npy"), { dtype: "float32", shape: [6, 12], data: new Float32Array(72) });
  await expectError(() => readBridgeOutput(dir), FileFormatError, "features.npy: shape [6, 12] does not match the manifest: expected [6, 16]");
  dir = copyFixture();
  fs.writeFileSync(path.join(dir, "examples.jsonl"), "{\"line\": 1, \"n_tokens\": 8, \"n_targets\": 2}\n");
  await expectError(() => readBridgeOutput(dir), FileFormatError, "examples.jsonl: 1 rows; expected 6");
});

test("reader: a NaN/Inf row raises NonFiniteError naming the file and the row", async () => {
  let dir = copyFixture();
  const norms = readNpy(path.join(dir, "probe_norms.npy"));
  const data = Float32Array.from(norms.data as Float32Array);
  data[3 * 7 + 5] = NaN;
  writeNpy(path.join(dir, "probe_norms.npy"), { dtype: "float32", shape: norms.shape, data });
  await expectError(() => readBridgeOutput(dir), NonFiniteError, "probe_norms.npy row 3, column 5 (layer0.up)");
  dir = copyFixture();
  const feats = readNpy(path.join(dir, "features.npy"));
  const f = Float32Array.from(feats.data as Float32Array);
  f[4 * 16 + 2] = Infinity;
  writeNpy(path.join(dir, "features.npy"), { dtype: "float32", shape: feats.shape, data: f });
  await expectError(() => readBridgeOutput(dir), NonFiniteError, "features.npy row 4");
  dir = copyFixture();
  const l = Float32Array.from(readNpy(path.join(dir, "losses.npy")).data as Float32Array);
  l[1] = -Infinity;
  writeNpy(path.join(dir, "losses.npy"), { dtype: "float32", shape: [6], data: l });
  await expectError(() => readBridgeOutput(dir), NonFiniteError, "losses.npy row 1");
});

test("converters reject what they cannot do", async () => {
  const dir = copyFixture();
  editManifest(dir, (m) => { m.projection = null; m.seed = null; });
  fs.rmSync(path.join(dir, "features.npy"));
  const out = readBridgeOutput(dir);
  assert.is(out.features, undefined);
  await expectError(() => bridgeFeatures(out), InvalidArgumentError, "--project");
  await expectError(() => bridgeProjector(out), InvalidArgumentError, "--project");
  await expectError(() => bridgeToProbeResult(out, { normalisation: "l1" as never }), UnknownOptionError, "options.normalisation");
});

test.run();
