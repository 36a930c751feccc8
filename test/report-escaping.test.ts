/**
 * Report escaping (issue 19 part 6, audit finding 9): index.md shows notebook-derived strings as
 * text, checked by rendering it with a real Markdown renderer (markdown-it with raw HTML enabled,
 * as many viewers do); the SVG cleaner of the HTML export (scripts/lib/runner/svg_allowlist.py)
 * keeps only allow-listed SVG, checked with the audit's attack strings and against a real Vega
 * figure, which must come through with the same elements and attributes.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import MarkdownIt from "markdown-it";
import { markdownCell, markdownCode, markdownHref } from "../scripts/lib/runner/escape.mjs";
import { buildRows, renderIndexMarkdown } from "../scripts/lib/runner/index-page.mjs";
import { findJupyterPython } from "../scripts/lib/jupyter-env.mjs";
import { renderSvg } from "../kernel-lib/viz/render";

const root = join(__dirname, "..");
const markdown = new MarkdownIt({ html: true, linkify: true });

const HOSTILE = [
  "<img src=x onerror=alert(9)>",
  "<script>alert(1)</script>",
  "[click](javascript:alert(1))",
  "![x](javascript:alert(2))",
  "<a href='javascript:alert(3)'>a</a>",
  "*em* _u_ ~~s~~ `code` \\ | pipe",
  "&lt;script&gt; &#x3C;b&#x3E;",
  "line\nbreak\r\n<div>",
];

/** No element, attribute or link in rendered HTML may come from the data. */
function assertInert(html: string, label: string, alsoForbidden: RegExp[] = []): void {
  for (const forbidden of [/<img/i, /<script/i, /<a\s[^>]*href="javascript:/i, /<div/i, /<[^>]*\son\w+=/i, ...alsoForbidden]) {
    assert.not.match(html, forbidden, `${label}: rendered ${forbidden} in ${html}`);
  }
}

test("markdownCell: hostile strings render as their own text, in a table cell and in a list item", () => {
  for (const text of HOSTILE) {
    const cell = markdownCell(text);
    const table = markdown.render(`| a | b |\n| --- | --- |\n| ${cell} | x |\n`);
    const markup = [/<em>/, /<strong>/, /<s>/, /<code>/, /<a /];
    assertInert(table, `cell ${JSON.stringify(text)}`, markup);
    const item = markdown.render(`- **name** failed at ${cell}\n`);
    assertInert(item.replace("<strong>name</strong>", ""), `item ${JSON.stringify(text)}`, markup);
    // The text survives: rendering then unescaping gives back the characters (line breaks become spaces).
    const shown = item.replace(/<[^>]+>/g, "").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&amp;/g, "&").trim();
    assert.ok(shown.endsWith(text.replace(/\r\n|[\r\n]/g, " ")), `${JSON.stringify(text)} shown as ${JSON.stringify(shown)}`);
    assert.is(table.match(/<td>/g)?.length, 2, "the pipe does not split the cell");
  }
});

test("markdownCode and markdownHref: backticks cannot close the span, parentheses cannot end the link", () => {
  for (const text of ["abc", "a`b``c", "`x`", "<img src=x onerror=alert(1)>", "a|b"]) {
    const html = markdown.render(`| c |\n| --- |\n| ${markdownCode(text)} |\n`);
    assert.match(html, "<code>", `${text} is one code span`);
    assertInert(html.replace(/<code>[^<]*<\/code>/, ""), `code ${text}`);
    const inner = /<code>([^<]*)<\/code>/.exec(html)![1].replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&").replace(/&quot;/g, '"');
    assert.is(inner.trim(), text, "the span shows exactly the text");
  }
  const link = markdown.render(`[HTML](${markdownHref("a) [x](javascript:alert(1).html")})`);
  assert.is((link.match(/<a /g) ?? []).length, 1);
  assert.match(link, 'href="a%29%20%5Bx%5D%28javascript%3Aalert%281%29.html"');
});

