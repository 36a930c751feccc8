// The claims ledger of a run: every `gradlab-claim` line a notebook printed (lab.claim, see
// kernel-lib/stats/claims.ts), collected into reports/claims.json and the index's claims table.
//
// Whose claims a row shows:
//  - ok this run: the claims it printed (stale: false);
//  - failed this run: none of the lines it printed before failing count (a half-run notebook
//    proves nothing); the claims of its last good run are shown instead, marked stale, the same
//    run whose report the index links as "last good";
//  - skipped (not selected this run): the claims of its last run, stale; if that run failed, those
//    of the good run before it, stale.
// runs.json keeps what this needs: `claims` on ok rows, `lastGood` ({ finishedAt, commit, preset,
// seed, claims }) on failed rows, and both under a skipped row's `last`.
import { escapeHtml, markdownCell, markdownHref } from "./escape.mjs";
import { CLAIM_VERDICTS, normaliseClaim } from "./outputs.mjs";

export const CLAIMS_FILE = "claims.json";

export const VERDICT_CLASS = {
  reproduced: "reproduced",
  "not reproduced": "not-reproduced",
  inconclusive: "inconclusive",
  "holds by construction": "holds-by-construction",
};

/** What a notebook's last good run said, from a row of runs.json (any status), or null. */
export function lastGoodOf(row) {
  if (!row) return null;
  if (row.status === "ok") return { finishedAt: row.finishedAt ?? null, commit: row.commit ?? null, preset: row.preset ?? null, seed: row.seed ?? null, claims: row.claims ?? [] };
  if (row.status === "failed") return row.lastGood ?? null;
  if (row.status === "skipped") return row.last ? lastGoodOf(row.last) : null;
  return null;
}

/** The run a row's claims come from: `{ source, stale, staleReason }`, or null when it has none. */
export function claimSource(row) {
  if (row.status === "ok") return { source: row, stale: false, staleReason: null };
  if (row.status === "failed") {
    return row.lastGood ? { source: row.lastGood, stale: true, staleReason: "failed this run; claims of its last good run" } : null;
  }
  const last = row.last;
  if (!last) return null;
  if (last.status === "ok") return { source: last, stale: true, staleReason: "not run this time; claims of its last run" };
  return last.lastGood ? { source: last.lastGood, stale: true, staleReason: "not run this time and its last run failed; claims of the good run before it" } : null;
}

/** Counts per verdict, every verdict present (0 when none). */
export function countVerdicts(claims) {
  const counts = Object.fromEntries(CLAIM_VERDICTS.map((v) => [v, 0]));
  for (const c of claims) if (c.verdict in counts) counts[c.verdict] += 1;
  return counts;
}

/** reports/claims.json for a run (the object writeIndex writes to runs.json). */
export function buildClaimsLedger(run) {
  const claims = [];
  for (const row of run.notebooks ?? []) {
    const from = claimSource(row);
    if (!from) continue;
    const { source, stale, staleReason } = from;
    for (const stored of source.claims ?? []) {
      // Rows hold claims findClaims already normalised; normalising again fills fields that
      // runs.json written by an older runner lacks (e.g. scale, unit) and keeps one shape.
      const c = normaliseClaim(stored);
      if (typeof c === "string") continue;
      claims.push({
        notebook: row.name,
        ...c,
        preset: source.preset ?? null,
        seed: source.seed ?? null,
        commit: source.commit ?? null,
        finishedAt: source.finishedAt ?? null,
        stale,
        staleReason,
      });
    }
  }
  return {
    version: 1,
    generatedAt: run.generatedAt,
    commit: run.commit,
    preset: run.preset,
    counts: countVerdicts(claims),
    total: claims.length,
    stale: claims.filter((c) => c.stale).length,
    claims,
  };
}

// ---------------------------------------------------------------- formatting

function num(x) {
  if (typeof x !== "number") return "–";
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  return a >= 1e4 || a < 1e-3 ? x.toExponential(2) : String(Number(x.toPrecision(3)));
}

