/**
 * The command-line grammar the TypeScript CLIs share (`npm run sweep`, `npm run worker`):
 * `--flag value`, `--flag=value`, and value-less boolean flags. Unknown flags are refused (with the
 * list of valid ones), a boolean flag given a value and a value flag without one are errors — each a
 * typed GradlabError the CLI prints as one line with exit code 2.
 */
import { InvalidArgumentError, UnknownOptionError } from "../../kernel-lib/errors";

/** One parsed flag: its name and, for a value flag, its value (null for a boolean flag). */
export interface ParsedFlag { flag: string; value: string | null }

/** Splits argv into flags, checking each against the valid value and boolean flags. */
export function parseFlags(argv: readonly string[], valueFlags: readonly string[], booleanFlags: readonly string[]): ParsedFlag[] {
  const out: ParsedFlag[] = [];
  for (let i = 0; i < argv.length; i++) {
    let flag = argv[i], value: string | undefined;
    const eq = flag.indexOf("=");
    if (flag.startsWith("--") && eq > 0) { value = flag.slice(eq + 1); flag = flag.slice(0, eq); }
    if (booleanFlags.includes(flag)) {
      if (value !== undefined) throw new InvalidArgumentError(flag, "no value", value);
      out.push({ flag, value: null });
      continue;
    }
    if (!valueFlags.includes(flag)) throw new UnknownOptionError("argument", flag, [...valueFlags, ...booleanFlags]);
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined || value.startsWith("--")) throw new InvalidArgumentError(flag, "a value after it");
    }
    out.push({ flag, value });
  }
  return out;
}
