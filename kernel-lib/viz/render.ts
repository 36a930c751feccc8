/**
 * Headless rendering: Vega-Lite spec → Vega (vega-lite 5.23) → SVG (vega 5.33, renderer "none")
 * → PNG (@resvg/resvg-js, white background, `scale`× pixels).
 *
 * vega 6 / vega-lite 6 are ESM with top-level await and cannot load in tslab cells, so this pins
 * the 5.x CommonJS builds. All three libraries are required lazily, inside the functions, so
 * importing the gradlab facade does not pay for them. PNG text needs system fonts: resvg loads
 * them itself (it does not use fontconfig); `fontStatus()` says what it found, and a warning is
 * printed once if there are none (text would silently vanish from PNGs; the SVG keeps it).
 */
import { existsSync, readdirSync, statSync } from "fs";
import { join } from "path";
import { InvalidArgumentError } from "../errors";
import { OptionSpec, checkOptions, option } from "../options";
import type { VegaLiteSpec } from "./spec-common";

/** Options of `renderFigure` / `svgToPng`. */
export interface RenderOptions {
  /** PNG pixels per SVG pixel; default 2 (crisp on high-DPI screens and in PDFs). */
  scale?: number;
  /** PNG background colour (CSS); default "white" so the PNG reads on dark themes too. */
  background?: string;
}

/** The RenderOptions contract (options.ts): every render entry point checks its options with this. */
export const RENDER_OPTION_SPEC: OptionSpec = {
  scale: (argument, value) => {
    if (typeof value !== "number" || !(Number.isFinite(value) && value > 0 && value <= 16)) throw new InvalidArgumentError(argument, "a number in (0, 16]", value);
  },
  background: option.string,
};

/** A rendered figure: SVG, PNG, size and renderer warnings. */
export interface RenderedFigure {
  svg: string;
  png: Buffer;
  /** PNG size in pixels. */
  width: number;
  height: number;
  /** Warnings from Vega-Lite compilation and Vega evaluation (empty for a clean spec). */
  warnings: string[];
}

/** Collects log lines instead of letting the libraries print them to the notebook's stderr. */
function collectingLogger(sink: string[]) {
  let level = 2; // Warn
  const logger = {
    level(l?: number) {
      if (l === undefined) return level;
      level = l;
      return logger;
    },
    error(...args: unknown[]) { sink.push(`error: ${args.map(String).join(" ")}`); return logger; },
    warn(...args: unknown[]) { sink.push(args.map(String).join(" ")); return logger; },
    info() { return logger; },
    debug() { return logger; },
  };
  return logger;
}

/** Compiles Vega-Lite to Vega. An invalid spec raises InvalidArgumentError with Vega-Lite's reason. */
export function compileToVega(spec: VegaLiteSpec, warnings: string[] = []): object {
  if (spec === null || typeof spec !== "object") throw new InvalidArgumentError("spec", "a Vega-Lite spec object", spec);
  const vl: typeof import("vega-lite") = require("vega-lite");
  try {
    // The logger type is vega-util's; ours implements the same methods.
    return vl.compile(spec as never, { logger: collectingLogger(warnings) as never }).spec;
  } catch (e) {
    throw new InvalidArgumentError("spec", `a valid Vega-Lite v5 spec (${(e as Error).message})`);
  }
}

/**
 * Compiles a Vega-Lite spec and renders it to an SVG string in Node; Vega's warnings are pushed
 * onto `warnings`.
 */
export async function renderSvg(spec: VegaLiteSpec, warnings: string[] = []): Promise<string> {
  const vegaSpec = compileToVega(spec, warnings);
  const vega: typeof import("vega") = require("vega");
  const view = new vega.View(vega.parse(vegaSpec as never), { renderer: "none", logger: collectingLogger(warnings) as never });
  try {
    return await view.toSVG();
  } finally {
    view.finalize(); // releases the view's timers and listeners
  }
}

