/**
 * Notebook smoke runs: every notebook in notebooks/ is executed for real through Jupyter with the
 * tslab kernel at the quick preset (via the same runner `npm start` uses), then its outputs are
 * checked: no failing cell, figures sent as one Vega-Lite + SVG + PNG + text bundle (no HTML),
 * tables as escaped HTML + text, a findings cell that showed computed sentences (as Markdown prose,
 * or printed), every figure followed by its Markdown caption, and the claims ledger:
 * reports/claims.json holds the claims of notebooks 01–05, each naming its test and n, and no
 * findings sentence says "best", "beat", "helped", "peak" or "above" without a test's p.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(__dirname, "..");
const out = mkdtempSync(join(tmpdir(), "gradlab-smoke-"));
const notebooks = readdirSync(join(root, "notebooks")).filter((f) => f.endsWith(".ipynb")).sort();

interface Output { output_type: string; name?: string; text?: string | string[]; data?: Record<string, unknown> }
interface Cell { cell_type: string; source: string | string[]; outputs?: Output[]; metadata?: { tags?: string[] } }
const text = (t: string | string[] | undefined) => (Array.isArray(t) ? t.join("") : t ?? "");
const isFigure = (o: Output) => o.output_type === "display_data" && o.data !== undefined && "application/vnd.vegalite.v5+json" in o.data;
const markdownOf = (o: Output) => (o.output_type === "display_data" && o.data !== undefined && "text/markdown" in o.data ? text(o.data["text/markdown"] as string | string[]) : null);
/** The sentences a findings section showed: its stream output and its Markdown prose (escapes undone). */
function findingsText(cells: Cell[]): string {
  const findingsIndex = cells.findIndex((c) => c.cell_type === "markdown" && /^#+\s*Findings/m.test(text(c.source)));
  const outputs = cells.slice(findingsIndex).flatMap((c) => c.outputs ?? []);
  return outputs.map((o) => (o.output_type === "stream" ? text(o.text) : (markdownOf(o)?.replace(/\\([\\`*_{}[\]()#+\-.!|~$<>=])/g, "$1") ?? "") + "\n")).join("");
}
// Notebooks whose figures do not carry captions yet (issue 21, part 2). Checked below to still lack
// them, so an entry cannot outlive its fix.
const CAPTIONS_PENDING: string[] = [];

let run: ReturnType<typeof spawnSync>;

test.before(() => {
  run = spawnSync(process.execPath, [join(root, "scripts", "run-notebooks.mjs"), "--quick", "--out", out], { cwd: root, encoding: "utf8", timeout: 40 * 60 * 1000 });
});

test.after(() => rmSync(out, { recursive: true, force: true }));

test("every notebook runs at the quick preset without a failing cell", () => {
  assert.ok(notebooks.length >= 1, "notebooks/ has notebooks");
  assert.is(run.status, 0, `runner exit ${run.status}:\n${run.stdout}\n${run.stderr}`);
  const index = JSON.parse(readFileSync(join(out, "runs.json"), "utf8"));
  for (const nb of notebooks) {
    const row = index.notebooks.find((r: { name: string }) => `${r.name}.ipynb` === nb);
    assert.ok(row, `${nb} is in the index`);
    assert.is(row.status, "ok", `${nb}: ${JSON.stringify(row.failure)}`);
    assert.is(row.preset, "quick");
    assert.ok(["wasm", "cpu", "tfjs-node", "tfjs-node-gpu"].includes(row.backend), `${nb} reported its backend (${row.backend})`);
  }
});

for (const nb of notebooks) {
  test(`${nb}: figures are single 4-MIME bundles, tables are escaped HTML + text, findings are printed`, () => {
    const executed = JSON.parse(readFileSync(join(out, nb), "utf8")) as { cells: Cell[] };
    const outputs = executed.cells.flatMap((c) => c.outputs ?? []);
    const stderr = outputs.filter((o) => o.output_type === "stream" && o.name === "stderr").map((o) => text(o.text));
    assert.equal(stderr, [], `${nb} wrote to stderr`);
    const displays = outputs.filter((o) => o.output_type === "display_data").map((o) => Object.keys(o.data ?? {}).sort());
    const figures = displays.filter((keys) => keys.includes("application/vnd.vegalite.v5+json"));
    assert.ok(figures.length >= 1, `${nb} shows at least one figure`);
    for (const keys of figures) assert.equal(keys, ["application/vnd.vegalite.v5+json", "image/png", "image/svg+xml", "text/plain"]);
    const tables = displays.filter((keys) => keys.includes("text/html"));
    for (const keys of tables) assert.equal(keys, ["text/html", "text/plain"]);
    const findingsIndex = executed.cells.findIndex((c) => c.cell_type === "markdown" && /^#+\s*Findings/m.test(text(c.source)));
    assert.ok(findingsIndex >= 0, `${nb} has a Findings section`);
    const shown = findingsText(executed.cells).split("\n").filter((l) => !l.startsWith("gradlab-claim ")).join("\n");
    assert.ok(/\d/.test(shown) && shown.length > 80, `${nb}: the findings cell showed computed sentences`);
  });

  test(`${nb}: every figure is followed by its caption (Markdown, in the same cell)`, () => {
    const executed = JSON.parse(readFileSync(join(out, nb), "utf8")) as { cells: Cell[] };
    let figures = 0, captioned = 0;
    for (const cell of executed.cells) {
      const outputs = cell.outputs ?? [];
      outputs.forEach((o, i) => {
        if (!isFigure(o)) return;
        figures++;
        const caption = i + 1 < outputs.length ? markdownOf(outputs[i + 1]) : null;
        if (caption !== null && /\d/.test(caption) && caption.length > 40) captioned++;
      });
    }
    if (CAPTIONS_PENDING.includes(nb)) assert.ok(captioned < figures, `${nb} captions its figures now: remove it from CAPTIONS_PENDING`);
    else assert.is(captioned, figures, `${nb}: ${figures - captioned} of ${figures} figures have no caption (a Markdown display right after the figure, stating what it shows and from which runs)`);
  });
}

interface Claim { notebook: string; id: string; verdict: string; test: string; n: number | null; p: number | null; sample: string | null; evidence: string; stale: boolean }

test("reports/claims.json holds the claims of notebooks 01–05, each with its test and n", () => {
  const ledger = JSON.parse(readFileSync(join(out, "claims.json"), "utf8")) as { preset: string; claims: Claim[] };
  assert.is(ledger.preset, "quick");
  const verdicts = ["reproduced", "not reproduced", "inconclusive", "holds by construction"];
  for (const prefix of ["01-", "02-", "03-", "04-", "05-"]) {
    const own = ledger.claims.filter((c) => c.notebook.startsWith(prefix));
    assert.ok(own.length >= 1, `notebook ${prefix}… registered at least one claim`);
    for (const c of own) {
      assert.ok(verdicts.includes(c.verdict), `${c.id}: verdict ${c.verdict}`);
      assert.is(c.stale, false, `${c.id} comes from this run`);
      assert.ok(typeof c.test === "string" && c.test.length > 3, `${c.id} names its test`);
      if (c.verdict === "holds by construction") assert.is(c.test, "identity (no test)", `${c.id}: an identity is not a test`);
      else {
        assert.ok(Number.isInteger(c.n) && (c.n as number) >= 1, `${c.id} states n (${c.n})`);
        assert.ok(typeof c.p === "number" && c.p > 0 && c.p <= 1, `${c.id} states p (${c.p})`);
        assert.ok(c.evidence.includes(`n = `), `${c.id}: the evidence sentence names n`);
      }
    }
    const ids = own.map((c) => c.id);
    assert.is(new Set(ids).size, ids.length, `${prefix}: claim ids are unique`);
  }
  // The identity behind MAESTRO's prompt-level "vanishing gradient" is shown, never counted as evidence.
  assert.ok(ledger.claims.some((c) => c.id === "maestro.advantages-sum-to-zero" && c.verdict === "holds by construction"));
});

test("no findings sentence states a direction from a mean: 'best', 'beat', 'helped', 'peak', 'above' only beside a test's p", () => {
  for (const nb of notebooks) {
    const executed = JSON.parse(readFileSync(join(out, nb), "utf8")) as { cells: Cell[] };
    const printed = findingsText(executed.cells);
    for (const line of printed.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("gradlab-claim "))) {
      if (/\b(best|beats?|helped|peaks?|above)\b/i.test(line)) assert.ok(/\bp [=<] /.test(line), `${nb}: "${line.slice(0, 160)}…" states a direction without a test`);
    }
  }
});

test.run();
