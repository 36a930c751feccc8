#!/usr/bin/env node
// `npm run lab`: opens Jupyter on notebooks/ with the project's tslab kernel (JUPYTER_PATH points
// at the project-local kernel spec in .jupyter/). JupyterLab is used when that Python has it,
// else the classic `jupyter notebook` that Debian ships. Extra arguments pass through, e.g.
//   npm run lab -- --no-browser --port 8899
// Prints the URL (with its token) once the server is up; Ctrl-C stops the server.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { findJupyterPython, jupyterEnv, kernelRegistered, projectRoot } from "./lib/jupyter-env.mjs";

const USAGE = `Usage: node scripts/lab.mjs [jupyter options ...]
Starts JupyterLab (or the classic notebook server) on notebooks/ with the tslab kernel.
Options after the script name are passed to Jupyter unchanged (e.g. --no-browser --port 8899).`;

function fail(message) {
  console.error(`lab: ${message}`);
  process.exit(1);
}

const passThrough = process.argv.slice(2);
if (passThrough.includes("--help") || passThrough.includes("-h")) {
  console.log(USAGE);
  process.exit(0);
}
const python = findJupyterPython();
if (python === null) fail("no Python with Jupyter found; run: node scripts/setup-jupyter.mjs");
if (!kernelRegistered()) fail("the tslab kernel is not registered; run: node scripts/setup-jupyter.mjs");
// `--notebook-dir=…` among the arguments overrides the project's notebooks/ folder.
const dirOverride = passThrough.find((a) => a.startsWith("--notebook-dir"));
const notebookDir = dirOverride ? null : join(projectRoot, "notebooks");
if (notebookDir && (!existsSync(notebookDir) || !statSync(notebookDir).isDirectory())) fail(`${notebookDir} does not exist`);
// Jupyter refuses to start as root (containers, CI machines) unless told to.
const rootFlag = typeof process.getuid === "function" && process.getuid() === 0 && !passThrough.includes("--allow-root") ? ["--allow-root"] : [];

/** JupyterLab if importable, else the classic notebook (the Debian packages installed here). */
function jupyterFrontend() {
  const has = (module) => spawnSync(python, ["-c", `import ${module}`], { stdio: "ignore" }).status === 0;
  if (has("jupyterlab")) return { module: "jupyterlab", label: "JupyterLab", dirFlag: "--notebook-dir" };
  if (has("notebook")) return { module: "notebook", label: "Jupyter Notebook", dirFlag: "--notebook-dir" };
  return null;
}

const frontend = jupyterFrontend();
if (frontend === null) fail(`${python} has neither jupyterlab nor notebook; run: node scripts/setup-jupyter.mjs`);
console.log(`lab: starting ${frontend.label} on ${notebookDir ?? dirOverride.split("=")[1] ?? "the given folder"} with ${python} (kernel: tslab)`);
const dirArgs = notebookDir ? [`${frontend.dirFlag}=${notebookDir}`] : [];
const child = spawn(python, ["-m", frontend.module, ...dirArgs, ...rootFlag, ...passThrough], {
  cwd: notebookDir ?? projectRoot,
  env: jupyterEnv(),
  stdio: ["inherit", "inherit", "pipe"],
});

// Jupyter logs to stderr; forward it and repeat the first URL with a token on a line of its own.
let announced = false;
let buffered = "";
child.stderr.setEncoding("utf8").on("data", (chunk) => {
  process.stderr.write(chunk);
  if (announced) return;
  buffered += chunk;
  const url = /(https?:\/\/(?:127\.0\.0\.1|localhost|\[::1\])[^\s]*)/.exec(buffered)?.[1];
  if (url && /token=|\/lab|\/tree/.test(url)) {
    announced = true;
    console.log(`\nlab: open ${url}\n`);
  }
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("close", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
child.on("error", (error) => fail(`could not start ${python}: ${error.message}`));
