/**
 * Issue 20 (2): LESS features from PyTorch. gradlab warms up LoRA adapters on a tiny transformer
 * (two checkpoints: weights, Adam m/v/step, each epoch's mean learning rate), writes them as PEFT /
 * Trainer checkpoint folders (adapter_config.json, adapter_model.safetensors, and an optimizer.pt
 * that real torch.save writes with integer state keys), and scripts/torch_less.py computes LESS
 * features from them in PyTorch: pool in two shards, target in one. The merged bridge features
 * must equal gradlab's own `features.lessFeatures` on the same model, checkpoints and projection
 * to 1e-4 (both Adam forms), and the LESS scores from both to 1e-4. A run killed half-way
 * (real SIGKILL) is refused by the reader and resumed by rerunning the same command.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { TinyTransformer, TransformerConfig } from "../kernel-lib/models/transformer";
import { attachLora } from "../kernel-lib/models/lora";
import { saveModel } from "../kernel-lib/models/io";
import { trainLora, loraParameterNames, writeLoraParameters, LoraCheckpoint } from "../kernel-lib/train/lora-training";
import { lessFeatures } from "../kernel-lib/features/model-features";
import { RandomProjector } from "../kernel-lib/features/projection";
import { writeSafetensors } from "../kernel-lib/io/safetensors";
import { lessScores } from "../kernel-lib/g2is/less";
import { readLessFeatures, lessCheckpointsFromBridge } from "../kernel-lib/bridge/less";
import { Rng } from "../kernel-lib/random";
import { FileFormatError, InvalidArgumentError } from "../kernel-lib/errors";
import { expectError, useBackend } from "./helpers";

const ROOT = path.join(__dirname, "..");
const SCRIPT = path.join(ROOT, "scripts", "torch_less.py");
const TOL = 1e-4;

function torchPython(): string {
  for (const python of [...new Set([process.env.GRADLAB_PYTHON, "/usr/bin/python3", "python3"].filter((p): p is string => !!p))]) {
    if (spawnSync(python, ["-c", "import torch, numpy"]).status === 0) return python;
  }
  // A cross-check that did not run must never count as a pass.
  throw new Error("needs PyTorch: no Python here can `import torch, numpy` (apt-get install python3-torch, or node scripts/setup-jupyter.mjs --for-tests)");
}

const CONFIG: TransformerConfig = { vocabSize: 13, dModel: 16, nLayers: 2, nHeads: 4, nKvHeads: 2, dFF: 24, maxLen: 12, seed: 5 };
const D = 24, SEED = 7, BLOCK_ROWS = 64;

interface Example { tokens: number[]; lossMask: number[] }
function examples(n: number, seed: number): Example[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const tokens = Array.from({ length: 10 }, () => rng.int(CONFIG.vocabSize));
    return { tokens, lossMask: tokens.map((_, t) => Number(t >= 5)) };
  });
}
const jsonl = (file: string, rows: Example[]) => fs.writeFileSync(file, rows.map((e) => JSON.stringify({ tokens: e.tokens, loss_mask: e.lossMask })).join("\n") + "\n");
const batchOf = (rows: Example[]) => ({ tokens: rows.map((e) => e.tokens), lossMask: rows.map((e) => e.lossMask) });

/** A PEFT / Trainer checkpoint folder from a gradlab LoRA checkpoint (optimizer.pt via torch.save). */
function writePeftCheckpoint(dir: string, model: TinyTransformer, ckpt: LoraCheckpoint): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "adapter_config.json"), JSON.stringify({ peft_type: "LORA", r: 2, lora_alpha: 4, target_modules: ["q", "v"] }));
  const names = loraParameterNames(model);
  const adapters: Record<string, { data: Float32Array; shape: number[]; dtype: "float32" }> = {};
  const moments: Record<string, { data: Float32Array; shape: number[]; dtype: "float32" }> = {};
  let offset = 0;
  for (const name of names) {
    const shape = model.weight(name).shape;
    const size = shape[0] * shape[1];
    const peft = `base_model.model.${name.replace(/\.lora([AB])$/, ".lora_$1.weight")}`;
    adapters[peft] = { data: ckpt.params.slice(offset, offset + size), shape, dtype: "float32" };
    moments[`${name}.m`] = { data: ckpt.adam.m.slice(offset, offset + size), shape, dtype: "float32" };
    moments[`${name}.v`] = { data: ckpt.adam.v.slice(offset, offset + size), shape, dtype: "float32" };
    offset += size;
  }
  writeSafetensors(path.join(dir, "adapter_model.safetensors"), adapters);
  writeSafetensors(path.join(dir, "moments.safetensors"), moments);
  const code = `
import json, sys, torch
sys.path.insert(0, ${JSON.stringify(path.join(ROOT, "scripts"))})
from gradlab_torch import read_safetensors
folder, names, step, lr, b1, b2, eps = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7])
t, _ = read_safetensors(folder + "/moments.safetensors")
state = {i: {"step": torch.tensor(float(step)), "exp_avg": t[n + ".m"], "exp_avg_sq": t[n + ".v"]} for i, n in enumerate(names)}
groups = [{"lr": lr, "betas": (b1, b2), "eps": eps, "weight_decay": 0.0, "amsgrad": False, "params": list(range(len(names)))}]
torch.save({"state": state, "param_groups": groups}, folder + "/optimizer.pt")
`;
  const a = ckpt.adam;
  const r = spawnSync(torchPython(), ["-c", code, dir, JSON.stringify(names), String(a.step), String(ckpt.learningRate), String(a.beta1), String(a.beta2), String(a.eps)], { encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  fs.rmSync(path.join(dir, "moments.safetensors"));
}

interface Setup { dir: string; model: TinyTransformer; checkpoints: LoraCheckpoint[]; pool: Example[]; target: Example[]; base: string; ckptDirs: string[] }
let cached: Setup | null = null;
async function setup(): Promise<Setup> {
  if (cached) return cached;
  await useBackend("cpu");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gradlab-less-bridge-"));
  const model = new TinyTransformer(CONFIG);
  const base = path.join(dir, "base.safetensors");
  saveModel(model, base); // before the adapters: the bridge adds them from the checkpoints
  attachLora(model, { rank: 2, alpha: 4, seed: 3, targets: ["q", "v"] });
  const warm = trainLora(model, examples(16, 1), { epochs: 2, batchSize: 4, learningRate: 2e-2, warmupFraction: 0.25, seed: 2 });
  const ckptDirs = warm.checkpoints.map((c, k) => { const d = path.join(dir, `checkpoint-${k}`); writePeftCheckpoint(d, model, c); return d; });
  const pool = examples(11, 4), target = examples(4, 5);
  jsonl(path.join(dir, "pool.jsonl"), pool);
  jsonl(path.join(dir, "target.jsonl"), target);
  cached = { dir, model, checkpoints: warm.checkpoints, pool, target, base, ckptDirs };
  return cached;
}

function runLess(s: Setup, extra: string[]): { status: number | null; stdout: string; stderr: string } {
  const args = [SCRIPT, "--model", s.base, ...s.ckptDirs.flatMap((d) => ["--checkpoint", d]), "--project", String(D), "--seed", String(SEED),
    "--block-rows", String(BLOCK_ROWS), "--threads", "1", ...extra];
  const r = spawnSync(torchPython(), args, { encoding: "utf8", cwd: ROOT });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** gradlab's own LESS features of `rows` at every checkpoint. */
function gradlabFeatures(s: Setup, rows: Example[], role: "pool" | "target", form: "less" | "bias-corrected"): Float32Array[][] {
  return s.checkpoints.map((c) => {
    writeLoraParameters(s.model, c.params);
    const projector = new RandomProjector({ inputDim: c.params.length, outputDim: D, seed: SEED, blockRows: BLOCK_ROWS });
    return lessFeatures(s.model, batchOf(rows), { role, projector, adam: role === "pool" ? c.adam : undefined, form, batchSize: 5 });
  });
}

function maxAbsDiff(a: Float32Array[], b: Float32Array[]): number {
  assert.is(a.length, b.length, "row counts");
  let worst = 0;
  a.forEach((row, i) => row.forEach((v, j) => { worst = Math.max(worst, Math.abs(v - b[i][j])); }));
  return worst;
}

test("torch_less.py LESS features (pool in 2 shards, target) equal gradlab's lessFeatures to 1e-4; LESS scores too", async () => {
  const s = await setup();
  const out = (name: string) => path.join(s.dir, name);
  for (const [i, name] of [[0, "pool.shard-0-of-2"], [1, "pool.shard-1-of-2"]] as const) {
    const r = runLess(s, ["--data", out("pool.jsonl"), "--role", "pool", "--out", out(name), "--shard", `${i}/2`, "--batch-size", "3", "--chunk-rows", "2"]);
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stderr, /torch_less: \[ckpt 2\/2\] \d+\/\d+ rows, \d+\/\d+ in all \([\d.]+%\), [\d.]+ rows\/s/);
  }
  const rt = runLess(s, ["--data", out("target.jsonl"), "--role", "target", "--out", out("target"), "--quiet"]);
  assert.is(rt.status, 0, rt.stderr);
  assert.is(rt.stderr, "", "--quiet prints no progress");

  const pool = readLessFeatures([out("pool.shard-1-of-2"), out("pool.shard-0-of-2")]); // any order
  const target = readLessFeatures(out("target"));
  assert.is(pool.n, s.pool.length);
  assert.equal(pool.checkpoints.map((c) => [c.weight, c.step]), s.checkpoints.map((c) => [c.learningRate, c.step]));
  const ownPool = gradlabFeatures(s, s.pool, "pool", "less"), ownTarget = gradlabFeatures(s, s.target, "target", "less");
  pool.checkpoints.forEach((c, k) => {
    const d = maxAbsDiff(c.rows, ownPool[k]);
    assert.ok(d <= TOL, `pool features, checkpoint ${k}: max |diff| ${d.toExponential(2)} > ${TOL}`);
    const dt = maxAbsDiff(target.checkpoints[k].rows, ownTarget[k]);
    assert.ok(dt <= TOL, `target features, checkpoint ${k}: max |diff| ${dt.toExponential(2)} > ${TOL}`);
  });
  const fromBridge = lessScores(lessCheckpointsFromBridge(pool, target));
  const own = lessScores(s.checkpoints.map((c, k) => ({ pool: ownPool[k], targets: [ownTarget[k]], weight: c.learningRate })));
  const worst = Math.max(...Array.from(fromBridge.scores, (v, i) => Math.abs(v - own.scores[i])));
  assert.ok(worst <= TOL, `LESS scores: max |diff| ${worst.toExponential(2)}`);
  // Preconditioning matters: the plain-gradient pool is a different feature set.
  const plain = gradlabFeatures(s, s.pool, "target", "less");
  assert.ok(maxAbsDiff(pool.checkpoints[1].rows, plain[1]) > 1e-2, "pool features are not the plain gradients");

  // The bias-corrected form, one shard.
  const rb = runLess(s, ["--data", out("pool.jsonl"), "--role", "pool", "--adam-form", "bias-corrected", "--out", out("pool-bc"), "--quiet"]);
  assert.is(rb.status, 0, rb.stderr);
  const bc = readLessFeatures(out("pool-bc")), ownBc = gradlabFeatures(s, s.pool, "pool", "bias-corrected");
  assert.is(bc.adamForm, "bias-corrected");
  bc.checkpoints.forEach((c, k) => assert.ok(maxAbsDiff(c.rows, ownBc[k]) <= TOL, `bias-corrected checkpoint ${k}`));
});

test("the reader refuses a missing shard, mixed runs and a pool/target swap; the script refuses another run's folder", async () => {
  const s = await setup();
  const out = (name: string) => path.join(s.dir, name);
  await expectError(() => readLessFeatures([out("pool.shard-0-of-2")]), InvalidArgumentError, "missing: 1");
  await expectError(() => readLessFeatures([out("pool.shard-0-of-2"), out("pool-bc")]), InvalidArgumentError, "other settings");
  await expectError(() => readLessFeatures(out("nowhere")), FileFormatError, "less-manifest.json");
  const pool = readLessFeatures(out("pool-bc")), target = readLessFeatures(out("target"));
  await expectError(() => lessCheckpointsFromBridge(target, pool), InvalidArgumentError, "pool");
  const r = runLess(s, ["--data", out("target.jsonl"), "--role", "pool", "--out", out("target"), "--quiet"]);
  assert.is(r.status, 2);
  assert.match(r.stderr, "holds a run with other settings");
  const bad = runLess(s, ["--data", out("pool.jsonl"), "--role", "pool", "--out", out("x"), "--shard", "2/2"]);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, "--shard");
});

