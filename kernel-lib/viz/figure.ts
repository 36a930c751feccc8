/**
 * A Figure holds one Vega-Lite v5 spec and turns it into pictures and files:
 *   const fig = new Figure(lineChart(rows, {x: "step", y: "loss"}));
 *   await fig.show();                 // one display bundle in the notebook
 *   await fig.save("reports/loss");   // loss.svg, loss.png, loss.vl.json
 *
 * Rendering is cached per render option set (a spec is frozen into the figure by a deep copy, so
 * later edits to the caller's object cannot make the cache stale). Saving is all-or-nothing: every
 * file is written under a temporary name in the target folder, then renamed; on failure the
 * temporaries (and any file this call created) are removed.
 */
import { promises as fsp } from "fs";
import { basename, dirname, join } from "path";
import { randomBytes } from "crypto";
import { InvalidArgumentError } from "../errors";
import { display, DisplayBundle } from "./display";
import { RENDER_OPTION_SPEC, renderFigure, RenderedFigure, RenderOptions } from "./render";
import { checkOptions } from "../options";
import { VEGA_LITE_SCHEMA, VegaLiteSpec } from "./spec-common";

/** The file formats `Figure.save` writes, chosen by the file's extension. */
export const FIGURE_FORMATS = [".svg", ".png", ".vl.json"] as const;
export type FigureFormat = (typeof FIGURE_FORMATS)[number];

/**
 * A chart: a Vega-Lite spec with rendering (`render`: SVG/PNG, cached), `save(path)` (.svg, .png or
 * .vl.json, written atomically) and `show()` (displays it in the notebook).
 */
export class Figure {
  readonly spec: VegaLiteSpec;
  private readonly renders = new Map<string, Promise<RenderedFigure>>();

  constructor(spec: VegaLiteSpec | Record<string, unknown>) {
    if (spec === null || typeof spec !== "object" || Array.isArray(spec)) throw new InvalidArgumentError("spec", "a Vega-Lite spec object", spec);
    const schema = (spec as { $schema?: unknown }).$schema;
    if (schema !== undefined && !(typeof schema === "string" && /vega-lite\/v5(\.\d+)*\.json$/.test(schema))) {
      throw new InvalidArgumentError("spec.$schema", `a Vega-Lite v5 schema URL (${VEGA_LITE_SCHEMA})`, schema);
    }
    let copy: Record<string, unknown>;
    try {
      copy = structuredClone(spec);
    } catch (e) {
      throw new InvalidArgumentError("spec", `a JSON-like Vega-Lite spec (${(e as Error).message})`);
    }
    this.spec = { ...copy, $schema: (schema as string | undefined) ?? VEGA_LITE_SCHEMA };
  }

  /** The title text, or "" when the spec has none. */
  get title(): string {
    const t = this.spec.title;
    if (typeof t === "string") return t;
    if (t && typeof t === "object" && "text" in t) return [(t as { text: unknown }).text].flat().join(" ");
    return "";
  }

  /** A one-line text description (the text/plain entry of the display bundle). */
  describe(): string {
    const meta = (this.spec.usermeta as { gradlab?: { kind?: string; droppedRows?: number } } | undefined)?.gradlab;
    const rows = (this.spec.data as { values?: unknown[] } | undefined)?.values?.length;
    const details = [meta?.kind ?? "Vega-Lite chart", rows === undefined ? null : `${rows} row${rows === 1 ? "" : "s"}`, meta?.droppedRows ? `${meta.droppedRows} row${meta.droppedRows === 1 ? "" : "s"} with NaN/Inf dropped` : null];
    return `Figure${this.title ? ` "${this.title}"` : ""} (${details.filter(Boolean).join(", ")})`;
  }

  /** SVG + PNG (cached per option set). */
  render(options: RenderOptions = {}): Promise<RenderedFigure> {
    try {
      checkOptions("options", options, RENDER_OPTION_SPEC); // before the cache: a bad option is never a cache key
    } catch (error) {
      return Promise.reject(error);
    }
    const key = JSON.stringify([options.scale ?? null, options.background ?? null]);
    let pending = this.renders.get(key);
    if (!pending) {
      pending = renderFigure(this.spec, options);
      // A failed render is not cached: the next call retries (e.g. after fonts are installed).
      pending.catch(() => this.renders.delete(key));
      this.renders.set(key, pending);
    }
    return pending;
  }

  /**
   * Writes `path` if it ends in .svg, .png or .vl.json, or all three (`path` + each) when it has no
   * extension. Returns the written paths. Creates the parent folder if needed.
   */
  async save(path: string, options: RenderOptions = {}): Promise<string[]> {
    checkOptions("options", options, RENDER_OPTION_SPEC); // also when only .vl.json is written
    const targets = figureTargets(path);
    const needsRender = targets.some((t) => !t.endsWith(".vl.json"));
    const rendered = needsRender ? await this.render(options) : null;
    const files = targets.map((target) => ({
      path: target,
      data: target.endsWith(".svg") ? rendered!.svg : target.endsWith(".png") ? rendered!.png : JSON.stringify(this.spec, null, 2) + "\n",
    }));
    await fsp.mkdir(dirname(targets[0]), { recursive: true });
    await writeFilesAtomically(files);
    return targets;
  }

  /** Displays the figure in the notebook (see display.ts). */
  show(options: RenderOptions = {}): Promise<DisplayBundle | undefined> {
    return display(this, options);
  }

  /** The Vega-Lite spec (what JSON.stringify of a figure writes). */
  toJSON(): VegaLiteSpec {
    return this.spec;
  }
}

/** Wraps a Vega-Lite spec as a Figure (render, save, show). */
export function figure(spec: VegaLiteSpec | Record<string, unknown>): Figure {
  return new Figure(spec);
}

/** The files `save(path)` writes, or InvalidArgumentError for an extension it does not write. */
export function figureTargets(path: string): string[] {
  if (typeof path !== "string" || path.length === 0 || path.endsWith("/")) throw new InvalidArgumentError("path", "a file path", path);
  const lower = path.toLowerCase();
  const format = FIGURE_FORMATS.find((f) => lower.endsWith(f));
  if (format) return [path];
  if (basename(path).includes(".")) {
    throw new InvalidArgumentError("path", `a path ending in ${FIGURE_FORMATS.join(", ")} or with no extension (writes all three)`, path);
  }
  return FIGURE_FORMATS.map((f) => path + f);
}

async function exists(path: string): Promise<boolean> {
  return fsp.stat(path).then(() => true, () => false);
}

/** All files appear under their names, or none of the new ones do. */
export async function writeFilesAtomically(files: { path: string; data: string | Buffer }[]): Promise<void> {
  const temps: string[] = [];
  const created: string[] = [];
  try {
    for (const f of files) {
      const tmp = join(dirname(f.path), `.${basename(f.path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
      temps.push(tmp);
      await fsp.writeFile(tmp, f.data);
    }
    for (let i = 0; i < files.length; i++) {
      const existed = await exists(files[i].path);
      await fsp.rename(temps[i], files[i].path);
      if (!existed) created.push(files[i].path);
    }
  } catch (e) {
    // Best effort: a file this call overwrote cannot be restored, but nothing new is left behind.
    await Promise.all([...temps, ...created].map((p) => fsp.rm(p, { force: true, recursive: false }).catch(() => undefined)));
    throw e;
  }
}
