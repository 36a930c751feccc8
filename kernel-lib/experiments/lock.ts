/**
 * Exclusive lock files: one writer at a time for a run store, a cache stage, a merge output —
 * across processes and, on a shared filesystem, across machines.
 *
 * Why a file: the writers are separate processes (two `npm run sweep`, a worker pool's parent, a
 * Slurm task on another node) with nothing in common but the folder. `<target>.lock` is created
 * with O_EXCL (exactly one creator wins, also on NFSv3+) and holds one JSON line
 * {pid, host, startedAt, command, token[, slot, boot, pidns, pidStart]}, so a refused writer can
 * say who holds it.
 *
 * Released by `release()`, and best-effort when the process ends: on "exit", and on SIGTERM when
 * nothing else listens for it (the signal is then re-raised, so the process still dies of it).
 * SIGKILL, a crash or a power loss leave the file behind; such a STALE lock is taken over, with a
 * warning, when the holder is provably gone:
 *   - it is on THIS host and its pid is not running (process.kill(pid, 0) → ESRCH), or it has this
 *     process's own pid but this process does not hold it (a restarted container reuses pids),
 *     or (Linux) the host has rebooted since (boot id) or the pid now belongs to a process that
 *     started later (/proc/<pid>/stat start time). "This host" means same host name AND, on
 *     Linux, the same pid namespace: two containers sharing a host name but not their pids
 *     cannot judge each other's pids, so they count as different hosts;
 *   - it carries the same scheduler slot as this process, even from another node or container:
 *     Slurm keeps SLURM_JOB_ID across a requeue and runs one instance of a job at a time; a
 *     Kubernetes Indexed Job retries index i as a new pod with the same host name (rare
 *     exception: a pod on a partitioned node that is still running — then both write; merge
 *     reports the resulting conflicts);
 *   - the file is empty or unreadable (a crash while creating it) and older than
 *     CORRUPT_LOCK_STALE_MS.
 * A lock held on ANOTHER host is never stolen automatically (its pid cannot be checked from
 * here). If that process is really gone, delete the `.lock` file, or pass `breakLock: true`.
 * Taking over is itself serialised by a short-lived `<target>.lock.break` file and re-checks,
 * under it, that the lock file is still the stale one (same inode, same content), so two
 * processes racing to take over never both succeed.
 * Everything is synchronous (callers are sync: the run store, the g2is stage cache); waiting for
 * a lock polls with a blocking sleep.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { InvalidArgumentError, LockHolderInfo, StoreLockedError, assertKnownKeys } from "../errors";

/** The contents of a lock file. */
export interface LockHolder extends LockHolderInfo {
  /** Random id of this acquisition: release() removes the file only if it still holds it. */
  token: string;
  /** Scheduler slot (e.g. "slurm:1234"); see the module header. */
  slot?: string;
  /** Linux: /proc/sys/kernel/random/boot_id, the pid namespace, and the holder's start time. */
  boot?: string;
  pidns?: string;
  pidStart?: string;
}

/**
 * Options of `acquireLock` / `tryAcquireLock`: the recorded command, how long to wait, whether to
 * break another holder's lock.
 */
export interface LockOptions {
  /** Recorded in the lock file; default: this process's command line. */
  command?: string;
  /** Take over the lock whoever holds it (another host, a live pid), with a warning. Default false. */
  breakLock?: boolean;
  /** Wait up to this long for a live holder to release (polling). Default 0: fail at once. */
  timeoutMs?: number;
  /** Longest poll interval while waiting (it backs off from 2 ms to this). Default 200 ms. */
  pollMs?: number;
  /** Receives the take-over warnings; default console.warn. */
  onWarning?: (message: string) => void;
}

const LOCK_OPTION_KEYS = ["command", "breakLock", "timeoutMs", "pollMs", "onWarning"];

/** An empty or unparsable lock file older than this is treated as left by a crash. */
export const CORRUPT_LOCK_STALE_MS = 5000;

const heldHere = new Map<string, FileLock>();
let exitHooksInstalled = false;

