#!/usr/bin/env node
// `npm run compare -- A B [--out FILE.html]`: writes a page of what changed between two report
// runs (scripts/lib/runner/compare.mjs): claims whose verdict changed, headline numbers side by
// side. A and B are report folders (paths), run folder names under reports/, `latest`, or
// `previous` (the run before latest). Default output: compare-<A>-vs-<B>.html (+ .md) in the folder
// that holds B. Exit codes: 0 written, 1 a run cannot be read, 2 usage.
import { existsSync, realpathSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { projectRoot } from "./lib/jupyter-env.mjs";
import { DEFAULT_OUT_DIR } from "./lib/runner/args.mjs";
import { compareRuns, readRun, renderCompareHtml, renderCompareMarkdown } from "./lib/runner/compare.mjs";
import { listRuns, LATEST } from "./lib/runner/history.mjs";
import { writeFileAtomic } from "./lib/runner/staging.mjs";

const USAGE = "usage: npm run compare -- A B [--out FILE.html]   (A, B: report folders, run names under reports/, latest, previous)";

/** A run argument as a real folder path, or null. */
function resolveRun(arg, cwd = process.cwd(), reportsRoot = join(projectRoot, DEFAULT_OUT_DIR)) {
  if (arg === "previous") {
    const latest = existsSync(join(reportsRoot, LATEST)) ? realpathSync(join(reportsRoot, LATEST)) : null;
    const older = listRuns(reportsRoot).find((r) => latest !== null && realpathSync(r.dir) !== latest && r.name < basename(latest));
    return older ? realpathSync(older.dir) : null;
  }
  for (const candidate of [resolve(cwd, arg), join(reportsRoot, arg)]) if (existsSync(candidate)) return realpathSync(candidate);
  return null;
}

function main(argv) {
  const args = [];
  let out = null;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "-h" || argv[i] === "--help") return console.log(USAGE), 0;
    if (argv[i] === "--out") out = argv[++i] ?? null;
    else if (argv[i].startsWith("--out=")) out = argv[i].slice(6);
    else if (argv[i].startsWith("-")) return console.error(`compare: unknown option ${argv[i]}\n${USAGE}`), 2;
    else args.push(argv[i]);
  }
  if (args.length !== 2 || out === "") return console.error(`compare: expected two runs${args.length ? `, got ${args.length}` : ""}\n${USAGE}`), 2;
  const dirs = args.map((arg) => resolveRun(arg));
  const missing = args.filter((_, i) => dirs[i] === null);
  if (missing.length) return console.error(`compare: no report folder ${missing.map((m) => JSON.stringify(m)).join(" or ")} (a path, a run name under reports/, latest or previous)`), 1;
  let a, b;
  try {
    [a, b] = dirs.map((dir) => readRun(dir));
  } catch (error) {
    return console.error(`compare: ${error.message}`), 1;
  }
  const cmp = compareRuns(a, b);
  const html = out === null ? join(dirname(b.dir), `compare-${a.name}-vs-${b.name}.html`) : resolve(out);
  writeFileAtomic(html, renderCompareHtml(cmp));
  writeFileAtomic(html.replace(/\.html?$/i, "") + ".md", renderCompareMarkdown(cmp));
  console.log(`${cmp.changed.length} claim${cmp.changed.length === 1 ? "" : "s"} changed verdict between ${a.name} and ${b.name}${cmp.changed.map((c) => `\n  ${c.notebook} ${c.id}: ${c.a.verdict} → ${c.b.verdict}`).join("")}\nwritten: ${html}`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
