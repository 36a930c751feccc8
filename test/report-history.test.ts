/**
 * Report history and comparison (issue 21 parts 4 and 5), through the real runner: two runs of the
 * pass-params fixture into one folder with --history (seed 1, then seed 100, which turns the
 * fixture's claim from "inconclusive" to "reproduced") make two run folders and a `latest` link;
 * the second run exports the run store found beside them (runs/fixture.jsonl, with a torn line)
 * as CSV and Apache Arrow, read back here; `npm run compare` on the two runs lists the changed
 * claim with both estimates. The flat-layout migration and the folder seeding are checked on
 * folders made by hand (no kernel).
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { tableFromIPC } from "apache-arrow";
import { configHash, RunRecord } from "../kernel-lib/experiments";
import { createRunFolder, hasFlatLayout, latestRunDir, listRuns, markLatest, removeFlatLayout, runFolderName, seedRunFolder } from "../scripts/lib/runner/history.mjs";
import { outputFileNames } from "../scripts/lib/runner/index-page.mjs";

const root = join(__dirname, "..");
const reports = mkdtempSync(join(tmpdir(), "gradlab-history-"));
test.after(() => rmSync(reports, { recursive: true, force: true }));

function node(script: string, args: string[]) {
  const run = spawnSync(process.execPath, [join(root, "scripts", script), ...args], { cwd: root, encoding: "utf8", env: { ...process.env, FORCE_COLOR: "0" } });
  return { code: run.status, stdout: run.stdout, all: run.stdout + run.stderr };
}

/** A valid run-store record (hash computed from its content). */
function record(config: Record<string, string | number>, seed: number, metrics: Record<string, number | number[]>, status: "ok" | "failed" = "ok"): RunRecord {
  const hash = configHash("fixture", config, seed);
  return {
    study: "fixture", runId: `${hash.slice(0, 12)}-1`, configHash: hash, config, seed, status, metrics,
    cost: { counters: { steps: 3 }, seconds: 0.25 }, startedAt: "2025-01-01T00:00:00.000Z", finishedAt: "2025-01-01T00:00:01.000Z",
    wallSeconds: 1, backend: "cpu", gitCommit: "abc1234", gradlabVersion: "0.1.0", ...(status === "failed" ? { error: "Error: boom, \"quoted\"" } : {}),
  };
}

let runs: { name: string; dir: string }[] = [];

test("two --history runs: two run folders, latest links the second, each keeps its own report", () => {
  mkdirSync(join(reports, "runs"));
  const store = join(reports, "runs", "fixture.jsonl");
  writeFileSync(store, [record({ arm: "a", lr: 0.1 }, 0, { acc: 0.5, curve: [1, 2] }), record({ arm: "b, c", lr: 0.2 }, 1, {}, "failed")].map((r) => JSON.stringify(r)).join("\n") + "\n");
  appendFileSync(store, '{"study":"fixture","runId":"torn'); // a killed writer's last line
  const pass = join(root, "test", "fixtures", "notebooks", "pass-params.ipynb");
  const first = node("run-notebooks.mjs", ["--out", reports, "--history", "--quick", "-p", "seed=1", pass]);
  assert.is(first.code, 0, first.all);
  const second = node("run-notebooks.mjs", ["--out", reports, "--history", "--quick", "-p", "seed=100", pass]);
  assert.is(second.code, 0, second.all);
  assert.match(second.stdout, "run store exported as CSV + Arrow: data/fixture.{csv,arrow}");

  runs = listRuns(reports).reverse();
  assert.is(runs.length, 2, `run folders: ${readdirSync(reports)}`);
  for (const run of runs) assert.match(run.name, /^\d{8}-\d{6}-([0-9a-f]{4,}(-dirty)?|unknown)(-\d+)?$/);
  assert.ok(lstatSync(join(reports, "latest")).isSymbolicLink());
  assert.is(readlinkSync(join(reports, "latest")), runs[1].name);
  assert.is(realpathSync(latestRunDir(reports)!), realpathSync(runs[1].dir));
  assert.match(readFileSync(join(runs[0].dir, "pass-params.html"), "utf8"), "seed=1 ");
  assert.match(readFileSync(join(reports, "latest", "pass-params.html"), "utf8"), "seed=100 ");
  // The old top-level paths still lead to the latest run's ledger; index.html lists both runs.
  assert.is(JSON.parse(readFileSync(join(reports, "claims.json"), "utf8")).claims[0].estimate, 100);
  const history = readFileSync(join(reports, "index.html"), "utf8");
  for (const run of runs) assert.match(history, `href="${run.name}/index.html"`);
  assert.match(history, 'href="latest/index.html"');
});

