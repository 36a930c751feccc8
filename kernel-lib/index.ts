/**
 * gradlab — the facade a notebook imports:
 *   import * as lab from "gradlab";   // from any folder of the project (node_modules/gradlab links the root)
 *   const run = await lab.startNotebook({ preset, seed });
 *
 * Flat: errors, random streams, backend, notebook plumbing, figures and tables.
 * `lab.claim` registers a paper claim in the claims ledger (see stats/claims.ts).
 * Namespaced (their short names would collide): metrics, stats, io, envs, models, grads, features,
 * prism (the method), train, experiments, bridge, maestro, g2is, agents, parallel (multi-thread probe,
 * LESS features, k-NN graph), kernels (the SIMD matrix product), studies (the reproductions:
 * studies.prism, studies.g2is, studies.maestro).
 */
export * from "./errors";
export { checkOptions, option, type OptionCheck, type OptionSpec } from "./options";
export * from "./random";
export * from "./backend";
export * from "./notebook";
export * from "./viz";
export * as metrics from "./metrics";
export * as stats from "./stats";
export { claim } from "./stats/claims";
export * as io from "./io";
export * as envs from "./envs";
export * as models from "./models";
export * as grads from "./grads";
export * as features from "./features";
export * as prism from "./prism";
export * as train from "./train";
export * as experiments from "./experiments";
export * as bridge from "./bridge";
export * as maestro from "./maestro";
export * as g2is from "./g2is";
export * as agents from "./agents";
export * as parallel from "./parallel";
export * as studies from "./studies";
export * as kernels from "./kernels";
export { tf } from "./tf";
