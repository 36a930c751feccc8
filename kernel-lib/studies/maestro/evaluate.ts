/**
 * Evaluation of a MAESTRO policy on a prompt set: the expected TRUE utility (hidden from
 * training) per type and per prompt, components, length and repetition — exact under the bank
 * policy's π (tier A), averaged over `evalSamples` sampled responses (tier B). Per-prompt values
 * come in the order given, so two arms of one seed pair prompt by prompt.
 */
import { MaestroPrompt, TASK_TYPES, repetitionRate } from "./env";
import { NUM_COMPONENTS, TRUE_UTILITY_WEIGHTS, dot } from "./rewards";
import type { PerType, RunContext } from "./run-context";

const emptyPerType = <T>(make: () => T): PerType<T> => ({ creative: make(), factual: make(), concise: make() });
const mean = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
const meanVector = (rows: readonly number[][], K: number) => Array.from({ length: K }, (_, k) => mean(rows.map((r) => r[k])));

/**
 * What `evaluatePolicy` returns: the policy's expected true utility (per type, overall and per
 * prompt), components, length and repetition on the given prompts — exact in tier A, over sampled
 * responses in tier B — and the weights the arm's weighting would give those responses.
 */
export interface PolicyEvaluation {
  /** Expected true utility per type. */
  trueUtility: PerType<number>;
  /** Mean of `trueUtility` over the types. */
  trueUtilityOverall: number;
  /** Expected normalised components per type. */
  components: PerType<number[]>;
  /** Expected response length (tokens before <eos>). */
  length: number;
  /** Expected repetition rate. */
  repetition: number;
  /** Mean weights per type the weighting would give the eval responses. */
  weights: PerType<number[]>;
  /** Per prompt, in the order given: expected true utility and expected response length (for paired tests across arms). */
  promptUtility: number[];
  /** Per prompt, expected response length (same order as promptUtility). */
  promptLength: number[];
}

/** Expected true utility etc. of the current policy on `prompts`. */
export function evaluatePolicy(ctx: RunContext, prompts: readonly MaestroPrompt[], label: string, weightsOf?: (prompt: MaestroPrompt, hidden: number[]) => number[]): PolicyEvaluation {
  const K = NUM_COMPONENTS;
  const dist = ctx.policy.responseDistribution(prompts, ctx.rng.derive("eval", label), ctx.config.evalSamples);
  const byType = emptyPerType(() => ({ utility: [] as number[], components: [] as number[][], weights: [] as number[][] }));
  let length = 0, repetition = 0;
  const promptUtility: number[] = [], promptLength: number[] = [];
  prompts.forEach((prompt, i) => {
    let u = 0, len = 0, rep = 0;
    const comp = new Array<number>(K).fill(0), w = new Array<number>(K).fill(0);
    for (const { response, probability, hidden } of dist[i]) {
      const r = ctx.rewards.components(prompt, response, true);
      u += probability * dot(TRUE_UTILITY_WEIGHTS[prompt.type], r);
      len += probability * response.body.length;
      rep += probability * repetitionRate(response.body);
      r.forEach((v, k) => { comp[k] += probability * v; });
      if (weightsOf !== undefined) weightsOf(prompt, hidden).forEach((v, k) => { w[k] += probability * v; });
    }
    const t = byType[prompt.type];
    t.utility.push(u); t.components.push(comp); t.weights.push(w);
    promptUtility.push(u); promptLength.push(len);
    length += len / prompts.length;
    repetition += rep / prompts.length;
  });
  const trueUtility = emptyPerType(() => 0);
  const components = emptyPerType<number[]>(() => []);
  const weights = emptyPerType<number[]>(() => []);
  for (const type of TASK_TYPES) {
    trueUtility[type] = mean(byType[type].utility);
    components[type] = meanVector(byType[type].components, K);
    weights[type] = meanVector(byType[type].weights, K);
  }
  return { trueUtility, trueUtilityOverall: mean(TASK_TYPES.map((t) => trueUtility[t])), components, length, repetition, weights, promptUtility, promptLength };
}

