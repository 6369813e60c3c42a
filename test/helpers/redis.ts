/**
 * A real Redis for the fleet's tests: Debian's redis-server, started on a free port in a temp
 * folder (append-only file on, so a restart keeps the queues, as a production Redis would) and
 * stopped after the file's tests. Tests skip with REDIS_MISSING when redis-server is not installed.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";

function findRedisServer(): string | null {
  const r = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() !== "" ? r.stdout.trim() : null;
}

export const REDIS_SERVER = findRedisServer();
export const REDIS_MISSING = "redis-server is not installed (Debian: apt-get install redis-server; .ci/run installs it)";

/** A port nothing listens on now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** stops the server (SIGTERM: it flushes its append-only file) */
  stop(): Promise<void>;
  /** starts it again on the same port and folder */
  start(): Promise<void>;
}

/** Starts redis-server in `dir`; call stop() in the file's afterAll (a hook registered inside beforeAll is not run). */
export async function startRedis(dir: string, extraArgs: readonly string[] = []): Promise<TestRedis> {
  if (REDIS_SERVER === null) throw new Error(REDIS_MISSING);
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(REDIS_SERVER, ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--logfile", path.join(dir, "redis.log"), ...extraArgs], { stdio: "ignore" });
    for (let i = 0; i < 100; i++) {
      if (await ping(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGKILL");
    throw new Error(`redis-server did not answer on port ${port} within 5 s (see ${path.join(dir, "redis.log")})`);
  };
  const stop = async () => {
    const c = child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill("SIGTERM");
    await exited;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, stop, start };
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let data = "";
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (d) => {
      data += String(d);
      if (data.includes("\r\n")) {
        socket.destroy();
        // +PONG, or -NOAUTH from a server that wants a password: either way it answers
        resolve(data.startsWith("+PONG") || data.startsWith("-NOAUTH"));
      }
    });
    socket.on("error", () => resolve(false));
  });
}