export function formatP(p) {
  if (typeof p !== "number") return "–";
  if (p < 1e-6) return "< 1e-6";
  return p >= 0.001 ? p.toFixed(3) : p.toExponential(1);
}

// Estimates print in the claim's own units (value × scale, then the unit), as its evidence sentence does.
const scaled = (c, x) => (typeof x === "number" ? x * (c.scale ?? 1) : x);
const unitSuffix = (c) => (c.unit ? ` ${c.unit}` : "");

export function estimateText(c) {
  if (typeof c.estimate !== "number") return "–";
  const sign = c.estimate > 0 ? "+" : "";
  if (!c.interval) return `${sign}${num(scaled(c, c.estimate))}${unitSuffix(c)}`;
  const level = typeof c.interval.level === "number" ? `${Math.round(100 * c.interval.level)}% ` : "";
  return `${sign}${num(scaled(c, c.estimate))} [${level}${num(scaled(c, c.interval.lo))}, ${num(scaled(c, c.interval.hi))}]${unitSuffix(c)}`;
}

function sampleText(c) {
  if (c.sample && c.n !== null && c.n !== undefined) return `n = ${c.n} (${c.sample})`;
  if (c.sample) return c.sample;
  return c.n === null || c.n === undefined ? "–" : `n = ${c.n}`;
}

function mdeText(c) {
  if (typeof c.minDetectableEffect === "number") return `${num(scaled(c, c.minDetectableEffect))}${unitSuffix(c)}`;
  // An identity (or a record without a test) has no power to speak of.
  return c.verdict === "holds by construction" || c.p === null || c.p === undefined ? "–" : "none at this n";
}

function paperText(c) {
  const value = c.paper?.value ?? "";
  const reference = c.paper?.reference ? ` (${c.paper.reference})` : "";
  return value || reference ? `${value}${reference}`.trim() : "–";
}

/** "3 claims: 1 reproduced, …; 1 holds by construction (an identity, not evidence); 1 stale." */
export function claimCountsText(ledger) {
  const c = ledger.counts;
  if (ledger.total === 0) return "No notebook made claims.";
  const identities = c["holds by construction"];
  const parts = [`${c.reproduced} reproduced`, `${c["not reproduced"]} not reproduced`, `${c.inconclusive} inconclusive`];
  const tail = identities ? `; ${identities} hold${identities === 1 ? "s" : ""} by construction (identities, not evidence)` : "";
  const stale = ledger.stale ? `; ${ledger.stale} stale (from an earlier run)` : "";
  return `${ledger.total} claim${ledger.total === 1 ? "" : "s"}: ${parts.join(", ")}${tail}${stale}.`;
}

function staleText(claim) {
  return `stale: ${claim.staleReason} (${claim.finishedAt ?? "time unknown"}, commit ${claim.commit ?? "unknown"})`;
}

/** The HTML report a claim's notebook links to (the last good one for a failed row), or null. */
function reportHref(rows, name) {
  return rows.find((r) => r.name === name)?.outputs?.html ?? null;
}

export const CLAIMS_CSS = `
  table.claims td.verdict { font-weight: bold; white-space: nowrap; }
  .verdict.reproduced { color: #17692b; } .verdict.not-reproduced { color: #b00020; } .verdict.inconclusive { color: #8a5a00; }
  .verdict.holds-by-construction { color: #666; font-style: italic; font-weight: normal; }
  tr.holds-by-construction { background: #f4f4f4; } tr.stale { opacity: .75; }
  .not-evidence { display: inline-block; margin-top: .2rem; padding: 0 .3rem; border: 1px solid #999; border-radius: 3px; font-size: .8em; font-style: normal; color: #555; }
  .reason, .stale-note { color: #666; font-size: .85em; } .stale-note { color: #8a5a00; }
  .claim-counts .verdict { font-weight: bold; }`;

