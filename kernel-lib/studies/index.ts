/**
 * The reproductions of the papers' studies, built only from the method modules and the shared
 * ones (a study composes; it does not define a method): PRISM, G2IS and MAESTRO (the Conductor
 * itself stays in kernel-lib/maestro/).
 */
export * as prism from "./prism";
/**
 * The G2IS study: a toy pool with planted complements and conflicts, real text (GSM8K), LESS features
 * from LoRA warm-up checkpoints, every selection arm (official G2IS, its ablations, LESS and its
 * ablations, similarity, oracle, random), fine-tuning and evaluation, walk diagnostics, attribution
 * quality (LDS), and the run-store glue of notebook 03. The method itself is `lab.g2is`.
 */
export * as g2is from "./g2is";
/**
 * The MAESTRO study (notebook 04): a toy with three task types and five conflicting reward
 * components, two policy tiers (an exact response bank; a GRU that stops at <eos>), every arm
 * (the Conductor, its ablations and controls, our payoffs, static / random / oracle weights,
 * entropy-minimising GRPO, the init policy), the run-store glue and the comparisons behind the
 * claims ledger. The Conductor itself, for your own GRPO loop, is `lab.maestro`.
 */
export * as maestro from "./maestro";
