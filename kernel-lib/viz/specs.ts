/**
 * Chart builders for x/y data: line (with an optional mean ± std or lo/hi band), scatter, and
 * bars (with optional error bars and a dashed reference line such as a "Random" baseline).
 *
 * Each returns a plain Vega-Lite v5 spec object: nothing is rendered here (see render.ts / figure.ts).
 * Use lineChart for curves over steps or a swept parameter, scatterChart for per-example clouds,
 * barChart for one value per method/arm. Pass aggregated rows (one per x per series): the band and
 * error bars are drawn from the columns you give, never re-estimated from raw samples.
 */
import { InvalidArgumentError } from "../errors";
import { DataRecord, FieldType, fieldRef, Tabular } from "./data";
import {
  assembleSpec, assertPositive, axisType, checkOptions, CommonOptions, prepareRows, scaleOption, titleFor, VegaLiteSpec,
} from "./spec-common";

export type ScaleName = "linear" | "log" | "symlog";

export interface LineChartOptions extends CommonOptions {
  x: string;
  y: string;
  /** One line per value of this field. */
  color?: string;
  /** Band of y ± std (a column of standard deviations). */
  std?: string;
  /** Band from lo to hi (e.g. a confidence interval); give both, and not with `std`. */
  lo?: string;
  hi?: string;
  points?: boolean;
  xType?: FieldType;
  xScale?: ScaleName;
  yScale?: ScaleName;
}

export interface ScatterChartOptions extends CommonOptions {
  x: string;
  y: string;
  color?: string;
  /** Fields shown on hover (default: x, y and color). */
  tooltip?: string[];
  /** Point area in square pixels. */
  size?: number;
  opacity?: number;
  xScale?: ScaleName;
  yScale?: ScaleName;
}

export interface BarChartOptions extends CommonOptions {
  /** The category axis (kept in data order). */
  x: string;
  y: string;
  /** Grouped bars: one bar per value of this field inside each x category. */
  color?: string;
  /** Error bars of y ± error (half-widths). */
  error?: string;
  lo?: string;
  hi?: string;
  /** A dashed horizontal line at this y value, e.g. a random baseline. */
  referenceLine?: number;
  referenceLabel?: string;
}

// Computed band/error limits; prefixed so they cannot collide with a user's column.
const LO = "__gradlab_lo";
const HI = "__gradlab_hi";

function bandFields(builder: string, o: { std?: string; lo?: string; hi?: string }, stdOption: "std" | "error"): "std" | "lohi" | null {
  const hasStd = o.std !== undefined;
  if (hasStd && (o.lo !== undefined || o.hi !== undefined)) {
    throw new InvalidArgumentError(`${builder}: options.${stdOption}`, "either a std column or lo/hi columns, not both");
  }
  if ((o.lo === undefined) !== (o.hi === undefined)) {
    throw new InvalidArgumentError(`${builder}: options.${o.lo === undefined ? "lo" : "hi"}`, "lo and hi given together");
  }
  return hasStd ? "std" : o.lo !== undefined ? "lohi" : null;
}

/** Adds LO/HI = y ∓ std to every row; a negative std is a caller bug, so it is an error. */
function addStdLimits(builder: string, option: string, rows: DataRecord[], y: string, std: string): void {
  rows.forEach((row, i) => {
    const s = row[std] as number;
    if (s < 0) throw new InvalidArgumentError(`${builder}: data[${i}].${std}`, `a non-negative ${option} (half-width)`, s);
    row[LO] = (row[y] as number) - s;
    row[HI] = (row[y] as number) + s;
  });
}

