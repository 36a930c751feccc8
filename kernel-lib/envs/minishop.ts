/**
 * MiniShop: a WebShop-like text shop. Pages: the search page, result pages (3 products each) and
 * product pages. Actions (all templated; exactly the admissible ones work):
 *   search page:  search[<category>] for every category
 *   result page:  click[<product id>] for each listed product, click[next >], click[< prev],
 *                 click[back to search]
 *   product page: click[<size>] (choose the option), click[buy now], click[< prev] (back to the
 *                 result page), click[back to search]
 * Observations are terse (no final period; a product page shows only its id and sizes, the
 * title and price were on the result list) so an expert trajectory fits in 128 tokens.
 * A sold-out product (the "sold-out" conflict variant) is listed with "sold out"; its page shows
 * "<id> sold out" and offers only click[< prev] and click[back to search].
 * Buying ends the episode with reward score/100 (see `shopScore`); success means score 100. The
 * horizon (15 by default) ends it with reward 0. Catalogue, planted conflict and the seen/unseen
 * rule: minishop-catalog.ts.
 */

import { assertKnownKeys, assertOneOf, InvalidArgumentError } from "../errors";
import { assertPositiveInteger, assertTaskOf, INVALID_ACTION_OBSERVATION, normalizeAction, planTaskSlots } from "./common";
import {
  COLORS, generateShopTask, MATERIALS, PRODUCT_IDS, Product, productLine, RESULTS_PER_PAGE, SHOP_CATEGORIES, SHOP_CONFLICTS, SHOP_FAMILIES,
  ShopCategory, ShopConflict, shopInstruction, shopScore, ShopTask, Size, SIZES, SOLD_OUT,
} from "./minishop-catalog";
import { splitWords } from "./tokenizer";
import { AgentEnv, Episode, GenerateTasksOptions, StepResult } from "./types";

/** Steps a MiniShop episode may take by default before it ends unsolved. */
export const MINISHOP_DEFAULT_HORIZON = 15;
/** The observation shown on MiniShop's search page. */
export const SEARCH_PAGE_OBSERVATION = "search page";

type Page =
  | { kind: "search" }
  | { kind: "results"; category: ShopCategory; page: number }
  | { kind: "product"; category: ShopCategory; page: number; product: Product; chosen: Size | null };

/**
 * One MiniShop episode (from `MiniShopEnv.reset`): search, page through results, open a product,
 * choose options, buy.
 */
export class MiniShopEpisode implements Episode<ShopTask> {
  private page: Page = { kind: "search" };
  private current = SEARCH_PAGE_OBSERVATION;
  private finished = false;
  private steps = 0;
  private boughtScore: number | null = null;

  constructor(readonly task: ShopTask, readonly horizon: number) {}

  get observation(): string { return this.current; }
  get done(): boolean { return this.finished; }
  get stepCount(): number { return this.steps; }

  private results(category: ShopCategory): Product[] { return this.task.world.products.filter((p) => p.category === category); }
  private pageCount(category: ShopCategory): number { return Math.ceil(this.results(category).length / RESULTS_PER_PAGE); }
  private listed(category: ShopCategory, page: number): Product[] {
    return this.results(category).slice(page * RESULTS_PER_PAGE, (page + 1) * RESULTS_PER_PAGE);
  }

  private describe(page: Page): string {
    if (page.kind === "search") return SEARCH_PAGE_OBSERVATION;
    if (page.kind === "results") {
      const items = this.listed(page.category, page.page);
      return items.length === 0 ? "no results" : `page ${page.page + 1}: ${items.map(productLine).join("; ")}`;
    }
    if (page.product.soldOut) return `${page.product.id} ${SOLD_OUT}`;
    return `${page.product.id} size: ${page.product.sizes.join(", ")}`;
  }

  admissibleActions(): string[] {
    const page = this.page;
    if (page.kind === "search") return SHOP_CATEGORIES.map((c) => `search[${c}]`);
    if (page.kind === "results") {
      const actions = this.listed(page.category, page.page).map((p) => `click[${p.id}]`);
      if (page.page + 1 < this.pageCount(page.category)) actions.push("click[next >]");
      if (page.page > 0) actions.push("click[< prev]");
      actions.push("click[back to search]");
      return actions;
    }
    if (page.product.soldOut) return ["click[< prev]", "click[back to search]"];
    return [...page.product.sizes.map((s) => `click[${s}]`), "click[buy now]", "click[< prev]", "click[back to search]"];
  }

