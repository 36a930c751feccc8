/**
 * The arms of the PRISM study (../shared/specs/prism.md, "Arms") and how each one splits the
 * training corpus into an SFT set (expert demonstrations imitated) and an RL set (tasks explored
 * with GRPO; their expert actions are never used).
 *
 *   base                nothing trained: the pre-trained policy as it is
 *   sft-100             every demonstration → SFT                       ("100:–")
 *   grpo-100            every task → RL                                 ("–:100")
 *   gigpo-100           as grpo-100 with GiGPO step-level advantages (optional)
 *   sft-then-rl         SFT on everything, then RL on everything        ("100:100")
 *   sft-then-rl-matched the compute-matched control: SFT-then-RL on everything, cut to the optimizer
 *                       steps a 50:50 split gets (SFT steps of n/2 demos, RL iterations of n/2
 *                       tasks) — so "PRISM vs SFT-then-RL" can be told apart from "more compute"
 *   random              a seeded random half → RL                        ("50:50")
 *   hpt                 the base policy's pass rate decides: the half it passes most → RL
 *                       (HPT's rule: low pass rate → imitate, high → explore); ties at equal pass
 *                       rates are broken by a seeded random order, not by corpus position
 *   prism-<metric>      median split of the concentration score: high → RL (metric gini,
 *                       kurtosis or cv; ties at the median → SFT)
 *   inverse-<metric>    the mirror: the lowest half → RL (high → SFT)
 *   magnitude           median split of the probe vector's L2 norm: high → RL
 *   prism-gini-sqrtnumel  prism-gini on the √numel-normalised probe (optional ablation)
 *   allocation-cv       the `q` highest CV scores → RL (the allocation sweep; q = 0.5 is prism-cv
 *                       up to ties, so the sweep uses prism-cv there)
 *   stepwise-static     prism-gini trained in rounds (SFT share, RL share per round); the policy
 *                       is re-probed before every round for measurement only, routes stay fixed
 *   stepwise-reprobe    the same rounds, re-routed by the re-probed Gini at every round
 * The two stepwise arms differ ONLY in re-routing, so their difference isolates its effect.
 */
import { Seed, toRng } from "../../random";
import { InvalidArgumentError, UnknownOptionError } from "../../errors";
import { route, Route, Routing } from "../../prism/routing";

/**
 * Every arm of the PRISM study, in table order: the base and the single-phase arms (SFT 100, GRPO 100,
 * GiGPO 100), the sequential controls (SFT-then-RL, and cut to PRISM's optimizer steps), the 50:50
 * routings (Random, HPT-like, PRISM per metric, Inverse per metric, Magnitude, √numel), the
 * allocation sweep and the two stepwise arms.
 */
export const PRISM_ARMS = [
  "base", "sft-100", "grpo-100", "gigpo-100", "sft-then-rl", "sft-then-rl-matched", "random", "hpt",
  "prism-gini", "prism-kurtosis", "prism-cv", "inverse-gini", "inverse-kurtosis", "inverse-cv",
  "magnitude", "prism-gini-sqrtnumel", "allocation-cv", "stepwise-static", "stepwise-reprobe",
] as const;
/** A PRISM study arm; see PRISM_ARMS. */
export type PrismArm = (typeof PRISM_ARMS)[number];

/** The metrics a PRISM or Inverse arm can route by. */
export const ROUTING_METRICS = ["gini", "kurtosis", "cv"] as const;
/** A concentration metric a PRISM or Inverse arm routes by; see ROUTING_METRICS. */
export type RoutingMetric = (typeof ROUTING_METRICS)[number];

/** The fractions routed to RL in the allocation sweep (Fig. 4 analogue). */
export const ALLOCATION_FRACTIONS = [0.1, 0.3, 0.5, 0.7, 0.9] as const;

/** A typed error listing the valid arms. */
export function assertArm(argument: string, arm: unknown): asserts arm is PrismArm {
  if (typeof arm !== "string" || !(PRISM_ARMS as readonly string[]).includes(arm)) throw new UnknownOptionError(argument, String(arm), PRISM_ARMS);
}

/** A typed error listing the valid routing metrics. */
export function assertRoutingMetric(argument: string, metric: unknown): asserts metric is RoutingMetric {
  if (typeof metric !== "string" || !(ROUTING_METRICS as readonly string[]).includes(metric)) throw new UnknownOptionError(argument, String(metric), ROUTING_METRICS);
}

/** What an arm trains: which phases run and what the routing reads. */
export interface ArmPlan {
  sft: boolean;
  rl: boolean;
  /** "all": both phases see the whole corpus; "split": a routing decides; "none": base. */
  data: "none" | "all" | "split";
  /** The routing's inputs: probe scores, base pass rates, or neither (random, all). */
  needs: "probe" | "probe-sqrt-numel" | "pass-rate" | "nothing";
  stepLevel: boolean;
  rounds: "one" | "static" | "reprobe";
  /** "data": budgets scale with the arm's own sets; "half-split": the budgets of a 50:50 split (the compute-matched control). */
  budget: "data" | "half-split";
}

