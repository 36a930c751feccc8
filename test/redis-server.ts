/**
 * A throwaway Redis for tests: `redis-server` on 127.0.0.1 at a free port, no persistence, in a
 * temporary folder, stopped (and the folder removed) by `stop()` — or when the test process exits.
 *
 * redis-server comes from Debian's package, installed by `node scripts/setup-jupyter.mjs
 * --for-tests` (what CI runs). If it is missing, `startRedisServer` throws with the command to
 * install it: tests that need Redis fail loudly rather than skip silently.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export interface RedisServer {
  /** redis://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its folder. */
  stop(): Promise<void>;
}

/** Thrown when no redis-server binary is on PATH. */
export class RedisMissingError extends Error {
  constructor() {
    super("redis-server is not installed, and the queue tests need it. Install it with `node scripts/setup-jupyter.mjs --for-tests` " +
      "(as root; CI does this) or `apt-get update && apt-get install -y redis-server`.");
    this.name = "RedisMissingError";
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let reply = "";
    const done = (ok: boolean) => { socket.destroy(); resolve(ok); };
    socket.setTimeout(1000, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (d) => { reply += d.toString(); if (reply.includes("\r\n")) done(reply.startsWith("+PONG")); });
  });
}

const running = new Set<ChildProcess>();
process.on("exit", () => { for (const child of running) child.kill("SIGKILL"); });

/** Starts a private redis-server; see the module header. */
export async function startRedisServer(): Promise<RedisServer> {
  if (spawnSync("redis-server", ["--version"], { stdio: "ignore" }).error !== undefined) throw new RedisMissingError();
  let lastOutput = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gradlab-redis-"));
    const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], { stdio: ["ignore", "pipe", "pipe"] });
    running.add(child);
    let output = "";
    child.stdout!.on("data", (d) => { output += d.toString(); });
    child.stderr!.on("data", (d) => { output += d.toString(); });
    const exited = new Promise<void>((resolve) => child.once("exit", () => { running.delete(child); resolve(); }));
    const deadline = Date.now() + 10000;
    let ready = false;
    while (!ready && child.exitCode === null && Date.now() < deadline) {
      ready = await ping(port);
      if (!ready) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const cleanup = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    };
    if (ready) return { url: `redis://127.0.0.1:${port}`, port, stop: cleanup };
    lastOutput = output;
    await cleanup(); // port taken meanwhile, or a slow start: try another port
  }
  throw new Error(`redis-server did not start (3 attempts); its last output:\n${lastOutput}`);
}
