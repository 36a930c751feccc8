/**
 * A word-level tokenizer for the agent environments, and the fixed-length trajectory layout the
 * PRISM probe, SFT and the policy share.
 *
 * Words: lower-cased runs that start with a letter ("fridge", "p12"), single digits (so "$35" is
 * "$ 3 5" and any price needs only ten digit tokens) and single punctuation marks. The vocabulary
 * is the sorted set of every word an env's templates can produce (`env.vocabularyWords()`), after
 * the special tokens, which take ids 0–5 in this order: <pad> <bos> <obs> <act> <eos> <unk>.
 *
 * Layout of a trajectory (right-padded to `contextLength`):
 *   <bos> instruction  (<obs> observation <act> action)*  <eos>  <pad>…
 * `lossMask` is 1 exactly on action tokens (not on <act>, <eos> or anything else). Truncation:
 * the instruction is always kept, then as many of the MOST RECENT whole steps as fit; older steps
 * are dropped entirely (never cut in the middle), so a kept action always sees its observation.
 * If not even the instruction plus the last step fits, that is an InvalidArgumentError naming
 * contextLength and the length needed.
 */

import { InvalidArgumentError } from "../errors";
import { assertPositiveInteger } from "./common";
import type { AgentEnv, Trajectory } from "./types";

/** The tokenizer's special tokens, at ids 0–5. */
export const SPECIAL_TOKENS = ["<pad>", "<bos>", "<obs>", "<act>", "<eos>", "<unk>"] as const;
/** Id of `<pad>` (padding; never a target). */
export const PAD_ID = 0;
/** Id of `<bos>` (the start of a sequence). */
export const BOS_ID = 1;
/** Id of `<obs>` (an observation follows). */
export const OBS_ID = 2;
/** Id of `<act>` (an action follows). */
export const ACT_ID = 3;
/** Id of `<eos>` (the end of a sequence). */
export const EOS_ID = 4;
/** Id of `<unk>` (a word outside the vocabulary). */
export const UNK_ID = 5;

/** Splits text into the tokenizer's words (see the module header for the rule). */
export function splitWords(text: string): string[] {
  return text.toLowerCase().match(/[a-z][a-z0-9]*|[0-9]|[^\sa-z0-9]/g) ?? [];
}

/** Where one step's action tokens sit in an encoded trajectory. */
export interface ActionSpan {
  /** Index of the step in `trajectory.steps`. */
  step: number;
  /** Token range [start, end) of the action in `tokens`. */
  start: number;
  end: number;
}

/**
 * A trajectory encoded for a model: exactly `contextLength` tokens, the loss mask on action tokens,
 * the action spans and how many old steps were dropped to fit.
 */
export interface EncodedTrajectory {
  /** Exactly contextLength token ids. */
  tokens: number[];
  /** 1 on action tokens, 0 elsewhere; same length as tokens. */
  lossMask: number[];
  actionSpans: ActionSpan[];
  /** Tokens before padding. */
  length: number;
  /** Oldest steps dropped to fit (0 when the whole trajectory fits). */
  droppedSteps: number;
}

/**
 * The word-level tokenizer of an environment's vocabulary (from `tokenizerFor(env)`): encodes a
 * trajectory as <obs> observation <act> action … tokens with a loss mask on the action tokens,
 * fitted to a context length.
 */
export class Tokenizer {
  readonly vocab: readonly string[];
  private readonly ids: Map<string, number>;

  constructor(words: Iterable<string>) {
    const unique = new Set<string>();
    for (const word of words) {
      if (typeof word !== "string" || splitWords(word).length !== 1 || splitWords(word)[0] !== word) {
        throw new InvalidArgumentError("words", "single lower-case words as produced by splitWords", word);
      }
      unique.add(word);
    }
    this.vocab = [...SPECIAL_TOKENS, ...[...unique].sort()];
    this.ids = new Map(this.vocab.map((w, i) => [w, i]));
  }

  get size(): number { return this.vocab.length; }

  idOf(word: string): number { return this.ids.get(word) ?? UNK_ID; }

  encodeText(text: string): number[] {
    if (typeof text !== "string") throw new InvalidArgumentError("text", "a string", text);
    return splitWords(text).map((w) => this.idOf(w));
  }

  /** The action's tokens (what a policy scores for each admissible action). */
  encodeAction(action: string): number[] { return this.encodeText(action); }

