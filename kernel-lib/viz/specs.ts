/**
 * Chart builders for x/y data: line (with an optional mean ± std or lo/hi band), scatter, and
 * bars (with optional error bars and a dashed reference line such as a "Random" baseline).
 *
 * Each returns a plain Vega-Lite v5 spec object: nothing is rendered here (see render.ts / figure.ts).
 * Use lineChart for curves over steps or a swept parameter, scatterChart for per-example clouds,
 * barChart for one value per method/arm. Pass aggregated rows (one per x per series): the band and
 * error bars are drawn from the columns you give, never re-estimated from raw samples.
 *
 * So that a figure reads at a glance (and as a static PNG): a band or error bars are named on the
 * y axis (`bandTitle` / `errorTitle`, e.g. "± std over 3 seeds"); error-bar caps are narrower
 * than their bar and share the bars' xOffset; a reference line's label sits outside the plot;
 * points and bars carry tooltips with their values.
 */
import { InvalidArgumentError } from "../errors";
import { DataRecord, FieldType, fieldRef, Tabular } from "./data";
import {
  assembleSpec, assertPositive, axisType, checkOptions, CommonOptions, DEFAULT_HEIGHT, DEFAULT_WIDTH, prepareRows, scaleOption, titleFor, VegaLiteSpec, yAxisTitle,
} from "./spec-common";

/** Axis scale types the charts accept. */
export type ScaleName = "linear" | "log" | "symlog";

/** Options of `lineChart`. */
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
  /** What the band is, e.g. "± std over 3 seeds": the y-axis title's second line (default: the band's columns). */
  bandTitle?: string;
  /** A point per row, with a tooltip (x, y, colour and the band limits). */
  points?: boolean;
  xType?: FieldType;
  xScale?: ScaleName;
  yScale?: ScaleName;
}

/** Options of `scatterChart`. */
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

/** Options of `barChart`. */
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
  /** What the error bars are, e.g. "± std over 3 seeds" or "95% CI": the y-axis title's second line (default: the error columns). */
  errorTitle?: string;
  /** A dashed horizontal line at this y value, e.g. a random baseline; its label sits right of the plot, clear of the bars. */
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

/**
 * A Vega-Lite line chart of `y` over `x`, one line per `color` group, with an optional band (`std`,
 * or `lo`/`hi`) and log scales.
 *
 * @example
 * ```ts
 * const spec = lab.lineChart([{ step: 1, loss: 2.1 }, { step: 2, loss: 1.7 }], { x: "step", y: "loss" });
 * await lab.figure(spec).show();
 * ```
 */
export function lineChart(data: Tabular, options: LineChartOptions): VegaLiteSpec {
  const B = "lineChart";
  checkOptions(B, options, ["x", "y", "color", "std", "lo", "hi", "bandTitle", "points", "xType", "xScale", "yScale"], ["x", "y"]);
  const band = bandFields(B, options, "std");
  if (options.bandTitle !== undefined) {
    if (typeof options.bandTitle !== "string") throw new InvalidArgumentError(`${B}: options.bandTitle`, "a string", options.bandTitle);
    if (band === null) throw new InvalidArgumentError(`${B}: options.bandTitle`, "a band to describe (options.std, or options.lo and options.hi)");
  }
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

  const xTitle = titleFor(options.xTitle, x);
  const xEnc = { field: fieldRef(x), type: xType, title: xTitle, ...(xType !== "quantitative" ? { sort: null } : {}), ...optScale(B, "xScale", options.xScale) };
  const yName = titleFor(options.yTitle, y);
  // The band's meaning goes on the axis (second line), so a reader of a static PNG knows what it is.
  const yTitle = yAxisTitle(band === null ? yName : [yName, `band: ${options.bandTitle ?? (band === "std" ? `± ${options.std}` : `${options.lo} to ${options.hi}`)}`], options.height ?? DEFAULT_HEIGHT);
  const yEnc = { field: fieldRef(y), type: "quantitative", title: yTitle, scale: valueScale(B, "yScale", options.yScale) };
  // With a band the legend would take the band's faint fill as its symbol; full opacity reads better.
  const colorEnc = color === undefined ? {} : { color: { field: fieldRef(color), type: "nominal", title: color, sort: null, ...(band === null ? {} : { legend: { symbolOpacity: 1 } }) } };
  const line = { mark: { type: "line" }, encoding: { x: xEnc, y: yEnc, ...colorEnc } };
  const layers: Record<string, unknown>[] = [];
  if (band !== null) {
    const loField = band === "std" ? LO : options.lo!;
    const hiField = band === "std" ? HI : options.hi!;
    layers.push({
      mark: { type: "area", opacity: 0.25 },
      encoding: { x: xEnc, y: { field: fieldRef(loField), type: "quantitative", title: yTitle }, y2: { field: fieldRef(hiField) }, ...colorEnc },
    });
  }
  layers.push(line);
  if (options.points) {
    // Points carry the tooltip (a line's own tooltip would show one arbitrary row of the whole series).
    const tooltip = [
      tip(x, xTitle, xType), tip(y, yName, "quantitative"),
      ...(color === undefined ? [] : [tip(color, color, "nominal")]),
      ...bandColumns.map((f) => tip(f, f, "quantitative")),
    ];
    layers.push({ mark: { type: "point", filled: true, opacity: 1 }, encoding: { x: xEnc, y: yEnc, ...colorEnc, tooltip } });
  }
  const kind = band === null ? "line chart" : "line chart with band";
  return assembleSpec(options, p.rows, p.note, layers.length === 1 ? line : { layer: layers }, { kind, droppedRows: p.dropped });
}

