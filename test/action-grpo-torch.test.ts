/**
 * The action-level GRPO update against its PyTorch twin (scripts/gradlab_torch.py, written
 * independently: shared contexts and prefix trees in Python, gathers instead of one-hot products):
 * same weights, same rollouts, same old log-probs and advantages → the same log π per decision,
 * loss, diagnostics and gradients. Needs /usr/bin/python3 with torch (`npm test` installs
 * python3-torch through the setup script); without it the test FAILS rather than skip, because a
 * skipped cross-check is not a passed one.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tf } from "../kernel-lib/tf";
import { AgentEnv, createMiniAlf, createMiniShop, Task, tokenizerFor } from "../kernel-lib/envs";
import { TinyTransformer } from "../kernel-lib/models/transformer";
import { createReference } from "../kernel-lib/train/grpo";
import { collectRollouts, TransformerAgent } from "../kernel-lib/agents";
import { writeActionWorkload } from "../scripts/bench/agent-workloads";
import { useBackend } from "./helpers";

const ROOT = join(__dirname, "..");
const PYTHON = [process.env.GRADLAB_PYTHON, "/usr/bin/python3", "python3"].filter((p): p is string => !!p)
  .find((p) => spawnSync(p, ["-c", "import torch, numpy"], { encoding: "utf8" }).status === 0) ?? null;

for (const backend of ["cpu", "wasm"] as const) {
  test(`[${backend}] the PyTorch twin computes the same log π, loss and gradients (MiniALF and MiniShop, GQA)`, async () => {
    assert.ok(PYTHON !== null, "no Python here imports torch and numpy: run `node scripts/setup-jupyter.mjs --for-tests` (installs python3-torch)");
    await useBackend(backend);
    const tensorsBefore = tf.memory().numTensors;
    for (const env of [createMiniAlf({ horizon: 8 }), createMiniShop()] as unknown as AgentEnv<Task>[]) {
      const tok = tokenizerFor(env);
      const model = new TinyTransformer({ vocabSize: tok.size, dModel: 16, nLayers: 2, nHeads: 4, nKvHeads: 2, dFF: 48, maxLen: 128, seed: 3 });
      const agent = new TransformerAgent(model, tok);
      const rollouts = collectRollouts(env, env.generateTasks({ split: "train", count: 2, seed: 5 }), agent, { groupSize: 3, seed: 7 });
      const samples = rollouts.samples.map((s, i) => ({ ...s, reward: (i * 7) % 3 })); // a spread of advantages
      const reference = createReference(model);
      const dir = mkdtempSync(join(tmpdir(), "gradlab-action-twin-"));
      try {
        writeActionWorkload(dir, agent, reference, rollouts.trajectories, samples);
        const code = `import sys, json; sys.path.insert(0, ${JSON.stringify(join(ROOT, "scripts"))}); import gradlab_torch as g; print(json.dumps(g.action_grpo_check(${JSON.stringify(dir)}, repeats=1)))`;
        const r = spawnSync(PYTHON as string, ["-c", code], { encoding: "utf8" });
        assert.is(r.status, 0, `the PyTorch twin failed:\n${r.stderr}`);
        const check = JSON.parse(r.stdout.trim().split("\n").pop() as string);
        assert.ok(check.maxAbsLogPiDiff < 1e-5, `${env.name}: max |Δ log π| ${check.maxAbsLogPiDiff}`);
        assert.ok(check.lossDiff < 1e-5, `${env.name}: |Δ loss| ${check.lossDiff}`);
        assert.ok(check.statsDiff < 1e-5, `${env.name}: max |Δ diagnostics| ${check.statsDiff}`);
        assert.ok(check.maxAbsGrad > 1e-6, `${env.name}: the gradient is not trivially zero (${check.maxAbsGrad})`);
        assert.ok(check.maxAbsGradDiff < 1e-4 * check.maxAbsGrad, `${env.name}: max |Δ grad| ${check.maxAbsGradDiff} (largest ${check.maxAbsGrad})`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
        reference.dispose();
        model.dispose();
      }
    }
    assert.is(tf.memory().numTensors, tensorsBefore, "no tensors left behind by the workload writer");
  });
}

test.run();
