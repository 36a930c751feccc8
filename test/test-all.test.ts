/**
 * scripts/test-all.mjs, the `npm test` driver, must never make a failure or a skip look like a
 * pass. Its counting rules (scripts/lib/test-summary.mjs) are tested as pure functions, then the
 * real script runs the fixture test files of test/fixtures/test-all: a passing file, a failing
 * `test.before` (whose message uvu swallows), two failing `test.only` tests, a file that prints
 * "Total:" lines and a fake summary of its own, a `test.skip`, a file that crashes while
 * loading, and, alone with a 3-second limit, a file that never finishes.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { closingLine, hookFailures, HOOK_MARKER, judgeFile, parseUvuSummary } from "../scripts/lib/test-summary.mjs";

const root = join(__dirname, "..");
const script = join(root, "scripts", "test-all.mjs");
const fixtures = join(root, "test", "fixtures", "test-all");

function testAll(args: string[], env: Record<string, string> = {}) {
  const run = spawnSync(process.execPath, [script, ...args], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, GRADLAB_ALLOW_SKIPS: "", GRADLAB_TEST_TIMEOUT_SECONDS: "", ...env },
    timeout: 120_000,
  });
  const lines = run.stdout.trimEnd().split("\n");
  return { code: run.status, stdout: run.stdout, stderr: run.stderr, all: run.stdout + run.stderr, closing: lines.at(-1) };
}

const block = (total: number, passed: number, skipped: number) => `\n  Total:     ${total}\n  Passed:    ${passed}\n  Skipped:   ${skipped}\n  Duration:  3.21ms\n\n`;
const ran = (stdout: string, extra: Partial<Parameters<typeof judgeFile>[0]> = {}) =>
  judgeFile({ stdout, stderr: "", exitCode: 0, signal: null, timedOut: false, timeoutSeconds: 60, ...extra });

// ---------------------------------------------------------------- counting rules (pure)

test("parseUvuSummary reads the last complete uvu block, never a stray Total: line", () => {
  assert.equal(parseUvuSummary(block(7, 5, 2)), { total: 7, passed: 5, skipped: 2 });
  assert.is(parseUvuSummary("budgetTotal: 1\nTotal: 1\nPassed: 1\n"), null, "loose lines are not a summary");
  assert.equal(parseUvuSummary("x" + block(1, 1, 0) + "tests…" + block(3, 1, 0)), { total: 3, passed: 1, skipped: 0 }, "the last block wins");
  assert.equal(parseUvuSummary("\x1b[32m" + block(2, 2, 0).replace("Passed:    2", "\x1b[32mPassed:    2\x1b[39m")), { total: 2, passed: 2, skipped: 0 }, "colour codes are ignored");
  assert.is(parseUvuSummary(""), null);
});

test("judgeFile: failed = Total − Passed (skips are outside Total), crashes, hooks, exit codes and timeouts", () => {
  assert.equal(ran(block(3, 1, 4)), { passed: 1, failed: 2, skipped: 4, total: 3, reasons: [] }, "test.only: 2 of 3 failed, 4 left out");
  assert.equal(ran(block(2, 2, 0)), { passed: 2, failed: 0, skipped: 0, total: 2, reasons: [] });
  const crashed = ran("partial output", { exitCode: 1 });
  assert.equal([crashed.passed, crashed.failed, crashed.total], [0, 1, null]);
  assert.match(crashed.reasons[0], "no uvu summary: the file crashed or exited before its tests finished (exit code 1)");
  const hook = `${HOOK_MARKER}test.before: Error: db missing\n    at x\n`;
  assert.equal(hookFailures(hook + hook), ["test.before: Error: db missing"], "a repeated line is one failure");
  assert.equal(ran(block(2, 0, 0), { stderr: hook }), { passed: 0, failed: 2, skipped: 0, total: 2, reasons: ["hook failed: test.before: Error: db missing"] });
  assert.is(ran(block(0, 0, 0), { stderr: hook }).failed, 1, "a failing hook of a suite without tests is still a failure");
  const lateExit = ran(block(2, 2, 0), { exitCode: 1 });
  assert.equal([lateExit.passed, lateExit.failed], [2, 1]);
  assert.match(lateExit.reasons[0], "exited with code 1 after its tests passed");
  const hung = ran(block(1, 1, 0), { timedOut: true, exitCode: null, signal: "SIGKILL", timeoutSeconds: 3 });
  assert.equal([hung.passed, hung.failed], [0, 1], "a timed-out file's partial output is not believed");
  assert.equal(hung.reasons, ["timed out: still running after 3 s, killed (set GRADLAB_TEST_TIMEOUT_SECONDS to change the limit)"]);
  assert.is(closingLine({ passed: 5, failed: 7, skipped: 3 }), "5 passed, 7 failed, 3 skipped");
});

// ---------------------------------------------------------------- the real script on fixture files

test("test-all on the fixtures: hook message shown, .only and stray Total: counted right, skips and crashes reported", () => {
  const r = testAll(["--dir", join(fixtures, "counts")]);
  assert.is(r.code, 1, r.all);
  assert.is(r.closing, "5 passed, 7 failed, 3 skipped", r.all);
  // A file's row in the closing table (a failure's stack in the output names the file too).
  const row = (file: string) => r.stdout.split("\n").find((line) => /^(ok  |FAIL|SKIP) /.test(line) && line.includes(`test/fixtures/test-all/counts/${file}  `)) ?? "";
  assert.match(row("passing.test.ts"), /^ok {3}\S+ {2}2\/2 passed/);
  assert.match(row("before-hook.test.ts"), /^FAIL \S+ {2}0\/2 passed/);
  assert.match(r.stdout, "       hook failed: test.before: Error: fixture database missing 31\n");
  assert.match(r.stderr, /fixture database missing 31\n\s+at .*before-hook\.test\.ts:7/, "the hook's stack is printed");
  assert.match(row("only.test.ts"), /^FAIL \S+ {2}1\/3 passed, 2 skipped/);
  assert.match(row("early-total.test.ts"), /^FAIL \S+ {2}1\/3 passed/);
  assert.match(row("skipped.test.ts"), /^SKIP \S+ {2}1\/1 passed, 1 skipped/);
  assert.match(row("crash.test.ts"), /^FAIL \S+ {2}no summary/);
  assert.match(r.stdout, "no uvu summary: the file crashed or exited before its tests finished (exit code 1)");
  assert.match(r.stdout, "skipped tests (test.skip, or the rest of a file using test.only) in: test/fixtures/test-all/counts/only.test.ts (2), test/fixtures/test-all/counts/skipped.test.ts (1); a skip fails the run");
});

test("test-all: a skip fails the run unless GRADLAB_ALLOW_SKIPS=1; a pattern selects files; no match is an error", () => {
  const skipped = testAll(["--dir", join(fixtures, "counts"), "skipped"]);
  assert.equal([skipped.code, skipped.closing], [1, "1 passed, 0 failed, 1 skipped"], skipped.all);
  const allowed = testAll(["--dir", join(fixtures, "counts"), "skipped"], { GRADLAB_ALLOW_SKIPS: "1" });
  assert.equal([allowed.code, allowed.closing], [0, "1 passed, 0 failed, 1 skipped"], allowed.all);
  assert.match(allowed.stdout, "allowed by GRADLAB_ALLOW_SKIPS=1");
  const passing = testAll(["--dir", join(fixtures, "counts"), "passing"]);
  assert.equal([passing.code, passing.closing], [0, "2 passed, 0 failed, 0 skipped"], passing.all);
  const none = testAll(["--dir", join(fixtures, "counts"), "nothing-matches-this"]);
  assert.is(none.code, 1);
  assert.match(none.stdout, "test-all: no test file under test/fixtures/test-all/counts matches nothing-matches-this");
  const badTimeout = testAll(["--dir", join(fixtures, "counts"), "passing"], { GRADLAB_TEST_TIMEOUT_SECONDS: "soon" });
  assert.is(badTimeout.code, 2);
  assert.match(badTimeout.stderr, 'GRADLAB_TEST_TIMEOUT_SECONDS: expected a positive number of seconds, got "soon"');
  const badOption = testAll(["--bogus"]);
  assert.equal([badOption.code, badOption.stderr.split("\n")[0]], [2, "test-all: unknown option --bogus"]);
});

test("test-all: a file that never finishes is killed at the per-file timeout and counted as a failure", () => {
  const started = Date.now();
  const r = testAll(["--dir", join(fixtures, "hang")], { GRADLAB_TEST_TIMEOUT_SECONDS: "3" });
  const seconds = (Date.now() - started) / 1000;
  assert.is(r.code, 1, r.all);
  assert.is(r.closing, "0 passed, 1 failed, 0 skipped");
  assert.match(r.stdout, /FAIL test\/fixtures\/test-all\/hang\/hang\.test\.ts {2}no summary/);
  assert.match(r.stdout, "timed out: still running after 3 s, killed (set GRADLAB_TEST_TIMEOUT_SECONDS to change the limit)");
  assert.ok(seconds >= 3 && seconds < 60, `stopped after ${seconds.toFixed(1)} s`);
});

test("npm test never runs the fixture test files (folders named fixtures are not searched)", () => {
  const r = testAll(["test-all/counts/passing"]);
  assert.is(r.code, 1, r.all);
  assert.match(r.stdout, "no test file under test matches test-all/counts/passing");
});

test.run();