/** A tooltip entry: the field under a readable title, numbers to 4 significant digits. */
function tip(field: string, title: string, type: string): Record<string, unknown> {
  return { field: fieldRef(field), type, title, ...(type === "quantitative" ? { format: ".4~g" } : {}) };
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

/** A Vega-Lite scatter chart of `y` against `x`, optionally coloured, sized and with tooltips. */
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
    y: { field: fieldRef(y), type: "quantitative", title: yAxisTitle(titleFor(options.yTitle, y), options.height ?? DEFAULT_HEIGHT), scale: valueScale(B, "yScale", options.yScale) },
    tooltip: tooltipFields.map((f) => tip(f, f, axisType(B, "tooltip", p.rows, f, undefined))),
  };
  if (color !== undefined) encoding.color = { field: fieldRef(color), type: colorType, title: color, ...(colorType === "nominal" ? { sort: null } : {}) };
  const mark = { type: "point", filled: true, ...(options.size ? { size: options.size } : {}), opacity: options.opacity ?? 0.7 };
  return assembleSpec(options, p.rows, p.note, { mark, encoding }, { kind: "scatter chart", droppedRows: p.dropped });
}

/**
 * A dashed rule (with an optional label) at a fixed value. The count aggregate collapses the data
 * to one row so the rule is drawn once per (facet) cell, not per row.
 *
 * The label sits OUTSIDE the plot, where no data mark can be: right of the plot's edge at the
 * rule's height for a horizontal rule (axis "y"; a legend must then move right by
 * `referenceLabelRoom`, see barChart), above the plot centred on the rule for a vertical one
 * (axis "x"; a legend starts level with the plot's top, so it needs no room).
 */
export function referenceRuleLayers(value: number, label: string | undefined, axis: "x" | "y"): Record<string, unknown>[] {
  const once = [{ aggregate: [{ op: "count", as: "__gradlab_n" }] }];
  const rule = { transform: once, mark: { type: "rule", strokeDash: [6, 4], color: "#444", strokeWidth: 1.5 }, encoding: { [axis]: { datum: value } } };
  if (label === undefined) return [rule];
  const text = axis === "y"
    ? { mark: { type: "text", align: "left", baseline: "middle", dx: LABEL_GAP, color: "#444" }, encoding: { y: { datum: value }, x: { value: "width" }, text: { value: label } } }
    : { mark: { type: "text", align: "center", baseline: "bottom", dy: -LABEL_GAP, color: "#444" }, encoding: { x: { datum: value }, y: { value: 0 }, text: { value: label } } };
  return [rule, { transform: once, ...text }];
}

/** Pixels between a reference rule's end (or the plot's top) and its label. */
export const LABEL_GAP = 4;
/**
 * Width in pixels of a label in Vega's default 11 px font, as Vega itself estimates it where it
 * cannot measure text (headless: 0.8 × font size per character; generous for real fonts).
 */
export function labelWidth(label: string): number {
  return Math.ceil(0.8 * 11 * [...label].length);
}
/** The legend offset that keeps a legend clear of a label `extent` pixels beyond the plot's right edge. */
export function referenceLabelRoom(extent: number): number {
  return Math.max(18, Math.ceil(extent) + 12);
}

/**
 * Error-bar caps narrower than their bar (about 40% of its width, 3–16 px), so each cap reads as
 * its own bar's, never as a line across a group of touching bars. The bar width is what Vega-Lite
 * gives a band scale with its default padding (0.2 inner and outer) over `categories`, split by
 * `groups` when bars are grouped by xOffset.
 */
export function capWidth(plotWidth: number, categories: number, groups: number): number {
  const band = (0.8 * plotWidth) / (Math.max(1, categories) + 0.2);
  return Math.round(Math.min(16, Math.max(3, (0.4 * band) / Math.max(1, groups))) * 10) / 10;
}

/** Vega's default axis label font size, and the slant used when category labels do not fit flat. */
const AXIS_LABEL_FONT = 10;
export const SLANTED_LABEL_ANGLE = -40;
/**
 * Flat category labels when each fits its band step, slanted otherwise: flat labels wider than
 * their step print over each other ("kurtosisexcessKurtosis"). Widths are estimated at 0.65 × the
 * font size per character, a sans-serif font's typical width with capitals (Vega's own headless
 * estimate, 0.8 ×, would slant labels that fit, e.g. "single-ADD" under a 69 px step).
 */
