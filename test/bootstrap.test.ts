import { test } from "uvu";
import * as assert from "uvu/assert";
import { bootstrapInterval } from "../kernel-lib/stats/bootstrap";
import { rocAuc } from "../kernel-lib/metrics/ranking";
import { Rng } from "../kernel-lib/random";
import { EmptyInputError, InvalidArgumentError } from "../kernel-lib/errors";
import { expectError } from "./helpers";

test("the interval of a sample mean covers the mean and matches the normal approximation", () => {
  const rng = new Rng(1);
  const x = Array.from({ length: 400 }, () => rng.normal() * 2 + 5);
  const mean = (idx: number[]) => idx.reduce((s, i) => s + x[i], 0) / idx.length;
  const ci = bootstrapInterval(x.length, mean, { seed: 2, resamples: 2000 });
  const m = mean(x.map((_, i) => i));
  const sd = Math.sqrt(x.reduce((s, v) => s + (v - m) ** 2, 0) / (x.length - 1));
  const halfWidth = 1.96 * sd / Math.sqrt(x.length);
  assert.is(ci.estimate, m);
  assert.ok(ci.lo < m && m < ci.hi);
  assert.ok(Math.abs((ci.hi - ci.lo) / 2 - halfWidth) / halfWidth < 0.15, `width ${(ci.hi - ci.lo) / 2} vs ${halfWidth}`);
});

test("seeded: same seed same interval; resamples where the statistic is undefined are redrawn", () => {
  const labels = [1, 0, 0, 0, 0, 0, 0, 0, 0, 1];
  const scores = [0.9, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.2, 0.1, 0.8];
  const auc = (idx: number[]) => rocAuc(idx.map((i) => scores[i]), idx.map((i) => labels[i]));
  const a = bootstrapInterval(10, auc, { seed: 5, resamples: 200 });
  const b = bootstrapInterval(10, auc, { seed: 5, resamples: 200 });
  assert.equal(a, b);
  assert.ok(a.redrawn > 0, "some resamples had a single class");
  assert.ok(a.lo <= a.estimate && a.estimate <= a.hi);
});

test("bad input gets typed errors", async () => {
  await expectError(() => bootstrapInterval(0, () => 1, { seed: 1 }), EmptyInputError, "n");
  await expectError(() => bootstrapInterval(5, () => 1, { seed: 1, level: 1.2 }), InvalidArgumentError, "options.level");
  await expectError(() => bootstrapInterval(5, () => 1, { seed: 1, resamples: 3 }), InvalidArgumentError, "options.resamples");
  // Defined on the full sample, undefined on (almost) every resample: a clear error, no endless loop.
  const onlyDistinct = (idx: number[]) => { if (new Set(idx).size < idx.length) throw new Error("repeat"); return 1; };
  await expectError(() => bootstrapInterval(8, onlyDistinct, { seed: 1, resamples: 10 }), InvalidArgumentError, "statistic");
});

test.run();
