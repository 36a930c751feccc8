/**
 * Exported reports as a reader sees them: the runner executes a fixture notebook that displays
 * SVG figures (through tslab's display.svg, as the figure bundles do), exports HTML, Markdown and
 * PDF, and headless Chromium (Debian's, driven by playwright-core) opens the HTML report and the
 * index. Checks: the figure is a real <svg> with a nonzero box, active content inside an SVG
 * output was removed, no page errors and no console errors, the index links resolve, the PDF is
 * a PDF, and the index's claims table shows the fixture's two `lab.claim` claims (a hostile
 * statement as text, the identity marked "not evidence", the notebook link opening its report).
 * Without Chromium (node scripts/setup-jupyter.mjs --for-tests installs it), or when the fixture
 * run fails, every test FAILS with that reason: a browser check that did not run is not a pass.
 * The reason is kept by the before hook and thrown by each test, because uvu drops the message of
 * an error thrown inside a before hook.
 * Issue 21: the report folder, copied elsewhere and opened offline, draws the library figure live
 * with vega-embed (hovering a point shows its tooltip), typesets the math with its own MathJax
 * copy, and requests nothing outside the copied folder; the header shows the run's facts.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chromium, type Browser, type Page } from "playwright-core";
import { CHROMIUM, CHROMIUM_FLAGS } from "../scripts/lib/runner/export.mjs";

const root = join(__dirname, "..");
const out = mkdtempSync(join(tmpdir(), "gradlab-browser-"));
let browser: Browser | null = null;
let setupProblem = "the before hook did not run";

test.before(async () => {
  if (!existsSync(CHROMIUM)) {
    setupProblem = `needs Chromium at ${CHROMIUM}: install it with \`node scripts/setup-jupyter.mjs --for-tests\``;
    return;
  }
  const run = spawnSync(process.execPath, [join(root, "scripts", "run-notebooks.mjs"), "--out", out, "--pdf", "--quick", join(root, "test", "fixtures", "notebooks", "svg-figure.ipynb")], {
    cwd: root,
    encoding: "utf8",
  });
  if (run.status !== 0) {
    setupProblem = `the runner failed on svg-figure.ipynb (exit ${run.status}):\n${run.stdout}${run.stderr}`;
    return;
  }
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  } catch (error) {
    setupProblem = `Chromium at ${CHROMIUM} did not start: ${(error as Error).message}`;
  }
});

/** The browser, or an error saying why there is none (fails the calling test). */
function needBrowser(): Browser {
  if (browser === null) throw new Error(setupProblem);
  return browser;
}

test.after(async () => {
  await browser?.close();
  rmSync(out, { recursive: true, force: true });
});

/** Opens a file and collects page errors, console errors and failed requests. */
async function open(file: string): Promise<{ page: Page; problems: string[] }> {
  const page = await needBrowser().newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console.error: ${message.text()}`);
  });
  page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()}`));
  await page.goto(pathToFileURL(join(out, file)).href, { waitUntil: "load" });
  return { page, problems };
}

test("the HTML report draws the SVG figure, strips active SVG content, and has no errors", async () => {
  needBrowser();
  const { page, problems } = await open("svg-figure.html");
  const bar = await page.locator("#fixture-bar").boundingBox();
  assert.ok(bar && bar.width > 100 && bar.height > 40, `the figure's bar has a box: ${JSON.stringify(bar)}`);
  const figure = await page.locator('[data-mime-type="image/svg+xml"] svg').first().boundingBox();
  assert.ok(figure && figure.width >= 200 && figure.height >= 100, `the figure's svg has its size: ${JSON.stringify(figure)}`);
  assert.is(await page.locator("#fixture-dot").count(), 1, "the second SVG is kept");
  assert.is(await page.locator("#fixture-dot").getAttribute("onmouseover"), null, "event handler removed");
  assert.is(await page.locator('[data-mime-type="image/svg+xml"] script').count(), 0, "script removed");
  assert.match(await page.textContent("body") ?? "", "preset is quick");
  await page.waitForTimeout(500); // let MathJax and friends settle so late errors are seen
  assert.equal(problems, []);
  await page.close();
});

