// All-or-nothing output files. Each run writes into a private staging folder inside the output
// directory (same file system, so rename is atomic) and moves a notebook's files into place only
// once all of them exist; a notebook that fails never overwrites its previous good report. The
// staging folder is removed at the end, on failure and on Ctrl-C; folders left by a run that was
// killed outright (SIGKILL, power loss) are removed by the next run once their process is gone.
//
// What is atomic: each file (rename over the old one). A crash in the middle of moving one
// notebook's files could leave a new .html beside an old .md; it cannot leave a truncated file.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const STAGING_PREFIX = ".staging-";

/** Creates `<outDir>/.staging-<pid>-XXXXXX` (and outDir itself if needed). */
export function createStagingRoot(outDir) {
  mkdirSync(outDir, { recursive: true });
  return mkdtempSync(join(outDir, `${STAGING_PREFIX}${process.pid}-`));
}

function processAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM"; // exists but is not ours
  }
}

/** Removes staging folders whose run is no longer alive; returns their names. */
export function removeStaleStaging(outDir) {
  if (!existsSync(outDir)) return [];
  const removed = [];
  for (const entry of readdirSync(outDir)) {
    const match = /^\.staging-(\d+)-/.exec(entry);
    if (match && Number(match[1]) !== process.pid && !processAlive(Number(match[1]))) {
      rmSync(join(outDir, entry), { recursive: true, force: true });
      removed.push(entry);
    }
  }
  return removed;
}

/** Lists leftovers a test can assert on: staging folders and temporary index files. */
export function leftoverTemporaries(outDir) {
  if (!existsSync(outDir)) return [];
  return readdirSync(outDir).filter((e) => e.startsWith(STAGING_PREFIX) || e.includes(".tmp-"));
}

/** Writes a file through a temporary name and a rename: readers see the old or the new file. */
export function writeFileAtomic(path, content) {
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, content);
  renameSync(temporary, path);
}

/**
 * Moves `names` (files or folders) from `fromDir` to `toDir`, replacing what is there. A folder
 * cannot be renamed over a non-empty one, so the old folder is first moved aside into `fromDir`
 * (deleted with the staging root) — there is no moment without a complete folder on disk
 * except between two renames.
 */
export function promote(fromDir, toDir, names) {
  for (const name of names) {
    const target = join(toDir, name);
    const source = join(fromDir, name);
    if (existsSync(target) && !existsSync(source)) continue;
    try {
      renameSync(source, target);
    } catch (error) {
      if (error.code !== "ENOTEMPTY" && error.code !== "EEXIST" && error.code !== "EISDIR" && error.code !== "ENOTDIR") throw error;
      const aside = join(fromDir, `.replaced-${name}`);
      renameSync(target, aside);
      renameSync(source, target);
    }
  }
}

/** Deletes outputs of an earlier run that this run did not produce again (stale PDF, old failure). */
export function removeOutputs(dir, names) {
  for (const name of names) rmSync(join(dir, name), { recursive: true, force: true });
}
