/**
 * PRISM routing rules: which trajectories go to SFT (consolidation) and which to RL
 * (restructuring), from one score per trajectory.
 *
 *  - "median"   s ≤ median → SFT, s > median → RL. Ties at the median go to SFT, so with many
 *               ties the RL share falls below one half: the tie count is reported.
 *  - "top-q"    the ⌈q·n⌉… precisely round(q·n) highest scores → RL (the allocation sweep).
 *               Equal scores at the boundary are ordered by index (stable), reported as ties.
 *  - "inverse"  the mirror of top-q: the lowest round(q·n) scores → RL (high → SFT).
 *  - "random"   round(q·n) seeded random trajectories → RL, ignoring the scores.
 * "magnitude" routing is "median" (or "top-q") applied to the L2 score; see probe.ts.
 */
import { assertFinite, assertKnownKeys, assertOneOf, EmptyInputError, InvalidArgumentError } from "../errors";
import { Rng, Seed, toRng } from "../random";

/** The routing rules `route` implements (see there). */
export const ROUTING_RULES = ["median", "top-q", "inverse", "random"] as const;
/** A routing rule; see ROUTING_RULES and `route`. */
export type RoutingRule = (typeof ROUTING_RULES)[number];
/** Where a trajectory is routed. */
export type Route = "sft" | "rl";

/** Options of `route` / `routeByMetric`. */
export interface RoutingOptions {
  rule: RoutingRule;
  /** Fraction routed to RL for top-q / inverse / random (default 0.5). */
  q?: number;
  /** Required for "random". */
  seed?: Seed | Rng;
}

/**
 * What `route` returns: each trajectory's route, the indices per route, the threshold, ties and the
 * RL share.
 */
export interface Routing {
  rule: RoutingRule;
  routes: Route[];
  rlIndices: number[];
  sftIndices: number[];
  /** median: the median; top-q / inverse: the boundary score; random: NaN. */
  threshold: number;
  /** Scores equal to the threshold (decided by the tie rule, not by the score). */
  ties: number;
  rlFraction: number;
}

/** The median of `values` (mean of the two middle values for even n). */
export function median(values: ArrayLike<number>): number {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  return n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/**
 * Routes trajectories to SFT or RL from one score each. Rules: "median" (above the median → RL;
 * ties → SFT, counted), "top-q" (the round(q·n) highest → RL), "inverse" (the lowest round(q·n) →
 * RL), "random" (round(q·n) seeded random → RL, the control). `q` defaults to 0.5.
 *
 * @example
 * ```ts
 * const r = lab.prism.route([0.1, 0.5, 0.3, 0.9], { rule: "median" });
 * r.routes;                                                  // ["sft", "rl", "sft", "rl"]
 * ```
 */
export function route(scores: ArrayLike<number>, options: RoutingOptions): Routing {
  assertKnownKeys("options", options, ["rule", "q", "seed"]);
  assertOneOf("options.rule", options.rule, ROUTING_RULES);
  if (scores.length === 0) throw new EmptyInputError("scores", "at least one score");
  assertFinite("scores", scores);
  const n = scores.length;
  const q = options.q ?? 0.5;
  if (!(q >= 0 && q <= 1)) throw new InvalidArgumentError("options.q", "a fraction in [0, 1]", q);
  if (options.rule === "median" && options.q !== undefined && options.q !== 0.5) {
    throw new InvalidArgumentError("options.q", "unset (the median rule always splits at the median; use rule top-q)", options.q);
  }
  const routes: Route[] = new Array(n).fill("sft");
  let threshold = NaN, ties = 0;

  if (options.rule === "median") {
    threshold = median(scores);
    for (let i = 0; i < n; i++) {
      if (scores[i] > threshold) routes[i] = "rl";
      if (scores[i] === threshold) ties++;
    }
  } else if (options.rule === "random") {
    if (options.seed === undefined) throw new InvalidArgumentError("options.seed", "a seed for the random rule");
    for (const i of toRng(options.seed).derive("route-random").sampleIndices(n, Math.round(q * n))) routes[i] = "rl";
  } else {
    const k = Math.round(q * n);
    const sign = options.rule === "top-q" ? -1 : 1; // top-q: descending scores first
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => sign * (scores[a] - scores[b]) || a - b);
    for (let r = 0; r < k; r++) routes[order[r]] = "rl";
    if (k > 0 && k < n) {
      threshold = scores[order[k - 1]];
      // Ties straddling the boundary: equal scores that landed on different sides.
      const inside = order.slice(0, k).filter((i) => scores[i] === threshold).length;
      const outside = order.slice(k).filter((i) => scores[i] === threshold).length;
      ties = outside > 0 ? inside + outside : 0;
    }
  }
  const rlIndices = routes.flatMap((r, i) => (r === "rl" ? [i] : []));
  const sftIndices = routes.flatMap((r, i) => (r === "sft" ? [i] : []));
  return { rule: options.rule, routes, rlIndices, sftIndices, threshold, ties, rlFraction: rlIndices.length / n };
}
