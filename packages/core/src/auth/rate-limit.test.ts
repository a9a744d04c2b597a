import { isAppError } from "@betblocker/common/errors/app-error";
import { describe, expect, test } from "vitest";
import { LoginThrottle } from "./login-throttle";
import { consumeRateLimit, MemoryRateLimitStore, retryAfterSeconds } from "./rate-limit";

function movableClock(start = Date.UTC(2030, 0, 1)) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => null,
    (e: unknown) => e,
  );
}

describe("MemoryRateLimitStore", () => {
  test("counts within a window and starts again after it", async () => {
    const clock = movableClock();
    const store = new MemoryRateLimitStore(clock.now);
    expect((await store.increment("k", 1000)).count).toBe(1);
    expect((await store.increment("k", 1000)).count).toBe(2);
    clock.advance(999);
    expect((await store.increment("k", 1000)).count).toBe(3);
    clock.advance(1);
    const fresh = await store.increment("k", 1000);
    expect(fresh).toEqual({ count: 1, resetAt: new Date(clock.now().getTime() + 1000) });
    await store.decrement("k");
    await store.decrement("k");
    expect((await store.increment("k", 1000)).count).toBe(1);
    await store.reset("k");
    expect((await store.increment("k", 1000)).count).toBe(1);
  });

  test("consumeRateLimit throws RATE_LIMITED with retryAfterSeconds after max requests", async () => {
    const clock = movableClock();
    const store = new MemoryRateLimitStore(clock.now);
    const rule = { max: 2, windowSeconds: 60 };
    await consumeRateLimit(store, "r", rule, clock.now);
    await consumeRateLimit(store, "r", rule, clock.now);
    clock.advance(10_500);
    const error = await rejection(consumeRateLimit(store, "r", rule, clock.now));
    expect(isAppError(error, "RATE_LIMITED")).toBe(true);
    expect((error as { details: unknown }).details).toEqual({ retryAfterSeconds: 50 });
    expect(retryAfterSeconds(new Date(1000), new Date(1000))).toBe(1);
  });
});

describe("LoginThrottle", () => {
  const rules = { perEmail: { max: 3, windowSeconds: 900 }, perIp: { max: 5, windowSeconds: 900 } };

  test("limits failures per address; a success clears the address's count", async () => {
    const clock = movableClock();
    const throttle = new LoginThrottle(new MemoryRateLimitStore(clock.now), rules, clock.now);
    for (let i = 0; i < 3; i++) await throttle.begin("a@x.org", "10.0.0.1");
    const error = await rejection(throttle.begin("a@x.org", "10.0.0.2"));
    expect(isAppError(error, "RATE_LIMITED")).toBe(true);
    expect((error as { details: unknown }).details).toEqual({ retryAfterSeconds: 900 });
    clock.advance(900_000);
    const attempt = await throttle.begin("a@x.org", "10.0.0.3");
    await attempt.succeeded();
    for (let i = 0; i < 3; i++) await throttle.begin("a@x.org", "10.0.0.3");
    expect(isAppError(await rejection(throttle.begin("a@x.org", "10.0.0.4")), "RATE_LIMITED")).toBe(true);
  });

  test("limits failures per IP across addresses; successes from that IP do not count", async () => {
    const clock = movableClock();
    const throttle = new LoginThrottle(new MemoryRateLimitStore(clock.now), rules, clock.now);
    for (let i = 0; i < 10; i++) await (await throttle.begin(`ok${i}@x.org`, "10.9.9.9")).succeeded();
    for (let i = 0; i < 5; i++) await throttle.begin(`victim${i}@x.org`, "10.9.9.9");
    expect(isAppError(await rejection(throttle.begin("another@x.org", "10.9.9.9")), "RATE_LIMITED")).toBe(
      true,
    );
    await expect(throttle.begin("another@x.org", "10.1.1.1")).resolves.toBeDefined();
  });

  test("parallel guesses cannot all slip through: attempts count before the password check", async () => {
    const clock = movableClock();
    const throttle = new LoginThrottle(new MemoryRateLimitStore(clock.now), rules, clock.now);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => throttle.begin("target@x.org", "10.2.2.2")),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(3);
  });
});
