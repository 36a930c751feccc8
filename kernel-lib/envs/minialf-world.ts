/**
 * MiniALF's world: places, objects, task families, the seen/unseen rule, the planted conflicts
 * and task generation. The simulator that plays a task is in minialf.ts.
 *
 * The kitchen has six storage places (fridge, cabinet and drawer must be opened; countertop, table
 * and shelf are open surfaces) and four appliances (microwave, stove, sink, desklamp). Every
 * object type has a HOME storage place, and STORAGE lists the canonical search order.
 *
 * Planted regularities (they hold in every task with conflict = false):
 *   1. the target object lies in its home place — the first place the search order visits;
 *   2. the microwave works, so heating goes through the microwave.
 * Conflict variants break exactly one of them: Heat tasks get a broken microwave (the observation
 * at the microwave says so and heating there fails; the stove still works), every other family
 * gets the target object(s) placed in a random storage place that is neither home nor the target.
 *
 * Seen/unseen rule: a task's (object, goal place) pair — goal place is the target receptacle, or
 * the desklamp for Look — is held out when (objectIndex + goalIndex) % 4 === 3 in the orders of
 * OBJECTS and GOAL_PLACES. Train and seen tasks only use pairs that are not held out, unseen tasks
 * only held-out pairs; distractor objects may sit anywhere in every split.
 *
 * Length-matched control (`detourFraction`): a regular task with a "look-first" detour makes its
 * expert look into other places before the home place, as long a walk as a conflict's search.
 */

import { TaskSlot } from "./common";
import { InvalidArgumentError } from "../errors";
import type { Rng } from "../random";
import { Task, TaskDetour } from "./types";

/** MiniALF storage places. */
export const STORAGE = ["fridge", "cabinet", "drawer", "countertop", "table", "shelf"] as const;
/** A MiniALF storage place; see STORAGE. */
export type StoragePlace = (typeof STORAGE)[number];
/** Storage places that must be opened before their contents are seen. */
export const CLOSABLE: ReadonlySet<string> = new Set<StoragePlace>(["fridge", "cabinet", "drawer"]);
/** MiniALF appliances: places an object is used at (heat, cool, clean, examine), not stored in. */
export const APPLIANCES = ["microwave", "stove", "sink", "desklamp"] as const;
/** A MiniALF appliance; see APPLIANCES. */
export type Appliance = (typeof APPLIANCES)[number];
/** Any MiniALF place (storage or appliance). */
export type Place = StoragePlace | Appliance;
/** Every MiniALF place: storage places, then appliances. */
export const PLACES: readonly Place[] = [...STORAGE, ...APPLIANCES];

/** MiniALF object types. */
export const OBJECTS = ["apple", "egg", "potato", "tomato", "mug", "bowl", "plate", "knife", "spoon", "book"] as const;
/** A MiniALF object type; see OBJECTS. */
export type ObjectType = (typeof OBJECTS)[number];

/**
 * Each object's usual storage place (where an expert looks first; the "misplaced" conflict moves
 * it).
 */
export const HOME: Readonly<Record<ObjectType, StoragePlace>> = {
  apple: "fridge", egg: "fridge", potato: "countertop", tomato: "countertop", mug: "cabinet",
  bowl: "cabinet", plate: "shelf", knife: "drawer", spoon: "drawer", book: "table",
};

/** MiniALF's task families (ALFWorld's six). */
export const ALF_FAMILIES = ["pick", "look", "clean", "heat", "cool", "pick2"] as const;
/** A MiniALF task family; see ALF_FAMILIES. */
export type AlfFamily = (typeof ALF_FAMILIES)[number];

const FOOD_AND_DISHES: readonly ObjectType[] = ["apple", "egg", "potato", "tomato", "mug", "bowl", "plate"];
/** The objects each MiniALF family's goals draw from. */
export const FAMILY_OBJECTS: Readonly<Record<AlfFamily, readonly ObjectType[]>> = {
  pick: OBJECTS,
  look: ["mug", "bowl", "plate", "knife", "spoon", "book"],
  clean: ["apple", "potato", "tomato", "mug", "bowl", "plate", "knife", "spoon"],
  heat: FOOD_AND_DISHES,
  cool: FOOD_AND_DISHES,
  pick2: OBJECTS,
};

/** Places a MiniALF goal can name (the storage places and the desk lamp). */
export const GOAL_PLACES = [...STORAGE, "desklamp"] as const;
/** A place a MiniALF goal can name; see GOAL_PLACES. */
export type GoalPlace = (typeof GOAL_PLACES)[number];

