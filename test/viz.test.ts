import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { spawnSync } from "child_process";
import { inflateSync } from "zlib";
import {
  lineChart, scatterChart, barChart, histogram, heatmap, facet, Figure, figureBundle, display, compileToVega, renderSvg,
  detectDisplayTarget, fontStatus, FIGURE_MIME_TYPES, VEGA_LITE_SCHEMA, DisplayTarget, VegaLiteSpec,
} from "../kernel-lib/viz";
import { EmptyInputError, InvalidArgumentError, NonFiniteError, UnknownOptionError } from "../kernel-lib/errors";
import { expectError } from "./helpers";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** A small PNG decoder (8-bit RGB/RGBA, not interlaced: what resvg writes) to look at pixels. */
function decodePng(buf: Buffer): { width: number; height: number; rgba: Uint8Array } {
  assert.equal([...buf.subarray(0, 8)], PNG_SIGNATURE, "PNG signature");
  let pos = 8, width = 0, height = 0, colorType = 0;
  const idat: Buffer[] = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString("ascii", pos + 4, pos + 8);
    const body = buf.subarray(pos + 8, pos + 8 + len);
    if (type === "IHDR") {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      assert.is(body[8], 8, "bit depth");
      colorType = body[9];
      assert.is(body[12], 0, "not interlaced");
    } else if (type === "IDAT") idat.push(body);
    pos += 12 + len;
  }
  const channels = colorType === 6 ? 4 : colorType === 2 ? 3 : 0;
  assert.ok(channels > 0, `unsupported PNG colour type ${colorType}`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x];
      const a = x >= channels ? out[y * stride + x - channels] : 0;
      const b = y > 0 ? out[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? out[(y - 1) * stride + x - channels] : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][filter];
      out[y * stride + x] = (v + pred) & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    for (let k = 0; k < 3; k++) rgba[i * 4 + k] = out[i * channels + k];
    rgba[i * 4 + 3] = channels === 4 ? out[i * channels + 3] : 255;
  }
  return { width, height, rgba };
}

/** Pixels in rows [y0, y1) and columns [x0, x1) darker than mid-grey. */
function darkPixels(img: { width: number; rgba: Uint8Array }, y0: number, y1: number, x0: number, x1: number): number {
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) {
    const i = (y * img.width + x) * 4;
    if (img.rgba[i] + img.rgba[i + 1] + img.rgba[i + 2] < 3 * 128) n++;
  }
  return n;
}

/** Items Vega drew for a mark, counted by the ARIA role description it puts on each item. */
function countItems(svg: string, description: string): number {
  return svg.split(`role="graphics-symbol" aria-roledescription="${description}"`).length - 1;
}

/** Compiles with vega-lite and asserts it raised no warning (a clean spec, not just a non-throwing one). */
function compileClean(spec: VegaLiteSpec): void {
  const warnings: string[] = [];
  compileToVega(spec, warnings);
  assert.equal(warnings, [], "vega-lite warnings");
}

const curves = ["SFT", "RL"].flatMap((method, k) =>
  Array.from({ length: 10 }, (_, step) => ({ step, "loss.mean": 1 / (step + 1 + k), std: 0.05, method })));

