// What one test file's run means for the closing line of `npm test` (scripts/test-all.mjs):
// how many tests passed, failed and were skipped, and why, read from what uvu itself printed.
//
// Why each rule (uvu 0.5.6, dist/index.js):
//   - uvu ends a process with exactly one summary block on stdout:
//         "\n  Total:     7\n  Passed:    5\n  Skipped:   2\n  Duration:  12.34ms\n\n"
//     A test may print anything before it (a line "budgetTotal: 1", even a whole fake block), so
//     only the LAST complete block of the file's own stdout counts, never a stray "Total:".
//   - "Total" counts the tests that were meant to run: with `test.only` only those, and tests
//     skipped by `test.skip` or left out by `.only` are in "Skipped", not in "Total". So
//     failed = Total − Passed; subtracting Skipped as well would hide failures.
//   - a failing `test.before` / `test.after.each` is swallowed by uvu (exit code 0, no message);
//     scripts/lib/uvu-hook-report.cjs prints it under HOOK_MARKER, and it is a failure here even
//     when the suite had no tests to fail.
//   - no summary at all means the file crashed or exited early: one failure, since we cannot
//     know how many of its tests would have failed. A non-zero exit after a clean summary (an
//     error after the tests) is one failure too.

export const HOOK_MARKER = "[test-all] hook failed: ";

const SUMMARY = /^ {2}Total: +(\d+)\r?\n {2}Passed: +(\d+)\r?\n {2}Skipped: +(\d+)\r?\n {2}Duration: +[\d.]+m?s\r?$/gm;

/** Drops ANSI colour codes (uvu colours its summary when colour is forced on). */
export function stripAnsi(text) {
  return String(text).replace(/\x1b\[[0-9;]*m/g, "");
}

/**
 * uvu's own summary: the last complete `Total/Passed/Skipped/Duration` block of `stdout`, as
 * `{ total, passed, skipped }`, or null when there is none.
 */
export function parseUvuSummary(stdout) {
  let last = null;
  for (const match of stripAnsi(stdout).matchAll(SUMMARY)) last = match;
  if (last === null) return null;
  return { total: Number(last[1]), passed: Number(last[2]), skipped: Number(last[3]) };
}

/**
 * The distinct `HOOK_MARKER` lines printed by the hook reporter, without the marker. Distinct,
 * because uvu runs a failing `after.each` twice (after the test, then again in its catch).
 */
export function hookFailures(stderr) {
  const lines = stripAnsi(stderr)
    .split(/\r?\n/)
    .filter((line) => line.startsWith(HOOK_MARKER))
    .map((line) => line.slice(HOOK_MARKER.length));
  return [...new Set(lines)];
}

/**
 * One file's counts and the reasons it failed beyond uvu's own failure reports:
 * `{ passed, failed, skipped, total, reasons }`. `run` is `{ stdout, stderr, exitCode, signal,
 * timedOut, timeoutSeconds }` (exitCode null when killed).
 */
export function judgeFile(run) {
  const reasons = [];
  if (run.timedOut) {
    reasons.push(`timed out: still running after ${run.timeoutSeconds} s, killed (set GRADLAB_TEST_TIMEOUT_SECONDS to change the limit)`);
  }
  const summary = run.timedOut ? null : parseUvuSummary(run.stdout);
  const hooks = hookFailures(run.stderr);
  for (const hook of hooks) reasons.push(`hook failed: ${hook}`);
  if (summary === null) {
    if (!run.timedOut) {
      const how = run.signal ? `killed by ${run.signal}` : `exit code ${run.exitCode}`;
      reasons.push(`no uvu summary: the file crashed or exited before its tests finished (${how})`);
    }
    return { passed: 0, failed: Math.max(1, hooks.length), skipped: 0, total: null, reasons };
  }
  let failed = summary.total - summary.passed;
  if (failed === 0 && hooks.length > 0) failed = hooks.length;
  if (failed === 0 && run.exitCode !== 0) {
    reasons.push(`exited with ${run.signal ?? `code ${run.exitCode}`} after its tests passed`);
    failed = 1;
  }
  return { passed: summary.passed, failed, skipped: summary.skipped, total: summary.total, reasons };
}

/** The closing line CI reads: `N passed, M failed, K skipped`. */
export function closingLine({ passed, failed, skipped }) {
  return `${passed} passed, ${failed} failed, ${skipped} skipped`;
}
