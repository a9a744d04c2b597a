/**
 * Accounts and sessions: registration, e-mail verification, password login, refresh token rotation with reuse
 * detection, logout. Used by the API (and later the CLI/worker); knows nothing about HTTP and throws AppError.
 *
 * Sessions: a login starts a refresh token family. Each refresh rotates the token (the old row is revoked and
 * points at its successor). A rotated token presented again means that someone else holds the family (a
 * stolen token, or a stolen successor): every token of the family is revoked, an audit_log row records the
 * event, and the caller gets TOKEN_REUSED. Logout revokes the presented token's family, i.e. that one login
 * on that one device; other devices stay signed in.
 *
 * Registration does not reveal whether an address is registered: both cases return the same result shape
 * (the verification token is null for a taken address and is only ever shown in development mode).
 */
import { AppError, validationError } from "@betblocker/common/errors/app-error";
import {
  type AccountProfile,
  findLoginCredentials,
  registerAccount,
} from "@betblocker/db/repositories/account.repository";
import { consumeEmailVerificationToken } from "@betblocker/db/repositories/email-verification.repository";
import {
  insertRefreshToken,
  lockRefreshToken,
  lookupRefreshToken,
  markRefreshTokenRotated,
  recordRefreshTokenReuse,
  revokeRefreshTokenFamily,
} from "@betblocker/db/repositories/refresh-token.repository";
import { z } from "zod";
import type { AccessTokenSubject, AccessTokens } from "./access-token";
import type { AuthDatabase } from "./auth-database";
import type { Clock } from "./clock";
import { emailSchema } from "./email";
import type { LoginThrottle } from "./login-throttle";
import type { PasswordHasher } from "./password-hasher";
import { PASSWORD_MAX_LENGTH, passwordProblems, passwordSchema } from "./password-policy";
import { hashSecretToken, isWellFormedSecretToken, newSecretToken } from "./secret-token";

/** Shown for every failed login, whatever failed (unknown address or wrong password). */
export const LOGIN_FAILED_MESSAGE = "invalid e-mail address or password";
const REFRESH_INVALID_MESSAGE = "invalid or expired refresh token";
const DEVICE_INFO_MAX_LENGTH = 500;

export const displayNameSchema = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(100)
  .refine((name) => !/\p{Cc}/u.test(name), "must not contain control characters");

const registerInputSchema = z.object({
  email: emailSchema,
  password: passwordSchema,
  displayName: displayNameSchema.nullish(),
});

export interface AuthServiceSettings {
  refreshTokenTtlDays: number;
  emailVerificationTtlHours: number;
}

export interface AuthServiceDeps {
  hasher: PasswordHasher;
  accessTokens: AccessTokens;
  loginThrottle: LoginThrottle;
  clock: Clock;
  settings: AuthServiceSettings;
}

/** Who is calling and from where, for one operation. */
export interface AuthContext {
  db: AuthDatabase;
  ip: string | null;
  /** User-Agent or device description, kept with the refresh token (truncated). */
  userAgent: string | null;
}

export interface RegisterInput {
  email: string;
  password: string;
  displayName?: string | null;
}

export interface RegisterResult {
  /**
   * The e-mail verification token to send to the address; null when the address was already registered.
   * Secret: the API shows it only in development mode (api.expose_dev_tokens), and nothing logs it.
   */
  verificationToken: string | null;
}

export interface AuthSession {
  accessToken: string;
  accessTokenExpiresIn: number;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
  account: AccountProfile;
}

export interface AuthService {
  register(ctx: AuthContext, input: RegisterInput): Promise<RegisterResult>;
  verifyEmail(ctx: AuthContext, token: string): Promise<void>;
  login(ctx: AuthContext, input: { email: string; password: string }): Promise<AuthSession>;
  refresh(ctx: AuthContext, refreshToken: string): Promise<AuthSession>;
  logout(ctx: AuthContext, refreshToken: string): Promise<void>;
  /** The actor's own account; UNAUTHENTICATED when it no longer matches the token. */
  currentAccount(ctx: AuthContext, actor: AccessTokenSubject): Promise<AccountProfile>;
}

function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (!result.success) throw validationError(result.error, { input });
  return result.data;
}

function fieldError(path: string, message: string): AppError {
  return new AppError("VALIDATION_FAILED", `invalid input: ${path}: ${message}`, {
    fieldErrors: [{ path, message }],
  });
}

function deviceInfo(userAgent: string | null): string | null {
  if (!userAgent) return null;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  const cleaned = userAgent.replace(/[\u0000-\u001f\u007f]/g, " ").trim();
  return cleaned ? [...cleaned].slice(0, DEVICE_INFO_MAX_LENGTH).join("") : null;
}

type RotationOutcome =
  | { kind: "rotated"; account: AccountProfile; refreshToken: string; expiresAt: Date }
  | { kind: "reused" }
  | { kind: "invalid" };

