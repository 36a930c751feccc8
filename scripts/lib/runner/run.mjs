// The runner's main flow, importable (the CLI in scripts/run-notebooks.mjs only parses argv,
// installs the Ctrl-C handler and sets the exit code):
//   1. check everything before executing anything (notebooks, kernelspecs, Jupyter, Chromium);
//   2. per notebook: inject parameters → execute → export, all inside a staging folder, then
//      move the finished files into the output directory (a failure keeps the last good report
//      and adds <name>.failed.html/.ipynb with the cells that ran);
//   3. write the index (runs.json, claims.json, index.html, index.md) once all notebooks have run.
// A failing notebook does not stop the run: the others still execute, and the result's exit
// code is 1 with one line per failure. An interrupt removes the staging folder and writes no index.
// Each report gets a header, the data behind its figures and tables (report-data.mjs,
// report-header.mjs) and its own copy of MathJax (report-assets.mjs). In history mode (the default
// reports/, or --history) all of this goes into a new run folder, the run store is exported beside
// it as CSV + Arrow, and reports/latest is switched to it at the end (history.mjs).
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { findJupyterPython, kernelRegistered, kernelSpecPath, projectRoot } from "../jupyter-env.mjs";
import { DEFAULT_NOTEBOOK_DIR, DEFAULT_OUT_DIR } from "./args.mjs";
import { describeFailure, executeNotebook, formatFailureLine } from "./execute.mjs";
import { chromiumAvailable, CHROMIUM, exportHtmlAndMarkdown, printPdf } from "./export.mjs";
import { buildRows, clipStderr, outputFileNames, readPreviousRows, writeIndex } from "./index-page.mjs";
import { createRunFolder, hasFlatLayout, latestRunDir, markLatest, removeFlatLayout, seedRunFolder } from "./history.mjs";
import { writeHistoryIndex } from "./history-page.mjs";
import { injectParameters } from "./inject.mjs";
import { describeMeta, findClaims, findRunMeta } from "./outputs.mjs";
import { InterruptedError } from "./process.mjs";
import { gitCommit } from "./provenance.mjs";
import { installReportAssets, vegaScriptPaths } from "./report-assets.mjs";
import { writeReportData } from "./report-data.mjs";
import { renderHeaderHtml, renderHeaderMarkdown } from "./report-header.mjs";
import { InputError, planRun } from "./select.mjs";
import { createStagingRoot, promote, removeOutputs, removeStaleStaging } from "./staging.mjs";
import { exportRunStore } from "./store-export.mjs";

/** Output and notebook folders: explicit ones relative to cwd, defaults inside the project. */
export function resolveFolders(options, cwd) {
  return {
    outDir: options.out === null ? join(projectRoot, DEFAULT_OUT_DIR) : resolve(cwd, options.out),
    notebookDir: options.dir === null ? join(projectRoot, DEFAULT_NOTEBOOK_DIR) : resolve(cwd, options.dir),
  };
}

/**
 * Everything that can be checked without executing: returns the plan or throws InputError.
 * Nothing is written.
 */
export function preflight(options, cwd) {
  const { outDir, notebookDir } = resolveFolders(options, cwd);
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) throw new InputError(`--out ${relative(cwd, outDir) || outDir} exists and is not a directory`);
  const plan = planRun({ paths: options.paths, dir: notebookDir, only: options.only }, cwd);
  const python = findJupyterPython();
  if (python === null) throw new InputError("no Python with Jupyter (jupyter_client, nbconvert, nbclient) found; run: node scripts/setup-jupyter.mjs");
  if (!kernelRegistered()) throw new InputError(`the tslab kernel is not registered at ${kernelSpecPath}; run: node scripts/setup-jupyter.mjs`);
  if (options.pdf && !chromiumAvailable()) throw new InputError(`--pdf needs Chromium at ${CHROMIUM}; run: node scripts/setup-jupyter.mjs --for-tests (or apt-get install chromium)`);
  const params = { preset: options.preset, ...options.params };
  for (const entry of plan.selected) entry.injection = injectParameters(entry.notebook, params);
  return { ...plan, python, params, outDir };
}

/**
 * Runs the notebooks of `options` (see args.mjs). `write` receives progress text; `signal`
 * aborts (Ctrl-C). Resolves `{ exitCode, rows, failures, outDir, root }` (`outDir` is the run
 * folder in history mode, else `root`); throws InputError before any execution for bad input and
 * InterruptedError when aborted.
 */
