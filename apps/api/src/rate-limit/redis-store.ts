/**
 * Rate-limit counters in Redis, shared by every API replica (REDIS_URL). One Lua script makes "increment and
 * start the window on first use" atomic. When Redis is unreachable the store fails open (the request is
 * allowed and an error logged): an outage of an optional cache must not lock every user out of their
 * accountability tools, and Argon2id still makes each password guess expensive.
 */
import type { RateLimitStore, WindowCount } from "@betblocker/core/auth/rate-limit";
import { Redis } from "ioredis";

const INCREMENT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}`;

const DECREMENT = `
if redis.call('EXISTS', KEYS[1]) == 1 and tonumber(redis.call('GET', KEYS[1])) > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0`;

export interface RedisRateLimitStoreOptions {
  url: string;
  /** Key prefix, so that one Redis can serve several deployments. */
  prefix?: string;
  onError?: (error: unknown) => void;
}

export class RedisRateLimitStore implements RateLimitStore {
  readonly client: Redis;
  private readonly prefix: string;
  private readonly onError: (error: unknown) => void;

  constructor(options: RedisRateLimitStoreOptions) {
    this.client = new Redis(options.url, {
      lazyConnect: true,
      // Fail fast instead of queueing requests while Redis is away.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
    });
    this.client.on("error", (error) => this.onError(error));
    this.prefix = options.prefix ?? "betblocker:";
    this.onError = options.onError ?? (() => {});
  }

  async connect(): Promise<void> {
    await this.client.connect();
  }

  async increment(key: string, windowMs: number): Promise<WindowCount> {
    try {
      const [count, ttl] = (await this.client.eval(INCREMENT, 1, this.prefix + key, String(windowMs))) as [
        number,
        number,
      ];
      return { count, resetAt: new Date(Date.now() + ttl) };
    } catch (error) {
      this.onError(error);
      return { count: 0, resetAt: new Date(Date.now() + windowMs) };
    }
  }

  async decrement(key: string): Promise<void> {
    try {
      await this.client.eval(DECREMENT, 1, this.prefix + key);
    } catch (error) {
      this.onError(error);
    }
  }

  async reset(key: string): Promise<void> {
    try {
      await this.client.del(this.prefix + key);
    } catch (error) {
      this.onError(error);
    }
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