test("lineChart: a band per series under each line; dotted field names are escaped; compiles cleanly", async () => {
  const spec = lineChart(curves, { x: "step", y: "loss.mean", std: "std", color: "method", title: "Loss <curve> & co", yTitle: "loss" });
  assert.is(spec.$schema, VEGA_LITE_SCHEMA);
  compileClean(spec);
  const svg = await renderSvg(spec);
  assert.is(countItems(svg, "line mark"), 2);
  assert.is(countItems(svg, "area mark"), 2);
  assert.ok(svg.includes("Loss &lt;curve&gt; &amp; co"), "title text in the SVG, escaped");
  // Band limits are y ∓ std, computed per row.
  const row = (spec.data as { values: Record<string, number>[] }).values[3];
  assert.is(row.__gradlab_lo, row["loss.mean"] - 0.05);
  assert.is(row.__gradlab_hi, row["loss.mean"] + 0.05);
  // lo/hi columns instead of std; without color there is one line and one band.
  const lohi = curves.filter((r) => r.method === "SFT").map((r) => ({ ...r, lo: r["loss.mean"] - 0.1, hi: r["loss.mean"] + 0.1 }));
  const svg2 = await renderSvg(lineChart(lohi, { x: "step", y: "loss.mean", lo: "lo", hi: "hi", points: true }));
  assert.is(countItems(svg2, "line mark"), 1);
  assert.is(countItems(svg2, "area mark"), 1);
  // Log axes, string and temporal x all compile without warnings.
  compileClean(lineChart(curves, { x: "step", y: "loss.mean", yScale: "log", xScale: "symlog" }));
  compileClean(scatterChart(curves.filter((r) => r.step > 0), { x: "step", y: "loss.mean", xScale: "log", yScale: "log" }));
  compileClean(lineChart([{ d: "2024-01-01", v: 1 }, { d: new Date("2024-02-01"), v: 2 }], { x: "d", y: "v", xType: "temporal" }));
  compileClean(lineChart([{ d: "a", v: 1 }, { d: "b", v: 2 }], { x: "d", y: "v" }));
});

test("scatterChart: one point per finite row; NaN/Inf rows dropped and said so in the subtitle", async () => {
  const rows = Array.from({ length: 12 }, (_, i) => ({ a: i, b: i * i, g: i % 3 === 0 ? "x" : "y" }));
  rows[2].b = NaN;
  rows[5].a = Infinity;
  const spec = scatterChart(rows, { x: "a", y: "b", color: "g", tooltip: ["a", "b", "g"], title: "S" });
  compileClean(spec);
  assert.is((spec.data as { values: unknown[] }).values.length, 10);
  assert.equal((spec.usermeta as { gradlab: { droppedRows: number } }).gradlab.droppedRows, 2);
  const svg = await renderSvg(spec);
  assert.is(countItems(svg, "point"), 10);
  assert.ok(svg.includes("2 rows with NaN/Inf/missing values dropped (1 in b, 1 in a)"), "subtitle reports the drop, fields in order of first drop");
  await expectError(() => scatterChart(rows, { x: "a", y: "b", nonFinite: "error" }), NonFiniteError, "\"b\"");
  await expectError(() => scatterChart([{ a: NaN, b: 1 }], { x: "a", y: "b" }), EmptyInputError, "its only row has NaN");
  await expectError(() => scatterChart([{ a: "1", b: 1 }], { x: "a", y: "b" }), InvalidArgumentError, "data[0].a");
  await expectError(() => scatterChart(rows, { x: "a", y: "b", yScale: "log" }), InvalidArgumentError, "data[0].b");
});

test("barChart: grouped bars, error bars and a dashed labelled reference line", async () => {
  const rows = [
    { method: "PRISM", acc: 0.7, se: 0.05, seed: "a" }, { method: "PRISM", acc: 0.6, se: 0.03, seed: "b" },
    { method: "SFT", acc: 0.5, se: 0.04, seed: "a" }, { method: "SFT", acc: 0.55, se: 0.04, seed: "b" },
  ];
  const spec = barChart(rows, { x: "method", y: "acc", error: "se", color: "seed", referenceLine: 0.25, referenceLabel: "Random", title: "Accuracy" });
  compileClean(spec);
  const svg = await renderSvg(spec);
  assert.is(countItems(svg, "bar"), 4);
  assert.is(countItems(svg, "errorbar"), 4);
  assert.is(svg.split('stroke-dasharray="6,4"').length - 1, 1, "exactly one dashed reference rule");
  assert.ok(svg.includes(">Random</text>"));
  const plain = await renderSvg(barChart(rows.slice(0, 2), { x: "seed", y: "acc" }));
  assert.is(countItems(plain, "bar"), 2);
  await expectError(() => barChart(rows, { x: "method", y: "acc", error: "se", lo: "se", hi: "se" }), InvalidArgumentError, "not both");
  await expectError(() => barChart(rows, { x: "method", y: "acc", lo: "se" }), InvalidArgumentError, "options.hi");
  await expectError(() => barChart(rows, { x: "method", y: "acc", referenceLine: NaN }), InvalidArgumentError, "referenceLine");
  await expectError(() => barChart([{ m: "a", y: 1, e: -1 }], { x: "m", y: "y", error: "e" }), InvalidArgumentError, "data[0].e");
});

