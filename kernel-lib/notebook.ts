/**
 * Notebook plumbing: presets and the run metadata line the headless runner reads.
 * Every notebook has a cell tagged `parameters` declaring `preset` and `seed`; the runner injects
 * overrides after it (papermill style). `startNotebook` validates the preset, initialises the
 * backend and prints one `gradlab-meta {...}` line that the report index picks up.
 */
import { initBackend, describeBackend, BackendReport } from "./backend";
import { InvalidArgumentError, UnknownOptionError } from "./errors";

/**
 * Notebook presets, smallest first: "quick", "default", "paper", smallest first (each notebook and
 * study defines what they mean).
 */
export const PRESETS = ["quick", "default", "paper"] as const;
/** A notebook preset; see PRESETS. */
export type PresetName = (typeof PRESETS)[number];

/** Picks the settings of a preset; every notebook defines all three so none is a silent default. */
export function choosePreset<T>(preset: string, table: Record<PresetName, T>): T {
  if (!(PRESETS as readonly string[]).includes(preset)) throw new UnknownOptionError("preset", preset, PRESETS);
  return table[preset as PresetName];
}

/** What `startNotebook` returns: the preset, seed and backend report of this run. */
export interface NotebookRun {
  preset: PresetName;
  seed: number;
  backend: BackendReport;
}

/**
 * The first call of every notebook: validates the `parameters` cell's preset and seed, initialises
 * the backend ({@link initBackend}) and prints the one `gradlab-meta {...}` line the report index
 * reads. Returns the preset, seed and backend report, so the notebook can print what it ran on.
 *
 * @example
 * ```ts
 * // parameters cell (the runner injects overrides after it)
 * let preset = "quick";
 * let seed = 0;
 * // next cell
 * const run = await lab.startNotebook({ preset, seed });
 * run.backend.candidate;                                          // e.g. "wasm"
 * ```
 */
export async function startNotebook(params: { preset: string; seed: number; notebook?: string }): Promise<NotebookRun> {
  if (!(PRESETS as readonly string[]).includes(params.preset)) throw new UnknownOptionError("preset", params.preset, PRESETS);
  if (!Number.isInteger(params.seed) || params.seed < 0) throw new InvalidArgumentError("seed", "a non-negative integer", params.seed);
  const backend = await initBackend();
  console.log(describeBackend(backend));
  console.log(`gradlab-meta ${JSON.stringify({ notebook: params.notebook, preset: params.preset, seed: params.seed, backend: backend.candidate })}`);
  return { preset: params.preset as PresetName, seed: params.seed, backend };
}

/** Formats a number for a findings sentence with a fixed number of decimals. */
export function fmt(value: number, decimals = 2): string {
  return Number.isFinite(value) ? value.toFixed(decimals) : String(value);
}
