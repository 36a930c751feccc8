/**
 * scripts/docs-check.ts finds undocumented public exports: on a small fixture project (its own
 * kernel-lib/index.ts) it must flag exactly the exports without a doc comment — a function, a
 * class, an interface, a namespace re-export without a comment, a member of that namespace — and
 * pass the documented ones, including a namespace whose comment sits on its `export * as` line.
 * Then the real API: no public export of kernel-lib/index.ts lacks documentation (what
 * `npm run docs:check` reports), and `npm run docs`'s typedoc builds the reference with no error and
 * no warning (a warning is usually a doc comment typedoc misreads, e.g. "[x]: …" taken for a link).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
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

const repo = path.resolve(__dirname, "..");

test("the real API: every public export has a documentation comment", () => {
  const docs = exportDocs(repo);
  const missing = docs.filter((d) => !d.documented).map((d) => `${d.id} (${d.folder})`);
  console.log(`  [docs] ${docs.length} public exports, ${missing.length} undocumented`);
  assert.ok(docs.length > 500, `${docs.length} exports found: the checker reads the real index`);
  assert.equal(missing, [], "undocumented exports");
});

test("npm run docs: typedoc builds the reference with no errors and no warnings", () => {
  const out = path.join(root, "api-docs");
  const log = execFileSync(process.execPath, [path.join(repo, "node_modules/typedoc/bin/typedoc"), "--out", out], { cwd: repo, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" } });
  assert.match(log, /Found 0 errors and 0 warnings|html generated/, log.slice(-400));
  assert.not.match(log, /\[warning\]|\[error\]/, log.slice(-1200));
  assert.ok(fs.existsSync(path.join(out, "index.html")), "index.html written");
  assert.ok(fs.readdirSync(path.join(out, "functions")).length > 100, "a page per function");
});

test.after(() => fs.rmSync(root, { recursive: true, force: true }));
test.run();
