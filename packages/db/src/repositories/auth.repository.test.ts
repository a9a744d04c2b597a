/**
 * The pre-authentication SQL functions of migration 0012 and the account / refresh-token / e-mail verification
 * repositories, run as the application role (RLS applies) exactly as the API runs them.
 */
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "../testing";
import { findAccountProfile, findLoginCredentials, registerAccount } from "./account.repository";
import { consumeEmailVerificationToken } from "./email-verification.repository";
import {
  insertRefreshToken,
  lockRefreshToken,
  lookupRefreshToken,
  markRefreshTokenRotated,
  recordRefreshTokenReuse,
  revokeRefreshTokenFamily,
} from "./refresh-token.repository";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

const HASH = "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
const anonymous = { accountId: null, role: "", ip: "198.51.100.4" };
let counter = 0;

function email(): string {
  counter += 1;
  return `repo-${process.pid}-${counter}-${randomBytes(3).toString("hex")}@example.test`;
}

function digest(): Buffer {
  return createHash("sha256").update(randomBytes(32)).digest();
}

async function register(address = email()) {
  const tokenHash = digest();
  const created = await db.asApp(anonymous, (tx) =>
    registerAccount(tx, {
      email: address,
      passwordHash: HASH,
      displayName: null,
      verificationTokenHash: tokenHash,
      verificationExpiresAt: new Date(Date.now() + 86_400_000),
    }),
  );
  if (!created) throw new Error("not created");
  return { ...created, email: address, tokenHash };
}

describe("SECURITY DEFINER functions of 0012", () => {
  const FUNCTIONS = [
    "audit_security_event",
    "auth_consume_email_verification",
    "auth_login_lookup",
    "auth_refresh_token_lookup",
    "auth_register_account",
  ];

  test("are SECURITY DEFINER with a pinned search_path, not executable by PUBLIC, executable by betblocker_api", async () => {
    const rows = await db.owner<
      { name: string; definer: boolean; config: string[] | null; public_can: boolean; app_can: boolean }[]
    >`
      select p.proname as name, p.prosecdef as definer, p.proconfig as config,
             coalesce((select bool_or(a.grantee = 0 and a.privilege_type = 'EXECUTE')
                       from aclexplode(p.proacl) a), p.proacl is null) as public_can,
             has_function_privilege('betblocker_api', p.oid, 'EXECUTE') as app_can
      from pg_proc p where p.pronamespace = 'public'::regnamespace and p.proname = any(${FUNCTIONS})
      order by 1`;
    expect(rows).toEqual(
      FUNCTIONS.map((name) => ({
        name,
        definer: true,
        config: ["search_path=public, pg_catalog, pg_temp"],
        public_can: false,
        app_can: true,
      })),
    );
  });

  test("the application role still sees no account row without an account id (no blanket bypass)", async () => {
    await register();
    const [row] = await db.asApp(anonymous, (tx) => tx`select count(*)::int as n from accounts`);
    expect(row?.n).toBe(0);
  });

  test("auth_register_account creates a 'user' with a verification token; a taken address (any case) gives no row", async () => {
    const account = await register();
    const [stored] = await db.owner`
      select a.role::text as role, a.email_verified, t.expires_at > now() as future, t.used_at
      from accounts a join email_verification_tokens t on t.account_id = a.id where a.id = ${account.accountId}`;
    expect(stored).toEqual({ role: "user", email_verified: false, future: true, used_at: null });

    const again = await db.asApp(
      anonymous,
      (tx) =>
        tx`select * from auth_register_account(${account.email}, ${HASH}, null, ${digest()}, now() + interval '1 day')`,
    );
    expect(again).toHaveLength(0);
    const [count] =
      await db.owner`select count(*)::int as n from accounts where lower(email) = ${account.email}`;
    expect(count?.n).toBe(1);
  });

  test("auth_register_account refuses a non-normalized address and a non-Argon2id hash", async () => {
    const call = (address: string, hash: string) =>
      db.asApp(
        anonymous,
        (tx) =>
          tx`select * from auth_register_account(${address}, ${hash}, null, ${digest()}, now() + interval '1 day')`,
      );
    await expect(call(" Upper@Example.test", HASH)).rejects.toThrow(/not normalized/);
    await expect(call(email(), "plaintext-password")).rejects.toThrow(/Argon2id/);
  });

  test("registration is audited as an INSERT on accounts with the client IP and no password hash", async () => {
    const account = await register();
    const [audit] = await db.owner`
      select action::text as action, host(client_ip) as ip, new_values->>'password_hash' as hash
      from audit_log where table_name = 'accounts' and row_id = ${account.accountId}`;
    expect(audit).toEqual({ action: "INSERT", ip: "198.51.100.4", hash: "[redacted]" });
  });

  test("auth_login_lookup finds the account case-insensitively and returns only id and hash", async () => {
    const account = await register();
    const found = await db.asApp(anonymous, (tx) =>
      findLoginCredentials(tx, `  ${account.email.toUpperCase()} `),
    );
    expect(found).toEqual({ accountId: account.accountId, passwordHash: HASH });
    const columns = await db.asApp(anonymous, (tx) => tx`select * from auth_login_lookup(${account.email})`);
    expect(Object.keys(columns[0] ?? {}).sort()).toEqual(["account_id", "password_hash"]);
    expect(await db.asApp(anonymous, (tx) => findLoginCredentials(tx, email()))).toBeNull();
  });

  test("auth_consume_email_verification verifies once, and not after expiry", async () => {
    const account = await register();
    const now = new Date();
    expect(
      await db.asApp(anonymous, (tx) => consumeEmailVerificationToken(tx, account.tokenHash, now)),
    ).toEqual({
      accountId: account.accountId,
    });
    const [verified] = await db.owner`select email_verified from accounts where id = ${account.accountId}`;
    expect(verified?.email_verified).toBe(true);
    expect(
      await db.asApp(anonymous, (tx) => consumeEmailVerificationToken(tx, account.tokenHash, now)),
    ).toBeNull();

    const other = await register();
    const later = new Date(Date.now() + 2 * 86_400_000);
    expect(
      await db.asApp(anonymous, (tx) => consumeEmailVerificationToken(tx, other.tokenHash, later)),
    ).toBeNull();
    expect(await db.asApp(anonymous, (tx) => consumeEmailVerificationToken(tx, digest(), now))).toBeNull();
  });

  test("audit_security_event records actor, IP and the event, and rejects malformed names", async () => {
    const account = await register();
    const actor = { accountId: account.accountId, role: "user", ip: "203.0.113.9" };
    const id = await db.asApp(actor, (tx) =>
      recordRefreshTokenReuse(tx, {
        tokenId: 42,
        familyId: "00000000-0000-4000-8000-000000000001",
        revokedCount: 2,
      }),
    );
    const [row] = await db.owner`
      select actor_account_id, table_name, row_id, action::text as action, new_values, host(client_ip) as ip
      from audit_log where id = ${id}`;
    expect(row).toEqual({
      actor_account_id: account.accountId,
      table_name: "refresh_tokens",
      row_id: 42,
      action: "UPDATE",
      new_values: {
        event: "refresh_token_reuse",
        family_id: "00000000-0000-4000-8000-000000000001",
        revoked_count: 2,
      },
      ip: "203.0.113.9",
    });
    await expect(
      db.asApp(
        actor,
        (tx) => tx`select audit_security_event('Bad Event', 'refresh_tokens', 1, 'UPDATE', '{}')`,
      ),
    ).rejects.toThrow(/invalid event name/);
  });
});

