// Where Jupyter lives for this project: which Python has it, where the project-local kernel spec
// is registered, and the environment a Jupyter child process needs. Shared by the setup script,
// the notebook runner and `npm run lab`.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const projectRoot = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
export const jupyterPrefix = join(projectRoot, ".jupyter");
export const jupyterDataDir = join(jupyterPrefix, "share", "jupyter");
export const kernelSpecPath = join(jupyterDataDir, "kernels", "tslab", "kernel.json");
export const tslabBinary = join(projectRoot, "node_modules", ".bin", "tslab");
const pythonRecord = join(jupyterPrefix, "python-path");

// The modules a Python needs to run Jupyter headless with the tslab kernel.
const REQUIRED_MODULES = ["jupyter_client", "IPython", "nbconvert", "nbclient", "nbformat"];

/** Does this interpreter import everything Jupyter needs? */
export function pythonHasJupyter(python) {
  const probe = spawnSync(python, ["-c", `import ${REQUIRED_MODULES.join(", ")}`], { encoding: "utf8" });
  return probe.status === 0;
}

/** Candidate interpreters, most specific first. The first python3 on PATH may lack Jupyter (pyenv). */
export function pythonCandidates() {
  const list = [];
  if (process.env.GRADLAB_PYTHON) list.push(process.env.GRADLAB_PYTHON);
  if (existsSync(pythonRecord)) list.push(readFileSync(pythonRecord, "utf8").trim());
  list.push("/usr/bin/python3", "python3", "/usr/local/bin/python3", "python");
  return [...new Set(list.filter(Boolean))];
}

export function findJupyterPython() {
  return pythonCandidates().find(pythonHasJupyter) ?? null;
}

export function recordPython(python) {
  return { file: pythonRecord, python };
}

/** Environment for Jupyter children: the project-local kernel spec is found first. */
export function jupyterEnv(extra = {}) {
  const inherited = process.env.JUPYTER_PATH ? `:${process.env.JUPYTER_PATH}` : "";
  return { ...process.env, JUPYTER_PATH: `${jupyterDataDir}${inherited}`, PYDEVD_DISABLE_FILE_VALIDATION: "1", ...extra };
}

/** Is the project-local tslab kernel registered and pointing at this checkout's binary? */
export function kernelRegistered() {
  if (!existsSync(kernelSpecPath)) return false;
  try {
    const spec = JSON.parse(readFileSync(kernelSpecPath, "utf8"));
    return Array.isArray(spec.argv) && spec.argv[0] === tslabBinary && existsSync(tslabBinary);
  } catch {
    return false;
  }
}
