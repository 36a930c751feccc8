#!/usr/bin/env node
// Sets up Jupyter and registers the project's tslab kernel. Idempotent: a second run only checks.
//   node scripts/setup-jupyter.mjs            Jupyter + kernel (what `npm start` / `npm run lab` need)
//   node scripts/setup-jupyter.mjs --for-tests  also numpy, PyTorch and Chromium (cross-checks and
//                                               the browser test of exported reports) and
//                                               redis-server (the queue-sweep tests start their own)
// Jupyter comes from Debian's packages: installed with apt-get when we are root, otherwise we stop
// and print the exact command to run.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import {
  findJupyterPython, jupyterPrefix, kernelRegistered, kernelSpecPath, projectRoot, recordPython, tslabBinary,
} from "./lib/jupyter-env.mjs";

const JUPYTER_PACKAGES = ["jupyter-notebook", "jupyter-nbconvert", "python3-nbclient"];
const FONT_PACKAGES = ["fonts-dejavu-core"];
const TEST_PACKAGES = ["python3-numpy", "python3-torch", "chromium", "redis-server"];
const forTests = process.argv.includes("--for-tests");
const unknown = process.argv.slice(2).filter((a) => a !== "--for-tests");
if (unknown.length) fail(`setup-jupyter: unknown option ${unknown[0]} (valid: --for-tests)`);

function fail(message) {
  console.error(message);
  process.exit(1);
}

function run(cmd, args, what) {
  const r = spawnSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  if (r.status !== 0) fail(`setup-jupyter: ${what} failed (exit ${r.status ?? r.signal}): ${cmd} ${args.join(" ")}`);
}

function dpkgInstalled(pkg) {
  const r = spawnSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" });
  return r.status === 0 && r.stdout.includes("install ok installed");
}

function aptInstall(packages, why) {
  const missing = packages.filter((p) => !dpkgInstalled(p));
  if (missing.length === 0) return;
  const command = `apt-get update && apt-get install -y ${missing.join(" ")}`;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (!isRoot) fail(`setup-jupyter: ${why} needs Debian packages that are missing. Run as root:\n  sudo sh -c '${command}'`);
  console.log(`setup-jupyter: installing ${missing.join(" ")} (${why})`);
  run("apt-get", ["update", "-qq"], "apt-get update");
  run("apt-get", ["install", "-y", "-qq", ...missing], "apt-get install");
}

let python = findJupyterPython();
if (python === null) {
  aptInstall(JUPYTER_PACKAGES, "Jupyter");
  python = findJupyterPython();
  if (python === null) fail("setup-jupyter: Jupyter was installed but no Python imports jupyter_client, IPython, nbconvert and nbclient; set GRADLAB_PYTHON to one that does");
}
const record = recordPython(python);
mkdirSync(dirname(record.file), { recursive: true });
writeFileSync(record.file, python + "\n");

// resvg draws figure text with system fonts; without any, PNGs would have no labels.
aptInstall(FONT_PACKAGES, "fonts for figure text");
if (forTests) aptInstall(TEST_PACKAGES, "the cross-check, browser and queue tests");

if (!kernelRegistered()) {
  if (!existsSync(tslabBinary)) fail(`setup-jupyter: ${tslabBinary} is missing; run npm install first`);
  mkdirSync(jupyterPrefix, { recursive: true });
  run(python, [`${projectRoot}/node_modules/tslab/python/install.py`, `--tslab=${tslabBinary}`, `--prefix=${jupyterPrefix}`], "registering the tslab kernel");
  if (!kernelRegistered()) fail(`setup-jupyter: the kernel spec was not written to ${kernelSpecPath}`);
}
console.log(`setup-jupyter: ok — python ${python}, kernel tslab at ${kernelSpecPath}`);