  step(action: string): StepResult {
    if (this.finished) throw new InvalidArgumentError("action", "no further steps: the episode is done", action);
    if (typeof action !== "string") throw new InvalidArgumentError("action", "a string", action);
    const normalized = normalizeAction(action);
    const admissible = this.admissibleActions().includes(normalized);
    this.steps += 1;
    this.current = admissible ? this.apply(normalized) : INVALID_ACTION_OBSERVATION;
    const bought = this.boughtScore !== null;
    this.finished = bought || this.steps >= this.horizon;
    const score = this.boughtScore ?? 0;
    return {
      observation: this.current,
      reward: bought ? score / 100 : 0,
      done: this.finished,
      info: { admissible, success: score === 100, score, truncated: this.finished && !bought },
    };
  }

  private apply(action: string): string {
    const page = this.page;
    const inner = /^(search|click)\[(.*)\]$/.exec(action)!;
    if (inner[1] === "search") this.page = { kind: "results", category: inner[2] as ShopCategory, page: 0 };
    else if (inner[2] === "back to search") this.page = { kind: "search" };
    else if (page.kind === "results") {
      if (inner[2] === "next >") this.page = { ...page, page: page.page + 1 };
      else if (inner[2] === "< prev") this.page = { ...page, page: page.page - 1 };
      else this.page = { kind: "product", category: page.category, page: page.page, product: this.task.world.products.find((p) => p.id === inner[2])!, chosen: null };
    } else if (page.kind === "product") {
      if (inner[2] === "< prev") this.page = { kind: "results", category: page.category, page: page.page };
      else if (inner[2] === "buy now") {
        this.boughtScore = shopScore(this.task.goal, page.product, page.chosen);
        return `you bought ${page.product.id}`;
      } else {
        this.page = { ...page, chosen: inner[2] as Size };
        return `you chose ${inner[2]}`;
      }
    }
    return this.describe(this.page);
  }
}

/** Options of a MiniShop environment. */
export interface MiniShopOptions {
  /** Steps before an episode ends unsolved (default MINISHOP_DEFAULT_HORIZON). */
  horizon?: number;
  /** The planted conflict of conflict tasks (default "page-two", the original; see minishop-catalog.ts). */
  conflict?: ShopConflict;
}

/**
 * The MiniShop environment: `generateTasks` draws seeded shopping tasks per split (with an optional
 * share of planted conflicts), `reset(task)` starts an episode, `expert` plans a solution.
 */
export class MiniShopEnv implements AgentEnv<ShopTask> {
  readonly name = "minishop" as const;
  readonly families = SHOP_FAMILIES;
  readonly horizon: number;
  readonly conflict: ShopConflict;

  constructor(options: MiniShopOptions = {}) {
    assertKnownKeys("options", options, ["horizon", "conflict"]);
    this.horizon = options.horizon ?? MINISHOP_DEFAULT_HORIZON;
    assertPositiveInteger("horizon", this.horizon);
    this.conflict = options.conflict ?? "page-two";
    assertOneOf("options.conflict", this.conflict, SHOP_CONFLICTS);
  }

  generateTasks(options: GenerateTasksOptions): ShopTask[] {
    return planTaskSlots(this.name, this.families, options).map((slot) => generateShopTask(slot, this.conflict));
  }

  reset(task: ShopTask): MiniShopEpisode {
    assertTaskOf(this.name, task);
    return new MiniShopEpisode(task, this.horizon);
  }

  vocabularyWords(): string[] {
    const templates = [
      SEARCH_PAGE_OBSERVATION, INVALID_ACTION_OBSERVATION, "no results. page: ; $ . size: , you chose you bought",
      "search[] click[] next > < prev back to search buy now",
      shopInstruction({ category: "shirt", color: "red", material: "wool", size: "small", maxPrice: 10 }),
      "0123456789".split("").join(" "),
      ...SHOP_CATEGORIES, ...COLORS, ...MATERIALS, ...SIZES, ...PRODUCT_IDS,
      // Only the variant that shows it, so "page-two" keeps its vocabulary (and its stored runs).
      ...(this.conflict === "sold-out" ? [SOLD_OUT] : []),
    ];
    return [...new Set(templates.flatMap(splitWords))].sort();
  }
}

/** A MiniShop environment (WebShop-like shopping tasks); see MiniShopOptions. */
export function createMiniShop(options: MiniShopOptions = {}): MiniShopEnv {
  return new MiniShopEnv(options);
}
