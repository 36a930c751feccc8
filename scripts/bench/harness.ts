/**
 * Benchmark plumbing: result rows, timing, the Python side. Every number is a ratio against a
 * baseline measured in the same command (never a timed assertion).
 */
import { spawnSync } from "node:child_process";

export interface BenchResult {
  id: string;
  value: number;
  unit: string;
  baseline: string;
  baselineValue: number | null;
  /** value relative to the baseline; > 1 means gradlab is better (faster / higher throughput). */
  ratio: number | null;
  notes: string;
}

/** Best (minimum) wall-clock seconds of `repeats` runs after one warm-up, and the last result. */
export async function bestOf<T>(repeats: number, fn: () => T | Promise<T>, warmup = true): Promise<{ seconds: number; result: T }> {
  let result = warmup ? await fn() : (undefined as T);
  let best = Infinity;
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    result = await fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return { seconds: best, result };
}

/** Finds a Python with numpy (the Jupyter one recorded by the setup script, else python3). */
export function pythonWithNumpy(candidates: string[]): string | null {
  for (const python of candidates) {
    const r = spawnSync(python, ["-c", "import numpy"], { encoding: "utf8" });
    if (r.status === 0) return python;
  }
  return null;
}

export function runPythonSide(python: string, script: string, workdir: string): Record<string, unknown> | string {
  const r = spawnSync(python, [script, workdir], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) return `python side failed (exit ${r.status}): ${(r.stderr || "").trim().split("\n").slice(-3).join(" | ")}`;
  try {
    return JSON.parse(r.stdout.trim().split("\n").pop() ?? "") as Record<string, unknown>;
  } catch {
    return `python side printed no JSON: ${r.stdout.slice(0, 200)}`;
  }
}

export function formatTable(rows: BenchResult[]): string {
  const cells = rows.map((r) => [
    r.id,
    `${r.value.toPrecision(4)} ${r.unit}`,
    r.baselineValue === null ? "—" : `${r.baselineValue.toPrecision(4)} (${r.baseline})`,
    r.ratio === null ? "—" : `${r.ratio.toFixed(2)}×`,
    r.notes,
  ]);
  const header = ["id", "value", "baseline", "ratio", "notes"];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (i === 4 ? 0 : c[i].length))));
  const line = (c: string[]) => c.map((x, i) => (i === 4 ? x : x.padEnd(widths[i]))).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w)).concat("-----")), ...cells.map(line)].join("\n");
}
