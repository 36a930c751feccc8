/**
 * Agent environments for the PRISM study: MiniALF (ALFWorld-like) and MiniShop (WebShop-like),
 * their expert planners, episode recording and the word-level tokenizer.
 *
 *   const env = createMiniAlf();
 *   const tasks = env.generateTasks({ split: "train", count: 256, seed: 1, conflictFraction: 0.5 });
 *   const trajectories = tasks.map((t) => runEpisode(env, t, expertPolicy(t)));
 *   const tok = tokenizerFor(env);
 *   const encoded = trajectories.map((t) => tok.encodeTrajectory(t, 128));
 */
export * from "./types";
export { INVALID_ACTION_OBSERVATION, normalizeAction } from "./common";
export * from "./tokenizer";
export * from "./episode";
export * from "./experts";
export {
  STORAGE, CLOSABLE, APPLIANCES, PLACES, OBJECTS, HOME, ALF_FAMILIES, FAMILY_OBJECTS, GOAL_PLACES, CONFLICT_KINDS,
  searchOrder, isHeldOutPair, goalPairs, splitPairs, instructionFor, preposition,
} from "./minialf-world";
export type { StoragePlace, Appliance, Place, ObjectType, AlfFamily, GoalPlace, AlfConflictKind, AlfGoal, AlfPlacement, AlfWorld, AlfTask } from "./minialf-world";
export { MiniAlfEnv, MiniAlfEpisode, createMiniAlf, MINIALF_DEFAULT_HORIZON, MINIALF_OPENING_OBSERVATION } from "./minialf";
export type { MiniAlfOptions } from "./minialf";
export {
  SHOP_CATEGORIES, COLORS, MATERIALS, SIZES, PRICE_LIMITS, RESULTS_PER_PAGE, PRODUCT_IDS, SHOP_FAMILIES, SHOP_CONFLICTS, SOLD_OUT,
  isHeldOutShopPair, shopInstruction, shopScore, productLine,
} from "./minishop-catalog";
export type { ShopCategory, Color, Material, Size, Product, ShopGoal, ShopWorld, ShopTask, ShopConflict } from "./minishop-catalog";
export { MiniShopEnv, MiniShopEpisode, createMiniShop, MINISHOP_DEFAULT_HORIZON, SEARCH_PAGE_OBSERVATION } from "./minishop";
export type { MiniShopOptions } from "./minishop";

import { assertOneOf } from "../errors";
import { createMiniAlf, MiniAlfEnv, MiniAlfOptions } from "./minialf";
import { createMiniShop, MiniShopEnv, MiniShopOptions } from "./minishop";
import { ENV_NAMES, EnvName } from "./types";

/** An environment by name ("minialf" | "minishop"); unknown names raise UnknownOptionError. */
export function createEnv(name: "minialf", options?: MiniAlfOptions): MiniAlfEnv;
export function createEnv(name: "minishop", options?: MiniShopOptions): MiniShopEnv;
export function createEnv(name: EnvName | string, options?: MiniAlfOptions | MiniShopOptions): MiniAlfEnv | MiniShopEnv;
export function createEnv(name: string, options: MiniAlfOptions | MiniShopOptions = {}): MiniAlfEnv | MiniShopEnv {
  assertOneOf("env", name, ENV_NAMES);
  return name === "minialf" ? createMiniAlf(options) : createMiniShop(options);
}
