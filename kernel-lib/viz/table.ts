/**
 * Tables: a danfo DataFrame (or an array of records, converted to one) shown as a display bundle of
 * escaped HTML + aligned plain text.
 *
 * Every cell and column name is HTML-escaped, so a string such as "<script>…</script>" from a
 * dataset shows as text and never runs in the notebook. Numbers are shown with `digits`
 * significant digits (integers in full), NaN as "NaN", ±Infinity as "Inf"/"-Inf". Long tables
 * show their first `maxRows` rows and a "… N more rows" note. danfo (≈1 s to load) is required
 * only when a table is built from records.
 */
import { EmptyInputError, InvalidArgumentError, assertKnownKeys } from "../errors";
import type { DataFrame } from "danfojs-node";
import { assertDataFrame, DataFrameLike, DataRecord, isDataFrameLike } from "./data";
import { DisplayBundle, DisplayTarget, sendBundle } from "./display";

/** Options of the tables (`displayTable`, `tableBundle`). */
export interface TableOptions {
  /** Rows shown before the "… N more rows" note; default 20. */
  maxRows?: number;
  /** Significant digits for non-integer numbers; default 4. */
  digits?: number;
  /** Show the DataFrame index as the first column; default true. */
  index?: boolean;
  /** A caption above the table. */
  caption?: string;
}

/** The MIME types a table's display bundle carries. */
export const TABLE_MIME_TYPES = ["text/html", "text/plain"] as const;
const TEXT_CELL_LIMIT = 40;

/**
 * Records → DataFrame. Columns are the union of all records' keys (first-seen order) and missing
 * values become null: danfo itself reads columns from the first record only and fills the rest
 * by position, which silently misaligns records whose keys differ.
 */
export function toDataFrame(records: readonly DataRecord[]): DataFrame {
  if (!Array.isArray(records)) throw new InvalidArgumentError("records", "an array of records", records);
  if (records.length === 0) throw new EmptyInputError("records", "at least one record");
  const columns: Record<string, unknown[]> = {};
  records.forEach((row, i) => {
    if (row === null || typeof row !== "object" || Array.isArray(row)) throw new InvalidArgumentError(`records[${i}]`, "a record (plain object)", row);
    for (const key of Object.keys(row)) if (!(key in columns)) columns[key] = new Array(records.length).fill(null);
  });
  if (Object.keys(columns).length === 0) throw new EmptyInputError("records", "at least one field");
  records.forEach((row, i) => {
    for (const [key, value] of Object.entries(row)) columns[key][i] = value === undefined ? null : value;
  });
  const dfd = require("danfojs-node") as typeof import("danfojs-node");
  return new dfd.DataFrame(columns);
}

/** Escapes &, <, >, " and ' for HTML element and attribute text. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/**
 * A number as table text with `digits` significant digits (integers as is; NaN, Inf and -Inf
 * spelled out; scientific notation outside [1e-4, 1e6)).
 */
export function formatNumber(value: number, digits = 4): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Inf";
  if (value === -Infinity) return "-Inf";
  if (Object.is(value, -0)) return "0";
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  const a = Math.abs(value);
  if (a >= 1e-4 && a < 1e6) return String(Number(value.toPrecision(digits)));
  // Scientific: drop trailing zeros of the mantissa (1.000e-7 → 1e-7).
  return value.toExponential(digits - 1).replace(/\.?0+e/, "e");
}

/**
 * One table cell as text: numbers through `formatNumber`, null/undefined as "null", objects as
 * JSON.
 */
export function formatCell(value: unknown, digits = 4): string {
  if (typeof value === "number") return formatNumber(value, digits);
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return value;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "object") return JSON.stringify(value) ?? String(value);
  return String(value);
}

interface TableView {
  columns: string[];
  index: string[];
  cells: string[][];
  numeric: boolean[];
  totalRows: number;
}

function checkTableOptions(options: TableOptions): Required<Omit<TableOptions, "caption">> & { caption?: string } {
  if (options === null || typeof options !== "object") throw new InvalidArgumentError("options", "an options object", options);
  assertKnownKeys("table options", options, ["maxRows", "digits", "index", "caption"]);
  const maxRows = options.maxRows ?? 20;
  const digits = options.digits ?? 4;
  if (!(Number.isInteger(maxRows) && maxRows >= 1)) throw new InvalidArgumentError("options.maxRows", "a positive integer", maxRows);
  if (!(Number.isInteger(digits) && digits >= 1 && digits <= 17)) throw new InvalidArgumentError("options.digits", "an integer in [1, 17]", digits);
  if (options.caption !== undefined && typeof options.caption !== "string") throw new InvalidArgumentError("options.caption", "a string", options.caption);
  return { maxRows, digits, index: options.index ?? true, caption: options.caption };
}

function asDataFrame(table: unknown): DataFrameLike {
  if (Array.isArray(table)) return toDataFrame(table as DataRecord[]);
  if (isDataFrameLike(table)) {
    assertDataFrame("table", table);
    return table;
  }
  throw new InvalidArgumentError("table", "a danfo DataFrame or an array of records", table);
}

