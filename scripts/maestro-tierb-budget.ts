/**
 * Scratch measurement (issue 17, "budgets to convergence"): what tier B (GRU policy) budget makes
 * the MAESTRO study's held-out true utility plateau? The default preset trains tier B for 40 steps
 * (`gru: {steps: 40, pretrainSteps: 150, evalPromptsPerType: 8, evalSamples: 4}`); this script does
 * NOT change it and writes nothing to the run store — it only measures.
 *
 * For each arm and seed it runs ONE long `runMaestroArm` at the default tier B settings with
 * `steps = STEPS` and `curveEvalEvery = EVERY`, so the run's held-out true-utility curve gives every
 * shorter budget at once: per-step randomness is derived from the seed by step label and the
 * policy's Adam rate is constant, so the first B steps of a long run are exactly a B-step run
 * (only the final "final"-labelled evaluation of a B-step run draws different eval samples).
 *
 * Plateau criteria, evaluated at every curve point B ≥ MIN_BUDGET (U = held-out true utility,
 * smoothed by a centred 3-point moving average of the curve, ends shrinking the window):
 *   (a) "quarter": gain over the last quarter, U(B) − U(3B/4), is < THRESHOLD — and stays so at every
 *       later curve point (a plateau is not a single noisy flat spot);
 *   (b) "final": U(B) is within THRESHOLD of the run's end level (mean raw U over its last quarter);
 *   (c) "doubling": U(2B) − U(B) < THRESHOLD and stays so for every later B with 2B ≤ STEPS — doubling
 *       the budget buys less than one seed sd (only budgets up to STEPS / 2 can be judged).
 * (a) is the notebook's own check, but its window shrinks with B (a 40-step budget's quarter is 10
 * steps), so it passes early budgets that are still climbing; (b) and (c) do not have that bias.
 * THRESHOLD defaults to 0.0153, the seed-to-seed sd of the tier B equal arm (notebook 04).
 * The smallest B meeting each is reported per arm / seed.
 *
 * Measured 2026-12-08 (wasm, one process; seeds 0–2 oracle, 0–1 equal / maestro, 0 the rest; 640–960
 * steps): every non-oracle arm is within 0.0153 of its end level by 80–220 steps (maestro seed 1 jumps
 * +0.018 at ~230); the oracle keeps rising to 0.58–0.62 and meets (b) at 200 / 320 / 480 steps (seeds
 * 2 / 1 / 0). At 40 steps the oracle (0.49–0.52) is no better than equal (0.51). ~0.08–0.15 s per step.
 *
 * Run (one process; the machine is shared, so nice it):
 *   nice -n 10 node --require tsx/cjs scripts/maestro-tierb-budget.ts
 *   ARMS=oracle,equal,maestro SEEDS=0,1 STEPS=160 EVERY=10 nice -n 10 node --require tsx/cjs scripts/maestro-tierb-budget.ts
 * Settings (environment variables): ARMS (comma list of MAESTRO_ARMS, default oracle,equal,maestro),
 * SEEDS (default 0), STEPS (default 160), EVERY (curve spacing, default 10), THRESHOLD (default
 * 0.0153), MIN_BUDGET (smallest budget considered, default 20), EVAL_SAMPLES (override the eval's
 * samples per prompt, default the preset's 4), BACKEND (force a tfjs backend), OUT (write the raw
 * curves as JSON to this path, default none).
 */
import * as fs from "fs";
import { tf } from "../kernel-lib/tf";
import { initBackend } from "../kernel-lib/backend";
import { MaestroArm, MaestroRunConfig } from "../kernel-lib/studies/maestro/arms";
import { runMaestroArm } from "../kernel-lib/studies/maestro/train";

const E = (k: string, d: string) => process.env[k] ?? d;
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** The default preset's tier B settings (study-grid.ts GRU.default), copied so this script cannot change them. */
const GRU_DEFAULT: Omit<MaestroRunConfig, "arm"> = { tier: "gru", mapping: "discrete", pretrainSteps: 150, evalPromptsPerType: 8, evalSamples: 4 };

interface Curve { step: number[]; u: number[] }
interface Plateau { quarter: number | null; final: number | null; doubling: number | null; endLevel: number; gainLastQuarter: number }

/** Centred 3-point moving average (window shrinks at the ends). */
function smooth(u: readonly number[]): number[] {
  return u.map((_, i) => mean(u.slice(Math.max(0, i - 1), Math.min(u.length, i + 2))));
}

/** Value of a (step, value) curve at step s by linear interpolation. */
function at(step: readonly number[], v: readonly number[], s: number): number {
  if (s <= step[0]) return v[0];
  for (let i = 1; i < step.length; i++) {
    if (s <= step[i]) return v[i - 1] + ((v[i] - v[i - 1]) * (s - step[i - 1])) / (step[i] - step[i - 1]);
  }
  return v[v.length - 1];
}

