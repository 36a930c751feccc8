// The header at the top of each notebook report (HTML and Markdown): what ran, how, where and
// with what result — notebook, preset, parameters, seeds, commit (with -dirty), backend,
// wall-clock, peak memory, the claims it tested with their verdicts, and the data files written
// beside the report. Everything here is data from the run, so it is escaped for the format it
// goes into (escape.mjs), never trusted as markup.
import { estimateText, formatP, VERDICT_CLASS } from "./claims.mjs";
import { escapeHtml, markdownCell, markdownCode, markdownHref } from "./escape.mjs";

/** Seeds a run used: the notebook's own (gradlab-meta) and every seed its claims name, sorted. */
export function runSeeds(row) {
  const seeds = new Set();
  if (row.seed !== undefined && row.seed !== null && row.seed !== "unknown") seeds.add(String(row.seed));
  for (const claim of row.claims ?? []) for (const s of claim.seeds ?? []) seeds.add(String(s));
  return [...seeds].sort((a, b) => (Number(a) - Number(b)) || a.localeCompare(b));
}

/** The header's facts as [label, text] pairs, in display order. */
export function headerFacts(row) {
  const parameters = Object.entries(row.parameters ?? {}).filter(([key]) => key !== "preset");
  const seconds = row.durationSeconds;
  return [
    ["notebook", row.notebook ?? `${row.name}.ipynb`],
    ["preset", row.preset ?? "unknown"],
    ["parameters", parameters.length ? parameters.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ") : "none beyond the preset"],
    ["seeds", runSeeds(row).join(", ") || "unknown"],
    ["commit", row.commit ?? "unknown"],
    ["backend", row.backend ?? "unknown"],
    ["wall-clock", typeof seconds === "number" ? `${seconds.toFixed(1)} s (finished ${row.finishedAt ?? "at an unknown time"})` : "unknown"],
    ["peak memory", typeof row.peakRssBytes === "number" ? `${(row.peakRssBytes / 2 ** 20).toFixed(0)} MiB (the kernel's process tree)` : "not measured"],
  ];
}

function claimSummary(claim) {
  const parts = [claim.test, claim.n !== null && claim.n !== undefined ? `n = ${claim.n}` : null, typeof claim.p === "number" ? `p = ${formatP(claim.p)}` : null];
  const estimate = typeof claim.estimate === "number" ? estimateText(claim) : null;
  return [parts.filter(Boolean).join(", "), estimate ? `estimate ${estimate}` : null].filter(Boolean).join("; ");
}

/** The header as HTML (a <header class="gradlab-header">), for export.py's body_header block. */
export function renderHeaderHtml(row, dataFiles = []) {
  const facts = headerFacts(row)
    .map(([label, text]) => `<tr><th>${escapeHtml(label)}</th><td>${label === "commit" || (label === "parameters" && !text.startsWith("none")) ? `<code>${escapeHtml(text)}</code>` : escapeHtml(text)}</td></tr>`)
    .join("\n");
  const claims = (row.claims ?? []).map((c) => {
    const cls = VERDICT_CLASS[c.verdict] ?? "unknown";
    return `<li data-claim-id="${escapeHtml(c.id)}"><span class="verdict ${cls}">${escapeHtml(c.verdict)}</span> — ${escapeHtml(c.statement)} <code>${escapeHtml(c.id)}</code><br><small>${escapeHtml(claimSummary(c))}</small></li>`;
  });
  const data = dataFiles.map((d) => `<li>${escapeHtml(`${d.kind === "figure" ? "Figure" : "Table"} ${d.number}${d.title ? `: ${d.title}` : ""}`)} — ${d.files.map((f) => `<a href="${escapeHtml(encodeURI(f))}">${escapeHtml(f.split("/").pop())}</a>`).join(" · ")}</li>`);
  return `<header class="gradlab-header" id="gradlab-header">
<h1>${escapeHtml(row.name)}</h1>
<table class="gradlab-facts">
${facts}
</table>
<h2>Claims tested</h2>
${claims.length ? `<ul class="gradlab-claims">\n${claims.join("\n")}\n</ul>` : "<p>This notebook tested no claims.</p>"}
${data.length ? `<h2>Data behind the figures and tables</h2>\n<ul class="gradlab-data-files">\n${data.join("\n")}\n</ul>` : ""}
</header>`;
}

/** The header as Markdown lines, prepended to the Markdown report. */
export function renderHeaderMarkdown(row, dataFiles = []) {
  const lines = [`# ${markdownCell(row.name)}`, "", "| | |", "| --- | --- |"];
  for (const [label, text] of headerFacts(row)) lines.push(`| ${label} | ${label === "commit" || (label === "parameters" && !text.startsWith("none")) ? markdownCode(text) : markdownCell(text)} |`);
  lines.push("", "**Claims tested**", "");
  if (!(row.claims ?? []).length) lines.push("This notebook tested no claims.");
  for (const c of row.claims ?? []) lines.push(`- **${markdownCell(c.verdict)}** — ${markdownCell(c.statement)} (${markdownCode(c.id)}; ${markdownCell(claimSummary(c))})`);
  if (dataFiles.length) {
    lines.push("", "**Data behind the figures and tables**", "");
    for (const d of dataFiles) {
      const label = `${d.kind === "figure" ? "Figure" : "Table"} ${d.number}${d.title ? `: ${d.title}` : ""}`;
      lines.push(`- ${markdownCell(label)}: ${d.files.map((f) => `[${markdownCell(f.split("/").pop())}](${markdownHref(f).replace(/%2F/g, "/")})`).join(", ")}`);
    }
  }
  return lines.join("\n") + "\n";
}
