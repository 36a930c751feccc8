/**
 * Small multiples: wraps any builder's spec in a Vega-Lite facet by a column and/or row field.
 *
 * Builders keep their data at the top level and every column of it, so faceting needs no rebuild:
 * `facet(lineChart(runs, {x: "step", y: "loss"}), {column: "method"})`. Use `column` + `row` for
 * a grid of two factors, or `wrap` with a single field to flow many panels into rows of N.
 * Width/height stay per panel. Scales are shared across panels (comparisons stay honest).
 */
import { assertKnownKeys, InvalidArgumentError } from "../errors";
import { DataRecord, fieldNames, fieldRef, requireField } from "./data";
import { ChartMeta, VegaLiteSpec, wrappedTitle } from "./spec-common";

// Vega-Lite's default spacing between facet panels, in pixels.
const FACET_SPACING = 20;

/** Options of `facet`: the field of the column and / or row small multiples. */
export interface FacetOptions {
  column?: string;
  row?: string;
  /** Flow panels of a single facet field into rows of this many columns. */
  wrap?: number;
  columnTitle?: string;
  rowTitle?: string;
}

// Top-level keys that stay outside the faceted inner spec.
const OUTER_KEYS = ["$schema", "title", "data", "usermeta", "config", "description"];

/** Splits a chart into small multiples by a field (`column` and/or `row`), sharing scales. */
export function facet(spec: VegaLiteSpec, options: FacetOptions): VegaLiteSpec {
  const B = "facet";
  if (spec === null || typeof spec !== "object" || typeof spec.$schema !== "string") {
    throw new InvalidArgumentError(`${B}: spec`, "a Vega-Lite spec from a gradlab chart builder", spec);
  }
  if (options === null || typeof options !== "object") throw new InvalidArgumentError(`${B}: options`, "an options object", options);
  assertKnownKeys(`${B}: options`, options, ["column", "row", "wrap", "columnTitle", "rowTitle"]);
  if ("facet" in spec || "concat" in spec || "hconcat" in spec || "vconcat" in spec || "repeat" in spec) {
    throw new InvalidArgumentError(`${B}: spec`, "a single (possibly layered) chart, not one that is already faceted or concatenated");
  }
  const values = (spec.data as { values?: DataRecord[] } | undefined)?.values;
  if (!Array.isArray(values)) throw new InvalidArgumentError(`${B}: spec.data`, "inline data values (as the gradlab builders produce)", spec.data);
  const known = fieldNames(values);
  const { column, row, wrap } = options;
  if (column === undefined && row === undefined) throw new InvalidArgumentError(`${B}: options`, "a column and/or row field");
  if (column !== undefined) requireField(`${B}: options.column`, column, known);
  if (row !== undefined) requireField(`${B}: options.row`, row, known);
  if (wrap !== undefined) {
    if (!(Number.isInteger(wrap) && wrap >= 1)) throw new InvalidArgumentError(`${B}: options.wrap`, "a positive integer", wrap);
    if (column !== undefined && row !== undefined) throw new InvalidArgumentError(`${B}: options.wrap`, "a single facet field (column or row), not both");
  }

  // Panels in data order (as the builders keep categories): Vega-Lite's facet ignores `sort: null`
  // and would sort alphabetically, so the order is spelled out.
  const firstSeen = (field: string) => [...new Set(values.map((r) => r[field]).filter((v) => v !== null && v !== undefined))];
  const header = (field: string, title: string | undefined) => ({ field: fieldRef(field), type: "nominal", sort: firstSeen(field), title: title ?? field });
  const inner: Record<string, unknown> = {};
  const outer: VegaLiteSpec = { $schema: spec.$schema };
  for (const [key, value] of Object.entries(spec)) {
    if (OUTER_KEYS.includes(key)) outer[key] = value;
    else inner[key] = value;
  }
  if (wrap !== undefined) {
    const field = (column ?? row)!;
    outer.facet = header(field, column !== undefined ? options.columnTitle : options.rowTitle);
    outer.columns = wrap;
  } else {
    outer.facet = {
      ...(column !== undefined ? { column: header(column, options.columnTitle) } : {}),
      ...(row !== undefined ? { row: header(row, options.rowTitle) } : {}),
    };
  }
  outer.spec = inner;
  const meta = (spec.usermeta as { gradlab?: ChartMeta } | undefined)?.gradlab;
  if (meta) outer.usermeta = { gradlab: { ...meta, kind: `faceted ${meta.kind ?? "chart"}` } };
  // The title spans the whole grid: re-wrap a builder's title to the grid's width, not one panel's.
  if (meta?.title && typeof inner.width === "number") {
    const panels = column !== undefined ? firstSeen(column).length : row !== undefined && wrap !== undefined ? firstSeen(row).length : 1;
    const across = Math.max(1, wrap !== undefined ? Math.min(wrap, panels) : panels);
    const titleObject = typeof outer.title === "object" && outer.title !== null ? (outer.title as Record<string, unknown>) : {};
    outer.title = { ...titleObject, ...wrappedTitle(meta.title.text, meta.title.subtitle, across * inner.width + (across - 1) * FACET_SPACING) };
  }
  return outer;
}
