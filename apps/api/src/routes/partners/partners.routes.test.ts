/**
 * /api/v1/partners over real HTTP with the pool as the application role: inviting registered and
 * unregistered addresses alike (no enumeration), conversion when the invitee signs in, acceptance (invited
 * party only, by id or by token), revocation by either party, expiry by the worker, tenant isolation.
 */
import { expirePartnerInvitations } from "@betblocker/core/partners/partner.service";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTestServer, type TestServer, uniqueEmail } from "../../testing/test-server";
import {
  type Account,
  auditOf,
  call,
  DAY,
  expectStatus,
  GENEROUS_RATE_LIMITS,
  signIn,
  withClockAdvanced,
} from "../enrollments/lifecycle-fixtures";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ config: { exposeDevTokens: true, rateLimits: GENEROUS_RATE_LIMITS } });
});

afterAll(async () => {
  await server?.close();
});

async function invite(from: Account, email: string) {
  return call(server, from, "POST", "/api/v1/partners", { email });
}

async function list(who: Account) {
  const response = await call(server, who, "GET", "/api/v1/partners");
  expectStatus(response, 200);
  return response.body.items as Array<Record<string, unknown>>;
}

describe("POST /api/v1/partners", () => {
  test("the answer is the same for a registered and an unregistered address (no enumeration)", async () => {
    const user = await signIn(server);
    const registered = await signIn(server);
    const a = await invite(user, registered.email);
    const b = await invite(user, uniqueEmail("nobody"));
    expectStatus(a, 201);
    expectStatus(b, 201);
    const shape = (body: Record<string, unknown>) =>
      Object.fromEntries(
        Object.entries(body).map(([key, value]) => [key, typeof value === "string" ? "s" : value]),
      );
    expect(shape(a.body)).toEqual(shape(b.body));
    expect(a.body).toMatchObject({
      status: "invited",
      invited_by: "me",
      my_role: "protected_user",
      email: registered.email,
      counterpart: null,
    });
    expect(a.text).not.toContain(registered.publicId);
    // The inviter's list shows both the same way until accepted.
    const mine = await list(user);
    expect(mine.map((p) => [p.email, p.status, p.counterpart])).toEqual(
      expect.arrayContaining([
        [registered.email, "invited", null],
        [b.body.email, "invited", null],
      ]),
    );
    // Both mails are queued by address only.
    const [queued] = await server.db.owner`
      select count(*)::int as n from notifications where kind = 'partner_invitation' and account_id is null
        and payload->>'email' in (${registered.email}, ${b.body.email})`;
    expect(queued?.n).toBe(2);
  });

  test("the invited account sees the invitation with the inviter, accepts it; both then see each other", async () => {
    const user = await signIn(server);
    const partner = await signIn(server);
    const invited = await invite(user, partner.email);
    const incoming = await list(partner);
    expect(incoming).toEqual([
      expect.objectContaining({
        id: invited.body.id,
        status: "invited",
        invited_by: "them",
        my_role: "partner",
        email: user.email,
        counterpart: { id: user.publicId, email: user.email, display_name: null },
      }),
    ]);
    // The inviter cannot accept their own invitation.
    const selfAccept = await call(server, user, "POST", `/api/v1/partners/${invited.body.id}/accept`);
    expectStatus(selfAccept, 403);
    const accepted = await call(server, partner, "POST", `/api/v1/partners/${invited.body.id}/accept`);
    expectStatus(accepted, 200);
    expect(accepted.body.status).toBe("active");
    expect((await list(user))[0]).toMatchObject({
      status: "active",
      counterpart: { id: partner.publicId, email: partner.email },
    });
    expectStatus(await call(server, partner, "POST", `/api/v1/partners/${invited.body.id}/accept`), 409);
    const audit = await auditOf(server, "partner_relationships", invited.body.id);
    expect(audit.map((a) => [a.action, a.actor_account_id, a.new_values?.status])).toEqual([
      ["INSERT", user.id, "invited"],
      ["UPDATE", partner.id, "active"],
    ]);
  });

  test("an address without an account: converted when it registers and signs in, then accepted", async () => {
    const user = await signIn(server);
    const email = uniqueEmail("later");
    const invited = await invite(user, email);
    const newcomer = await signIn(server, "user", email);
    const incoming = await list(newcomer);
    expect(incoming).toEqual([
      expect.objectContaining({ id: invited.body.id, status: "invited", invited_by: "them" }),
    ]);
    expectStatus(await call(server, newcomer, "POST", `/api/v1/partners/${invited.body.id}/accept`), 200);
  });

  test("accepting by the mailed token, from any signed-in account; a reused or bad token is a field error", async () => {
    const user = await signIn(server);
    const other = await signIn(server);
    const invited = await invite(user, uniqueEmail("mailbox"));
    const token = invited.body.dev_invitation_token as string;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const ownToken = await call(server, user, "POST", "/api/v1/partners/invitations/accept", { token });
    expectStatus(ownToken, 400);
    const accepted = await call(server, other, "POST", "/api/v1/partners/invitations/accept", { token });
    expectStatus(accepted, 200);
    expect(accepted.body).toMatchObject({ id: invited.body.id, status: "active", my_role: "partner" });
    const reused = await call(server, other, "POST", "/api/v1/partners/invitations/accept", { token });
    expectStatus(reused, 400);
    expect(reused.body.error.details.fieldErrors[0].path).toBe("token");
    expectStatus(
      await call(server, other, "POST", "/api/v1/partners/invitations/accept", { token: "x" }),
      400,
    );
  });

  test("400 for a bad address, an unknown field or oneself; 409 for a duplicate; 401 without a token", async () => {
    const user = await signIn(server);
    expectStatus(await invite(user, "not-an-address"), 400);
    expectStatus(
      await call(server, user, "POST", "/api/v1/partners", { email: uniqueEmail(), role: "x" }),
      400,
    );
    const self = await invite(user, user.email.toUpperCase());
    expectStatus(self, 400);
    expect(self.body.error.details.fieldErrors).toEqual([
      { path: "email", message: "you cannot be your own partner" },
    ]);
    const email = uniqueEmail();
    expectStatus(await invite(user, email), 201);
    const duplicate = await invite(user, email);
    expectStatus(duplicate, 409);
    // A second invitation to a registered address answers exactly the same (no enumeration).
    const registered = await signIn(server);
    expectStatus(await invite(user, registered.email), 201);
    const duplicateRegistered = await invite(user, registered.email);
    expect(duplicateRegistered.body).toEqual(duplicate.body);
    expectStatus(await call(server, null, "POST", "/api/v1/partners", { email }), 401);
    expectStatus(await call(server, null, "GET", "/api/v1/partners"), 401);
  });
});

