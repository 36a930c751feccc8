/**
 * What every chart builder shares: the common options (title, axis titles, size, NaN policy),
 * their validation, and the assembly of a top-level Vega-Lite v5 spec.
 *
 * A builder validates its own keys plus COMMON_KEYS, cleans its rows with `prepareRows`, builds a
 * body (a single mark + encoding or a `layer`), and hands it to `assembleSpec`. The data stays at
 * the top level and the body holds no data of its own, so `facet()` can wrap any builder's output.
 */
import { assertKnownKeys, assertOneOf, InvalidArgumentError } from "../errors";
import {
  DataRecord, dropInvalidRows, droppedNote, fieldNames, inferFieldType, NonFinitePolicy, requireField, Tabular, toRecords,
} from "./data";

/** The Vega-Lite schema every spec here declares (v5). */
export const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/** A Vega-Lite v5 top-level spec as a plain JSON object. */
export type VegaLiteSpec = { $schema: string } & Record<string, unknown>;

/** Options every chart takes: titles, axis titles, size and the non-finite-value policy. */
export interface CommonOptions {
  title?: string;
  subtitle?: string;
  xTitle?: string;
  yTitle?: string;
  /** Plot area size in pixels (per facet cell when faceted). */
  width?: number;
  height?: number;
  /** NaN/±Inf/missing values in plotted fields: "drop" (default; the subtitle says how many) or "error". */
  nonFinite?: NonFinitePolicy;
}

export const COMMON_KEYS = ["title", "subtitle", "xTitle", "yTitle", "width", "height", "nonFinite"] as const;
export const DEFAULT_WIDTH = 360;
export const DEFAULT_HEIGHT = 240;

/** Metadata a builder stores in `usermeta.gradlab` (read by the display's text/plain line). */
export interface ChartMeta {
  kind: string;
  droppedRows: number;
  /** The title and subtitle lines before wrapping (facet() re-wraps them to the grid's width). */
  title?: { text: string; subtitle: string[] };
}

/** Validates option keys, the required field options (`required`) and the common options. */
export function checkOptions(builder: string, options: object | undefined, ownKeys: readonly string[], required: readonly string[]): void {
  if (options === undefined || options === null || typeof options !== "object") {
    throw new InvalidArgumentError(`${builder}: options`, `an options object with ${required.join(", ")}`, options);
  }
  assertKnownKeys(`${builder}: options`, options, [...ownKeys, ...COMMON_KEYS]);
  for (const key of required) {
    const v = (options as Record<string, unknown>)[key];
    if (typeof v !== "string" || v.length === 0) throw new InvalidArgumentError(`${builder}: options.${key}`, "a field name (required)", v);
  }
  const o = options as CommonOptions;
  for (const key of ["width", "height"] as const) {
    const v = o[key];
    if (v !== undefined && !(typeof v === "number" && Number.isFinite(v) && v > 0)) {
      throw new InvalidArgumentError(`${builder}: options.${key}`, "a positive number of pixels", v);
    }
  }
  for (const key of ["title", "subtitle", "xTitle", "yTitle"] as const) {
    if (o[key] !== undefined && typeof o[key] !== "string") throw new InvalidArgumentError(`${builder}: options.${key}`, "a string", o[key]);
  }
  if (o.nonFinite !== undefined) assertOneOf(`${builder}: options.nonFinite`, o.nonFinite, ["drop", "error"]);
}

export interface PreparedRows {
  rows: DataRecord[];
  fields: string[];
  dropped: number;
  note: string | null;
}

/**
 * Reads and cleans the data: every name in `fields` must exist (checked per option, so the error
 * names e.g. `lineChart: options.y`), `numeric` fields must hold finite numbers, the other used
 * fields must not be missing.
 */
export function prepareRows(
  builder: string,
  data: Tabular,
  fields: Record<string, unknown>,
  numeric: readonly string[] | ((rows: readonly DataRecord[]) => string[]),
  policy: NonFinitePolicy | undefined,
): PreparedRows {
  const rows = toRecords(`${builder}: data`, data);
  const known = fieldNames(rows);
  const used: string[] = [];
  for (const [option, field] of Object.entries(fields)) {
    if (field === undefined) continue;
    const list = Array.isArray(field) ? field : [field];
    list.forEach((f, i) => used.push(requireField(`${builder}: options.${option}${Array.isArray(field) ? `[${i}]` : ""}`, f, known)));
  }
  // Which fields must be numbers can depend on the values (a numeric x is a quantitative axis).
  const numericFields = typeof numeric === "function" ? numeric(rows) : numeric;
  const present = used.filter((f) => !numericFields.includes(f));
  const cleaned = dropInvalidRows(rows, numericFields, present, policy ?? "drop");
  return { rows: cleaned.rows, fields: known, dropped: cleaned.dropped, note: droppedNote(cleaned.dropped, cleaned.byField) };
}

