/**
 * Figures that read at a glance (issue 21, part 7), checked on the spec AND on the laid-out scene
 * (Vega's own scenegraph, with the item bounds it draws the SVG/PNG from):
 *   - grouped bars: the error layer has the bars' xOffset, and each cap is centred on its own bar
 *     and narrower than it (full-width caps of touching bars read as one line across the group);
 *   - a reference-line label ("Random", "chance") lies outside the plot, clear of every bar, error
 *     bar and the legend; a histogram's rule label lies above the plot, one line per colour group;
 *   - the y-axis title says what error bars / bands are, and a histogram's says its n;
 *   - points carry tooltips (line points, bars); error bars do not show internal column names;
 *   - category labels that do not fit flat are slanted (flat ones print over each other);
 *   - a title wider than its plot wraps (to the whole grid's width under facet()).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { barChart, compileToVega, facet, heatmap, histogram, lineChart, VegaLiteSpec } from "../kernel-lib/viz";
import { InvalidArgumentError } from "../kernel-lib/errors";
import { expectError } from "./helpers";

interface Box { x1: number; y1: number; x2: number; y2: number }
interface SceneItem { marktype: string; name: string; role: string; box: Box; tooltip: unknown; text: unknown; datum: Record<string, unknown> }

/** Every item of the laid-out scene, with its bounds in the top-level view's coordinates. */
async function scene(spec: VegaLiteSpec): Promise<SceneItem[]> {
  const warnings: string[] = [];
  const vega: typeof import("vega") = require("vega");
  const view = new vega.View(vega.parse(compileToVega(spec, warnings) as never), { renderer: "none" });
  await view.runAsync();
  assert.equal(warnings, [], "vega-lite warnings");
  const out: SceneItem[] = [];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const walk = (mark: any, dx: number, dy: number) => {
    for (const item of mark.items ?? []) {
      const b = item.bounds;
      if (b && Number.isFinite(b.x1)) {
        out.push({ marktype: mark.marktype, name: mark.name ?? "", role: mark.role ?? "", box: { x1: b.x1 + dx, y1: b.y1 + dy, x2: b.x2 + dx, y2: b.y2 + dy }, tooltip: item.tooltip, text: item.text, datum: item.datum ?? {} });
      }
      if (mark.marktype === "group") for (const child of item.items ?? []) walk(child, dx + (item.x ?? 0), dy + (item.y ?? 0));
    }
  };
  walk(view.scenegraph().root, 0, 0);
  view.finalize();
  return out;
}

const overlaps = (a: Box, b: Box) => a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
const dataMarks = (items: SceneItem[]) => items.filter((i) => i.role === "mark" && i.marktype !== "group");
const bars = (items: SceneItem[]) => dataMarks(items).filter((i) => i.marktype === "rect" && i.name.startsWith("layer_0"));
const caps = (items: SceneItem[]) => dataMarks(items).filter((i) => i.marktype === "rect" && /^layer_1_layer_[01]_marks$/.test(i.name));
const labelOf = (items: SceneItem[], text: string) => dataMarks(items).filter((i) => i.marktype === "text" && String(i.text).startsWith(text));
const legendItems = (items: SceneItem[]) => items.filter((i) => i.role.startsWith("legend-"));
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const layers = (spec: VegaLiteSpec) => (((spec as any).spec ?? spec).layer ?? []) as Record<string, any>[];

// Fig. 3 of notebook 02 in miniature: two routing rules per metric, ± std, the Random baseline
// crossing the bars near their tops.
const fig3 = ["gini", "kurtosis", "cv", "hoyer"].flatMap((metric, i) => [
  { metric, rule: "PRISM", value: 60 + 3 * i, sd: 4 },
  { metric, rule: "Inverse", value: 52 + 2 * i, sd: 5 },
]);

