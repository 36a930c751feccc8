/**
 * Expert planners that produce the expert trajectories (SFT data and PRISM probe data).
 *
 * Both experts are observation-based: they read the task's goal (exactly what the instruction
 * says) and the observations/history, never the hidden `world`. So everything they do can in
 * principle be imitated by a policy that sees the same text, and a conflict shows up in the
 * trajectory the way the study needs it: the MiniALF expert first tries the regular way (home
 * place first; the microwave for heating), reads that it failed ("fridge is empty",
 * "microwave is broken") and adapts (searches on in the canonical order; uses the stove). The
 * MiniShop expert checks each listed product against the request (and that it is not sold out) and
 * pages on when none fits.
 *
 * A task's `detour` (the length-matched control, types.ts `TaskDetour`) adds a harmless detour.
 *
 * Use `expertPolicy(task)` for either env; it is a pure function of (goal, detour, observation,
 * history).
 */

import { assertOneOf, InvalidArgumentError } from "../errors";
import { AlfGoal, CLOSABLE, isStorage, ObjectType, Place, searchOrder, StoragePlace } from "./minialf-world";
import { ShopGoal } from "./minishop-catalog";
import { SEARCH_PAGE_OBSERVATION } from "./minishop";
import { ENV_NAMES, EnvName, Policy, TaskDetour, TrajectoryStep } from "./types";

/** What the MiniALF expert knows, rebuilt from its own past actions and what it observed. */
interface AlfMemory {
  at: Place | null;
  contents: Map<StoragePlace, ObjectType[]>;
  opened: Set<string>;
  holding: ObjectType | null;
  hot: boolean; cool: boolean; clean: boolean;
  microwaveBroken: boolean;
}

function readObservation(memory: AlfMemory, observation: string): void {
  if (observation === "microwave is broken") { memory.microwaveBroken = true; return; }
  const has = /^(\w+) has (.+)$/.exec(observation);
  if (has && isStorage(has[1])) { memory.contents.set(has[1], has[2].split(", ") as ObjectType[]); return; }
  const empty = /^(\w+) is empty$/.exec(observation);
  if (empty && isStorage(empty[1])) memory.contents.set(empty[1], []);
}

function replayAlf(history: readonly TrajectoryStep[], observation: string): AlfMemory {
  const memory: AlfMemory = { at: null, contents: new Map(), opened: new Set(), holding: null, hot: false, cool: false, clean: false, microwaveBroken: false };
  history.forEach((step, i) => {
    if (!step.valid) return;
    const after = i + 1 < history.length ? history[i + 1].observation : observation;
    const words = step.action.split(" ");
    switch (words[0]) {
      case "go": memory.at = words[2] as Place; break;
      case "open": memory.opened.add(words[1]); break;
      case "close": memory.opened.delete(words[1]); break;
      case "take": {
        memory.holding = words[1] as ObjectType;
        const here = memory.contents.get(words[3] as StoragePlace) ?? [];
        here.splice(here.indexOf(memory.holding), 1);
        break;
      }
      case "put": {
        const place = words[3] as StoragePlace;
        memory.contents.set(place, [...(memory.contents.get(place) ?? []), memory.holding!]);
        memory.holding = null; memory.hot = memory.cool = memory.clean = false;
        break;
      }
      case "heat": if (after.startsWith("you heat")) { memory.hot = true; memory.cool = false; } break;
      case "cool": if (after.startsWith("you cool")) { memory.cool = true; memory.hot = false; } break;
      case "clean": if (after.startsWith("you clean")) memory.clean = true; break;
    }
    readObservation(memory, after);
  });
  return memory;
}

