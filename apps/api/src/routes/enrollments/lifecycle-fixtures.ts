/**
 * Test helpers for the partner, organization, enrollment and unenrollment routes: signed-in accounts of any
 * role, devices (inserted through the owner client: device registration is its own feature), and the
 * consent steps done through the API itself (partnership invite + accept, organization invite + accept), so
 * the tests exercise the same paths a user does.
 */
import { expect } from "vitest";
import {
  GOOD_PASSWORD,
  signUp,
  type TestResponse,
  type TestServer,
  uniqueEmail,
} from "../../testing/test-server";

export type Role = "user" | "partner" | "authority" | "admin";

export interface Account {
  /** accounts.id (internal; for assertions on rows only). */
  id: number;
  publicId: string;
  email: string;
  token: string;
}

/** A verified, signed-in account; another role than 'user' is set in the database and the token refreshed. */
export async function signIn(
  server: TestServer,
  role: Role = "user",
  email = uniqueEmail(role),
): Promise<Account> {
  const session = await signUp(server, email);
  const [row] = await server.db.owner<{ id: number }[]>`
    update accounts set role = ${role}::account_role where public_id = ${session.accountId} returning id`;
  if (!row) throw new Error("account not found after sign-up");
  let token = session.accessToken;
  if (role !== "user") {
    const refreshed = await server.request("POST", "/api/v1/auth/refresh", {
      body: { refresh_token: session.refreshToken },
    });
    if (refreshed.status !== 200) throw new Error(`refresh failed: ${refreshed.status} ${refreshed.text}`);
    token = refreshed.body.access_token;
  }
  return { id: row.id, publicId: session.accountId, email, token };
}

/**
 * Signs the account in again on the server's (possibly advanced) clock: access tokens last 15 minutes of
 * that clock, so a test that moves it by days needs fresh ones.
 */
export async function reauth(server: TestServer, ...accounts: Account[]): Promise<void> {
  for (const account of accounts) {
    const login = await server.request("POST", "/api/v1/auth/login", {
      body: { email: account.email, password: GOOD_PASSWORD },
    });
    if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.text}`);
    account.token = login.body.access_token;
  }
}

/** Moves the server clock for the duration of `fn` (tokens are renewed before and after). */
export async function withClockAdvanced<T>(
  server: TestServer,
  ms: number,
  accounts: Account[],
  fn: () => Promise<T>,
): Promise<T> {
  server.clock.advance(ms);
  try {
    await reauth(server, ...accounts);
    return await fn();
  } finally {
    server.clock.advance(-ms);
    await reauth(server, ...accounts);
  }
}

let hostCounter = 0;

/** A device owned by the account (inserted by the owner client; the registration flow is tested elsewhere). */
export async function addDevice(
  server: TestServer,
  owner: Account,
): Promise<{ id: number; publicId: string }> {
  hostCounter += 1;
  const [row] = await server.db.owner<{ id: number; public_id: string }[]>`
    insert into devices (account_id, platform, hostname, status)
    values (${owner.id}, 'linux', ${`host-${process.pid}-${hostCounter}`}, 'active')
    returning id, public_id`;
  if (!row) throw new Error("device not created");
  return { id: row.id, publicId: row.public_id };
}

export function call(
  server: TestServer,
  who: Account | null,
  method: string,
  path: string,
  body?: unknown,
): Promise<TestResponse> {
  return server.request(method, path, {
    ...(who ? { token: who.token } : {}),
    ...(body !== undefined ? { body } : {}),
  });
}

export function expectStatus(response: TestResponse, status: number): void {
  expect(response.status, `${response.status} ${response.text}`).toBe(status);
}

/** `protectedUser` invites `partner` and the partner accepts: an active partnership the owner started. */
export async function makePartners(
  server: TestServer,
  protectedUser: Account,
  partner: Account,
): Promise<string> {
  const invited = await call(server, protectedUser, "POST", "/api/v1/partners", { email: partner.email });
  expectStatus(invited, 201);
  const accepted = await call(server, partner, "POST", `/api/v1/partners/${invited.body.id}/accept`);
  expectStatus(accepted, 200);
  return invited.body.id as string;
}

/** An organization created by `admin` (role authority for court/therapy), with `members` who accepted. */
export async function makeOrganization(
  server: TestServer,
  admin: Account,
  type: "family" | "therapy" | "court" | "enterprise",
  members: readonly Account[] = [],
): Promise<string> {
  const created = await call(server, admin, "POST", "/api/v1/organizations", { name: `Org ${type}`, type });
  expectStatus(created, 201);
  for (const member of members) await joinOrganization(server, created.body.id, admin, member);
  return created.body.id as string;
}

export async function joinOrganization(
  server: TestServer,
  organizationId: string,
  admin: Account,
  member: Account,
  role: "admin" | "member" = "member",
): Promise<void> {
  const invited = await call(server, admin, "POST", `/api/v1/organizations/${organizationId}/members`, {
    email: member.email,
    role,
  });
  expectStatus(invited, 201);
  const joined = await call(
    server,
    member,
    "POST",
    `/api/v1/organizations/invitations/${invited.body.id}/accept`,
  );
  expectStatus(joined, 200);
}

export interface EventRow {
  event_type: string;
  metadata: Record<string, unknown>;
  created_at: Date;
  visible_to_authority: boolean;
}

export async function eventsOf(
  server: TestServer,
  enrollmentPublicId: string,
  type?: string,
): Promise<EventRow[]> {
  return server.db.owner<EventRow[]>`
    select ev.event_type::text as event_type, ev.metadata, ev.created_at, ev.visible_to_authority
    from events ev join enrollments e on e.id = ev.enrollment_id
    where e.public_id = ${enrollmentPublicId} and (${type ?? null}::text is null or ev.event_type::text = ${type ?? null})
    order by ev.id`;
}

export async function notificationsOf(
  server: TestServer,
  account: Account,
): Promise<Array<{ kind: string; payload: Record<string, unknown> }>> {
  return server.db.owner<Array<{ kind: string; payload: Record<string, unknown> }>>`
    select kind, payload from notifications where account_id = ${account.id} order by id`;
}

export async function auditOf(
  server: TestServer,
  table: string,
  publicId: string,
): Promise<
  Array<{ action: string; actor_account_id: number | null; new_values: Record<string, unknown> | null }>
> {
  return server.db.owner`
    select a.action::text as action, a.actor_account_id, a.new_values from audit_log a
    where a.table_name = ${table} and a.row_id = (select id from ${server.db.owner(table)} where public_id = ${publicId})
    order by a.id`;
}

/** Many sign-ups per file from one IP: the registration limit (10 per hour) would stop the suite. */
export const GENEROUS_RATE_LIMITS = {
  loginFailuresPerEmail: { max: 10_000, windowSeconds: 900 },
  loginFailuresPerIp: { max: 10_000, windowSeconds: 900 },
  registerPerIp: { max: 10_000, windowSeconds: 3600 },
  tokenRequestsPerIp: { max: 10_000, windowSeconds: 60 },
};

export const HOUR = 3_600_000;
export const DAY = 86_400_000;
