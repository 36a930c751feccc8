// Escaping for the index pages: every string that came from a notebook, a file name or a
// previous runs.json goes through one of these before it reaches index.html or index.md.

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** One Markdown table cell: pipes escaped, line breaks flattened. */
export function markdownCell(text) {
  return String(text).replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}