test("the index page opens without errors and its links point at existing files", async () => {
  needBrowser();
  const { page, problems } = await open("index.html");
  const hrefs = await page.locator("a").evaluateAll((links) => links.map((a) => a.getAttribute("href") ?? ""));
  // The outputs column, then the claims table's link (one per claim) to the notebook's report.
  assert.equal(hrefs.sort(), ["svg-figure.html", "svg-figure.html", "svg-figure.html", "svg-figure.ipynb", "svg-figure.md", "svg-figure.pdf"]);
  for (const href of hrefs) assert.ok(existsSync(join(out, decodeURIComponent(href))), `${href} exists`);
  assert.match(await page.textContent("tbody") ?? "", "svg-figure");
  assert.equal(problems, []);
  await page.close();
});

test("the index shows the claims table with the fixture's claims, escaped, and its link opens the report", async () => {
  needBrowser();
  const { page, problems } = await open("index.html");
  assert.is(await page.locator("h2#claims").textContent(), "Claims");
  assert.match(await page.locator(".claim-counts").textContent() ?? "", "2 claims: 1 reproduced, 0 not reproduced, 0 inconclusive; 1 holds by construction (identities, not evidence).");
  const rows = page.locator("table.claims tbody tr");
  assert.is(await rows.count(), 2);
  const ids = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-claim-id")));
  assert.equal(ids, ["fixture.a-beats-b", "fixture.advantages-sum-to-zero"]);
  const cells = async (i: number) => (await rows.nth(i).locator("td").allInnerTexts()).map((t) => t.trim());
  const [reproduced, identity] = [await cells(0), await cells(1)];
  assert.equal(reproduced.slice(0, 2), ["svg-figure", "fixture.a-beats-b"]);
  assert.match(reproduced[2], "Arm A solves more tasks than arm B");
  assert.is(reproduced[3], "+10 SR points");
  assert.is(reproduced[4], "reproduced");
  assert.equal(reproduced.slice(5, 8), ["exact McNemar test", "n = 12 (12 tasks)", "0.002"]);
  assert.match(reproduced[8], /^\+83\.3 \[95% 58\.6, 108\] SR points$/, "estimates in the claim's own units");
  // The hostile statement is text, not an element, and nothing ran.
  assert.match(identity[2], "Group-normalised advantages sum to zero <img src=x onerror=alert(1)>");
  assert.is(await page.locator("table.claims img").count(), 0);
  assert.match(identity[4], /^holds by construction\s+not evidence$/);
  assert.is(await rows.nth(1).locator("td.verdict").getAttribute("class"), "verdict holds-by-construction");
  const colour = await rows.nth(0).locator("td.verdict").evaluate((td) => getComputedStyle(td).color);
  assert.is(colour, "rgb(23, 105, 43)", "a reproduced verdict is green");
  // claims.json beside runs.json says the same.
  const ledger = JSON.parse(readFileSync(join(out, "claims.json"), "utf8"));
  assert.equal(ledger.claims.map((c: { id: string; verdict: string; stale: boolean }) => `${c.id}:${c.verdict}:${c.stale}`), ["fixture.a-beats-b:reproduced:false", "fixture.advantages-sum-to-zero:holds by construction:false"]);
  // The notebook link opens the notebook's HTML report.
  await rows.nth(0).locator("a").click();
  await page.waitForLoadState("load");
  assert.ok(page.url().endsWith("/svg-figure.html"), page.url());
  assert.match(await page.textContent("body") ?? "", "preset is quick");
  await page.waitForTimeout(300);
  assert.equal(problems, []);
  await page.close();
});

