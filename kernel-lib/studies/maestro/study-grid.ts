/**
 * The MAESTRO study's grid: presets (seeds, per-tier budgets), the tier B arm subsets, the
 * sensitivity settings and the run configuration a grid point maps to. See study.ts for what a
 * run stores; the grid's order and budgets are described there.
 */
import type { JsonObject } from "../../experiments/canonical";
import { PresetName } from "../../notebook";
import { InvalidArgumentError } from "../../errors";
import type { StudyGrid } from "../../experiments/grid";
import { MAESTRO_ARMS, MaestroArm, MaestroRunConfig } from "./arms";
import type { WeightMapping } from "../../maestro/conductor";
import type { PolicyTier } from "./policy-types";

/** Bump when the shape of runOne's metrics changes (it is part of every config, hence the hash). */
export const MAESTRO_STUDY_VERSION = 3; // 2: per-prompt held-out utility and length; 3: <eos> stopping, gold in prompt order, controls, settings, cost and identity curves

/** Tier B arms at each preset (tier A always runs every arm). */
export const MAESTRO_GRU_ARMS: Readonly<Record<PresetName, readonly MaestroArm[]>> = {
  quick: ["equal", "maestro", "single-brevity", "init"],
  default: ["equal", "maestro", "oracle", "single-brevity", "random", "prompt-level", "uniform-conductor", "loo-meta", "em-grpo", "init", "aligned-meta"],
  paper: ["equal", "maestro", "oracle", "single-brevity", "random", "prompt-level", "uniform-conductor", "loo-meta", "em-grpo", "init", "tuned", "maestro-group", "equal-group", "aligned-meta"],
};

/** A sensitivity setting: what it changes, and on which (tier, arm) pairs it runs. */
export interface MaestroSetting {
  overrides: Partial<MaestroRunConfig>;
  bank: readonly MaestroArm[];
  gru: readonly MaestroArm[];
  /** Presets it runs at. */
  presets: readonly PresetName[];
}

/** The settings besides "default" (which every planned arm runs). */
export const MAESTRO_SETTINGS: Readonly<Record<string, MaestroSetting>> = {
  "format-0.5": { overrides: { formatScale: 0.5 }, bank: ["maestro", "equal", "uniform-conductor", "loo-meta"], gru: [], presets: ["quick", "default", "paper"] },
  "lambda-0.1": { overrides: { entropyBonus: 0.1 }, bank: ["maestro"], gru: [], presets: ["quick", "default", "paper"] },
  "lambda-1": { overrides: { entropyBonus: 1 }, bank: ["maestro"], gru: [], presets: ["default", "paper"] },
  "no-std": { overrides: { normalizeStd: false }, bank: ["maestro", "equal"], gru: ["maestro", "equal", "single-brevity"], presets: ["default", "paper"] },
  "eps-1e-4": { overrides: { advantageEps: 1e-4 }, bank: ["maestro"], gru: [], presets: ["default", "paper"] },
  "ppo-2x4": { overrides: { ppoEpochs: 2, minibatchSize: 12 }, bank: ["maestro", "equal"], gru: [], presets: ["default", "paper"] },
  "token-level": { overrides: { aggregation: "tokenLevel" }, bank: [], gru: ["maestro", "equal", "single-brevity"], presets: ["default", "paper"] },
  "full-length": { overrides: { stopAtEos: false }, bank: [], gru: ["maestro", "equal", "single-brevity"], presets: ["quick", "default", "paper"] },
};
/** The values of the grid's `setting` axis: "default" and every sensitivity setting's name (MAESTRO_SETTINGS). */
export const MAESTRO_SETTING_NAMES = ["default", ...Object.keys(MAESTRO_SETTINGS)] as const;

type TierSettings = Omit<MaestroRunConfig, "arm" | "tier" | "mapping">;