/** The encoding type for an axis field: the user's choice, else inferred from the values. */
export function axisType(
  builder: string,
  option: string,
  rows: readonly DataRecord[],
  field: string,
  forced: string | undefined,
  numericAs: "quantitative" | "ordinal" = "quantitative",
): "quantitative" | "ordinal" | "nominal" | "temporal" {
  if (forced !== undefined) {
    assertOneOf(`${builder}: options.${option}`, forced, ["quantitative", "ordinal", "nominal", "temporal"]);
    return forced;
  }
  return inferFieldType(rows, field) === "quantitative" ? numericAs : "nominal";
}

export function scaleOption(builder: string, option: string, value: string | undefined): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  assertOneOf(`${builder}: options.${option}`, value, ["linear", "log", "symlog"]);
  return { type: value };
}

/** A log axis cannot show values <= 0: say which field and row instead of drawing a broken axis. */
export function assertPositive(builder: string, rows: readonly DataRecord[], field: string, option: string): void {
  rows.forEach((row, i) => {
    const v = row[field] as number;
    if (!(v > 0)) throw new InvalidArgumentError(`${builder}: data[${i}].${field}`, `a positive value (options.${option} is "log")`, v);
  });
}

export function assembleSpec(
  options: CommonOptions,
  rows: readonly DataRecord[],
  note: string | null,
  body: Record<string, unknown>,
  meta: ChartMeta,
): VegaLiteSpec {
  const subtitle = [options.subtitle, note].filter((s): s is string => typeof s === "string" && s.length > 0);
  const spec: VegaLiteSpec = { $schema: VEGA_LITE_SCHEMA };
  if (options.title !== undefined || subtitle.length > 0) {
    spec.title = wrappedTitle(options.title ?? "", subtitle, options.width ?? DEFAULT_WIDTH);
  }
  spec.data = { values: rows };
  spec.width = options.width ?? DEFAULT_WIDTH;
  spec.height = options.height ?? DEFAULT_HEIGHT;
  Object.assign(spec, body);
  spec.usermeta = { gradlab: spec.title === undefined ? meta : { ...meta, title: { text: options.title ?? "", subtitle } } };
  return spec;
}

// Typical widths of Vega's title (13 px bold) and subtitle (12 px) characters in a sans-serif font.
export const TITLE_PX_PER_CHAR = 7.5;
export const SUBTITLE_PX_PER_CHAR = 6.5;
/** Titles may run this far beyond a narrow plot before they wrap. */
const MIN_TITLE_WIDTH = 320;

/**
 * `text` broken at spaces into lines that fit `width` pixels (at least MIN_TITLE_WIDTH): a title
 * wider than its plot would otherwise stretch the figure and leave the plot in a sea of white.
 * A single line stays a string; a word longer than a line is kept whole.
 */
export function wrapText(text: string, width: number, pxPerChar: number): string | string[] {
  const lines = wrapWords(text, Math.max(12, Math.floor(Math.max(width, MIN_TITLE_WIDTH) / pxPerChar)));
  return lines.length === 1 ? lines[0] : lines;
}

/** `text` broken at spaces into lines of at most `perLine` characters (a longer word kept whole). */
function wrapWords(text: string, perLine: number): string[] {
  if ([...text].length <= perLine) return [text];
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/ +/)) {
    if (line !== "" && [...line].length + 1 + [...word].length > perLine) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines;
}

/**
 * A y-axis title whose lines fit along the plot's `height`: a longer title extends above and below
 * the plot and Vega pads the whole figure to hold it. Wrapped at Vega's own width estimate for its
 * 11 px bold axis titles (0.8 × 11 px per character), which is what its layout uses headless.
 */
export function yAxisTitle(lines: string | readonly string[], height: number): string | string[] {
  const perLine = Math.max(16, Math.floor(height / (0.8 * 11)));
  const out = [lines].flat().flatMap((line) => wrapWords(line, perLine));
  return out.length === 1 ? out[0] : out;
}

/** A Vega-Lite title object whose title and subtitle lines fit `width` pixels. */
export function wrappedTitle(text: string, subtitle: readonly string[], width: number): Record<string, unknown> {
  const sub = subtitle.flatMap((line) => wrapText(line, width, SUBTITLE_PX_PER_CHAR));
  return { text: wrapText(text, width, TITLE_PX_PER_CHAR), ...(sub.length ? { subtitle: sub.length === 1 ? sub[0] : sub } : {}) };
}

/**
 * The axis/legend title: the user's, else the raw field name (Vega-Lite's own default would show
 * the escaped reference, e.g. "loss\\.mean").
 */
export function titleFor(userTitle: string | undefined, field: string): string {
  return userTitle ?? field;
}
