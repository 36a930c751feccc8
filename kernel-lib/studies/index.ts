/**
 * The reproductions of the papers' studies, built only from the method modules and the shared
 * ones (a study composes; it does not define a method). G2IS and MAESTRO follow PRISM here.
 */
export * as prism from "./prism";