test("grouped bars: the error layer has the bars' xOffset; each cap is centred on its own bar and narrower than it", async () => {
  const spec = barChart(fig3, { x: "metric", y: "value", color: "rule", error: "sd" });
  const [barLayer, errorLayer] = layers(spec);
  assert.ok(barLayer.encoding.xOffset, "bars are grouped by xOffset");
  assert.equal(errorLayer.encoding.xOffset, barLayer.encoding.xOffset, "the error layer takes the same xOffset as the bars");
  const items = await scene(spec);
  const drawnBars = bars(items), drawnCaps = caps(items);
  assert.is(drawnBars.length, 8);
  assert.is(drawnCaps.length, 16, "two caps per bar");
  for (const cap of drawnCaps) {
    const centre = (cap.box.x1 + cap.box.x2) / 2;
    const own = drawnBars.filter((b) => b.datum.metric === cap.datum.metric && b.datum.rule === cap.datum.rule);
    assert.is(own.length, 1, "the cap's own bar");
    const bar = own[0].box;
    assert.ok(Math.abs(centre - (bar.x1 + bar.x2) / 2) < 0.5, `cap of ${cap.datum.metric}/${cap.datum.rule} centred on its bar`);
    assert.ok(cap.box.x2 - cap.box.x1 <= 0.6 * (bar.x2 - bar.x1), `cap (${(cap.box.x2 - cap.box.x1).toFixed(1)} px) narrower than its bar (${(bar.x2 - bar.x1).toFixed(1)} px)`);
    assert.ok(cap.box.x1 > bar.x1 && cap.box.x2 < bar.x2, "the cap stays inside its bar's span, so it cannot touch the neighbour's");
  }
  // Ungrouped bars (one per category): caps are narrower than the bar too.
  const single = await scene(barChart([{ m: "gini", auc: 0.62, lo: 0.55, hi: 0.69 }, { m: "l2", auc: 0.7, lo: 0.62, hi: 0.77 }], { x: "m", y: "auc", lo: "lo", hi: "hi" }));
  const singleBar = bars(single)[0].box;
  for (const cap of caps(single)) assert.ok(cap.box.x2 - cap.box.x1 <= 0.6 * (singleBar.x2 - singleBar.x1), "single-bar cap narrower than the bar");
});

test("reference line: its label lies right of the plot, clear of bars, error bars and the legend (also per facet panel)", async () => {
  const label = "Random 50:50 (57.0)";
  const spec = barChart(fig3, { x: "metric", y: "value", color: "rule", error: "sd", referenceLine: 57, referenceLabel: label, width: 360 });
  const textLayer = layers(spec).find((l) => l.mark?.type === "text")!;
  assert.is(textLayer.mark.align, "left", "the label starts at the plot's right edge and runs outward");
  assert.ok(textLayer.mark.dx > 0, "with a gap");
  // At 57 the line crosses the bars near their tops; at 78 the label is level with the legend.
  const high = barChart(fig3, { x: "metric", y: "value", color: "rule", error: "sd", referenceLine: 78, referenceLabel: label, width: 360 });
  for (const s of [spec, high, facet(barChart(fig3.map((r) => ({ ...r, env: "A" })).concat(fig3.map((r) => ({ ...r, env: "B" }))), { x: "metric", y: "value", color: "rule", error: "sd", referenceLine: 57, referenceLabel: label, width: 220 }), { column: "env" })]) {
    const items = await scene(s);
    const labels = labelOf(items, "Random");
    assert.ok(labels.length >= 1, "the label is drawn");
    const marks = dataMarks(items).filter((i) => i.marktype === "rect" || (i.marktype === "rule" && i.name.startsWith("layer_1")));
    assert.ok(marks.length >= 8);
    for (const l of labels) {
      for (const m of marks) assert.ok(!overlaps(l.box, m.box), `label [${l.box.x1}, ${l.box.x2}] × [${l.box.y1}, ${l.box.y2}] overlaps a ${m.marktype} of ${JSON.stringify(m.datum)}`);
      for (const g of legendItems(items)) assert.ok(!overlaps(l.box, g.box), `label overlaps the legend's ${g.role}`);
    }
  }
  // A label is a string, and needs a line.
  await expectError(() => barChart(fig3, { x: "metric", y: "value", referenceLine: 1, referenceLabel: 3 as never }), InvalidArgumentError, "referenceLabel");
});

test("histogram: the rule's label lies above the plot, clear of the bars and the legend; one line per colour group", async () => {
  const values = Array.from({ length: 200 }, (_, i) => ({ x: Math.sin(i) * Math.cos(0.7 * i), g: i % 2 ? "p" : "q" }));
  // A fixed rule near the right edge, with a legend: the label's right half must not run into it.
  const fixed = await scene(histogram(values, { x: "x", color: "g", rule: 0.8, ruleLabel: "median 0.800 (routing threshold)" }));
  const [fixedLabel] = labelOf(fixed, "median");
  assert.ok(fixedLabel, "fixed rule label drawn");
  for (const b of bars(fixed)) assert.ok(!overlaps(fixedLabel.box, b.box), "label clear of the bars");
  assert.ok(fixedLabel.box.y2 <= Math.min(...bars(fixed).map((b) => b.box.y1)) + 0.5, "label above the tallest bar");
  for (const g of legendItems(fixed)) assert.ok(!overlaps(fixedLabel.box, g.box), `label overlaps the legend's ${g.role}`);
  // Computed medians per colour group: two labels, stacked, neither on a bar or on the other.
  const medians = await scene(histogram(values, { x: "x", color: "g", rule: "median" }));
  const labels = labelOf(medians, "median");
  assert.is(labels.length, 2);
  assert.ok(!overlaps(labels[0].box, labels[1].box), "the two groups' labels do not overlap");
  for (const l of labels) {
    for (const b of bars(medians)) assert.ok(!overlaps(l.box, b.box), "median label clear of the bars");
    for (const g of legendItems(medians)) assert.ok(!overlaps(l.box, g.box), `median label overlaps the legend's ${g.role}`);
  }
});

