// Escaping for the index pages: every string that came from a notebook, a file name or a
// previous runs.json goes through one of these before it reaches index.html (escapeHtml) or
// index.md (markdownCell, markdownCode, markdownHref).

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/**
 * Data-derived text for index.md, shown as text and never as markup, in a table cell or a list
 * item: HTML is entity-escaped (Markdown viewers render raw HTML, so `<img onerror>` would run),
 * the characters that open Markdown constructs are backslash-escaped (`[x](javascript:…)` is
 * no link, `*` no emphasis), pipes cannot end the cell and line breaks are flattened.
 */
export function markdownCell(text) {
  return String(text)
    .replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c])
    .replace(/[\\`*_[\]~|]/g, (c) => `\\${c}`)
    .replace(/\r\n|[\r\n]/g, " ");
}

/**
 * Data-derived text as a Markdown code span, in a table cell: the fence is one backtick longer
 * than any run of backticks inside, so the text cannot close it; pipes stay escaped (GFM reads
 * `\|` inside a code span in a table as a pipe).
 */
export function markdownCode(text) {
  const flat = String(text).replace(/\r\n|[\r\n]/g, " ");
  const longestRun = (flat.match(/`+/g) ?? []).reduce((longest, run) => Math.max(longest, run.length), 0); // no spread: any length
  const fence = "`".repeat(longestRun + 1), pad = flat.startsWith("`") || flat.endsWith("`") ? " " : "";
  return `${fence}${pad}${flat.replace(/\|/g, "\\|")}${pad}${fence}`;
}

/** A relative file link for index.md: percent-encoded, parentheses too, so a name cannot end the link. */
export function markdownHref(file) {
  return encodeURIComponent(file).replace(/[()]/g, (c) => (c === "(" ? "%28" : "%29"));
}
