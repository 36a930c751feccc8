/**
 * The headless notebook runner: argument parsing, parameter injection, error extraction and the
 * index are unit-tested as pure functions; then the real CLI executes small fixture notebooks
 * through Jupyter + tslab into a temporary folder (a passing one, one whose 2nd code cell throws,
 * one with a python kernelspec, and two whose cells fail asynchronously: a timer callback that
 * throws, a promise rejection nobody handles) and the outputs, the index, the messages and the
 * exit codes are checked, including that a failure never clobbers the previous good report. The claims ledger
 * (`gradlab-claim` lines → runs.json rows → claims.json and the index's claims table) is tested as
 * pure functions and through the same real runs.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseArgs, UsageError, DEFAULT_PRESET } from "../scripts/lib/runner/args.mjs";
import { cellSource, injectParameters, parseDeclarations, renderInjectedSource } from "../scripts/lib/runner/inject.mjs";
import { describeMeta, findClaims, findRunMeta, summariseError } from "../scripts/lib/runner/outputs.mjs";
import { ASYNC_KINDS, describeFailure, formatFailureLine } from "../scripts/lib/runner/execute.mjs";
import { globToRegExp, matchesOnly, planRun, InputError } from "../scripts/lib/runner/select.mjs";
import { buildRows, renderIndexHtml, renderIndexMarkdown, writeIndex } from "../scripts/lib/runner/index-page.mjs";
import { buildClaimsLedger } from "../scripts/lib/runner/claims.mjs";
import { leftoverTemporaries } from "../scripts/lib/runner/staging.mjs";

const root = join(__dirname, "..");
const fixtures = join(root, "test", "fixtures", "notebooks");
const fixture = (name: string) => join(fixtures, name);
const script = join(root, "scripts", "run-notebooks.mjs");

function cli(args: string[]) {
  const run = spawnSync(process.execPath, [script, ...args], { cwd: root, encoding: "utf8", env: { ...process.env, FORCE_COLOR: "0" } });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr, all: run.stdout + run.stderr };
}

function usageError(argv: string[], fragment: string) {
  try {
    parseArgs(argv);
  } catch (error) {
    assert.instance(error, UsageError, `${argv.join(" ")}: expected a UsageError`);
    assert.is((error as UsageError & { exitCode: number }).exitCode, 2);
    assert.match((error as Error).message, fragment);
    return;
  }
  assert.unreachable(`${argv.join(" ")} should have been rejected`);
}

const notebook = (cells: object[]) => ({ nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: { name: "tslab" } }, cells });
const code = (source: string, tags?: string[]) => ({ cell_type: "code", source, metadata: tags ? { tags } : {}, outputs: [], execution_count: null });
const markdown = (source: string) => ({ cell_type: "markdown", source, metadata: {} });

// ---------------------------------------------------------------- arguments (no Jupyter)

test("parseArgs: defaults, presets, repeatable options, -p values parsed as JSON or strings", () => {
  const defaults = parseArgs([]);
  assert.is(defaults.preset, DEFAULT_PRESET);
  assert.equal(defaults.paths, []);
  assert.equal(defaults.params, {});
  assert.is(defaults.pdf, false);
  assert.is(parseArgs(["--quick"]).preset, "quick");
  assert.is(parseArgs(["--preset", "paper"]).preset, "paper");
  assert.is(parseArgs(["--preset=quick", "--quick"]).preset, "quick");
  const o = parseArgs(["-p", "seed=3", "-p", "name=abc", "-p", "flag=true", "-p", 'sizes=[1,2]', "-p", 'quoted="7"', "-p", "x=-1.5", "-p", "eq=a=b", "-p", "empty=", "--only", "01", "--only", "0?-*.ipynb", "--pdf", "--out", "/tmp/r", "a.ipynb", "--", "--weird.ipynb"]);
  assert.equal(o.params, { seed: 3, name: "abc", flag: true, sizes: [1, 2], quoted: "7", x: -1.5, eq: "a=b", empty: "" });
  assert.equal(o.only, ["01", "0?-*.ipynb"]);
  assert.is(o.pdf, true);
  assert.is(o.out, "/tmp/r");
  assert.equal(o.paths, ["a.ipynb", "--weird.ipynb"]);
  assert.is(parseArgs(["--help"]).help, true);
  assert.is(parseArgs(["--timeout", "90"]).timeoutSeconds, 90);
});

test("parseArgs: bad input is a one-line usage error naming the problem", () => {
  usageError(["--preset", "fast"], 'unknown preset "fast"');
  usageError(["--preset"], "--preset: missing value");
  usageError(["--quick", "--preset", "paper"], "conflicts");
  usageError(["-p", "seed"], 'no "=" found');
  usageError(["-p", "=3"], "the key is empty");
  usageError(["-p", "1x=3"], "not a valid identifier");
  usageError(["-p", "a-b=3"], "not a valid identifier");
  usageError(["-p", "class=3"], "reserved word");
  usageError(["-p", "preset=quick"], "--preset");
  usageError(["-p", "seed=1", "-p", "seed=2"], "given twice");
  usageError(["-p"], "missing KEY=VALUE");
  usageError(["--frobnicate"], "unknown option --frobnicate");
  usageError(["--pdf=yes"], "takes no value");
  usageError(["--timeout", "0"], "positive number");
  usageError(["--only", "--pdf"], "--only: missing value");
});

// ---------------------------------------------------------------- selection (no Jupyter)

test("--only: substring or whole-name glob; notebooks run in filename order", () => {
  assert.ok(matchesOnly("01-prism.ipynb", ["prism"]));
  assert.ok(!matchesOnly("01-prism.ipynb", ["g2is"]));
  assert.ok(matchesOnly("01-prism.ipynb", ["0?-*.ipynb"]));
  assert.ok(!matchesOnly("01-prism.ipynb", ["prism*"]), "a glob matches the whole name");
  assert.ok(matchesOnly("anything.ipynb", []));
  assert.ok(globToRegExp("a.b*").test("a.bcd"));
  assert.ok(!globToRegExp("a.b*").test("axbcd"), "dots are literal");
  const plan = planRun({ paths: [], dir: fixtures, only: ["pass", "svg"] }, root);
  const names = plan.universe.map((e: { fileName: string }) => e.fileName);
  assert.equal(names, [...names].sort(), "filename order");
  for (const name of ["fail-second-cell.ipynb", "pass-params.ipynb", "python-kernel.ipynb", "svg-figure.ipynb"]) assert.ok(names.includes(name), name);
  assert.equal(plan.selected.map((e: { name: string }) => e.name), ["pass-params", "svg-figure"]);
});

test("planRun: missing files, non-tslab kernels, empty selections and name clashes are InputErrors", () => {
  const expectInput = (fn: () => unknown, fragment: string) => {
    try {
      fn();
    } catch (error) {
      assert.instance(error, InputError);
      assert.match((error as Error).message, fragment);
      return;
    }
    assert.unreachable(`expected InputError containing ${fragment}`);
  };
  expectInput(() => planRun({ paths: ["nope.ipynb"], dir: fixtures, only: [] }, root), "notebook nope.ipynb does not exist");
  expectInput(() => planRun({ paths: [fixture("python-kernel.ipynb")], dir: fixtures, only: [] }, root), 'uses kernel "python3"');
  expectInput(() => planRun({ paths: [], dir: fixtures, only: ["zzz"] }, root), "no notebook matches --only zzz");
  expectInput(() => planRun({ paths: [], dir: join(fixtures, "missing"), only: [] }, root), "does not exist");
  expectInput(() => planRun({ paths: [fixture("pass-params.ipynb"), fixture("pass-params.ipynb")], dir: fixtures, only: [] }, root), "same report name");
  const dir = mkdtempSync(join(tmpdir(), "gradlab-nb-"));
  try {
    writeFileSync(join(dir, "broken.ipynb"), "{ not json");
    expectInput(() => planRun({ paths: [join(dir, "broken.ipynb")], dir, only: [] }, dir), "broken.ipynb is not valid JSON");
    writeFileSync(join(dir, "nokernel.ipynb"), JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [] }));
    expectInput(() => planRun({ paths: [join(dir, "nokernel.ipynb")], dir, only: [] }, dir), "has no kernelspec");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------- injection (no Jupyter)

test("parseDeclarations reads const/let and type annotations of the parameters cell", () => {
  const d = parseDeclarations('const preset: "quick" | "default" | "paper" = "default";\nlet seed = 0;\nexport const sizes: Array<number> = [1, 2];\nvar f: (x: number) => number = (x) => x;\nlet later: string;\n  const nested = 1;');
  assert.equal(d.get("preset"), { keyword: "const", type: '"quick" | "default" | "paper"' });
  assert.equal(d.get("seed"), { keyword: "let", type: null });
  assert.equal(d.get("sizes"), { keyword: "const", type: "Array<number>" });
  assert.equal(d.get("f"), { keyword: "var", type: "(x: number) => number" });
  assert.equal(d.get("later"), { keyword: "let", type: "string" });
  assert.ok(d.has("nested"));
});

test("renderInjectedSource mirrors the declarations and falls back to let; values are JSON", () => {
  const declarations = parseDeclarations('const preset: string = "default";\nconst seed = 0;');
  const source = renderInjectedSource({ preset: "quick", seed: 3, label: 'a "quoted"\nline', sizes: [1, 2], cfg: { a: null } }, declarations);
  assert.equal(source.split("\n").slice(1), [
    'const preset: string = "quick";',
    "const seed = 3;",
    'let label = "a \\"quoted\\"\\nline";',
    "let sizes = [1,2];",
    'let cfg = {"a":null};',
  ]);
});

test("injectParameters: after the parameters cell, tagged, source untouched, origin map and notes", () => {
  const source = notebook([markdown("# t"), code('const preset = "default";\nconst seed = 0;', ["parameters"]), code("explode();")]);
  const before = JSON.stringify(source);
  const r = injectParameters(source, { preset: "quick", seed: 5, extra: "x" });
  assert.is(JSON.stringify(source), before, "the source notebook is not modified");
  assert.is(r.injectedIndex, 2);
  assert.is(r.parametersCellIndex, 1);
  assert.equal(r.origin, [0, 1, null, 2]);
  const injected = r.notebook.cells[2];
  assert.equal(injected.metadata.tags, ["injected-parameters"]);
  assert.is(injected.id, "injected-parameters");
  assert.match(cellSource(injected), 'const preset = "quick";\nconst seed = 5;\nlet extra = "x";');
  assert.equal(r.notes, ["parameter extra is not declared in the parameters cell; injected as let"]);

  const top = injectParameters(notebook([code("console.log(1)")]), { preset: "paper" });
  assert.is(top.injectedIndex, 0);
  assert.equal(top.origin, [null, 0]);
  assert.match(top.notes.join(), "no cell is tagged parameters");
  assert.match(cellSource(top.notebook.cells[0]), 'let preset = "paper";');

  // A report fed back in: its old injected cell is replaced, not stacked.
  const again = injectParameters(r.notebook, { preset: "default" });
  assert.is(again.notebook.cells.filter((c: { metadata: { tags?: string[] } }) => c.metadata.tags?.includes("injected-parameters")).length, 1);
  assert.equal(again.origin, [0, 1, null, 3]);
  // nbformat < 4.5 has no cell ids.
  const old = injectParameters({ ...notebook([code("1")]), nbformat_minor: 4 }, { preset: "quick" });
  assert.not.ok("id" in old.notebook.cells[0]);
});

// ---------------------------------------------------------------- reading outputs (no Jupyter)

// Verbatim stderr texts printed by tslab 1.0.22 for failing cells.
const THROWN = 'evalmachine.<anonymous>:3\nfunction f() { throw new Error("deliberate failure 42"); }\n               ^\n\nError: deliberate failure 42\n    at f (evalmachine.<anonymous>:3:22)\n    at evalmachine.<anonymous>:5:22\n';
const COMPILE = "1:7 - Type 'string' is not assignable to type 'number'.\n";
const ASYNC = "TypeError: async boom\n    at Timeout._onTimeout (evalmachine.<anonymous>:3:73)\n";

test("summariseError picks the error line of tslab's stderr", () => {
  assert.is(summariseError(THROWN), "Error: deliberate failure 42");
  assert.is(summariseError(COMPILE), "TypeScript: 1:7 - Type 'string' is not assignable to type 'number'.");
  assert.is(summariseError(ASYNC), "TypeError: async boom");
  assert.is(summariseError("plain string\n"), "plain string");
  assert.is(summariseError("warning: Error: from console.error earlier\n" + THROWN), "Error: deliberate failure 42");
  assert.is(summariseError("InvalidArgumentError: seed: expected a non-negative integer, got -1\n    at x\n"), "InvalidArgumentError: seed: expected a non-negative integer, got -1");
  assert.is(summariseError(""), "");
  assert.is(summariseError("\x1b[31mRangeError: too big\x1b[39m\n    at x\n"), "RangeError: too big");
});

test("describeFailure maps the executed cell back to the author's cell and code-cell numbers", () => {
  const source = notebook([markdown("# t"), code("const preset = 1;", ["parameters"]), code("throw 1")]);
  const injection = injectParameters(source, { preset: "quick" });
  const executed = injection.notebook;
  const failure = describeFailure({ status: "failed", kind: "cell-error", cell_index: 3, stderr: THROWN, message: "" }, executed, injection, source);
  assert.equal([failure.cell, failure.codeCell, failure.injected, failure.error], [3, 2, false, "Error: deliberate failure 42"]);
  assert.is(formatFailureLine("01-foo.ipynb", failure), "notebook 01-foo.ipynb failed at cell 3: Error: deliberate failure 42");
  const inInjected = describeFailure({ status: "failed", kind: "cell-error", cell_index: 2, stderr: COMPILE, message: "" }, executed, injection, source);
  assert.is(formatFailureLine("x.ipynb", inInjected), "notebook x.ipynb failed in the injected parameters cell: TypeScript: 1:7 - Type 'string' is not assignable to type 'number'.");
  const timeout = describeFailure({ status: "failed", kind: "timeout", cell_index: 3, stderr: "", message: "A cell timed out while it was being executed, after 5 seconds.\nmore" }, executed, injection, source);
  assert.is(timeout.error, "A cell timed out while it was being executed, after 5 seconds.");
  const died = describeFailure({ status: "failed", kind: "dead-kernel", cell_index: 3, stderr: "", message: "Kernel died" }, executed, injection, source);
  assert.is(formatFailureLine("x.ipynb", died), "notebook x.ipynb failed at cell 3: the kernel died");
  const noKernel = describeFailure({ status: "failed", kind: "internal", cell_index: null, stderr: "", message: "NoSuchKernel: tslab\ntrace" }, executed, injection, source);
  assert.is(formatFailureLine("x.ipynb", noKernel), "notebook x.ipynb failed: NoSuchKernel: tslab");
});

test("describeFailure names an asynchronous error by its own text, not the cell's other stderr", () => {
  const source = notebook([markdown("# t"), code("const preset = 1;", ["parameters"]), code("setTimeout(() => { throw 1 }, 1)")]);
  const injection = injectParameters(source, { preset: "quick" });
  // tslab's own print of the same error comes first in the cell's stderr; the message is the error alone.
  const printed = "TypeError: async boom\n    at Timeout._onTimeout (evalmachine.<anonymous>:3:73)\n";
  const stderr = "Warning: something else\nUncaughtException: " + printed + "[gradlab runner] uncaught exception in asynchronous code …:\n" + printed;
  const timer = describeFailure({ status: "failed", kind: "async-error", async_kind: "uncaught-exception", cell_index: 3, stderr, message: printed }, injection.notebook, injection, source);
  assert.equal([timer.kind, timer.cell, timer.codeCell, timer.stderr], ["async-error", 3, 2, stderr]);
  assert.is(formatFailureLine("x.ipynb", timer), "notebook x.ipynb failed at cell 3: TypeError: async boom (uncaught in asynchronous code, thrown during or after the cell)");
  const rejected = describeFailure({ status: "failed", kind: "async-error", async_kind: "unhandled-rejection", cell_index: 3, stderr: "", message: "plain string reason\n" }, injection.notebook, injection, source);
  assert.is(rejected.error, `plain string reason (${ASYNC_KINDS["unhandled-rejection"]}, thrown during or after the cell)`);
  const silent = describeFailure({ status: "failed", kind: "async-error", async_kind: "unhandled-rejection", cell_index: 3, stderr: "", message: "" }, injection.notebook, injection, source);
  assert.match(silent.error, /^an error without a message \(unhandled promise rejection/);
});

test("findRunMeta takes the last gradlab-meta line; missing fields are unknown", () => {
  const out = (text: string) => ({ ...code("x"), outputs: [{ output_type: "stream", name: "stdout", text }] });
  const nb = notebook([
    out('gradlab-meta {"backend":"cpu","seed":1}\n'),
    out("noise\ngradlab-meta {broken\n"),
    { ...code("x"), outputs: [{ output_type: "stream", name: "stdout", text: ['gradlab-meta {"backend":"wasm",', '"seed":0}\n'] }] },
    { ...code("x"), outputs: [{ output_type: "stream", name: "stderr", text: 'gradlab-meta {"backend":"stderr-is-ignored"}\n' }] },
  ]);
  assert.equal(findRunMeta(nb), { backend: "wasm", seed: 0 });
  assert.equal(describeMeta(findRunMeta(nb)), { backend: "wasm", seed: "0" });
  assert.equal(describeMeta({ backend: "cpu" }), { backend: "cpu", seed: "unknown" });
  assert.is(findRunMeta(notebook([out("nothing here\n")])), null);
});

test("index pages escape what notebooks printed and list skipped notebooks with their last run", () => {
  const dir = mkdtempSync(join(tmpdir(), "gradlab-index-"));
  try {
    writeFileSync(join(dir, "a.html"), "x");
    const failure = { kind: "cell-error", cell: 2, codeCell: 1, injected: false, error: "Error: <script>alert(1)</script>", stderr: "Error: <b>|</b>" };
    const previous = new Map([["b", { name: "b", notebook: "b.ipynb", status: "failed", preset: "quick", commit: "abc", failure }]]);
    const rows = buildRows({
      executed: [{ name: "a", notebook: "a.ipynb", status: "ok", durationSeconds: 1.25, preset: "quick", backend: "wasm", seed: "3", commit: "abc", failure: null, notes: ["a | note"] }],
      universe: [{ name: "a", displayPath: "a.ipynb" }, { name: "c", displayPath: "c.ipynb" }],
      previous,
      outDir: dir,
    });
    assert.equal(rows.map((r: { name: string; status: string }) => `${r.name}:${r.status}`), ["a:ok", "b:skipped", "c:skipped"]);
    assert.equal(rows[0].outputs, { html: "a.html" });
    assert.is(rows[1].last.status, "failed");
    assert.is(rows[2].last, null);
    const run = { version: 1, generatedAt: "t", commit: "abc", preset: "quick", parameters: {}, notebooks: rows };
    const html = renderIndexHtml(run);
    assert.not.match(html, "<script>alert");
    assert.match(html, "&lt;script&gt;alert(1)&lt;/script&gt;");
    assert.match(html, "skipped (last: failed)");
    assert.match(html, '<a href="a.html">HTML</a>');
    const md = renderIndexMarkdown(run);
    assert.match(md, "| a | ok | 1.3 s | – | quick | wasm | 3 | `abc` | [HTML](a.html) |");
    assert.match(md, "a \\| note");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------- the claims ledger (no Jupyter)

/** A ClaimRecord as lab.claim prints it (kernel-lib/stats/claims.ts). */
const record = (id: string, over: Record<string, unknown> = {}) => ({
  id, statement: `statement of ${id}`, paper: { value: "+5 points", effect: 0.05 }, verdict: "reproduced",
  reason: "exact McNemar test: p = 0.002 < 0.05, in the claimed direction.", test: "exact McNemar test", n: 12, sample: "12 tasks",
  p: 0.001953125, estimate: 0.8333, interval: { lo: 0.586, hi: 1.08, level: 0.95 }, minDetectableEffect: 0.3457, seeds: [0],
  evidence: "+83.33 SR points [95% CI +58.60, +108.07]", scale: 100, unit: "SR points", ...over,
});
const claimLine = (r: object) => `gradlab-claim ${JSON.stringify(r)}\n`;
const stdoutCell = (...texts: string[]) => ({ ...code("x"), outputs: texts.map((text) => ({ output_type: "stream", name: "stdout", text })) });

