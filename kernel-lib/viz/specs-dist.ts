/**
 * Chart builders for distributions and matrices: histogram (with an optional vertical rule at a
 * value, the median or the mean) and heatmap (x, y, value with a colour scale and optional
 * in-cell numbers).
 *
 * Use histogram for raw per-example values (Vega-Lite bins them; the median rule is computed by
 * Vega-Lite per facet cell, so it stays right under facet()). Use heatmap for a matrix given in
 * long form, one row per (x, y) cell; NaN cells are dropped and show as gaps.
 */
import { InvalidArgumentError, assertOneOf } from "../errors";
import { FieldType, fieldRef, Tabular } from "./data";
import { assembleSpec, axisType, checkOptions, CommonOptions, DEFAULT_HEIGHT, DEFAULT_WIDTH, prepareRows, titleFor, VegaLiteSpec, yAxisTitle } from "./spec-common";
import { categoryLabelAngle, LABEL_GAP, referenceRuleLayers } from "./specs";

/** Options of `histogram`. */
export interface HistogramOptions extends CommonOptions {
  x: string;
  /** Upper bound on the number of bins (Vega-Lite picks nice boundaries). Default 30. */
  maxBins?: number;
  /** Overlaid (not stacked) histograms, one per value of this field. */
  color?: string;
  /**
   * A vertical rule at a number, or at the median/mean of x (per color group and facet cell). Its
   * label sits above the plot, clear of the bars and of a legend (which starts level with the
   * plot's top); computed ones one line per colour group, in the group's colour.
   */
  rule?: number | "median" | "mean";
  ruleLabel?: string;
}

/** Options of `heatmap`. */
export interface HeatmapOptions extends CommonOptions {
  x: string;
  y: string;
  value: string;
  /** A Vega colour scheme name; default "viridis". */
  scheme?: string;
  /** Print each cell's value in the cell. */
  text?: boolean;
  /** d3-format string for the cell text and legend; default ".3~g". */
  format?: string;
  /** Colour scale domain [min, max]; default the data's range. */
  domain?: [number, number];
  colorTitle?: string;
  xType?: FieldType;
  yType?: FieldType;
}

const STAT = "__gradlab_stat";

/** A Vega-Lite histogram of field `x`, optionally coloured by group and with a reference rule. */
export function histogram(data: Tabular, options: HistogramOptions): VegaLiteSpec {
  const B = "histogram";
  checkOptions(B, options, ["x", "maxBins", "color", "rule", "ruleLabel"], ["x"]);
  const { x, color, rule } = options;
  const maxBins = options.maxBins ?? 30;
  if (!(Number.isInteger(maxBins) && maxBins >= 1)) throw new InvalidArgumentError(`${B}: options.maxBins`, "a positive integer", maxBins);
  if (typeof rule === "string") assertOneOf(`${B}: options.rule`, rule, ["median", "mean"]);
  else if (rule !== undefined && !(typeof rule === "number" && Number.isFinite(rule))) throw new InvalidArgumentError(`${B}: options.rule`, `a finite number, "median" or "mean"`, rule);
  if (options.ruleLabel !== undefined && rule === undefined) throw new InvalidArgumentError(`${B}: options.ruleLabel`, "options.rule to label");
  if (options.ruleLabel !== undefined && typeof options.ruleLabel !== "string") throw new InvalidArgumentError(`${B}: options.ruleLabel`, "a string", options.ruleLabel);
  const p = prepareRows(B, data, { x, color }, [x], options.nonFinite);

  const colorEnc = color === undefined ? {} : { color: { field: fieldRef(color), type: "nominal", title: color, sort: null } };
  const xTitle = titleFor(options.xTitle, x);
  const xBinned = { field: fieldRef(x), type: "quantitative", bin: { maxbins: maxBins }, title: xTitle };
  const bars = {
    mark: { type: "bar", ...(color === undefined ? {} : { opacity: 0.55 }) },
    encoding: {
      x: xBinned,
      // n on the axis: how many values the counts are of (all panels together under facet()).
      y: { aggregate: "count", type: "quantitative", title: yAxisTitle(options.yTitle ?? `count (n = ${p.rows.length} in all)`, options.height ?? DEFAULT_HEIGHT), ...(color === undefined ? {} : { stack: null }) },
      ...colorEnc,
      tooltip: [{ ...xBinned, title: `${xTitle} (bin)` }, ...(color === undefined ? [] : [{ field: fieldRef(color), type: "nominal", title: color }]), { aggregate: "count", type: "quantitative", title: "count" }],
    },
  };
  if (rule === undefined) return assembleSpec(options, p.rows, p.note, bars, { kind: "histogram", droppedRows: p.dropped });

  let ruleLayers: Record<string, unknown>[];
  if (typeof rule === "number") {
    ruleLayers = referenceRuleLayers(rule, options.ruleLabel, "x");
  } else {
    const groupby = color === undefined ? [] : [color];
    const stat = [{ aggregate: [{ op: rule, field: x, as: STAT }], groupby }];
    const xEnc = { x: { field: STAT, type: "quantitative" } };
    ruleLayers = [{ transform: stat, mark: { type: "rule", strokeDash: [6, 4], strokeWidth: 1.5, color: "#444" }, encoding: { ...xEnc, ...colorEnc } }];
    const text = options.ruleLabel ?? rule;
    // One label per colour group, stacked upwards above the plot (pixel y, no scale) in the groups'
    // data order, so two close medians cannot print over each other. (The index comes from the
    // known group list: a window transform would break under facet().)
    const groups = color === undefined ? [] : [...new Set(p.rows.map((r) => String(r[color])))];
    const row = color === undefined ? "0" : `max(0, indexof(${JSON.stringify(groups)}, '' + datum[${JSON.stringify(color)}]))`;
    ruleLayers.push({
      transform: [
        ...stat,
        { calculate: `${JSON.stringify(text + " ")} + format(datum.${STAT}, '.3~g')`, as: "__gradlab_label" },
        { calculate: `${-LABEL_GAP} - 14 * ${row}`, as: "__gradlab_label_y" },
      ],
      mark: { type: "text", align: "center", baseline: "bottom", color: "#444" },
      encoding: { ...xEnc, y: { field: "__gradlab_label_y", type: "quantitative", scale: null }, text: { field: "__gradlab_label" }, ...colorEnc },
    });
  }
  return assembleSpec(options, p.rows, p.note, { layer: [bars, ...ruleLayers] }, { kind: "histogram", droppedRows: p.dropped });
}

