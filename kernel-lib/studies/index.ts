/**
 * The reproductions of the papers' studies, built only from the method modules and the shared
 * ones (a study composes; it does not define a method): PRISM, G2IS and MAESTRO (the Conductor
 * itself stays in kernel-lib/maestro/).
 */
export * as prism from "./prism";
export * as g2is from "./g2is";
export * as maestro from "./maestro";
