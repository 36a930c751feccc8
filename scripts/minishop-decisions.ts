/**
 * Scratch diagnosis (README "PRISM study settings"): does a pre-trained MiniShop policy TELL a
 * page of decoys from a page holding the target, or only follow a prior? Pre-trains as
 * prism-rl-trial.ts does, then runs greedy episodes on fresh seen tasks and tabulates the first
 * action on the first result page — click the first product, or click[next >] — by whether page 1
 * holds the target (regular) or only decoys (conflict), and for conflict pages by which flaws its
 * decoys show (a price flaw can only be seen by comparing digit tokens). Also how often the right
 * product is chosen once page 2 is reached. One seed; numbers print, nothing is stored.
 *
 * CONFLICT=sold-out diagnoses that variant instead (page 1 flaws then read "sold-out"); failing
 * conflict episodes are also tallied by their action pattern (product ids abstracted).
 *
 *   D=64 PRETRAIN=512,7,3e-3 PCF=0.3 EVALN=256 node --require tsx/cjs scripts/minishop-decisions.ts
 */
import { initBackend } from "../kernel-lib/backend";
import { Rng } from "../kernel-lib/random";
import { createEnv } from "../kernel-lib/envs";
import { expertPolicy } from "../kernel-lib/envs/experts";
import { runEpisode } from "../kernel-lib/envs/episode";
import { tokenizerFor } from "../kernel-lib/envs/tokenizer";
import { TinyTransformer } from "../kernel-lib/models/transformer";
import { trainSft } from "../kernel-lib/train/sft";
import { TransformerAgent } from "../kernel-lib/agents/policy";
import { evaluateAgent } from "../kernel-lib/agents/evaluate";
import type { ShopTask } from "../kernel-lib/envs/minishop-catalog";

const E = (k: string, d: string) => process.env[k] ?? d;

function flawOf(task: ShopTask, p: { color: string; material: string; price: number; soldOut?: true }): string {
  const g = task.goal;
  if (p.soldOut) return "sold-out";
  if (p.color !== g.color) return "color";
  if (p.material !== g.material) return "material";
  return p.price > g.maxPrice ? "price" : "none";
}

async function main() {
  await initBackend({ force: E("BACKEND", "wasm") });
  const env = createEnv("minishop", { horizon: 8, conflict: E("CONFLICT", "page-two") as any }) as any;
  const tok = tokenizerFor(env);
  const seed = Number(E("SEED", "0"));
  const rng = new Rng(seed).derive("exp", "minishop");
  const [pTasks, pEpochs, pLr] = E("PRETRAIN", "512,7,3e-3").split(",").map(Number);
  const d = Number(E("D", "64"));
  const model = new TinyTransformer({ vocabSize: tok.size, dModel: d, nLayers: Number(E("LAYERS", "2")), nHeads: 4, nKvHeads: 2, dFF: 3 * d, maxLen: 192, seed: 7 + seed });
  const pre = env.generateTasks({ split: "train", count: pTasks, seed: rng.derive("pt").tfSeed(), conflictFraction: Number(E("PCF", "0.3")) });
  trainSft(model, pre.map((t: any) => tok.encodeTrajectory(runEpisode(env, t, expertPolicy(t)), 192)), { epochs: pEpochs, batchSize: 16, learningRate: pLr, seed: rng.derive("pre") });
  const agent = new TransformerAgent(model, tok);
  const tasks = env.generateTasks({ split: "train", count: Number(E("EVALN", "256")), seed: rng.derive("diag").tfSeed(), conflictFraction: 0.5 }) as ShopTask[];
  const run = evaluateAgent(env, agent, tasks, { mode: "greedy", keepTrajectories: true });
  const tally = new Map<string, { n: number; next: number; first: number; other: number }>();
  let reachedPage2 = 0, rightOnPage2 = 0;
  for (const t of run.trajectories!) {
    const task = t.task as ShopTask;
    const i = t.steps.findIndex((s) => s.observation.startsWith("page 1"));
    if (i < 0) continue;
    const listed = task.world.products.filter((p) => p.category === task.goal.category).slice(0, 3);
    const key = task.conflict ? `conflict: page-1 flaws ${listed.map((p) => flawOf(task, p)).sort().join("+")}` : "regular: target first";
    const a = t.steps[i].action;
    const row = tally.get(key) ?? { n: 0, next: 0, first: 0, other: 0 };
    row.n += 1;
    if (a === "click[next >]") row.next += 1; else if (a === `click[${listed[0].id}]`) row.first += 1; else row.other += 1;
    tally.set(key, row);
    const j = t.steps.findIndex((s) => s.observation.startsWith("page 2"));
    if (task.conflict && j >= 0) { reachedPage2 += 1; if (t.steps[j].action === `click[${task.world.products.find((p) => p.category === task.goal.category && flawOf(task, p) === "none")!.id}]`) rightOnPage2 += 1; }
  }
  const flat = (k: string) => !k.startsWith("conflict") ? k : k.includes("sold-out") ? "conflict, sold-out page 1" : k.includes("price") ? "conflict, a price flaw on page 1" : "conflict, colour/material flaws only";
  const patterns = new Map<string, number>();
  for (const t of run.trajectories!) {
    if (!(t.task as ShopTask).conflict || t.success) continue;
    const pattern = t.steps.map((s) => s.action.replace(/p\d+/, "p*")).join(" ");
    patterns.set(pattern, (patterns.get(pattern) ?? 0) + 1);
  }
  const grouped = new Map<string, { n: number; next: number; first: number; other: number }>();
  for (const [k, r] of tally) { const g = grouped.get(flat(k)) ?? { n: 0, next: 0, first: 0, other: 0 }; g.n += r.n; g.next += r.next; g.first += r.first; g.other += r.other; grouped.set(flat(k), g); }
  console.log(`greedy success ${run.successRate.toFixed(3)} regular ${run.regular.successRate.toFixed(3)} conflict ${run.conflict.successRate.toFixed(3)}`);
  for (const [k, r] of grouped) console.log(`${k}: n ${r.n}, first action on page 1 — next ${(100 * r.next / r.n).toFixed(1)}%, first product ${(100 * r.first / r.n).toFixed(1)}%, other ${(100 * r.other / r.n).toFixed(1)}%`);
  console.log(`conflict episodes that reached page 2: ${reachedPage2}; chose the target there: ${rightOnPage2}`);
  for (const [pattern, n] of [...patterns].sort((a, b) => b[1] - a[1]).slice(0, 6)) console.log(`  failing conflict pattern ×${n}: ${pattern}`);
}
main().catch((e) => { console.error(e); process.exit(1); });
