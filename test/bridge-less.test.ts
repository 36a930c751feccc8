/**
 * Issue 20 (2): LESS features from PyTorch. gradlab warms up LoRA adapters on a tiny transformer
 * (two checkpoints: weights, Adam m/v/step, each epoch's mean learning rate), writes them as PEFT
 * checkpoint folders (bridge.writePeftCheckpoint; checkpoint 0's Adam state converted to the
 * optimizer.pt a Trainer writes, by real torch.save with integer state keys), and scripts/torch_less.py computes LESS
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
import { trainLora, writeLoraParameters, LoraCheckpoint } from "../kernel-lib/train/lora-training";
import { lessFeatures } from "../kernel-lib/features/model-features";
import { RandomProjector } from "../kernel-lib/features/projection";
import { lessScores } from "../kernel-lib/g2is/less";
import { readLessFeatures, lessCheckpointsFromBridge } from "../kernel-lib/bridge/less";
import { writePeftCheckpoint } from "../kernel-lib/bridge/peft-checkpoint";
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

/**
 * Checkpoint 0 as a Trainer would leave it: bridge.writePeftCheckpoint's optimizer.safetensors is
 * turned into an optimizer.pt by real torch.save (integer state keys in parameter order); checkpoint
 * 1 keeps gradlab's optimizer.safetensors. Both readers are exercised.
 */
function toTorchOptimizer(dir: string): void {
  const code = `
import sys, torch
sys.path.insert(0, ${JSON.stringify(path.join(ROOT, "scripts"))})
from gradlab_torch import read_safetensors
folder = sys.argv[1]
t, meta = read_safetensors(folder + "/optimizer.safetensors")
names = sorted({k.rsplit(".", 1)[0] for k in t}, key=lambda n: list(t).index(n + ".exp_avg"))
state = {i: {"step": torch.tensor(float(meta["step"])), "exp_avg": t[n + ".exp_avg"], "exp_avg_sq": t[n + ".exp_avg_sq"]} for i, n in enumerate(names)}
groups = [{"lr": float(meta["lr"]), "betas": (float(meta["beta1"]), float(meta["beta2"])), "eps": float(meta["eps"]), "weight_decay": 0.0, "amsgrad": False, "params": list(range(len(names)))}]
torch.save({"state": state, "param_groups": groups}, folder + "/optimizer.pt")
`;
  const r = spawnSync(torchPython(), ["-c", code, dir], { encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  fs.rmSync(path.join(dir, "optimizer.safetensors"));
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
  const ckptDirs = warm.checkpoints.map((c, k) => {
    const d = path.join(dir, `checkpoint-${k}`);
    const keys = writePeftCheckpoint(d, model, c);
    assert.is(keys[0], "base_model.model.layer0.q.lora_A.weight");
    if (k === 0) toTorchOptimizer(d);
    return d;
  });
  assert.ok(fs.existsSync(path.join(ckptDirs[0], "optimizer.pt")) && fs.existsSync(path.join(ckptDirs[1], "optimizer.safetensors")));
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

test("--module: LoRA on a model's own nn.Linear layers (forward hooks) equals the adapters merged into the weights (W + s·B·A); PEFT .bin adapters; optimizer state by integer keys and by param_names", async () => {
  const s = await setup();
  const fixture = path.join(ROOT, "test", "fixtures", "less_module.py");
  const dir = path.join(s.dir, "module");
  fs.mkdirSync(dir, { recursive: true });
  const rng = new Rng(9);
  const rows = Array.from({ length: 5 }, () => { const tokens = Array.from({ length: 7 }, () => rng.int(11)); return { tokens, loss_mask: tokens.map((_, t) => Number(t >= 3)) }; });
  const data = path.join(dir, "rows.jsonl");
  fs.writeFileSync(data, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  const folders = [path.join(dir, "checkpoint-1"), path.join(dir, "checkpoint-2")];
  for (const f of folders) { const w = spawnSync(torchPython(), [fixture, "write", f], { encoding: "utf8" }); assert.is(w.status, 0, w.stderr); }
  const out = path.join(dir, "out");
  const r = spawnSync(torchPython(), [SCRIPT, "--module", `${fixture}:factory`, ...folders.flatMap((f) => ["--checkpoint", f]), "--lr-weights", "2,1", "--role", "pool",
    "--data", data, "--project", "16", "--seed", "3", "--block-rows", "32", "--out", out, "--threads", "1", "--quiet"], { encoding: "utf8", cwd: ROOT });
  assert.is(r.status, 0, r.stderr);
  const oracle = spawnSync(torchPython(), [fixture, "oracle", path.join(ROOT, "scripts"), data, folders.join(","), "16", "3", "32"], { encoding: "utf8", maxBuffer: 1 << 26 });
  assert.is(oracle.status, 0, oracle.stderr);
  const expected = JSON.parse(oracle.stdout) as number[][][];
  const got = readLessFeatures(out);
  assert.equal(got.checkpoints.map((c) => c.weight), [2, 1]);
  got.checkpoints.forEach((c, k) => {
    const d = maxAbsDiff(c.rows, expected[k].map((row) => Float32Array.from(row)));
    assert.ok(d <= 1e-5, `checkpoint ${k}: max |diff| ${d.toExponential(2)} vs the merged-weights oracle`);
  });
});

test.after(() => { if (cached) { cached.model.dispose(); fs.rmSync(cached.dir, { recursive: true, force: true }); } });

test.run();
