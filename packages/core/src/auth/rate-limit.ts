/**
 * Fixed-window counters for rate limits. The store is in memory by default (one API process) and Redis when
 * several replicas must share counters (apps/api RedisRateLimitStore). Keys are opaque strings; callers hash
 * anything personal (e-mail addresses) before using it in a key, so a shared store never holds them.
 */
import { createHash } from "node:crypto";
import { AppError } from "@betblocker/common/errors/app-error";
import type { Clock } from "./clock";

export interface WindowCount {
  count: number;
  /** When the window ends and the count starts again from zero. */
  resetAt: Date;
}

export interface RateLimitStore {
  /** Adds one to `key`'s counter (starting a window of `windowMs` when there is none) and returns it. */
  increment(key: string, windowMs: number): Promise<WindowCount>;
  /** Takes back one count from `key`'s current window (never below zero); no-op without a window. */
  decrement(key: string): Promise<void>;
  reset(key: string): Promise<void>;
}

export interface RateLimitRule {
  max: number;
  windowSeconds: number;
}

/** Bounds memory under a flood of distinct keys: past this many, expired windows are swept, then the oldest dropped. */
const MEMORY_STORE_MAX_KEYS = 100_000;

export class MemoryRateLimitStore implements RateLimitStore {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(private readonly clock: Clock = () => new Date()) {}

  async increment(key: string, windowMs: number): Promise<WindowCount> {
    const now = this.clock().getTime();
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      if (this.windows.size >= MEMORY_STORE_MAX_KEYS) this.evict(now);
      window = { count: 0, resetAt: now + windowMs };
      this.windows.delete(key);
      this.windows.set(key, window);
    }
    window.count++;
    return { count: window.count, resetAt: new Date(window.resetAt) };
  }

  async decrement(key: string): Promise<void> {
    const window = this.windows.get(key);
    if (window && window.resetAt > this.clock().getTime() && window.count > 0) window.count--;
  }

  async reset(key: string): Promise<void> {
    this.windows.delete(key);
  }

  private evict(now: number): void {
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
    // Still full: drop the oldest windows (Map iterates in insertion order).
    for (const key of this.windows.keys()) {
      if (this.windows.size < MEMORY_STORE_MAX_KEYS * 0.9) break;
      this.windows.delete(key);
    }
  }
}

/** Whole seconds until `resetAt`, at least 1 (the Retry-After header, RFC 9110 section 10.2.3). */
export function retryAfterSeconds(resetAt: Date, now: Date): number {
  return Math.max(1, Math.ceil((resetAt.getTime() - now.getTime()) / 1000));
}

export function rateLimitedError(
  resetAt: Date,
  now: Date,
  message = "too many requests, try again later",
): AppError {
  return new AppError("RATE_LIMITED", message, { retryAfterSeconds: retryAfterSeconds(resetAt, now) });
}

/** A key part for personal data (an e-mail address): a short SHA-256, never the value itself. */
export function hashedKeyPart(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("base64url").slice(0, 22);
}

/**
 * Counts one request against `rule` under `key` and throws RATE_LIMITED (details.retryAfterSeconds) when the
 * window already holds `max` requests.
 */
export async function consumeRateLimit(
  store: RateLimitStore,
  key: string,
  rule: RateLimitRule,
  clock: Clock,
): Promise<void> {
  const window = await store.increment(key, rule.windowSeconds * 1000);
  if (window.count > rule.max) throw rateLimitedError(window.resetAt, clock());
}