function tableView(df: DataFrameLike, maxRows: number, digits: number): TableView {
  const columns = df.columns.map(String);
  const rows = df.values as unknown[][];
  const shown = rows.slice(0, maxRows);
  const dfIndex = (df as { index?: unknown[] }).index;
  const index = shown.map((_, i) => formatCell(Array.isArray(dfIndex) ? dfIndex[i] : i, digits));
  const cells = shown.map((row) => columns.map((_, j) => formatCell(row[j], digits)));
  const numeric = columns.map((_, j) => shown.length > 0 && shown.every((row) => typeof row[j] === "number"));
  return { columns, index, cells, numeric, totalRows: rows.length };
}

function moreRowsNote(view: TableView): string | null {
  const hidden = view.totalRows - view.cells.length;
  if (hidden <= 0) return null;
  return `… ${hidden} more row${hidden === 1 ? "" : "s"} (${view.totalRows} rows × ${view.columns.length} columns)`;
}

function toHtml(view: TableView, showIndex: boolean, caption: string | undefined): string {
  const e = escapeHtml;
  const align = (j: number) => (view.numeric[j] ? ' style="text-align: right"' : ' style="text-align: left"');
  const head = `<tr>${showIndex ? "<th></th>" : ""}${view.columns.map((c, j) => `<th${align(j)}>${e(c)}</th>`).join("")}</tr>`;
  const body = view.cells
    .map((row, i) => `<tr>${showIndex ? `<th>${e(view.index[i])}</th>` : ""}${row.map((c, j) => `<td${align(j)}>${e(c)}</td>`).join("")}</tr>`)
    .join("\n");
  const note = moreRowsNote(view);
  return [
    `<table class="gradlab-table" border="1">`,
    caption === undefined ? "" : `<caption>${e(caption)}</caption>`,
    `<thead>${head}</thead>`,
    `<tbody>\n${body}\n</tbody>`,
    `</table>`,
    view.totalRows === 0 ? "<p>(no rows)</p>" : note === null ? "" : `<p>${e(note)}</p>`,
  ].filter(Boolean).join("\n");
}

function toPlainText(view: TableView, showIndex: boolean, caption: string | undefined): string {
  // Control characters would break the alignment; long cells are cut so one column cannot take over.
  const clip = (s: string) => {
    const flat = s.replace(/[\r\n\t]/g, " ");
    return flat.length > TEXT_CELL_LIMIT ? flat.slice(0, TEXT_CELL_LIMIT - 1) + "…" : flat;
  };
  const header = [...(showIndex ? [""] : []), ...view.columns].map(clip);
  const rows = view.cells.map((row, i) => [...(showIndex ? [view.index[i]] : []), ...row].map(clip));
  const rightAligned = [...(showIndex ? [false] : []), ...view.numeric];
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (cells: string[]) => cells.map((c, j) => (rightAligned[j] ? c.padStart(widths[j]) : c.padEnd(widths[j]))).join("  ").trimEnd();
  const note = moreRowsNote(view);
  return [caption ?? null, line(header), ...rows.map(line), view.totalRows === 0 ? "(no rows)" : note].filter((s): s is string => s !== null).join("\n");
}

/**
 * Every row of a table, unformatted, for the report's `table-<k>.csv` (scripts/lib/runner/report-data.mjs):
 * JSON has no NaN or Infinity, so those travel as the strings "NaN", "Inf", "-Inf".
 */
function tableData(df: DataFrameLike, caption: string | undefined): { columns: string[]; rows: unknown[][]; caption?: string } {
  const raw = (value: unknown) => (typeof value === "number" && !Number.isFinite(value) ? formatNumber(value) : value instanceof Date ? value.toISOString() : value ?? null);
  const columns = df.columns.map(String);
  let rows = (df.values as unknown[][]).map((row) => row.map(raw));
  // Row labels (describe()'s "mean", "std" …) are data; a plain 0…n−1 position is not.
  const index = (df as { index?: unknown[] }).index;
  if (Array.isArray(index) && index.some((label, i) => label !== i)) {
    rows = rows.map((row, i) => [raw(index[i]), ...row]);
    columns.unshift(columns.includes("index") ? "(index)" : "index");
  }
  return { columns, rows, ...(caption === undefined ? {} : { caption }) };
}

/**
 * The display bundle of a table: text/html (escaped) and text/plain (aligned); its metadata
 * carries the rows themselves (`gradlab.table`), so a report can export them beside itself.
 */
export function tableBundle(table: DataFrameLike | readonly DataRecord[], options: TableOptions = {}): DisplayBundle {
  const o = checkTableOptions(options);
  const df = asDataFrame(table);
  const view = tableView(df, o.maxRows, o.digits);
  return {
    data: { "text/html": toHtml(view, o.index, o.caption), "text/plain": toPlainText(view, o.index, o.caption) },
    metadata: { gradlab: { table: tableData(df, o.caption) } },
  };
}

/**
 * Shows a table (an array of records or a danfo DataFrame) in the notebook as HTML with a text
 * fallback; the rows themselves travel in the bundle's metadata, so a report can export them.
 * Outside the kernel it returns the bundle (see display.ts). Shows the first `maxRows` rows
 * (default 20) with numbers at `digits` significant digits (default 4).
 *
 * @example
 * ```ts
 * lab.displayTable([{ arm: "gini", success: 0.62 }, { arm: "random", success: 0.55 }], { caption: "success rate" });
 * ```
 */
export function displayTable(table: DataFrameLike | readonly DataRecord[], options: TableOptions = {}, target?: DisplayTarget): DisplayBundle | undefined {
  return sendBundle(tableBundle(table, options), "text/html", target);
}
