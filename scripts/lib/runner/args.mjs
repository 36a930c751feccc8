// Command-line parsing for the notebook runner. Pure: no file system, no Jupyter, so every rule
// is unit-tested. Usage errors throw UsageError (exit code 2) with one line naming the problem;
// the caller prints it before anything runs.
//
// Strategy: a hand-rolled loop over argv instead of a parser library, because the rules that
// matter here (a preset name from a closed list, `-p key=value` with JSON values and identifier
// keys, repeatable options) need custom checks anyway and the project adds no dependency for it.

export const PRESETS = ["quick", "default", "paper"];
export const DEFAULT_PRESET = "default";
export const DEFAULT_OUT_DIR = "reports";
export const DEFAULT_NOTEBOOK_DIR = "notebooks";
/** Per-cell execution timeout: generous, because a `paper` preset cell may train for a while. */
export const DEFAULT_CELL_TIMEOUT_SECONDS = 3600;

export const USAGE = `Usage: node scripts/run-notebooks.mjs [options] [notebook.ipynb ...]

Executes notebooks headless with the tslab kernel (all of notebooks/ in filename order when no
paths are given), injects parameters after the cell tagged "parameters", and writes an executed
.ipynb, .html and .md (+ optional .pdf) per notebook and an index (index.html, index.md,
runs.json, and claims.json with every gradlab-claim line the notebooks printed) into the output
directory. Failing notebooks are reported with the failing cell and its error; the remaining
notebooks still run, and the exit code is 1.

Options:
  --preset NAME       quick | default | paper (default: default); injected as \`preset\`
  --quick             same as --preset quick
  --only PATTERN      run only notebooks whose file name contains PATTERN, or matches it as a
                      glob (* and ?); repeatable (a notebook matching any pattern runs)
  -p KEY=VALUE        inject a parameter; VALUE is parsed as JSON if it parses, else taken as a
                      string (-p seed=3, -p name=abc, -p 'sizes=[1,2]'); repeatable
  --pdf               also print each HTML report to PDF with headless Chromium
  --no-input          report mode: hide the code cells in the HTML and Markdown reports
                      (the executed .ipynb keeps them)
  --out DIR           output directory, written in place (default: reports, where each run
                      gets its own folder <YYYYMMDD-HHMMSS>-<commit>/ and reports/latest
                      links the newest; compare two with npm run compare -- A B)
  --history           keep run folders and a latest link under --out DIR too
  --dir DIR           folder of notebooks when no paths are given (default: notebooks)
  --timeout SECONDS   per-cell execution timeout (default: ${DEFAULT_CELL_TIMEOUT_SECONDS})
  -h, --help          print this help

Exit codes: 0 all ok, 1 a notebook failed or an input is invalid, 2 usage error.`;

/** A command-line mistake: print the message and exit with code 2 before doing anything. */
export class UsageError extends Error {
  constructor(message) {
    super(message);
    this.name = "UsageError";
    this.exitCode = 2;
  }
}

// Words that cannot name a `const`/`let` in TypeScript (strict mode), so `-p class=1` would
// produce a cell that does not compile; reject them up front with a clear message.
const RESERVED_WORDS = new Set(
  ("break case catch class const continue debugger default delete do else enum export extends false " +
    "finally for function if import in instanceof new null return super switch this throw true try " +
    "typeof var void while with implements interface let package private protected public static " +
    "yield await arguments eval undefined NaN Infinity").split(" "),
);
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Why `key` cannot be a parameter name, or null when it can. */
export function invalidParameterKeyReason(key) {
  if (key === "") return "the key is empty";
  if (!IDENTIFIER.test(key)) return `${JSON.stringify(key)} is not a valid identifier (letters, digits, _ and $; not starting with a digit)`;
  if (RESERVED_WORDS.has(key)) return `${JSON.stringify(key)} is a reserved word in TypeScript`;
  return null;
}

