/**
 * MiniShop's catalogue generator: every task carries its own small seeded catalogue (about a dozen
 * products, ids p10–p49 drawn at random so an id carries no hint), its instruction and its planted
 * conflict. The shop simulator is in minishop.ts.
 *
 * Products have a category, two attributes (color, material), size options and a price. A search
 * for a category lists that category's products in catalogue ("best-seller") order, 3 per page.
 * In the requested category exactly one product — the target — matches everything; every other
 * product of that category is a decoy that fails exactly one requirement that is visible in the
 * result list (wrong color, wrong material, or price above the limit). So the right product can
 * be told apart from the list alone, and the target always offers the requested size.
 *
 * Planted regularity: the target is the first search result. Two conflict variants (the env's
 * `conflict` option):
 *  - "page-two" (the original): 3–5 decoys rank before the target, so it is on page 2 (rank 4–6).
 *    Telling a decoy from the target needs comparing the listed colour, material and price with
 *    the instruction's; a 2–4-layer policy trained on ~1 000 demos did not learn that comparison,
 *    so RL could only shift its prior between "first result" and "next page" (README).
 *  - "sold-out": the first results page holds three products that match the request but are sold
 *    out (the list says so; their product page offers no size and no "buy now"); the target is the
 *    first result of page 2 and the last of its category. The conflict is perceivable from one fixed cue, as MiniALF's "microwave
 *    is broken" is: the regularity "buy the first result" fails and the observation shows why.
 *
 * Seen/unseen rule: the target's (color, category) pair is held out when
 * (colorIndex + categoryIndex) % 4 === 3; train/seen targets never use a held-out pair, unseen
 * targets always do. Decoys and other-category products may show any combination.
 *
 * Length-matched control (`detourFraction`): a regular task with a "wrong-size-first" detour makes
 * its expert choose a wrong size before the right one, 5 steps like a page-two conflict.
 */

import { TaskSlot } from "./common";
import { Task } from "./types";

/** MiniShop product categories. */
export const SHOP_CATEGORIES = ["shirt", "jacket", "shoes", "bag", "hat", "scarf"] as const;
/** MiniShop product colours. */
export const COLORS = ["red", "blue", "green", "black", "white", "grey"] as const;
/** MiniShop product materials. */
export const MATERIALS = ["cotton", "wool", "leather", "denim", "silk"] as const;
/** MiniShop product sizes. */
export const SIZES = ["small", "medium", "large"] as const;
/** The price ceilings a MiniShop instruction can name (dollars). */
export const PRICE_LIMITS = [30, 40, 50, 60, 70, 80, 90] as const;
/** Search results shown per MiniShop results page. */
export const RESULTS_PER_PAGE = 3;
/** Product ids of the MiniShop catalogue (p10 … p49). */
export const PRODUCT_IDS: readonly string[] = Array.from({ length: 40 }, (_, i) => `p${10 + i}`);
/** MiniShop's task families (one: "shop"). */
export const SHOP_FAMILIES = ["shop"] as const;

/** A MiniShop product category; see SHOP_CATEGORIES. */
export type ShopCategory = (typeof SHOP_CATEGORIES)[number];
/** A MiniShop colour; see COLORS. */
export type Color = (typeof COLORS)[number];
/** A MiniShop material; see MATERIALS. */
export type Material = (typeof MATERIALS)[number];
/** A MiniShop size; see SIZES. */
export type Size = (typeof SIZES)[number];

/** One MiniShop catalogue product (`soldOut`: listed, but it cannot be bought — the "sold-out" conflict). */
export interface Product { id: string; category: ShopCategory; color: Color; material: Material; sizes: Size[]; price: number; soldOut?: true }

/** MiniShop's planted-conflict variants (see the module comment): "page-two" or "sold-out". */
export const SHOP_CONFLICTS = ["page-two", "sold-out"] as const;
/** A MiniShop planted-conflict variant; see SHOP_CONFLICTS. */
export type ShopConflict = (typeof SHOP_CONFLICTS)[number];
/** The words a sold-out product adds to the list and its page. */
export const SOLD_OUT = "sold out";
/** What a MiniShop task asks for: category, colour, material, size and a price ceiling. */
export interface ShopGoal { category: ShopCategory; color: Color; material: Material; size: Size; maxPrice: number }
/** Products in best-seller order: a category search lists them in this order. */
export interface ShopWorld { products: Product[] }
/** A MiniShop task: goal and catalogue world. */
export type ShopTask = Task<ShopGoal, ShopWorld>;

/**
 * Whether a (colour, category) pair is held out of training (the "unseen" split's compositions): a
 * fixed quarter of the pairs.
 */
export function isHeldOutShopPair(color: Color, category: ShopCategory): boolean {
  return (COLORS.indexOf(color) + SHOP_CATEGORIES.indexOf(category)) % 4 === 3;
}

/**
 * The instruction text of a MiniShop goal, WebShop style ("i need a red cotton shirt, size small,
 * price lower than 40 dollars").
 */
export function shopInstruction(goal: ShopGoal): string {
  return `i need a ${goal.color} ${goal.material} ${goal.category}, size ${goal.size}, price lower than ${goal.maxPrice} dollars`;
}

/** Product text as the result list and the product page show it. */
export function productLine(p: Product): string {
  return `${p.id} ${p.color} ${p.material} ${p.category} $${p.price}${p.soldOut ? ` ${SOLD_OUT}` : ""}`;
}

type Flaw = "color" | "material" | "price";
type Draft = Omit<Product, "id">;

