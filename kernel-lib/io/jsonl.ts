/**
 * JSON Lines: one JSON value per line, UTF-8. Which function when:
 *  - `readJsonl(path)`: whole file at once (files up to a few hundred MB). Default: a malformed
 *    line throws FileFormatError naming file and line. `{ onMalformed: "skip" }` instead returns
 *    the good records plus a report of the bad lines — what a run store needs after a crash left
 *    its last line half-written.
 *  - `streamJsonl(path)`: async generator over `{line, value}` with constant memory, for big files;
 *    same malformed-line policy (`onSkip` receives each skipped line).
 *  - `readLines(path)`: the streaming line reader underneath, for other line-based formats.
 *  - `writeJsonl(path, records)`: whole file, atomic (temp + fsync + rename).
 *  - `appendJsonl(path, records)`: append-only logs; one write + fsync per call. A crash mid-append
 *    can leave one truncated last line, which `onMalformed: "skip"` reports; if the file does not end
 *    in a newline, appending first adds one so a torn line never swallows the next record.
 * Blank lines are ignored; "\r\n" endings and a leading BOM are accepted. Writers reject NaN/±Inf
 * (JSON.stringify would silently write null) and values JSON cannot hold (BigInt, cycles).
 */

import * as fs from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { FileFormatError, InvalidArgumentError, NonFiniteError, UnknownOptionError, assertKnownKeys } from "../errors";
import { atomicWriteFile, readFileOrThrow } from "./atomic";

/** A malformed JSONL line: file, line number and reason. */
export interface MalformedLine {
  file: string;
  /** 1-based line number. */
  line: number;
  /** The line's text (cut to 200 characters). */
  text: string;
  problem: string;
}

/** Options of the JSONL readers: what to do with a malformed line. */
export interface JsonlReadOptions {
  /** "throw" (default): FileFormatError at the first malformed line; "skip": collect it and go on. */
  onMalformed?: "throw" | "skip";
}

/** What `readJsonl` / `parseJsonl` return: the records and the malformed lines skipped. */
export interface JsonlReadResult<T> {
  records: T[];
  malformed: MalformedLine[];
}

function malformedPolicy(options: JsonlReadOptions | undefined, known: string[]): "throw" | "skip" {
  if (options !== undefined && (options === null || typeof options !== "object")) throw new InvalidArgumentError("options", `an object { ${known.join("?, ")}? }`, options);
  assertKnownKeys("options", options, known);
  const onSkip = (options as JsonlStreamOptions | undefined)?.onSkip;
  if (onSkip !== undefined && typeof onSkip !== "function") throw new InvalidArgumentError("options.onSkip", "a function", onSkip);
  const policy = options?.onMalformed ?? "throw";
  if (policy !== "throw" && policy !== "skip") throw new UnknownOptionError("options.onMalformed", String(policy), ["throw", "skip"]);
  return policy;
}

/** Parses one line; returns the value, or a MalformedLine describing why not. */
function parseLine(file: string, line: number, text: string): { value: unknown } | MalformedLine {
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    const problem = `malformed JSON (${(e as Error).message})`;
    return { file, line, text: text.length > 200 ? text.slice(0, 197) + "..." : text, problem };
  }
}

function toError(m: MalformedLine): FileFormatError {
  return new FileFormatError(m.file, `line ${m.line}: ${m.problem}: ${JSON.stringify(m.text.slice(0, 80))}`);
}

/** Parses JSONL text; `source` names the file in errors. */
export function parseJsonl<T = unknown>(text: string, source = "<jsonl text>", options?: JsonlReadOptions): JsonlReadResult<T> {
  const policy = malformedPolicy(options, ["onMalformed"]);
  if (typeof text !== "string") throw new InvalidArgumentError("text", "a string of JSON Lines", text);
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split("\n");
  const records: T[] = [], malformed: MalformedLine[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].endsWith("\r") ? lines[i].slice(0, -1) : lines[i];
    if (line.trim().length === 0) continue;
    const parsed = parseLine(source, i + 1, line);
    if ("value" in parsed) records.push(parsed.value as T);
    else if (policy === "throw") throw toError(parsed);
    else malformed.push(parsed);
  }
  return { records, malformed };
}

/** Reads a whole JSONL file. */
export function readJsonl<T = unknown>(file: string, options?: JsonlReadOptions): JsonlReadResult<T> {
  const bytes = readFileOrThrow(file);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_ENCODING_INVALID_ENCODED_DATA") throw new FileFormatError(file, "is not valid UTF-8 text");
    throw new FileFormatError(file, `cannot be read at once (${(error as Error).message}); use streamJsonl for big files`);
  }
  return parseJsonl<T>(text, file, options);
}