test("heatmap: one cell and one number per (x, y); NaN cells are gaps; text contrasts with the colour", async () => {
  const rows = [];
  for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) rows.push({ layer: `L${i}`, module: ["q", "k", "v", "o"][j], v: i * 4 + j });
  rows[5].v = NaN;
  const spec = heatmap(rows, { x: "module", y: "layer", value: "v", text: true, title: "H" });
  compileClean(spec);
  const svg = await renderSvg(spec);
  assert.is(countItems(svg, "rect mark"), 11);
  assert.is(countItems(svg, "text mark"), 11);
  // viridis is dark at the low end: the smallest value's text is white, the largest's black.
  assert.match(svg, /fill="white"[^>]*>0<\/text>/);
  assert.match(svg, /fill="black"[^>]*>11<\/text>/);
  await expectError(() => heatmap(rows, { x: "module", y: "layer", value: "v", domain: [1, 0] }), InvalidArgumentError, "options.domain");
});

test("histogram: counts add up to n; the median rule sits at the closed-form median, per facet panel", async () => {
  const values = [1, 2, 3, 4, 100].map((x) => ({ x, g: "a" })).concat([10, 20, 30].map((x) => ({ x, g: "b" })));
  const spec = histogram(values.slice(0, 5), { x: "x", rule: "median", maxBins: 10 });
  compileClean(spec);
  const svg = await renderSvg(spec);
  assert.ok(svg.includes(">median 3</text>"), "median of 1,2,3,4,100 is 3");
  assert.is(countItems(svg, "rule mark"), 1);
  const faceted = facet(histogram(values, { x: "x", rule: "mean", ruleLabel: "mean" }), { column: "g" });
  compileClean(faceted);
  const fsvg = await renderSvg(faceted);
  assert.ok(fsvg.includes(">mean 22</text>") && fsvg.includes(">mean 20</text>"), "per-panel means (110/5, 60/3)");
  const fixed = await renderSvg(histogram(values, { x: "x", rule: 50, ruleLabel: "threshold" }));
  assert.ok(fixed.includes(">threshold</text>"));
  await expectError(() => histogram(values, { x: "x", rule: "mode" as never }), UnknownOptionError, "mode");
  await expectError(() => histogram(values, { x: "x", maxBins: 0 }), InvalidArgumentError, "maxBins");
});

test("facet: panels in data order, one line per panel, bad fields named", async () => {
  const spec = facet(lineChart(curves, { x: "step", y: "loss.mean", width: 150, height: 100, title: "F" }), { column: "method" });
  compileClean(spec);
  assert.equal((spec.facet as { column: { sort: string[] } }).column.sort, ["SFT", "RL"]);
  const svg = await renderSvg(spec);
  assert.is(countItems(svg, "line mark"), 2);
  assert.ok(svg.indexOf(">SFT</text>") < svg.indexOf(">RL</text>"), "SFT panel first, as in the data");
  const wrapped = facet(scatterChart(curves, { x: "step", y: "loss.mean" }), { column: "method", wrap: 1 });
  compileClean(wrapped);
  await expectError(() => facet(spec, { column: "method" }), InvalidArgumentError, "already faceted");
  await expectError(() => facet(lineChart(curves, { x: "step", y: "std" }), { row: "methd" }), InvalidArgumentError, "methd");
  await expectError(() => facet(lineChart(curves, { x: "step", y: "std" }), { colum: "method" } as never), UnknownOptionError, "colum");
  await expectError(() => facet(lineChart(curves, { x: "step", y: "std" }), {}), InvalidArgumentError, "column and/or row");
});