describe("refresh tokens and profiles under RLS", () => {
  test("a family rotates, is found by hash before authentication, and is revoked as a whole", async () => {
    const account = await register();
    const actor = { accountId: account.accountId, role: "user", ip: null };
    const now = new Date();
    const later = new Date(now.getTime() + 86_400_000);
    const firstHash = digest();
    const secondHash = digest();
    const first = await db.asApp(actor, (tx) =>
      insertRefreshToken(tx, {
        accountId: account.accountId,
        tokenHash: firstHash,
        deviceInfo: "test",
        createdAt: now,
        expiresAt: later,
      }),
    );
    await db.asApp(actor, async (tx) => {
      const locked = await lockRefreshToken(tx, first.tokenId);
      expect(locked?.revokedAt).toBeNull();
      const second = await insertRefreshToken(tx, {
        accountId: account.accountId,
        tokenHash: secondHash,
        familyId: first.familyId,
        deviceInfo: null,
        createdAt: now,
        expiresAt: later,
      });
      expect(second.familyId).toBe(first.familyId);
      await markRefreshTokenRotated(tx, first.tokenId, second.tokenId, now);
    });
    const rotated = await db.asApp(anonymous, (tx) => lookupRefreshToken(tx, firstHash));
    expect(rotated).toMatchObject({ accountId: account.accountId, familyId: first.familyId });
    expect(rotated?.revokedAt).not.toBeNull();
    expect(rotated?.replacedById).not.toBeNull();
    expect(await db.asApp(actor, (tx) => revokeRefreshTokenFamily(tx, first.familyId, now))).toBe(1);
    const current = await db.asApp(anonymous, (tx) => lookupRefreshToken(tx, secondHash));
    expect(current?.revokedAt).not.toBeNull();
    expect(await db.asApp(anonymous, (tx) => lookupRefreshToken(tx, digest()))).toBeNull();
  });

  test("cross-tenant: account A can neither read B's profile nor revoke or lock B's tokens", async () => {
    const a = await register();
    const b = await register();
    const now = new Date();
    const asB = { accountId: b.accountId, role: "user", ip: null };
    const bToken = await db.asApp(asB, (tx) =>
      insertRefreshToken(tx, {
        accountId: b.accountId,
        tokenHash: digest(),
        deviceInfo: null,
        createdAt: now,
        expiresAt: new Date(now.getTime() + 60_000),
      }),
    );
    const asA = { accountId: a.accountId, role: "user", ip: null };
    expect(await db.asApp(asA, (tx) => findAccountProfile(tx, b.accountId))).toBeNull();
    expect((await db.asApp(asA, (tx) => findAccountProfile(tx, a.accountId)))?.email).toBe(a.email);
    expect(await db.asApp(asA, (tx) => revokeRefreshTokenFamily(tx, bToken.familyId, now))).toBe(0);
    expect(await db.asApp(asA, (tx) => lockRefreshToken(tx, bToken.tokenId))).toBeNull();
    await expect(
      db.asApp(asA, (tx) =>
        insertRefreshToken(tx, {
          accountId: b.accountId,
          tokenHash: digest(),
          deviceInfo: null,
          createdAt: now,
          expiresAt: now,
        }),
      ),
    ).rejects.toThrow(/row-level security/);
  });

  test("email_verification_tokens are invisible to other accounts and to anonymous sessions", async () => {
    const a = await register();
    const b = await register();
    const [asA] = await db.asApp(
      { accountId: a.accountId, role: "user", ip: null },
      (tx) =>
        tx`select count(*)::int as n, count(*) filter (where account_id = ${b.accountId})::int as of_b from email_verification_tokens`,
    );
    expect(asA).toEqual({ n: 1, of_b: 0 });
    const [anon] = await db.asApp(
      anonymous,
      (tx) => tx`select count(*)::int as n from email_verification_tokens`,
    );
    expect(anon?.n).toBe(0);
  });
});