test("findClaims: every gradlab-claim line of stdout, in order, normalised; no claims is an empty list", () => {
  const identity = { id: "b.identity", statement: "sums to zero", verdict: "holds by construction", test: "identity (no test)", estimate: 1e-17 };
  const nb = notebook([
    markdown(claimLine(record("md.ignored"))),
    stdoutCell("noise\n" + claimLine(record("a.first")), claimLine(identity).slice(0, 20), claimLine(identity).slice(20)),
    { ...code("x"), outputs: [{ output_type: "stream", name: "stderr", text: claimLine(record("stderr.ignored")) }] },
    stdoutCell(claimLine(record("c.third", { verdict: "not reproduced" })).replace("\n", "\r\n"), "  " + claimLine(record("indented.ignored"))),
  ]);
  const { claims, problems } = findClaims(nb);
  assert.equal(problems, []);
  assert.equal(claims.map((c: { id: string }) => c.id), ["a.first", "b.identity", "c.third"]);
  assert.equal(claims[0], record("a.first"));
  // Missing fields are present as null, so every ledger row has the same shape.
  assert.equal(claims[1], { id: "b.identity", statement: "sums to zero", paper: null, verdict: "holds by construction", reason: null, test: "identity (no test)", n: null, sample: null, p: null, estimate: 1e-17, interval: null, minDetectableEffect: null, seeds: null, evidence: null, scale: 1, unit: "" });
  assert.is(claims[2].verdict, "not reproduced");
  assert.equal(findClaims(notebook([stdoutCell("gradlab-meta {}\nnothing\n"), code("y")])), { claims: [], problems: [] });
  assert.equal(findClaims({}), { claims: [], problems: [] });
});

