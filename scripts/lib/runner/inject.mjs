// Papermill-style parameter injection for tslab notebooks. The runner inserts, right after the
// code cell tagged `parameters`, a new code cell tagged `injected-parameters` that redeclares
// the preset and every `-p` value (tslab lets a later cell redeclare a `const`, verified).
//
// Why the injected declarations copy the parameters cell's own `const`/`let` and type annotation
// (verified in tslab 1.0.22, TS 5.0):
//   - `const preset = "quick"` has the literal type "quick", so a later `preset === "paper"` no
//     longer compiles ("types '"quick"' and '"paper"' have no overlap") unless the notebook
//     annotated `const preset: string` or a union, which we then repeat;
//   - a `let` parameter reassigned later would break if re-declared as `const`.
// A key the parameters cell does not declare is injected with `let`, which widens literals
// (`let seed = 3` is a number, `let name = "a"` a string) and so fits any later use.
// With no parameters cell at all, the injected cell goes first and the report says so.

export const PARAMETERS_TAG = "parameters";
export const INJECTED_TAG = "injected-parameters";

/** A cell's source as one string (nbformat allows a string or a list of lines). */
export function cellSource(cell) {
  return Array.isArray(cell.source) ? cell.source.join("") : String(cell.source ?? "");
}

export function cellTags(cell) {
  const tags = cell.metadata?.tags;
  return Array.isArray(tags) ? tags : [];
}

// Reads a type annotation that starts at `start` and ends at the `=` (or `;`/newline when there
// is no initializer) that sits outside brackets and quotes. `=>` belongs to function types.
function readTypeAnnotation(text, start) {
  let depth = 0;
  let quote = null;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === "\\") i++;
      else if (ch === quote) quote = null;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === "`") quote = ch;
    else if ("([{<".includes(ch)) depth++;
    else if (")]}".includes(ch) || (ch === ">" && text[i - 1] !== "=")) depth--;
    else if (depth <= 0 && ch === "=" && text[i + 1] !== ">" && text[i + 1] !== "=") return text.slice(start, i).trim();
    else if (depth <= 0 && (ch === ";" || ch === "\n")) return text.slice(start, i).trim();
  }
  return text.slice(start).trim();
}

/**
 * The simple declarations at the start of lines in a parameters cell:
 * Map name → { keyword: "const"|"let"|"var", type: string|null }. Destructuring and the second
 * name of `const a = 1, b = 2` are not recognised (those keys get the `let` fallback).
 */
export function parseDeclarations(source) {
  const declarations = new Map();
  const pattern = /^[ \t]*(?:export[ \t]+)?(const|let|var)[ \t]+([A-Za-z_$][\w$]*)[ \t]*(:)?/gm;
  for (const match of source.matchAll(pattern)) {
    const [, keyword, name, colon] = match;
    const type = colon ? readTypeAnnotation(source, match.index + match[0].length) || null : null;
    if (!declarations.has(name)) declarations.set(name, { keyword, type });
  }
  return declarations;
}

/** The TypeScript source of the injected cell; `params` is an ordered object (preset first). */
export function renderInjectedSource(params, declarations = new Map()) {
  const lines = ["// Parameters injected by scripts/run-notebooks.mjs (the preset and any -p values)."];
  for (const [key, value] of Object.entries(params)) {
    const declared = declarations.get(key);
    const keyword = declared?.keyword ?? "let";
    const annotation = declared?.type ? `: ${declared.type}` : "";
    const literal = JSON.stringify(value);
    if (literal === undefined) throw new TypeError(`parameter ${key}: value cannot be written as JSON`);
    lines.push(`${keyword} ${key}${annotation} = ${literal};`);
  }
  return lines.join("\n");
}

function makeInjectedCell(source, notebook) {
  const cell = { cell_type: "code", execution_count: null, metadata: { tags: [INJECTED_TAG] }, outputs: [], source };
  // Cell ids exist from nbformat 4.5 on; older notebooks must not have them.
  if ((notebook.nbformat_minor ?? 0) >= 5) return { id: "injected-parameters", ...cell };
  return cell;
}

/**
 * Returns a new notebook with the injected cell, leaving `notebook` untouched:
 * `{ notebook, injectedIndex, parametersCellIndex (null when absent), origin, notes }` where
 * `origin[i]` is the index in the source notebook of executed cell i (null for the injected
 * cell), so errors can name the cell the author sees.
 */
export function injectParameters(notebook, params) {
  const copy = structuredClone(notebook);
  const notes = [];
  // Cells injected by an earlier run (a report fed back in) are replaced, not stacked.
  const kept = [];
  copy.cells.forEach((cell, index) => {
    if (cellTags(cell).includes(INJECTED_TAG)) notes.push(`removed an earlier injected-parameters cell (cell ${index + 1})`);
    else kept.push({ cell, index });
  });
  const tagged = kept.filter(({ cell }) => cell.cell_type === "code" && cellTags(cell).includes(PARAMETERS_TAG));
  if (tagged.length > 1) notes.push(`${tagged.length} cells are tagged parameters; injected after the first (cell ${tagged[0].index + 1})`);
  const parameters = tagged[0] ?? null;
  const declarations = parameters ? parseDeclarations(cellSource(parameters.cell)) : new Map();
  for (const key of Object.keys(params)) {
    if (parameters && key !== "preset" && !declarations.has(key)) notes.push(`parameter ${key} is not declared in the parameters cell; injected as let`);
  }
  if (!parameters) notes.push("no cell is tagged parameters: the parameters were injected as the first cell");
  const injected = makeInjectedCell(renderInjectedSource(params, declarations), copy);
  const position = parameters ? kept.indexOf(parameters) + 1 : 0;
  kept.splice(position, 0, { cell: injected, index: null });
  copy.cells = kept.map((k) => k.cell);
  return {
    notebook: copy,
    injectedIndex: position,
    parametersCellIndex: parameters ? parameters.index : null,
    origin: kept.map((k) => k.index),
    notes,
  };
}
