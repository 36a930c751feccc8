// Reading an executed notebook's outputs: the real error of a failing tslab cell, and the
// `gradlab-meta {...}` line the notebooks print with their backend and seed.
//
// Why the stderr text: tslab reports an exception only by printing it to the cell's stderr and
// answering status "error" with no ename/evalue, so nbclient's own message is empty. Node's
// uncaught-error print has a fixed shape we pick apart:
//     evalmachine.<anonymous>:3            <- where (compiled code)
//     function f() { throw new Error("x") }
//                    ^
//     <blank>
//     Error: x                             <- the line we want
//         at f (evalmachine.<anonymous>:3:22)
// TypeScript compile errors are printed as `1:7 - Type 'string' is not assignable …`; a thrown
// non-Error value is printed as-is.

export const META_PREFIX = "gradlab-meta ";

/** Joined text of a cell's stream outputs of one name ("stdout" or "stderr"). */
export function streamText(cell, name) {
  return (cell.outputs ?? [])
    .filter((o) => o.output_type === "stream" && o.name === name)
    .map((o) => (Array.isArray(o.text) ? o.text.join("") : String(o.text ?? "")))
    .join("");
}

// `Error: …`, `TypeError: …`, `InvalidArgumentError: …`, `Error [CODE]: …`, `Uncaught X: …`.
const ERROR_HEADER = /^(?:Uncaught )?[A-Za-z_$][\w$]*(?:Error|Exception)(?: \[[^\]]*\])?(?::|$)/;
const STACK_FRAME = /^\s+at /;
const TS_DIAGNOSTIC = /^\d+:\d+ - /;

/**
 * The one line that says what went wrong, from a failing cell's stderr: the error header just
 * above the stack trace (the last one if several were printed), else a TypeScript diagnostic,
 * else the last non-empty line. Returns "" for empty stderr.
 */
export function summariseError(stderr) {
  // Colour codes appear when the kernel inherited FORCE_COLOR; they would garble the one-liner.
  const plain = stderr.replace(/\x1b\[[0-9;]*m/g, "");
  const lines = plain.split(/\r?\n/).map((l) => l.replace(/\s+$/, ""));
  const firstFrame = lines.findIndex((l) => STACK_FRAME.test(l));
  const headers = lines.map((l, i) => (ERROR_HEADER.test(l) ? i : -1)).filter((i) => i >= 0);
  if (headers.length > 0) {
    const beforeStack = firstFrame >= 0 ? headers.filter((i) => i < firstFrame) : headers;
    return lines[(beforeStack.length ? beforeStack : headers).at(-1)];
  }
  const diagnostic = lines.find((l) => TS_DIAGNOSTIC.test(l));
  if (diagnostic) return `TypeScript: ${diagnostic}`;
  return lines.filter((l) => l.trim() !== "" && !STACK_FRAME.test(l)).at(-1) ?? "";
}

/** Error text of a cell that failed in a kernel that does send ename/evalue (not tslab). */
export function errorOutputText(cell) {
  const error = (cell.outputs ?? []).find((o) => o.output_type === "error");
  return error ? `${error.ename}: ${error.evalue}` : "";
}

/**
 * The last `gradlab-meta {json}` line printed to stdout anywhere in the notebook, parsed, or
 * null when there is none. A line whose JSON does not parse is ignored (an earlier good one wins).
 */
export function findRunMeta(notebook) {
  let meta = null;
  for (const cell of notebook.cells ?? []) {
    if (cell.cell_type !== "code") continue;
    for (const line of streamText(cell, "stdout").split(/\r?\n/)) {
      if (!line.startsWith(META_PREFIX)) continue;
      try {
        const parsed = JSON.parse(line.slice(META_PREFIX.length));
        if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) meta = parsed;
      } catch {
        // not ours or truncated: keep the previous one
      }
    }
  }
  return meta;
}

/** Backend and seed for the index; "unknown" for anything missing. */
export function describeMeta(meta) {
  const pick = (key) => (meta && meta[key] !== undefined && meta[key] !== null ? String(meta[key]) : "unknown");
  return { backend: pick("backend"), seed: pick("seed") };
}