const BANK: Record<PresetName, TierSettings> = {
  quick: { steps: 100, evalPromptsPerType: 20, validationPromptsPerType: 20 },
  default: { steps: 600, evalPromptsPerType: 40, validationPromptsPerType: 40 },
  paper: { steps: 800, evalPromptsPerType: 80, validationPromptsPerType: 80 },
};

const GRU: Record<PresetName, TierSettings> = {
  quick: { steps: 8, pretrainSteps: 40, promptsPerStep: 3, groupSize: 8, evalPromptsPerType: 3, evalSamples: 2, curveEvalEvery: 4 },
  default: { steps: 40, pretrainSteps: 150, evalPromptsPerType: 8, evalSamples: 4 },
  paper: { steps: 80, pretrainSteps: 200, evalPromptsPerType: 16, evalSamples: 8, validationPromptsPerType: 6, tunedSearchSteps: 20 },
};

/** Six seeds at default: the fewest with which a two-sided sign-flip test over seed means can reach p < 0.05 (1/32). */
const SEEDS: Record<PresetName, number[]> = { quick: [0, 1], default: [0, 1, 2, 3, 4, 5], paper: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] };
/**
 * Points a stored training curve keeps (100): a run's per-step curves are averaged over windows of
 * ⌈steps / 100⌉ steps before they go to the run store, so a record stays small whatever the budget
 * while the figures still show the shape of training.
 */
export const CURVE_POINTS = 100;

/** The grid config of one run, as stored. */
export interface MaestroStudyConfig {
  studyVersion: number;
  curvePoints: number;
  bank: TierSettings;
  gru: TierSettings;
  tier: PolicyTier;
  arm: MaestroArm;
  mapping: WeightMapping;
  /** "default" or a key of MAESTRO_SETTINGS. */
  setting: string;
}

/** The sweep grid of one preset. */
export function maestroStudyGrid(preset: PresetName): StudyGrid {
  const gruArms = MAESTRO_GRU_ARMS[preset];
  return {
    axes: { tier: ["bank", "gru"], arm: [...MAESTRO_ARMS], mapping: ["discrete", "continuous"], setting: [...MAESTRO_SETTING_NAMES] },
    fixed: { studyVersion: MAESTRO_STUDY_VERSION, curvePoints: CURVE_POINTS, bank: { ...BANK[preset] } as JsonObject, gru: { ...GRU[preset] } as JsonObject },
    include: (c) => {
      const arm = c.arm as MaestroArm;
      const planned = c.tier === "gru" ? c.mapping === "discrete" && gruArms.includes(arm) : c.mapping === "discrete" || arm === "maestro";
      if (!planned) return false;
      if (c.setting === "default") return true;
      const setting = MAESTRO_SETTINGS[c.setting as string];
      return c.mapping === "discrete" && setting.presets.includes(preset) && (c.tier === "gru" ? setting.gru : setting.bank).includes(arm);
    },
    seeds: SEEDS[preset],
  };
}

/** The run configuration runMaestroArm gets for a grid point. */
export function maestroStudyRunConfig(config: JsonObject): MaestroRunConfig {
  const c = config as unknown as MaestroStudyConfig;
  if (c.tier !== "bank" && c.tier !== "gru") throw new InvalidArgumentError("config.tier", "\"bank\" or \"gru\"", c.tier);
  const settings = c[c.tier];
  if (settings === null || typeof settings !== "object") throw new InvalidArgumentError(`config.${c.tier}`, "the tier's settings object", settings);
  const setting = c.setting ?? "default";
  if (setting !== "default" && !(setting in MAESTRO_SETTINGS)) throw new InvalidArgumentError("config.setting", `one of ${MAESTRO_SETTING_NAMES.join(", ")}`, setting);
  const overrides = setting === "default" ? {} : MAESTRO_SETTINGS[setting].overrides;
  return { ...settings, ...overrides, arm: c.arm, tier: c.tier, mapping: c.mapping };
}

