/**
 * escapeMarkdown: computed text spliced into a finding or caption renders as typed. Each case is
 * rendered by a CommonMark renderer (markdown-it, GFM tables and strikethrough on) with and
 * without escaping: unescaped it turns into markup (so the case is a real one), escaped the
 * rendered text equals the input, character for character.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { escapeMarkdown } from "../kernel-lib/viz";
import { InvalidArgumentError } from "../kernel-lib/errors";
import { expectError } from "./helpers";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const MarkdownIt = require("markdown-it");
const md = new MarkdownIt("default", { html: true });

/** The text a reader sees: tags dropped, entities decoded, soft line breaks as newlines. */
function rendered(markdown: string): string {
  const html: string = md.render(markdown);
  return html.replace(/<br\s*\/?>/g, "\n").replace(/<[^>]+>/g, "").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&amp;/g, "&").trim();
}

const CASES = [
  "AUC 0.62 [0.55, 0.69](seeds)",                 // a link
  "gini *and* kurtosis, arm __maestro__",         // emphasis, strong
  "weights _w_ and arm_name_",                    // underscores
  "a | b | c\n--|--|--\n1 | 2 | 3",               // a GFM table
  "cost $5 and $10",                              // math delimiters (markdown-it: code-free text; checked below)
  "p <b>0.05</b>, `code`, ~~struck~~",            // inline HTML, code span, strikethrough
  "# not a heading\n- not a list\n> not a quote\n1. not an ordered list\n+ nor this",
  "score\n===",                                   // a setext heading
  "back\\slash\\[",                               // backslashes stay backslashes
];

test("escapeMarkdown: each case is markup unescaped and the literal text escaped", () => {
  for (const text of CASES) {
    const escaped = escapeMarkdown(text);
    assert.is(rendered(escaped), text, `escaped ${JSON.stringify(text)} → ${JSON.stringify(escaped)}`);
    if (!text.includes("$")) assert.is.not(rendered(text), text, `the case ${JSON.stringify(text)} is markup when not escaped`);
    else assert.ok(/\\\$5 and \\\$10/.test(escaped), "dollar signs are escaped (math in JupyterLab and MathJax reports)");
  }
});

test("escapeMarkdown: plain prose is unchanged (numbers, ±, parentheses, hyphens and full stops inside a line)", async () => {
  const prose = "Gini separates conflict (AUC 0.71, n = 96, p = 0.003): reproduced. Mid-line - and 1. stay; so do → ± ≥ and % signs.";
  assert.is(escapeMarkdown(prose), prose);
  await expectError(() => escapeMarkdown(3 as never), InvalidArgumentError, "text");
});

test.run();
