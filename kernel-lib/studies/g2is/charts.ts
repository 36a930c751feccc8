/**
 * The study's two figures that the generic builders (viz/) do not cover, as plain Vega-Lite v5
 * specs (nothing is rendered here; pass them to `lab.display`), and the 2-D projection they use:
 *  - `compositionBarsSpec`: stacked bars of each selection's composition (share per pool group),
 *    one bar per method, one panel per target;
 *  - `walkPictureSpec`: the pool in 2-D (points coloured by group) with each G2IS component's walk
 *    drawn as a path in visit order, its anchor marked;
 *  - `pca2d`: the first two principal axes of a row set by power iteration with deflation
 *    (deterministic start vectors), for pools whose width makes a full eigendecomposition wasteful.
 */
import { EmptyInputError, InvalidArgumentError } from "../../errors";
import { checkOptions, option } from "../../options";
import { Rng } from "../../random";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/** What `pca2d` returns: each row's coordinates on the first two principal axes, their variance shares and the axes. */
export interface Projection2d {
  /** [x, y] per row. */
  coordinates: [number, number][];
  /** Share of the total variance along each axis. */
  varianceRatios: [number, number];
  /** The two unit principal axes (sign: largest |entry| positive). */
  axes: [Float64Array, Float64Array];
}

/** PCA to two dimensions (rows centred; axes are unit vectors, sign: largest |entry| positive). */
export function pca2d(rows: readonly Float32Array[], options: { iterations?: number; seed?: number } = {}): Projection2d {
  checkOptions("options", options, { iterations: option.positiveInteger, seed: option.finiteNumber });
  if (!Array.isArray(rows) || rows.length < 2) throw new EmptyInputError("rows", "at least two rows");
  const n = rows.length, d = rows[0].length;
  rows.forEach((r, i) => { if (r.length !== d) throw new InvalidArgumentError(`rows[${i}]`, `length ${d}`, r.length); });
  const mean = new Float64Array(d);
  for (const r of rows) for (let q = 0; q < d; q++) mean[q] += r[q] / n;
  // Typed parameters: TypeScript ≥ 5.7 infers `v` as unknown here (TS18046) from the generic typed-array overloads.
  const x = rows.map((r) => Float64Array.from(r, (v: number, q: number) => v - mean[q]));
  let total = 0;
  for (const r of x) for (let q = 0; q < d; q++) total += r[q] * r[q];
  const rng = new Rng(options.seed ?? 0).derive("pca2d");
  const iterations = options.iterations ?? 200;
  const axes: Float64Array[] = [], variances: number[] = [];
  for (let k = 0; k < 2; k++) {
    let w = Float64Array.from({ length: d }, () => rng.normal());
    let lambda = 0;
    for (let it = 0; it < iterations; it++) {
      for (const a of axes) { const p = dot(w, a); for (let q = 0; q < d; q++) w[q] -= p * a[q]; }
      const next = new Float64Array(d);
      for (const r of x) { const p = dot(r, w); if (p !== 0) for (let q = 0; q < d; q++) next[q] += p * r[q]; }
      for (const a of axes) { const p = dot(next, a); for (let q = 0; q < d; q++) next[q] -= p * a[q]; }
      const norm = Math.sqrt(dot(next, next));
      if (norm === 0) break;
      lambda = norm;
      const change = 1 - Math.abs(dot(next, w)) / (norm * Math.sqrt(dot(w, w)));
      w = next.map((v) => v / norm);
      if (change < 1e-12) break;
    }
    let big = 0;
    for (let q = 1; q < d; q++) if (Math.abs(w[q]) > Math.abs(w[big])) big = q;
    if (w[big] < 0) w = w.map((v) => -v);
    axes.push(w);
    variances.push(lambda);
  }
  return {
    coordinates: x.map((r) => [dot(r, axes[0]), dot(r, axes[1])]),
    varianceRatios: [total > 0 ? variances[0] / total : 0, total > 0 ? variances[1] / total : 0],
    axes: [axes[0], axes[1]],
  };
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** One bar segment of `compositionBarsSpec`: the share of `group` in `method`'s selection for `target`. */
export interface CompositionRow { method: string; target: string; group: string; share: number }

/** Stacked composition bars: x = method, stack = group shares, one panel per target. */
export function compositionBarsSpec(rows: readonly CompositionRow[], options: { title?: string; groups?: readonly string[]; width?: number; height?: number } = {}): Record<string, unknown> {
  checkOptions("options", options, { title: option.string, groups: option.array, width: option.positiveNumber, height: option.positiveNumber });
  if (!Array.isArray(rows) || rows.length === 0) throw new EmptyInputError("rows", "at least one composition row");
  const groups = options.groups ?? [...new Set(rows.map((r) => r.group))];
  return {
    $schema: SCHEMA,
    title: options.title ?? "Composition of each selection",
    data: { values: rows.map((r) => ({ ...r })) },
    facet: { column: { field: "target", type: "nominal", sort: null, title: null } },
    spec: {
      width: options.width ?? 150, height: options.height ?? 180,
      mark: { type: "bar" },
      encoding: {
        x: { field: "method", type: "nominal", sort: null, title: null, axis: { labelAngle: -45 } },
        y: { aggregate: "sum", field: "share", type: "quantitative", title: "share of the selection", scale: { domain: [0, 1] } },
        color: { field: "group", type: "nominal", sort: groups, scale: { domain: groups, scheme: "tableau20" }, title: "pool group" },
        order: { field: "groupOrder", type: "quantitative" },
        tooltip: [{ field: "method" }, { field: "target" }, { field: "group" }, { field: "share", format: ".2f" }],
      },
    },
    transform: [{ calculate: `indexof(${JSON.stringify(groups)}, datum.group)`, as: "groupOrder" }],
    usermeta: { gradlab: { kind: "stacked bar chart", droppedRows: 0 } },
  };
}

/** A pool row in `walkPictureSpec`: its 2-D coordinates and its group (the point's colour). */
export interface WalkPoint { x: number; y: number; group: string }
/** A walk step in `walkPictureSpec`: coordinates, component label, position in the visit order, and how it was accepted. */
export interface WalkStep { x: number; y: number; component: string; step: number; kind: string }

/** The pool in 2-D with every component's walk drawn in visit order. */
export function walkPictureSpec(points: readonly WalkPoint[], steps: readonly WalkStep[], options: { title?: string; subtitle?: string; xTitle?: string; yTitle?: string; width?: number; height?: number } = {}): Record<string, unknown> {
  checkOptions("options", options, { title: option.string, subtitle: option.string, xTitle: option.string, yTitle: option.string, width: option.positiveNumber, height: option.positiveNumber });
  if (!Array.isArray(points) || points.length === 0) throw new EmptyInputError("points", "at least one pool point");
  const pool = points.map((p) => ({ layer: "pool", ...p }));
  const walk = steps.map((s) => ({ layer: "walk", ...s }));
  const enc = (field: string, title: string | undefined) => ({ field, type: "quantitative", title: title ?? field, scale: { zero: false } });
  return {
    $schema: SCHEMA,
    title: options.subtitle ? { text: options.title ?? "The gradient walk", subtitle: options.subtitle } : options.title ?? "The gradient walk",
    width: options.width ?? 460, height: options.height ?? 360,
    data: { values: [...pool, ...walk] },
    layer: [
      {
        transform: [{ filter: "datum.layer === 'pool'" }],
        mark: { type: "point", filled: true, size: 14, opacity: 0.35 },
        encoding: { x: enc("x", options.xTitle), y: enc("y", options.yTitle), color: { field: "group", type: "nominal", title: "pool group", scale: { scheme: "tableau20" } } },
      },
      {
        transform: [{ filter: "datum.layer === 'walk'" }],
        mark: { type: "line", strokeWidth: 1.5, point: { filled: true, size: 30 } },
        encoding: {
          x: enc("x", options.xTitle), y: enc("y", options.yTitle), order: { field: "step", type: "quantitative" },
          color: { field: "component", type: "nominal", title: "walk (component)", scale: { scheme: "dark2" } },
          tooltip: [{ field: "component" }, { field: "step" }, { field: "kind" }],
        },
      },
      {
        transform: [{ filter: "datum.layer === 'walk' && datum.kind === 'anchor'" }],
        mark: { type: "point", shape: "diamond", size: 160, filled: false, strokeWidth: 2, color: "black" },
        encoding: { x: enc("x", options.xTitle), y: enc("y", options.yTitle) },
      },
    ],
    resolve: { scale: { color: "independent" } },
    usermeta: { gradlab: { kind: "walk picture", droppedRows: 0 } },
  };
}
