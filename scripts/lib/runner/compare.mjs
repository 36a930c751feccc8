// What changed between two runs (two report folders, each with runs.json and claims.json):
// claims whose verdict changed, claims only one run made, and the headline numbers side by side
// — every claim's estimate and p, and each notebook's status, wall-clock and peak memory, with
// the commit, preset, backend and seed that produced them. Written as HTML and Markdown by
// scripts/compare-runs.mjs (`npm run compare -- A B`).
//
// Claims are matched by notebook and claim id. A stale claim (one a run carried over from an
// earlier run because its notebook did not run or failed) is compared like any other but marked,
// so a "change" between two stale copies is never mistaken for a new result.
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { estimateText, formatP, VERDICT_CLASS } from "./claims.mjs";
import { escapeHtml, markdownCell, markdownCode } from "./escape.mjs";

/** Reads a run folder: `{ name, dir, run, ledger }`; throws an Error naming what is missing. */
export function readRun(dir, name = basename(dir)) {
  const read = (file) => {
    try {
      return JSON.parse(readFileSync(join(dir, file), "utf8"));
    } catch (error) {
      throw new Error(`${dir} is not a finished report folder: cannot read ${file} (${error.code ?? error.message})`);
    }
  };
  return { name, dir, run: read("runs.json"), ledger: read("claims.json") };
}

const claimKey = (c) => `${c.notebook}\u0000${c.id}`;

/** The comparison of run folders `a` (before) and `b` (after), both as readRun returns them. */
export function compareRuns(a, b) {
  const before = new Map(a.ledger.claims.map((c) => [claimKey(c), c]));
  const after = new Map(b.ledger.claims.map((c) => [claimKey(c), c]));
  const claims = [];
  for (const key of new Set([...before.keys(), ...after.keys()])) {
    const x = before.get(key) ?? null;
    const y = after.get(key) ?? null;
    const kind = !x ? "added" : !y ? "removed" : x.verdict !== y.verdict ? "verdict changed" : "same verdict";
    claims.push({ notebook: (y ?? x).notebook, id: (y ?? x).id, statement: (y ?? x).statement, kind, a: x, b: y });
  }
  const order = { "verdict changed": 0, added: 1, removed: 2, "same verdict": 3 };
  claims.sort((p, q) => order[p.kind] - order[q.kind] || p.notebook.localeCompare(q.notebook) || p.id.localeCompare(q.id));
  const rowsOf = (run) => new Map((run.notebooks ?? []).map((r) => [r.name, r]));
  const ra = rowsOf(a.run);
  const rb = rowsOf(b.run);
  const notebooks = [...new Set([...ra.keys(), ...rb.keys()])].sort().map((name) => ({ name, a: facts(ra.get(name)), b: facts(rb.get(name)) }));
  return { a: summary(a), b: summary(b), claims, changed: claims.filter((c) => c.kind === "verdict changed"), notebooks };
}

function summary({ name, run }) {
  return { name, generatedAt: run.generatedAt ?? null, commit: run.commit ?? null, preset: run.preset ?? null, parameters: run.parameters ?? {} };
}

/** A notebook row's headline facts (a skipped row shows its last run's). */
function facts(row) {
  if (!row) return null;
  const source = row.status === "skipped" ? row.last ?? {} : row;
  return {
    status: row.status === "skipped" ? `skipped (last: ${row.last?.status ?? "none"})` : row.status,
    seconds: typeof source.durationSeconds === "number" ? source.durationSeconds : null,
    peakMiB: typeof source.peakRssBytes === "number" ? source.peakRssBytes / 2 ** 20 : null,
    backend: source.backend ?? null,
    seed: source.seed ?? null,
  };
}

const verdictText = (c) => (c ? `${c.verdict}${c.stale ? " (stale)" : ""}` : "–");
const numbersText = (c) => (c ? `${estimateText(c)}; p ${formatP(c.p)}` : "–");
const factText = (f, key, unit, digits) => (f && typeof f[key] === "number" ? `${f[key].toFixed(digits)} ${unit}` : "–");
const verdictSpan = (c) => (c ? `<span class="verdict ${VERDICT_CLASS[c.verdict] ?? ""}">${escapeHtml(verdictText(c))}</span>` : "–");

function runLine(s) {
  return `${s.name}: finished ${s.generatedAt ?? "?"}, commit ${s.commit ?? "?"}, preset ${s.preset ?? "?"}${Object.keys(s.parameters).length ? `, parameters ${JSON.stringify(s.parameters)}` : ""}`;
}