/** The "Claims" section of index.html. */
export function renderClaimsHtml(run, ledger = buildClaimsLedger(run)) {
  if (ledger.total === 0) return `<h2 id="claims">Claims</h2>\n<p class="claim-counts">No notebook made claims.</p>`;
  const c = ledger.counts;
  const span = (verdict, text) => `<span class="verdict ${VERDICT_CLASS[verdict]}">${escapeHtml(text)}</span>`;
  const identities = c["holds by construction"];
  const counts = `${ledger.total} claim${ledger.total === 1 ? "" : "s"}: ${span("reproduced", `${c.reproduced} reproduced`)}, ${span("not reproduced", `${c["not reproduced"]} not reproduced`)}, ${span("inconclusive", `${c.inconclusive} inconclusive`)}${identities ? `; ${span("holds by construction", `${identities} hold${identities === 1 ? "s" : ""} by construction`)} (identities, not evidence)` : ""}${ledger.stale ? `; ${ledger.stale} stale (from an earlier run)` : ""}.`;
  const rows = ledger.claims.map((claim) => {
    const cls = VERDICT_CLASS[claim.verdict] ?? "unknown";
    const href = reportHref(run.notebooks ?? [], claim.notebook);
    const name = href ? `<a href="${escapeHtml(encodeURIComponent(href))}">${escapeHtml(claim.notebook)}</a>` : escapeHtml(claim.notebook);
    const stale = claim.stale ? `<div class="stale-note">${escapeHtml(staleText(claim))}</div>` : "";
    const reason = claim.reason ? `<div class="reason">${escapeHtml(claim.reason)}</div>` : "";
    const notEvidence = claim.verdict === "holds by construction" ? `<br><span class="not-evidence">not evidence</span>` : "";
    return `<tr class="claim ${cls}${claim.stale ? " stale" : ""}" data-claim-id="${escapeHtml(claim.id)}">
  <td>${name}${stale}</td><td><code>${escapeHtml(claim.id)}</code></td><td>${escapeHtml(claim.statement)}${reason}</td><td>${escapeHtml(paperText(claim))}</td>
  <td class="verdict ${cls}">${escapeHtml(claim.verdict)}${notEvidence}</td><td>${escapeHtml(claim.test ?? "–")}</td><td>${escapeHtml(sampleText(claim))}</td>
  <td>${escapeHtml(formatP(claim.p))}</td><td>${escapeHtml(estimateText(claim))}</td><td>${escapeHtml(mdeText(claim))}</td>
</tr>`;
  });
  return `<h2 id="claims">Claims</h2>
<p class="claim-counts">${counts}</p>
<table class="claims">
<thead><tr><th>notebook</th><th>id</th><th>statement</th><th>paper</th><th>verdict</th><th>test</th><th>n / sample</th><th>p</th><th>estimate [interval]</th><th>min. detectable effect</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
</table>`;
}

/** Markdown cells of the claims table: data shown as text, never as HTML or Markdown (escape.mjs). */
const claimCell = markdownCell;

/** The "Claims" section of index.md (lines). */
export function renderClaimsMarkdown(run, ledger = buildClaimsLedger(run)) {
  const lines = ["## Claims", ""];
  if (ledger.total === 0) return [...lines, "No notebook made claims."];
  lines.push(
    claimCountsText(ledger),
    "",
    "| notebook | id | statement | paper | verdict | test | n / sample | p | estimate [interval] | min. detectable effect |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const claim of ledger.claims) {
    const href = reportHref(run.notebooks ?? [], claim.notebook);
    const name = (href ? `[${claimCell(claim.notebook)}](${markdownHref(href)})` : claimCell(claim.notebook)) + (claim.stale ? ` (${claimCell(staleText(claim))})` : "");
    const verdict = claim.verdict === "holds by construction" ? "holds by construction (not evidence)" : `**${claimCell(claim.verdict)}**`;
    const cells = [claimCell(claim.id), claimCell(claim.statement), claimCell(paperText(claim)), verdict, claimCell(claim.test ?? "–"), claimCell(sampleText(claim)), claimCell(formatP(claim.p)), claimCell(estimateText(claim)), claimCell(mdeText(claim))];
    lines.push(`| ${name} | ${cells.join(" | ")} |`);
  }
  return lines;
}
