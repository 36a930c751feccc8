// What an HTML report needs besides itself, found in node_modules (never fetched): the vega,
// vega-lite and vega-embed builds that export.py inlines once into each page with a figure, and
// MathJax 3 (one combined file that renders TeX to SVG with no font files or further loads),
// copied once into the report folder's assets/ and referenced by a relative URL. So a report
// folder works wherever it is copied, opened from disk or served, without a network.
//
// Why MathJax is copied and not inlined like vega: it is 2.2 MB, and a run writes a page per
// notebook; one copy per folder (a hard link where possible) keeps the folder small while
// staying self-contained.
import { copyFileSync, existsSync, linkSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../jupyter-env.mjs";

/** Folder (inside a report folder) that holds the copied assets. */
export const ASSETS_DIR = "assets";
/** MathJax's file name inside ASSETS_DIR, and so the relative URL a report loads it from. */
export const MATHJAX_FILE = "mathjax-tex-svg-full.js";

// Direct dependencies, so npm puts them at the top of node_modules (vega-embed's package.json is
// not resolvable through require: its "exports" hide it).
function packageFile(pkg, relative) {
  const file = join(projectRoot, "node_modules", pkg, relative);
  if (!existsSync(file)) throw new Error(`${pkg} has no ${relative} (reinstall with npm ci)`);
  return file;
}

/** Absolute paths of the browser builds to inline, in load order (vega-embed needs both globals). */
export function vegaScriptPaths() {
  return [
    packageFile("vega", "build/vega.min.js"),
    packageFile("vega-lite", "build/vega-lite.min.js"),
    packageFile("vega-embed", "build/vega-embed.min.js"),
  ];
}

/** The MathJax combined build in node_modules. */
export function mathjaxSourcePath() {
  return packageFile("mathjax", "es5/tex-svg-full.js");
}

/**
 * Copies MathJax into `<reportDir>/assets/` unless an identical-size copy is there already, and
 * returns the URL a report in `reportDir` uses for it.
 */
export function installReportAssets(reportDir) {
  const source = mathjaxSourcePath();
  const dir = join(reportDir, ASSETS_DIR);
  const target = join(dir, MATHJAX_FILE);
  mkdirSync(dir, { recursive: true });
  if (!existsSync(target) || statSync(target).size !== statSync(source).size) {
    // Through a temporary name and a rename: a reader never sees half a script. A hard link costs
    // no space (a later npm install replaces node_modules' file and leaves ours intact); a copy
    // where the report folder is on another file system.
    const temporary = `${target}.tmp-${process.pid}`;
    rmSync(temporary, { force: true });
    try {
      linkSync(source, temporary);
    } catch {
      copyFileSync(source, temporary);
    }
    renameSync(temporary, target);
  }
  return { mathjaxSrc: `${ASSETS_DIR}/${MATHJAX_FILE}` };
}