test("builders: unknown options, missing fields, empty data and bad sizes are typed errors naming the culprit", async () => {
  await expectError(() => lineChart(curves, { x: "step", y: "std", colour: "method" } as never), UnknownOptionError, "colour");
  await expectError(() => lineChart(curves, { x: "step", y: "los" }), InvalidArgumentError, "lineChart: options.y");
  await expectError(() => lineChart(curves, { y: "std" } as never), InvalidArgumentError, "lineChart: options.x");
  await expectError(() => heatmap(curves, { x: "step", y: "std" } as never), InvalidArgumentError, "heatmap: options.value");
  await expectError(() => histogram(curves, undefined as never), InvalidArgumentError, "histogram: options");
  await expectError(() => lineChart(curves, { x: "step", y: "los" }), InvalidArgumentError, '"los"');
  await expectError(() => scatterChart(curves, { x: "step", y: "std", tooltip: ["nope"] }), InvalidArgumentError, "options.tooltip[0]");
  await expectError(() => barChart([], { x: "a", y: "b" }), EmptyInputError, "barChart: data");
  await expectError(() => heatmap([1, 2] as never, { x: "a", y: "b", value: "c" }), InvalidArgumentError, "heatmap: data[0]");
  await expectError(() => lineChart(curves, { x: "step", y: "std", width: -5 }), InvalidArgumentError, "options.width");
  await expectError(() => lineChart(curves, { x: "step", y: "std", nonFinite: "skip" as never }), UnknownOptionError, "skip");
  await expectError(() => lineChart(curves, { x: "step", y: "std", xScale: "ln" as never }), UnknownOptionError, "ln");
});

test("builders accept a danfo DataFrame and produce the same spec as from records", async () => {
  const dfd = require("danfojs-node");
  const df = new dfd.DataFrame(curves);
  assert.equal(lineChart(df, { x: "step", y: "loss.mean", color: "method" }), lineChart(curves, { x: "step", y: "loss.mean", color: "method" }));
  await expectError(() => lineChart(new dfd.Series([1, 2]), { x: "0", y: "0" }), InvalidArgumentError, "Series");
});

test("render: PNG signature, size = SVG size × scale, white background, and the title's text is drawn", async () => {
  const rows = [{ a: 1, b: 1 }, { a: 2, b: 3 }];
  const titled = new Figure(scatterChart(rows, { x: "a", y: "b", title: "TITLE TEXT HERE", width: 200, height: 100 }));
  const r2 = await titled.render();
  const r1 = await titled.render({ scale: 1 });
  assert.ok(r2 === (await titled.render()), "render is cached");
  const svgW = Number(/<svg[^>]* width="(\d+)"/.exec(r1.svg)![1]);
  const svgH = Number(/<svg[^>]* height="(\d+)"/.exec(r1.svg)![1]);
  const img1 = decodePng(r1.png), img2 = decodePng(r2.png);
  assert.equal([img1.width, img1.height], [svgW, svgH]);
  assert.equal([img2.width, img2.height], [2 * svgW, 2 * svgH]);
  assert.equal([...img1.rgba.subarray(0, 4)], [255, 255, 255, 255], "white corner");
  // Above the plot, between the y-axis labels and the top-right data point, the title is the only
  // dark thing: ink there means resvg found a font (without one it silently drops text).
  const untitled = decodePng((await new Figure(scatterChart(rows, { x: "a", y: "b", width: 200, height: 100 })).render({ scale: 1 })).png);
  const fonts = fontStatus();
  assert.ok(darkPixels(img1, 0, 18, 60, 200) > 50, `title text missing from the PNG (fonts: ${JSON.stringify(fonts)})`);
  assert.is(darkPixels(untitled, 0, 18, 60, 200), 0, "no title, no ink there");
  assert.ok(fonts.files > 0 && fonts.sansSerif !== null);
  await expectError(() => titled.render({ scale: 0 }), InvalidArgumentError, "scale");
});

test("Figure: rejects non-v5 specs; a raw Vega-Lite spec without $schema gets v5; invalid specs are typed errors", async () => {
  await expectError(() => new Figure({ $schema: "https://vega.github.io/schema/vega-lite/v4.json", mark: "point" }), InvalidArgumentError, "v5");
  const f = new Figure({ mark: "bar", data: { values: [{ a: "x", b: 2 }] }, encoding: { x: { field: "a", type: "nominal" }, y: { field: "b", type: "quantitative" } } });
  assert.is(f.spec.$schema, VEGA_LITE_SCHEMA);
  assert.is(countItems((await f.render()).svg, "bar"), 1);
  await expectError(() => new Figure({ mark: { type: "nope" } }).render(), InvalidArgumentError, "a valid Vega-Lite v5 spec");
});