export function categoryLabelAngle(labels: readonly string[], plotWidth: number): number {
  const step = plotWidth / (Math.max(1, labels.length) + 0.2);
  const widest = Math.max(0, ...labels.map((l) => 0.65 * AXIS_LABEL_FONT * [...l].length));
  return widest + 2 <= step ? 0 : SLANTED_LABEL_ANGLE;
}

/**
 * A Vega-Lite bar chart of `data` (`x` categories, `y` values), with optional error bars (`error`,
 * or `lo`/`hi`), colour grouping and a reference line. Render or show it with `figure(spec)`.
 */
export function barChart(data: Tabular, options: BarChartOptions): VegaLiteSpec {
  const B = "barChart";
  checkOptions(B, options, ["x", "y", "color", "error", "lo", "hi", "errorTitle", "referenceLine", "referenceLabel"], ["x", "y"]);
  const band = bandFields(B, { std: options.error, lo: options.lo, hi: options.hi }, "error");
  const { x, y, color } = options;
  const ref = options.referenceLine;
  if (ref !== undefined && !(typeof ref === "number" && Number.isFinite(ref))) throw new InvalidArgumentError(`${B}: options.referenceLine`, "a finite number", ref);
  if (options.referenceLabel !== undefined && ref === undefined) throw new InvalidArgumentError(`${B}: options.referenceLabel`, "options.referenceLine to label");
  if (options.referenceLabel !== undefined && typeof options.referenceLabel !== "string") throw new InvalidArgumentError(`${B}: options.referenceLabel`, "a string", options.referenceLabel);
  if (options.errorTitle !== undefined) {
    if (typeof options.errorTitle !== "string") throw new InvalidArgumentError(`${B}: options.errorTitle`, "a string", options.errorTitle);
    if (band === null) throw new InvalidArgumentError(`${B}: options.errorTitle`, "error bars to describe (options.error, or options.lo and options.hi)");
  }
  const extra = [options.error, options.lo, options.hi].filter((f): f is string => f !== undefined);
  const p = prepareRows(B, data, { x, y, color, error: options.error, lo: options.lo, hi: options.hi }, [y, ...extra], options.nonFinite);
  if (band === "std") addStdLimits(B, "error", p.rows, y, options.error!);

  const xTitle = titleFor(options.xTitle, x);
  const categories = [...new Set(p.rows.map((r) => String(r[x])))];
  const xEnc = { field: fieldRef(x), type: "nominal", sort: null, title: xTitle, axis: { labelAngle: categoryLabelAngle(categories, options.width ?? DEFAULT_WIDTH) } };
  const yName = titleFor(options.yTitle, y);
  const yTitle = yAxisTitle(band === null ? yName : [yName, `error bars: ${options.errorTitle ?? (band === "std" ? `± ${options.error}` : `${options.lo} to ${options.hi}`)}`], options.height ?? DEFAULT_HEIGHT);
  // Grouped bars: the error layer takes the SAME xOffset as the bars, so each error bar sits on its own bar.
  const group = color === undefined ? {} : { xOffset: { field: fieldRef(color), type: "nominal", sort: null } };
  const legendRoom = options.referenceLabel === undefined ? {} : { legend: { offset: referenceLabelRoom(LABEL_GAP + labelWidth(options.referenceLabel)) } };
  const colorEnc = color === undefined ? {} : { color: { field: fieldRef(color), type: "nominal", title: color, sort: null, ...legendRoom } };
  const tooltip = [
    tip(x, xTitle, "nominal"), ...(color === undefined ? [] : [tip(color, color, "nominal")]), tip(y, yName, "quantitative"),
    ...extra.map((f) => tip(f, f, "quantitative")),
  ];
  const bars = { mark: { type: "bar" }, encoding: { x: xEnc, y: { field: fieldRef(y), type: "quantitative", title: yTitle }, ...group, ...colorEnc, tooltip } };
  const layers: Record<string, unknown>[] = [bars];
  if (band !== null) {
    const loField = band === "std" ? LO : options.lo!;
    const hiField = band === "std" ? HI : options.hi!;
    const groups = color === undefined ? 1 : new Set(p.rows.map((r) => String(r[color]))).size;
    const cap = capWidth(options.width ?? DEFAULT_WIDTH, categories.length, groups);
    layers.push({
      mark: { type: "errorbar", ticks: { size: cap }, color: "#222" },
      // No tooltip of its own: the bar's tooltip names the error columns (the default would show internal names).
      encoding: { x: xEnc, ...group, y: { field: fieldRef(loField), type: "quantitative", title: yTitle }, y2: { field: fieldRef(hiField) }, tooltip: null },
    });
  }
  if (ref !== undefined) layers.push(...referenceRuleLayers(ref, options.referenceLabel, "y"));
  const body = layers.length === 1 ? bars : { layer: layers };
  return assembleSpec(options, p.rows, p.note, body, { kind: "bar chart", droppedRows: p.dropped });
}