test("a run killed half-way (SIGKILL) is refused by the reader, and rerunning the command resumes it to the same rows", async () => {
  const s = await setup();
  const out = path.join(s.dir, "killed");
  const args = [SCRIPT, "--model", s.base, ...s.ckptDirs.flatMap((d) => ["--checkpoint", d]), "--project", String(D), "--seed", String(SEED), "--block-rows", String(BLOCK_ROWS),
    "--threads", "1", "--data", path.join(s.dir, "pool.jsonl"), "--role", "pool", "--out", out, "--batch-size", "2", "--chunk-rows", "2"];
  const child = spawn(torchPython(), [...args, "--sleep-per-batch", "0.4"], { cwd: ROOT, stdio: "ignore" });
  const secondChunk = path.join(out, "ckpt-0", "chunk-000001.npy");
  const t0 = Date.now();
  while (!fs.existsSync(secondChunk) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 50));
  child.kill("SIGKILL");
  await new Promise((r) => child.on("exit", r));
  assert.ok(fs.existsSync(secondChunk), "the run wrote two chunks before it was killed");
  assert.not.ok(fs.existsSync(path.join(out, "ckpt-1", "meta.json")), "killed before the end");
  await expectError(() => readLessFeatures(out), FileFormatError, "interrupted");
  const resumed = spawnSync(torchPython(), args, { encoding: "utf8", cwd: ROOT });
  assert.is(resumed.status, 0, resumed.stderr);
  const manifest = JSON.parse(fs.readFileSync(path.join(out, "less-manifest.json"), "utf8"));
  assert.ok(manifest.resumed_rows >= 4, `kept the rows on disk (resumed_rows ${manifest.resumed_rows})`);
  const again = readLessFeatures(out), whole = readLessFeatures([path.join(s.dir, "pool.shard-0-of-2"), path.join(s.dir, "pool.shard-1-of-2")]);
  again.checkpoints.forEach((c, k) => assert.ok(maxAbsDiff(c.rows, whole.checkpoints[k].rows) <= 1e-6, `checkpoint ${k} after resume`));
});

test.after(() => { if (cached) { cached.model.dispose(); fs.rmSync(cached.dir, { recursive: true, force: true }); } });

test.run();
