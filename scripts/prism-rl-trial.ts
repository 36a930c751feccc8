/**
 * A scratch trial of RL on the PRISM toy, outside the study: pre-train a policy on expert demos,
 * then run GRPO (action-level by default) on a corpus of train tasks and print held-out greedy /
 * sampled success (regular vs conflict) and success on RL's own tasks every EVERY iterations. Used
 * to choose the study's RL settings (README "PRISM study settings"); numbers are one seed.
 *
 *   ENV=minialf D=64 KV=2 FF=3 PRETRAIN=512,6,3e-3 LR=3e-4 ITERS=32 EVERY=16 CORPUS=128 \
 *     node --require tsx/cjs scripts/prism-rl-trial.ts
 *
 * Settings (environment variables): ENV, SEED, BACKEND, CTX (context), D / KV / FF (width, kv
 * heads, dFF multiple), PRETRAIN (tasks,epochs,lr), PCF (pre-training conflict fraction), EVALN,
 * CORPUS, LAYERS, ITERS, EVERY, TPI (tasks per iteration), G (group), LR, KL, TEMPERATURE (not TEMP: os.tmpdir() reads TEMP), OBJ (actions|tokens),
 * CRITERION (stop pre-training at this regular greedy success, as the study does), PPO (epochs), MB (minibatch), REWARD (success|score), CONFLICT (MiniShop: page-two|sold-out), PCONFLICT (the
 * pre-training demos' MiniShop conflict kind).
 */
import { tf } from "../kernel-lib/tf";
import { initBackend } from "../kernel-lib/backend";
import { Rng } from "../kernel-lib/random";
import { createEnv } from "../kernel-lib/envs";
import { expertPolicy } from "../kernel-lib/envs/experts";
import { runEpisode } from "../kernel-lib/envs/episode";
import { tokenizerFor } from "../kernel-lib/envs/tokenizer";
import { TinyTransformer } from "../kernel-lib/models/transformer";
import { trainSft } from "../kernel-lib/train/sft";
import { TransformerAgent } from "../kernel-lib/agents/policy";
import { evaluationSet, evaluateAgent } from "../kernel-lib/agents/evaluate";
import { trainAgentGrpo } from "../kernel-lib/agents/train-grpo";

