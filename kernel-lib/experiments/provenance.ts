/**
 * Where a run came from: the gradlab version, the git commit of the checkout, the compute backend
 * in use, and the project root (for the default store location `reports/runs/<study>.jsonl`).
 *
 * The project root is found by walking up from this module to the package.json named "gradlab",
 * so it is the same from `kernel-lib/experiments/*.ts` (tsx, tests), from
 * `dist/kernel-lib/experiments/*.js` (notebooks), and whatever the notebook's working folder is.
 * Version and commit are looked up once per process; a missing git (or a copy outside a
 * repository) records `null` rather than failing a sweep.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import * as tf from "@tensorflow/tfjs";
import { backendReport } from "../backend";

interface PackageInfo { root: string | null; version: string }
let packageInfo: PackageInfo | null = null;

function findPackage(): PackageInfo {
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, "package.json");
    try {
      const pkg = JSON.parse(fs.readFileSync(candidate, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "gradlab") return { root: dir, version: String(pkg.version ?? "unknown") };
    } catch {
      /* no package.json here (or unreadable): keep walking */
    }
    const parent = path.dirname(dir);
    if (parent === dir) return { root: null, version: "unknown" };
    dir = parent;
  }
}

function pkg(): PackageInfo {
  if (packageInfo === null) packageInfo = findPackage();
  return packageInfo;
}

/** The folder holding gradlab's package.json (falls back to the working folder). */
export function projectRoot(): string {
  return pkg().root ?? process.cwd();
}

/** gradlab's package.json version. */
export function gradlabVersion(): string {
  return pkg().version;
}

let commit: string | null | undefined;

/** `git rev-parse HEAD` of the project checkout, or null outside a git repository. */
export function gitCommit(): string | null {
  if (commit === undefined) {
    try {
      const out = execFileSync("git", ["rev-parse", "HEAD"], { cwd: projectRoot(), encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 5000 });
      commit = /^[0-9a-f]{40}$/.test(out.trim()) ? out.trim() : null;
    } catch {
      commit = null;
    }
  }
  return commit;
}

/**
 * The backend the run used: the `initBackend` candidate (distinguishes tfjs-node from
 * tfjs-node-gpu) when it is still the active one, else tfjs's own active backend name, else null
 * when no tfjs backend was ever set (a study that does not touch tensors).
 */
export function activeBackendName(): string | null {
  const active = tf.engine().backendName ?? null;
  const report = backendReport();
  if (report !== null && report.tfBackend === active) return report.candidate;
  return active;
}

/** The default store of a study: `<project root>/reports/runs/<study>.jsonl`. */
export function defaultStorePath(study: string): string {
  return path.join(projectRoot(), "reports", "runs", `${study}.jsonl`);
}
