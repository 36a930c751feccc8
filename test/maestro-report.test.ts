/**
 * The MAESTRO report helpers on hand-built runs: which prompts and seeds pair, the test each
 * comparison runs, the type margins, the identity check and the plateau gain, against values
 * computed by hand.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { EmptyInputError, InvalidArgumentError, UnknownOptionError } from "../kernel-lib/errors";
import { pairedVerdict } from "../kernel-lib/stats/verdict";
import {
  MaestroStudyRun, advantageIdentityCheck, comparePrompts, compareRuns, convergenceGain, typeMargins, variantRuns,
} from "../kernel-lib/studies/maestro";
import { assertClose, expectError } from "./helpers";

const weights = (creative: number[], factual: number[], concise: number[]) => ({ creative, factual, concise });

function fakeRun(variant: string, seed: number, promptUtility: number[], extra: Record<string, unknown> = {}): MaestroStudyRun {
  return {
    arm: variant as never, tier: "bank", mapping: "discrete", setting: "default", variant, conductor: variant === "maestro", seed,
    metrics: {
      promptUtility, promptLength: promptUtility.map((u) => 10 * u), secondsPerStep: 0.1 + seed / 100, maxAdvantageGroupSum: 1e-15 * (seed + 1),
      finalWeights: weights([0.2, 0.2, 0.2, 0.2, 0.2], [0.2, 0.2, 0.2, 0.2, 0.2], [0.2, 0.2, 0.2, 0.2, 0.2]),
      curves: { step: [0, 1, 2, 3], heldOut: { step: [0, 40, 80, 100], trueUtility: [0.5, 0.6, 0.7, 0.72] } },
      ...extra,
    } as never,
  };
}

const runs = [
  fakeRun("maestro", 0, [0.5, 0.6, 0.7]), fakeRun("maestro", 1, [0.4, 0.5, 0.9]), fakeRun("maestro", 2, [0.3, 0.3, 0.3]),
  fakeRun("equal", 1, [0.3, 0.5, 0.8]), fakeRun("equal", 0, [0.4, 0.4, 0.4]),
];

test("comparePrompts pairs prompt i of seed s with prompt i of the same seed, only on shared seeds, and runs the stratified test", () => {
  const v = comparePrompts(runs, "bank", "maestro", "equal");
  assert.equal(v.seeds, [0, 1]);
  const differences = [0.1, 0.2, 0.3, 0.1, 0, 0.1];
  const direct = pairedVerdict(differences, { clusters: [0, 0, 0, 1, 1, 1], unitName: "prompt", clusterName: "seed" });
  assertClose(v.estimate, direct.estimate, 1e-12);
  assert.is(v.p, direct.p);
  assert.is(v.test, direct.test);
  assert.is(v.sample, "6 prompts in 2 seeds");
  const len = comparePrompts(runs, "bank", "maestro", "equal", "promptLength", { alternative: "greater" });
  assertClose(len.estimate, 10 * direct.estimate, 1e-9);
  assert.is(len.alternative, "greater");
});

test("compareRuns pairs a once-per-run quantity over seeds", () => {
  const v = compareRuns(runs, "bank", "maestro", "equal", (r) => r.metrics.secondsPerStep);
  assert.equal(v.seeds, [0, 1]);
  assert.is(v.n, 2);
  assertClose(v.estimate, 0, 1e-12);
  assert.is(v.sample, "2 seeds");
});

test("typeMargins: own dominant component's weight minus the most any other type gives it", () => {
  const r = fakeRun("maestro", 0, [0], {
    finalWeights: weights([0.1, 0.1, 0.6, 0.1, 0.1], [0.5, 0.2, 0.1, 0.1, 0.1], [0.3, 0.1, 0.1, 0.4, 0.1]),
  });
  const m = typeMargins(r);
  assertClose(m.creative, 0.6 - 0.1, 1e-12);
  assertClose(m.factual, 0.5 - 0.3, 1e-12);
  assertClose(m.concise, 0.4 - 0.1, 1e-12);
});

test("advantageIdentityCheck and convergenceGain", () => {
  const c = advantageIdentityCheck(runs);
  assert.is(c.value, 1e-15 * 3);
  assert.is(c.runs, 5);
  assert.is(c.steps, 20);
  const g = convergenceGain(runs, "bank", "maestro");
  // 75% of 100 steps = 75: the last stored point at or before it is step 40 (0.6) → gain 0.12.
  assertClose(g.gain, 0.12, 1e-12);
  assertClose(g.final, 0.72, 1e-12);
  assert.is(g.seeds, 3);
  assert.ok(Number.isNaN(convergenceGain(runs, "bank", "oracle").gain));
  assert.equal(variantRuns(runs, "bank", "equal").map((r) => r.seed), [0, 1]);
});

test("typed errors", async () => {
  await expectError(() => comparePrompts(runs, "bank", "maestro", "oracle"), EmptyInputError, "runs");
  await expectError(() => comparePrompts(runs, "bank", "maestro", "equal", "length" as never), InvalidArgumentError, "metric");
  await expectError(() => comparePrompts(runs, "bank", "maestro", "equal", "promptUtility", { alpha: 0.1 } as never), UnknownOptionError, "options.alpha");
  await expectError(() => compareRuns(runs, "bank", "maestro", "equal", (r) => r.seed, { alternative: "up" as never }), UnknownOptionError, "options.alternative");
  await expectError(() => advantageIdentityCheck([]), EmptyInputError, "runs");
});

test.run();