export function lineChart(data: Tabular, options: LineChartOptions): VegaLiteSpec {
  const B = "lineChart";
  checkOptions(B, options, ["x", "y", "color", "std", "lo", "hi", "points", "xType", "xScale", "yScale"], ["x", "y"]);
  const band = bandFields(B, options, "std");
  const { x, y, color } = options;
  const bandColumns = [options.std, options.lo, options.hi].filter((f): f is string => f !== undefined);
  let xType: FieldType = "quantitative";
  const p = prepareRows(B, data, { x, y, color, std: options.std, lo: options.lo, hi: options.hi }, (rows) => {
    xType = axisType(B, "xType", rows, x, options.xType);
    return [y, ...(xType === "quantitative" ? [x] : []), ...bandColumns];
  }, options.nonFinite);
  if (options.xScale === "log") assertPositive(B, p.rows, x, "xScale");
  if (options.yScale === "log") assertPositive(B, p.rows, y, "yScale");
  if (band === "std") addStdLimits(B, "std", p.rows, y, options.std!);
  if (band !== null && options.yScale === "log") assertPositive(B, p.rows, band === "std" ? LO : options.lo!, "yScale");

  const xEnc = { field: fieldRef(x), type: xType, title: titleFor(options.xTitle, x), ...(xType !== "quantitative" ? { sort: null } : {}), ...optScale(B, "xScale", options.xScale) };
  const yTitle = titleFor(options.yTitle, y);
  const yEnc = { field: fieldRef(y), type: "quantitative", title: yTitle, scale: valueScale(B, "yScale", options.yScale) };
  const colorEnc = color === undefined ? {} : { color: { field: fieldRef(color), type: "nominal", title: color, sort: null } };
  const line = { mark: { type: "line", ...(options.points ? { point: true } : {}) }, encoding: { x: xEnc, y: yEnc, ...colorEnc } };
  if (band === null) return assembleSpec(options, p.rows, p.note, line, { kind: "line chart", droppedRows: p.dropped });

  const loField = band === "std" ? LO : options.lo!;
  const hiField = band === "std" ? HI : options.hi!;
  const area = {
    mark: { type: "area", opacity: 0.25 },
    encoding: { x: xEnc, y: { field: fieldRef(loField), type: "quantitative", title: yTitle }, y2: { field: fieldRef(hiField) }, ...colorEnc },
  };
  return assembleSpec(options, p.rows, p.note, { layer: [area, line] }, { kind: "line chart with band", droppedRows: p.dropped });
}

/** Value axes fit the data (no forced zero), except log axes where "zero" does not apply. */
function valueScale(builder: string, option: string, value: string | undefined): Record<string, unknown> {
  const scale = scaleOption(builder, option, value);
  return value === "log" ? scale! : { zero: false, ...scale };
}

function optScale(builder: string, option: string, value: string | undefined): Record<string, unknown> {
  const scale = scaleOption(builder, option, value);
  return scale === undefined ? {} : { scale };
}

export function scatterChart(data: Tabular, options: ScatterChartOptions): VegaLiteSpec {
  const B = "scatterChart";
  checkOptions(B, options, ["x", "y", "color", "tooltip", "size", "opacity", "xScale", "yScale"], ["x", "y"]);
  const { x, y, color } = options;
  if (options.tooltip !== undefined && !Array.isArray(options.tooltip)) throw new InvalidArgumentError(`${B}: options.tooltip`, "an array of field names", options.tooltip);
  for (const key of ["size", "opacity"] as const) {
    const v = options[key];
    if (v !== undefined && !(Number.isFinite(v) && v > 0 && (key !== "opacity" || v <= 1))) {
      throw new InvalidArgumentError(`${B}: options.${key}`, key === "opacity" ? "a number in (0, 1]" : "a positive number", v);
    }
  }
  const p = prepareRows(B, data, { x, y, color, tooltip: options.tooltip }, [x, y], options.nonFinite);
  if (options.xScale === "log") assertPositive(B, p.rows, x, "xScale");
  if (options.yScale === "log") assertPositive(B, p.rows, y, "yScale");
  const colorType = color === undefined ? null : axisType(B, "color", p.rows, color, undefined);
  const tooltipFields = options.tooltip ?? [x, y, ...(color === undefined ? [] : [color])];
  const encoding: Record<string, unknown> = {
    x: { field: fieldRef(x), type: "quantitative", title: titleFor(options.xTitle, x), scale: valueScale(B, "xScale", options.xScale) },
    y: { field: fieldRef(y), type: "quantitative", title: titleFor(options.yTitle, y), scale: valueScale(B, "yScale", options.yScale) },
    tooltip: tooltipFields.map((f) => ({ field: fieldRef(f), title: f, type: axisType(B, "tooltip", p.rows, f, undefined) })),
  };
  if (color !== undefined) encoding.color = { field: fieldRef(color), type: colorType, title: color, ...(colorType === "nominal" ? { sort: null } : {}) };
  const mark = { type: "point", filled: true, ...(options.size ? { size: options.size } : {}), opacity: options.opacity ?? 0.7 };
  return assembleSpec(options, p.rows, p.note, { mark, encoding }, { kind: "scatter chart", droppedRows: p.dropped });
}

