/**
 * Tabular input for the chart builders: plain arrays of records or danfo DataFrames, turned into
 * validated rows for a Vega-Lite `data.values` block.
 *
 * Strategy: a DataFrame is read through its `columns` / `values` (duck-typed, so this module never
 * loads danfo); records are used as they are. Field names are checked against the data so a typo
 * fails here, naming the field, instead of drawing an empty chart. Non-finite numbers (NaN, ±Inf)
 * and missing values in the plotted fields are dropped by default and counted, so the chart can
 * say how many rows it left out (`nonFinite: "drop"`); `nonFinite: "error"` raises instead.
 */
import { EmptyInputError, InvalidArgumentError, NonFiniteError } from "../errors";

/** One row of chart or table data. */
export type DataRecord = Record<string, unknown>;

/** The part of a danfo DataFrame this module reads. */
export interface DataFrameLike {
  readonly columns: readonly string[];
  readonly values: readonly unknown[];
  readonly shape: readonly number[];
}

/** Chart or table data: an array of records or a danfo DataFrame. */
export type Tabular = readonly DataRecord[] | DataFrameLike;

/** What chart data does with NaN / Infinity: "drop" the row or "error". */
export type NonFinitePolicy = "drop" | "error";
/** Vega-Lite field types. */
export type FieldType = "quantitative" | "ordinal" | "nominal" | "temporal";

export function isDataFrameLike(value: unknown): value is DataFrameLike {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const v = value as Partial<DataFrameLike>;
  return Array.isArray(v.columns) && Array.isArray(v.values) && Array.isArray(v.shape);
}

/** A danfo Series also has columns/values/shape, but 1-D values and no column names: reject it. */
export function assertDataFrame(argument: string, data: DataFrameLike): void {
  if (data.shape.length !== 2 || data.values.some((row) => !Array.isArray(row))) {
    throw new InvalidArgumentError(argument, "a DataFrame with named columns, not a Series (wrap it: new DataFrame({ name: series.values }))", data);
  }
}

/**
 * Rows of `data` as plain records (fresh objects: callers may add fields). Dates become ISO
 * strings because that is what Vega parses and what survives JSON.
 */
export function toRecords(argument: string, data: unknown): DataRecord[] {
  let rows: DataRecord[];
  if (Array.isArray(data)) {
    rows = data.map((row, i) => {
      if (row === null || typeof row !== "object" || Array.isArray(row)) {
        throw new InvalidArgumentError(`${argument}[${i}]`, "a record (plain object)", row);
      }
      return { ...(row as DataRecord) };
    });
  } else if (isDataFrameLike(data)) {
    assertDataFrame(argument, data);
    const columns = data.columns;
    rows = data.values.map((row) => {
      const record: DataRecord = {};
      const cells = row as unknown[];
      columns.forEach((c, j) => (record[c] = cells[j]));
      return record;
    });
  } else {
    throw new InvalidArgumentError(argument, "an array of records or a danfo DataFrame", data);
  }
  if (rows.length === 0) throw new EmptyInputError(argument, "at least one row");
  for (const row of rows) {
    for (const key of Object.keys(row)) if (row[key] instanceof Date) row[key] = (row[key] as Date).toISOString();
  }
  return rows;
}

/** Every field name that occurs in at least one row, in first-seen order. */
export function fieldNames(rows: readonly DataRecord[]): string[] {
  const seen = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row)) seen.add(key);
  return [...seen];
}

/** Throws InvalidArgumentError naming `option` and the missing `field` if no row has it. */
export function requireField(option: string, field: unknown, known: readonly string[]): string {
  if (typeof field !== "string" || field.length === 0) throw new InvalidArgumentError(option, "a field name (non-empty string)", field);
  if (!known.includes(field)) {
    throw new InvalidArgumentError(option, `a field of the data (one of ${known.map((k) => JSON.stringify(k)).join(", ")})`, field);
  }
  return field;
}

/** Quantitative when every present value is a number, else nominal (strings, booleans, mixes). */
export function inferFieldType(rows: readonly DataRecord[], field: string): "quantitative" | "nominal" {
  let sawValue = false;
  for (const row of rows) {
    const v = row[field];
    if (v === null || v === undefined) continue;
    sawValue = true;
    if (typeof v !== "number") return "nominal";
  }
  return sawValue ? "quantitative" : "nominal";
}

/**
 * Removes rows whose `numeric` fields are not finite numbers or whose `present` fields are
 * missing. Returns the kept rows and, per field, how many rows it caused to be dropped.
 */
export function dropInvalidRows(
  rows: readonly DataRecord[],
  numeric: readonly string[],
  present: readonly string[],
  policy: NonFinitePolicy,
): { rows: DataRecord[]; dropped: number; byField: Record<string, number> } {
  const kept: DataRecord[] = [];
  const byField: Record<string, number> = {};
  rows.forEach((row, i) => {
    let bad: string | null = null;
    for (const f of numeric) {
      const v = row[f];
      if (typeof v !== "number" || !Number.isFinite(v)) {
        if (v !== null && v !== undefined && typeof v !== "number") {
          throw new InvalidArgumentError(`data[${i}].${f}`, "a number (the field is plotted on a numeric axis)", v);
        }
        bad = f;
        break;
      }
    }
    if (bad === null) for (const f of present) if (row[f] === null || row[f] === undefined) { bad = f; break; }
    if (bad === null) kept.push(row);
    else if (policy === "error") throw new NonFiniteError(`data field ${JSON.stringify(bad)}`, i);
    else byField[bad] = (byField[bad] ?? 0) + 1;
  });
  const dropped = rows.length - kept.length;
  if (kept.length === 0) throw new EmptyInputError("data", `at least one row with finite values; ${rows.length === 1 ? "its only row has" : `all ${rows.length} rows have`} NaN/Inf/missing values in the plotted fields`);
  return { rows: kept, dropped, byField };
}

/** A sentence for the chart's subtitle saying what was dropped, or null when nothing was. */
export function droppedNote(dropped: number, byField: Record<string, number>): string | null {
  if (dropped === 0) return null;
  const parts = Object.entries(byField).map(([f, n]) => `${n} in ${f}`);
  return `${dropped} row${dropped === 1 ? "" : "s"} with NaN/Inf/missing values dropped (${parts.join(", ")})`;
}

/**
 * A Vega-Lite field reference for a raw column name: Vega-Lite reads "." and "[ ]" as nested
 * access, so a column called "loss.mean" must be written "loss\\.mean".
 */
export function fieldRef(name: string): string {
  return name.replace(/[.[\]\\]/g, (c) => "\\" + c);
}
