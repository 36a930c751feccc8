/**
 * Compound claims: `allOf` (an intersection–union test — every component must hold, p = the
 * largest component p, a contradiction needs a Holm-corrected component the other way) and
 * `anyOf` (an existence claim, Holm-corrected), checked against their definitions on verdicts
 * with known p-values, and for size under the null by simulation.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { allOf, anyOf, holmAdjust, pairedVerdict, PairedVerdict } from "../kernel-lib/stats";
import { Rng } from "../kernel-lib/random";
import { EmptyInputError, InvalidArgumentError } from "../kernel-lib/errors";
import { expectError } from "./helpers";

// Eight-pair differences with exact p-values: all positive → 2/256; one of eight negative and small → larger p.
const strong = pairedVerdict([0.5, 1.1, 0.2, 0.9, 1.7, 0.4, 0.8, 1.3]);
const weaker = pairedVerdict([0.5, 1.1, 0.2, 0.9, 1.7, 0.4, 0.8, -0.1]);
const null8 = pairedVerdict([0.5, -1.1, 0.2, -0.9, 1.7, -0.4, 0.8, -1.3]);
const against = pairedVerdict([-0.5, -1.1, -0.2, -0.9, -1.7, -0.4, -0.8, -1.3]);

test("allOf: positive only when every component is; p is the largest component p; names the weakest", () => {
  assert.is(strong.verdict, "positive");
  assert.is(weaker.verdict, "positive");
  const both = allOf([strong, weaker], ["a", "b"]);
  assert.is(both.verdict, "positive");
  assert.is(both.p, Math.max(strong.p, weaker.p));
  assert.match(both.test, /intersection–union test over 2 comparisons \(weakest: b;/);
  const withNull = allOf([strong, null8], ["a", "b"]);
  assert.equal([withNull.verdict, withNull.p], ["inconclusive", null8.p]);
});

test("allOf: a component significant the other way contradicts the claim only after Holm", () => {
  const contradicted = allOf([strong, against], ["a", "b"]);
  assert.is(contradicted.verdict, "negative");
  assert.is(contradicted.p, holmAdjust([strong.p, against.p])[1]);
  assert.match(contradicted.test, /contradicted by b/);
  // A borderline opposite result (p just under 0.05) among 4 is not a contradiction once corrected.
  const borderline: PairedVerdict = { ...against, p: 0.04, verdict: "negative" };
  const four = allOf([null8, null8, null8, borderline], ["a", "b", "c", "d"]);
  assert.is(four.verdict, "inconclusive");
});

test("anyOf: Holm over the components, the strongest reported", () => {
  const any = anyOf([null8, strong], ["a", "b"]);
  assert.is(any.verdict, "positive");
  assert.is(any.p, holmAdjust([null8.p, strong.p])[1]);
  assert.match(any.test, /Holm over 2 comparisons \(strongest: b;/);
  const none = anyOf([null8, null8], ["a", "b"]);
  assert.is(none.verdict, "inconclusive");
});

test("allOf / anyOf keep their size under the null (simulated, 3 components of n = 10)", () => {
  const rng = new Rng("compound-null");
  let allRejects = 0, anyRejects = 0;
  const trials = 1500;
  for (let t = 0; t < trials; t++) {
    const parts = [0, 1, 2].map(() => pairedVerdict(Array.from({ length: 10 }, () => rng.normal())));
    if (allOf(parts, ["a", "b", "c"]).verdict === "positive") allRejects++;
    if (anyOf(parts, ["a", "b", "c"]).verdict !== "inconclusive") anyRejects++;
  }
  const limit = 0.05 + 3 * Math.sqrt((0.05 * 0.95) / trials);
  console.log(`  null rejection: allOf ${(allRejects / trials).toFixed(3)}, anyOf ${(anyRejects / trials).toFixed(3)} (limit ${limit.toFixed(3)})`);
  assert.ok(allRejects / trials <= limit);
  assert.ok(anyRejects / trials <= limit);
});

test("allOf / anyOf: typed errors", async () => {
  await expectError(() => allOf([], []), EmptyInputError, "verdicts");
  await expectError(() => allOf([strong], ["a", "b"]), InvalidArgumentError, "labels");
  await expectError(() => anyOf([], []), EmptyInputError, "verdicts");
  await expectError(() => anyOf([strong, weaker], ["a"]), InvalidArgumentError, "labels");
});

test.run();