/** The lock file of `target`. */
export function lockFileFor(target: string): string {
  return `${path.resolve(target)}.lock`;
}

/**
 * The scheduler slot of this process — the same for every attempt of one task, and run by one
 * process at a time — or undefined: a Slurm job (SLURM_JOB_ID survives a requeue; step and task
 * ids tell `srun` tasks apart), or a Kubernetes Indexed Job pod (its host name is
 * <job name>-<index> on every retry).
 */
export function schedulerSlot(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.SLURM_JOB_ID) return `slurm:${env.SLURM_CLUSTER_NAME ?? ""}:${env.SLURM_JOB_ID}.${env.SLURM_STEP_ID ?? ""}.${env.SLURM_PROCID ?? "0"}`;
  if (env.JOB_COMPLETION_INDEX) return `k8s:${os.hostname()}:${env.JOB_COMPLETION_INDEX}`;
  return undefined;
}

function readOr(read: () => string): string | undefined {
  try { return read().trim() || undefined; } catch { return undefined; }
}

/** Linux: the start time (clock ticks since boot) of `pid`, or undefined. */
function processStart(pid: number): string | undefined {
  const stat = readOr(() => fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  return stat?.slice(stat.lastIndexOf(")") + 2).split(" ")[19]; // field 22; fields after "comm)" start at 3
}

let machineIds: { boot?: string; pidns?: string } | null = null;
function machine(): { boot?: string; pidns?: string } {
  machineIds ??= {
    boot: readOr(() => fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8")),
    pidns: readOr(() => fs.readlinkSync("/proc/self/ns/pid")),
  };
  return machineIds;
}

/** True unless `pid` is provably not running on this host. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH"; // EPERM: alive, owned by someone else
  }
}

/** Sleeps synchronously (the callers are synchronous). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.max(0, ms));
}

function parseHolder(text: string): LockHolder | null {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (v === null || typeof v !== "object" || !Number.isInteger(v.pid) || typeof v.host !== "string" || typeof v.token !== "string") return null;
    const holder: LockHolder = { pid: v.pid!, host: v.host, startedAt: String(v.startedAt), command: String(v.command), token: v.token };
    for (const k of ["slot", "boot", "pidns", "pidStart"] as const) if (typeof v[k] === "string") holder[k] = v[k];
    return holder;
  } catch {
    return null;
  }
}

interface Snapshot { text: string; holder: LockHolder | null; ino: number; mtimeMs: number }

function snapshot(file: string): Snapshot | null {
  try {
    const stat = fs.statSync(file);
    const text = fs.readFileSync(file, "utf8");
    return { text, holder: parseHolder(text), ino: stat.ino, mtimeMs: stat.mtimeMs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}

/** The current holder of `target`'s lock, or null if unlocked (or the lock file is unreadable). */
export function readLockHolder(target: string): LockHolder | null {
  return snapshot(lockFileFor(target))?.holder ?? null;
}

/** Why the lock in `snap` is stale (safe to take over), or null if its holder may be alive. */
function staleReason(file: string, snap: Snapshot): string | null {
  const h = snap.holder;
  if (h === null) {
    const age = Date.now() - snap.mtimeMs;
    return age > CORRUPT_LOCK_STALE_MS ? `the lock file is empty or unreadable and ${(age / 1000).toFixed(1)} s old (a crash while creating it)` : null;
  }
  const here = machine();
  if (h.host === os.hostname() && (h.pidns === undefined || here.pidns === undefined || h.pidns === here.pidns)) {
    if (h.boot !== undefined && here.boot !== undefined && h.boot !== here.boot) return "this host has rebooted since it was taken";
    if (h.pid === process.pid) return heldHere.get(file)?.holder.token === h.token ? null : "it names this process's pid but this process does not hold it (left by an earlier process with the same pid)";
    if (!isProcessAlive(h.pid)) return `its holder pid ${h.pid} is no longer running on this host`;
    const start = h.pidStart === undefined ? undefined : processStart(h.pid);
    return start !== undefined && start !== h.pidStart ? `its holder pid ${h.pid} ended; that pid now belongs to a newer process` : null;
  }
  const slot = schedulerSlot();
  if (h.slot !== undefined && slot !== undefined && h.slot === slot) return `it was left by an earlier attempt of this scheduler job (${slot}) on host ${h.host}`;
  return null;
}

function describeHolder(h: LockHolder | null): string {
  return h === null ? "an unknown process" : `pid ${h.pid} on host ${h.host} since ${h.startedAt} (${h.command})`;
}

function createExclusive(file: string, text: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, "wx", 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    try { fs.unlinkSync(file); } catch { /* best effort */ }
    throw e;
  }
  fs.closeSync(fd);
  return true;
}

/** Removes the lock in `snap` if it is still exactly that file; true if the way is now clear. */
function takeOver(file: string, snap: Snapshot, reason: string, warn: (m: string) => void): boolean {
  const breaker = `${file}.break`;
  if (!createExclusive(breaker, `${process.pid}\n`)) {
    const other = snapshot(breaker); // a breaker that died mid-take-over leaves this behind
    if (other !== null && Date.now() - other.mtimeMs > CORRUPT_LOCK_STALE_MS) { try { fs.unlinkSync(breaker); } catch { /* raced */ } }
    return false;
  }
  try {
    const now = snapshot(file);
    if (now === null) return true;
    if (now.ino !== snap.ino || now.text !== snap.text || now.mtimeMs !== snap.mtimeMs) return false; // changed: re-evaluate
    fs.unlinkSync(file);
    warn(`gradlab: taking over the lock ${file} held by ${describeHolder(snap.holder)}: ${reason}`);
    return true;
  } finally {
    try { fs.unlinkSync(breaker); } catch { /* best effort */ }
  }
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on("exit", () => { for (const lock of [...heldHere.values()]) lock.release(); });
  const onTerm = () => {
    if (process.listenerCount("SIGTERM") > 0) return; // the program handles SIGTERM itself: its "exit" releases
    for (const lock of [...heldHere.values()]) lock.release();
    process.kill(process.pid, "SIGTERM"); // default action again: die of the signal …
    process.exit(128 + 15); // … unless we are pid 1 (a container), which ignores it
  };
  process.once("SIGTERM", onTerm);
}

/** A held lock; see the module header. */
export class FileLock {
  private released = false;

  /** @internal use acquireLock / tryAcquireLock. */
  constructor(readonly target: string, readonly file: string, readonly holder: LockHolder) {}

  /** True until release() (does not re-read the file; see `assertHeld`). */
  get held(): boolean { return !this.released; }

  /** Throws StoreLockedError if the lock was released, broken or taken over by someone else. */
  assertHeld(): void {
    const snap = this.released ? null : snapshot(this.file);
    if (snap?.holder?.token === this.holder.token) return;
    const detail = this.released ? "this handle released it" : snap === null ? "the lock file was deleted" : `this handle's lock (pid ${this.holder.pid}) was broken or taken over`;
    throw new StoreLockedError(this.target, this.file, snap?.holder ?? null, `this writer no longer holds the lock (${detail}); nothing was written`);
  }

  /** Removes the lock file if it is still ours; idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (heldHere.get(this.file) === this) heldHere.delete(this.file);
    if (snapshot(this.file)?.holder?.token === this.holder.token) {
      try { fs.unlinkSync(this.file); } catch { /* already gone */ }
    }
  }
}

