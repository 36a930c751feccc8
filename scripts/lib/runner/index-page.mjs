// The run index: runs.json (machine-readable, also the memory between runs), index.html and
// index.md. One row per notebook of the run's universe (the notebooks folder, or the paths
// given) plus any notebook an earlier run into the same folder recorded. Rows not executed this
// time are "skipped" and keep what the last run said about them under `last`.
// Links point at whatever output files exist: for a failed notebook that is the partial
// `<name>.failed.html/.ipynb` of this run and the last good report, which a failure never clobbers.
// claims.json (claims.mjs) is derived from the rows: `claims` of ok rows, `lastGood` of failed ones.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buildClaimsLedger, CLAIMS_CSS, CLAIMS_FILE, lastGoodOf, renderClaimsHtml, renderClaimsMarkdown } from "./claims.mjs";
import { escapeHtml, markdownCell, markdownCode, markdownHref } from "./escape.mjs";
import { writeFileAtomic } from "./staging.mjs";

export { escapeHtml };

export const RUNS_FILE = "runs.json";
const STDERR_KEEP = 6000;

/** Output files of one notebook, in the order the index shows them. */
export function outputFileNames(name) {
  return {
    html: `${name}.html`,
    md: `${name}.md`,
    ipynb: `${name}.ipynb`,
    pdf: `${name}.pdf`,
    failedHtml: `${name}.failed.html`,
    failedIpynb: `${name}.failed.ipynb`,
  };
}

/** The subset of outputFileNames that exist in `outDir`. */
export function existingOutputs(outDir, name) {
  return Object.fromEntries(Object.entries(outputFileNames(name)).filter(([, file]) => existsSync(join(outDir, file))));
}

/** The previous runs.json rows by name; a missing or unreadable file means none. */
export function readPreviousRows(outDir) {
  try {
    const runs = JSON.parse(readFileSync(join(outDir, RUNS_FILE), "utf8"));
    return new Map((runs.notebooks ?? []).map((row) => [row.name, row]));
  } catch {
    return new Map();
  }
}

/** Keeps the stored stderr short enough for an index, from its start (the error is near the top). */
export function clipStderr(text) {
  return text.length > STDERR_KEEP ? `${text.slice(0, STDERR_KEEP)}\n… (${text.length - STDERR_KEEP} more characters)` : text;
}

/**
 * Merges this run's rows with the universe and the previous index. `executed` are rows built by
 * the runner (status ok/failed); returns all rows sorted by name with current `outputs`.
 */
