#!/usr/bin/env node
// `npm run export-runs -- [STORE.jsonl ...] [--out DIR]`: writes each run store as `<study>.csv`
// and `<study>.arrow` (Apache Arrow IPC file) for pandas, DuckDB, polars or a spreadsheet
// (scripts/lib/runner/store-export.mjs). Default: every reports/runs/*.jsonl into reports/latest/data
// (or reports/data when there is no latest run). The runner does the same after each history run.
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { projectRoot } from "./lib/jupyter-env.mjs";
import { exportRunStore } from "./lib/runner/store-export.mjs";

function main(argv) {
  const stores = [];
  let out = null;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "-h" || argv[i] === "--help") return console.log("usage: npm run export-runs -- [STORE.jsonl ...] [--out DIR]"), 0;
    if (argv[i] === "--out") out = argv[++i] ?? "";
    else if (argv[i].startsWith("-")) return console.error(`export-runs: unknown option ${argv[i]}`), 2;
    else stores.push(resolve(argv[i]));
  }
  if (out === "") return console.error("export-runs: --out: missing folder"), 2;
  const reports = join(projectRoot, "reports");
  if (!stores.length) {
    const dir = join(reports, "runs");
    if (existsSync(dir)) stores.push(...readdirSync(dir).filter((f) => f.endsWith(".jsonl")).sort().map((f) => join(dir, f)));
  }
  if (!stores.length) return console.error("export-runs: no run store given and none in reports/runs/"), 1;
  const target = out !== null ? resolve(out) : join(reports, existsSync(join(reports, "latest")) ? "latest/data" : "data");
  for (const store of stores) {
    if (!existsSync(store)) return console.error(`export-runs: ${store} does not exist`), 1;
    const r = exportRunStore(store, target);
    console.log(`${store}: ${r.rows} rows × ${r.columns.length} columns → ${r.csv}, ${r.arrow}${r.skipped ? ` (${r.skipped} unreadable lines skipped)` : ""}`);
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