describe("revoke, expiry and isolation", () => {
  test("either party revokes; revoking twice is 409; a stranger gets 404 and learns nothing", async () => {
    const user = await signIn(server);
    const partner = await signIn(server);
    const stranger = await signIn(server);
    const invited = await invite(user, partner.email);
    await call(server, partner, "POST", `/api/v1/partners/${invited.body.id}/accept`);
    for (const action of ["accept", "revoke"]) {
      const response = await call(server, stranger, "POST", `/api/v1/partners/${invited.body.id}/${action}`);
      expectStatus(response, 404);
      expect(response.text).not.toContain(user.email);
    }
    expect(await list(stranger)).toEqual([]);
    const revoked = await call(server, partner, "POST", `/api/v1/partners/${invited.body.id}/revoke`);
    expectStatus(revoked, 200);
    expect(revoked.body.status).toBe("revoked");
    expectStatus(await call(server, user, "POST", `/api/v1/partners/${invited.body.id}/revoke`), 409);
    // After a revocation the pair can start again: the old partnership is replaced, nothing stale is listed.
    const again = await invite(user, partner.email);
    expectStatus(again, 201);
    expect((await list(user)).map((p) => [p.id, p.status])).toEqual([[again.body.id, "invited"]]);
    expect((await list(partner)).map((p) => [p.id, p.status, p.invited_by])).toEqual([
      [again.body.id, "invited", "them"],
    ]);
    expectStatus(await call(server, partner, "POST", `/api/v1/partners/${again.body.id}/accept`), 200);
  });

  test("the inviter withdraws an invitation that never reached an account", async () => {
    const user = await signIn(server);
    const invited = await invite(user, uniqueEmail("withdrawn"));
    const withdrawn = await call(server, user, "POST", `/api/v1/partners/${invited.body.id}/revoke`);
    expectStatus(withdrawn, 200);
    expect(withdrawn.body.status).toBe("revoked");
    expectStatus(await call(server, user, "POST", `/api/v1/partners/${invited.body.id}/accept`), 403);
  });

  test("invitations expire: acceptance after expires_at is refused; expirePartnerInvitations marks them", async () => {
    const user = await signIn(server);
    const partner = await signIn(server);
    const invited = await invite(user, partner.email);
    const unregistered = await invite(user, uniqueEmail("expiring"));
    const expiresAt = new Date(invited.body.expires_at);
    expect(expiresAt.getTime() - new Date(invited.body.invited_at).getTime()).toBe(7 * DAY);

    await withClockAdvanced(server, 7 * DAY + 1000, [user, partner], async () => {
      const late = await call(server, partner, "POST", `/api/v1/partners/${invited.body.id}/accept`);
      expectStatus(late, 409);
      expect((await list(partner))[0]?.status).toBe("expired");
      const result = await expirePartnerInvitations(server.db.app, server.clock.now());
      expect(result.invitations).toBeGreaterThanOrEqual(2);
      expect(result.relationships).toBeGreaterThanOrEqual(1);
    });
    const [relationship] = await server.db.owner<{ status: string }[]>`
      select status::text as status from partner_relationships where public_id = ${invited.body.id}`;
    expect(relationship?.status).toBe("expired");
    const [invitation] = await server.db.owner<{ status: string }[]>`
      select status from partner_invitations where public_id = ${unregistered.body.id}`;
    expect(invitation?.status).toBe("expired");
    const audit = await auditOf(server, "partner_relationships", invited.body.id);
    expect(audit.at(-1)).toMatchObject({ action: "UPDATE", actor_account_id: null });
  });
});
