/**
 * The connection to Redis, and the one place bullmq and ioredis are loaded: only when a command is
 * given --redis (dynamic imports), so the in-process path never loads them. They are optional peer
 * dependencies (like node-llama-cpp): an app that does not use a fleet does not install their 13 MB.
 */
import { InputError, OptionError } from "../core/errors.js";
import type { ConnectionOptions } from "bullmq";

export type BullMQ = typeof import("bullmq");

/** The queue every worker takes uniform files, calibration passes and probe batches from. */
export const JOB_QUEUE = "apreqel-jobs";
/** The queue of latency jobs for one device class (only workers of that class take them). */
export function latencyQueue(deviceClass: string): string {
  return `apreqel-latency-${deviceClass}`;
}

/** The queues' prefix in Redis: one store's fleet (store.ts's id) does not see another's jobs. */
export function queuePrefix(storeId: string): string {
  return `apreqel-${storeId}`;
}

/** bullmq, or a clear error naming what to install. */
export async function loadBullMQ(option = "--redis"): Promise<BullMQ> {
  try {
    return await import("bullmq");
  } catch (e) {
    throw new OptionError(option, `${option} needs the optional peer dependencies bullmq and ioredis, which are not installed (${(e as Error).message.split("\n")[0]}); install them with npm install bullmq ioredis`);
  }
}

/** A Redis URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}

/**
 * `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS) → ioredis options, for BullMQ.
 * ioredis keeps reconnecting after the server goes away (a Redis restarted mid-run); BullMQ's
 * workers need `maxRetriesPerRequest: null` so a command waits for the reconnection instead of failing.
 *
 * @example
 * connectionOptions("rediss://:s3cret@queue.example:6380/2") // { host: "queue.example", port: 6380, password: "s3cret", db: 2, tls: {}, … }
 */
export function connectionOptions(url: string, option = "--redis"): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new OptionError(option, `${option}: expected a URL like redis://host:6379 or rediss://:password@host:6380 but received ${JSON.stringify(url)}`);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") throw new OptionError(option, `${option}: expected a redis:// or rediss:// URL but received ${JSON.stringify(redactUrl(url))}`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new OptionError(option, `${option}: the database ${JSON.stringify(u.pathname.slice(1))} is not a number`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, "") || "localhost",
    port: u.port === "" ? 6379 : Number(u.port),
    ...(u.username !== "" ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password !== "" ? { password: decodeURIComponent(u.password) } : {}),
    db,
    ...(u.protocol === "rediss:" ? { tls: { servername: u.hostname } } : {}),
    maxRetriesPerRequest: null,
    // reconnect quickly and keep trying: a restarted Redis is back within seconds
    retryStrategy: (times: number) => Math.min(200 * times, 2000),
  };
}

/**
 * Connects once with no retry and pings: a URL where no Redis answers (or that refuses the
 * password) is the user's mistake, reported before any work starts.
 */
export async function requireRedis(url: string, option = "--redis"): Promise<void> {
  const options = connectionOptions(url, option);
  await loadBullMQ(option);
  const { Redis } = await import("ioredis").catch((e: Error) => {
    throw new OptionError(option, `${option} needs the optional peer dependency ioredis, which is not installed (${e.message.split("\n")[0]}); install it with npm install bullmq ioredis`);
  });
  const client = new Redis({ ...(options as object), lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 5000, enableOfflineQueue: false });
  // the event carries the reason (ECONNREFUSED, ENOTFOUND, a TLS failure); the rejection often only "Connection is closed."
  let reason: string | undefined;
  client.on("error", (e: Error) => void (reason ??= e.message));
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    const why = reason ?? (e as Error).message;
    throw new InputError(`${option} ${redactUrl(url)}: no Redis answers there (${why}); start one (redis-server --port 6379) or check the host, port and password`);
  } finally {
    client.disconnect();
  }
}
