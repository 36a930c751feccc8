/**
 * MiniALF: a one-kitchen, text-only imitation of ALFWorld. Six families (pick, look, clean, heat,
 * cool, pick2), templated admissible actions, reward 1 on success, horizon 30 by default. The
 * world, the planted conflicts and the seen/unseen rule are described in minialf-world.ts.
 *
 * Observations are deliberately terse ("fridge has egg, mug", "microwave is broken") so an
 * expert trajectory usually fits in 128 tokens. The agent holds at most one object. Closed places
 * (fridge, cabinet, drawer) show their contents only once opened. A non-admissible action gives
 * INVALID_ACTION_OBSERVATION, changes nothing and still counts as a step.
 */

import { assertKnownKeys, InvalidArgumentError } from "../errors";
import { assertPositiveInteger, assertTaskOf, INVALID_ACTION_OBSERVATION, normalizeAction, planTaskSlots } from "./common";
import {
  ALF_FAMILIES, AlfTask, APPLIANCES, CLOSABLE, generateAlfTask, isStorage, ObjectType, OBJECTS, Place, PLACES,
  preposition, STORAGE, StoragePlace,
} from "./minialf-world";
import { splitWords } from "./tokenizer";
import { AgentEnv, Episode, GenerateTasksOptions, StepResult } from "./types";

/** Steps a MiniALF episode may take by default before it ends unsolved. */
export const MINIALF_DEFAULT_HORIZON = 30;
/** The first observation of every MiniALF episode. */
export const MINIALF_OPENING_OBSERVATION = "you are in the kitchen";

interface ObjectInstance { type: ObjectType; place: StoragePlace | "hand"; hot: boolean; cool: boolean; clean: boolean }

/**
 * One MiniALF episode (from `MiniAlfEnv.reset`): `step(action)` applies an admissible action and
 * returns the next observation, reward and whether it is done.
 */
export class MiniAlfEpisode implements Episode<AlfTask> {
  private readonly objects: ObjectInstance[];
  private readonly opened = new Set<string>();
  private at: Place | null = null;
  private examinedUnderLamp = false;
  private current = MINIALF_OPENING_OBSERVATION;
  private finished = false;
  private solved = false;
  private steps = 0;

  constructor(readonly task: AlfTask, readonly horizon: number) {
    this.objects = task.world.placements.map((p) => ({ type: p.object, place: p.place, hot: false, cool: false, clean: false }));
  }

  get observation(): string { return this.current; }
  get done(): boolean { return this.finished; }
  get stepCount(): number { return this.steps; }

  private held(): ObjectInstance | undefined { return this.objects.find((o) => o.place === "hand"); }
  private visible(place: StoragePlace): boolean { return !CLOSABLE.has(place) || this.opened.has(place); }
  private typesAt(place: StoragePlace): ObjectType[] { return this.objects.filter((o) => o.place === place).map((o) => o.type); }

  private describe(place: Place): string {
    if (isStorage(place)) {
      if (!this.visible(place)) return `${place} is closed`;
      const here = this.typesAt(place);
      return here.length === 0 ? `${place} is empty` : `${place} has ${here.join(", ")}`;
    }
    if (place === "microwave" && this.task.world.microwaveBroken) return "microwave is broken";
    return `${place} is ready`;
  }

  admissibleActions(): string[] {
    const actions: string[] = [];
    for (const place of PLACES) if (place !== this.at) actions.push(`go to ${place}`);
    const at = this.at;
    const held = this.held();
    if (at !== null && CLOSABLE.has(at)) actions.push(this.opened.has(at) ? `close ${at}` : `open ${at}`);
    if (at !== null && isStorage(at) && this.visible(at)) {
      if (held === undefined) {
        for (const type of new Set(this.typesAt(at))) actions.push(`take ${type} from ${at}`);
      } else {
        actions.push(`put ${held.type} ${preposition(at)} ${at}`);
      }
    }
    if (held !== undefined) {
      if (at === "microwave" || at === "stove") actions.push(`heat ${held.type} with ${at}`);
      if (at === "fridge") actions.push(`cool ${held.type} with fridge`);
      if (at === "sink") actions.push(`clean ${held.type} with sink`);
      actions.push(`examine ${held.type}`);
    }
    if (at === "desklamp") actions.push("use desklamp");
    actions.push("inventory", "look");
    return actions;
  }

