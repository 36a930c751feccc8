/**
 * The Redis side of queue sweeps (queue.ts): the `--queue redis://host:port` URL, the names and keys
 * a sweep uses, the list of open sweeps that workers discover, the coordinator lock, and the job
 * data a worker receives.
 *
 * Why these pieces:
 *   - One queue per sweep, named from the study and the store file (`<study>-<12 hex of sha256 of
 *     the store's absolute path>`), so two sweeps on one Redis never mix; every key lives under
 *     the prefix "gradlab".
 *   - Workers are started with only the Redis URL, so a coordinator announces its queue in the
 *     hash `gradlab:sweeps` (queue name → who/what) and workers poll it; the entry stays while the
 *     coordinator is away (killed), so workers keep running its jobs and their results wait in Redis.
 *   - The store has ONE writer: a coordinator holds `gradlab:<queue>:coordinator` (SET NX with a TTL
 *     it refreshes). A second coordinator of the same sweep waits for it to expire, or takes it
 *     over at once when it names a dead process on this host (a killed coordinator restarted).
 * Errors name the argument: a malformed URL is an InvalidArgumentError on `queue`; an unreachable
 * server is a QueueConnectionError (a subclass) with the reason and the URL, password hidden.
 */
import { createHash } from "node:crypto";
import * as os from "node:os";
import * as path from "node:path";
import Redis from "ioredis";
import { InvalidArgumentError } from "../errors";
import type { JsonObject } from "./canonical";
import type { PresetName } from "../notebook";

/** Key prefix of every queue key (BullMQ `prefix`) and of gradlab's own keys. */
export const QUEUE_PREFIX = "gradlab";
/** Env var through which a worker passes its `--study-module` to its processor children. */
export const STUDY_MODULE_ENV = "GRADLAB_QUEUE_STUDY_MODULE";
/** The hash of open sweeps: queue name → JSON SweepAnnouncement. */
export const SWEEPS_KEY = `${QUEUE_PREFIX}:sweeps`;

/** Redis is unreachable (refused, timed out, authentication failed …). */
export class QueueConnectionError extends InvalidArgumentError {
  constructor(url: string, readonly reason: string) {
    super("queue", "a reachable Redis server", redactUrl(url));
    this.message = `queue: cannot reach Redis at ${redactUrl(url)}: ${reason}`;
  }
}

/** The URL with its password replaced by "***" (for messages and logs). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}

/** Where and how to connect: the parts of a Redis URL (ioredis and BullMQ take these as they are). */
export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  /** Present for rediss:// (TLS with the system's CAs). */
  tls?: Record<string, never>;
}

/** Parses `redis://[user:password@]host[:port][/db]` (or rediss:// for TLS); throws InvalidArgumentError naming `argument`. */
export function parseRedisUrl(url: unknown, argument = "queue"): RedisTarget {
  const expected = "a Redis URL like redis://host:6379 (or rediss://, optionally user:password@ and /db)";
  if (typeof url !== "string" || url.length === 0) throw new InvalidArgumentError(argument, expected, url);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidArgumentError(argument, expected, url);
  }
  if ((u.protocol !== "redis:" && u.protocol !== "rediss:") || u.hostname === "") throw new InvalidArgumentError(argument, expected, redactUrl(url));
  const db = u.pathname === "" || u.pathname === "/" ? 0 : Number(u.pathname.slice(1));
  if (!Number.isInteger(db) || db < 0) throw new InvalidArgumentError(`${argument} (database after the "/")`, "a non-negative integer", u.pathname.slice(1));
  if (u.search !== "" || u.hash !== "") throw new InvalidArgumentError(argument, `${expected}, without ?query or #fragment`, redactUrl(url));
  const options: RedisTarget = { host: u.hostname.replace(/^\[|\]$/g, ""), port: u.port === "" ? 6379 : Number(u.port), db };
  if (u.username !== "") options.username = decodeURIComponent(u.username);
  if (u.password !== "") options.password = decodeURIComponent(u.password);
  if (u.protocol === "rediss:") options.tls = {};
  return options;
}

/** BullMQ connection options for `url` (blocking commands need `maxRetriesPerRequest: null`). */
export function bullConnection(url: string): RedisTarget & { maxRetriesPerRequest: null } {
  return { ...parseRedisUrl(url), maxRetriesPerRequest: null };
}

/**
 * Connects once without retrying and checks the server answers PING, so a wrong host or port is
 * reported at once instead of being retried forever. Returns a client for gradlab's own keys
 * (it reconnects normally from here on); the caller quits it.
 */
