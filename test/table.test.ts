import { test } from "uvu";
import * as assert from "uvu/assert";
import * as tf from "@tensorflow/tfjs";
import { toDataFrame, tableBundle, displayTable, formatNumber, escapeHtml, TABLE_MIME_TYPES, DisplayTarget } from "../kernel-lib/viz";
import { EmptyInputError, InvalidArgumentError, UnknownOptionError } from "../kernel-lib/errors";
import { expectError, expectNoLeak, TEST_BACKENDS, useBackend } from "./helpers";

const dfd = require("danfojs-node");

/** Cell texts of the HTML table body, row by row (tags stripped, entities kept). */
function htmlCells(html: string): string[][] {
  const body = /<tbody>([\s\S]*)<\/tbody>/.exec(html)![1];
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => [...m[1].matchAll(/<t[dh][^>]*>([\s\S]*?)<\/t[dh]>/g)].map((c) => c[1]));
}

test("danfo shares the project's tfjs (one engine) and building tables leaves no tensors", async () => {
  assert.ok(dfd.tensorflow.engine() === tf.engine(), "danfo must use the same tfjs-core as gradlab");
  for (const backend of TEST_BACKENDS) {
    await useBackend(backend);
    await expectNoLeak(`toDataFrame + tableBundle on ${backend}`, () => {
      tableBundle(toDataFrame([{ a: 1, b: "x" }, { a: 2.5, b: "y" }]));
      tableBundle(new dfd.DataFrame({ a: [1, 2, 3] }).describe());
    });
  }
});

test("toDataFrame: the union of keys in first-seen order, missing values null (danfo alone misaligns these)", () => {
  const df = toDataFrame([{ b: 1, a: 2 }, { a: 3, c: 4 }, { c: 5 }]);
  assert.equal(df.columns, ["b", "a", "c"]);
  assert.equal(df.values, [[1, 2, null], [null, 3, 4], [null, null, 5]]);
  assert.instance(df, dfd.DataFrame);
});

test("toDataFrame: bad input is a typed error", async () => {
  await expectError(() => toDataFrame([]), EmptyInputError, "records");
  await expectError(() => toDataFrame([{}, {}]), EmptyInputError, "at least one field");
  await expectError(() => toDataFrame([{ a: 1 }, 5] as never), InvalidArgumentError, "records[1]");
  await expectError(() => toDataFrame("a,b" as never), InvalidArgumentError, "records");
});

test("tableBundle: exactly text/html + text/plain; every cell and column name is escaped", () => {
  const rows = [
    { "<b>name</b>": "<script>alert(1)</script>", note: `Tom & Jerry say "hi" and 'bye'`, x: 1 },
    { "<b>name</b>": "<img src=x onerror=alert(2)>", note: "a<b", x: 2 },
  ];
  const bundle = tableBundle(rows);
  assert.equal(Object.keys(bundle.data).sort(), [...TABLE_MIME_TYPES].sort());
  const html = bundle.data["text/html"] as string;
  assert.not.match(html, /<script/i);
  assert.not.match(html, /<img/i);
  assert.not.match(html, /<b>/);
  assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
  assert.ok(html.includes("Tom &amp; Jerry say &quot;hi&quot; and &#39;bye&#39;"));
  assert.ok(html.includes("<th style=\"text-align: left\">&lt;b&gt;name&lt;/b&gt;</th>"));
  assert.equal(htmlCells(html), [
    ["0", "&lt;script&gt;alert(1)&lt;/script&gt;", "Tom &amp; Jerry say &quot;hi&quot; and &#39;bye&#39;", "1"],
    ["1", "&lt;img src=x onerror=alert(2)&gt;", "a&lt;b", "2"],
  ]);
  // The plain text keeps the raw characters (it is never interpreted as markup).
  assert.ok((bundle.data["text/plain"] as string).includes("<script>alert(1)</script>"));
  assert.is(escapeHtml(`<>&"'`), "&lt;&gt;&amp;&quot;&#39;");
});

