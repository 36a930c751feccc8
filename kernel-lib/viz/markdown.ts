/**
 * Prose in a notebook's output: a finding or a caption shown as Markdown (`text/markdown` +
 * `text/plain` in one display bundle), so JupyterLab and the HTML and Markdown reports render it
 * as text with emphasis, links and math, instead of the monospace stream a `console.log` makes.
 *
 *   lab.displayMarkdown(`**Finding.** Routing by concentration beats random (p = ${lab.fmt(p, 3)}).`);
 *
 * The text is the notebook author's own (built from computed numbers), shown as Markdown on purpose;
 * nbconvert sanitises the rendered HTML of a text/markdown output in reports like any other.
 */
import { InvalidArgumentError } from "../errors";
import { DisplayBundle, DisplayTarget, sendBundle } from "./display";

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