test("axis titles: error bars and bands say what they are, a histogram says its n", () => {
  // The lines as a reader reads them (a long line may be wrapped to the plot's height, tested below).
  const yTitle = (spec: VegaLiteSpec) => {
    const t = layers(spec)[0]?.encoding?.y?.title ?? (spec as { encoding: { y: { title: unknown } } }).encoding.y.title;
    return Array.isArray(t) ? t.join(" ").replace("(%) error", "(%)\nerror").split("\n") : t;
  };
  assert.equal(yTitle(barChart(fig3, { x: "metric", y: "value", color: "rule", error: "sd", yTitle: "success rate (%)", errorTitle: "± std over 3 seeds" })),
    ["success rate (%)", "error bars: ± std over 3 seeds"]);
  assert.equal(yTitle(barChart(fig3, { x: "metric", y: "value", error: "sd" })), ["value error bars: ± sd"], "default: the error column");
  assert.is(yTitle(barChart(fig3, { x: "metric", y: "value" })), "value", "no error bars, one line");
  const curve = [0, 1, 2].map((step) => ({ step, loss: 1 / (step + 1), lo: 0.5 / (step + 1), hi: 2 / (step + 1) }));
  assert.equal(yTitle(lineChart(curve, { x: "step", y: "loss", lo: "lo", hi: "hi", bandTitle: "95% CI over 5 seeds" })), ["loss band: 95% CI over 5 seeds"]);
  assert.equal(yTitle(lineChart(curve, { x: "step", y: "loss", lo: "lo", hi: "hi" })), ["loss band: lo to hi"]);
  const hist = histogram([1, 2, 2, 3, Number.NaN].map((x) => ({ x })), { x: "x" });
  assert.is(yTitle(hist), "count (n = 4 in all)", "n counts the plotted (finite) values");
  assert.is(yTitle(histogram([{ x: 1 }], { x: "x", yTitle: "trajectories" })), "trajectories", "the caller's title wins");
  return Promise.all([
    expectError(() => barChart(fig3, { x: "metric", y: "value", errorTitle: "± std" }), InvalidArgumentError, "options.errorTitle"),
    expectError(() => lineChart(curve, { x: "step", y: "loss", bandTitle: "± std" }), InvalidArgumentError, "options.bandTitle"),
  ]);
});

test("y-axis titles: a title longer than the plot is tall wraps, so it does not pad the figure above and below the plot", async () => {
  const title = "base loss − loss after fine-tuning on the selection (nats per answer token)";
  const spec = barChart(fig3, { x: "metric", y: "value", color: "rule", error: "sd", yTitle: title, errorTitle: "± std over 3 seeds", height: 180 });
  const lines = layers(spec)[0].encoding.y.title as string[];
  assert.ok(Array.isArray(lines) && lines.length >= 3, "wrapped into lines");
  assert.is(lines.join(" "), `${title} error bars: ± std over 3 seeds`, "no word lost");
  const items = await scene(spec);
  const axisTitle = items.filter((i) => i.role === "axis-title" && lines.includes(String([i.text].flat()[0])));
  assert.is(axisTitle.length, 1, "the y-axis title is drawn");
  // Bars start at 0, so their lowest edge is the plot's bottom; the plot is 180 px tall.
  const bottom = Math.max(...bars(items).map((b) => b.box.y2)), top = bottom - 180;
  assert.ok(axisTitle[0].box.y1 >= top - 1 && axisTitle[0].box.y2 <= bottom + 1, `the title [${axisTitle[0].box.y1}, ${axisTitle[0].box.y2}] stays within the plot's height [${top}, ${bottom}]`);
  // Each line fits the plot's height by Vega's own estimate (0.8 × 11 px per character).
  for (const line of lines) assert.ok([...line].length * 8.8 <= 180 + 8.8, `line fits: ${line}`);
  assert.is(layers(barChart(fig3, { x: "metric", y: "value", yTitle: "share" }))[0]?.encoding?.y?.title ?? (barChart(fig3, { x: "metric", y: "value", yTitle: "share" }) as { encoding: { y: { title: unknown } } }).encoding.y.title, "share", "a short title stays one string");
});