export async function runNotebooks(options, { cwd = process.cwd(), write = (t) => process.stdout.write(t), signal } = {}) {
  const plan = preflight(options, cwd);
  const { python, params } = plan;
  const root = plan.outDir;
  const commit = gitCommit(projectRoot);
  const vegaScripts = vegaScriptPaths(); // before any folder is made: a broken install fails here
  // History mode (history.mjs): a new run folder seeded with the last run's reports.
  const history = options.out === null || options.history;
  let outDir = root;
  let previousDir = root;
  if (history) {
    previousDir = latestRunDir(root) ?? (hasFlatLayout(root) ? root : null);
    outDir = createRunFolder(root, commit);
  }
  const flatBefore = history && previousDir === root;
  const previous = previousDir === null ? new Map() : readPreviousRows(previousDir);
  const executed = [];
  const failures = [];
  let finished = false;
  let stagingRoot = null;
  try {
    if (history && previousDir !== null) seedRunFolder(previousDir, outDir, previous, outputFileNames);
    const report = { ...installReportAssets(outDir), vegaScripts, noInput: options.noInput };
    removeStaleStaging(outDir);
    stagingRoot = createStagingRoot(outDir);
    for (const [i, entry] of plan.selected.entries()) {
      write(`[${i + 1}/${plan.selected.length}] ${entry.fileName} … `);
      const row = await runOne(entry, { python, params, commit, outDir, staging: join(stagingRoot, entry.name), options, report, signal });
      executed.push(row);
      write(`${row.status} ${row.durationSeconds.toFixed(1)}s\n`);
      if (row.failure) {
        const line = formatFailureLine(entry.fileName, row.failure);
        failures.push(line);
        write(line + "\n");
      }
    }
    const rows = buildRows({ executed, universe: plan.universe, previous, outDir });
    writeIndex(outDir, { version: 1, generatedAt: new Date().toISOString(), commit, preset: options.preset, parameters: options.params, notebooks: rows });
    if (history) {
      const stores = exportStoresOf(root, outDir, write);
      if (stores.length) write(`run store exported as CSV + Arrow: ${stores.map((s) => relative(outDir, s.csv).replace(/\.csv$/, ".{csv,arrow}")).join(", ")}\n`);
      markLatest(root, outDir);
      if (flatBefore) removeFlatLayout(root, previous, outputFileNames);
      writeHistoryIndex(root);
    }
    finished = true;
    const indexPath = join(outDir, "index.html");
    const where = relative(cwd, indexPath).startsWith("..") ? indexPath : relative(cwd, indexPath);
    if (failures.length) write(`${failures.length} of ${plan.selected.length} notebooks failed (index: ${where}):\n${failures.map((f) => `  ${f}`).join("\n")}\n`);
    else write(`${plan.selected.length} notebook${plan.selected.length === 1 ? "" : "s"} ok (index: ${where})\n`);
    return { exitCode: failures.length ? 1 : 0, rows, failures, outDir, root };
  } finally {
    if (stagingRoot !== null) rmSync(stagingRoot, { recursive: true, force: true });
    // An unfinished run folder is not history: latest still points at the previous run.
    if (history && !finished) rmSync(outDir, { recursive: true, force: true });
  }
}

/**
 * Exports each run store `<root>/runs/*.jsonl` into `<outDir>/data/`; returns what was written.
 * A store that cannot be exported is reported through `write` and skipped: the notebooks' reports
 * are done by now and must not be lost over an extra.
 */
function exportStoresOf(root, outDir, write) {
  const storeDir = join(root, "runs");
  if (!existsSync(storeDir)) return [];
  const written = [];
  for (const file of readdirSync(storeDir).filter((f) => f.endsWith(".jsonl")).sort()) {
    try {
      written.push(exportRunStore(join(storeDir, file), join(outDir, "data")));
    } catch (error) {
      write(`run store ${file} not exported: ${String(error.message).split("\n")[0]}\n`);
    }
  }
  return written;
}

