#!/usr/bin/env node
// Runs every uvu test file (unit, property and notebook smoke tests) and ends with the line
// "N passed, M failed, K skipped" that CI reads. Each file runs in its own process so one
// crashing suite (or a leaked backend switch) cannot take the others down; a row per file says
// what it counted and, when it failed for a reason uvu does not print (a swallowed hook error,
// a crash, a timeout), that reason. Counting rules: scripts/lib/test-summary.mjs.
//
//   node scripts/test-all.mjs [pattern] [--dir DIR]      e.g. `npm test -- metrics`
//
// Environment:
//   GRADLAB_TEST_TIMEOUT_SECONDS  per-file limit (default 2700 = 45 min: above the 40 minutes
//                                 notebooks.test.ts gives the notebook runner, so the smoke run's
//                                 own timeout reports first; a hung unit file is still stopped)
//   GRADLAB_ALLOW_SKIPS=1         a skipped test (test.skip, or the rest of a file that uses
//                                 test.only) is reported but does not fail the run; by default
//                                 it does, because a skipped test is not a passed one.
// Exit codes: 0 all passed, 1 a failure, a skip, or no file matched, 2 bad usage.
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { closingLine, judgeFile } from "./lib/test-summary.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const HOOK_REPORTER = join(root, "scripts", "lib", "uvu-hook-report.cjs");
const DEFAULT_TIMEOUT_SECONDS = 45 * 60;
const USAGE = "usage: node scripts/test-all.mjs [pattern] [--dir DIR]";

function usageError(message) {
  console.error(`test-all: ${message}\n${USAGE}`);
  process.exit(2);
}

function parseCli(argv) {
  let pattern = null;
  let patternText = null;
  let dir = join(root, "test");
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else if (arg === "--dir") {
      if (argv[i + 1] === undefined) usageError("--dir: missing value");
      dir = resolve(argv[++i]);
    } else if (arg.startsWith("-")) usageError(`unknown option ${arg}`);
    else if (pattern !== null) usageError(`one pattern only (got ${JSON.stringify(patternText)} and ${JSON.stringify(arg)})`);
    else {
      try {
        pattern = new RegExp(arg);
        patternText = arg;
      } catch (error) {
        usageError(`pattern ${JSON.stringify(arg)} is not a regular expression: ${error.message}`);
      }
    }
  }
  return { pattern, patternText, dir };
}

function readTimeoutSeconds(env) {
  const raw = env.GRADLAB_TEST_TIMEOUT_SECONDS;
  if (raw === undefined || raw === "") return DEFAULT_TIMEOUT_SECONDS;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) usageError(`GRADLAB_TEST_TIMEOUT_SECONDS: expected a positive number of seconds, got ${JSON.stringify(raw)}`);
  return value;
}

// Folders named `fixtures` below the searched folder hold material for tests (test-all's own
// fixture test files among them), never tests of the project.
function listTests(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) {
      if (name !== "fixtures") out.push(...listTests(full));
    } else if (name.endsWith(".test.ts")) out.push(full);
  }
  return out;
}

let current = null; // the running child, so Ctrl-C can stop its whole process group

function killGroup(child) {
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** Runs one file in its own process group, echoing its output; resolves what judgeFile needs. */
function runFile(file, timeoutSeconds) {
  return new Promise((resolveRun) => {
    // detached: the file's children (kernels, workers, python) share its group and die with it.
    const child = spawn(process.execPath, ["--require", "tsx/cjs", "--require", HOOK_REPORTER, file], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: "0" },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    current = child;
    let stdout = "", stderr = "", timedOut = false, exit = { code: null, signal: null };
    child.stdout.setEncoding("utf8").on("data", (text) => { stdout += text; process.stdout.write(text); });
    child.stderr.setEncoding("utf8").on("data", (text) => { stderr += text; process.stderr.write(text); });
    const timer = setTimeout(() => { timedOut = true; killGroup(child); }, timeoutSeconds * 1000);
    child.on("error", (error) => { stderr += `\n${error.message}\n`; });
    child.on("exit", (code, signal) => {
      exit = { code, signal };
      // A grandchild in another group could hold the pipes open for ever: stop waiting for them.
      setTimeout(() => { child.stdout.destroy(); child.stderr.destroy(); }, 5000).unref();
    });
    child.on("close", () => {
      clearTimeout(timer);
      current = null;
      resolveRun({ stdout, stderr, exitCode: exit.code, signal: exit.signal, timedOut, timeoutSeconds });
    });
  });
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    if (current) killGroup(current);
    console.error(`\ntest-all: interrupted (${signal})`);
    process.exit(130);
  });
}

const { pattern, patternText, dir } = parseCli(process.argv.slice(2));
const timeoutSeconds = readTimeoutSeconds(process.env);
const allowSkips = process.env.GRADLAB_ALLOW_SKIPS === "1";

// Notebook smoke tests are slowest: run them last so unit failures show up first.
const files = listTests(dir)
  .filter((f) => !pattern || pattern.test(relative(root, f)))
  .sort((a, b) => Number(a.includes("notebook")) - Number(b.includes("notebook")) || a.localeCompare(b));
if (files.length === 0) {
  console.log(`test-all: no test file under ${relative(root, dir) || "."} matches ${patternText ?? "*.test.ts"}`);
  console.log(closingLine({ passed: 0, failed: 0, skipped: 0 }));
  process.exit(1);
}

const totals = { passed: 0, failed: 0, skipped: 0 };
const rows = [];
const skippedIn = [];
for (const file of files) {
  const started = Date.now();
  const verdict = judgeFile(await runFile(file, timeoutSeconds));
  totals.passed += verdict.passed;
  totals.failed += verdict.failed;
  totals.skipped += verdict.skipped;
  const name = relative(root, file);
  if (verdict.skipped) skippedIn.push(`${name} (${verdict.skipped})`);
  const status = verdict.failed ? "FAIL" : verdict.skipped ? "SKIP" : "ok  ";
  const counted = verdict.total === null ? "no summary" : `${verdict.passed}/${verdict.total} passed${verdict.skipped ? `, ${verdict.skipped} skipped` : ""}`;
  rows.push(`${status} ${name}  ${counted}  ${((Date.now() - started) / 1000).toFixed(1)}s`);
  for (const reason of verdict.reasons) rows.push(`       ${reason}`);
}
console.log("\n" + rows.join("\n"));
if (skippedIn.length) {
  console.log(`skipped tests (test.skip, or the rest of a file using test.only) in: ${skippedIn.join(", ")}; ` +
    (allowSkips ? "allowed by GRADLAB_ALLOW_SKIPS=1" : "a skip fails the run (GRADLAB_ALLOW_SKIPS=1 to allow)"));
}
console.log(closingLine(totals));
process.exit(totals.failed === 0 && (totals.skipped === 0 || allowSkips) ? 0 : 1);