export async function connectRedis(url: string, timeoutMs = 5000): Promise<Redis> {
  const options = parseRedisUrl(url);
  const probe = new Redis({ ...options, lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null });
  let lastError: string | null = null;
  probe.on("error", (e: Error) => { lastError = e.message; });
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    probe.disconnect();
    throw new QueueConnectionError(url, lastError ?? (e as Error).message);
  }
  probe.disconnect();
  const client = new Redis({ ...options, maxRetriesPerRequest: 20 });
  client.on("error", () => { /* reconnects by itself; commands fail after their retries */ });
  return client;
}

/** The queue name of a sweep of `study` writing to `storeFile`. */
export function queueNameFor(study: string, storeFile: string): string {
  return `${study}-${createHash("sha256").update(path.resolve(storeFile)).digest("hex").slice(0, 12)}`;
}

/** What a coordinator announces in `gradlab:sweeps` (workers print it). */
export interface SweepAnnouncement {
  study: string;
  preset: PresetName;
  store: string;
  host: string;
  pid: number;
  startedAt: string;
}

/** Announces the sweep's queue to workers. */
export async function announceSweep(redis: Redis, queueName: string, announcement: SweepAnnouncement): Promise<void> {
  await redis.hset(SWEEPS_KEY, queueName, JSON.stringify(announcement));
}

/** Withdraws the announcement (workers close their worker for the queue). */
export async function withdrawSweep(redis: Redis, queueName: string): Promise<void> {
  await redis.hdel(SWEEPS_KEY, queueName);
}

/** Open sweeps: queue name → announcement (unparsable entries are reported as null). */
export async function openSweeps(redis: Redis): Promise<Map<string, SweepAnnouncement | null>> {
  const entries = await redis.hgetall(SWEEPS_KEY);
  const out = new Map<string, SweepAnnouncement | null>();
  for (const [name, text] of Object.entries(entries)) {
    try { out.set(name, JSON.parse(text) as SweepAnnouncement); } catch { out.set(name, null); }
  }
  return out;
}

/** The data of one job: a planned run of a study, as a worker's processor needs it. */
export interface QueueJobData {
  study: string;
  /** A study module to load instead of the registry (relative paths are from the project root). */
  studyModule: string | null;
  preset: PresetName;
  config: JsonObject;
  seed: number;
  configHash: string;
  label: string;
  /** Attempt number of this config (store lines so far + 1); names the runId. */
  attempt: number;
  index: number;
  toRun: number;
}

const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;
const REFRESH = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;

function processAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === "EPERM"; }
}

/** Held coordinator lock; `lost` becomes true if a refresh found it taken by someone else. */
export interface CoordinatorLock { readonly lost: boolean; release(): Promise<void> }

/**
 * Takes the coordinator lock of `queueName` (see the header). Waits up to the TTL (+1 s) for a live
 * holder; then throws InvalidArgumentError naming who holds it.
 */
export async function acquireCoordinatorLock(redis: Redis, queueName: string, ttlMs = 15000): Promise<CoordinatorLock> {
  const key = `${QUEUE_PREFIX}:${queueName}:coordinator`;
  const me = JSON.stringify({ host: os.hostname(), pid: process.pid, token: createHash("sha256").update(`${Math.random()}${Date.now()}`).digest("hex").slice(0, 16) });
  const deadline = Date.now() + ttlMs + 1000;
  for (;;) {
    if ((await redis.set(key, me, "PX", ttlMs, "NX")) === "OK") break;
    const holder = await redis.get(key);
    let parsed: { host?: string; pid?: number } = {};
    try { parsed = JSON.parse(holder ?? "{}"); } catch { /* foreign value: wait for its TTL */ }
    if (parsed.host === os.hostname() && typeof parsed.pid === "number" && parsed.pid !== process.pid && !processAlive(parsed.pid)) {
      if ((await redis.eval(RELEASE, 1, key, holder ?? "")) === 1) continue; // stale: its process is gone
    }
    if (Date.now() > deadline) {
      throw new InvalidArgumentError("queue", `no other coordinator on this sweep; ${parsed.host ?? "?"} pid ${parsed.pid ?? "?"} holds ${key}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  let lost = false;
  const timer = setInterval(() => {
    redis.eval(REFRESH, 1, key, me, String(ttlMs)).then((ok) => { if (ok !== 1) lost = true; }, () => { /* retried next tick */ });
  }, Math.max(100, Math.floor(ttlMs / 3)));
  timer.unref();
  return {
    get lost() { return lost; },
    async release() { clearInterval(timer); await redis.eval(RELEASE, 1, key, me).catch(() => undefined); },
  };
}
