// Report history: with the default output folder (or --history), each run writes its reports
// into a run folder `reports/<YYYYMMDD-HHMMSS>-<commit>/` (UTC), and `reports/latest` is a
// symbolic link to the newest finished one. `reports/index.html` lists every run folder, and
// `reports/runs.json` / `reports/claims.json` are links into `latest/`, so the paths the README and
// older scripts name keep working.
//
// A run folder is a complete snapshot: before a run, the last run's reports of every notebook
// are hard-linked into the new folder (copied where links are not possible), so notebooks not
// selected this time, and the last good report of one that fails now, are still there, and the
// folder can be copied elsewhere whole. Hard links cost no space; replacing a file in the new
// folder (rename) never touches the old one.
//
// Why symlinks and not a copy for `latest`: an update is one atomic rename, and readers of
// `latest/...` never see a half-switched folder. An interrupted run deletes its folder; `latest`
// still points at the previous one.
import { copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { ASSETS_DIR } from "./report-assets.mjs";

export const LATEST = "latest";
const RUN_FOLDER = /^\d{8}-\d{6}-/;

/** `20250102-030405-abc1234` (UTC time, then the commit; "-dirty" kept, other odd characters dropped). */
export function runFolderName(date, commit) {
  const iso = date.toISOString(); // 2025-01-02T03:04:05.678Z
  const stamp = `${iso.slice(0, 10).replace(/-/g, "")}-${iso.slice(11, 19).replace(/:/g, "")}`;
  return `${stamp}-${String(commit).replace(/[^A-Za-z0-9._-]/g, "") || "unknown"}`;
}

/** Creates a new, empty run folder under `root` (a numeric suffix if the name is taken). */
export function createRunFolder(root, commit, now = new Date()) {
  mkdirSync(root, { recursive: true });
  const base = runFolderName(now, commit);
  for (let i = 1; ; i++) {
    const dir = join(root, i === 1 ? base : `${base}-${i}`);
    try {
      mkdirSync(dir);
      return dir;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
    }
  }
}

/** The folder `root/latest` points at, or null when there is none (or it is dangling). */
export function latestRunDir(root) {
  const link = join(root, LATEST);
  try {
    if (!lstatSync(link).isSymbolicLink()) return null;
  } catch {
    return null;
  }
  const target = join(root, readlinkSync(link));
  return existsSync(join(target, "runs.json")) ? target : null;
}

/** Hard-links (or copies) a file or folder tree from `source` to `target`. */
function linkTree(source, target) {
  const stat = lstatSync(source);
  if (stat.isDirectory()) {
    mkdirSync(target, { recursive: true });
    for (const entry of readdirSync(source)) linkTree(join(source, entry), join(target, entry));
  } else if (stat.isFile()) {
    try {
      linkSync(source, target);
    } catch {
      copyFileSync(source, target);
    }
  }
}

/**
 * Links the reports of the notebooks named in `previousRows` (a Map from readPreviousRows) from
 * `previousDir` into `runDir`: each notebook's outputs and its `<name>_files/`. `outputNames(name)`
 * lists a notebook's output file names. Returns the names linked.
 */
export function seedRunFolder(previousDir, runDir, previousRows, outputNames) {
  const linked = [];
  for (const name of previousRows.keys()) {
    for (const file of [...Object.values(outputNames(name)), `${name}_files`]) {
      const source = join(previousDir, file);
      if (!existsSync(source)) continue;
      linkTree(source, join(runDir, file));
      linked.push(file);
    }
  }
  return linked;
}

/** Points `root/latest` (and the top-level runs.json / claims.json links) at `runDir`, atomically. */
export function markLatest(root, runDir) {
  const replaceLink = (path, target) => {
    if (existsSync(path) && !lstatSync(path).isSymbolicLink()) rmSync(path, { force: true }); // an old flat-layout file
    const temporary = `${path}.tmp-${process.pid}`;
    rmSync(temporary, { force: true });
    symlinkSync(target, temporary);
    renameSync(temporary, path);
  };
  const latest = join(root, LATEST);
  if (existsSync(latest) && lstatSync(latest).isDirectory() && !lstatSync(latest).isSymbolicLink()) {
    throw new Error(`${latest} is a real folder, not a link; move it away so the runner can link the latest run there`);
  }
  replaceLink(latest, basename(runDir));
  for (const file of ["runs.json", "claims.json"]) replaceLink(join(root, file), join(LATEST, file));
}

/**
 * Removes the files of a run written before run folders existed (flat in `root`): the notebook
 * outputs named by its rows, its index pages and assets. Called after the first run folder has
 * taken them over (seedRunFolder), so nothing a reader needs is lost.
 */
export function removeFlatLayout(root, previousRows, outputNames) {
  for (const name of previousRows.keys()) {
    for (const file of [...Object.values(outputNames(name)), `${name}_files`]) rmSync(join(root, file), { recursive: true, force: true });
  }
  for (const file of ["index.md", ASSETS_DIR]) rmSync(join(root, file), { recursive: true, force: true });
}

/** True when `root` holds a report written in the flat layout (runs.json as a real file). */
export function hasFlatLayout(root) {
  const path = join(root, "runs.json");
  return existsSync(path) && !lstatSync(path).isSymbolicLink();
}

/**
 * The run folders under `root`, newest first, each as `{ name, dir, run }` (run = its runs.json);
 * folders without a readable runs.json (an interrupted run) are left out.
 */
export function listRuns(root) {
  if (!existsSync(root)) return [];
  const runs = [];
  for (const name of readdirSync(root)) {
    const dir = join(root, name);
    if (!RUN_FOLDER.test(name) || !statSync(dir).isDirectory()) continue;
    try {
      runs.push({ name, dir, run: JSON.parse(readFileSync(join(dir, "runs.json"), "utf8")) });
    } catch {
      // no index: the run was interrupted or is still going
    }
  }
  return runs.sort((a, b) => b.name.localeCompare(a.name));
}