export function createAuthService(deps: AuthServiceDeps): AuthService {
  const { hasher, accessTokens, loginThrottle, clock, settings } = deps;
  const refreshTtlMs = settings.refreshTokenTtlDays * 86_400_000;

  async function toSession(
    account: AccountProfile,
    refreshToken: string,
    expiresAt: Date,
  ): Promise<AuthSession> {
    const access = await accessTokens.issue({
      accountId: account.id,
      publicId: account.publicId,
      role: account.role,
    });
    return {
      accessToken: access.token,
      accessTokenExpiresIn: access.expiresIn,
      refreshToken,
      refreshTokenExpiresAt: expiresAt,
      account,
    };
  }

  return {
    async register(ctx, input) {
      const parsed = parse(registerInputSchema, input);
      const problems = passwordProblems(parsed.password, { email: parsed.email });
      if (problems[0]) throw fieldError("password", problems[0]);
      // Hash before touching the database: a taken address costs the same time as a new one.
      const passwordHash = await hasher.hash(parsed.password);
      const verification = newSecretToken();
      const now = clock();
      const created = await ctx.db.anonymous((tx) =>
        registerAccount(tx, {
          email: parsed.email,
          passwordHash,
          displayName: parsed.displayName ?? null,
          verificationTokenHash: verification.hash,
          verificationExpiresAt: new Date(now.getTime() + settings.emailVerificationTtlHours * 3_600_000),
        }),
      );
      return { verificationToken: created ? verification.token : null };
    },

    async verifyEmail(ctx, token) {
      const invalid = () => fieldError("token", "invalid, used or expired verification token");
      if (!isWellFormedSecretToken(token)) throw invalid();
      const verified = await ctx.db.anonymous((tx) =>
        consumeEmailVerificationToken(tx, hashSecretToken(token), clock()),
      );
      if (!verified) throw invalid();
    },

    async login(ctx, input) {
      const email = parse(emailSchema, input.email);
      const password = parse(
        z
          .string()
          .min(1)
          .max(PASSWORD_MAX_LENGTH * 4),
        input.password,
      );
      const attempt = await loginThrottle.begin(email, ctx.ip);
      const credentials = await ctx.db.anonymous((tx) => findLoginCredentials(tx, email));
      // Unknown address: verify against a dummy hash anyway, so both failures take about as long.
      const valid = credentials
        ? await hasher.verify(credentials.passwordHash, password)
        : await hasher.verifyDummy(password);
      if (!credentials || !valid) throw new AppError("UNAUTHENTICATED", LOGIN_FAILED_MESSAGE);
      await attempt.succeeded();

      const refresh = newSecretToken();
      const now = clock();
      const expiresAt = new Date(now.getTime() + refreshTtlMs);
      const account = await ctx.db.asAccount(credentials.accountId, async (tx, current) => {
        await insertRefreshToken(tx, {
          accountId: current.id,
          tokenHash: refresh.hash,
          deviceInfo: deviceInfo(ctx.userAgent),
          createdAt: now,
          expiresAt,
        });
        return current;
      });
      return toSession(account, refresh.token, expiresAt);
    },

    async refresh(ctx, refreshToken) {
      if (!isWellFormedSecretToken(refreshToken))
        throw new AppError("UNAUTHENTICATED", REFRESH_INVALID_MESSAGE);
      const presentedHash = hashSecretToken(refreshToken);
      const state = await ctx.db.anonymous((tx) => lookupRefreshToken(tx, presentedHash));
      if (!state) throw new AppError("UNAUTHENTICATED", REFRESH_INVALID_MESSAGE);

      // One transaction as the token's account: lock, then rotate or (on reuse) revoke the family. The outcome
      // is returned rather than thrown so that a family revocation commits before the caller hears about it.
      const outcome = await ctx.db.asAccount(
        state.accountId,
        async (tx, account): Promise<RotationOutcome> => {
          const now = clock();
          const token = await lockRefreshToken(tx, state.tokenId);
          if (!token) return { kind: "invalid" };
          if (token.revokedAt !== null) {
            if (token.replacedById === null) return { kind: "invalid" }; // revoked by logout or an earlier reuse
            const revokedCount = await revokeRefreshTokenFamily(tx, token.familyId, now);
            await recordRefreshTokenReuse(tx, {
              tokenId: token.tokenId,
              familyId: token.familyId,
              revokedCount,
            });
            return { kind: "reused" };
          }
          if (token.expiresAt.getTime() <= now.getTime()) return { kind: "invalid" };
          const next = newSecretToken();
          const expiresAt = new Date(now.getTime() + refreshTtlMs);
          const inserted = await insertRefreshToken(tx, {
            accountId: account.id,
            tokenHash: next.hash,
            familyId: token.familyId,
            deviceInfo: deviceInfo(ctx.userAgent),
            createdAt: now,
            expiresAt,
          });
          await markRefreshTokenRotated(tx, token.tokenId, inserted.tokenId, now);
          return { kind: "rotated", account, refreshToken: next.token, expiresAt };
        },
      );
      if (outcome.kind === "reused") {
        throw new AppError(
          "TOKEN_REUSED",
          "this refresh token was already used; every session of this sign-in has been ended, sign in again",
        );
      }
      if (outcome.kind === "invalid") throw new AppError("UNAUTHENTICATED", REFRESH_INVALID_MESSAGE);
      return toSession(outcome.account, outcome.refreshToken, outcome.expiresAt);
    },

    async logout(ctx, refreshToken) {
      // Idempotent and silent: an unknown or already revoked token is not an error, and the answer does not
      // tell whether the token existed.
      if (!isWellFormedSecretToken(refreshToken)) return;
      const state = await ctx.db.anonymous((tx) => lookupRefreshToken(tx, hashSecretToken(refreshToken)));
      if (!state) return;
      await ctx.db.asAccount(state.accountId, async (tx) => {
        const now = clock();
        const revokedCount = await revokeRefreshTokenFamily(tx, state.familyId, now);
        // Signing out with a token that was already rotated is still reuse: record it.
        if (state.replacedById !== null) {
          await recordRefreshTokenReuse(tx, {
            tokenId: state.tokenId,
            familyId: state.familyId,
            revokedCount,
          });
        }
      });
    },

    async currentAccount(ctx, actor) {
      return ctx.db.asAccount(actor.accountId, async (_tx, account) => account, {
        publicId: actor.publicId,
        role: actor.role,
      });
    },
  };
}
