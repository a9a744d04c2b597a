/**
 * Brute-force protection for password login: failed attempts are counted per e-mail address (whether or not
 * the account exists, so the limit reveals nothing) and per client IP, each in its own fixed window. Once
 * either counter is past its maximum, attempts are refused with RATE_LIMITED before the password is checked,
 * until that window ends.
 *
 * Every attempt is counted when it starts, before the password check, so a burst of parallel guesses cannot
 * all slip through between a check and the recording of their failures. A success then takes its count back:
 * it clears the address's counter (a user who mistyped a few times starts afresh) and removes only its own
 * count from the IP's (an attacker holding one valid account must not reset the IP limit between guesses at
 * other accounts). So successes do not count, failures do.
 */
import type { Clock } from "./clock";
import { hashedKeyPart, type RateLimitRule, type RateLimitStore, rateLimitedError } from "./rate-limit";

export interface LoginThrottleRules {
  perEmail: RateLimitRule;
  perIp: RateLimitRule;
}

export interface LoginAttempt {
  /** The password was right: this attempt does not count. */
  succeeded(): Promise<void>;
}

const MESSAGE = "too many failed sign-in attempts, try again later";

export class LoginThrottle {
  constructor(
    private readonly store: RateLimitStore,
    private readonly rules: LoginThrottleRules,
    private readonly clock: Clock,
  ) {}

  /** Counts an attempt; throws RATE_LIMITED (details.retryAfterSeconds) when a limit is exceeded. */
  async begin(email: string, ip: string | null): Promise<LoginAttempt> {
    const emailKey = `login-fail:email:${hashedKeyPart(email)}`;
    const ipKey = ip ? `login-fail:ip:${ip}` : null;
    const [byEmail, byIp] = await Promise.all([
      this.store.increment(emailKey, this.rules.perEmail.windowSeconds * 1000),
      ipKey ? this.store.increment(ipKey, this.rules.perIp.windowSeconds * 1000) : Promise.resolve(null),
    ]);
    const exceeded: Date[] = [];
    if (byEmail.count > this.rules.perEmail.max) exceeded.push(byEmail.resetAt);
    if (byIp && byIp.count > this.rules.perIp.max) exceeded.push(byIp.resetAt);
    if (exceeded.length > 0) {
      const latest = new Date(Math.max(...exceeded.map((d) => d.getTime())));
      throw rateLimitedError(latest, this.clock(), MESSAGE);
    }
    return {
      succeeded: async () => {
        await Promise.all([
          this.store.reset(emailKey),
          ipKey ? this.store.decrement(ipKey) : Promise.resolve(),
        ]);
      },
    };
  }
}
