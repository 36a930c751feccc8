// Executes one (already injected) notebook through execute.py with the Jupyter python and the
// project's tslab kernel, then turns the driver's result into what a person needs: which cell
// of *their* notebook failed (1-based, counting all cells as the file has them, and which code
// cell that is) and the one line that says why.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { jupyterEnv } from "../jupyter-env.mjs";
import { errorOutputText, summariseError } from "./outputs.mjs";
import { runProcess, tail } from "./process.mjs";

const DRIVER = fileURLToPath(new URL("./execute.py", import.meta.url));

/**
 * Runs the driver; resolves `{ result, executed }` (the driver's JSON and the executed notebook).
 * Throws Error with the driver's stderr when the driver itself broke (no result written), and
 * InterruptedError when `signal` aborts.
 */
export async function executeNotebook({ python, inputPath, outputPath, resultPath, cwd, timeoutSeconds, signal }) {
  const args = [DRIVER, "--input", inputPath, "--output", outputPath, "--result", resultPath, "--cwd", cwd, "--kernel", "tslab", "--timeout", String(timeoutSeconds)];
  const run = await runProcess(python, args, { cwd, env: jupyterEnv(), signal });
  let result;
  try {
    result = JSON.parse(readFileSync(resultPath, "utf8"));
  } catch {
    throw new Error(`the execution driver exited with ${run.code ?? run.signal} and wrote no result:\n${tail(run.stderr)}`);
  }
  const executed = JSON.parse(readFileSync(outputPath, "utf8"));
  return { result, executed };
}

/** How a failure line names the two kinds of asynchronous error execute.py reports. */
export const ASYNC_KINDS = {
  "uncaught-exception": "uncaught in asynchronous code",
  "unhandled-rejection": "unhandled promise rejection",
};

/**
 * Describes a failed execution: `{ kind, cell, codeCell, injected, error, stderr }` where `cell`
 * and `codeCell` are 1-based positions in the source notebook (null when the failure was not in
 * a cell, e.g. the kernel did not start) and `error` is a single line. An "async-error" (a
 * timer callback threw, a promise rejection went unhandled) is named like a synchronous error
 * plus what kind of asynchronous failure it was.
 */
export function describeFailure(result, executed, injection, source) {
  const index = result.cell_index;
  const originIndex = index === null || index === undefined ? null : injection.origin[index];
  const injected = index !== null && index !== undefined && originIndex === null;
  const cell = originIndex === null ? null : originIndex + 1;
  const codeCell = originIndex === null ? null : source.cells.slice(0, originIndex + 1).filter((c) => c.cell_type === "code").length;
  const stderr = result.stderr ?? "";
  const executedCell = index === null || index === undefined ? null : executed.cells[index];
  let error = summariseError(stderr) || (executedCell ? errorOutputText(executedCell) : "");
  if (result.kind === "async-error") {
    // The error's own text (message and stack), not the cell's other stderr: a cell may also have
    // printed tslab's "UncaughtException: …" line or warnings of its own.
    error = `${summariseError(result.message ?? "") || "an error without a message"} (${ASYNC_KINDS[result.async_kind] ?? "thrown asynchronously"}, thrown during or after the cell)`;
  }
  else if (result.kind === "timeout") error = firstLine(result.message) || "the cell timed out";
  else if (result.kind === "dead-kernel") {
    const detail = firstLine(result.message);
    error = `the kernel died${error ? `: ${error}` : ""}${detail && detail.toLowerCase() !== "kernel died" ? ` (${detail})` : ""}`;
  }
  else if (result.kind === "internal") error = firstLine(result.message);
  else if (!error) error = "the cell failed without printing an error";
  return { kind: result.kind, cell, codeCell, injected, error, stderr };
}

/**
 * The one line the runner prints: `notebook 01-foo.ipynb failed at cell 3: Error: boom` (the
 * code-cell number is in the index; this line keeps the documented shape for scripts that parse it).
 */
export function formatFailureLine(fileName, failure) {
  let where = "";
  if (failure.injected) where = " in the injected parameters cell";
  else if (failure.cell !== null) where = ` at cell ${failure.cell}`;
  return `notebook ${fileName} failed${where}: ${failure.error}`;
}

function firstLine(text) {
  return String(text ?? "").trim().split("\n")[0].trim();
}
