#!/usr/bin/env node
// Runs every uvu test file (unit, property and notebook smoke tests) and ends with the line
// "N passed, M failed" that CI reads. Each file runs in its own process so one crashing suite
// (or a leaked backend switch) cannot take the others down, and a per-file summary is printed.
//   node scripts/test-all.mjs [pattern]     e.g. `npm test -- metrics`
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const pattern = process.argv[2] ? new RegExp(process.argv[2]) : null;

function listTests(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...listTests(full));
    else if (name.endsWith(".test.ts")) out.push(full);
  }
  return out;
}

// Notebook smoke tests are slowest: run them last so unit failures show up first.
const files = listTests(join(root, "test"))
  .filter((f) => !pattern || pattern.test(relative(root, f)))
  .sort((a, b) => Number(a.includes("notebook")) - Number(b.includes("notebook")) || a.localeCompare(b));

let passed = 0, failed = 0;
const rows = [];
for (const file of files) {
  const started = Date.now();
  const run = spawnSync(process.execPath, ["--require", "tsx/cjs", file], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, FORCE_COLOR: "0" },
    maxBuffer: 256 * 1024 * 1024,
  });
  const output = (run.stdout ?? "") + (run.stderr ?? "");
  process.stdout.write(output);
  const total = Number(/Total:\s+(\d+)/.exec(output)?.[1] ?? 0);
  const ok = Number(/Passed:\s+(\d+)/.exec(output)?.[1] ?? 0);
  const skipped = Number(/Skipped:\s+(\d+)/.exec(output)?.[1] ?? 0);
  // A file that crashed before uvu printed its summary counts as one failure.
  let bad = Math.max(0, total - ok - skipped);
  if (run.status !== 0 && bad === 0) bad = 1;
  passed += ok;
  failed += bad;
  rows.push(`${bad ? "FAIL" : "ok  "} ${relative(root, file)}  ${ok}/${total}  ${((Date.now() - started) / 1000).toFixed(1)}s`);
}
console.log("\n" + rows.join("\n"));
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && files.length > 0 ? 0 : 1);