test("save: no extension writes .svg/.png/.vl.json atomically; one extension writes one file; bad paths write nothing", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gradlab-viz-"));
  try {
    const fig = new Figure(barChart([{ m: "a", y: 1 }, { m: "b", y: 2 }], { x: "m", y: "y", title: "Saved" }));
    const written = await fig.save(join(dir, "sub", "fig"));
    assert.equal(written.map((p) => p.slice(dir.length + 1)), ["sub/fig.svg", "sub/fig.png", "sub/fig.vl.json"]);
    assert.equal(readdirSync(join(dir, "sub")).sort(), ["fig.png", "fig.svg", "fig.vl.json"], "no temporary files left");
    assert.ok(readFileSync(join(dir, "sub", "fig.svg"), "utf8").startsWith("<svg"));
    assert.equal([...readFileSync(join(dir, "sub", "fig.png")).subarray(0, 8)], PNG_SIGNATURE);
    assert.equal(JSON.parse(readFileSync(join(dir, "sub", "fig.vl.json"), "utf8")), fig.spec);
    await fig.save(join(dir, "only.png"));
    await fig.save(join(dir, "only.VL.JSON"));
    assert.equal(readdirSync(dir).sort(), ["only.VL.JSON", "only.png", "sub"]);
    await expectError(() => fig.save(join(dir, "fig.jpg")), InvalidArgumentError, ".vl.json");
    await expectError(() => fig.save(join(dir, "run.v2")), InvalidArgumentError, "run.v2");
    // A failure after some files were renamed into place: "bad.png" is a directory, so the second
    // rename fails; the .svg already renamed and all temporaries must be gone.
    mkdirSync(join(dir, "bad.png"));
    let failed = false;
    await fig.save(join(dir, "bad")).catch(() => (failed = true));
    assert.ok(failed, "saving over a directory fails");
    assert.equal(readdirSync(dir).sort(), ["bad.png", "only.VL.JSON", "only.png", "sub"]);
    assert.equal(readdirSync(join(dir, "bad.png")), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("figureBundle: exactly the four MIME types, consistent with render(); no text/html", async () => {
  const fig = new Figure(lineChart(curves, { x: "step", y: "loss.mean", color: "method", title: "Bundle" }));
  const bundle = await figureBundle(fig);
  assert.equal(Object.keys(bundle.data).sort(), [...FIGURE_MIME_TYPES].sort());
  assert.is(bundle.data["text/html"], undefined);
  assert.equal(bundle.data["application/vnd.vegalite.v5+json"], fig.spec);
  const r = await fig.render();
  assert.is(bundle.data["image/svg+xml"], r.svg);
  assert.ok(Buffer.from(bundle.data["image/png"] as string, "base64").equals(r.png));
  assert.is(bundle.data["text/plain"], 'Figure "Bundle" (line chart, 20 rows)');
  assert.equal(bundle.metadata, { "image/png": { width: r.width / 2, height: r.height / 2 } });
});

test("display: outside the kernel returns the bundle; a kernel writer gets one message; the fallback sends SVG and warns", async () => {
  const fig = new Figure(barChart([{ m: "a", y: 1 }], { x: "m", y: "y" }));
  assert.is(detectDisplayTarget().kind, "none");
  const returned = await display(fig);
  assert.equal(Object.keys(returned!.data).sort(), [...FIGURE_MIME_TYPES].sort());
  const sent: { content: { data: Record<string, unknown>; transient: unknown }; update: boolean }[] = [];
  const kernel: DisplayTarget = { kind: "bundle", write: (content, update) => sent.push({ content, update }) };
  assert.is(await display(fig, {}, kernel), undefined);
  assert.is(sent.length, 1);
  assert.equal(Object.keys(sent[0].content.data).sort(), [...FIGURE_MIME_TYPES].sort());
  assert.equal(sent[0].content.transient, {});
  assert.is(sent[0].update, false);
  const shown: [string, string][] = [];
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (m: string) => warnings.push(m);
  try {
    await display(fig, {}, { kind: "fallback", reason: "test reason", show: (mime, v) => shown.push([mime, v]) });
  } finally {
    console.warn = warn;
  }
  assert.equal(shown.map((s) => s[0]), ["image/svg+xml"]);
  assert.ok(shown[0][1].startsWith("<svg"));
  assert.is(warnings.length, 1);
  assert.match(warnings[0], "test reason");
});

// The real thing: a tslab kernel (the project-local one) runs a cell that displays a figure and a
// table; we read the iopub messages it sends. Without Jupyter set up the test FAILS saying so
// (`npm test` runs the setup first): a display check that did not run is not a pass.
const pythonPathFile = join(__dirname, "..", ".jupyter", "python-path");
const kernelSpec = join(__dirname, "..", ".jupyter", "share", "jupyter", "kernels", "tslab", "kernel.json");
test("in a real tslab kernel: one display_data with the 4 MIME types per figure, escaped HTML for tables", async () => {
  assert.ok(existsSync(pythonPathFile) && existsSync(kernelSpec),
    "needs the project's Jupyter and tslab kernel (.jupyter/python-path and its kernel.json): run `node scripts/setup-jupyter.mjs`");
  const python = readFileSync(pythonPathFile, "utf8").trim();
  const driver = `
import json, os, sys
os.environ["JUPYTER_PATH"] = sys.argv[1]
from jupyter_client.manager import start_new_kernel
km, kc = start_new_kernel(kernel_name="tslab", cwd=sys.argv[2])
try:
    msg_id = kc.execute(sys.stdin.read())
    out = []
    while True:
        msg = kc.get_iopub_msg(timeout=120)
        if msg["parent_header"].get("msg_id") != msg_id: continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle": break
        out.append({"type": msg["msg_type"], "content": msg["content"]})
    print(json.dumps(out))
finally:
    kc.stop_channels(); km.shutdown_kernel(now=True)
`;
  const root = join(__dirname, "..");
  const cell = [
    `require("tsx/cjs");`,
    `const v = require(${JSON.stringify(join(root, "kernel-lib", "viz", "index.ts"))});`,
    `const fig = new v.Figure(v.barChart([{ m: "a", y: 1 }], { x: "m", y: "y", title: "Kernel test" }));`,
    `await v.display(fig);`,
    `v.displayTable([{ a: "<script>alert(1)</script>", b: 1.23456 }]);`,
    `console.log("target", v.detectDisplayTarget().kind);`,
  ].join("\n");
  const run = spawnSync(python, ["-c", driver, join(root, ".jupyter", "share", "jupyter"), root], { input: cell, encoding: "utf8", timeout: 180_000 });
  assert.is(run.status, 0, `kernel driver failed: ${run.stderr}`);
  const messages = JSON.parse(run.stdout) as { type: string; content: { data?: Record<string, unknown>; text?: string; name?: string } }[];
  const stderr = messages.filter((m) => m.type === "stream" && m.content.name === "stderr").map((m) => m.content.text).join("");
  assert.is(stderr, "", "the cell wrote to stderr");
  const displays = messages.filter((m) => m.type === "display_data");
  assert.is(displays.length, 2, "one message per display call");
  assert.equal(Object.keys(displays[0].content.data!).sort(), [...FIGURE_MIME_TYPES].sort());
  assert.equal([...Buffer.from(displays[0].content.data!["image/png"] as string, "base64").subarray(0, 8)], PNG_SIGNATURE);
  assert.is((displays[0].content.data!["application/vnd.vegalite.v5+json"] as { $schema: string }).$schema, VEGA_LITE_SCHEMA);
  assert.equal(Object.keys(displays[1].content.data!).sort(), ["text/html", "text/plain"]);
  assert.ok((displays[1].content.data!["text/html"] as string).includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
  const stdout = messages.filter((m) => m.type === "stream" && m.content.name === "stdout").map((m) => m.content.text).join("");
  assert.match(stdout, "target bundle");
});

test.run();
