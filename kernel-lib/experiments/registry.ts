/**
 * The study registry: name → Study, so the `npm run sweep` CLI (and notebooks) can find a study by
 * name without importing every study up front.
 *
 * A study module registers itself when imported (`export const study = registerStudy(defineStudy(…))`).
 * `STUDY_MODULES` maps the project's study names to their module paths (relative to this folder);
 * `getStudy(name)` imports that module lazily the first time. A known name whose module does not
 * exist yet is "not implemented yet"; an unknown name is an UnknownOptionError listing the studies
 * that can actually be loaded. A module that exists but throws while loading propagates its real
 * error — it is never reported as "not implemented".
 * Registering a name again replaces the earlier study (re-running a notebook cell does that).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { FileFormatError, InvalidArgumentError, UnknownOptionError } from "../errors";
import type { Study } from "./sweep";

/** The project's studies and where they live (relative to kernel-lib/experiments/). */
export const STUDY_MODULES: Readonly<Record<string, string>> = Object.freeze({
  prism: "../studies/prism/study",
  g2is: "../studies/g2is/study",
  maestro: "../studies/maestro/study",
});

/** The project's study names (whether or not implemented yet). */
export const STUDIES: readonly string[] = Object.freeze(Object.keys(STUDY_MODULES));

type AnyStudy = Study<never>;
const registered = new Map<string, AnyStudy>();
let recording: string[] | null = null;

function notImplementedStudies(): string[] {
  return STUDIES.filter((name) => !registered.has(name) && resolveModule(name) === null);
}

function listing(available: readonly string[]): string {
  const missing = notImplementedStudies();
  return `available: ${available.length > 0 ? available.join(", ") : "none"}${missing.length > 0 ? `; not implemented yet: ${missing.join(", ")}` : ""}`;
}

/**
 * An unknown study name, or a project study whose module is not written yet. An
 * UnknownOptionError (valid = the studies that can be loaded) with a one-line message.
 */
export class UnknownStudyError extends UnknownOptionError {
  constructor(name: string, readonly notImplemented: string | null) {
    const available = availableStudies();
    super("study", name, available);
    this.message = notImplemented === null
      ? `study: unknown study ${JSON.stringify(name)}; ${listing(available)}`
      : `study: ${JSON.stringify(name)} is not implemented yet (no module ${notImplemented}); ${listing(available)}`;
  }
}

/** Adds (or replaces) a study under its name; returns it, so a module can export the result. */
export function registerStudy<S extends AnyStudy>(study: S): S {
  if (study === null || typeof study !== "object" || typeof study.name !== "string" || typeof study.runOne !== "function") {
    throw new InvalidArgumentError("study", "a Study made by defineStudy", study);
  }
  registered.set(study.name, study);
  recording?.push(study.name);
  return study;
}

function resolveModule(name: string): string | null {
  try {
    return require.resolve(path.join(__dirname, STUDY_MODULES[name]));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND") return null;
    throw e;
  }
}

/** Names `getStudy` can load right now: registered studies and project studies whose module exists. */
export function availableStudies(): string[] {
  const names = new Set(registered.keys());
  for (const name of STUDIES) if (resolveModule(name) !== null) names.add(name);
  return [...names].sort();
}

/** The study registered as `name`, importing its project module first if needed. */
export function getStudy(name: string): AnyStudy {
  if (typeof name !== "string" || name.length === 0) throw new InvalidArgumentError("study", "a study name", name);
  const known = registered.get(name);
  if (known !== undefined) return known;
  if (!Object.prototype.hasOwnProperty.call(STUDY_MODULES, name)) throw new UnknownStudyError(name, null);
  const resolved = resolveModule(name);
  if (resolved === null) {
    const shown = path.join("kernel-lib", path.relative(path.join(__dirname, ".."), path.join(__dirname, STUDY_MODULES[name])));
    throw new UnknownStudyError(name, shown);
  }
  require(resolved);
  const study = registered.get(name);
  if (study === undefined) throw new InvalidArgumentError("study", `module ${resolved} to call registerStudy for ${JSON.stringify(name)}`);
  return study;
}

/**
 * Loads a study from a file (a fixture, a study under development). Returns `name` if given,
 * else the single study the module registers (or exports, if it was already loaded).
 */
export function loadStudyModule(file: string, name?: string): AnyStudy {
  const resolvedFile = path.resolve(file);
  if (!fs.existsSync(resolvedFile)) throw new FileFormatError(resolvedFile, "does not exist (study module)");
  const before = recording;
  recording = [];
  let names: string[];
  let exports: Record<string, unknown>;
  try {
    exports = require(resolvedFile) as Record<string, unknown>;
    names = recording;
  } finally {
    recording = before;
  }
  if (name !== undefined) return getStudy(name);
  if (names.length === 0) {
    // Already loaded earlier in this process: registration ran then; find its studies in its exports.
    names = Object.values(exports).filter((v): v is AnyStudy => [...registered.values()].includes(v as AnyStudy)).map((s) => s.name);
  }
  const unique = [...new Set(names)];
  if (unique.length !== 1) {
    throw new InvalidArgumentError("study module", `a module registering exactly one study (or pass the study name); ${resolvedFile} registers ${unique.length}: ${unique.join(", ") || "none"}`);
  }
  return registered.get(unique[0])!;
}