/** What `arm` trains (its phases, data, routing input, rounds and budget rule); throws UnknownOptionError for an unknown arm. */
export function armPlan(arm: PrismArm): ArmPlan {
  assertArm("arm", arm);
  const plan: ArmPlan = { sft: true, rl: true, data: "split", needs: "probe", stepLevel: false, rounds: "one", budget: "data" };
  switch (arm) {
    case "base": return { ...plan, sft: false, rl: false, data: "none", needs: "nothing" };
    case "sft-100": return { ...plan, rl: false, data: "all", needs: "nothing" };
    case "grpo-100": return { ...plan, sft: false, data: "all", needs: "nothing" };
    case "gigpo-100": return { ...plan, sft: false, data: "all", needs: "nothing", stepLevel: true };
    case "sft-then-rl": return { ...plan, data: "all", needs: "nothing" };
    case "sft-then-rl-matched": return { ...plan, data: "all", needs: "nothing", budget: "half-split" };
    case "random": return { ...plan, needs: "nothing" };
    case "hpt": return { ...plan, needs: "pass-rate" };
    case "prism-gini-sqrtnumel": return { ...plan, needs: "probe-sqrt-numel" };
    case "stepwise-static": return { ...plan, rounds: "static" };
    case "stepwise-reprobe": return { ...plan, rounds: "reprobe" };
    default: return plan;
  }
}

/** The score and rule a split arm routes by (`q` only for allocation-cv). */
export function armRule(arm: PrismArm, q = 0.5): { score: "gini" | "kurtosis" | "cv" | "l2" | "pass-rate" | null; rule: "median" | "top-q" | "inverse" | "random"; q: number } {
  assertArm("arm", arm);
  if (!(q > 0 && q < 1)) throw new InvalidArgumentError("q", "a fraction in (0, 1)", q);
  if (arm === "allocation-cv") return { score: "cv", rule: "top-q", q };
  if (q !== 0.5) throw new InvalidArgumentError("q", `0.5 for arm ${arm} (only allocation-cv sweeps q)`, q);
  if (arm === "random") return { score: null, rule: "random", q };
  if (arm === "hpt") return { score: "pass-rate", rule: "top-q", q };
  if (arm === "magnitude") return { score: "l2", rule: "median", q };
  if (arm === "prism-gini-sqrtnumel" || arm === "stepwise-static" || arm === "stepwise-reprobe") return { score: "gini", rule: "median", q };
  const [kind, metric] = arm.split("-") as [string, RoutingMetric];
  if (kind === "prism") return { score: metric, rule: "median", q };
  if (kind === "inverse") return { score: metric, rule: "inverse", q };
  throw new InvalidArgumentError("arm", "an arm that splits the corpus", arm);
}

/** Inputs a split needs; only the ones the arm reads must be present. */
export interface RoutingInputs {
  /** Probe scores per corpus trajectory (raw probe): gini, kurtosis, cv, l2 … */
  scores?: Readonly<Record<string, readonly number[]>>;
  /** Scores of the √numel-normalised probe. */
  sqrtNumelScores?: Readonly<Record<string, readonly number[]>>;
  /** The base policy's pass rate per corpus task. */
  passRates?: readonly number[];
  /** Corpus size (for the score-free arms). */
  n: number;
  seed: Seed;
}

/**
 * The SFT/RL split of one arm. Arms that train on everything get every index in both sets they
 * use; "base" gets none.
 */
export function splitCorpus(arm: PrismArm, inputs: RoutingInputs, q = 0.5): { routes: Route[]; sft: number[]; rl: number[]; routing: Routing | null } {
  const plan = armPlan(arm);
  const all = Array.from({ length: inputs.n }, (_, i) => i);
  if (plan.data === "none") return { routes: [], sft: [], rl: [], routing: null };
  if (plan.data === "all") return { routes: [], sft: plan.sft ? all : [], rl: plan.rl ? all : [], routing: null };
  const { score, rule } = armRule(arm, q);
  let values: readonly number[];
  if (score === null) values = new Array(inputs.n).fill(0);
  else if (score === "pass-rate") {
    if (inputs.passRates === undefined) throw new InvalidArgumentError("inputs.passRates", `pass rates for arm ${arm}`);
    // Seeded random tie-break: many tasks share a pass rate (0 or 1); corpus order must not decide.
    const rank = toRng(inputs.seed).derive("hpt-ties").shuffle(all);
    const jitter = new Array<number>(inputs.n);
    rank.forEach((i, r) => { jitter[i] = r / (inputs.n * 1e6); });
    values = inputs.passRates.map((p, i) => p + jitter[i]);
  } else {
    const table = arm === "prism-gini-sqrtnumel" ? inputs.sqrtNumelScores : inputs.scores;
    const v = table?.[score];
    if (v === undefined) throw new InvalidArgumentError(arm === "prism-gini-sqrtnumel" ? "inputs.sqrtNumelScores" : "inputs.scores", `a "${score}" score for arm ${arm}`);
    values = v;
  }
  if (values.length !== inputs.n) throw new InvalidArgumentError("inputs", `${inputs.n} values per corpus item`, values.length);
  const routing = route(values, rule === "median" ? { rule } : rule === "random" ? { rule, q, seed: toRng(inputs.seed).derive("random-arm") } : { rule, q });
  return { routes: routing.routes, sft: routing.sftIndices, rl: routing.rlIndices, routing };
}
