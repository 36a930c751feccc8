/**
 * Compute-backend selection. Preference: tfjs-node-gpu (CUDA) > tfjs-node (native CPU) >
 * wasm (the embedded default; ~33x the pure-JS cpu backend here) > cpu.
 * `GRADLAB_BACKEND` (or `initBackend({ force })`) forces one; a forced backend that cannot load
 * is an error, never a silent fallback. The report says what was chosen and why every better
 * candidate was skipped, so a notebook can print it next to its numbers.
 *
 * The native packages are optional: their install downloads libtensorflow, which fails offline.
 * Note that danfojs-node's `overrides` entry makes `@tensorflow/tfjs-node` resolve to an alias of
 * `@tensorflow/tfjs` — it resolves but is not the native binding, so we check the package name.
 */

import * as tf from "@tensorflow/tfjs";
import { BackendUnavailableError, UnknownOptionError } from "./errors";
import { checkOptions, option } from "./options";

/**
 * Backends `initBackend` tries, in order: tfjs-node-gpu, tfjs-node, wasm, cpu (the first that loads
 * wins).
 */
export const BACKEND_CANDIDATES = ["tfjs-node-gpu", "tfjs-node", "wasm", "cpu"] as const;
/** One backend `initBackend` can choose; see BACKEND_CANDIDATES. */
export type BackendCandidate = (typeof BACKEND_CANDIDATES)[number];

/** A backend candidate that was not chosen, and why. */
export interface SkippedBackend { candidate: BackendCandidate; reason: string }
/**
 * What `initBackend` chose and why every better candidate was skipped (print it next to a
 * notebook's numbers).
 */
export interface BackendReport {
  /** The candidate that was chosen. */
  candidate: BackendCandidate;
  /** tfjs's own backend name (`tensorflow`, `wasm`, `cpu`). */
  tfBackend: string;
  /** Why this one: forced by the environment / option, or first available. */
  reason: string;
  /** Better candidates that were tried and why they were skipped. */
  skipped: SkippedBackend[];
  tfjsVersion: string;
}

/** Loads a candidate; resolves to tfjs's backend name or throws with the reason it is unavailable. */
export type BackendLoader = (candidate: BackendCandidate) => Promise<string>;

function packageName(moduleId: string): string | null {
  try {
    const pkgPath = require.resolve(`${moduleId}/package.json`);
    return (require(pkgPath) as { name?: string }).name ?? null;
  } catch {
    return null;
  }
}

async function loadNative(moduleId: string): Promise<string> {
  const name = packageName(moduleId);
  if (name === null) throw new Error(`${moduleId} is not installed (optional; its install needs to download libtensorflow)`);
  if (name !== moduleId) throw new Error(`${moduleId} resolves to ${name} (an npm alias), not the native binding`);
  try {
    require(moduleId); // registers the `tensorflow` backend as a side effect
  } catch (e) {
    throw new Error(`${moduleId} failed to load: ${firstLine(e)}`);
  }
  if (!(await tf.setBackend("tensorflow"))) throw new Error(`${moduleId} loaded but the tensorflow backend did not initialise`);
  return "tensorflow";
}

/** The real loaders for this process. */
export const defaultLoader: BackendLoader = async (candidate) => {
  switch (candidate) {
    case "tfjs-node-gpu": return loadNative("@tensorflow/tfjs-node-gpu");
    case "tfjs-node": return loadNative("@tensorflow/tfjs-node");
    case "wasm": {
      try {
        require("@tensorflow/tfjs-backend-wasm");
      } catch (e) {
        throw new Error(`@tensorflow/tfjs-backend-wasm failed to load: ${firstLine(e)}`);
      }
      if (!(await tf.setBackend("wasm"))) throw new Error("the wasm backend did not initialise");
      return "wasm";
    }
    case "cpu": {
      if (!(await tf.setBackend("cpu"))) throw new Error("the cpu backend did not initialise");
      return "cpu";
    }
  }
};

function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split("\n")[0];
}

/** Parses a forced backend name (from `GRADLAB_BACKEND` or an option); empty means "auto". */
export function parseForcedBackend(value: string | undefined, argument = "GRADLAB_BACKEND"): BackendCandidate | null {
  if (value === undefined || value.trim() === "" || value.trim() === "auto") return null;
  const v = value.trim();
  if (!(BACKEND_CANDIDATES as readonly string[]).includes(v)) throw new UnknownOptionError(argument, v, [...BACKEND_CANDIDATES, "auto"]);
  return v as BackendCandidate;
}

/**
 * The selection logic, separate from the loaders so tests can drive it with fake ones.
 * Walks the preference order (or only the forced candidate) and returns the first that loads.
 */
export async function selectBackend(forced: BackendCandidate | null, loader: BackendLoader = defaultLoader): Promise<BackendReport> {
  const skipped: SkippedBackend[] = [];
  if (forced !== null) {
    let tfBackend: string;
    try {
      tfBackend = await loader(forced);
    } catch (e) {
      throw new BackendUnavailableError(forced, firstLine(e));
    }
    return { candidate: forced, tfBackend, reason: "forced (GRADLAB_BACKEND or option)", skipped, tfjsVersion: tf.version_core };
  }
  for (const candidate of BACKEND_CANDIDATES) {
    try {
      const tfBackend = await loader(candidate);
      const reason = skipped.length === 0 ? "first in preference order" : "best available";
      return { candidate, tfBackend, reason, skipped, tfjsVersion: tf.version_core };
    } catch (e) {
      skipped.push({ candidate, reason: firstLine(e) });
    }
  }
  throw new BackendUnavailableError("any", skipped.map((s) => `${s.candidate}: ${s.reason}`).join("; "));
}

let current: BackendReport | null = null;
let pending: Promise<BackendReport> | null = null;

/**
 * Initialises the backend once per process (idempotent; later calls return the same report
 * unless `force` names a different one). Call it at the top of every notebook (`startNotebook`
 * does). Preference: tfjs-node-gpu > tfjs-node > wasm (the embedded default) > cpu; `force` (or the
 * `GRADLAB_BACKEND` environment variable) names one, and a forced backend that cannot load is an
 * error, never a silent fallback. The report says what was chosen and why every better candidate
 * was skipped.
 *
 * @example
 * ```ts
 * const report = await lab.initBackend();                        // or { force: "cpu" } to pin one
 * report.candidate; report.skipped;                              // what ran, and why not the better ones
 * ```
 */
export async function initBackend(options: { force?: string } = {}): Promise<BackendReport> {
  checkOptions("options", options, { force: option.string }); // {forse: "cpu"} must not quietly pick wasm
  const forced = options.force !== undefined
    ? parseForcedBackend(options.force, "force")
    : parseForcedBackend(process.env.GRADLAB_BACKEND);
  if (current !== null && (forced === null || forced === current.candidate)) {
    await tf.setBackend(current.tfBackend);
    return current;
  }
  if (pending === null || forced !== null) {
    pending = selectBackend(forced).then((report) => tf.ready().then(() => report));
  }
  try {
    current = await pending;
  } finally {
    pending = null;
  }
  return current;
}

/** The backend chosen by `initBackend`, or null before it ran. */
export function backendReport(): BackendReport | null {
  return current;
}

/** One line for a notebook or report header. */
export function describeBackend(report: BackendReport): string {
  const skipped = report.skipped.map((s) => `${s.candidate} skipped (${s.reason})`).join("; ");
  return `backend: ${report.candidate} [tfjs ${report.tfBackend} ${report.tfjsVersion}] — ${report.reason}${skipped ? `; ${skipped}` : ""}`;
}