/** `-p` value rule (papermill's): JSON when it parses (numbers, booleans, null, arrays, objects, quoted strings), else the raw string. */
export function parseParameterValue(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Splits one `-p` argument `key=value` (the first `=` separates; the value may contain more). */
export function parseParameterAssignment(arg) {
  const eq = arg.indexOf("=");
  if (eq < 0) throw new UsageError(`-p ${JSON.stringify(arg)}: expected KEY=VALUE (no "=" found)`);
  const key = arg.slice(0, eq).trim();
  const reason = invalidParameterKeyReason(key);
  if (reason) throw new UsageError(`-p ${JSON.stringify(arg)}: ${reason}`);
  if (key === "preset") throw new UsageError(`-p ${JSON.stringify(arg)}: set the preset with --preset NAME (valid: ${PRESETS.join(", ")})`);
  return { key, value: parseParameterValue(arg.slice(eq + 1)) };
}

/**
 * Parses the runner's argv (without `node script`). Returns
 * `{ help, preset, only: string[], params: Record<string, unknown>, pdf, noInput, history, out, dir, timeoutSeconds, paths: string[] }`
 * where `out`/`dir` are null unless given (the runner then uses reports/ and notebooks/ of the project).
 */
export function parseArgs(argv) {
  const options = {
    help: false,
    preset: null,
    only: [],
    params: {},
    pdf: false,
    noInput: false,
    history: false, // run folders under an explicit --out (always on for the default reports/)
    out: null, // null: DEFAULT_OUT_DIR under the project root (explicit values resolve against the cwd)
    dir: null, // null: DEFAULT_NOTEBOOK_DIR under the project root
    timeoutSeconds: DEFAULT_CELL_TIMEOUT_SECONDS,
    paths: [],
  };
  const setPreset = (name, via) => {
    if (!PRESETS.includes(name)) throw new UsageError(`${via}: unknown preset ${JSON.stringify(name)} (valid: ${PRESETS.join(", ")})`);
    if (options.preset !== null && options.preset !== name) throw new UsageError(`${via}: conflicts with the preset already given (${options.preset})`);
    options.preset = name;
  };

  let onlyPaths = false; // after `--`, everything is a notebook path
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (onlyPaths || !arg.startsWith("-") || arg === "-") {
      options.paths.push(arg);
      continue;
    }
    if (arg === "--") {
      onlyPaths = true;
      continue;
    }
    // `--name=value` is accepted as well as `--name value`.
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const inlineValue = eq > 0 ? arg.slice(eq + 1) : undefined;
    const takeValue = () => {
      if (inlineValue !== undefined) return inlineValue;
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith("-") && next !== "-")) throw new UsageError(`${name}: missing value`);
      i++;
      return next;
    };
    const noValue = () => {
      if (inlineValue !== undefined) throw new UsageError(`${name}: takes no value (got ${JSON.stringify(inlineValue)})`);
    };
    switch (name) {
      case "-h":
      case "--help":
        noValue();
        options.help = true;
        break;
      case "--quick":
        noValue();
        setPreset("quick", "--quick");
        break;
      case "--preset":
        setPreset(takeValue(), "--preset");
        break;
      case "--only": {
        const pattern = takeValue();
        if (pattern === "") throw new UsageError("--only: empty pattern");
        options.only.push(pattern);
        break;
      }
      case "-p":
      case "--param": {
        // -p takes the next argument even when it starts with "-" (e.g. -p x=-1 is `x=-1`).
        const value = inlineValue ?? argv[++i];
        if (value === undefined) throw new UsageError(`${name}: missing KEY=VALUE`);
        const { key, value: parsed } = parseParameterAssignment(value);
        if (Object.hasOwn(options.params, key)) throw new UsageError(`-p ${key}: given twice`);
        options.params[key] = parsed;
        break;
      }
      case "--pdf":
        noValue();
        options.pdf = true;
        break;
      case "--no-input":
        noValue();
        options.noInput = true;
        break;
      case "--history":
        noValue();
        options.history = true;
        break;
      case "--out": {
        const out = takeValue();
        if (out === "") throw new UsageError("--out: empty directory name");
        options.out = out;
        break;
      }
      case "--dir": {
        const dir = takeValue();
        if (dir === "") throw new UsageError("--dir: empty directory name");
        options.dir = dir;
        break;
      }
      case "--timeout": {
        const text = takeValue();
        const seconds = Number(text);
        if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--timeout: expected a positive number of seconds, got ${JSON.stringify(text)}`);
        options.timeoutSeconds = seconds;
        break;
      }
      default:
        throw new UsageError(`unknown option ${arg} (see --help)`);
    }
  }
  if (options.preset === null) options.preset = DEFAULT_PRESET;
  return options;
}