/** Streams lines (1-based numbers, without the "\n"/"\r\n") from a file of any size. */
export async function* readLines(file: string, options: { chunkBytes?: number } = {}): AsyncGenerator<{ line: number; text: string }> {
  assertKnownKeys("options", options, ["chunkBytes"]);
  const chunkBytes = options.chunkBytes ?? 1 << 20;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1) throw new InvalidArgumentError("options.chunkBytes", "a positive integer", chunkBytes);
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new FileFormatError(file, "does not exist");
    if ((error as NodeJS.ErrnoException).code === "EISDIR") throw new FileFormatError(file, "is a directory, not a file");
    throw new FileFormatError(file, `cannot be read: ${(error as Error).message}`);
  }
  try {
    const decoder = new StringDecoder("utf8"); // keeps multi-byte characters split across chunks intact
    const buffer = Buffer.alloc(chunkBytes);
    let pending = "", line = 0, first = true;
    for (;;) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, 0, chunkBytes, null));
      } catch (error) {
        throw new FileFormatError(file, `cannot be read: ${(error as Error).message}`);
      }
      const chunk = bytesRead > 0 ? decoder.write(buffer.subarray(0, bytesRead)) : decoder.end();
      pending += chunk;
      if (first && pending.length > 0) { if (pending.charCodeAt(0) === 0xfeff) pending = pending.slice(1); first = false; }
      // Walk with a cursor and cut the remainder once per chunk: linear in the chunk size.
      let start = 0, newline: number;
      while ((newline = pending.indexOf("\n", start)) >= 0) {
        const text = pending.slice(start, newline);
        start = newline + 1;
        yield { line: ++line, text: text.endsWith("\r") ? text.slice(0, -1) : text };
      }
      pending = pending.slice(start);
      if (bytesRead === 0) break;
    }
    if (pending.length > 0) yield { line: ++line, text: pending.endsWith("\r") ? pending.slice(0, -1) : pending };
  } finally {
    await handle.close();
  }
}

/** Options of `streamJsonl`. */
export interface JsonlStreamOptions extends JsonlReadOptions {
  /** Called for each malformed line skipped under `onMalformed: "skip"`. */
  onSkip?: (malformed: MalformedLine) => void;
  chunkBytes?: number;
}

/** Streams `{line, value}` for each non-blank line of a JSONL file. */
export async function* streamJsonl<T = unknown>(file: string, options?: JsonlStreamOptions): AsyncGenerator<{ line: number; value: T }> {
  const policy = malformedPolicy(options, ["onMalformed", "onSkip", "chunkBytes"]);
  for await (const { line, text } of readLines(file, options?.chunkBytes === undefined ? {} : { chunkBytes: options.chunkBytes })) {
    if (text.trim().length === 0) continue;
    const parsed = parseLine(file, line, text);
    if ("value" in parsed) yield { line, value: parsed.value as T };
    else if (policy === "throw") throw toError(parsed);
    else options?.onSkip?.(parsed);
  }
}

// ---- writing ------------------------------------------------------------------------------------

/** One record as one line (no trailing newline); rejects what JSON would silently corrupt. */
export function serialiseJsonlRecord(record: unknown, argument = "record"): string {
  if (record === undefined || typeof record === "function" || typeof record === "symbol") {
    throw new InvalidArgumentError(argument, "a JSON-serialisable value", typeof record);
  }
  let text: string;
  try {
    text = JSON.stringify(record, function (key, value) {
      if (typeof value === "number" && !Number.isFinite(value)) {
        throw new NonFiniteError(key === "" ? argument : `${argument}.${key}`);
      }
      return value;
    });
  } catch (error) {
    if (error instanceof NonFiniteError) throw error;
    throw new InvalidArgumentError(argument, "a JSON-serialisable value", (error as Error).message);
  }
  return text;
}

function serialiseAll(records: readonly unknown[]): string {
  if (!Array.isArray(records as unknown)) throw new InvalidArgumentError("records", "an array of JSON-serialisable values", records);
  return records.map((r, i) => serialiseJsonlRecord(r, `records[${i}]`) + "\n").join("");
}

/** Writes records as a JSONL file atomically (the old file, if any, stays intact on error). */
export function writeJsonl(file: string, records: readonly unknown[]): void {
  atomicWriteFile(file, serialiseAll(records));
}

/** Appends records to a JSONL log (creating it), with one write and an fsync. */
export function appendJsonl(file: string, records: readonly unknown[]): void {
  const text = serialiseAll(records); // serialise first: a bad record must not leave a partial append
  if (text.length === 0) return;
  const fd = fs.openSync(file, "a+");
  try {
    const size = fs.fstatSync(fd).size;
    let prefix = "";
    if (size > 0) {
      const last = Buffer.alloc(1);
      fs.readSync(fd, last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = "\n"; // isolate a torn last line from the new records
    }
    const bytes = Buffer.from(prefix + text, "utf8");
    let written = 0;
    while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