test("findClaims: malformed lines become problems (never an exception); a repeated id keeps the last", () => {
  const nb = notebook([
    stdoutCell(claimLine(record("dup.id", { estimate: 1 })) + "gradlab-claim {broken\n"),
    stdoutCell("gradlab-claim [1,2]\n" + claimLine({ id: "v", statement: "s", verdict: "maybe" }) + claimLine({ statement: "no id", verdict: "reproduced" })),
    stdoutCell(claimLine(record("typed", { p: "0.01" })) + claimLine(record("dup.id", { estimate: 2 })) + `gradlab-claim ${"x".repeat(500)}\n`),
  ]);
  let result: { claims: any[]; problems: string[] } = { claims: [], problems: [] };
  try {
    result = findClaims(nb, { cellLabel: (i: number) => `code cell ${i}` });
  } catch (error) {
    assert.unreachable(`findClaims threw: ${error}`);
  }
  const { claims, problems } = result;
  assert.equal(claims.map((c) => [c.id, c.estimate]), [["dup.id", 2]]);
  assert.is(problems.length, 7, problems.join("\n"));
  assert.match(problems[0], /^code cell 0: a gradlab-claim line is not valid JSON \(.+\); ignored: gradlab-claim \{broken$/);
  assert.match(problems[1], "code cell 1: a gradlab-claim line is not a claim (not a JSON object)");
  assert.match(problems[2], 'claim v: verdict "maybe" is not one of reproduced, not reproduced, inconclusive, holds by construction');
  assert.match(problems[3], "(no id)");
  assert.match(problems[4], "claim typed: wrong type for p");
  assert.ok(problems[5].endsWith("…") && problems[5].length < 250, "a long bad line is shortened");
  assert.is(problems[6], "claim dup.id was printed 2 times (code cell 0, code cell 2); the last one is kept");
});

// Rows as runOne makes them (claims on every executed row; a failed one has none).
const okRow = (name: string, claims: object[], over: Record<string, unknown> = {}) => ({ name, notebook: `${name}.ipynb`, status: "ok", durationSeconds: 1, preset: "quick", backend: "wasm", seed: "0", commit: "c2", finishedAt: "t2", failure: null, notes: [], claims, ...over });
const failedRow = (name: string) => ({ ...okRow(name, []), status: "failed", failure: { kind: "cell-error", cell: 2, codeCell: 1, injected: false, error: "Error: x", stderr: "" } });

test("claims.json: ok rows are current; skipped rows keep their last run's claims, stale; a failed run's are not counted", () => {
  const dir = mkdtempSync(join(tmpdir(), "gradlab-claims-"));
  try {
    for (const f of ["ok.html", "failing.html", "old.html"]) writeFileSync(join(dir, f), "x");
    const previous = new Map<string, any>([
      ["failing", okRow("failing", [record("failing.before", { verdict: "inconclusive" })], { commit: "c1", finishedAt: "t1", seed: "5" })],
      ["old", okRow("old", [record("old.one"), record("old.two", { verdict: "holds by construction" })], { commit: "c1", finishedAt: "t1" })],
      ["twice-skipped", { name: "twice-skipped", notebook: "twice-skipped.ipynb", status: "skipped", last: { ...okRow("x", []), status: "failed", claims: [], lastGood: { finishedAt: "t0", commit: "c0", preset: "default", seed: "1", claims: [record("ancient")] } } }],
      ["never-good", failedRow("never-good")],
      ["was-skipped", { name: "was-skipped", notebook: "was-skipped.ipynb", status: "skipped", last: { ...okRow("x", [record("was-skipped.one")]), commit: "c1", finishedAt: "t1" } }],
    ]);
    const rows = buildRows({
      executed: [okRow("ok", [record("ok.claim")]), failedRow("failing"), failedRow("never-good"), failedRow("was-skipped")],
      universe: [{ name: "ok", displayPath: "ok.ipynb" }, { name: "empty", displayPath: "empty.ipynb" }],
      previous,
      outDir: dir,
    });
    const byName = Object.fromEntries(rows.map((r: any) => [r.name, r]));
    assert.equal(byName.old.last.claims.map((c: any) => c.id), ["old.one", "old.two"], "a skipped row keeps its last run's claims under last.claims");
    assert.equal(byName.failing.claims, [], "a failed run has no claims of its own");
    assert.equal(byName.failing.lastGood, { finishedAt: "t1", commit: "c1", preset: "quick", seed: "5", claims: [record("failing.before", { verdict: "inconclusive" })] });
    assert.match(byName.failing.notes.join("\n"), "the claims table shows the 1 claim of its last good run (t1), marked stale");
    assert.is(byName["never-good"].lastGood, null);
    assert.equal(byName["was-skipped"].lastGood.claims.map((c: any) => c.id), ["was-skipped.one"], "the last good run is found behind a skipped row");

    const run = { version: 1, generatedAt: "now", commit: "c2", preset: "quick", parameters: {}, notebooks: rows };
    const ledger = buildClaimsLedger(run);
    assert.equal([ledger.version, ledger.generatedAt, ledger.commit, ledger.preset], [1, "now", "c2", "quick"]);
    const summary = ledger.claims.map((c: any) => `${c.notebook}:${c.id}:${c.stale}:${c.commit}:${c.seed}`);
    assert.equal(summary, ["failing:failing.before:true:c1:5", "ok:ok.claim:false:c2:0", "old:old.one:true:c1:0", "old:old.two:true:c1:0", "twice-skipped:ancient:true:c0:1", "was-skipped:was-skipped.one:true:c1:0"]);
    assert.match(ledger.claims[0].staleReason, "failed this run");
    assert.is(ledger.claims[1].staleReason, null);
    assert.match(ledger.claims[2].staleReason, "not run this time");
    assert.match(ledger.claims[4].staleReason, "its last run failed");
    assert.equal(ledger.counts, { reproduced: 4, "not reproduced": 0, inconclusive: 1, "holds by construction": 1 });
    assert.equal([ledger.total, ledger.stale], [6, 5]);
    const entry = ledger.claims[1];
    assert.equal(Object.keys(entry), ["notebook", "id", "statement", "paper", "verdict", "reason", "test", "n", "sample", "p", "estimate", "interval", "minDetectableEffect", "scale", "unit", "seeds", "evidence", "preset", "seed", "commit", "finishedAt", "stale", "staleReason"]);
    assert.equal([entry.preset, entry.finishedAt, entry.p, entry.interval], ["quick", "t2", 0.001953125, { lo: 0.586, hi: 1.08, level: 0.95 }]);

    // The next run skips everything: what was current becomes stale, nothing is lost.
    const next = buildRows({ executed: [], universe: [], previous: new Map(rows.map((r: any) => [r.name, r])), outDir: dir });
    const again = buildClaimsLedger({ ...run, notebooks: next });
    assert.equal(again.claims.map((c: any) => `${c.id}:${c.stale}`), ["failing.before:true", "ok.claim:true", "old.one:true", "old.two:true", "ancient:true", "was-skipped.one:true"]);

    // writeIndex writes claims.json beside runs.json, through temporary files.
    writeIndex(dir, run);
    assert.equal(JSON.parse(readFileSync(join(dir, "claims.json"), "utf8")), ledger);
    assert.equal(leftoverTemporaries(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("claims table: hostile strings are escaped, verdicts carry a class, identities are marked not evidence", () => {
  const dir = mkdtempSync(join(tmpdir(), "gradlab-claims-html-"));
  try {
    writeFileSync(join(dir, "a&b.html"), "x");
    const hostile = "<img src=x onerror=alert(1)>";
    const rows = buildRows({
      executed: [okRow("a&b", [
        record("x.hostile", { statement: `Gini | beats ${hostile}`, paper: { value: `<b>+5</b> | "q"` }, test: "<script>t()</script>", sample: "<i>12</i> tasks", reason: `why ${hostile}` }),
        record("x.identity", { verdict: "holds by construction", test: "identity (no test)", n: null, sample: null, p: null, interval: null, minDetectableEffect: null, estimate: 1e-17, scale: 1, unit: "" }),
        record("x.none", { verdict: "inconclusive", minDetectableEffect: null, p: 0.5, estimate: -0.25 }),
        record("x.not", { verdict: "not reproduced", p: 3e-9 }),
      ])],
      universe: [], previous: new Map(), outDir: dir,
    });
    const run = { version: 1, generatedAt: "now", commit: "c", preset: "quick", parameters: {}, notebooks: rows };
    const html = renderIndexHtml(run);
    assert.not.match(html, "<img");
    assert.not.match(html, "<script>");
    assert.not.match(html, "<b>+5");
    assert.match(html, "Gini | beats &lt;img src=x onerror=alert(1)&gt;");
    assert.match(html, "&lt;b&gt;+5&lt;/b&gt; | &quot;q&quot;");
    assert.match(html, '<h2 id="claims">Claims</h2>');
    assert.match(html, "4 claims: ");
    assert.match(html, '<td class="verdict reproduced">reproduced</td>');
    assert.match(html, '<td class="verdict not-reproduced">not reproduced</td>');
    assert.match(html, '<td class="verdict inconclusive">inconclusive</td>');
    assert.match(html, '<td class="verdict holds-by-construction">holds by construction<br><span class="not-evidence">not evidence</span></td>');
    assert.match(html, '<tr class="claim holds-by-construction" data-claim-id="x.identity">');
    assert.match(html, '<a href="a%26b.html">a&amp;b</a>', "the notebook links to its report, URL-encoded and escaped");
    assert.match(html, "n = 12 (&lt;i&gt;12&lt;/i&gt; tasks)");
    assert.match(html, "+83.3 [95% 58.6, 108] SR points", "estimates print in the claim's own units (×scale, unit)");
    assert.match(html, "<td>&lt; 1e-6</td>");
    assert.match(html, "none at this n");
    assert.match(html, /\.verdict\.reproduced \{ color: #[0-9a-f]{6}; \}/, "verdicts are coloured");

    const md = renderIndexMarkdown(run);
    assert.match(md, "## Claims\n\n4 claims: 1 reproduced, 1 not reproduced, 1 inconclusive; 1 holds by construction (identities, not evidence).");
    assert.match(md, "| [a&amp;b](a%26b.html) | x.hostile | Gini \\| beats &lt;img src=x onerror=alert(1)&gt; | &lt;b&gt;+5&lt;/b&gt; \\| \"q\" | **reproduced** |");
    assert.match(md, "| holds by construction (not evidence) | identity (no test) | – | – | +1.00e-17 | – |");
    assert.not.match(md, "<img");

    const empty = { ...run, notebooks: [okRow("quiet", [])] };
    assert.match(renderIndexHtml(empty), '<h2 id="claims">Claims</h2>\n<p class="claim-counts">No notebook made claims.</p>');
    assert.not.match(renderIndexHtml(empty), "<table class=\"claims\">");
    assert.ok(renderIndexMarkdown(empty).endsWith("## Claims\n\nNo notebook made claims.\n"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------- the real CLI (Jupyter + tslab)

const out = mkdtempSync(join(tmpdir(), "gradlab-reports-"));
test.after(() => rmSync(out, { recursive: true, force: true }));

function runsJson(dir: string) {
  const runs = JSON.parse(readFileSync(join(dir, "runs.json"), "utf8"));
  return Object.fromEntries(runs.notebooks.map((r: { name: string }) => [r.name, r])) as Record<string, any>;
}

/** claims.json as `notebook:id:stale:estimate` lines, and the whole ledger. */
function claimsJson(dir: string) {
  const ledger = JSON.parse(readFileSync(join(dir, "claims.json"), "utf8"));
  return { ledger, summary: ledger.claims.map((c: any) => `${c.notebook}:${c.id}:${c.stale}:${c.estimate}`) as string[] };
}

test("CLI bad input fails before executing anything and writes nothing", () => {
  const target = join(out, "never-created");
  const cases: Array<[string[], number, string]> = [
    [["--preset", "fast"], 2, 'run-notebooks: --preset: unknown preset "fast" (valid: quick, default, paper)'],
    [["-p", "seed"], 2, 'run-notebooks: -p "seed": expected KEY=VALUE (no "=" found)'],
    [["-p", "2x=1"], 2, "not a valid identifier"],
    [["--bogus"], 2, "run-notebooks: unknown option --bogus (see --help)"],
    [["test/fixtures/notebooks/missing.ipynb"], 1, "run-notebooks: notebook test/fixtures/notebooks/missing.ipynb does not exist"],
    [[fixture("pass-params.ipynb"), fixture("python-kernel.ipynb")], 1, 'python-kernel.ipynb uses kernel "python3"; this runner only executes "tslab" notebooks'],
  ];
  for (const [args, code, message] of cases) {
    const r = cli(["--out", target, ...args]);
    assert.is(r.code, code, `${args.join(" ")}: exit code (output: ${r.all})`);
    assert.match(r.stderr, message);
    assert.is(r.stderr.trim().split("\n").length, 1, `${args.join(" ")}: one line`);
    assert.not.match(r.stdout, "[1/", "nothing was executed");
    assert.not.ok(existsSync(target), `${args.join(" ")}: the output folder was created`);
  }
  const aFile = join(out, "a-file");
  writeFileSync(aFile, "x");
  const notDir = cli(["--out", aFile, fixture("pass-params.ipynb")]);
  assert.is(notDir.code, 1);
  assert.match(notDir.stderr, "exists and is not a directory");
  rmSync(aFile);
  const help = cli(["--help"]);
  assert.is(help.code, 0);
  assert.match(help.stdout, "--preset NAME");
});

test("CLI executes notebooks: injected parameters, outputs, index, failing cell and exit code 1", () => {
  mkdirSync(out, { recursive: true });
  // A previous good report of the notebook that is about to fail must survive.
  writeFileSync(join(out, "fail-second-cell.html"), "previous good report");
  const r = cli(["--out", out, "--quick", "-p", "seed=3", "-p", "label=hello", fixture("pass-params.ipynb"), fixture("fail-second-cell.ipynb")]);
  assert.is(r.code, 1, r.all);
  assert.match(r.stdout, /\[1\/2\] pass-params\.ipynb … ok \d+\.\ds/);
  assert.match(r.stdout, /\[2\/2\] fail-second-cell\.ipynb … failed \d+\.\ds/);
  assert.match(r.stdout, "notebook fail-second-cell.ipynb failed at cell 3: Error: deliberate failure 42\n");
  assert.match(r.stdout, "1 of 2 notebooks failed");

  for (const file of ["pass-params.ipynb", "pass-params.html", "pass-params.md", "fail-second-cell.failed.ipynb", "fail-second-cell.failed.html", "index.html", "index.md", "runs.json"]) {
    assert.ok(existsSync(join(out, file)), `${file} exists`);
  }
  assert.is(readFileSync(join(out, "fail-second-cell.html"), "utf8"), "previous good report");
  assert.not.ok(existsSync(join(out, "fail-second-cell.ipynb")), "no executed notebook under the good name");
  assert.equal(leftoverTemporaries(out), [], "no staging or temporary files left");

  // The injected values took effect in the kernel, and the outputs are the executed notebook's.
  const executed = JSON.parse(readFileSync(join(out, "pass-params.ipynb"), "utf8"));
  const printed = executed.cells.flatMap((c: any) => c.outputs ?? []).map((o: any) => [].concat(o.text ?? []).join("")).join("");
  assert.match(printed, "params preset=quick seed=3 label=hello mode=small");
  assert.match(readFileSync(join(out, "pass-params.md"), "utf8"), "params preset=quick seed=3 label=hello");
  assert.match(readFileSync(join(out, "pass-params.html"), "utf8"), "params preset=quick seed=3 label=hello");
  const injected = executed.cells[3];
  assert.equal(injected.metadata.tags, ["injected-parameters"]);
  assert.match([].concat(injected.source).join(""), 'const preset: string = "quick";\nlet seed = 3;');

  // The cells after the failing one did not run; the partial notebook shows the real error.
  const partial = JSON.parse(readFileSync(join(out, "fail-second-cell.failed.ipynb"), "utf8"));
  assert.equal(partial.cells.at(-1).outputs, []);
  assert.match(readFileSync(join(out, "fail-second-cell.failed.html"), "utf8"), "deliberate failure 42");

  const rows = runsJson(out);
  assert.equal([rows["pass-params"].status, rows["pass-params"].preset, rows["pass-params"].backend, rows["pass-params"].seed], ["ok", "quick", "fixture-backend", "3"]);
  assert.equal(rows["pass-params"].parameters, { preset: "quick", seed: 3, label: "hello" });
  assert.match(rows["pass-params"].commit, /^([0-9a-f]{4,}(-dirty)?|unknown)$/);
  assert.is(rows["pass-params"].failure, null);
  // A tslab kernel (node + tfjs) takes well over 20 MiB and far less than 20 GiB.
  for (const name of ["pass-params", "fail-second-cell"]) {
    const peak = rows[name].peakRssBytes;
    assert.ok(typeof peak === "number" && peak > 20 * 2 ** 20 && peak < 20 * 2 ** 30, `${name}: peak memory of the kernel's process tree recorded (${peak})`);
  }
  const failed = rows["fail-second-cell"];
  assert.equal([failed.status, failed.preset, failed.backend, failed.seed], ["failed", "quick", "fixture-backend", "7"]);
  assert.equal([failed.failure.cell, failed.failure.codeCell, failed.failure.error], [3, 2, "Error: deliberate failure 42"]);
  assert.match(failed.failure.stderr, "at explode");
  const index = readFileSync(join(out, "index.html"), "utf8");
  assert.match(index, "<th>peak memory</th>");
  assert.match(index, `<td>${(rows["pass-params"].peakRssBytes / 2 ** 20).toFixed(0)} MiB</td>`);
  assert.match(index, "cell 3 (code cell 2): Error: deliberate failure 42");
  assert.match(index, '<a href="fail-second-cell.failed.html">partial HTML</a>');
  assert.match(index, 'last good: <a href="fail-second-cell.html">HTML</a>');

  // Claims: the passing notebook's line is collected; the failing one's partial claim is not counted.
  assert.equal(rows["pass-params"].claims.map((c: any) => [c.id, c.verdict, c.estimate, c.seeds]), [["fixture.params-seed", "inconclusive", 3, [3]]]);
  assert.equal(failed.claims, []);
  assert.match(failed.notes.join("\n"), "failed, so the 1 claim this run printed (fixture.partial) is not counted");
  const { ledger, summary } = claimsJson(out);
  assert.equal(summary, ["pass-params:fixture.params-seed:false:3"]);
  assert.equal([ledger.version, ledger.preset, ledger.commit, ledger.claims[0].seed, ledger.claims[0].preset], [1, "quick", rows["pass-params"].commit, "3", "quick"]);
  assert.equal(ledger.counts, { reproduced: 0, "not reproduced": 0, inconclusive: 1, "holds by construction": 0 });
  assert.match(index, '<tr class="claim inconclusive" data-claim-id="fixture.params-seed">\n  <td><a href="pass-params.html">pass-params</a></td>');
  assert.not.match(index, 'data-claim-id="fixture.partial"', "the partial claim is only named in the row's note");
  assert.match(readFileSync(join(out, "index.md"), "utf8"), "| [pass-params](pass-params.html) | fixture.params-seed | The injected seed reaches the kernel |");
});

test("CLI: a notebook that fails keeps its last good report; the next good run clears the failure", () => {
  const goodHtml = readFileSync(join(out, "pass-params.html"), "utf8");
  const bad = cli(["--out", out, "--quick", "-p", 'seed="x"', fixture("pass-params.ipynb")]);
  assert.is(bad.code, 1, bad.all);
  assert.match(bad.stdout, 'notebook pass-params.ipynb failed at cell 4: TypeError: seed must be a number, got "x"');
  assert.is(readFileSync(join(out, "pass-params.html"), "utf8"), goodHtml, "the good report was not touched");
  assert.ok(existsSync(join(out, "pass-params.failed.html")));
  let rows = runsJson(out);
  assert.is(rows["pass-params"].status, "failed");
  assert.is(rows["fail-second-cell"].status, "skipped");
  assert.is(rows["fail-second-cell"].last.status, "failed");
  // The failed run has no claims; the claims of the good run (seed 3) stay in the ledger, stale.
  assert.equal(rows["pass-params"].claims, []);
  assert.equal(rows["pass-params"].lastGood.claims.map((c: any) => c.estimate), [3]);
  assert.match(rows["pass-params"].notes.join("\n"), "the claims table shows the 1 claim of its last good run");
  const claims = claimsJson(out);
  assert.equal(claims.summary, ["pass-params:fixture.params-seed:true:3"]);
  assert.match(claims.ledger.claims[0].staleReason, "failed this run");
  assert.match(readFileSync(join(out, "index.html"), "utf8"), '<tr class="claim inconclusive stale" data-claim-id="fixture.params-seed">');

  // Folder mode with --only: every fixture is listed, only the matching one runs.
  const good = cli(["--out", out, "--dir", "test/fixtures/notebooks", "--only", "pass-*.ipynb", "-p", "seed=4"]);
  assert.is(good.code, 0, good.all);
  assert.match(good.stdout, "[1/1] pass-params.ipynb … ok");
  assert.match(readFileSync(join(out, "pass-params.html"), "utf8"), "seed=4");
  assert.not.ok(existsSync(join(out, "pass-params.failed.html")), "the stale failure output is removed");
  assert.not.ok(existsSync(join(out, "pass-params.failed.ipynb")));
  rows = runsJson(out);
  for (const name of ["fail-second-cell", "pass-params", "python-kernel", "svg-figure"]) assert.ok(name in rows, `${name} is listed`);
  assert.equal([rows["pass-params"].status, rows["pass-params"].preset, rows["pass-params"].seed], ["ok", "default", "4"]);
  assert.is(rows["python-kernel"].status, "skipped");
  assert.equal(leftoverTemporaries(out), []);
});

test("CLI claims: a notebook not run this time keeps its last run's claims, marked stale", () => {
  // State left by the previous test: pass-params ok with seed 4 (current claims). Run another notebook only.
  assert.equal(claimsJson(out).summary, ["pass-params:fixture.params-seed:false:4"]);
  const other = cli(["--out", out, "--quick", fixture("fail-second-cell.ipynb")]);
  assert.is(other.code, 1, other.all);
  const rows = runsJson(out);
  assert.is(rows["pass-params"].status, "skipped");
  assert.equal(rows["pass-params"].last.claims.map((c: any) => c.estimate), [4]);
  const { ledger, summary } = claimsJson(out);
  assert.equal(summary, ["pass-params:fixture.params-seed:true:4"]);
  assert.match(ledger.claims[0].staleReason, "not run this time");
  assert.equal([ledger.claims[0].preset, ledger.claims[0].seed, ledger.preset], ["default", "4", "quick"], "a stale claim keeps the preset and seed of the run that made it");
  const index = readFileSync(join(out, "index.html"), "utf8");
  assert.match(index, '<tr class="claim inconclusive stale" data-claim-id="fixture.params-seed">');
  assert.match(index, "1 claim: ");
  assert.match(index, "1 stale (from an earlier run)");
  assert.equal(leftoverTemporaries(out), []);
});

test("CLI: asynchronous errors (a throwing timer, an unhandled rejection) fail their cell with the real message and stack", () => {
  const asyncOut = mkdtempSync(join(tmpdir(), "gradlab-async-reports-"));
  try {
    const r = cli(["--out", asyncOut, "--quick", fixture("async-timer-throw.ipynb"), fixture("async-unhandled-rejection.ipynb")]);
    assert.is(r.code, 1, r.all);
    assert.match(r.stdout, "notebook async-timer-throw.ipynb failed at cell 3: TypeError: timer callback failed 17 (uncaught in asynchronous code, thrown during or after the cell)\n");
    assert.match(r.stdout, "notebook async-unhandled-rejection.ipynb failed at cell 4: RangeError: rejected promise 23 (unhandled promise rejection, thrown during or after the cell)\n");
    assert.match(r.stdout, "2 of 2 notebooks failed");
    const rows = runsJson(asyncOut);
    const timer = rows["async-timer-throw"].failure;
    const rejection = rows["async-unhandled-rejection"].failure;
    assert.equal([timer.kind, timer.cell, timer.codeCell], ["async-error", 3, 2]);
    assert.equal([rejection.kind, rejection.cell, rejection.codeCell], ["async-error", 4, 3]);
    // The stack points into the code that failed, as for a synchronous throw.
    assert.match(timer.stderr, /TypeError: timer callback failed 17\n\s+at Timeout\._onTimeout/);
    assert.match(rejection.stderr, /RangeError: rejected promise 23\n\s+at loadShard/);
    assert.match(readFileSync(join(asyncOut, "index.html"), "utf8"), "cell 3 (code cell 2): TypeError: timer callback failed 17");

    for (const [name, failingCell] of [["async-timer-throw", 3], ["async-unhandled-rejection", 4]] as const) {
      const partial = JSON.parse(readFileSync(join(asyncOut, `${name}.failed.ipynb`), "utf8"));
      const codeCells = partial.cells.filter((c: any) => c.cell_type === "code");
      assert.equal(partial.cells.at(-1).outputs, [], `${name}: the cell after the failing one did not run`);
      // The guard's hidden requests do not show: the cells that ran are numbered 1, 2, 3 … (injected cell included).
      const counts = codeCells.map((c: any) => c.execution_count).filter((n: number | null) => n !== null);
      assert.equal(counts, counts.map((_: number, i: number) => i + 1), `${name}: execution counts ${counts}`);
      const failing = partial.cells[failingCell - 1 + 1]; // +1: the injected parameters cell sits before it
      const failingStderr = failing.outputs.filter((o: any) => o.name === "stderr").map((o: any) => [].concat(o.text).join("")).join("");
      assert.match(failingStderr, "[gradlab runner] ", `${name}: the error is shown in the cell where it surfaced`);
    }
    // A rejection that was handled a little later is not a failure: its cell ran and printed.
    const rejectionCells = JSON.parse(readFileSync(join(asyncOut, "async-unhandled-rejection.failed.ipynb"), "utf8")).cells;
    assert.match(JSON.stringify(rejectionCells[3].outputs), "caught: handled later, not a failure");
    assert.not.match(rejection.stderr, "handled later", "the handled rejection is not part of the failure");
  } finally {
    rmSync(asyncOut, { recursive: true, force: true });
  }
});

test.run();