test("the run store beside the reports is exported as CSV and Arrow, and reads back", () => {
  const data = join(reports, "latest", "data");
  const arrow = tableFromIPC(readFileSync(join(data, "fixture.arrow")));
  assert.is(arrow.numRows, 2, "two valid lines; the torn one is skipped");
  const rows = arrow.toArray().map((r) => r.toJSON());
  assert.equal(rows.map((r) => [r.status, r.seed, r.arm, r.lr, r.acc, r["cost.steps"]]), [["ok", 0, "a", 0.1, 0.5, 3], ["failed", 1, "b, c", 0.2, null, 3]]);
  assert.is(rows[1].error, 'Error: boom, "quoted"');
  assert.not.ok("curve" in rows[0], "array metrics are left out, as toRecords does");
  assert.is(String(arrow.schema.fields.find((f) => f.name === "seed")!.type), "Float64");
  assert.is(String(arrow.schema.fields.find((f) => f.name === "status")!.type), "Utf8");
  const csv = readFileSync(join(data, "fixture.csv"), "utf8").trimEnd().split("\r\n");
  assert.is(csv.length, 3);
  const header = csv[0].split(",");
  assert.equal(header, arrow.schema.fields.map((f) => f.name), "CSV and Arrow have the same columns");
  assert.match(csv[2], '"b, c"');
  assert.match(csv[2], '"Error: boom, ""quoted"""');
});

test("npm run compare on the two runs lists the claim whose verdict changed, estimates side by side", () => {
  const out = join(reports, "cmp.html");
  const r = node("compare-runs.mjs", [runs[0].dir, join(reports, "latest"), "--out", out]);
  assert.is(r.code, 0, r.all);
  assert.match(r.stdout, "1 claim changed verdict");
  assert.match(r.stdout, "pass-params fixture.params-seed: inconclusive → reproduced");
  const html = readFileSync(out, "utf8");
  const row = /<tr class="verdict-changed" data-claim-id="fixture\.params-seed">(.*?)<\/tr>/s.exec(html);
  assert.ok(row, "the changed claim has its row");
  const cells = [...row![1].matchAll(/<td>(.*?)<\/td>/gs)].map((m) => m[1].replace(/<[^>]+>/g, ""));
  assert.equal(cells.slice(2), ["verdict changed", "inconclusive", "reproduced", "+1; p 1.000", "+100; p 1.000"]);
  assert.match(readFileSync(join(reports, "cmp.md"), "utf8"), "| pass-params | `fixture.params-seed` | **verdict changed** | inconclusive | reproduced |");
  const same = node("compare-runs.mjs", [join(reports, "latest"), join(reports, "latest"), "--out", join(reports, "same.html")]);
  assert.match(same.stdout, "0 claims changed verdict");
  const bad = node("compare-runs.mjs", [runs[0].dir, join(reports, "no-such-run")]);
  assert.is(bad.code, 1);
  assert.match(bad.all, 'no report folder');
  assert.is(node("compare-runs.mjs", [runs[0].dir]).code, 2);
});

test("history by hand: a flat report folder is taken over by the first run folder, then removed", () => {
  const dir = mkdtempSync(join(tmpdir(), "gradlab-flat-"));
  try {
    assert.is(runFolderName(new Date("2025-01-02T03:04:05.678Z"), "abc1234-dirty"), "20250102-030405-abc1234-dirty");
    assert.is(runFolderName(new Date("2025-01-02T03:04:05Z"), "a/../b"), "20250102-030405-a..b");
    writeFileSync(join(dir, "runs.json"), JSON.stringify({ notebooks: [{ name: "nb", status: "ok" }] }));
    writeFileSync(join(dir, "nb.html"), "old report");
    mkdirSync(join(dir, "nb_files"));
    writeFileSync(join(dir, "nb_files", "fig-1.csv"), "a\r\n1\r\n");
    mkdirSync(join(dir, "runs")); // a run store folder is not a report and is never moved
    assert.ok(hasFlatLayout(dir));
    const previous = new Map([["nb", { name: "nb" }]]);
    const when = new Date("2025-01-02T03:04:05Z");
    const a = createRunFolder(dir, "abc", when);
    const b = createRunFolder(dir, "abc", when);
    assert.is(b, `${a}-2`, "a second run in the same second gets a suffix");
    assert.equal(seedRunFolder(dir, a, previous, outputFileNames).sort(), ["nb.html", "nb_files"]);
    writeFileSync(join(a, "runs.json"), "{}");
    markLatest(dir, a);
    removeFlatLayout(dir, previous, outputFileNames);
    assert.is(readFileSync(join(dir, "latest", "nb.html"), "utf8"), "old report");
    assert.is(readFileSync(join(dir, "latest", "nb_files", "fig-1.csv"), "utf8"), "a\r\n1\r\n");
    assert.not.ok(existsSync(join(dir, "nb.html")));
    assert.ok(existsSync(join(dir, "runs")));
    assert.ok(lstatSync(join(dir, "runs.json")).isSymbolicLink(), "runs.json now points into latest/");
    assert.not.ok(hasFlatLayout(dir));
    // Replacing a file in the new folder never changes the old one (hard links are replaced, not written through).
    writeFileSync(join(a, "nb.html.tmp"), "new");
    require("node:fs").renameSync(join(a, "nb.html.tmp"), join(a, "nb.html"));
    markLatest(dir, b);
    writeFileSync(join(b, "runs.json"), "{}");
    assert.is(realpathSync(latestRunDir(dir)!), realpathSync(b));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