function checkOptions(target: string, options: LockOptions): void {
  assertKnownKeys("options", options, LOCK_OPTION_KEYS);
  if (typeof target !== "string" || target.length === 0) throw new InvalidArgumentError("target", "a non-empty file path", target);
  for (const k of ["timeoutMs", "pollMs"] as const) {
    const v = options[k];
    if (v !== undefined && (typeof v !== "number" || !(v >= 0) || !Number.isFinite(v))) throw new InvalidArgumentError(`options.${k}`, "a non-negative number of milliseconds", v);
  }
  if (options.onWarning !== undefined && typeof options.onWarning !== "function") throw new InvalidArgumentError("options.onWarning", "a function (message) => void", options.onWarning);
}

/**
 * One attempt (taking over a stale lock if needed): the lock, or the current holder's snapshot
 * when someone live holds it.
 */
function attempt(target: string, options: LockOptions): FileLock | Snapshot {
  const file = lockFileFor(target);
  const warn = options.onWarning ?? ((m: string) => console.warn(m));
  const slot = schedulerSlot();
  const holder: LockHolder = {
    pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(),
    command: options.command ?? process.argv.map((a) => path.basename(a)).join(" "), token: randomBytes(8).toString("hex"), ...(slot ? { slot } : {}),
  };
  const { boot, pidns } = machine(), pidStart = processStart(process.pid);
  Object.assign(holder, boot ? { boot } : {}, pidns ? { pidns } : {}, pidStart ? { pidStart } : {});
  fs.mkdirSync(path.dirname(file), { recursive: true });
  for (let tries = 0; ; tries++) {
    if (createExclusive(file, JSON.stringify(holder) + "\n")) {
      const lock = new FileLock(path.resolve(target), file, holder);
      heldHere.set(file, lock);
      installExitHooks();
      return lock;
    }
    const snap = snapshot(file);
    if (snap === null) continue; // released between our create and read: try again
    const reason = options.breakLock === true ? "breakLock was requested" : staleReason(file, snap);
    if (reason === null || tries >= 20) return snap;
    if (!takeOver(file, snap, reason, warn)) sleepSync(10 + Math.random() * 40); // someone else is taking over: let them
  }
}

