/**
 * `npm run bench`: runs every workload on the chosen backend (wasm by default), then the same
 * workloads in numpy / PyTorch where available, and writes bench/results.json (atomically) plus a
 * printed table. Speed is always a ratio against a baseline run in this same command.
 */
import { mkdtempSync, readFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initBackend, describeBackend } from "../../kernel-lib/backend";
import { atomicWriteFile } from "../../kernel-lib/io/atomic";
import { BenchResult, formatTable, pythonWithNumpy, runPythonSide } from "./harness";
import { benchGini, benchProbe } from "./workloads";
import { benchGraphs, numpyGraphRow } from "./g2is-workloads";
import { benchAgentObjectives } from "./agent-workloads";
import { benchSweepJobs } from "./sweep-workloads";
import { benchProducts } from "./product-workloads";

const root = join(__dirname, "..", "..");

async function main(): Promise<void> {
  const backend = await initBackend();
  console.log(describeBackend(backend));
  const workdir = mkdtempSync(join(tmpdir(), "gradlab-bench-"));
  const rows: BenchResult[] = [];
  try {
    rows.push(...benchProducts());
    console.log("matrix products done");
    const probe = await benchProbe(workdir);
    rows.push(...probe.rows);
    console.log(`probe done: ${probe.batchedPerSecond.toFixed(1)} traj/s batched`);
    const giniBench = await benchGini(workdir);
    rows.push(...giniBench.rows);
    console.log(`gini done: ${(giniBench.seconds * 1000).toFixed(0)} ms`);
    const graphRows = await benchGraphs(workdir);
    rows.push(...graphRows);
    console.log("graphs and features done");
    const agent = await benchAgentObjectives(workdir);
    rows.push(...agent.rows);
    console.log("agent scoring and GRPO objectives done");
    rows.push(...benchSweepJobs(workdir));
    console.log("sweep --jobs 2 vs --jobs 1 done");

    const recorded = join(root, ".jupyter", "python-path");
    const candidates = [process.env.GRADLAB_PYTHON ?? "", existsSync(recorded) ? readFileSync(recorded, "utf8").trim() : "", "/usr/bin/python3", "python3"].filter(Boolean);
    const python = pythonWithNumpy(candidates);
    if (python === null) {
      console.log("python with numpy not found: the numpy / PyTorch comparisons are skipped (install python3-numpy python3-torch)");
    } else {
      const side = runPythonSide(python, join(__dirname, "python_side.py"), workdir);
      if (typeof side === "string") {
        console.log(side);
      } else {
        const g = side.gini as { seconds: number; value: number } | undefined;
        if (g) rows.push({
          id: "gini.vs_numpy", value: giniBench.seconds * 1000, unit: "ms", baseline: "numpy sort + weighted sum",
          baselineValue: g.seconds * 1000, ratio: g.seconds / giniBench.seconds, notes: `numpy gini=${g.value.toFixed(6)}`,
        });
        const loop = side.probe_loop;
        if (typeof loop === "object" && loop !== null) {
          const l = loop as { seconds: number; examples: number; maxRelErrorVsGradlab: number; threads: number; torch: string };
          const torchPerSecond = l.examples / l.seconds;
          rows.push({
            id: "probe.vs_torch", value: probe.parallelPerSecond, unit: "traj/s", baseline: `PyTorch ${l.torch} per-example loop, ${l.threads} threads`,
            baselineValue: torchPerSecond, ratio: probe.parallelPerSecond / torchPerSecond,
            notes: `both on the two cores (gradlab: 2 worker threads; one thread: ${probe.batchedPerSecond.toFixed(1)} traj/s = ${(probe.batchedPerSecond / torchPerSecond).toFixed(2)}×); same weights and batch; max rel err PyTorch vs gradlab ${l.maxRelErrorVsGradlab.toExponential(2)}`,
          });
        } else if (loop !== undefined) console.log(`PyTorch loop: ${String(loop)}`);
        const vmap = side.probe_vmap;
        if (typeof vmap === "object" && vmap !== null) {
          const v = vmap as { seconds: number; examples: number; maxRelErrorVsGradlab: number };
          const perSecond = v.examples / v.seconds;
          rows.push({
            id: "probe.vs_torch_vmap", value: probe.parallelPerSecond, unit: "traj/s", baseline: "PyTorch functorch vmap(grad)",
            baselineValue: perSecond, ratio: probe.parallelPerSecond / perSecond, notes: `max rel err ${v.maxRelErrorVsGradlab.toExponential(2)}`,
          });
        } else if (vmap !== undefined) console.log(`PyTorch vmap: ${String(vmap)}`);
        const twin = side.action_grpo;
        if (typeof twin === "object" && twin !== null) {
          const t = twin as { seconds: number; episodes: number; threads: number; torch: string; maxAbsLogPiDiff: number; lossDiff: number; maxAbsGradDiff: number; maxAbsGrad: number };
          rows.push({
            id: "agent.grpo-update.actions_vs_torch", value: agent.actionsSeconds * 1000, unit: "ms", baseline: `PyTorch ${t.torch} twin of the same update, ${t.threads} threads`,
            baselineValue: t.seconds * 1000, ratio: t.seconds / agent.actionsSeconds,
            notes: `${t.episodes} MiniALF episodes, reference pass + forward + backward + step; checked: max |Δ log π| ${t.maxAbsLogPiDiff.toExponential(1)}, |Δ loss| ${t.lossDiff.toExponential(1)}, max |Δ grad| ${t.maxAbsGradDiff.toExponential(1)} (largest ${t.maxAbsGrad.toExponential(1)})`,
          });
        } else if (twin !== undefined) console.log(`PyTorch action-level twin: ${String(twin)}`);
      }
      const exactRow = graphRows.find((r) => r.id === "graph.exact.threads2_vs_threads1");
      const g2isSide = runPythonSide(python, join(__dirname, "python_g2is.py"), workdir);
      if (typeof g2isSide === "string") console.log(g2isSide);
      else if (exactRow) {
        const row = numpyGraphRow(exactRow, g2isSide);
        if (row) rows.push(row);
      }
    }
  } finally {
    rmSync(workdir, { recursive: true, force: true });
  }
  mkdirSync(join(root, "bench"), { recursive: true });
  const out = join(root, "bench", "results.json");
  // The file is the list of rows; each row's notes name the backend it ran on.
  for (const row of rows) row.notes = `[${backend.candidate}] ${row.notes}`;
  atomicWriteFile(out, JSON.stringify(rows, null, 2) + "\n");
  console.log("\n" + formatTable(rows));
  console.log(`\nwrote ${out}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