test("index.md: notebook-derived backend, error text, notes, names and commit render as text", () => {
  // Before: the gradlab-meta backend and failure.error went into index.md raw (index-page.mjs:162-184).
  const dir = mkdtempSync(join(tmpdir(), "gradlab-index-md-"));
  try {
    const failure = { kind: "cell-error", cell: 2, codeCell: 1, injected: false, error: "Error: <script>alert(1)</script> [x](javascript:alert(2))", stderr: "" };
    const rows = buildRows({
      executed: [
        { name: "a_[x](javascript:alert(1))", notebook: "a.ipynb", status: "ok", durationSeconds: 1, preset: "quick", backend: "<img src=x onerror=alert(9)>", seed: "*3*", commit: "abc`<b>`", failure: null, notes: ["<div>note</div> | *x*"] },
        { name: "b", notebook: "b.ipynb", status: "failed", durationSeconds: 2, preset: "quick", backend: "wasm", seed: "0", commit: "abc", failure, notes: [] },
      ],
      universe: [], previous: new Map(), outDir: dir,
    });
    const run = { version: 1, generatedAt: "<b>now</b>", commit: "c`<i>`", preset: "<u>quick</u>", parameters: {}, notebooks: rows };
    const md = renderIndexMarkdown(run);
    const html = markdown.render(md);
    assertInert(html, "index.md");
    assert.not.match(html, /<b>|<i>|<u>/, "no data-derived tag");
    assert.match(html, "&lt;img src=x onerror=alert(9)&gt;", "the backend is shown as text");
    assert.match(html, "Error: &lt;script&gt;alert(1)&lt;/script&gt; [x](javascript:alert(2))", "the error is shown as text");
    assert.match(html, "<code>abc`&lt;b&gt;`</code>", "the commit is one code span");
    assert.is((html.match(/<tr>/g) ?? []).length, 3, "header + two rows: no cell broke the table");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- the SVG cleaner -------------------------------------------------------------------------------

const python = findJupyterPython();

/** Runs export.py's clean_svg on each input (one Python start-up); returns the cleaned markup. */
function cleanSvg(inputs: string[]): string[] {
  assert.ok(python, "the SVG cleaner needs a Python with nbconvert and lxml: run `node scripts/setup-jupyter.mjs`");
  const code = [
    "import json, sys",
    `sys.path.insert(0, ${JSON.stringify(join(root, "scripts", "lib", "runner"))})`,
    "from export import clean_svg",
    "print(json.dumps([clean_svg(s) for s in json.load(sys.stdin)]))",
  ].join("\n");
  const run = spawnSync(python!, ["-c", code], { input: JSON.stringify(inputs), encoding: "utf8", maxBuffer: 64 << 20 });
  assert.is(run.status, 0, `clean_svg failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as string[];
}

const SVG = (body: string) => `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10">${body}</svg>`;

test("SVG cleaner: the audit's attack strings and their variants are dropped; safe content stays", () => {
  const attacks = [
    `<a href="java&#9;script:alert(1)"><text>t</text></a>`,
    `<a xlink:href=" JaVa&#x0A;ScRipt:alert(2)"><rect width="1" height="1"/></a>`,
    `<a href="&#106;avascript:alert(3)">x</a>`,
    `<a href="&#0;javascript:alert(4)">x</a>`,
    `<a href="data:text/html,&lt;script&gt;alert(5)&lt;/script&gt;">x</a>`,
    `<a><set attributeName="href" to="javascript:alert(6)"/>x</a>`,
    `<a><animate attributeName="href" values="javascript:alert(7)" begin="0s"/>x</a>`,
    `<animateTransform attributeName="transform" type="scale" from="1" to="2"/>`,
    `<style>@import url(http://attacker.example/x.css);</style>`,
    `<rect width="1" height="1" style="fill:url(http://attacker.example/p)"/>`,
    `<rect width="1" height="1" fill="url(http://attacker.example/#g)"/>`,
    `<rect width="1" height="1" fill="url(&quot;java\tscript:alert(8)&quot;)"/>`,
    `<image href="http://attacker.example/track.png" width="1" height="1"/>`,
    `<use href="http://attacker.example/sprite.svg#a"/>`,
    `<script>alert(9)</script>`,
    `<foreignObject><div xmlns="http://www.w3.org/1999/xhtml"><img src="x" onerror="alert(10)"/></div></foreignObject>`,
    `<rect width="1" height="1" onclick="alert(11)" onmouseover="alert(12)"/>`,
    `<handler type="text/ecmascript">alert(13)</handler>`,
    `<feImage href="http://attacker.example/x.png"/>`,
  ];
  const cleaned = cleanSvg(attacks.map(SVG));
  cleaned.forEach((out, i) => {
    const folded = out.replace(/[\x00-\x20]/g, "").toLowerCase();
    for (const bad of ["javascript:", "&#106;", "<set", "<animate", "<style", "@import", "attacker", "<script", "<foreignobject", "onclick", "onmouseover", "onerror", "<handler", "<feimage", "data:text/html", "style="]) {
      assert.not.ok(folded.includes(bad), `attack ${i} (${attacks[i]}) kept ${bad}: ${out}`);
    }
    // Inline SVG, or (for input that is not well-formed XML, like a &#0; reference) an inert <img>.
    assert.ok(out.startsWith("<svg") || out.startsWith('<img alt="figure" src="data:image/svg+xml;base64,'), `attack ${i}: ${out}`);
  });
  const [safe] = cleanSvg([SVG(`<defs><linearGradient id="g"><stop offset="0" stop-color="red"/></linearGradient></defs><a href="https://example.org/doc">` +
    `<rect width="1" height="1" fill="url(#g)" aria-label="bar"/></a><image href="data:image/png;base64,iVBORw0KGgo=" width="1" height="1"/><text x="1">a &lt; b</text>`)]);
  for (const kept of ['fill="url(#g)"', 'href="https://example.org/doc"', 'href="data:image/png;base64,iVBORw0KGgo="', "<linearGradient", 'aria-label="bar"', "a &lt; b"]) {
    assert.ok(safe.includes(kept), `safe content kept ${kept}: ${safe}`);
  }
  const [notSvg, broken] = cleanSvg(["<html><script>alert(1)</script></html>", "<svg><a href='x'>"]);
  for (const out of [notSvg, broken]) assert.match(out, /^<img alt="figure" src="data:image\/svg\+xml;base64,/, "non-SVG or broken XML becomes an <img>");
});

test("SVG cleaner: a Vega figure (lines, areas, gradients, text, images) keeps every element and attribute", async () => {
  const spec = {
    data: { values: [{ a: 1, b: 2, c: "x <y>" }, { a: 2, b: 3, c: "z" }] },
    layer: [
      { mark: { type: "area", color: { gradient: "linear", stops: [{ offset: 0, color: "white" }, { offset: 1, color: "green" }] } }, encoding: { x: { field: "a", type: "quantitative" }, y: { field: "b", type: "quantitative" } } },
      { mark: { type: "line", point: true }, encoding: { x: { field: "a", type: "quantitative" }, y: { field: "b", type: "quantitative" }, color: { field: "c", type: "nominal" } } },
      { mark: { type: "text", dx: 4 }, encoding: { x: { field: "a", type: "quantitative" }, y: { field: "b", type: "quantitative" }, text: { field: "c" } } },
      { mark: { type: "image", width: 4, height: 4 }, encoding: { x: { field: "a", type: "quantitative" }, y: { field: "b", type: "quantitative" }, url: { value: "data:image/png;base64,iVBORw0KGgo=" } } },
    ],
    title: "t & <title>",
  };
  const svg = await renderSvg(spec as never);
  const [out] = cleanSvg([svg]);
  const inventory = (markup: string) => [...markup.matchAll(/<([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"]*")*)\s*\/?>/g)]
    .map((m) => `${m[1]}(${[...m[2].matchAll(/([\w:-]+)="/g)].map((a) => a[1]).sort().join(",")})`);
  assert.equal(inventory(out), inventory(svg), "the same elements with the same attributes, in order");
});

test.run();
