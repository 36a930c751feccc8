/**
 * File access shared by every reader and writer in io/.
 *
 *  - `atomicWriteFile(path, data)`: writers never leave a half-written file. Data goes to
 *    `<path>.tmp-<pid>-<random>` in the same folder (same filesystem, so rename is atomic), is
 *    fsynced, then renamed over `path`; the folder is fsynced so the rename itself survives a
 *    crash. On any error the temporary file is removed and the old `path` (if any) is untouched.
 *    Use it for whole-file outputs; for an append-only log use jsonl's `appendJsonl`.
 *  - `readFileOrThrow(path)`: a missing path or a folder becomes FileFormatError naming the path,
 *    so callers report file problems with one error type.
 * Both are synchronous: notebook cells and the run store write small-to-medium files, and sync
 * calls keep the "either old or new file, never half" reasoning simple.
 */

import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { FileFormatError, InvalidArgumentError } from "../errors";

/** The temporary name `atomicWriteFile` writes to before renaming (exported for tests). */
export function temporaryPathFor(target: string): string {
  return `${target}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
}

function fsyncDirectory(dir: string): void {
  // Makes the rename durable. Some platforms/filesystems refuse fsync on a directory; the data
  // itself is already synced, so that refusal is not worth failing the write over.
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    /* best effort */
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/** Writes `data` to `target` atomically (temp file in the same folder, fsync, rename). */
export function atomicWriteFile(target: string, data: string | Uint8Array): void {
  if (typeof target !== "string" || target.length === 0) throw new InvalidArgumentError("path", "a non-empty file path", target);
  if (typeof data !== "string" && !(data instanceof Uint8Array)) throw new InvalidArgumentError("data", "a string or Uint8Array", data);
  const temp = temporaryPathFor(target);
  let fd: number | null = null;
  try {
    fd = fs.openSync(temp, "wx", 0o644); // "wx": never clobber a file we did not create
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let written = 0;
    while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(temp, target);
  } catch (error) {
    if (fd !== null) { try { fs.closeSync(fd); } catch { /* already failing */ } }
    try { fs.unlinkSync(temp); } catch { /* never created, or already renamed */ }
    throw error;
  }
  fsyncDirectory(path.dirname(path.resolve(target)));
}

/** Reads a whole file; a missing file or a folder is a FileFormatError naming the path. */
export function readFileOrThrow(file: string): Buffer {
  if (typeof file !== "string" || file.length === 0) throw new InvalidArgumentError("path", "a non-empty file path", file);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new FileFormatError(file, "does not exist");
    throw new FileFormatError(file, `cannot be read: ${(error as Error).message}`);
  }
  if (stat.isDirectory()) throw new FileFormatError(file, "is a directory, not a file");
  return fs.readFileSync(file);
}
