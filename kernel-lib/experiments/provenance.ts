/**
 * Where a run came from: the gradlab version, the git commit of the checkout (and whether it had
 * uncommitted changes), the compute backend in use and its version, node and tfjs versions, the
 * host and the process's peak memory — so a number in a store can be traced to what produced it
 * once runs come from many machines — and the project root (for the default store location
 * `reports/runs/<study>.jsonl`).
 *
 * The project root is found by walking up from this module to the package.json named "gradlab",
 * so it is the same from `kernel-lib/experiments/*.ts` (tsx, tests), from
 * `dist/kernel-lib/experiments/*.js` (notebooks), and whatever the notebook's working folder is.
 * Version, commit and dirty flag are looked up once per process (a file edited during a long
 * sweep is not noticed); a missing git (or a copy outside a repository) records `null` rather
 * than failing a sweep. `runProvenance()` is called when a run finishes, so `peakRssMB` is the
 * process's peak so far: the run's own peak in a fresh worker process, an upper bound in a
 * process that ran other work before.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as os from "node:os";
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

let dirty: boolean | null | undefined;

/**
 * True if the checkout has uncommitted changes — modified, staged or untracked files (git-ignored
 * ones like reports/ do not count) — false if clean, null outside a git repository.
 */
export function gitDirty(): boolean | null {
  if (dirty === undefined) {
    try {
      const out = execFileSync("git", ["status", "--porcelain", "--untracked-files=normal"], { cwd: projectRoot(), encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10000 });
      dirty = out.trim().length > 0;
    } catch {
      dirty = null;
    }
  }
  return dirty;
}

function packageVersion(id: string): string | null {
  try {
    return String((require(`${id}/package.json`) as { version?: string }).version ?? "") || null;
  } catch {
    return null;
  }
}

/**
 * Version of the package that implements the active backend: tfjs-backend-cpu/-webgl, the wasm
 * backend, or tfjs-node(-gpu) with the libtensorflow it binds ("4.22.0 (libtensorflow 2.9.1)").
 * Null when no backend is active. Never initialises a backend.
 */
export function backendVersion(): string | null {
  const name = activeBackendName();
  if (name === null) return null;
  const versions = tf.version as Record<string, string>;
  switch (name) {
    case "cpu": return versions["tfjs-backend-cpu"] ?? null;
    case "webgl": return versions["tfjs-backend-webgl"] ?? null;
    case "wasm": return packageVersion("@tensorflow/tfjs-backend-wasm");
    case "tfjs-node": case "tfjs-node-gpu": case "tensorflow": {
      const id = name === "tensorflow" ? "@tensorflow/tfjs-node" : `@tensorflow/${name}`;
      const registry = (tf.engine() as unknown as { registry?: Record<string, { binding?: { TF_Version?: string } }> }).registry;
      const lib = registry?.tensorflow?.binding?.TF_Version;
      const v = packageVersion(id);
      return v === null ? null : lib ? `${v} (libtensorflow ${lib})` : v;
    }
    default: return null;
  }
}

/** Peak resident memory of this process so far, in MB (one decimal). */
export function peakRssMB(): number {
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10; // maxRSS is in kilobytes
}

/** The provenance fields of a run record (spread them into the record when the run finishes). */
export interface RunProvenance {
  gitDirty: boolean | null;
  nodeVersion: string;
  tfjsVersion: string;
  backendVersion: string | null;
  host: string;
  peakRssMB: number;
}

/** Provenance of a run finishing now in this process; see the module header. */
export function runProvenance(): RunProvenance {
  return {
    gitDirty: gitDirty(), nodeVersion: process.version, tfjsVersion: (tf.version as Record<string, string>).tfjs ?? tf.version_core,
    backendVersion: backendVersion(), host: os.hostname(), peakRssMB: peakRssMB(),
  };
}