export function buildRows({ executed, universe, previous, outDir }) {
  const rows = new Map();
  const skippedRow = (name, notebook) => {
    const before = previous.get(name);
    const last = before ? (before.status === "skipped" ? before.last ?? null : pickLast(before)) : null;
    return { name, notebook: notebook ?? before?.notebook ?? `${name}.ipynb`, status: "skipped", last };
  };
  for (const name of previous.keys()) rows.set(name, skippedRow(name));
  for (const entry of universe) rows.set(entry.name, skippedRow(entry.name, entry.displayPath));
  for (const row of executed) {
    if (row.status !== "failed") {
      rows.set(row.name, row);
      continue;
    }
    // A failed run establishes no claims; the last good run's stay visible, marked stale.
    const lastGood = lastGoodOf(previous.get(row.name));
    const count = lastGood?.claims?.length ?? 0;
    const notes = count ? [...(row.notes ?? []), `the claims table shows the ${count} claim${count === 1 ? "" : "s"} of its last good run (${lastGood.finishedAt ?? "time unknown"}), marked stale`] : row.notes;
    rows.set(row.name, { ...row, lastGood, notes });
  }
  return [...rows.values()]
    .map((row) => ({ ...row, outputs: existingOutputs(outDir, row.name) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function pickLast(row) {
  const { status, finishedAt, commit, preset, backend, seed, durationSeconds, peakRssBytes, failure } = row;
  const last = { status, finishedAt, commit, preset, backend, seed, durationSeconds, peakRssBytes: peakRssBytes ?? null, failure: failure ?? null, claims: row.claims ?? [] };
  return status === "failed" ? { ...last, lastGood: row.lastGood ?? null } : last;
}

/** Writes runs.json, claims.json, index.html and index.md, each atomically. */
export function writeIndex(outDir, run) {
  const ledger = buildClaimsLedger(run);
  writeFileAtomic(join(outDir, RUNS_FILE), JSON.stringify(run, null, 2) + "\n");
  writeFileAtomic(join(outDir, CLAIMS_FILE), JSON.stringify(ledger, null, 2) + "\n");
  writeFileAtomic(join(outDir, "index.html"), renderIndexHtml(run));
  writeFileAtomic(join(outDir, "index.md"), renderIndexMarkdown(run));
}

const LINK_LABELS = { html: "HTML", md: "Markdown", ipynb: "notebook", pdf: "PDF", failedHtml: "partial HTML", failedIpynb: "partial notebook" };

function linkList(row, render) {
  const outputs = row.outputs ?? {};
  const current = ["html", "md", "ipynb", "pdf"].filter((k) => outputs[k]);
  const partial = ["failedHtml", "failedIpynb"].filter((k) => outputs[k]);
  const parts = [];
  if (partial.length) parts.push(partial.map((k) => render(LINK_LABELS[k], outputs[k])).join(" · "));
  if (current.length) {
    const prefix = row.status === "failed" ? "last good: " : "";
    parts.push(prefix + current.map((k) => render(LINK_LABELS[k], outputs[k])).join(" · "));
  }
  return parts;
}

/** Status, duration, preset, backend, seed, commit for a row (a skipped row shows its last run). */
function rowFacts(row) {
  const source = row.status === "skipped" ? row.last ?? {} : row;
  const seconds = source.durationSeconds;
  return {
    status: row.status === "skipped" && row.last ? `skipped (last: ${row.last.status})` : row.status,
    duration: typeof seconds === "number" ? `${seconds.toFixed(1)} s` : "–",
    // The kernel's process tree (kernel, sweep workers, threads), sampled by execute.py.
    memory: typeof source.peakRssBytes === "number" ? `${(source.peakRssBytes / 2 ** 20).toFixed(0)} MiB` : "–",
    preset: source.preset ?? "–",
    backend: source.backend ?? "–",
    seed: source.seed ?? "–",
    commit: source.commit ?? "–",
    finishedAt: source.finishedAt ?? "–",
  };
}

function failureHeadline(failure) {
  const where = failure.injected ? "injected parameters cell" : failure.cell !== null ? `cell ${failure.cell} (code cell ${failure.codeCell})` : "before any cell";
  return `${where}: ${failure.error}`;
}

export function renderIndexHtml(run) {
  const rows = run.notebooks.map((row) => {
    const facts = rowFacts(row);
    const links = linkList(row, (label, href) => `<a href="${escapeHtml(encodeURIComponent(href))}">${escapeHtml(label)}</a>`);
    const details = [];
    const failure = row.failure ?? row.last?.failure;
    if (failure) {
      const label = row.failure ? "" : "last run: ";
      details.push(`<details><summary>${escapeHtml(label + failureHeadline(failure))}</summary><pre>${escapeHtml(failure.stderr || "(no stderr)")}</pre></details>`);
    }
    for (const note of row.notes ?? []) details.push(`<div class="note">${escapeHtml(note)}</div>`);
    return `<tr class="${escapeHtml(row.status)}">
  <td><strong>${escapeHtml(row.name)}</strong><div class="path">${escapeHtml(row.notebook)}</div>${details.join("")}</td>
  <td class="status">${escapeHtml(facts.status)}</td><td>${escapeHtml(facts.duration)}</td><td>${escapeHtml(facts.memory)}</td><td>${escapeHtml(facts.preset)}</td>
  <td>${escapeHtml(facts.backend)}</td><td>${escapeHtml(facts.seed)}</td><td><code>${escapeHtml(facts.commit)}</code></td>
  <td>${links.join("<br>") || "–"}</td>
</tr>`;
  });
  const counts = countStatuses(run.notebooks);
  const claims = renderClaimsHtml(run);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>gradlab reports</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
  table { border-collapse: collapse; width: 100%; }
  th, td { border-bottom: 1px solid #ddd; padding: .4rem .6rem; text-align: left; vertical-align: top; }
  tr.ok .status { color: #17692b; } tr.failed .status { color: #b00020; font-weight: bold; } tr.skipped .status { color: #777; }
  .path, .note { color: #666; font-size: .85em; } td code { white-space: nowrap; } pre { white-space: pre-wrap; font-size: .8em; background: #f6f6f6; padding: .5rem; }${CLAIMS_CSS}
</style>
</head>
<body>
<h1>gradlab reports</h1>
<p>Run finished ${escapeHtml(run.generatedAt)} at commit <code>${escapeHtml(run.commit)}</code>, preset <strong>${escapeHtml(run.preset)}</strong>${Object.keys(run.parameters ?? {}).length ? `, parameters <code>${escapeHtml(JSON.stringify(run.parameters))}</code>` : ""}: ${escapeHtml(counts)}.</p>
<table>
<thead><tr><th>notebook</th><th>status</th><th>duration</th><th>peak memory</th><th>preset</th><th>backend</th><th>seed</th><th>commit</th><th>outputs</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
</table>
${claims}
</body>
</html>
`;
}

export function renderIndexMarkdown(run) {
  const lines = [
    "# gradlab reports",
    "",
    `Run finished ${markdownCell(run.generatedAt)} at commit ${markdownCode(run.commit)}, preset **${markdownCell(run.preset)}**: ${countStatuses(run.notebooks)}.`,
    "",
    "| notebook | status | duration | peak memory | preset | backend | seed | commit | outputs |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  const failures = [];
  for (const row of run.notebooks) {
    const facts = rowFacts(row);
    // Link labels are ours and hrefs fully percent-encoded, so only the data cells need escaping.
    const links = linkList(row, (label, href) => `[${label}](${markdownHref(href)})`).join("; ") || "–";
    const cells = [row.name, facts.status, facts.duration, facts.memory, facts.preset, facts.backend, facts.seed].map(markdownCell);
    lines.push(`| ${[...cells, markdownCode(facts.commit), links].join(" | ")} |`);
    if (row.failure) failures.push(`- **${markdownCell(row.name)}** failed at ${markdownCell(failureHeadline(row.failure))}`);
    for (const note of row.notes ?? []) failures.push(`- ${markdownCell(row.name)}: ${markdownCell(note)}`);
  }
  if (failures.length) lines.push("", "## Failures and notes", "", ...failures);
  lines.push("", ...renderClaimsMarkdown(run));
  return lines.join("\n") + "\n";
}

function countStatuses(rows) {
  const count = (s) => rows.filter((r) => r.status === s).length;
  return `${count("ok")} ok, ${count("failed")} failed, ${count("skipped")} skipped`;
}
