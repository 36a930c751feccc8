/**
 * The G2IS study for the sweep runner and notebook 03: every selection arm (G2IS, LESS, the
 * similarity stand-ins, random, full data, the two ablations, the base model) × target × budget,
 * the valK and δ sweeps, and the real-text GSM8K study — one grid per preset, each point one
 * `runStudyArm` (pipeline/study-runs.ts), recorded in the resumable run store
 * (`reports/runs/g2is.jsonl`).
 *
 *   const study = lab.experiments.getStudy("g2is");
 *   const result = await lab.experiments.runSweep(study, { preset: "quick" });
 *   npm run sweep -- --study g2is --preset quick
 *
 * The config of every run carries the preset name and a hash of that preset's full settings, so a
 * change of settings is a new config (never mistaken for a finished run), while the flat tables
 * stay readable. Expensive shared stages are cached on disk by pipeline/stage-cache.ts.
 */
import { createHash } from "node:crypto";
import { InvalidArgumentError } from "../../errors";
import { PRESETS, PresetName } from "../../notebook";
import { canonicalJson, JsonObject } from "../../experiments/canonical";
import { defineStudy, Study } from "../../experiments/sweep";
import { registerStudy } from "../../experiments/registry";
import type { StudyGrid } from "../../experiments/grid";
import { STUDY_SETTINGS, StudyRunConfig, runBlocks, runStudyArm, studyAxes } from "./study-runs";

/** Bumped when what a run stores changes meaning (2: per-item outcomes for paired tests; 3: "g2is" is the official sign and tie rules, "g2is-mean-aligned" the old default). */
export const G2IS_STUDY_VERSION = 3;

export function studySettingsHash(preset: PresetName): string {
  return createHash("sha256").update(canonicalJson(STUDY_SETTINGS[preset] as unknown as JsonObject)).digest("hex").slice(0, 16);
}

function grid(preset: PresetName): StudyGrid {
  const settings = STUDY_SETTINGS[preset];
  return {
    axes: studyAxes(settings),
    fixed: { preset, settingsHash: studySettingsHash(preset), studyVersion: G2IS_STUDY_VERSION },
    include: (config) => runBlocks(config as unknown as StudyRunConfig, settings).length > 0,
    seeds: settings.seeds,
  };
}

export const g2isStudy: Study<StudyRunConfig> = registerStudy(defineStudy<StudyRunConfig>({
  name: "g2is",
  description: "G2IS vs LESS vs similarity/random/full on the toy pool and the GSM8K real-text pool; ablations; budget, valK and δ sweeps",
  presets: Object.fromEntries(PRESETS.map((p) => [p, grid(p)])) as Record<PresetName, StudyGrid>,
  // Runs on one pipeline (toy or real text) and seed share its base model, warm-up and features.
  affinity: (config, seed) => `${config.target === "gsm8k" ? "real" : "toy"}/${seed}`,
}, (config, seed, context) => {
  const preset = config.preset as PresetName;
  if (!(PRESETS as readonly string[]).includes(preset)) throw new InvalidArgumentError("config.preset", PRESETS.join(" | "), preset);
  if (config.settingsHash !== studySettingsHash(preset)) {
    throw new InvalidArgumentError("config.settingsHash", `${studySettingsHash(preset)} (the current ${preset} settings)`, config.settingsHash);
  }
  if (config.studyVersion !== G2IS_STUDY_VERSION) throw new InvalidArgumentError("config.studyVersion", String(G2IS_STUDY_VERSION), config.studyVersion);
  const { metrics, cost } = runStudyArm(config, STUDY_SETTINGS[preset], seed, (f, note) => context.progress(f, note));
  return { metrics, cost };
}));