/**
 * The planted conflicts of MiniALF: a "misplaced" object (not in its usual place) or, for Heat
 * tasks, a "broken-microwave".
 */
export const CONFLICT_KINDS = ["misplaced", "broken-microwave"] as const;
/** A planted MiniALF conflict; see CONFLICT_KINDS. */
export type AlfConflictKind = (typeof CONFLICT_KINDS)[number];

/** A MiniALF goal: family, object and target place. */
export interface AlfGoal {
  family: AlfFamily;
  object: ObjectType;
  /** Where the object must end up; "desklamp" for Look (examine it under the lamp). */
  target: GoalPlace;
}

/** Where one object instance starts. */
export interface AlfPlacement { object: ObjectType; place: StoragePlace }

/**
 * The starting world of a MiniALF task: every object instance and where it starts, and whether the
 * microwave is broken.
 */
export interface AlfWorld {
  /** Every object instance and where it starts; listing order inside a place follows this order. */
  placements: AlfPlacement[];
  microwaveBroken: boolean;
}

/** A MiniALF task: goal and starting world. */
export type AlfTask = Task<AlfGoal, AlfWorld>;

/** "in" for places you open, "on" for surfaces. */
export function preposition(place: StoragePlace): "in" | "on" {
  return CLOSABLE.has(place) ? "in" : "on";
}

/** Home first, then the canonical order: where the regularity says to look, then everywhere else. */
export function searchOrder(object: ObjectType): StoragePlace[] {
  const home = HOME[object];
  return [home, ...STORAGE.filter((p) => p !== home)];
}

/**
 * Whether an (object, goal place) pair is held out of training (the "unseen" split's compositions):
 * a fixed quarter of the pairs.
 */
export function isHeldOutPair(object: ObjectType, goalPlace: GoalPlace): boolean {
  return (OBJECTS.indexOf(object) + GOAL_PLACES.indexOf(goalPlace)) % 4 === 3;
}

/** Every (object, goal place) a family can ask for. Targets never equal the object's home. */
export function goalPairs(family: AlfFamily): Array<{ object: ObjectType; target: GoalPlace }> {
  const pairs: Array<{ object: ObjectType; target: GoalPlace }> = [];
  for (const object of FAMILY_OBJECTS[family]) {
    if (family === "look") { pairs.push({ object, target: "desklamp" }); continue; }
    for (const target of STORAGE) if (target !== HOME[object]) pairs.push({ object, target });
  }
  return pairs;
}

/**
 * The instruction text of a MiniALF goal, ALFWorld style ("put a clean mug …", "examine a book with
 * the desklamp").
 */
export function instructionFor(goal: AlfGoal): string {
  const { family, object, target } = goal;
  if (family === "look" || target === "desklamp") return `examine a ${object} with the desklamp`;
  const where = `${preposition(target)} ${target}`;
  switch (family) {
    case "pick": return `put a ${object} ${where}`;
    case "clean": return `put a clean ${object} ${where}`;
    case "heat": return `put a hot ${object} ${where}`;
    case "cool": return `put a cool ${object} ${where}`;
    case "pick2": return `put two ${object} ${where}`;
  }
}

/** Builds task `slot` (its family, split and conflict label are already decided). */
export function generateAlfTask(slot: TaskSlot): AlfTask {
  const rng = slot.rng;
  const family = slot.family as AlfFamily;
  const unseen = slot.split === "unseen";
  const pairs = goalPairs(family).filter((p) => isHeldOutPair(p.object, p.target) === unseen);
  const { object, target } = rng.derive("goal").choice(pairs);
  const goal: AlfGoal = { family, object, target };
  const conflictKind: AlfConflictKind | null = !slot.conflict ? null : family === "heat" ? "broken-microwave" : "misplaced";

  const placeRng = rng.derive("placements");
  const elsewhere = STORAGE.filter((p) => p !== HOME[object] && p !== target);
  const copies = family === "pick2" ? 2 : 1;
  const placements: AlfPlacement[] = [];
  for (let c = 0; c < copies; c++) {
    placements.push({ object, place: conflictKind === "misplaced" ? placeRng.choice(elsewhere) : HOME[object] });
  }
  // Distractors are other object types at random places, so observations vary and a place can
  // hold several things; they never share the target's type, so "a mug" is never ambiguous.
  const distractorCount = 2 + placeRng.int(3);
  for (const other of placeRng.shuffle(OBJECTS.filter((o) => o !== object)).slice(0, distractorCount)) {
    placements.push({ object: other, place: placeRng.choice(STORAGE) });
  }
  const detour = slot.detour ? lookFirstDetour(goal, rng.derive("detour")) : null;
  return {
    id: slot.id,
    env: "minialf",
    split: slot.split,
    family,
    instruction: instructionFor(goal),
    conflict: slot.conflict,
    conflictKind,
    ...(detour === null ? {} : { detour }),
    goal,
    world: { placements: placeRng.shuffle(placements), microwaveBroken: conflictKind === "broken-microwave" },
  };
}

