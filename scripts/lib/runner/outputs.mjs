// Reading an executed notebook's outputs: the real error of a failing tslab cell, the
// `gradlab-meta {...}` line the notebooks print with their backend and seed, and the
// `gradlab-claim {...}` lines `lab.claim` prints (kernel-lib/stats/claims.ts).
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
export const CLAIM_PREFIX = "gradlab-claim ";

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

/** The verdicts a claim can carry (kernel-lib/stats/claims.ts CLAIM_VERDICTS). */
export const CLAIM_VERDICTS = ["reproduced", "not reproduced", "inconclusive", "holds by construction"];

const CLAIM_NUMBERS = ["n", "p", "estimate", "minDetectableEffect"];
const CLAIM_STRINGS = ["reason", "test", "sample", "evidence"];
const LINE_SHOWN = 120;

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * One claim line's JSON as a ClaimRecord with every field present (missing ones null), or a
 * string saying why it is not one. Required: id, statement, verdict (one of CLAIM_VERDICTS).
 * Optional fields of the wrong type are an error too: a ledger row with a silently dropped p
 * would read as "no test".
 */
export function normaliseClaim(raw) {
  if (!isObject(raw)) return "not a JSON object";
  if (typeof raw.id !== "string" || raw.id.trim() === "") return "no id";
  if (typeof raw.statement !== "string" || raw.statement.trim() === "") return `claim ${raw.id}: no statement`;
  if (!CLAIM_VERDICTS.includes(raw.verdict)) return `claim ${raw.id}: verdict ${JSON.stringify(raw.verdict)} is not one of ${CLAIM_VERDICTS.join(", ")}`;
  const wrong = [];
  for (const key of CLAIM_NUMBERS) if (raw[key] != null && typeof raw[key] !== "number") wrong.push(key);
  for (const key of CLAIM_STRINGS) if (raw[key] != null && typeof raw[key] !== "string") wrong.push(key);
  if (raw.paper != null && !isObject(raw.paper)) wrong.push("paper");
  const interval = raw.interval;
  if (interval != null && !(isObject(interval) && typeof interval.lo === "number" && typeof interval.hi === "number")) wrong.push("interval");
  if (raw.seeds != null && !(Array.isArray(raw.seeds) && raw.seeds.every((s) => typeof s === "number"))) wrong.push("seeds");
  if (wrong.length) return `claim ${raw.id}: wrong type for ${wrong.join(", ")}`;
  const paper = raw.paper == null ? null : {
    ...(typeof raw.paper.value === "string" ? { value: raw.paper.value } : {}),
    ...(typeof raw.paper.reference === "string" ? { reference: raw.paper.reference } : {}),
    ...(typeof raw.paper.effect === "number" ? { effect: raw.paper.effect } : {}),
  };
  const or = (v) => (v === undefined ? null : v);
  return {
    id: raw.id,
    statement: raw.statement,
    paper,
    verdict: raw.verdict,
    reason: or(raw.reason),
    test: or(raw.test),
    n: or(raw.n),
    sample: or(raw.sample),
    p: or(raw.p),
    estimate: or(raw.estimate),
    interval: interval == null ? null : { lo: interval.lo, hi: interval.hi, ...(typeof interval.level === "number" ? { level: interval.level } : {}) },
    minDetectableEffect: or(raw.minDetectableEffect),
    scale: typeof raw.scale === "number" && Number.isFinite(raw.scale) && raw.scale > 0 ? raw.scale : 1,
    unit: typeof raw.unit === "string" ? raw.unit : "",
    seeds: raw.seeds == null ? null : [...raw.seeds],
    evidence: or(raw.evidence),
  };
}

/**
 * Every `gradlab-claim {json}` line printed to stdout by a code cell, in printing order, as
 * `{ claims, problems }`. `claims` are normalised ClaimRecords; a line that does not parse or is
 * not a claim is left out and described in `problems` (strings, ready for a row's notes), as is
 * an id printed more than once (the last one printed is kept, at its own position).
 * `cellLabel(index)` names a cell of `notebook` in those messages (default "cell <index + 1>").
 * Never throws on a notebook's content.
 */
export function findClaims(notebook, { cellLabel = (index) => `cell ${index + 1}` } = {}) {
  const found = [];
  const problems = [];
  for (const [index, cell] of (notebook?.cells ?? []).entries()) {
    if (cell?.cell_type !== "code") continue;
    for (const line of streamText(cell, "stdout").split(/\r?\n/)) {
      if (!line.startsWith(CLAIM_PREFIX)) continue;
      const shown = line.length > LINE_SHOWN ? `${line.slice(0, LINE_SHOWN)}…` : line;
      let parsed;
      try {
        parsed = JSON.parse(line.slice(CLAIM_PREFIX.length));
      } catch (error) {
        problems.push(`${cellLabel(index)}: a gradlab-claim line is not valid JSON (${error.message}); ignored: ${shown}`);
        continue;
      }
      const claim = normaliseClaim(parsed);
      if (typeof claim === "string") problems.push(`${cellLabel(index)}: a gradlab-claim line is not a claim (${claim}); ignored: ${shown}`);
      else found.push({ claim, where: cellLabel(index) });
    }
  }
  const lastIndex = new Map(found.map(({ claim }, i) => [claim.id, i]));
  const claims = [];
  for (const [i, { claim }] of found.entries()) {
    if (lastIndex.get(claim.id) === i) claims.push(claim);
  }
  for (const id of new Set(found.map(({ claim }) => claim.id))) {
    const places = found.filter(({ claim }) => claim.id === id).map(({ where }) => where);
    if (places.length > 1) problems.push(`claim ${id} was printed ${places.length} times (${places.join(", ")}); the last one is kept`);
  }
  return { claims, problems };
}
