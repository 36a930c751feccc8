// The data behind a report's figures and tables, written beside it, and the copy of the executed
// notebook that the exporter renders.
//
// Per figure (a display bundle with a Vega-Lite spec): `<name>_files/fig-<k>.vl.json` (the spec,
// which redraws the figure in any Vega-Lite tool) and `fig-<k>.csv` (its inline data; a spec with
// several inline data sources, e.g. a layer with its own data, gets `fig-<k>-<source>.csv` each).
// Per table (a bundle whose metadata carries `gradlab.table`, as kernel-lib's tableBundle
// writes: every row, unformatted): `table-<k>.csv`. Numbering follows the notebook's order.
//
// The copy for the exporter differs from the executed notebook in two ways: each of those
// outputs names its files in `metadata.gradlab.files` (the HTML links them under the output), and
// the `gradlab-meta` / `gradlab-claim` machine lines are removed from stdout, because the
// report's header shows the same facts as text. The executed `.ipynb` itself is left as it ran.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLAIM_PREFIX, META_PREFIX } from "./outputs.mjs";

export const VEGA_LITE_MIME = "application/vnd.vegalite.v5+json";

/** One CSV field (RFC 4180): quoted when it holds a comma, quote, or line break; objects as JSON. */
export function csvField(value) {
  if (value === null || value === undefined) return "";
  const text = typeof value === "object" ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** CSV text of `rows` (arrays, in `columns` order), with a header line. */
export function toCsv(columns, rows) {
  return [columns, ...rows].map((row) => row.map(csvField).join(",")).join("\r\n") + "\r\n";
}

/** Columns (union, first-seen order) and rows of an array of records; primitives become `value`. */
export function recordsToTable(records) {
  const columns = [];
  const seen = new Set();
  const objects = records.map((r) => (r !== null && typeof r === "object" && !Array.isArray(r) ? r : { value: r }));
  for (const r of objects) for (const key of Object.keys(r)) if (!seen.has(key)) (seen.add(key), columns.push(key));
  return { columns, rows: objects.map((r) => columns.map((c) => (c in r ? r[c] : null))) };
}

/**
 * Every inline data source of a Vega-Lite spec, as `{ name, values }`: `data.values` anywhere in
 * the view tree (layer, concat, facet and repeat specs) and the top-level `datasets`. A source
 * appearing twice (same values) is listed once. Named (`data.name`) and URL data are not inline.
 */
export function specDataSources(spec) {
  const sources = [];
  const seen = new Set();
  const add = (name, values) => {
    if (!Array.isArray(values)) return;
    const key = JSON.stringify(values);
    if (seen.has(key)) return;
    seen.add(key);
    sources.push({ name, values });
  };
  for (const [name, values] of Object.entries(spec?.datasets ?? {})) add(name, values);
  const walk = (view, path) => {
    if (view === null || typeof view !== "object") return;
    if (view.data && typeof view.data === "object") add(path, view.data.values);
    for (const key of ["layer", "concat", "hconcat", "vconcat"]) {
      if (Array.isArray(view[key])) view[key].forEach((child, i) => walk(child, `${path === "data" ? "" : `${path}-`}${key}${i + 1}`));
    }
    if (view.spec) walk(view.spec, path === "data" ? "spec" : `${path}-spec`);
  };
  walk(spec, "data");
  return sources;
}

/** Removes gradlab-meta/gradlab-claim lines from a stream text; returns the rest ("" if none). */
function withoutMachineLines(text) {
  const joined = Array.isArray(text) ? text.join("") : String(text ?? "");
  return joined.split(/(?<=\n)/).filter((line) => !line.startsWith(META_PREFIX) && !line.startsWith(CLAIM_PREFIX)).join("");
}

/**
 * Writes the data files of `executed`'s figures and tables into `<dir>/<name>_files/` and returns
 * `{ notebook, files }`: the annotated copy for the exporter (see the module header) and the list
 * `[{ kind: "figure"|"table", number, title, files: [relative paths] }]` in notebook order.
 */
export function writeReportData(executed, { dir, name }) {
  const notebook = structuredClone(executed);
  const filesDir = `${name}_files`;
  const written = [];
  let figures = 0;
  let tables = 0;
  const write = (file, text) => {
    mkdirSync(join(dir, filesDir), { recursive: true });
    writeFileSync(join(dir, filesDir, file), text);
    return `${filesDir}/${file}`;
  };
  for (const cell of notebook.cells ?? []) {
    if (cell.cell_type !== "code") continue;
    const kept = [];
    for (const output of cell.outputs ?? []) {
      if (output.output_type === "stream" && output.name === "stdout") {
        const text = withoutMachineLines(output.text);
        if (text !== "") kept.push({ ...output, text });
        continue;
      }
      kept.push(output);
      const data = output.data ?? {};
      const spec = data[VEGA_LITE_MIME];
      const table = output.metadata?.gradlab?.table;
      let entry = null;
      if (spec && typeof spec === "object") {
        const number = ++figures;
        const files = [write(`fig-${number}.vl.json`, JSON.stringify(spec, null, 2) + "\n")];
        const sources = specDataSources(spec);
        for (const source of sources) {
          const { columns, rows } = recordsToTable(source.values);
          files.push(write(sources.length === 1 ? `fig-${number}.csv` : `fig-${number}-${source.name}.csv`, toCsv(columns, rows)));
        }
        entry = { kind: "figure", number, title: titleOf(spec), files };
      } else if (table && Array.isArray(table.columns) && Array.isArray(table.rows)) {
        const number = ++tables;
        entry = { kind: "table", number, title: typeof table.caption === "string" ? table.caption : "", files: [write(`table-${number}.csv`, toCsv(table.columns, table.rows))] };
      }
      if (entry) {
        output.metadata = { ...(output.metadata ?? {}), gradlab: { ...(output.metadata?.gradlab ?? {}), files: entry.files } };
        written.push(entry);
      }
    }
    cell.outputs = kept;
  }
  return { notebook, files: written };
}

function titleOf(spec) {
  const t = spec.title;
  if (typeof t === "string") return t;
  if (t && typeof t === "object" && "text" in t) return [t.text].flat().join(" ");
  return "";
}