/**
 * The places a regular task's expert looks into before the home place, chosen so the demonstration
 * is as long as a conflict one. The object's misplacement is drawn as a conflict draws it, and the
 * detour is the search path a conflict expert would walk past home to reach it (for Pick2, to the
 * farther copy), with one open surface dropped or added where the conflict saves or spends a step
 * that walk alone does not: a Pick2 conflict with its copies apart walks on instead of back home;
 * a Cool conflict walks back to the fridge when that is the object's home, and cools on the spot
 * when the object was misplaced in it. A Heat conflict's expert reads "microwave is broken" on
 * arrival and walks on to the stove (1 step), so a Heat detour is one open surface. The result
 * has the step count of the conflict twin (same goal and world, the object where the draw put it)
 * and its action tokens up to one, except when no open surface is left to add (a Cool task whose
 * object lives in the fridge and was drawn at the end of the search order: 1 step short); measured
 * on 600 twins in test/prism-confounds.test.ts: 590 equal.
 */
function lookFirstDetour(goal: AlfGoal, rng: Rng): TaskDetour {
  const { family, object, target } = goal;
  const elsewhere = STORAGE.filter((p) => p !== HOME[object] && p !== target);
  const drawn = family === "heat" ? [] : Array.from({ length: family === "pick2" ? 2 : 1 }, () => rng.choice(elsewhere));
  return { kind: "look-first", targets: lookFirstDetourPath(goal, drawn, rng) };
}

/**
 * The detour path for a conflict twin whose object copies lie at `misplacedAt` (one place, two for
 * Pick2, none for Heat, which draws its open surface from `rng`). Exported for the twin test.
 */
export function lookFirstDetourPath(goal: AlfGoal, misplacedAt: readonly StoragePlace[], rng: Rng): StoragePlace[] {
  const { family, object, target } = goal;
  const home = HOME[object];
  const isSurface = (p: StoragePlace) => !CLOSABLE.has(p) && p !== home && p !== target;
  if (family === "heat") return [rng.choice(STORAGE.filter(isSurface))];
  const order = searchOrder(object).filter((p) => p !== target);
  if (misplacedAt.length !== (family === "pick2" ? 2 : 1) || misplacedAt.some((p) => p === home || !order.includes(p))) {
    throw new InvalidArgumentError("misplacedAt", `${family === "pick2" ? "two places" : "one place"} other than the object's home and the target`, misplacedAt);
  }
  const path = order.slice(1, Math.max(...misplacedAt.map((p) => order.indexOf(p))) + 1);
  const spare = STORAGE.filter((p) => isSurface(p) && !path.includes(p));
  const drop = (family === "pick2" && misplacedAt[0] !== misplacedAt[1]) || (family === "cool" && misplacedAt[0] === "fridge");
  const add = family === "cool" && home === "fridge";
  if (drop) {
    // Drop the last open surface (1 step); failing that, trade the last closed place (go to, open)
    // for a spare open surface (still 1 step less, 2 action tokens less instead of 3).
    const lastSurface = path.map(isSurface).lastIndexOf(true);
    if (lastSurface >= 0) path.splice(lastSurface, 1);
    else if (spare.length > 0) path.splice(path.length - 1, 1, spare[0]);
  }
  if (add && spare.length > 0) path.push(spare[0]);
  return path;
}

/** Used by tests and docs: the pairs of each split for each family. */
export function splitPairs(family: AlfFamily, unseen: boolean): Array<{ object: ObjectType; target: GoalPlace }> {
  return goalPairs(family).filter((p) => isHeldOutPair(p.object, p.target) === unseen);
}

export function isStorage(place: string): place is StoragePlace {
  return (STORAGE as readonly string[]).includes(place);
}