test("tooltips: line points and bars carry their values under readable titles; error bars none", async () => {
  const curve = ["a", "b"].flatMap((k, j) => [0, 1, 2].map((step) => ({ step, loss: 1 / (step + 1 + j), sd: 0.1, k })));
  const lineItems = await scene(lineChart(curve, { x: "step", y: "loss", std: "sd", color: "k", points: true, yTitle: "loss (nats)" }));
  const points = dataMarks(lineItems).filter((i) => i.marktype === "symbol");
  assert.is(points.length, 6, "a point per row");
  for (const p of points) {
    const t = p.tooltip as Record<string, string>;
    assert.ok(t && typeof t === "object", "each point has a tooltip");
    assert.is(t.step, String(p.datum.step));
    assert.is(Number(t["loss (nats)"]), Number((p.datum.loss as number).toPrecision(4)));
    assert.is(t.k, p.datum.k);
    assert.is(t.sd, "0.1");
  }
  // The lines themselves carry no tooltip (it would show one arbitrary row of a whole series).
  for (const l of dataMarks(lineItems).filter((i) => i.marktype === "line")) assert.is(l.tooltip, undefined);
  const barItems = await scene(barChart(fig3, { x: "metric", y: "value", color: "rule", error: "sd", yTitle: "success rate (%)" }));
  for (const b of bars(barItems)) assert.equal(b.tooltip, { metric: b.datum.metric, rule: b.datum.rule, "success rate (%)": String(b.datum.value), sd: String(b.datum.sd) });
  for (const c of dataMarks(barItems).filter((i) => i.name.startsWith("layer_1"))) assert.ok(c.tooltip === undefined || c.tooltip === null, "no error-bar tooltip with internal column names");
});

test("category axis: labels that do not fit their band are slanted, far enough apart not to touch; short ones stay flat and apart", async () => {
  const matrices = [0, 1].flatMap((l) => ["q", "k", "v", "o", "gate", "up", "down"].map((m) => ({ matrix: `layer${l}.${m}`, norm: 1 + l })));
  for (const spec of [barChart(matrices, { x: "matrix", y: "norm", width: 420 }), heatmap(matrices.map((r) => ({ ...r, row: "a" })), { x: "matrix", y: "row", value: "norm", width: 420 })]) {
    const labels = (await scene(spec)).filter((i) => i.role === "axis-label" && /^layer/.test(String(i.text)));
    assert.is(labels.length, 14);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const angle = (labels[0] as any).angle ?? layers(spec)[0]?.encoding?.x?.axis?.labelAngle ?? (spec as any).encoding?.x?.axis?.labelAngle;
    assert.ok(angle !== 0, "long labels are slanted");
    const xs = labels.map((l) => l.box.x2).sort((a, b) => a - b);
    // Slanted text lines are parallel: their distance apart is the anchor spacing × sin|angle|.
    for (let i = 1; i < xs.length; i++) assert.ok((xs[i] - xs[i - 1]) * Math.sin((Math.abs(angle) * Math.PI) / 180) >= 10, "slanted labels a font height apart");
  }
  const short = (await scene(barChart(fig3, { x: "metric", y: "value" }))).filter((i) => i.role === "axis-label" && ["gini", "kurtosis", "cv", "hoyer"].includes(String(i.text)));
  assert.is(short.length, 4);
  for (let i = 0; i < short.length; i++) for (let j = i + 1; j < short.length; j++) assert.ok(!overlaps(short[i].box, short[j].box), "flat labels apart");
});

test("titles: a title wider than the plot wraps at spaces to the plot's width; under facet() to the grid's", () => {
  const long = "Greedy success on MiniALF: SFT (steps 0–32), then GRPO (right of the dashed line); held-out = 32 seen-split tasks";
  const rows = [0, 1, 2].flatMap((step) => ["a", "b", "c"].map((panel) => ({ step, v: step, panel })));
  const spec = lineChart(rows, { x: "step", y: "v", title: long, subtitle: "one seed", width: 360 });
  const title = spec.title as { text: string | string[]; subtitle?: string };
  assert.ok(Array.isArray(title.text) && title.text.length >= 2, "wrapped into lines");
  assert.is((title.text as string[]).join(" "), long, "no word lost or split");
  for (const line of title.text as string[]) assert.ok([...line].length * 7.5 <= 360, `line fits 360 px: ${line}`);
  assert.is(title.subtitle, "one seed");
  assert.is((lineChart(rows, { x: "step", y: "v", title: "Short title" }).title as { text: unknown }).text, "Short title", "a title that fits stays one string");
  // Three 200 px panels side by side: the title may span 640 px, so it wraps into fewer lines than at one panel's width.
  const panel = lineChart(rows, { x: "step", y: "v", title: long, width: 200 });
  const grid = facet(panel, { column: "panel" });
  const gridLines = [(grid.title as { text: string | string[] }).text].flat();
  const panelLines = [(panel.title as { text: string | string[] }).text].flat();
  assert.is(gridLines.join(" "), long);
  assert.ok(gridLines.length < panelLines.length, `grid title ${gridLines.length} lines, one panel's ${panelLines.length}`);
  for (const line of gridLines) assert.ok([...line].length * 7.5 <= 3 * 200 + 2 * 20, `line fits the grid: ${line}`);
});

test.run();
