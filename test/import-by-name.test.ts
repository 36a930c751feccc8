/**
 * Issue 20 (4): `import * as lab from "gradlab"` works in a notebook anywhere in the project and in
 * a project that depends on gradlab. tslab compiles a cell with TypeScript's Node10 resolution and
 * runs it with a require rooted at the notebook's folder, so both are checked from there: the
 * type checker must reach dist/kernel-lib/index.d.ts and require must reach the same built
 * index.js that `../dist/kernel-lib` loads (one module instance, one tfjs engine).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import * as ts from "typescript";

const root = path.join(__dirname, "..");
const builtIndex = path.join(root, "dist", "kernel-lib", "index.js");

function typesFrom(folder: string): string | undefined {
  const resolved = ts.resolveModuleName("gradlab", path.join(folder, "cell.ts"), { moduleResolution: ts.ModuleResolutionKind.Node10, esModuleInterop: true }, ts.sys);
  return resolved.resolvedModule?.resolvedFileName;
}

test("build leaves node_modules/gradlab as a relative link to the project root", () => {
  const link = path.join(root, "node_modules", "gradlab");
  assert.ok(fs.lstatSync(link).isSymbolicLink(), "node_modules/gradlab is a symlink (run npm run build)");
  assert.is(fs.readlinkSync(link), "..");
  assert.ok(fs.existsSync(builtIndex), "dist/kernel-lib/index.js exists (npm run build)");
});

test("from notebooks/ and a nested folder: TypeScript finds the .d.ts and require finds the built index", () => {
  for (const folder of [path.join(root, "notebooks"), path.join(root, "notebooks", "some", "nested", "folder")]) {
    assert.is(fs.realpathSync(typesFrom(folder) ?? ""), path.join(root, "dist", "kernel-lib", "index.d.ts"), `types from ${folder}`);
    assert.is(fs.realpathSync(require.resolve("gradlab", { paths: [folder] })), builtIndex, `require from ${folder}`);
  }
  // The package name and the relative path load one module instance (a child process: this test's
  // own require cache has kernel-lib as .ts through tsx).
  const check = spawnSync(process.execPath, ["-e", `const a = require("gradlab"); const b = require(${JSON.stringify(builtIndex)}); process.exit(a === b && typeof a.models.fromLayersModel === "function" ? 0 : 1)`], { cwd: path.join(root, "notebooks"), encoding: "utf8" });
  assert.is(check.status, 0, check.stderr);
});

test("a project that depends on gradlab resolves it through package.json main/types/exports", () => {
  const project = fs.mkdtempSync(path.join(os.tmpdir(), "gradlab-user-"));
  try {
    fs.mkdirSync(path.join(project, "node_modules"));
    fs.symlinkSync(root, path.join(project, "node_modules", "gradlab"), "dir"); // what npm install <path> makes
    assert.is(fs.realpathSync(typesFrom(project) ?? ""), path.join(root, "dist", "kernel-lib", "index.d.ts"));
    assert.is(fs.realpathSync(require.resolve("gradlab", { paths: [project] })), builtIndex);
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
    assert.equal(pkg.exports["."], { types: "./dist/kernel-lib/index.d.ts", default: "./dist/kernel-lib/index.js" });
  } finally {
    fs.rmSync(project, { recursive: true, force: true });
  }
});

test("notebooks 05 and 06 import gradlab by name", () => {
  for (const name of ["05-bring-your-own-gradients.ipynb", "06-your-own-tfjs-model.ipynb"]) {
    const source = (JSON.parse(fs.readFileSync(path.join(root, "notebooks", name), "utf8")).cells as { source: string[] }[]).map((c) => c.source.join("")).join("\n");
    assert.match(source, 'import * as lab from "gradlab";', name);
    assert.not.match(source, "dist/kernel-lib", name);
  }
});

test.run();
