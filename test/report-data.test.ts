/**
 * Report contents that need no kernel (issue 21 parts 3, 4, 6): the data files written beside a
 * report for each figure and table (report-data.mjs), the header (report-header.mjs) with its
 * escaping, and export.py on a hand-made executed notebook: a hostile Vega-Lite spec cannot end
 * its <script> element, report mode (--no-input) hides code cells in HTML and Markdown, the
 * scripts are inlined once per page and only on pages with a figure, and no local system path
 * (file:///usr/share/…, require.js) is left in the HTML.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseArgs } from "../scripts/lib/runner/args.mjs";
import { csvField, specDataSources, toCsv, writeReportData } from "../scripts/lib/runner/report-data.mjs";
import { renderHeaderHtml, renderHeaderMarkdown, runSeeds } from "../scripts/lib/runner/report-header.mjs";
import { vegaScriptPaths } from "../scripts/lib/runner/report-assets.mjs";
import { findJupyterPython } from "../scripts/lib/jupyter-env.mjs";
import { displayMarkdown, markdownBundle, tableBundle, type DisplayTarget } from "../kernel-lib/viz";

const root = join(__dirname, "..");
const dir = mkdtempSync(join(tmpdir(), "gradlab-report-data-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const HOSTILE = "</script><script>alert(1)</script><!--";
const spec = {
  $schema: "https://vega.github.io/schema/vega-lite/v5.json",
  title: HOSTILE,
  layer: [
    { data: { values: [{ x: 1, y: 2, label: "a,b" }, { x: 2, y: 3, label: 'say "hi"' }] }, mark: "point", encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } } },
    { data: { values: [{ y: 2.5 }] }, mark: "rule", encoding: { y: { field: "y", type: "quantitative" } } },
  ],
};
const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><rect id="fallback-rect" width="10" height="10"/></svg>';
const table = tableBundle([{ arm: "a", score: 0.5 }, { arm: "b\nc", score: NaN }], { caption: "scores" });
const stream = (text: string) => ({ output_type: "stream", name: "stdout", text });
const executed = {
  nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" }, language_info: { name: "typescript" } },
  cells: [
    { cell_type: "markdown", id: "m", metadata: {}, source: "# Title\nInline $x^2$." },
    { cell_type: "code", id: "c1", metadata: {}, execution_count: 1, source: "const secretCodeLine = 1;", outputs: [stream('hello\ngradlab-meta {"backend":"cpu"}\n'), stream('gradlab-claim {"id":"x"}\n')] },
    { cell_type: "code", id: "c2", metadata: {}, execution_count: 2, source: "show()", outputs: [
      { output_type: "display_data", ...markdownBundle("**Finding.** Arm A beats arm B (p = 0.01, n = 12).") },
      { output_type: "display_data", metadata: {}, data: { "application/vnd.vegalite.v5+json": spec, "image/svg+xml": svg, "text/plain": "Figure" } },
      { output_type: "display_data", ...table },
    ] },
  ],
};

test("writeReportData: per figure its spec and one CSV per inline source, per table its rows; machine lines leave the copy", () => {
  const before = JSON.stringify(executed);
  const { notebook, files } = writeReportData(executed, { dir, name: "nb" });
  assert.is(JSON.stringify(executed), before, "the executed notebook is not changed");
  assert.equal(files, [
    { kind: "figure", number: 1, title: HOSTILE, files: ["nb_files/fig-1.vl.json", "nb_files/fig-1-layer1.csv", "nb_files/fig-1-layer2.csv"] },
    { kind: "table", number: 1, title: "scores", files: ["nb_files/table-1.csv"] },
  ]);
  assert.equal(JSON.parse(readFileSync(join(dir, "nb_files", "fig-1.vl.json"), "utf8")), spec);
  assert.is(readFileSync(join(dir, "nb_files", "fig-1-layer1.csv"), "utf8"), 'x,y,label\r\n1,2,"a,b"\r\n2,3,"say ""hi"""\r\n');
  assert.is(readFileSync(join(dir, "nb_files", "table-1.csv"), "utf8"), 'arm,score\r\na,0.5\r\n"b\nc",NaN\r\n');
  assert.equal(notebook.cells[1].outputs, [stream("hello\n")], "gradlab-meta and gradlab-claim lines are gone; an emptied output is dropped");
  assert.equal(notebook.cells[2].outputs[1].metadata.gradlab.files, files[0].files);
  assert.equal(specDataSources({ data: { values: [1, 2] }, datasets: { d: [{ a: 1 }] } }).map((s: { name: string }) => s.name), ["d", "data"]);
  assert.is(toCsv(["v"], [[1], [null], [{ a: 1 }]]), 'v\r\n1\r\n\r\n"{""a"":1}"\r\n');
  assert.is(csvField("plain"), "plain");
});

test("header: facts, seeds and claims, escaped in HTML and Markdown", () => {
  const row = {
    name: "nb<x>", notebook: "notebooks/nb.ipynb", preset: "quick", parameters: { preset: "quick", seed: 3, label: "<b>" }, seed: "3",
    commit: "abc-dirty", backend: "wasm", durationSeconds: 12.34, finishedAt: "2025-01-01T00:00:00Z", peakRssBytes: 300 * 2 ** 20,
    claims: [{ id: "c.1", statement: "A beats <img src=x onerror=alert(1)>", verdict: "not reproduced", test: "sign test", n: 8, p: 0.3, estimate: 0.1, interval: null, scale: 1, unit: "", seeds: [3, 4] }],
  };
  assert.equal(runSeeds(row), ["3", "4"]);
  const html = renderHeaderHtml(row, [{ kind: "figure", number: 1, title: "F <1>", files: ["nb_files/fig-1.csv"] }]);
  for (const expected of ["<h1>nb&lt;x&gt;</h1>", "<code>seed=3, label=&quot;&lt;b&gt;&quot;</code>", "<td>3, 4</td>", "<code>abc-dirty</code>", "12.3 s", "300 MiB",
    '<span class="verdict not-reproduced">not reproduced</span> — A beats &lt;img src=x onerror=alert(1)&gt;', "sign test, n = 8, p = 0.300", "Figure 1: F &lt;1&gt;", '<a href="nb_files/fig-1.csv">fig-1.csv</a>']) {
    assert.ok(html.includes(expected), `header HTML has ${expected}:\n${html}`);
  }
  assert.not.match(html, "<img");
  const md = renderHeaderMarkdown(row, []);
  assert.match(md, "| commit | `abc-dirty` |");
  assert.match(md, "- **not reproduced** — A beats &lt;img src=x onerror=alert(1)&gt;");
  assert.match(renderHeaderHtml({ ...row, claims: [] }), "This notebook tested no claims.");
});

test("displayMarkdown: one text/markdown + text/plain bundle; through tslab's public markdown when the bundle internal is missing", () => {
  const sent: unknown[] = [];
  const bundleTarget: DisplayTarget = { kind: "bundle", write: (content) => sent.push(content) };
  assert.is(displayMarkdown("**x** = 1", bundleTarget), undefined);
  assert.equal(sent, [{ data: { "text/markdown": "**x** = 1", "text/plain": "**x** = 1" }, metadata: {}, transient: {} }]);
  const shown: string[] = [];
  const warn = console.warn;
  console.warn = () => {};
  try {
    displayMarkdown("*y*", { kind: "fallback", reason: "test", show: (mime, value) => shown.push(`${mime}:${value}`) });
  } finally {
    console.warn = warn;
  }
  assert.equal(shown, ["text/markdown:*y*"]);
  assert.equal(displayMarkdown("z", { kind: "none", reason: "test" }), markdownBundle("z"));
  assert.throws(() => markdownBundle("  "), /non-empty string/);
});

test("--no-input and --history parse; they take no value", () => {
  const o = parseArgs(["--no-input", "--history"]);
  assert.equal([o.noInput, o.history], [true, true]);
  assert.equal([parseArgs([]).noInput, parseArgs([]).history], [false, false]);
  assert.throws(() => parseArgs(["--no-input=yes"]), /takes no value/);
});

const python = findJupyterPython();

/** Runs export.py on `notebook` with `extras`; returns the HTML and Markdown it wrote. */
function exportNotebook(name: string, notebook: object, extras: object) {
  assert.ok(python, "export.py needs a Python with nbconvert: run `node scripts/setup-jupyter.mjs`");
  const source = join(dir, `${name}.in.ipynb`);
  const extrasPath = join(dir, `${name}.extras.json`);
  writeFileSync(source, JSON.stringify(notebook));
  writeFileSync(extrasPath, JSON.stringify(extras));
  const run = spawnSync(python!, [join(root, "scripts", "lib", "runner", "export.py"), source, dir, name, extrasPath], { encoding: "utf8" });
  assert.is(run.status, 0, run.stderr);
  return { html: readFileSync(join(dir, `${name}.html`), "utf8"), md: readFileSync(join(dir, `${name}.md`), "utf8") };
}

