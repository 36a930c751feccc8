/**
 * gradlab — the facade a notebook imports:
 *   import * as lab from "../dist/kernel-lib";
 *   const backend = await lab.initBackend();
 */
export * from "./errors";
export * from "./random";
export * from "./backend";
export { tf } from "./tf";