test("numbers: 4 significant digits, integers in full, NaN/Inf spelled out (closed-form table)", () => {
  const cases: [number, string][] = [
    [42, "42"], [-7, "-7"], [123456789, "123456789"], [1234.5678, "1235"], [0.1234567, "0.1235"],
    [1 / 3, "0.3333"], [-2.5, "-2.5"], [0.000123456, "0.0001235"], [1.5e-7, "1.5e-7"], [123456789.5, "1.235e+8"],
    [6.02214076e23, "6.022e+23"], [NaN, "NaN"], [Infinity, "Inf"], [-Infinity, "-Inf"], [-0, "0"], [1e-4, "0.0001"],
  ];
  for (const [v, s] of cases) assert.is(formatNumber(v), s, `formatNumber(${v})`);
  assert.is(formatNumber(Math.PI, 6), "3.14159");
  const html = tableBundle([{ v: NaN }, { v: 1 / 3 }, { v: null }], { index: false }).data["text/html"] as string;
  assert.equal(htmlCells(html), [["NaN"], ["0.3333"], ["null"]]);
});

test("text/plain: an aligned table, numbers right-aligned, strings left-aligned", () => {
  const text = tableBundle([{ name: "a", loss: 0.5 }, { name: "longer name", loss: 12.25 }, { name: "b", loss: 100 }]).data["text/plain"] as string;
  const lines = text.split("\n");
  assert.equal(lines, [
    "   name          loss",
    "0  a              0.5",
    "1  longer name  12.25",
    "2  b              100",
  ]);
});

test("long tables: the first maxRows rows and a '… N more rows' note in both views", () => {
  const rows = Array.from({ length: 50 }, (_, i) => ({ i, sq: i * i }));
  const bundle = tableBundle(rows, { maxRows: 10 });
  const html = bundle.data["text/html"] as string;
  assert.is(htmlCells(html).length, 10);
  assert.equal(htmlCells(html)[9], ["9", "9", "81"]);
  assert.ok(html.includes("<p>… 40 more rows (50 rows × 2 columns)</p>"));
  const lines = (bundle.data["text/plain"] as string).split("\n");
  assert.is(lines.length, 1 + 10 + 1);
  assert.is(lines[11], "… 40 more rows (50 rows × 2 columns)");
  const short = tableBundle(rows.slice(0, 5), { maxRows: 5 });
  assert.not.match(short.data["text/html"] as string, "more row");
  assert.is(tableBundle(rows.slice(0, 6), { maxRows: 5 }).data["text/plain"].toString().split("\n").pop(), "… 1 more row (6 rows × 2 columns)");
});

test("DataFrames directly: the index column comes from the DataFrame; caption escaped; empty frames say so", () => {
  const df = new dfd.DataFrame({ acc: [0.91234, 0.5] }).setIndex({ index: ["PRISM", "SFT"] });
  const bundle = tableBundle(df, { caption: "Table <1>" });
  assert.equal(htmlCells(bundle.data["text/html"] as string), [["PRISM", "0.9123"], ["SFT", "0.5"]]);
  assert.ok((bundle.data["text/html"] as string).includes("<caption>Table &lt;1&gt;</caption>"));
  assert.equal((bundle.data["text/plain"] as string).split("\n"), ["Table <1>", "          acc", "PRISM  0.9123", "SFT       0.5"]);
  const empty = tableBundle(new dfd.DataFrame([]));
  assert.ok((empty.data["text/plain"] as string).endsWith("(no rows)"));
});

test("bad table input and options are typed errors", async () => {
  await expectError(() => tableBundle([{ a: 1 }], { maxRow: 5 } as never), UnknownOptionError, "maxRow");
  await expectError(() => tableBundle([{ a: 1 }], { maxRows: 0 }), InvalidArgumentError, "options.maxRows");
  await expectError(() => tableBundle([{ a: 1 }], { digits: 0 }), InvalidArgumentError, "options.digits");
  await expectError(() => tableBundle(new dfd.Series([1, 2])), InvalidArgumentError, "Series");
  await expectError(() => tableBundle("a,b" as never), InvalidArgumentError, "table");
  await expectError(() => tableBundle([]), EmptyInputError, "records");
});

test("displayTable: outside the kernel returns the bundle; in the kernel sends one message; fallback sends HTML", () => {
  const rows = [{ a: "<x>" }];
  const returned = displayTable(rows);
  assert.equal(Object.keys(returned!.data).sort(), ["text/html", "text/plain"]);
  const sent: unknown[] = [];
  const kernel: DisplayTarget = { kind: "bundle", write: (content) => sent.push(content) };
  assert.is(displayTable(rows, {}, kernel), undefined);
  assert.is(sent.length, 1);
  const shown: string[] = [];
  const warn = console.warn;
  console.warn = () => undefined;
  try {
    displayTable(rows, {}, { kind: "fallback", reason: "r", show: (mime) => shown.push(mime) });
  } finally {
    console.warn = warn;
  }
  assert.equal(shown, ["text/html"]);
});

test.run();
