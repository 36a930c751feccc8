// The run store (kernel-lib/experiments/run-store.ts: one JSONL line per finished run) as files
// any tool reads without parsing JSONL by hand: `<study>.csv` (a spreadsheet, pandas.read_csv,
// DuckDB's read_csv) and `<study>.arrow` (the Apache Arrow IPC file format: pyarrow.feather /
// pandas.read_feather, DuckDB, polars). One row per valid line of the store — every attempt, ok
// and failed, in file order — flattened the way the store's own `toRecords()` flattens (config
// and metrics keys as columns, nested ones joined with dots, cost counters as cost.*; arrays such
// as curves are left out). Torn or invalid lines are
// skipped and counted, as the store itself does.
//
// Arrow column types: Float64 when every value is a number, Bool when every value is a boolean,
// else Utf8 (mixed columns as text); nulls stay null. Numbers are not narrowed to integers, so a
// column keeps one type however its values change between runs.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, join } from "node:path";
import { Bool, Float64, Table, tableToIPC, Utf8, vectorFromArray } from "apache-arrow";
import { projectRoot } from "../jupyter-env.mjs";
import { toCsv } from "./report-data.mjs";

const require = createRequire(import.meta.url);

/** The built run-store module (the runner runs after `npm run build`, as `npm start` does). */
function runStoreModule() {
  try {
    return require(join(projectRoot, "dist", "kernel-lib", "experiments", "run-store.js"));
  } catch (error) {
    throw new Error(`exporting a run store needs the built library (npm run build): ${error.message}`);
  }
}

/** The Arrow type a column's values fit: Float64, Bool or Utf8. */
export function arrowTypeOf(values) {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (present.length && present.every((v) => typeof v === "number")) return new Float64();
  if (present.length && present.every((v) => typeof v === "boolean")) return new Bool();
  return new Utf8();
}

/** An Arrow table of flat rows (every row has every column). */
export function rowsToArrowTable(columns, rows) {
  const vectors = {};
  columns.forEach((column, j) => {
    const values = rows.map((row) => row[j] ?? null);
    const type = arrowTypeOf(values);
    const cast = type instanceof Utf8 ? values.map((v) => (v === null ? null : typeof v === "object" ? JSON.stringify(v) : String(v))) : values;
    vectors[column] = vectorFromArray(cast, type);
  });
  return new Table(vectors);
}

function writeAtomic(path, data) {
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, data);
  renameSync(temporary, path);
}

/**
 * Writes `<outDir>/<study file name>.csv` and `.arrow` from the store file `jsonlPath`; returns
 * `{ csv, arrow, rows, columns, skipped }` (skipped: the lines the store reader rejected).
 */
export function exportRunStore(jsonlPath, outDir) {
  const { readRunLines, toFlatRows } = runStoreModule();
  const { records, skipped } = readRunLines(jsonlPath);
  const flat = toFlatRows(records.map((r) => r.record));
  const columns = flat.length ? Object.keys(flat[0]) : ["study", "runId", "configHash", "seed", "status"];
  const rows = flat.map((row) => columns.map((c) => row[c] ?? null));
  mkdirSync(outDir, { recursive: true });
  const stem = basename(jsonlPath).replace(/\.jsonl$/, "");
  const csv = join(outDir, `${stem}.csv`);
  const arrow = join(outDir, `${stem}.arrow`);
  writeAtomic(csv, toCsv(columns, rows));
  writeAtomic(arrow, tableToIPC(rowsToArrowTable(columns, rows), "file"));
  return { csv, arrow, rows: rows.length, columns, skipped: skipped.length };
}