function plateau(curve: Curve, threshold: number, minBudget: number): Plateau {
  const { step, u } = curve;
  const sm = smooth(u);
  const last = step[step.length - 1];
  const endLevel = mean(u.filter((_, i) => step[i] >= (3 * last) / 4));
  const gain = (B: number) => at(step, sm, B) - at(step, sm, (3 * B) / 4);
  const candidates = step.filter((s) => s >= minBudget);
  let quarter: number | null = null;
  for (let i = candidates.length - 1; i >= 0; i--) {
    if (gain(candidates[i]) < threshold) quarter = candidates[i];
    else break;
  }
  const final = candidates.find((B) => at(step, sm, B) >= endLevel - threshold) ?? null;
  const halves = candidates.filter((B) => 2 * B <= last);
  let doubling: number | null = null;
  for (let i = halves.length - 1; i >= 0; i--) {
    if (at(step, sm, 2 * halves[i]) - at(step, sm, halves[i]) < threshold) doubling = halves[i];
    else break;
  }
  return { quarter, final, doubling, endLevel, gainLastQuarter: gain(last) };
}

async function main() {
  const backend = await initBackend(process.env.BACKEND ? { force: process.env.BACKEND } : {});
  const arms = E("ARMS", "oracle,equal,maestro").split(",") as MaestroArm[];
  const seeds = E("SEEDS", "0").split(",").map(Number);
  const steps = Number(E("STEPS", "160"));
  const every = Number(E("EVERY", "10"));
  const threshold = Number(E("THRESHOLD", "0.0153"));
  const minBudget = Number(E("MIN_BUDGET", "20"));
  const evalSamples = process.env.EVAL_SAMPLES ? Number(process.env.EVAL_SAMPLES) : GRU_DEFAULT.evalSamples;
  console.log(`backend ${backend.candidate} (${tf.getBackend()}); arms ${arms.join(",")}; seeds ${seeds.join(",")}; steps ${steps}, curve every ${every}, threshold ${threshold}, evalSamples ${evalSamples}`);
  const out: Record<string, unknown>[] = [];
  for (const seed of seeds) {
    for (const arm of arms) {
      const t0 = Date.now();
      const r = runMaestroArm({ ...GRU_DEFAULT, evalSamples, arm, steps, curveEvalEvery: every }, seed);
      const seconds = (Date.now() - t0) / 1000;
      const curve: Curve = { step: r.curves.heldOut.step, u: r.curves.heldOut.trueUtility };
      const sps = r.curves.secondsPerStep;
      const p = plateau(curve, threshold, minBudget);
      const evalSeconds = seconds - r.metrics.pretrainSeconds - sps.reduce((a, b) => a + b, 0);
      console.log(`\n== ${arm} seed ${seed}: ${seconds.toFixed(1)} s total (pre-train ${r.metrics.pretrainSeconds.toFixed(1)} s, ${mean(sps).toFixed(3)} s/step mean, first 40 steps ${mean(sps.slice(0, 40)).toFixed(3)}, last 40 ${mean(sps.slice(-40)).toFixed(3)}; ${curve.step.length + 1} evaluations ${evalSeconds.toFixed(1)} s), final held-out U ${r.metrics.trueUtilityOverall.toFixed(4)}, length ${r.metrics.length.toFixed(2)}`);
      const sm = smooth(curve.u);
      console.log("  step  " + curve.step.map((s) => String(s).padStart(6)).join(""));
      console.log("  U     " + curve.u.map((v) => v.toFixed(3).padStart(6)).join(""));
      console.log("  U sm  " + sm.map((v) => v.toFixed(3).padStart(6)).join(""));
      console.log("  gainQ " + curve.step.map((s) => (s < minBudget ? "     ." : (at(curve.step, sm, s) - at(curve.step, sm, (3 * s) / 4)).toFixed(3).padStart(6))).join(""));
      console.log("  gain2 " + curve.step.map((s) => (s < minBudget || 2 * s > steps ? "     ." : (at(curve.step, sm, 2 * s) - at(curve.step, sm, s)).toFixed(3).padStart(6))).join(""));
      console.log(`  plateau: (a) last-quarter gain < ${threshold} from B = ${p.quarter ?? "none"} on; (b) within ${threshold} of the end level ${p.endLevel.toFixed(4)} from B = ${p.final ?? "none"}; (c) U(2B) − U(B) < ${threshold} from B = ${p.doubling ?? "none"} on; gain over the last quarter of ${steps} steps ${p.gainLastQuarter.toFixed(4)}`);
      out.push({ arm, seed, steps, every, seconds, pretrainSeconds: r.metrics.pretrainSeconds, secondsPerStep: sps, heldOut: curve, final: r.metrics.trueUtilityOverall, plateau: p });
    }
  }
  console.log("\n== summary: smallest budget by (a) last-quarter gain / (b) within threshold of the end level / (c) doubling gain");
  for (const o of out) {
    const p = o.plateau as Plateau;
    console.log(`  ${String(o.arm).padEnd(12)} seed ${o.seed}: (a) ${p.quarter ?? "none"}  (b) ${p.final ?? "none"}  (c) ${p.doubling ?? "none"}   U@40 ${at((o.heldOut as Curve).step, smooth((o.heldOut as Curve).u), 40).toFixed(3)}  end level ${p.endLevel.toFixed(3)}   s/step ${mean(o.secondsPerStep as number[]).toFixed(3)}`);
  }
  if (process.env.OUT) fs.writeFileSync(process.env.OUT, JSON.stringify(out, null, 1));
}

main().catch((e) => { console.error(e); process.exit(1); });
