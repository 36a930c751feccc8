/**
 * Install invariants: danfojs-node must share the project's single tfjs-core (package.json
 * `overrides`), or tensors would cross two engines; the native tfjs builds stay optional.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync, existsSync, lstatSync } from "node:fs";
import { join } from "node:path";

const root = join(__dirname, "..");

/** Every installed copy of a package, found by walking node_modules (nested ones included). */
function installedCopies(pkg: string): { path: string; version: string }[] {
  const found: { path: string; version: string }[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 8 || !existsSync(dir)) return;
    const candidate = join(dir, pkg, "package.json");
    if (existsSync(candidate)) found.push({ path: candidate, version: JSON.parse(readFileSync(candidate, "utf8")).version });
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (name.startsWith("@")) {
        for (const sub of readdirSync(full)) walk(join(full, sub, "node_modules"), depth + 1);
      } else if (lstatSync(full).isDirectory()) { // not through links: node_modules/gradlab links back to the root
        walk(join(full, "node_modules"), depth + 1);
      }
    }
  };
  walk(join(root, "node_modules"), 0);
  return found;
}

test("exactly one @tensorflow/tfjs-core is installed, and danfo uses it", () => {
  const copies = installedCopies("@tensorflow/tfjs-core");
  assert.is(copies.length, 1, `copies: ${copies.map((c) => `${c.path}@${c.version}`).join(", ")}`);
  assert.is(copies[0].version, "4.22.0");
  // danfo's own require of tfjs resolves to the project's core: a tensor made through danfo's
  // tfjs is registered in the same engine the library counts.
  const danfoDir = join(root, "node_modules", "danfojs-node");
  const coreFromDanfo = require.resolve("@tensorflow/tfjs-core/package.json", { paths: [danfoDir] });
  assert.is(coreFromDanfo, copies[0].path);
});

test("package.json keeps the native builds optional and pins danfo's overrides", () => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  assert.ok(pkg.optionalDependencies["@tensorflow/tfjs-node-gpu"], "tfjs-node-gpu is optional");
  assert.not.ok(pkg.dependencies["@tensorflow/tfjs-node-gpu"], "tfjs-node-gpu is not a hard dependency");
  assert.is(pkg.overrides["danfojs-node"]["@tensorflow/tfjs-node"], "npm:@tensorflow/tfjs@4.22.0");
  assert.is(pkg.overrides["danfojs-node"].xlsx, "0.18.5");
});

test.run();