/**
 * A dashed horizontal rule (with an optional label at the right end) at a fixed y. The count
 * aggregate collapses the data to one row so the rule is drawn once per (facet) cell, not per row.
 */
export function referenceRuleLayers(value: number, label: string | undefined, axis: "x" | "y"): Record<string, unknown>[] {
  const once = [{ aggregate: [{ op: "count", as: "__gradlab_n" }] }];
  const rule = { transform: once, mark: { type: "rule", strokeDash: [6, 4], color: "#444", strokeWidth: 1.5 }, encoding: { [axis]: { datum: value } } };
  if (label === undefined) return [rule];
  const text = axis === "y"
    ? { mark: { type: "text", align: "right", baseline: "bottom", dx: -3, dy: -3, color: "#444" }, encoding: { y: { datum: value }, x: { value: "width" }, text: { value: label } } }
    : { mark: { type: "text", align: "left", baseline: "top", dx: 3, dy: 3, color: "#444" }, encoding: { x: { datum: value }, y: { value: 0 }, text: { value: label } } };
  return [rule, { transform: once, ...text }];
}

export function barChart(data: Tabular, options: BarChartOptions): VegaLiteSpec {
  const B = "barChart";
  checkOptions(B, options, ["x", "y", "color", "error", "lo", "hi", "referenceLine", "referenceLabel"], ["x", "y"]);
  const band = bandFields(B, { std: options.error, lo: options.lo, hi: options.hi }, "error");
  const { x, y, color } = options;
  const ref = options.referenceLine;
  if (ref !== undefined && !(typeof ref === "number" && Number.isFinite(ref))) throw new InvalidArgumentError(`${B}: options.referenceLine`, "a finite number", ref);
  if (options.referenceLabel !== undefined && ref === undefined) throw new InvalidArgumentError(`${B}: options.referenceLabel`, "options.referenceLine to label");
  const extra = [options.error, options.lo, options.hi].filter((f): f is string => f !== undefined);
  const p = prepareRows(B, data, { x, y, color, error: options.error, lo: options.lo, hi: options.hi }, [y, ...extra], options.nonFinite);
  if (band === "std") addStdLimits(B, "error", p.rows, y, options.error!);

  const xEnc = { field: fieldRef(x), type: "nominal", sort: null, title: titleFor(options.xTitle, x), axis: { labelAngle: 0 } };
  const group = color === undefined ? {} : { xOffset: { field: fieldRef(color), type: "nominal", sort: null } };
  const colorEnc = color === undefined ? {} : { color: { field: fieldRef(color), type: "nominal", title: color, sort: null } };
  const bars = { mark: { type: "bar" }, encoding: { x: xEnc, y: { field: fieldRef(y), type: "quantitative", title: titleFor(options.yTitle, y) }, ...group, ...colorEnc } };
  const layers: Record<string, unknown>[] = [bars];
  if (band !== null) {
    const loField = band === "std" ? LO : options.lo!;
    const hiField = band === "std" ? HI : options.hi!;
    layers.push({
      mark: { type: "errorbar", ticks: true, color: "#222" },
      encoding: { x: xEnc, ...group, y: { field: fieldRef(loField), type: "quantitative", title: titleFor(options.yTitle, y) }, y2: { field: fieldRef(hiField) } },
    });
  }
  if (ref !== undefined) layers.push(...referenceRuleLayers(ref, options.referenceLabel, "y"));
  const body = layers.length === 1 ? bars : { layer: layers };
  return assembleSpec(options, p.rows, p.note, body, { kind: "bar chart", droppedRows: p.dropped });
}