/** The comparison as an HTML page. */
export function renderCompareHtml(cmp) {
  const claimRow = (c) => `<tr class="${c.kind.replace(/ /g, "-")}" data-claim-id="${escapeHtml(c.id)}"><td>${escapeHtml(c.notebook)}</td><td><code>${escapeHtml(c.id)}</code><div class="statement">${escapeHtml(c.statement)}</div></td><td>${escapeHtml(c.kind)}</td><td>${verdictSpan(c.a)}</td><td>${verdictSpan(c.b)}</td><td>${escapeHtml(numbersText(c.a))}</td><td>${escapeHtml(numbersText(c.b))}</td></tr>`;
  const nbRow = (n) => `<tr><td>${escapeHtml(n.name)}</td><td>${escapeHtml(n.a?.status ?? "–")}</td><td>${escapeHtml(n.b?.status ?? "–")}</td><td>${escapeHtml(factText(n.a, "seconds", "s", 1))}</td><td>${escapeHtml(factText(n.b, "seconds", "s", 1))}</td><td>${escapeHtml(factText(n.a, "peakMiB", "MiB", 0))}</td><td>${escapeHtml(factText(n.b, "peakMiB", "MiB", 0))}</td><td>${escapeHtml(`${n.a?.backend ?? "–"} / ${n.b?.backend ?? "–"}`)}</td><td>${escapeHtml(`${n.a?.seed ?? "–"} / ${n.b?.seed ?? "–"}`)}</td></tr>`;
  const changed = cmp.changed.length;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>gradlab: ${escapeHtml(cmp.a.name)} vs ${escapeHtml(cmp.b.name)}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
  table { border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; } th, td { border-bottom: 1px solid #ddd; padding: .35rem .5rem; text-align: left; vertical-align: top; }
  tr.verdict-changed { background: #fff4d6; } .statement { color: #555; font-size: .85em; }
  .verdict { font-weight: bold; } .verdict.reproduced { color: #17692b; } .verdict.not-reproduced { color: #b00020; } .verdict.inconclusive { color: #8a5a00; } .verdict.holds-by-construction { color: #666; font-style: italic; }
</style>
</head>
<body>
<h1>What changed between two runs</h1>
<ul><li>A: ${escapeHtml(runLine(cmp.a))}</li><li>B: ${escapeHtml(runLine(cmp.b))}</li></ul>
<h2 id="changed">Claims whose verdict changed (${changed})</h2>
${changed ? "" : "<p>No claim changed its verdict.</p>"}
<table class="claims">
<thead><tr><th>notebook</th><th>claim</th><th>change</th><th>verdict A</th><th>verdict B</th><th>estimate; p (A)</th><th>estimate; p (B)</th></tr></thead>
<tbody>
${cmp.claims.map(claimRow).join("\n")}
</tbody>
</table>
<h2>Notebooks</h2>
<table class="notebooks">
<thead><tr><th>notebook</th><th>status A</th><th>status B</th><th>wall-clock A</th><th>wall-clock B</th><th>peak memory A</th><th>peak memory B</th><th>backend A / B</th><th>seed A / B</th></tr></thead>
<tbody>
${cmp.notebooks.map(nbRow).join("\n")}
</tbody>
</table>
</body>
</html>
`;
}

/** The comparison as Markdown. */
export function renderCompareMarkdown(cmp) {
  const lines = ["# What changed between two runs", "", `- A: ${markdownCell(runLine(cmp.a))}`, `- B: ${markdownCell(runLine(cmp.b))}`, "", `## Claims whose verdict changed (${cmp.changed.length})`, ""];
  if (!cmp.changed.length) lines.push("No claim changed its verdict.", "");
  lines.push("| notebook | claim | change | verdict A | verdict B | estimate; p (A) | estimate; p (B) |", "| --- | --- | --- | --- | --- | --- | --- |");
  for (const c of cmp.claims) lines.push(`| ${markdownCell(c.notebook)} | ${markdownCode(c.id)} | ${c.kind === "verdict changed" ? "**verdict changed**" : c.kind} | ${markdownCell(verdictText(c.a))} | ${markdownCell(verdictText(c.b))} | ${markdownCell(numbersText(c.a))} | ${markdownCell(numbersText(c.b))} |`);
  lines.push("", "## Notebooks", "", "| notebook | status A | status B | wall-clock A | wall-clock B | peak memory A | peak memory B |", "| --- | --- | --- | --- | --- | --- | --- |");
  for (const n of cmp.notebooks) lines.push(`| ${markdownCell(n.name)} | ${markdownCell(n.a?.status ?? "–")} | ${markdownCell(n.b?.status ?? "–")} | ${factText(n.a, "seconds", "s", 1)} | ${factText(n.b, "seconds", "s", 1)} | ${factText(n.a, "peakMiB", "MiB", 0)} | ${factText(n.b, "peakMiB", "MiB", 0)} |`);
  return lines.join("\n") + "\n";
}
