// Which notebooks a run executes, and the checks each must pass before anything executes:
// the file exists, is a JSON nbformat-4 notebook, and asks for the tslab kernel. Every problem
// is an InputError (exit code 1) naming the file, raised before the first notebook runs, so a
// typo never leaves a half-finished report behind.
//
// Order: the notebooks folder is run in filename order (00-…, 01-…); explicit paths run in the
// order given. `--only` filters by file name: a pattern with * or ? is a glob matched against
// the whole name, anything else a substring.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, relative, resolve } from "node:path";

export const KERNEL_NAME = "tslab";

/** A bad input file or folder: print the message and exit 1 before executing anything. */
export class InputError extends Error {
  constructor(message) {
    super(message);
    this.name = "InputError";
    this.exitCode = 1;
  }
}

/** `*` any run of characters, `?` one character; everything else literal; anchored. */
export function globToRegExp(glob) {
  const body = [...glob].map((ch) => (ch === "*" ? ".*" : ch === "?" ? "." : ch.replace(/[.+^${}()|[\]\\/]/g, "\\$&"))).join("");
  return new RegExp(`^${body}$`);
}

/** Does a notebook file name pass `--only`? No patterns means everything passes. */
export function matchesOnly(fileName, patterns) {
  if (patterns.length === 0) return true;
  return patterns.some((p) => (/[*?]/.test(p) ? globToRegExp(p).test(fileName) : fileName.includes(p)));
}

/** The .ipynb files directly in `dir`, sorted by file name (checkpoints and hidden files skipped). */
export function listNotebookFiles(dir) {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(`notebook folder ${relative(process.cwd(), dir) || dir} does not exist`);
  return readdirSync(dir)
    .filter((name) => name.endsWith(".ipynb") && !name.startsWith("."))
    .sort()
    .map((name) => resolve(dir, name));
}

/** Output base name of a notebook: its file name without .ipynb. */
export function reportName(path) {
  return basename(path).replace(/\.ipynb$/, "");
}

/**
 * Reads and checks one notebook. Returns the parsed JSON. Throws InputError naming the file when
 * it is missing, not JSON, not nbformat 4, or its kernelspec is not tslab (a notebook without a
 * kernelspec is refused too: it would be run in a language its author may not have meant).
 */
export function readRunnableNotebook(path, displayPath = path) {
  if (!existsSync(path)) throw new InputError(`notebook ${displayPath} does not exist`);
  if (!path.endsWith(".ipynb")) throw new InputError(`notebook ${displayPath}: expected a .ipynb file`);
  let notebook;
  try {
    notebook = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new InputError(`notebook ${displayPath} is not valid JSON: ${error.message}`);
  }
  if (notebook === null || typeof notebook !== "object" || !Array.isArray(notebook.cells)) {
    throw new InputError(`notebook ${displayPath} is not a Jupyter notebook (no "cells" list)`);
  }
  if (notebook.nbformat !== 4) throw new InputError(`notebook ${displayPath}: nbformat ${notebook.nbformat} is not supported (expected 4)`);
  const kernel = notebook.metadata?.kernelspec?.name;
  if (kernel === undefined) throw new InputError(`notebook ${displayPath} has no kernelspec; expected kernelspec name "${KERNEL_NAME}"`);
  if (kernel !== KERNEL_NAME) throw new InputError(`notebook ${displayPath} uses kernel "${kernel}"; this runner only executes "${KERNEL_NAME}" notebooks`);
  return notebook;
}

/**
 * The run plan: `universe` are the notebooks the index should list (all of the folder, or the
 * explicit paths), `selected` those that execute now (after --only). Each entry is
 * `{ path, name, fileName, displayPath, notebook }` (notebook only for selected ones).
 * Throws InputError for missing/invalid notebooks, duplicate report names, or an empty selection.
 */
export function planRun({ paths, dir, only }, cwd = process.cwd()) {
  const sources = paths.length > 0 ? paths.map((p) => resolve(cwd, p)) : listNotebookFiles(resolve(cwd, dir));
  // An explicit path that does not exist is a typo even when --only would have filtered it out.
  for (const [i, path] of sources.entries()) if (paths.length > 0 && !existsSync(path)) throw new InputError(`notebook ${paths[i]} does not exist`);
  if (sources.length === 0) throw new InputError(`no notebooks found in ${relative(cwd, resolve(cwd, dir)) || dir}`);
  // Paths inside the working directory are shown relative to it, others in full.
  const display = (path) => (relative(cwd, path).startsWith("..") ? path : relative(cwd, path));
  const universe = sources.map((path) => ({ path, name: reportName(path), fileName: basename(path), displayPath: display(path) }));
  const seen = new Map();
  for (const entry of universe) {
    if (seen.has(entry.name)) throw new InputError(`notebooks ${seen.get(entry.name)} and ${entry.displayPath} would write the same report name ${entry.name}`);
    seen.set(entry.name, entry.displayPath);
  }
  const selected = universe.filter((entry) => matchesOnly(entry.fileName, only));
  if (selected.length === 0) throw new InputError(`no notebook matches --only ${only.join(", ")} (candidates: ${universe.map((e) => e.fileName).join(", ")})`);
  for (const entry of selected) entry.notebook = readRunnableNotebook(entry.path, entry.displayPath);
  return { universe, selected };
}
