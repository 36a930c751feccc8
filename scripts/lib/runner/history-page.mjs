// reports/index.html in history mode: every run folder, newest first, with when, commit, preset,
// notebook statuses and claim verdict counts, a link to each run's own index, and the command that
// compares two runs. The latest run is marked; `latest/index.html` is the same page as its row's.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { escapeHtml } from "./escape.mjs";
import { LATEST, latestRunDir, listRuns } from "./history.mjs";
import { writeFileAtomic } from "./staging.mjs";

function readLedger(dir) {
  try {
    return JSON.parse(readFileSync(join(dir, "claims.json"), "utf8"));
  } catch {
    return null;
  }
}

function statusCounts(run) {
  const rows = run.notebooks ?? [];
  const count = (s) => rows.filter((r) => r.status === s).length;
  return `${count("ok")} ok, ${count("failed")} failed, ${count("skipped")} skipped`;
}

function verdictCounts(ledger) {
  if (!ledger) return "–";
  const c = ledger.counts ?? {};
  return `${c.reproduced ?? 0} reproduced, ${c["not reproduced"] ?? 0} not reproduced, ${c.inconclusive ?? 0} inconclusive`;
}

/** The history page's HTML for the run folders under `root`. */
export function renderHistoryHtml(root) {
  const runs = listRuns(root);
  const latest = latestRunDir(root);
  const rows = runs.map(({ name, dir, run }) => {
    const mark = latest !== null && join(latest) === join(dir) ? ` <strong>(${LATEST})</strong>` : "";
    return `<tr><td><a href="${escapeHtml(encodeURIComponent(name))}/index.html">${escapeHtml(name)}</a>${mark}</td><td>${escapeHtml(run.generatedAt ?? "–")}</td><td><code>${escapeHtml(run.commit ?? "–")}</code></td><td>${escapeHtml(run.preset ?? "–")}</td><td>${escapeHtml(statusCounts(run))}</td><td>${escapeHtml(verdictCounts(readLedger(dir)))}</td></tr>`;
  });
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>gradlab reports: history</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
  table { border-collapse: collapse; width: 100%; } th, td { border-bottom: 1px solid #ddd; padding: .4rem .6rem; text-align: left; }
  code { white-space: nowrap; }
</style>
</head>
<body>
<h1>gradlab reports</h1>
<p>${latest ? `The latest run: <a href="${LATEST}/index.html">${LATEST}/index.html</a>.` : "No finished run yet."} Each run keeps its reports in its own folder; compare two with <code>npm run compare -- A B</code> (folder names or paths; <code>latest</code> works).</p>
<table>
<thead><tr><th>run</th><th>finished</th><th>commit</th><th>preset</th><th>notebooks</th><th>claims</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
</table>
</body>
</html>
`;
}

/** Writes `<root>/index.html` (the history page). */
export function writeHistoryIndex(root) {
  writeFileAtomic(join(root, "index.html"), renderHistoryHtml(root));
}
