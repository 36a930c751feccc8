/**
 * The Python-literal subset numpy writes in a .npy header: dicts, tuples, lists, quoted strings,
 * integers (with Python 2's `L` suffix), True, False and None.
 *
 * A header comes from an untrusted file, so the parser is bounded by construction:
 *  - no recursion: containers live on an explicit stack, so `((((…` 100 000 deep cannot overflow
 *    the call stack; nesting deeper than `maxDepth` (numpy writes depth 2: a dict holding a tuple)
 *    is a FileFormatError via `fail`, raised as soon as the limit is crossed;
 *  - tokens are matched in place with sticky regexes, so the work is one pass over the header;
 *  - keys are defined as own properties, so a `'__proto__'` key is data, never a prototype.
 */

export type PyValue = string | number | boolean | null | PyValue[] | { [key: string]: PyValue };

/** Deeper than any header numpy writes (2), shallow enough that the error comes at once. */
export const MAX_LITERAL_DEPTH = 16;

interface Frame {
  close: "}" | ")" | "]";
  items: PyValue[] | null;
  dict: { [key: string]: PyValue } | null;
  /** Inside a dict: the key read and awaiting its value (undefined when a key comes next). */
  key: string | undefined;
}

const WORD = /True|False|None|-?\d+L?/y;
const SPACE = /\s*/y;

/** Parses `text` as one literal; every problem is reported through `fail` (which must throw). */
export function parsePythonLiteral(text: string, fail: (problem: string) => never, maxDepth = MAX_LITERAL_DEPTH): PyValue {
  let pos = 0;
  const skipSpace = () => { SPACE.lastIndex = pos; SPACE.exec(text); pos = SPACE.lastIndex; };
  const found = () => JSON.stringify(text.slice(pos, pos + 12) || "end");
  const stack: Frame[] = [];

  for (;;) {
    // Expecting a value — or, right after an opening bracket or a comma, the container's close.
    skipSpace();
    const top = stack.length > 0 ? stack[stack.length - 1] : null;
    const ch = text[pos];
    let value: PyValue;
    if (top !== null && ch === top.close && top.key === undefined) {
      pos++;
      stack.pop();
      value = top.dict ?? top.items!;
    } else if (ch === "{" || ch === "(" || ch === "[") {
      if (stack.length >= maxDepth) fail(`header: containers nest deeper than ${maxDepth} levels at character ${pos} (numpy writes 2)`);
      pos++;
      stack.push(ch === "{"
        ? { close: "}", items: null, dict: {}, key: undefined }
        : { close: ch === "(" ? ")" : "]", items: [], dict: null, key: undefined });
      continue;
    } else if (ch === "'" || ch === '"') {
      const end = text.indexOf(ch, pos + 1);
      if (end < 0) fail("header: unterminated string");
      value = text.slice(pos + 1, end);
      pos = end + 1;
    } else {
      WORD.lastIndex = pos;
      const word = WORD.exec(text);
      if (word === null) fail(`header: unexpected ${found()} at character ${pos}`);
      pos = WORD.lastIndex;
      const w = word![0];
      value = w === "True" ? true : w === "False" ? false : w === "None" ? null : Number(w.replace("L", "")); // "3L": Python 2 longs
    }

    // A complete value: hand it to its container, then read separators, closing containers as they end.
    for (;;) {
      const parent = stack.length > 0 ? stack[stack.length - 1] : null;
      if (parent === null) {
        skipSpace();
        if (pos !== text.length) fail(`header: unexpected text after the dict at character ${pos}`);
        return value;
      }
      if (parent.dict !== null) {
        if (parent.key === undefined) {
          if (typeof value !== "string") fail("header: dict keys must be strings");
          parent.key = value as string;
          skipSpace();
          if (text[pos] !== ":") fail(`header: expected ':' at character ${pos}, found ${JSON.stringify(text[pos] ?? "end")}`);
          pos++;
          break; // now the key's value
        }
        Object.defineProperty(parent.dict, parent.key, { value, enumerable: true, writable: true, configurable: true });
        parent.key = undefined;
      } else {
        parent.items!.push(value);
      }
      skipSpace();
      if (text[pos] === ",") { pos++; break; }
      if (text[pos] !== parent.close) fail(`header: expected ',' or '${parent.close}' at character ${pos}`);
      pos++;
      stack.pop();
      value = parent.dict ?? parent.items!;
    }
  }
}
