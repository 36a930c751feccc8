/**
 * Regenerates test/fixtures/official-walk.json: builds the cases of
 * test/fixtures/official-walk-cases.ts, runs the numpy transcription of the official G2IS code
 * (scripts/g2is_official_walk.py) on them and stores, per case, the input hash and the official
 * selection. Run: npx tsx scripts/g2is-official-fixture.ts (needs python3 with numpy).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { OFFICIAL_CASE_SPECS, buildOfficialCase, officialCaseHash, officialCaseJson } from "../test/fixtures/official-walk-cases";

const root = path.resolve(__dirname, "..");
const cases = OFFICIAL_CASE_SPECS.map(buildOfficialCase);
const run = spawnSync("python3", [path.join(root, "scripts", "g2is_official_walk.py")], {
  input: JSON.stringify({ cases: cases.map(officialCaseJson) }), encoding: "utf8", maxBuffer: 1 << 28,
});
if (run.status !== 0) throw new Error(`g2is_official_walk.py failed (${run.status}): ${run.stderr}`);
const { results } = JSON.parse(run.stdout) as { results: { name: string }[] };
const fixture = {
  about: "Official G2IS selections (numpy transcription, scripts/g2is_official_walk.py) on the cases of test/fixtures/official-walk-cases.ts",
  cases: cases.map((c, i) => ({ name: c.name, inputHash: officialCaseHash(c), expected: results[i] })),
};
const out = path.join(root, "test", "fixtures", "official-walk.json");
fs.writeFileSync(out, JSON.stringify(fixture, null, 1) + "\n");
console.log(`wrote ${out}: ${fixture.cases.map((c) => `${c.name} ${(c.expected as { indices: number[] }).indices.length} rows`).join(", ")}`);