/** Injects, executes and exports one notebook in `staging`; moves its files into `outDir`. */
async function runOne(entry, { python, params, commit, outDir, staging, options, report, signal }) {
  const started = Date.now();
  const files = outputFileNames(entry.name);
  mkdirSync(staging, { recursive: true });
  const inputPath = join(staging, `${entry.name}.input.ipynb`);
  const executedPath = join(staging, files.ipynb);
  writeFileSync(inputPath, JSON.stringify(entry.injection.notebook, null, 1) + "\n");

  let failure = null;
  let executed = entry.injection.notebook;
  let peakRssBytes = null;
  try {
    const run = await executeNotebook({
      python, inputPath, outputPath: executedPath, resultPath: join(staging, "result.json"),
      cwd: dirname(entry.path), timeoutSeconds: options.timeoutSeconds, signal,
    });
    executed = run.executed;
    peakRssBytes = typeof run.result.peak_rss_bytes === "number" ? run.result.peak_rss_bytes : null;
    if (run.result.status !== "ok") failure = describeFailure(run.result, executed, entry.injection, entry.notebook);
  } catch (error) {
    // The driver itself broke (not a cell): record it for this notebook and go on with the next.
    if (error instanceof InterruptedError) throw error;
    failure = { kind: "internal", cell: null, codeCell: null, injected: false, error: String(error.message).split("\n")[0], stderr: error.message };
    writeFileSync(executedPath, JSON.stringify(executed, null, 1) + "\n");
  }
  const notes = [...entry.injection.notes];
  const meta = findRunMeta(executed);
  if (meta === null && !failure) notes.push("the notebook printed no gradlab-meta line: backend and seed unknown");
  // Cells are named as in the author's notebook (the injected parameters cell is not one of them).
  const cellLabel = (index) => {
    const origin = entry.injection.origin[index];
    return origin === null || origin === undefined ? "the injected parameters cell" : `cell ${origin + 1}`;
  };
  const found = findClaims(executed, { cellLabel });
  notes.push(...found.problems);

  const { backend, seed } = describeMeta(meta);
  if (!failure) {
    try {
      // The data files, the copy the exporter renders (report-data.mjs) and the header.
      const data = writeReportData(executed, { dir: staging, name: entry.name });
      const reportPath = join(staging, `.${entry.name}.report.ipynb`);
      writeFileSync(reportPath, JSON.stringify(data.notebook, null, 1) + "\n");
      const headerRow = {
        name: entry.name, notebook: entry.displayPath, preset: params.preset, parameters: params, backend, seed, commit, peakRssBytes,
        durationSeconds: (Date.now() - started) / 1000, finishedAt: new Date().toISOString(), claims: found.claims,
      };
      const extras = { ...report, headerHtml: renderHeaderHtml(headerRow, data.files), headerMarkdown: renderHeaderMarkdown(headerRow, data.files) };
      await exportHtmlAndMarkdown({ python, executedPath: reportPath, dir: staging, name: entry.name, signal, extras });
      rmSync(reportPath, { force: true });
      if (options.pdf) await printPdf({ htmlPath: join(staging, files.html), pdfPath: join(staging, files.pdf), signal });
    } catch (error) {
      if (error instanceof InterruptedError) throw error;
      failure = { kind: "export", cell: null, codeCell: null, injected: false, error: String(error.message).split("\n")[0], stderr: error.message };
    }
  }
  if (failure && found.claims.length) {
    const n = found.claims.length;
    notes.push(`failed, so the ${n} claim${n === 1 ? "" : "s"} this run printed (${found.claims.map((c) => c.id).join(", ")}) ${n === 1 ? "is" : "are"} not counted`);
  }
  if (!failure) {
    const produced = [files.ipynb, files.html, files.md, `${entry.name}_files`, files.pdf].filter((f) => existsSync(join(staging, f)));
    promote(staging, outDir, produced);
    // Outputs of an earlier run that this one did not make again would be stale beside the new ones.
    removeOutputs(outDir, [files.failedHtml, files.failedIpynb, ...[files.pdf, `${entry.name}_files`].filter((f) => !produced.includes(f))]);
  } else {
    // Keep the cells that ran for debugging, under names that never replace the last good report.
    renameSync(executedPath, join(staging, files.failedIpynb));
    const partial = [files.failedIpynb];
    try {
      await exportHtmlAndMarkdown({ python, executedPath: join(staging, files.failedIpynb), dir: staging, name: `${entry.name}.failed`, signal, formats: ["html"], extras: report });
      partial.push(files.failedHtml);
    } catch (error) {
      if (error instanceof InterruptedError) throw error;
      notes.push(`the partial notebook could not be exported to HTML: ${String(error.message).split("\n")[0]}`);
    }
    removeOutputs(outDir, [files.failedHtml]);
    promote(staging, outDir, partial);
  }
  rmSync(staging, { recursive: true, force: true });

  return {
    name: entry.name,
    notebook: entry.displayPath,
    status: failure ? "failed" : "ok",
    durationSeconds: (Date.now() - started) / 1000,
    peakRssBytes,
    preset: params.preset,
    parameters: params,
    backend,
    seed,
    commit,
    finishedAt: new Date().toISOString(),
    failure: failure ? { ...failure, stderr: clipStderr(failure.stderr ?? "") } : null,
    // A failed run's claims are not the notebook's (buildRows adds its last good run's as lastGood).
    claims: failure ? [] : found.claims,
    notes,
  };
}
