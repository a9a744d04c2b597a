/**
 * /api/v1/organizations over real HTTP with the pool as the application role: who may create which type,
 * members see and admins manage (non-members get 404), invitations by address and by token, role changes,
 * removal, the last-admin rule, expiry, and that an admin can never add an account without its consent.
 */
import { expireOrganizationInvitations } from "@betblocker/core/organizations/organization.service";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTestServer, type TestServer, uniqueEmail } from "../../testing/test-server";
import {
  call,
  DAY,
  expectStatus,
  GENEROUS_RATE_LIMITS,
  joinOrganization,
  makeOrganization,
  signIn,
} from "../enrollments/lifecycle-fixtures";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ config: { exposeDevTokens: true, rateLimits: GENEROUS_RATE_LIMITS } });
});

afterAll(async () => {
  await server?.close();
});

describe("creating and reading organizations", () => {
  test("any account creates a family organization and is its admin; court and therapy need an authority account", async () => {
    const user = await signIn(server);
    const created = await call(server, user, "POST", "/api/v1/organizations", {
      name: "  The Smiths ",
      type: "family",
    });
    expectStatus(created, 201);
    expect(created.body).toMatchObject({ name: "The Smiths", type: "family", my_role: "admin" });
    const court = await call(server, user, "POST", "/api/v1/organizations", { name: "Court", type: "court" });
    expectStatus(court, 403);
    const authority = await signIn(server, "authority");
    expectStatus(
      await call(server, authority, "POST", "/api/v1/organizations", { name: "Drug Court", type: "court" }),
      201,
    );
    expectStatus(
      await call(server, authority, "POST", "/api/v1/organizations", { name: "Clinic", type: "therapy" }),
      201,
    );
    const mine = await call(server, user, "GET", "/api/v1/organizations");
    expect(mine.body.items.map((o: { id: string }) => o.id)).toEqual([created.body.id]);
    const [audit] = await server.db.owner`
      select actor_account_id from audit_log where table_name = 'organization_members' and action = 'INSERT'
        and (new_values->>'account_id')::bigint = ${user.id}`;
    expect(audit?.actor_account_id).toBe(user.id);
  });

  test("400 for bad bodies, 401 without a token; a non-member gets 404 for everything about an organization", async () => {
    const user = await signIn(server);
    const stranger = await signIn(server);
    for (const body of [
      { name: "", type: "family" },
      { name: "x", type: "club" },
      { name: "x", type: "family", extra: 1 },
      {},
    ]) {
      expectStatus(await call(server, user, "POST", "/api/v1/organizations", body), 400);
    }
    expectStatus(
      await call(server, null, "POST", "/api/v1/organizations", { name: "x", type: "family" }),
      401,
    );
    const orgId = await makeOrganization(server, user, "family");
    const member = await signIn(server);
    await joinOrganization(server, orgId, user, member);
    for (const [method, path, body] of [
      ["GET", `/api/v1/organizations/${orgId}`, undefined],
      ["GET", `/api/v1/organizations/${orgId}/members`, undefined],
      ["POST", `/api/v1/organizations/${orgId}/members`, { email: uniqueEmail() }],
      ["PATCH", `/api/v1/organizations/${orgId}/members/${member.publicId}`, { role: "admin" }],
      ["DELETE", `/api/v1/organizations/${orgId}/members/${member.publicId}`, undefined],
    ] as const) {
      const response = await call(server, stranger, method, path, body);
      expect({ path, method, status: response.status }).toEqual({ path, method, status: 404 });
      expect(response.text).not.toContain(member.email);
    }
    expect((await call(server, stranger, "GET", "/api/v1/organizations")).body.items).toEqual([]);
  });
});