const E = (k: string, d: string) => process.env[k] ?? d;
async function main() {
  await initBackend({ force: E("BACKEND", "wasm") });
  const envName = E("ENV", "minishop") as any;
  const alf = envName === "minialf";
  const env = createEnv(envName, alf ? { horizon: 20 } : { horizon: 8, conflict: E("CONFLICT", "page-two") as any }) as any;
  const tok = tokenizerFor(env);
  const T = Number(E("CTX", alf ? "256" : "128"));
  const seed = Number(E("SEED", "0"));
  const rng = new Rng(seed).derive("exp", envName);
  const [pTasks, pEpochs, pLr] = E("PRETRAIN", "256,4,3e-3").split(",").map(Number);
  const d = Number(E("D", "32"));
  const cfg = { vocabSize: tok.size, dModel: d, nLayers: Number(E("LAYERS", "2")), nHeads: 4, nKvHeads: Number(E("KV", "4")), dFF: Number(E("FF", "2")) * d, maxLen: T, seed: 7 + seed };
  const model = new TinyTransformer(cfg);
  const enc = (t: any) => tok.encodeTrajectory(runEpisode(env, t, expertPolicy(t)), T);
  // PCONFLICT: the MiniShop conflict kind of the pre-training demos (default: the env's own).
  const preEnv = alf || process.env.PCONFLICT === undefined ? env : createEnv(envName, { horizon: 8, conflict: E("PCONFLICT", "page-two") as any }) as any;
  const pre = preEnv.generateTasks({ split: "train", count: pTasks, seed: rng.derive("pt").tfSeed(), conflictFraction: Number(E("PCF", "0.1")) });
  let t0 = Date.now();
  const encoded = pre.map(enc);
  console.log("truncated demos", encoded.filter((e: any) => e.droppedSteps > 0).length, "max tokens", Math.max(...encoded.map((e: any) => e.length)));
  const agent = new TransformerAgent(model, tok);
  // CRITERION=0.8 pre-trains epoch by epoch (one Adam) until greedy success on 64 fresh regular
  // tasks reaches it, as the study's base does; otherwise PRETRAIN's epochs in one call.
  const criterion = Number(E("CRITERION", "NaN"));
  if (Number.isFinite(criterion)) {
    const optimizer = tf.train.adam(pLr);
    const validation = env.generateTasks({ split: "train", count: 64, seed: rng.derive("pv").tfSeed(), conflictFraction: 0 });
    for (let epoch = 0; epoch < pEpochs; epoch++) {
      const r = trainSft(model, encoded, { epochs: 1, batchSize: 16, learningRate: pLr, seed: rng.derive("pre", epoch), optimizer });
      const v = evaluateAgent(env, agent, validation, { mode: "greedy" }).successRate;
      console.log(`pretrain epoch ${epoch + 1} loss ${r.epochLosses[0].toFixed(3)} regular validation ${v.toFixed(3)}`);
      if (v >= criterion) break;
    }
    optimizer.dispose();
  } else {
    const r = trainSft(model, encoded, { epochs: pEpochs, batchSize: 16, learningRate: pLr, seed: rng.derive("pre") });
    console.log("pretrain", ((Date.now() - t0) / 1000).toFixed(1), "s loss", r.epochLosses.map((x: number) => x.toFixed(3)).join(" "));
  }
  const evalN = Number(E("EVALN", "128"));
  const evalSet = evaluationSet(env, "seen", evalN, `prism/${seed}`);
  const ev = (tag: string) => {
    const g = evaluateAgent(env, agent, evalSet, { mode: "greedy" });
    const s = evaluateAgent(env, agent, evalSet, { mode: "sample", seed: 3 });
    console.log(`${tag}: greedy ${g.successRate.toFixed(3)} score ${g.meanScore.toFixed(1)} reg ${g.regular.successRate.toFixed(3)} conf ${g.conflict.successRate.toFixed(3)} | sample ${s.successRate.toFixed(3)} reg ${s.regular.successRate.toFixed(3)} conf ${s.conflict.successRate.toFixed(3)}`);
  };
  const corpus = env.generateTasks({ split: "train", count: Number(E("CORPUS", "128")), seed: rng.derive("corpus").tfSeed(), conflictFraction: 0.5 });
  const evTrain = () => { const g = evaluateAgent(env, agent, corpus, { mode: "greedy" }); return `train-greedy ${g.successRate.toFixed(3)} score ${g.meanScore.toFixed(1)}`; };
  const ev0 = ev; const ev2 = (tag: string) => { ev0(tag); console.log("   ", evTrain()); };
  ev2("base");
  const iters = Number(E("ITERS", "64")), every = Number(E("EVERY", "16"));
  t0 = Date.now();
  let done = 0;
  while (done < iters) {
    const res = trainAgentGrpo(env, agent, corpus, {
      iterations: every, tasksPerIteration: Number(E("TPI", "8")), groupSize: Number(E("G", "8")), learningRate: Number(E("LR", "1e-3")),
      klBeta: Number(E("KL", "0.02")), temperature: Number(E("TEMPERATURE", "1")), objective: E("OBJ", "actions") as any, reward: E("REWARD", "score") as any,
      ppoEpochs: Number(E("PPO", "2")), minibatchSize: Number(E("MB", "32")), seed: rng.derive("rl", done),
    });
    done += every;
    const c = res.curve;
    const avg = (f: (p: any) => number) => (c.reduce((a, p) => a + f(p), 0) / c.length).toFixed(3);
    console.log(`it ${done} ${((Date.now() - t0) / 1000).toFixed(0)}s rollSucc ${avg((p) => p.rolloutSuccess)} signal ${avg((p) => p.groupsWithSignal)} trunc ${c.reduce((a, p) => a + p.truncatedSamples, 0)}`);
    ev2(`  after ${done}`);
  }
  console.log("tensors", tf.memory().numTensors);
}
main().catch((e) => { console.error(e); process.exit(1); });
