/**
 * Prose in a notebook's output: a finding or a caption shown as Markdown (`text/markdown` +
 * `text/plain` in one display bundle), so JupyterLab and the HTML and Markdown reports render it
 * as text with emphasis, links and math, instead of the monospace stream a `console.log` makes.
 *
 *   lab.displayMarkdown(`**Finding.** Routing by concentration beats random (p = ${lab.fmt(p, 3)}).`);
 *
 * The text is the notebook author's own (built from computed numbers), shown as Markdown on purpose;
 * nbconvert sanitises the rendered HTML of a text/markdown output in reports like any other.
 * Computed text spliced into Markdown (labels, arm names, a claim sentence with "[lo, hi]", "r_a",
 * "$", "|") goes through `escapeMarkdown`, so it shows as typed instead of turning into a link,
 * emphasis, math or a table.
 */
import { InvalidArgumentError } from "../errors";
import { DisplayBundle, DisplayTarget, sendBundle } from "./display";

// Characters that start markup anywhere in running text (CommonMark inline syntax, GFM tables and
// strikethrough, "$" math in JupyterLab and MathJax reports) ...
const INLINE_SPECIAL = /[\\`*_[\]<|~$]/g;
// ... and what starts a block only at the beginning of a line: a heading, quote, list item,
// thematic break or setext underline ("1." / "1)" an ordered list).
const LINE_START_SPECIAL = /^([ \t]*)(?:([#>+\-=])|(\d+)([.)]))/gm;

/**
 * `text` with its Markdown-special characters backslash-escaped, so it renders literally (the same
 * characters) in JupyterLab and in nbconvert's HTML and Markdown reports. Punctuation that is
 * markup only at a line start ("#", "-", "1.") is escaped only there; line breaks are kept.
 */
export function escapeMarkdown(text: string): string {
  if (typeof text !== "string") throw new InvalidArgumentError("text", "a string", text);
  return text
    .replace(INLINE_SPECIAL, (c) => `\\${c}`)
    .replace(LINE_START_SPECIAL, (_m, indent: string, mark?: string, digits?: string, dot?: string) => (mark !== undefined ? `${indent}\\${mark}` : `${indent}${digits}\\${dot}`));
}

/** The display bundle of a Markdown text. */
export function markdownBundle(markdown: string): DisplayBundle {
  if (typeof markdown !== "string" || markdown.trim() === "") throw new InvalidArgumentError("markdown", "a non-empty string", markdown);
  return { data: { "text/markdown": markdown, "text/plain": markdown }, metadata: {} };
}

/**
 * Shows `markdown` as rendered prose in the notebook (one display bundle; see display.ts). Outside
 * the kernel nothing is sent and the bundle is returned. Where tslab's multi-MIME internal is
 * missing, it goes through tslab's public display.markdown, with a warning.
 */
export function displayMarkdown(markdown: string, target?: DisplayTarget): DisplayBundle | undefined {
  return sendBundle(markdownBundle(markdown), "text/markdown", target);
}