/**
 * One seeded MiniShop task for a planned slot, with the planted conflict of kind `conflict` when the
 * slot is a conflict slot. "page-two" draws exactly what it drew before "sold-out" existed, so
 * stored runs on it stay reproducible.
 */
export function generateShopTask(slot: TaskSlot, conflict: ShopConflict): ShopTask {
  const rng = slot.rng;
  const goalRng = rng.derive("goal"), catalogueRng = rng.derive("catalogue");
  const unseen = slot.split === "unseen";
  const pairs = COLORS.flatMap((color) => SHOP_CATEGORIES.map((category) => ({ color, category })))
    .filter((p) => isHeldOutShopPair(p.color, p.category) === unseen);
  const { color, category } = goalRng.choice(pairs);
  const goal: ShopGoal = { category, color, material: goalRng.choice(MATERIALS), size: goalRng.choice(SIZES), maxPrice: goalRng.choice(PRICE_LIMITS) };

  const randomSizes = (must?: Size): Size[] => {
    const chosen = new Set<Size>(SIZES.filter(() => catalogueRng.uniform() < 0.5));
    if (must !== undefined) chosen.add(must);
    if (chosen.size === 0) chosen.add(catalogueRng.choice(SIZES));
    return SIZES.filter((s) => chosen.has(s));
  };
  const target: Draft = { ...goal, sizes: randomSizes(goal.size), price: goal.maxPrice - 1 - catalogueRng.int(20) };
  // Detour (regular tasks only): a wrong size to choose first, one the target already offers when
  // it can be; its own stream, so the rest of the catalogue is what the task had without it.
  let wrongSize: Size | null = null;
  if (slot.detour) {
    const offered = target.sizes.filter((s) => s !== goal.size);
    wrongSize = rng.derive("detour").choice(offered.length > 0 ? offered : SIZES.filter((s) => s !== goal.size));
    target.sizes = SIZES.filter((s) => s === wrongSize || target.sizes.includes(s));
  }
  const decoy = (): Draft => {
    const flaw: Flaw = catalogueRng.choice(["color", "material", "price"] as const);
    return {
      category,
      color: flaw === "color" ? catalogueRng.choice(COLORS.filter((c) => c !== goal.color)) : goal.color,
      material: flaw === "material" ? catalogueRng.choice(MATERIALS.filter((m) => m !== goal.material)) : goal.material,
      sizes: randomSizes(),
      price: flaw === "price" ? goal.maxPrice + 1 + catalogueRng.int(30) : goal.maxPrice - 1 - catalogueRng.int(20),
    };
  };
  const soldOut = slot.conflict && conflict === "sold-out";
  // Sold-out conflict: exactly one page of sold-out full matches, so the target leads page 2.
  const before = !slot.conflict ? 0 : soldOut ? RESULTS_PER_PAGE : 3 + catalogueRng.int(3);
  // Sold-out: nothing after the target, so page 2's choice is forced and the conflict's whole lesson
  // is the one cue-driven action (click[next >] on a sold-out page) — what RL can learn from a
  // 64-task RL set; with decoys after it, RL did not learn to pick the first of page 2 (README).
  const after = soldOut ? 0 : slot.conflict ? catalogueRng.int(3) : 2 + catalogueRng.int(3);
  const drafts: Draft[] = [];
  const soldOutMatch = (): Draft => ({ ...goal, sizes: randomSizes(goal.size), price: goal.maxPrice - 1 - catalogueRng.int(20), soldOut: true });
  for (let i = 0; i < before; i++) drafts.push(soldOut ? soldOutMatch() : decoy());
  drafts.push(target);
  for (let i = 0; i < after; i++) drafts.push(decoy());
  // Other categories so a wrong search shows real (wrong-type) products rather than nothing.
  for (const other of SHOP_CATEGORIES) {
    if (other === category) continue;
    for (let i = 1 + catalogueRng.int(2); i > 0; i--) {
      drafts.push({ category: other, color: catalogueRng.choice(COLORS), material: catalogueRng.choice(MATERIALS), sizes: randomSizes(), price: 10 + catalogueRng.int(90) });
    }
  }
  const ids = catalogueRng.sampleIndices(PRODUCT_IDS.length, drafts.length).map((i) => PRODUCT_IDS[i]);
  return {
    id: slot.id,
    env: "minishop",
    split: slot.split,
    family: slot.family,
    instruction: shopInstruction(goal),
    conflict: slot.conflict,
    conflictKind: slot.conflict ? conflict : null,
    ...(wrongSize === null ? {} : { detour: { kind: "wrong-size-first" as const, targets: [wrongSize] } }),
    goal,
    world: { products: drafts.map((d, i) => ({ id: ids[i], ...d })) },
  };
}

/**
 * WebShop's reward with our simplifications: r_type · (attributes matched + options matched +
 * [price ≤ limit]) / (attributes + options + 1), with 2 attributes (color, material), 1 option
 * (size) and r_type = 1 when the category matches, else 0 (WebShop grades r_type by title/type
 * similarity; our categories are exact). Returned ×100, so 100 means a full match.
 */
export function shopScore(goal: ShopGoal, product: Product, chosenSize: Size | null): number {
  if (product.category !== goal.category) return 0;
  const matched = Number(product.color === goal.color) + Number(product.material === goal.material)
    + Number(chosenSize === goal.size && product.sizes.includes(chosenSize)) + Number(product.price <= goal.maxPrice);
  return (100 * matched) / 4;
}
