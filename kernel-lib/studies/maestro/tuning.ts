/**
 * Static weight search — the "tuned static weights" arm (the paper has no such arm): the single
 * global w on a simplex grid, plus the equal weights 1/K (which a grid of quarters misses), that
 * maximises the TRUE utility (mean over types) on a held-out validation prompt set. Two
 * strategies:
 *  - "argmax" (tier A): a policy trained on wᵀr converges to the bank response maximising wᵀr
 *    per prompt; score w by the true utility of those responses (ties averaged). Exact and cheap
 *    (grid × prompts × bank evaluations, no training), i.e. an idealised converged policy that
 *    also knows each prompt's bank perfectly: the "argmax-predicted best static", not an oracle —
 *    its prediction and the trained arm's achieved utility are reported side by side.
 *  - "runs" (any tier): a short static-weight training run per grid point from the same initial
 *    policy, scored on the validation set. Honest about the search cost: grid × steps policy
 *    steps, reported next to the arm's own budget.
 * `bankStaticUtilities` is also what shows the conflict: no single w is best for every type.
 */
import { InvalidArgumentError } from "../../errors";
import { buildResponseBank } from "./bank-policy";
import { MaestroEnv, MaestroPrompt, TASK_TYPES } from "./env";
import { NUM_COMPONENTS, RewardModel, TRUE_UTILITY_WEIGHTS, dot, simplexGrid } from "./rewards";
import type { RunContext } from "./run-context";
import { restoreInitialPolicy } from "./run-context";
import { trainPolicy } from "./train";
import { evaluatePolicy } from "./evaluate";
import type { TunedSearchStrategy } from "./arms";

/** What the tuned arm's static-weight search found and what it cost (stored with the run). */
export interface TunedSearchReport {
  /** "argmax" (predicted for a converged policy) or "runs" (short training runs). */
  strategy: TunedSearchStrategy;
  /** Simplex grid step 1/divisions. */
  gridDivisions: number;
  /** Grid points searched (the simplex grid plus 1/K). */
  gridPoints: number;
  /** The w with the best mean validation true utility. */
  bestWeights: number[];
  /** Mean over types of the validation true utility at bestWeights. */
  bestValidationUtility: number;
  /** Indexed `[gridIndex]`: the grid's weights and mean validation utility (for plots). */
  grid: { weights: number[]; utility: number }[];
  /** The search's cost: policy evaluations, training steps ("runs") and seconds. */
  cost: { evaluations: number; policySteps: number; seconds: number };
}

/**
 * Indexed `[gridIndex][typeIndex]`: mean true utility, over `prompts` of each type (TASK_TYPES order), of
 * the bank response maximising wᵀr (r from `rewards`, raw or normalised as it is set up; ties
 * averaged). A type with no prompt gets 0.
 */
export function bankStaticUtilities(env: MaestroEnv, rewards: RewardModel, prompts: readonly MaestroPrompt[], grid: readonly number[][]): number[][] {
  if (prompts.length === 0) throw new InvalidArgumentError("prompts", "at least one prompt");
  const banks = prompts.map((p) => {
    const bank = buildResponseBank(env, p);
    return { type: p.type, r: bank.map((resp) => rewards.components(p, resp)), u: bank.map((resp) => rewards.trueUtility(p, resp)) };
  });
  return grid.map((w) => {
    const sums = TASK_TYPES.map(() => 0), counts = TASK_TYPES.map(() => 0);
    for (const { type, r, u } of banks) {
      const scores = r.map((rj) => dot(w, rj));
      const best = Math.max(...scores);
      const tied = scores.map((sc, j) => (sc >= best - 1e-12 ? j : -1)).filter((j) => j >= 0);
      const t = TASK_TYPES.indexOf(type);
      sums[t] += tied.reduce((a, j) => a + u[j], 0) / tied.length;
      counts[t]++;
    }
    return sums.map((s, t) => (counts[t] === 0 ? 0 : s / counts[t]));
  });
}

/** The simplex grid in steps of 1/divisions, plus the equal weights 1/K when the grid lacks them. */
export function staticSearchGrid(divisions: number): number[][] {
  const grid = simplexGrid(NUM_COMPONENTS, divisions);
  const equal = new Array<number>(NUM_COMPONENTS).fill(1 / NUM_COMPONENTS);
  if (!grid.some((w) => w.every((v, k) => Math.abs(v - equal[k]) < 1e-12))) grid.push(equal);
  return grid;
}

/** Runs the tuned arm's search (strategy and grid from the run config). */
export function searchStaticWeights(ctx: RunContext): TunedSearchReport {
  const c = ctx.config;
  const started = Date.now();
  const grid = staticSearchGrid(c.tunedGridDivisions);
  const validation = ctx.env.promptSet("validation", c.validationPromptsPerType);
  let utilities: number[];
  let evaluations: number, policySteps = 0;
  if (c.tunedSearch === "argmax") {
    if (c.tier !== "bank") throw new InvalidArgumentError("config.tunedSearch", "\"runs\" for tier gru (argmax needs the response bank)", c.tunedSearch);
    utilities = bankStaticUtilities(ctx.env, ctx.rewards, validation, grid).map((perType) => perType.reduce((a, b) => a + b, 0) / perType.length);
    evaluations = grid.length * validation.length;
  } else {
    utilities = grid.map((w, i) => {
      restoreInitialPolicy(ctx);
      const trained = trainPolicy(ctx, { weighting: "static", staticWeights: w, sampling: "per-response", tuned: false, frozen: false, train: true }, c.tunedSearchSteps, `search-${i}`);
      trained.conductor?.dispose();
      policySteps += c.tunedSearchSteps;
      return evaluatePolicy(ctx, validation, `search-${i}`).trueUtilityOverall;
    });
    evaluations = grid.length * validation.length;
  }
  let best = 0;
  utilities.forEach((u, i) => { if (u > utilities[best]) best = i; });
  return {
    strategy: c.tunedSearch, gridDivisions: c.tunedGridDivisions, gridPoints: grid.length,
    bestWeights: grid[best].slice(), bestValidationUtility: utilities[best],
    grid: grid.map((weights, i) => ({ weights, utility: utilities[i] })),
    cost: { evaluations, policySteps, seconds: (Date.now() - started) / 1000 },
  };
}

/** The true-utility weights as a [type][k] matrix (TASK_TYPES × REWARD_COMPONENTS), for plots. */
export function trueUtilityMatrix(): number[][] {
  return TASK_TYPES.map((t) => TRUE_UTILITY_WEIGHTS[t].slice());
}