/** Rasterises an SVG string to PNG (resvg), at `scale` (default 2) for sharp figures. */
export async function svgToPng(svg: string, options: RenderOptions = {}): Promise<{ png: Buffer; width: number; height: number }> {
  checkOptions("options", options, RENDER_OPTION_SPEC);
  const scale = options.scale ?? 2;
  if (!(Number.isFinite(scale) && scale > 0 && scale <= 16)) throw new InvalidArgumentError("options.scale", "a number in (0, 16]", scale);
  const background = options.background ?? "white";
  const fonts = fontStatus();
  warnOnceIfNoFonts(fonts);
  const resvg: typeof import("@resvg/resvg-js") = require("@resvg/resvg-js");
  const image = await resvg.renderAsync(svg, {
    background,
    fitTo: { mode: "zoom", value: scale },
    font: {
      loadSystemFonts: true,
      ...(fonts.sansSerif ? { sansSerifFamily: fonts.sansSerif, defaultFontFamily: fonts.sansSerif } : {}),
      ...(fonts.monospace ? { monospaceFamily: fonts.monospace } : {}),
    },
    logLevel: "off",
  });
  return { png: image.asPng(), width: image.width, height: image.height };
}

/** Renders a Vega-Lite spec to SVG and PNG in Node, with the warnings Vega reported. */
export async function renderFigure(spec: VegaLiteSpec, options: RenderOptions = {}): Promise<RenderedFigure> {
  checkOptions("options", options, RENDER_OPTION_SPEC);
  const warnings: string[] = [];
  const svg = await renderSvg(spec, warnings);
  const { png, width, height } = await svgToPng(svg, options);
  return { svg, png, width, height, warnings };
}

/**
 * Which font files and folders the renderer found, and the sans-serif and monospace families it
 * uses.
 */
export interface FontStatus {
  /** Font files found in the standard system and user font folders. */
  files: number;
  dirs: string[];
  /** The family used for Vega's default "sans-serif" text, or null (resvg's own fallback). */
  sansSerif: string | null;
  monospace: string | null;
}

// Families Vega's "sans-serif" can map to, by a file that proves the family is installed.
const SANS = [["DejaVuSans.ttf", "DejaVu Sans"], ["LiberationSans-Regular.ttf", "Liberation Sans"], ["NotoSans-Regular.ttf", "Noto Sans"], ["FreeSans.ttf", "FreeSans"], ["Arial.ttf", "Arial"]];
const MONO = [["DejaVuSansMono.ttf", "DejaVu Sans Mono"], ["LiberationMono-Regular.ttf", "Liberation Mono"]];

let cachedFonts: FontStatus | null = null;

/** Scans the font folders resvg reads (once per process). */
export function fontStatus(): FontStatus {
  if (cachedFonts) return cachedFonts;
  const home = process.env.HOME ?? "";
  const dirs = ["/usr/share/fonts", "/usr/local/share/fonts", join(home, ".fonts"), join(home, ".local/share/fonts")].filter((d) => existsSync(d));
  const names = new Set<string>();
  const walk = (dir: string, depth: number) => {
    if (depth > 6) return;
    let entries: string[];
    try { entries = readdirSync(dir); } catch { return; }
    for (const name of entries) {
      const full = join(dir, name);
      let isDir = false;
      try { isDir = statSync(full).isDirectory(); } catch { continue; }
      if (isDir) walk(full, depth + 1);
      else if (/\.(ttf|otf|ttc)$/i.test(name)) names.add(name);
    }
  };
  for (const d of dirs) walk(d, 0);
  const pick = (table: string[][]) => table.find(([file]) => names.has(file))?.[1] ?? null;
  cachedFonts = { files: names.size, dirs, sansSerif: pick(SANS), monospace: pick(MONO) };
  return cachedFonts;
}

let warnedNoFonts = false;
function warnOnceIfNoFonts(fonts: FontStatus): void {
  if (fonts.files > 0 || warnedNoFonts) return;
  warnedNoFonts = true;
  console.warn("gradlab.viz: no system fonts found: text will be missing from PNG images (the SVG keeps it). Install one, e.g. apt-get install fonts-dejavu-core.");
}
