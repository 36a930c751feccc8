/**
 * The reproductions of the papers' studies, built only from the method modules and the shared
 * ones (a study composes; it does not define a method). G2IS follows PRISM here; MAESTRO is still kernel-lib/maestro/.
 */
export * as prism from "./prism";
export * as g2is from "./g2is";