test("export.py: report mode hides code; the spec cannot end its script; scripts inlined once; no system paths", () => {
  const { notebook } = writeReportData(executed, { dir, name: "full" });
  const extras = { header_html: '<header id="gradlab-header">H</header>', header_markdown: "# header line", vega_scripts: vegaScriptPaths(), mathjax_src: "assets/mathjax-tex-svg-full.js" };
  const full = exportNotebook("full", notebook, { ...extras, no_input: false });
  const bare = exportNotebook("bare", notebook, { ...extras, no_input: true });
  assert.match(full.html, "secretCodeLine");
  assert.match(full.md, "secretCodeLine");
  for (const page of [bare.html, bare.md]) {
    assert.not.match(page, "secretCodeLine", "report mode shows no code");
    assert.match(page, "hello", "…but keeps the outputs");
    assert.match(page, "Inline $x^2$", "…and the prose");
  }
  assert.match(full.html, 'class="jp-CodeMirrorEditor');
  assert.not.match(bare.html, 'class="jp-CodeMirrorEditor', "no input area at all");
  assert.ok(full.md.startsWith("# header line\n\n"), "the Markdown report starts with its header");
  assert.match(full.html, '<header id="gradlab-header">H</header>');
  // The hostile title is inside the JSON as \u003c…; the page has exactly the scripts we put there.
  assert.not.match(full.html, "<script>alert(1)");
  assert.match(full.html, "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)");
  const scripts = full.html.match(/<script\b[^>]*>/g) ?? [];
  assert.equal(scripts, ["<script>", '<script defer src="assets/mathjax-tex-svg-full.js">', '<script type="application/json" class="gradlab-vega-spec">', "<script>", "<script>", "<script>", "<script>"]);
  assert.is(full.html.split(readFileSync(vegaScriptPaths()[0], "utf8").slice(0, 200)).length - 1, 1, "vega is inlined once");
  assert.match(full.html, 'id="fallback-rect"', "the SVG is kept as the fallback");
  assert.match(full.html, '<a href="full_files/fig-1-layer1.csv">fig-1-layer1.csv</a>');
  assert.match(full.html, '<a href="full_files/table-1.csv">table-1.csv</a>');
  assert.match(full.html, "<strong>Finding.</strong> Arm A beats arm B", "a Markdown output renders as prose");
  assert.match(full.md, "**Finding.** Arm A beats arm B");
  for (const page of [full.html, bare.html]) {
    assert.not.match(page, "/usr/share/javascript");
    assert.not.match(page, /require(\.min)?\.js/);
  }
  // A page without a figure gets no vega scripts at all.
  const noFigure = { ...notebook, cells: notebook.cells.slice(0, 2) };
  const plain = exportNotebook("plain", noFigure, extras);
  assert.not.match(plain.html, "vegaEmbed");
  assert.ok(existsSync(join(dir, "plain.md")));
});

test.run();
