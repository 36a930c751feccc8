// Turns an executed notebook into reports: HTML and Markdown through nbconvert's exporters
// (export.py, one Python start-up for both), and optionally PDF by printing the HTML with
// Debian's Chromium (`--headless --print-to-pdf`; LaTeX and webpdf are not installable here).
// Everything is written into the notebook's staging folder; the caller moves it into place.
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { jupyterEnv } from "../jupyter-env.mjs";
import { runProcess, tail } from "./process.mjs";

const DRIVER = fileURLToPath(new URL("./export.py", import.meta.url));
export const CHROMIUM = process.env.GRADLAB_CHROMIUM || "/usr/bin/chromium";

/**
 * Flags for a quiet, reproducible headless Chromium on a machine without internet: no sandbox
 * (we may run as root), no GPU, no background traffic, no first-run UI. Shared with the browser test.
 */
export const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const PDF_TIMEOUT_MS = 180_000;

/**
 * Writes `<name>.html`, `<name>.md` and `<name>_files/` (Markdown's images) into `dir`.
 * `extras` (all optional): `{ headerHtml, headerMarkdown, noInput, vegaScripts: [paths to inline],
 * mathjaxSrc: URL relative to the report }` — see export.py's docstring.
 */
export async function exportHtmlAndMarkdown({ python, executedPath, dir, name, signal, formats = ["html", "markdown"], extras = {} }) {
  const extrasPath = join(dir, `.${name}.export-extras.json`);
  writeFileSync(extrasPath, JSON.stringify({
    header_html: extras.headerHtml ?? "",
    header_markdown: extras.headerMarkdown ?? "",
    no_input: Boolean(extras.noInput),
    vega_scripts: extras.vegaScripts ?? [],
    mathjax_src: extras.mathjaxSrc ?? null,
  }));
  const run = await runProcess(python, [DRIVER, executedPath, dir, name, extrasPath, ...formats], { env: jupyterEnv(), signal });
  rmSync(extrasPath, { force: true });
  if (run.code !== 0) throw new Error(`nbconvert export failed (exit ${run.code ?? run.signal}):\n${tail(run.stderr)}`);
  for (const ext of formats.map((f) => (f === "html" ? ".html" : ".md"))) {
    if (!existsSync(join(dir, name + ext))) throw new Error(`nbconvert export wrote no ${name}${ext}`);
  }
}

/** Prints `htmlPath` to `pdfPath` with headless Chromium and a throwaway profile. */
export async function printPdf({ htmlPath, pdfPath, signal }) {
  if (!existsSync(CHROMIUM)) throw new Error(`--pdf needs Chromium at ${CHROMIUM} (apt-get install chromium, or set GRADLAB_CHROMIUM)`);
  const profile = mkdtempSync(join(tmpdir(), "gradlab-chromium-"));
  try {
    const args = [
      "--headless",
      ...CHROMIUM_FLAGS,
      `--user-data-dir=${profile}`,
      "--no-pdf-header-footer",
      // Lets the page's scripts (MathJax) finish before printing.
      "--run-all-compositor-stages-before-draw",
      "--virtual-time-budget=10000",
      `--print-to-pdf=${pdfPath}`,
      pathToFileURL(htmlPath).href,
    ];
    const run = await runProcess(CHROMIUM, args, { signal, timeoutMs: PDF_TIMEOUT_MS });
    const size = existsSync(pdfPath) ? statSync(pdfPath).size : 0;
    if (run.timedOut) throw new Error(`chromium did not finish the PDF within ${PDF_TIMEOUT_MS / 1000}s`);
    if (run.code !== 0 || size === 0) throw new Error(`chromium --print-to-pdf failed (exit ${run.code ?? run.signal}):\n${tail(run.stderr)}`);
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Does Chromium exist? Checked before any notebook runs when --pdf is given. */
export function chromiumAvailable() {
  return existsSync(CHROMIUM);
}
