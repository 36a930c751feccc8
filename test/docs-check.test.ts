/**
 * scripts/docs-check.ts finds undocumented public exports: on a small fixture project (its own
 * kernel-lib/index.ts) it must flag exactly the exports without a doc comment — a function, a
 * class, an interface, a namespace re-export without a comment, a member of that namespace — and
 * pass the documented ones, including a namespace whose comment sits on its `export * as` line.
 * The check over the real API is `npm run docs:check` (not in npm test while g2is, maestro and
 * studies still have undocumented exports).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { exportDocs } from "../scripts/docs-check";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "gradlab-docs-check-"));
const write = (rel: string, text: string) => {
  const file = path.join(root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
};

write("kernel-lib/index.ts", `
export * from "./flat";
/** A documented namespace. */
export * as good from "./good";
export * as bare from "./bare";
`);
write("kernel-lib/flat.ts", `
/** Adds one. */
export function documented(x: number): number { return x + 1; }
export function undocumented(x: number): number { return x - 1; }
/** A documented class. */
export class Thing {}
export class BareThing {}
/** A documented interface. */
export interface Shape { a: number }
export interface BareShape { a: number }
`);
write("kernel-lib/good/index.ts", `
/** Documented inside. */
export const inside = 1;
`);
write("kernel-lib/bare/index.ts", `
export const alsoBare = 2;
/** Documented in a bare namespace. */
export const fine = 3;
`);

test("flags exactly the exports without a doc comment, namespaces included", () => {
  const docs = exportDocs(root);
  const missing = docs.filter((d) => !d.documented).map((d) => d.id).sort();
  assert.equal(missing, ["BareShape", "BareThing", "bare", "bare.alsoBare", "undocumented"]);
  const ids = docs.map((d) => d.id).sort();
  assert.equal(ids, ["BareShape", "BareThing", "Shape", "Thing", "bare", "bare.alsoBare", "bare.fine", "documented", "good", "good.inside", "undocumented"]);
  const byId = new Map(docs.map((d) => [d.id, d]));
  assert.is(byId.get("good")?.kind, "namespace");
  assert.is(byId.get("Shape")?.kind, "type");
  assert.is(byId.get("documented")?.kind, "value");
  assert.is(byId.get("bare.alsoBare")?.folder, "bare");
  assert.is(byId.get("documented")?.folder, "(root)");
});

test.after(() => fs.rmSync(root, { recursive: true, force: true }));
test.run();
