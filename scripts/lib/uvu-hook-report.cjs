// Preloaded by scripts/test-all.mjs into every test process (`node --require`), before the test
// file loads uvu. Why: uvu 0.5.6 runs a suite inside `try { … } finally { …; return … }`, so an
// error thrown by a `test.before` hook, or by a `test.after.each` hook, is swallowed by that
// `return`: the suite's tests are reported as not passed, with no message anywhere, and the
// process exits 0. This wraps those hooks (of `test` and of every `suite()`) so that such an
// error is printed to stderr with its stack, under a line test-all counts:
//     [test-all] hook failed: test.before in suite "name": Error: message
// and the process exits non-zero. The error is re-thrown, so uvu's own control flow (skip the
// suite's tests) is unchanged. `test.before.each` errors are already reported by uvu as the
// test's failure, and a `test.after` error crashes the process with its stack, so both are left
// alone.
"use strict";

const uvu = require("uvu");

const MARKER = "[test-all] hook failed: ";
let failures = 0;

function describe(error) {
  if (error instanceof Error) return { line: `${error.name}: ${error.message}`, stack: error.stack ?? "" };
  return { line: String(error), stack: "" };
}

function guarded(register, label, suiteName) {
  return (handler) =>
    register(async (state) => {
      try {
        return await handler(state);
      } catch (error) {
        failures++;
        const { line, stack } = describe(error);
        const where = suiteName ? ` in suite ${JSON.stringify(suiteName)}` : "";
        process.stderr.write(`\n${MARKER}${label}${where}: ${line}\n${stack}\n`);
        throw error;
      }
    });
}

function instrument(test, suiteName) {
  const before = test.before;
  const afterEach = test.after.each;
  test.before = guarded(before, "test.before", suiteName);
  test.before.each = before.each;
  test.after.each = guarded(afterEach, "test.after.each", suiteName);
  return test;
}

instrument(uvu.test, "");
const suite = uvu.suite;
uvu.suite = (name, state) => instrument(suite(name, state), name);

process.on("exit", () => {
  if (failures > 0 && !process.exitCode) process.exitCode = 1;
});