function lockedError(target: string, file: string, snap: Snapshot, waitedMs: number): StoreLockedError {
  const h = snap.holder;
  const waited = waitedMs > 0 ? `waited ${(waitedMs / 1000).toFixed(1)} s; ` : "";
  let hint: string;
  if (h === null) hint = `the lock file ${file} is being created or is corrupt; it counts as stale after ${CORRUPT_LOCK_STALE_MS / 1000} s`;
  else if (h.host !== os.hostname() || (h.pidns !== undefined && machine().pidns !== undefined && h.pidns !== machine().pidns)) hint = `a lock held on another host (or pid namespace) is never broken automatically: if that process is gone, delete ${file} (or open with breakLock: true)`;
  else if (h.pid === process.pid) hint = `another handle in this process holds it: close() that one first (lock file ${file})`;
  else hint = `that process is still running: wait for it, or stop it (lock file ${file})`;
  return new StoreLockedError(path.resolve(target), file, h, waited + hint);
}

/** Takes `target`'s lock now, or returns null if a live holder has it (stale locks are taken over). */
export function tryAcquireLock(target: string, options: LockOptions = {}): FileLock | null {
  checkOptions(target, options);
  const got = attempt(target, options);
  return got instanceof FileLock ? got : null;
}

/**
 * Takes `target`'s lock (`<target>.lock`), waiting up to `timeoutMs` for a live holder; throws
 * StoreLockedError naming the holder (pid, host, since, command) if it cannot.
 */
export function acquireLock(target: string, options: LockOptions = {}): FileLock {
  checkOptions(target, options);
  const started = Date.now(), timeout = options.timeoutMs ?? 0, poll = options.pollMs ?? 200;
  for (let round = 0; ; round++) {
    const got = attempt(target, options);
    if (got instanceof FileLock) return got;
    const waited = Date.now() - started;
    if (waited >= timeout) throw lockedError(target, lockFileFor(target), got, timeout > 0 ? waited : 0);
    // Back off from 2 ms up to pollMs, jittered: short holds (an append) are caught quickly.
    const delay = Math.min(poll, 2 * 2 ** Math.min(round, 16)) * (0.5 + Math.random() / 2);
    sleepSync(Math.min(delay, timeout - waited));
  }
}

/** The error acquireLock would throw for a lock currently held (for callers that poll themselves). */
export function lockHeldError(target: string, waitedMs: number): StoreLockedError | null {
  const snap = snapshot(lockFileFor(target));
  return snap === null ? null : lockedError(target, lockFileFor(target), snap, waitedMs);
}