// Schemes whose low end is dark: cell text there must be white. For the others the high end is dark.
const DARK_LOW_SCHEMES = ["viridis", "magma", "inferno", "plasma", "cividis", "turbo", "darkblue", "darkgold", "darkgreen", "darkmulti", "darkred"];

/**
 * A Vega-Lite heatmap of `value` over the `x` × `y` grid, with optional cell text and colour
 * scheme.
 */
export function heatmap(data: Tabular, options: HeatmapOptions): VegaLiteSpec {
  const B = "heatmap";
  checkOptions(B, options, ["x", "y", "value", "scheme", "text", "format", "domain", "colorTitle", "xType", "yType"], ["x", "y", "value"]);
  const { x, y, value } = options;
  const scheme = options.scheme ?? "viridis";
  if (typeof scheme !== "string" || scheme.length === 0) throw new InvalidArgumentError(`${B}: options.scheme`, "a Vega colour scheme name", scheme);
  const domain = options.domain;
  if (domain !== undefined && !(Array.isArray(domain) && domain.length === 2 && domain.every(Number.isFinite) && domain[0] < domain[1])) {
    throw new InvalidArgumentError(`${B}: options.domain`, "[min, max] finite numbers with min < max", domain);
  }
  const format = options.format ?? ".3~g";
  const p = prepareRows(B, data, { x, y, value }, [value], options.nonFinite);
  const xType = axisType(B, "xType", p.rows, x, options.xType, "ordinal");
  const yType = axisType(B, "yType", p.rows, y, options.yType, "ordinal");

  // A loop, not Math.min(...values): spreading a large matrix would overflow the call stack.
  let lo = Infinity, hi = -Infinity;
  for (const r of p.rows) { lo = Math.min(lo, r[value] as number); hi = Math.max(hi, r[value] as number); }
  if (domain) [lo, hi] = domain;
  const encoding = {
    x: { field: fieldRef(x), type: xType, sort: null, title: titleFor(options.xTitle, x), axis: { labelAngle: categoryLabelAngle([...new Set(p.rows.map((r) => String(r[x])))], options.width ?? DEFAULT_WIDTH) } },
    y: { field: fieldRef(y), type: yType, sort: null, title: yAxisTitle(titleFor(options.yTitle, y), options.height ?? DEFAULT_HEIGHT) },
  };
  const cells = {
    mark: { type: "rect" },
    encoding: {
      ...encoding,
      color: {
        field: fieldRef(value), type: "quantitative", title: titleFor(options.colorTitle, value),
        scale: { scheme, ...(domain ? { domain, clamp: true } : {}) }, legend: { format },
      },
      tooltip: [x, y, value].map((f) => ({ field: fieldRef(f), title: f, type: f === value ? "quantitative" : "nominal" })),
    },
  };
  if (!options.text) return assembleSpec(options, p.rows, p.note, cells, { kind: "heatmap", droppedRows: p.dropped });

  const mid = (lo + hi) / 2;
  const darkLow = DARK_LOW_SCHEMES.includes(scheme.toLowerCase());
  const text = {
    mark: { type: "text", fontSize: 10 },
    encoding: {
      ...encoding,
      text: { field: fieldRef(value), type: "quantitative", format },
      color: { condition: { test: `datum[${JSON.stringify(value)}] ${darkLow ? "<" : ">"} ${mid}`, value: "white" }, value: "black" },
    },
  };
  return assembleSpec(options, p.rows, p.note, { layer: [cells, text] }, { kind: "heatmap", droppedRows: p.dropped });
}