  /** Tokens joined by spaces; padding is left out. */
  decode(ids: readonly number[]): string {
    return ids.filter((id) => id !== PAD_ID).map((id) => {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocab.length) throw new InvalidArgumentError("ids", `integers in [0, ${this.vocab.length})`, id);
      return this.vocab[id];
    }).join(" ");
  }

  /** Words of `text` outside the vocabulary (empty for anything an env produces). */
  unknownWords(text: string): string[] { return splitWords(text).filter((w) => !this.ids.has(w)); }

  encodeTrajectory(trajectory: Trajectory, contextLength: number): EncodedTrajectory {
    assertPositiveInteger("contextLength", contextLength);
    if (trajectory === null || typeof trajectory !== "object" || !Array.isArray(trajectory.steps) || typeof trajectory.task?.instruction !== "string") {
      throw new InvalidArgumentError("trajectory", "a trajectory from runEpisode", trajectory);
    }
    const head = [BOS_ID, ...this.encodeText(trajectory.task.instruction)];
    const segments = trajectory.steps.map((s) => ({ observation: [OBS_ID, ...this.encodeText(s.observation), ACT_ID], action: this.encodeText(s.action) }));
    const kept = this.fitRecent(head.length + 1, segments.map((s) => s.observation.length + s.action.length), contextLength);
    const tokens = [...head], lossMask = head.map(() => 0), actionSpans: ActionSpan[] = [];
    for (let i = segments.length - kept; i < segments.length; i++) {
      const { observation, action } = segments[i];
      tokens.push(...observation); lossMask.push(...observation.map(() => 0));
      actionSpans.push({ step: i, start: tokens.length, end: tokens.length + action.length });
      tokens.push(...action); lossMask.push(...action.map(() => 1));
    }
    tokens.push(EOS_ID); lossMask.push(0);
    const length = tokens.length;
    while (tokens.length < contextLength) { tokens.push(PAD_ID); lossMask.push(0); }
    return { tokens, lossMask, actionSpans, length, droppedSteps: segments.length - kept };
  }

  /**
   * The context a policy conditions on to choose its next action, with the same truncation rule
   * as `encodeTrajectory`: <bos> instruction, recent (<obs> o <act> a) steps, then
   * <obs> current observation <act>. `reservedForAction` tokens are left free for the action the
   * caller appends (use the longest admissible action's length). Not padded.
   */
  encodeContext(instruction: string, history: ReadonlyArray<{ observation: string; action: string }>, observation: string, contextLength: number, reservedForAction: number): number[] {
    assertPositiveInteger("contextLength", contextLength);
    if (!Number.isInteger(reservedForAction) || reservedForAction < 0) throw new InvalidArgumentError("reservedForAction", "a non-negative integer", reservedForAction);
    const head = [BOS_ID, ...this.encodeText(instruction)];
    const current = [OBS_ID, ...this.encodeText(observation), ACT_ID];
    const past = history.map((s) => [OBS_ID, ...this.encodeText(s.observation), ACT_ID, ...this.encodeText(s.action)]);
    const fixed = head.length + current.length + reservedForAction;
    if (fixed > contextLength) throw new InvalidArgumentError("contextLength", `at least ${fixed} tokens (instruction + current observation + reserved action)`, contextLength);
    const kept = this.fitRecent(fixed, past.map((s) => s.length), contextLength, false);
    return [...head, ...past.slice(past.length - kept).flat(), ...current];
  }

  /** How many of the last segments fit next to `fixed` tokens; requires at least one unless allowNone. */
  private fitRecent(fixed: number, segmentLengths: number[], contextLength: number, requireOne = true): number {
    let used = fixed, kept = 0;
    for (let i = segmentLengths.length - 1; i >= 0 && used + segmentLengths[i] <= contextLength; i--) { used += segmentLengths[i]; kept++; }
    if (requireOne && kept === 0 && segmentLengths.length > 0) {
      const needed = fixed + segmentLengths[segmentLengths.length - 1];
      throw new InvalidArgumentError("contextLength", `at least ${needed} tokens (instruction + last step + <eos>)`, contextLength);
    }
    return kept;
  }
}

/** The tokenizer of an environment: its vocabulary is built from the env's templates. */
export function tokenizerFor(env: Pick<AgentEnv, "vocabularyWords">): Tokenizer {
  return new Tokenizer(env.vocabularyWords());
}

/** Free-function form of `tokenizer.encodeTrajectory`. */
export function encodeTrajectory(tokenizer: Tokenizer, trajectory: Trajectory, contextLength: number): EncodedTrajectory {
  return tokenizer.encodeTrajectory(trajectory, contextLength);
}