describe("membership", () => {
  test("an admin invites by address; the invitee sees the invitation and joins; members see members, not invitations", async () => {
    const admin = await signIn(server);
    const invitee = await signIn(server);
    const orgId = await makeOrganization(server, admin, "family");
    const invited = await call(server, admin, "POST", `/api/v1/organizations/${orgId}/members`, {
      email: invitee.email,
    });
    expectStatus(invited, 201);
    expect(invited.body).toMatchObject({ email: invitee.email, role: "member" });
    expectStatus(
      await call(server, admin, "POST", `/api/v1/organizations/${orgId}/members`, { email: invitee.email }),
      409,
    );

    const mine = await call(server, invitee, "GET", "/api/v1/organizations/invitations");
    expect(mine.body.items).toEqual([
      expect.objectContaining({
        id: invited.body.id,
        organization: expect.objectContaining({ id: orgId, type: "family" }),
      }),
    ]);
    // Before accepting, the invitee is not a member.
    expectStatus(await call(server, invitee, "GET", `/api/v1/organizations/${orgId}`), 404);
    const joined = await call(
      server,
      invitee,
      "POST",
      `/api/v1/organizations/invitations/${invited.body.id}/accept`,
    );
    expectStatus(joined, 200);
    expect(joined.body).toMatchObject({ id: orgId, my_role: "member" });
    expectStatus(
      await call(server, invitee, "POST", `/api/v1/organizations/invitations/${invited.body.id}/accept`),
      404,
    );

    const asMember = await call(server, invitee, "GET", `/api/v1/organizations/${orgId}/members`);
    expect(
      asMember.body.members.map((m: { account_id: string; role: string }) => [m.account_id, m.role]),
    ).toEqual([
      [admin.publicId, "admin"],
      [invitee.publicId, "member"],
    ]);
    expect(asMember.body.invitations).toEqual([]);
    // A member does not manage.
    expectStatus(
      await call(server, invitee, "POST", `/api/v1/organizations/${orgId}/members`, { email: uniqueEmail() }),
      403,
    );
    expectStatus(
      await call(server, invitee, "PATCH", `/api/v1/organizations/${orgId}/members/${invitee.publicId}`, {
        role: "admin",
      }),
      403,
    );
  });

  test("an invitation addressed to someone else cannot be accepted by id; by the mailed token anyone signed in can", async () => {
    const admin = await signIn(server);
    const other = await signIn(server);
    const orgId = await makeOrganization(server, admin, "enterprise");
    const invited = await call(server, admin, "POST", `/api/v1/organizations/${orgId}/members`, {
      email: uniqueEmail("mailbox"),
      role: "admin",
    });
    expectStatus(
      await call(server, other, "POST", `/api/v1/organizations/invitations/${invited.body.id}/accept`),
      404,
    );
    const joined = await call(server, other, "POST", "/api/v1/organizations/invitations/accept", {
      token: invited.body.dev_invitation_token,
    });
    expectStatus(joined, 200);
    expect(joined.body.my_role).toBe("admin");
    const reused = await call(server, other, "POST", "/api/v1/organizations/invitations/accept", {
      token: invited.body.dev_invitation_token,
    });
    expectStatus(reused, 400);
  });

  test("role changes and removal by admins; the last admin stays; a member may leave", async () => {
    const admin = await signIn(server);
    const member = await signIn(server);
    const leaver = await signIn(server);
    const orgId = await makeOrganization(server, admin, "family", [member, leaver]);
    const demoteLast = await call(
      server,
      admin,
      "PATCH",
      `/api/v1/organizations/${orgId}/members/${admin.publicId}`,
      {
        role: "member",
      },
    );
    expectStatus(demoteLast, 409);
    expectStatus(
      await call(server, admin, "DELETE", `/api/v1/organizations/${orgId}/members/${admin.publicId}`),
      409,
    );
    const promoted = await call(
      server,
      admin,
      "PATCH",
      `/api/v1/organizations/${orgId}/members/${member.publicId}`,
      {
        role: "admin",
      },
    );
    expectStatus(promoted, 200);
    expect(promoted.body.role).toBe("admin");
    expectStatus(
      await call(server, admin, "PATCH", `/api/v1/organizations/${orgId}/members/${admin.publicId}`, {
        role: "member",
      }),
      200,
    );
    expectStatus(
      await call(server, leaver, "DELETE", `/api/v1/organizations/${orgId}/members/${leaver.publicId}`),
      204,
    );
    expectStatus(await call(server, leaver, "GET", `/api/v1/organizations/${orgId}`), 404);
    expectStatus(
      await call(server, member, "DELETE", `/api/v1/organizations/${orgId}/members/${admin.publicId}`),
      204,
    );
    expectStatus(
      await call(server, member, "PATCH", `/api/v1/organizations/${orgId}/members/${admin.publicId}`, {
        role: "admin",
      }),
      404,
    );
  });

  test("invitations expire: expireOrganizationInvitations marks them, an expired one cannot be used", async () => {
    const admin = await signIn(server);
    const invitee = await signIn(server);
    const orgId = await makeOrganization(server, admin, "family");
    const invited = await call(server, admin, "POST", `/api/v1/organizations/${orgId}/members`, {
      email: invitee.email,
    });
    const result = await expireOrganizationInvitations(
      server.db.app,
      new Date(server.clock.now().getTime() + 15 * DAY),
    );
    expect(result.invitations).toBeGreaterThanOrEqual(1);
    const late = await call(
      server,
      invitee,
      "POST",
      `/api/v1/organizations/invitations/${invited.body.id}/accept`,
    );
    expectStatus(late, 409);
    expect((await call(server, invitee, "GET", "/api/v1/organizations/invitations")).body.items).toEqual([]);
  });
});