/** Next MiniALF action for `goal` given what the expert has seen so far (and its detour, if any). */
function alfAction(goal: AlfGoal, memory: AlfMemory, lookFirst: readonly StoragePlace[]): string {
  const { family, object, target } = goal;
  const goTo = (place: Place) => (memory.at === place ? null : `go to ${place}`);
  // A detour place counts as looked into once its contents were seen (open surfaces on arrival).
  const detour = lookFirst.find((p) => !memory.contents.has(p));
  if (detour !== undefined && memory.holding === null) return goTo(detour) ?? `open ${detour}`;
  if (memory.holding === null) {
    // Objects never start at their destination, and in Pick2 the destination holds the delivered one.
    const order = searchOrder(object).filter((p) => p !== target);
    const known = order.find((p) => memory.contents.get(p)?.includes(object));
    if (known !== undefined) return goTo(known) ?? `take ${object} from ${known}`;
    const unexplored = order.find((p) => !memory.contents.has(p));
    if (unexplored === undefined) return "look"; // cannot happen for generated tasks; a visible no-op
    return goTo(unexplored) ?? `open ${unexplored}`;
  }
  if (family === "look" || target === "desklamp") return goTo("desklamp") ?? "use desklamp";
  if (family === "heat" && !memory.hot) {
    const appliance = memory.microwaveBroken ? "stove" : "microwave";
    return goTo(appliance) ?? `heat ${object} with ${appliance}`;
  }
  if (family === "cool" && !memory.cool) return goTo("fridge") ?? `cool ${object} with fridge`;
  if (family === "clean" && !memory.clean) return goTo("sink") ?? `clean ${object} with sink`;
  const visible = !CLOSABLE.has(target) || memory.opened.has(target);
  return goTo(target) ?? (visible ? `put ${object} ${CLOSABLE.has(target) ? "in" : "on"} ${target}` : `open ${target}`);
}

/** The MiniALF expert; with a "look-first" `detour` it looks into `detour.targets` before home. */
export function miniAlfExpert(goal: AlfGoal, detour?: TaskDetour): Policy {
  const lookFirst = detourTargets("minialf", detour).map((p, i) => {
    if (!isStorage(p)) throw new InvalidArgumentError(`task.detour.targets[${i}]`, "a storage place", p);
    return p;
  });
  return (observation, _admissible, history) => alfAction(goal, replayAlf(history, observation), lookFirst);
}

// A listed product; group 6 is " sold out" when it cannot be bought (the sold-out conflict).
const RESULT_ITEM = /(p\d+) (\w+) (\w+) (\w+) \$(\d+)( sold out)?/g;

/**
 * Next MiniShop action: search the category, open the first listed full match, else page on; on
 * its page choose `firstSize` (the requested size, or a detour's wrong one), then the requested one.
 */
function shopAction(goal: ShopGoal, observation: string, firstSize: string): string {
  if (observation === SEARCH_PAGE_OBSERVATION) return `search[${goal.category}]`;
  if (observation.startsWith("page ")) {
    for (const [, id, color, material, category, price, soldOut] of observation.matchAll(RESULT_ITEM)) {
      if (soldOut === undefined && color === goal.color && material === goal.material && category === goal.category && Number(price) <= goal.maxPrice) return `click[${id}]`;
    }
    return "click[next >]";
  }
  if (observation.startsWith("you chose ")) return observation === `you chose ${goal.size}` ? "click[buy now]" : `click[${goal.size}]`;
  if (observation.includes(" size: ")) return `click[${firstSize}]`;
  // Only after a non-admissible action (never the expert's own): restart from the search page.
  return "click[back to search]";
}

/** The MiniShop expert; with a "wrong-size-first" `detour` it chooses `detour.targets[0]` first. */
export function miniShopExpert(goal: ShopGoal, detour?: TaskDetour): Policy {
  const targets = detourTargets("minishop", detour);
  if (targets.length > 1) throw new InvalidArgumentError("task.detour.targets", "one size", targets);
  const firstSize = targets[0] ?? goal.size;
  return (observation) => shopAction(goal, observation, firstSize);
}

const DETOUR_KIND: Record<EnvName, TaskDetour["kind"]> = { minialf: "look-first", minishop: "wrong-size-first" };

/** The detour's targets after checking it belongs to `env` (none without a detour). */
function detourTargets(env: EnvName, detour: TaskDetour | undefined): readonly string[] {
  if (detour === undefined) return [];
  if (detour === null || typeof detour !== "object" || detour.kind !== DETOUR_KIND[env] || !Array.isArray(detour.targets)) {
    throw new InvalidArgumentError("task.detour", `a ${env} detour {kind: "${DETOUR_KIND[env]}", targets: [...]}`, detour);
  }
  return detour.targets;
}

/** The expert for a task of either env. Reads only `task.env`, `task.goal` and `task.detour`. */
export function expertPolicy(task: { env: EnvName; goal: unknown; detour?: TaskDetour }): Policy {
  if (task === null || typeof task !== "object" || typeof task.goal !== "object" || task.goal === null) {
    throw new InvalidArgumentError("task", "a task with env and goal", task);
  }
  assertOneOf("task.env", String(task.env), ENV_NAMES);
  return task.env === "minialf" ? miniAlfExpert(task.goal as AlfGoal, task.detour) : miniShopExpert(task.goal as ShopGoal, task.detour);
}