test("--pdf writes a PDF and Markdown keeps its figures beside it", () => {
  needBrowser();
  const pdf = join(out, "svg-figure.pdf");
  assert.ok(statSync(pdf).size > 1000, "the PDF has content");
  assert.is(readFileSync(pdf).subarray(0, 5).toString("latin1"), "%PDF-");
  const md = readFileSync(join(out, "svg-figure.md"), "utf8");
  const images = [...md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]);
  assert.ok(images.length >= 3, `markdown references the figures: ${images}`);
  for (const image of images) {
    assert.ok(image.startsWith("svg-figure_files/"), image);
    const bytes = readFileSync(join(out, image));
    if (image.endsWith(".png")) assert.is(bytes.subarray(1, 4).toString("latin1"), "PNG", image);
    else assert.match(bytes.toString("utf8"), "<svg");
  }
});

test("a copied report folder, offline: the figure is drawn live, a hovered point shows its tooltip, math is typeset", async () => {
  const copy = mkdtempSync(join(tmpdir(), "gradlab-copied-report-"));
  const context = await needBrowser().newContext({ offline: true });
  try {
    cpSync(out, copy, { recursive: true });
    const page = await context.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error" || message.type() === "warning") problems.push(`console.${message.type()}: ${message.text()}`);
    });
    page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()}`));
    page.on("request", (request) => requests.push(request.url()));
    await page.goto(pathToFileURL(join(copy, "svg-figure.html")).href, { waitUntil: "load" });

    // vega-embed replaced the static SVG with a live chart (the SVG stays in the page as the fallback).
    const figure = page.locator(".gradlab-figure");
    assert.is(await figure.count(), 1, "one library figure");
    await page.waitForSelector(".gradlab-figure[data-rendered]");
    assert.is(await figure.getAttribute("data-rendered"), "vega");
    assert.ok(await figure.locator(".gradlab-vega-fallback").isHidden(), "the fallback SVG is hidden once the chart is drawn");
    const points = figure.locator('.gradlab-vega svg [aria-roledescription="point"]');
    assert.is(await points.count(), 3, "the three data points are drawn as marks");
    const beta = figure.locator('.gradlab-vega svg [aria-roledescription="point"][aria-label*="beta-arm"]');
    await beta.hover();
    const tooltip = page.locator("#vg-tooltip-element");
    await tooltip.waitFor({ state: "visible" });
    const text = (await tooltip.innerText()).replace(/\s+/g, " ");
    assert.match(text, "beta-arm", `tooltip: ${text}`);
    assert.match(text, /gain 1\b/, `tooltip: ${text}`);

    // MathJax from the folder's own assets/ typeset both formulas.
    await page.waitForSelector("mjx-container svg");
    assert.is(await page.locator("mjx-container").count(), 2);
    assert.not.match(await page.locator(".jp-MarkdownCell").first().innerText(), "$e^", "no raw TeX left");

    // The header says what ran; the data files it links exist in the copy.
    const header = page.locator("#gradlab-header");
    assert.match(await header.innerText(), /preset\s+quick/);
    assert.match(await header.innerText(), /backend\s+fixture-backend/);
    assert.is(await header.locator('li[data-claim-id="fixture.a-beats-b"] .verdict').innerText(), "reproduced");
    const dataLinks = await header.locator(".gradlab-data-files a").evaluateAll((links) => links.map((a) => a.getAttribute("href") ?? ""));
    assert.equal(dataLinks, ["svg-figure_files/fig-1.vl.json", "svg-figure_files/fig-1.csv", "svg-figure_files/table-1.csv"]);
    for (const href of dataLinks) assert.ok(existsSync(join(copy, href)), href);

    // Nothing was requested from outside the copied folder (no node_modules, no /usr/share, no network).
    const inside = pathToFileURL(copy).href + "/";
    assert.equal(requests.filter((url) => !url.startsWith(inside) && !url.startsWith("data:")), []);
    assert.equal(problems, []);
  } finally {
    await context.close();
    rmSync(copy, { recursive: true, force: true });
  }
});

test.run();
