// Makes `import * as lab from "gradlab"` work in a notebook anywhere in this project.
//
// Why a link: tslab compiles each cell with TypeScript's Node10 module resolution and runs it with
// a `require` rooted at the notebook's folder. Both look for node_modules/gradlab in that folder
// and its parents; Node's self-reference through package.json "exports" would satisfy `require`
// but not the type checker. So `npm run build` (and with it install, start, test and lab) keeps
// node_modules/gradlab as a relative symlink to the project root; its package.json "types" and
// "exports" then point both at dist/kernel-lib. A project that depends on gradlab gets the same
// resolution from npm itself, so nothing is linked when this package sits inside a node_modules.
import { lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const link = join(root, "node_modules", "gradlab");
const target = relative(dirname(link), root); // ".."

function current() {
  try {
    const stat = lstatSync(link);
    return stat.isSymbolicLink() ? readlinkSync(link) : "not-a-link";
  } catch {
    return null;
  }
}

if (root.split(sep).includes("node_modules")) {
  console.log("link-self: gradlab is installed as a dependency; npm resolves it, nothing to link");
} else {
  const found = current();
  if (found === "not-a-link") {
    console.warn(`link-self: ${link} exists and is not a link; left alone (import "gradlab" resolves to it)`);
  } else if (found !== target) {
    if (found !== null) rmSync(link);
    mkdirSync(dirname(link), { recursive: true });
    // A junction (Windows) needs an absolute target.
    symlinkSync(process.platform === "win32" ? root : target, link, process.platform === "win32" ? "junction" : "dir");
    console.log(`link-self: node_modules/gradlab -> ${target}`);
  }
}