  step(action: string): StepResult {
    if (this.finished) throw new InvalidArgumentError("action", "no further steps: the episode is done", action);
    if (typeof action !== "string") throw new InvalidArgumentError("action", "a string", action);
    const normalized = normalizeAction(action);
    const admissible = this.admissibleActions().includes(normalized);
    this.steps += 1;
    this.current = admissible ? this.apply(normalized) : INVALID_ACTION_OBSERVATION;
    if (admissible && !this.solved && this.goalReached()) this.solved = true;
    this.finished = this.solved || this.steps >= this.horizon;
    const reward = this.solved && this.finished ? 1 : 0;
    return { observation: this.current, reward, done: this.finished, info: { admissible, success: this.solved, score: this.solved ? 100 : 0, truncated: this.finished && !this.solved } };
  }

  /** Executes an admissible action and returns the observation. */
  private apply(action: string): string {
    const words = action.split(" ");
    const held = this.held();
    const verb = words[0];
    if (verb === "go") { this.at = words[2] as Place; return this.describe(this.at); }
    if (verb === "open") { this.opened.add(words[1]); return this.describe(words[1] as Place); }
    if (verb === "close") { this.opened.delete(words[1]); return `you close ${words[1]}`; }
    if (verb === "take") {
      const item = this.objects.find((o) => o.type === words[1] && o.place === words[3]);
      item!.place = "hand";
      return `you take ${item!.type}`;
    }
    if (verb === "put") { held!.place = this.at as StoragePlace; return `you put ${held!.type} ${words[2]} ${words[3]}`; }
    if (verb === "heat") {
      if (words[3] === "microwave" && this.task.world.microwaveBroken) return "microwave is broken";
      held!.hot = true; held!.cool = false;
      return `you heat ${held!.type}`;
    }
    if (verb === "cool") { held!.cool = true; held!.hot = false; return `you cool ${held!.type}`; }
    if (verb === "clean") { held!.clean = true; return `you clean ${held!.type}`; }
    if (verb === "use") {
      if (held !== undefined && held.type === this.task.goal.object) this.examinedUnderLamp = true;
      return "you turn on desklamp";
    }
    if (verb === "examine") {
      const states = (["hot", "cool", "clean"] as const).filter((s) => held![s]);
      return `${held!.type} is ${states.length === 0 ? "plain" : states.join(", ")}`;
    }
    if (verb === "inventory") return held === undefined ? "you carry nothing" : `you carry ${held.type}`;
    // look
    return this.at === null ? MINIALF_OPENING_OBSERVATION : `you are at ${this.at}`;
  }

  private goalReached(): boolean {
    const { family, object, target } = this.task.goal;
    if (family === "look") return this.examinedUnderLamp;
    const there = this.objects.filter((o) => o.type === object && o.place === target);
    if (family === "pick2") return there.length >= 2;
    if (family === "heat") return there.some((o) => o.hot);
    if (family === "cool") return there.some((o) => o.cool);
    if (family === "clean") return there.some((o) => o.clean);
    return there.length >= 1;
  }
}

/** Options of a MiniALF environment: the episode horizon (default MINIALF_DEFAULT_HORIZON). */
export interface MiniAlfOptions { horizon?: number }

/**
 * The MiniALF environment: `generateTasks` draws seeded tasks per split (with an optional share of
 * planted conflicts), `reset(task)` starts an episode, `expert` plans a solution.
 */
export class MiniAlfEnv implements AgentEnv<AlfTask> {
  readonly name = "minialf" as const;
  readonly families = ALF_FAMILIES;
  readonly horizon: number;

  constructor(options: MiniAlfOptions = {}) {
    assertKnownKeys("options", options, ["horizon"]);
    this.horizon = options.horizon ?? MINIALF_DEFAULT_HORIZON;
    assertPositiveInteger("horizon", this.horizon);
  }

  generateTasks(options: GenerateTasksOptions): AlfTask[] {
    return planTaskSlots(this.name, this.families, options).map(generateAlfTask);
  }

  reset(task: AlfTask): MiniAlfEpisode {
    assertTaskOf(this.name, task);
    return new MiniAlfEpisode(task, this.horizon);
  }

  vocabularyWords(): string[] {
    const templates = [
      MINIALF_OPENING_OBSERVATION, INVALID_ACTION_OBSERVATION,
      "is closed. is empty. has , is ready. is broken. you close you take you put in on you heat you cool you clean",
      "you turn on desklamp. is plain hot, cool, clean. you carry nothing. you are at",
      "go to open close take from put in on heat with cool with clean with use desklamp examine inventory look",
      "put a clean hot cool two examine with the desklamp",
      ...STORAGE, ...APPLIANCES, ...OBJECTS,
    ];
    return [...new Set(templates.flatMap(splitWords))].sort();
  }
}

/** A MiniALF environment (ALFWorld-like household tasks); see MiniAlfOptions. */
export function createMiniAlf(options: MiniAlfOptions = {}): MiniAlfEnv {
  return new MiniAlfEnv(options);
}
