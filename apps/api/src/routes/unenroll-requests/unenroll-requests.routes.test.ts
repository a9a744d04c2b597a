/**
 * The unenrollment state machine over real HTTP, with the pool as the application role and the server clock
 * moved by the test (never the client's): every path of every tier, the worker's completion of due self-tier
 * requests, events, notifications and audit rows with their actor.
 */
import { completeDueSelfUnenrollments } from "@betblocker/core/enrollments/unenroll.service";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTestServer, type TestServer } from "../../testing/test-server";
import {
  type Account,
  addDevice,
  auditOf,
  call,
  DAY,
  eventsOf,
  expectStatus,
  GENEROUS_RATE_LIMITS,
  HOUR,
  joinOrganization,
  makeOrganization,
  makePartners,
  notificationsOf,
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

async function enrollSelf(owner: Account, policy: Record<string, unknown> = {}) {
  const device = await addDevice(server, owner);
  const created = await call(server, owner, "POST", "/api/v1/enrollments", {
    device_id: device.publicId,
    tier: "self",
    unenrollment_policy: policy,
  });
  expectStatus(created, 201);
  return created.body as { id: string; status: string };
}

async function enrollmentStatus(publicId: string): Promise<string> {
  const [row] = await server.db.owner<
    { status: string }[]
  >`select status::text as status from enrollments where public_id = ${publicId}`;
  return row?.status ?? "missing";
}

async function requestRow(publicId: string) {
  const [row] = await server.db.owner<
    { status: string; approved_by_account_id: number | null; approved_at: Date | null }[]
  >`select status::text as status, approved_by_account_id, approved_at from enrollment_unenroll_requests
    where public_id = ${publicId}`;
  return row;
}

describe("self tier: cooling-off delay on the server clock", () => {
  test("a request sets delay_until = now + delay_hours and the enrollment 'unenrolling'; one pending request at a time", async () => {
    const owner = await signIn(server);
    const enrollment = await enrollSelf(owner, { delay_hours: 36 });
    const before = server.clock.now().getTime();
    const requested = await call(
      server,
      owner,
      "POST",
      `/api/v1/enrollments/${enrollment.id}/unenroll-requests`,
    );
    expectStatus(requested, 201);
    expect(requested.body).toMatchObject({
      kind: "unenroll",
      enrollment_id: enrollment.id,
      tier: "self",
      status: "pending",
      requested_by_id: owner.publicId,
      required_approver_id: null,
      decided_by_id: null,
    });
    expect(new Date(requested.body.delay_until).getTime()).toBe(before + 36 * HOUR);
    expect(await enrollmentStatus(enrollment.id)).toBe("unenrolling");

    const again = await call(server, owner, "POST", `/api/v1/enrollments/${enrollment.id}/unenroll-requests`);
    expectStatus(again, 409);
    expect(again.body.error.code).toBe("CONFLICT");

    const events = await eventsOf(server, enrollment.id, "unenroll");
    expect(events.map((e) => e.metadata)).toEqual([
      {
        stage: "requested",
        request_id: expect.any(Number),
        actor_account_id: owner.id,
        delay_until: requested.body.delay_until,
      },
    ]);
  });

  test("the requester cancels: request 'cancelled', enrollment 'active' again, a 'cancelled' event", async () => {
    const owner = await signIn(server);
    const enrollment = await enrollSelf(owner);
    const requested = await call(
      server,
      owner,
      "POST",
      `/api/v1/enrollments/${enrollment.id}/unenroll-requests`,
    );
    const cancelled = await call(
      server,
      owner,
      "POST",
      `/api/v1/unenroll-requests/${requested.body.id}/cancel`,
    );
    expectStatus(cancelled, 200);
    expect(cancelled.body.status).toBe("cancelled");
    expect(await enrollmentStatus(enrollment.id)).toBe("active");
    expect((await eventsOf(server, enrollment.id, "unenroll")).map((e) => e.metadata.stage)).toEqual([
      "requested",
      "cancelled",
    ]);
    // Cancelled is final; a new request can be filed.
    expectStatus(
      await call(server, owner, "POST", `/api/v1/unenroll-requests/${requested.body.id}/cancel`),
      409,
    );
    expectStatus(
      await call(server, owner, "POST", `/api/v1/enrollments/${enrollment.id}/unenroll-requests`),
      201,
    );
  });

  test("completion before delay_until is refused with DELAY_NOT_ELAPSED; after it the requester completes", async () => {
    const owner = await signIn(server);
    const enrollment = await enrollSelf(owner, { delay_hours: 24 });
    const requested = await call(
      server,
      owner,
      "POST",
      `/api/v1/enrollments/${enrollment.id}/unenroll-requests`,
    );
    const early = await call(server, owner, "POST", `/api/v1/unenroll-requests/${requested.body.id}/approve`);
    expectStatus(early, 409);
    expect(early.body.error).toMatchObject({
      code: "DELAY_NOT_ELAPSED",
      details: { delay_until: requested.body.delay_until },
    });
    expect(await enrollmentStatus(enrollment.id)).toBe("unenrolling");

    // One minute short of the delay: still refused.
    await withClockAdvanced(server, 24 * HOUR - 60_000, [owner], async () => {
      const stillEarly = await call(
        server,
        owner,
        "POST",
        `/api/v1/unenroll-requests/${requested.body.id}/approve`,
      );
      expect(stillEarly.body.error.code).toBe("DELAY_NOT_ELAPSED");
    });
    await withClockAdvanced(server, 24 * HOUR + 1, [owner], async () => {
      const done = await call(
        server,
        owner,
        "POST",
        `/api/v1/unenroll-requests/${requested.body.id}/approve`,
      );
      expectStatus(done, 200);
      expect(done.body).toMatchObject({ status: "expired", decided_by_id: owner.publicId });
    });
    expect(await enrollmentStatus(enrollment.id)).toBe("unenrolled");
    expect((await eventsOf(server, enrollment.id, "unenroll")).map((e) => e.metadata.stage)).toEqual([
      "requested",
      "expired",
      "completed",
    ]);
  });

  test("nobody else completes or denies a self-tier request; a stranger gets 404", async () => {
    const owner = await signIn(server);
    const stranger = await signIn(server);
    const enrollment = await enrollSelf(owner);
    const requested = await call(
      server,
      owner,
      "POST",
      `/api/v1/enrollments/${enrollment.id}/unenroll-requests`,
    );
    for (const action of ["approve", "deny", "cancel"]) {
      const response = await call(
        server,
        stranger,
        "POST",
        `/api/v1/unenroll-requests/${requested.body.id}/${action}`,
      );
      expectStatus(response, 404);
      expect(response.text).not.toContain(owner.publicId);
    }
    const deny = await call(server, owner, "POST", `/api/v1/unenroll-requests/${requested.body.id}/deny`);
    expectStatus(deny, 403);
    expect(await requestRow(requested.body.id)).toMatchObject({ status: "pending" });
  });

  test("completeDueSelfUnenrollments (the worker) completes due requests only, as the system (audit actor NULL)", async () => {
    const owner = await signIn(server);
    const due = await enrollSelf(owner, { delay_hours: 24 });
    const notDue = await enrollSelf(owner, { delay_hours: 72 });
    const dueRequest = await call(server, owner, "POST", `/api/v1/enrollments/${due.id}/unenroll-requests`);
    const notDueRequest = await call(
      server,
      owner,
      "POST",
      `/api/v1/enrollments/${notDue.id}/unenroll-requests`,
    );

    const now = server.clock.now();
    expect(await completeDueSelfUnenrollments(server.db.app, now)).toEqual({ completed: 0 });
    expect(await enrollmentStatus(due.id)).toBe("unenrolling");

    const later = new Date(now.getTime() + 25 * HOUR);
    const result = await completeDueSelfUnenrollments(server.db.app, later);
    expect(result.completed).toBeGreaterThanOrEqual(1);
    expect(await enrollmentStatus(due.id)).toBe("unenrolled");
    expect(await enrollmentStatus(notDue.id)).toBe("unenrolling");
    expect(await requestRow(dueRequest.body.id)).toMatchObject({
      status: "expired",
      approved_by_account_id: null,
      approved_at: later,
    });
    expect(await requestRow(notDueRequest.body.id)).toMatchObject({ status: "pending" });

    const events = await eventsOf(server, due.id, "unenroll");
    expect(events.slice(1).map((e) => [e.metadata.stage, e.metadata.actor_account_id, e.created_at])).toEqual(
      [
        ["expired", null, later],
        ["completed", null, later],
      ],
    );
    const requestAudit = await auditOf(server, "enrollment_unenroll_requests", dueRequest.body.id);
    expect(requestAudit.map((a) => [a.action, a.actor_account_id])).toEqual([
      ["INSERT", owner.id],
      ["UPDATE", null],
    ]);
    const enrollmentAudit = await auditOf(server, "enrollments", due.id);
    expect(enrollmentAudit.map((a) => [a.action, a.actor_account_id, a.new_values?.status])).toEqual([
      ["INSERT", owner.id, "active"],
      ["UPDATE", owner.id, "unenrolling"],
      ["UPDATE", null, "unenrolled"],
    ]);
    // Running again is a no-op.
    await completeDueSelfUnenrollments(server.db.app, later);
    expect((await eventsOf(server, due.id, "unenroll")).length).toBe(3);
  });
});

describe("partner tier: the partner decides", () => {
  async function partnerEnrollment() {
    const owner = await signIn(server);
    const partner = await signIn(server);
    await makePartners(server, owner, partner);
    const device = await addDevice(server, owner);
    const created = await call(server, owner, "POST", "/api/v1/enrollments", {
      device_id: device.publicId,
      tier: "partner",
      partner_account_id: partner.publicId,
    });
    expectStatus(created, 201);
    return { owner, partner, enrollmentId: created.body.id as string };
  }

  test("the request names the partner as approver, notifies them, and the enrollment stays active while pending", async () => {
    const { owner, partner, enrollmentId } = await partnerEnrollment();
    const requested = await call(
      server,
      owner,
      "POST",
      `/api/v1/enrollments/${enrollmentId}/unenroll-requests`,
    );
    expectStatus(requested, 201);
    expect(requested.body).toMatchObject({
      required_approver_id: partner.publicId,
      delay_until: null,
      status: "pending",
    });
    expect(await enrollmentStatus(enrollmentId)).toBe("active");
    expect(await notificationsOf(server, partner)).toContainEqual({
      kind: "unenroll_requested",
      payload: expect.objectContaining({ enrollment_id: enrollmentId, request_id: requested.body.id }),
    });
    // The partner's list shows it as one to decide.
    const list = await call(server, partner, "GET", "/api/v1/unenroll-requests?status=pending");
    expect(list.body.items.map((r: { id: string }) => r.id)).toContain(requested.body.id);
  });

  test("a non-partner cannot approve (404), the owner cannot approve their own request (403), the partner denies", async () => {
    const { owner, partner, enrollmentId } = await partnerEnrollment();
    const stranger = await signIn(server);
    const requested = await call(
      server,
      owner,
      "POST",
      `/api/v1/enrollments/${enrollmentId}/unenroll-requests`,
    );
    const id = requested.body.id;
    expectStatus(await call(server, stranger, "POST", `/api/v1/unenroll-requests/${id}/approve`), 404);
    const own = await call(server, owner, "POST", `/api/v1/unenroll-requests/${id}/approve`);
    expectStatus(own, 403);
    expect(own.body.error.code).toBe("FORBIDDEN");
    expect(await enrollmentStatus(enrollmentId)).toBe("active");

    const denied = await call(server, partner, "POST", `/api/v1/unenroll-requests/${id}/deny`);
    expectStatus(denied, 200);
    expect(denied.body).toMatchObject({ status: "denied", decided_by_id: partner.publicId });
    expect(await enrollmentStatus(enrollmentId)).toBe("active");
    expect(await notificationsOf(server, owner)).toContainEqual({
      kind: "unenroll_decided",
      payload: expect.objectContaining({ outcome: "denied" }),
    });
    expectStatus(await call(server, partner, "POST", `/api/v1/unenroll-requests/${id}/approve`), 409);
    expect((await eventsOf(server, enrollmentId, "unenroll")).map((e) => e.metadata.stage)).toEqual([
      "requested",
      "denied",
    ]);
  });

  test("the partner approves: the enrollment ends; events and audit rows carry the partner as actor", async () => {
    const { owner, partner, enrollmentId } = await partnerEnrollment();
    const requested = await call(
      server,
      owner,
      "POST",
      `/api/v1/enrollments/${enrollmentId}/unenroll-requests`,
    );
    const approved = await call(
      server,
      partner,
      "POST",
      `/api/v1/unenroll-requests/${requested.body.id}/approve`,
    );
    expectStatus(approved, 200);
    expect(approved.body).toMatchObject({ status: "approved", decided_by_id: partner.publicId });
    expect(await enrollmentStatus(enrollmentId)).toBe("unenrolled");
    const events = await eventsOf(server, enrollmentId, "unenroll");
    expect(events.map((e) => [e.metadata.stage, e.metadata.actor_account_id])).toEqual([
      ["requested", owner.id],
      ["approved", partner.id],
      ["completed", partner.id],
    ]);
    const audit = await auditOf(server, "enrollment_unenroll_requests", requested.body.id);
    expect(audit.map((a) => [a.action, a.actor_account_id, a.new_values?.status])).toEqual([
      ["INSERT", owner.id, "pending"],
      ["UPDATE", partner.id, "approved"],
    ]);
    // Ended is final: no new request, no PATCH.
    expectStatus(
      await call(server, owner, "POST", `/api/v1/enrollments/${enrollmentId}/unenroll-requests`),
      409,
    );
  });

  test("revoking the partnership does not release the device: the partner still decides", async () => {
    const { owner, partner, enrollmentId } = await partnerEnrollment();
    const partners = await call(server, owner, "GET", "/api/v1/partners");
    const partnershipId = partners.body.items[0].id;
    expectStatus(await call(server, owner, "POST", `/api/v1/partners/${partnershipId}/revoke`), 200);
    const requested = await call(
      server,
      owner,
      "POST",
      `/api/v1/enrollments/${enrollmentId}/unenroll-requests`,
    );
    expect(requested.body.required_approver_id).toBe(partner.publicId);
    expectStatus(
      await call(server, owner, "POST", `/api/v1/unenroll-requests/${requested.body.id}/approve`),
      403,
    );
    expectStatus(
      await call(server, partner, "POST", `/api/v1/unenroll-requests/${requested.body.id}/approve`),
      200,
    );
  });
});

describe("authority tier: the organization decides", () => {
  async function authorityEnrollment(policy: Record<string, unknown>) {
    const admin = await signIn(server, "authority");
    const secondAdmin = await signIn(server, "authority");
    const owner = await signIn(server);
    const colleague = await signIn(server);
    const orgId = await makeOrganization(server, admin, "court", [owner, colleague]);
    await joinOrganization(server, orgId, admin, secondAdmin, "admin");
    const device = await addDevice(server, owner);
    const created = await call(server, admin, "POST", "/api/v1/enrollments", {
      device_id: device.publicId,
      tier: "authority",
      organization_id: orgId,
      unenrollment_policy: policy,
    });
    expectStatus(created, 201);
    return { admin, secondAdmin, owner, colleague, orgId, enrollmentId: created.body.id as string };
  }

  test("user_can_request = false: the user's request is 403 UNENROLL_NOT_ALLOWED and nothing is filed", async () => {
    const { owner, enrollmentId } = await authorityEnrollment({ user_can_request: false });
    const refused = await call(
      server,
      owner,
      "POST",
      `/api/v1/enrollments/${enrollmentId}/unenroll-requests`,
    );
    expectStatus(refused, 403);
    expect(refused.body.error).toMatchObject({
      code: "UNENROLL_NOT_ALLOWED",
      details: { reason: "user_cannot_request" },
    });
    const [count] = await server.db.owner`
      select count(*)::int as n from enrollment_unenroll_requests r join enrollments e on e.id = r.enrollment_id
      where e.public_id = ${enrollmentId}`;
    expect(count?.n).toBe(0);
    expect(await eventsOf(server, enrollmentId, "unenroll")).toEqual([]);
  });

  test("an admin allows requests (applies at once), the user requests, another admin of the organization approves", async () => {
    const { admin, secondAdmin, owner, colleague, enrollmentId } = await authorityEnrollment({
      user_can_request: false,
    });
    const patched = await call(server, admin, "PATCH", `/api/v1/enrollments/${enrollmentId}`, {
      unenrollment_policy: { user_can_request: true },
    });
    expectStatus(patched, 200);
    expect(patched.body.pending_change_request).toBeNull();
    expect(patched.body.applied_changes).toEqual([
      {
        field: "unenrollment_policy.user_can_request",
        old_value: false,
        new_value: true,
        direction: "loosens",
      },
    ]);

    const requested = await call(
      server,
      owner,
      "POST",
      `/api/v1/enrollments/${enrollmentId}/unenroll-requests`,
    );
    expectStatus(requested, 201);
    expect(requested.body.required_approver_id).toBe(admin.publicId);
    // Every admin is notified; a plain member of the organization cannot decide.
    expect((await notificationsOf(server, secondAdmin)).map((n) => n.kind)).toContain("unenroll_requested");
    expectStatus(
      await call(server, colleague, "POST", `/api/v1/unenroll-requests/${requested.body.id}/approve`),
      404,
    );
    expectStatus(
      await call(server, owner, "POST", `/api/v1/unenroll-requests/${requested.body.id}/approve`),
      403,
    );

    const listed = await call(server, secondAdmin, "GET", "/api/v1/unenroll-requests");
    expect(listed.body.items.map((r: { id: string }) => r.id)).toContain(requested.body.id);
    const approved = await call(
      server,
      secondAdmin,
      "POST",
      `/api/v1/unenroll-requests/${requested.body.id}/approve`,
    );
    expectStatus(approved, 200);
    expect(approved.body).toMatchObject({ status: "approved", decided_by_id: secondAdmin.publicId });
    expect(await enrollmentStatus(enrollmentId)).toBe("unenrolled");
  });

  test("an admin of the organization denies", async () => {
    const { admin, owner, enrollmentId } = await authorityEnrollment({});
    const requested = await call(
      server,
      owner,
      "POST",
      `/api/v1/enrollments/${enrollmentId}/unenroll-requests`,
    );
    const denied = await call(server, admin, "POST", `/api/v1/unenroll-requests/${requested.body.id}/deny`);
    expectStatus(denied, 200);
    expect(denied.body.status).toBe("denied");
    expect(await enrollmentStatus(enrollmentId)).toBe("active");
  });
});

describe("minimum_enrollment_days and notifications (every tier)", () => {
  test("before created_at + minimum_enrollment_days: 403 UNENROLL_NOT_ALLOWED with the date it becomes possible", async () => {
    const owner = await signIn(server);
    const enrollment = await enrollSelf(owner, { minimum_enrollment_days: 30 });
    const [row] = await server.db.owner<{ created_at: Date }[]>`
      select created_at from enrollments where public_id = ${enrollment.id}`;
    const possibleFrom = new Date(
      (row as { created_at: Date }).created_at.getTime() + 30 * DAY,
    ).toISOString();
    const refused = await call(
      server,
      owner,
      "POST",
      `/api/v1/enrollments/${enrollment.id}/unenroll-requests`,
    );
    expectStatus(refused, 403);
    expect(refused.body.error).toMatchObject({
      code: "UNENROLL_NOT_ALLOWED",
      details: { reason: "minimum_enrollment_days", possible_from: possibleFrom },
    });
    await withClockAdvanced(server, 29 * DAY, [owner], async () => {
      const stillRefused = await call(
        server,
        owner,
        "POST",
        `/api/v1/enrollments/${enrollment.id}/unenroll-requests`,
      );
      expect(stillRefused.body.error.code).toBe("UNENROLL_NOT_ALLOWED");
    });
    await withClockAdvanced(server, 30 * DAY, [owner], async () => {
      const allowed = await call(
        server,
        owner,
        "POST",
        `/api/v1/enrollments/${enrollment.id}/unenroll-requests`,
      );
      expectStatus(allowed, 201);
    });
  });

  test("the minimum applies to the partner tier too", async () => {
    const owner = await signIn(server);
    const partner = await signIn(server);
    await makePartners(server, owner, partner);
    const device = await addDevice(server, owner);
    const created = await call(server, partner, "POST", "/api/v1/enrollments", {
      device_id: device.publicId,
      tier: "partner",
      unenrollment_policy: { minimum_enrollment_days: 10 },
    });
    expectStatus(created, 201);
    const refused = await call(
      server,
      owner,
      "POST",
      `/api/v1/enrollments/${created.body.id}/unenroll-requests`,
    );
    expect(refused.body.error.code).toBe("UNENROLL_NOT_ALLOWED");
  });

  test("notify_on_request enqueues notifications for notify_accounts; with it off only the approver hears", async () => {
    const owner = await signIn(server);
    const partner = await signIn(server);
    const friend = await signIn(server);
    await makePartners(server, owner, partner);
    await makePartners(server, owner, friend);
    const device = await addDevice(server, owner);
    const created = await call(server, owner, "POST", "/api/v1/enrollments", {
      device_id: device.publicId,
      tier: "partner",
      partner_account_id: partner.publicId,
      unenrollment_policy: { notify_accounts: [friend.publicId] },
    });
    expectStatus(created, 201);
    expect(created.body.unenrollment_policy.notify_accounts).toEqual([friend.publicId]);
    const requested = await call(
      server,
      owner,
      "POST",
      `/api/v1/enrollments/${created.body.id}/unenroll-requests`,
    );
    expect(await notificationsOf(server, friend)).toContainEqual({
      kind: "unenroll_requested",
      payload: expect.objectContaining({ request_id: requested.body.id }),
    });
    expect((await notificationsOf(server, owner)).map((n) => n.kind)).not.toContain("unenroll_requested");

    const quiet = await enrollSelf(owner, { notify_on_request: false, notify_accounts: [friend.publicId] });
    const before = (await notificationsOf(server, friend)).length;
    await call(server, owner, "POST", `/api/v1/enrollments/${quiet.id}/unenroll-requests`);
    expect((await notificationsOf(server, friend)).length).toBe(before);
  });
});

describe("GET /api/v1/unenroll-requests", () => {
  test("lists what I filed or must decide, pages with a cursor, and never another tenant's requests", async () => {
    const owner = await signIn(server);
    const stranger = await signIn(server);
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const enrollment = await enrollSelf(owner);
      const requested = await call(
        server,
        owner,
        "POST",
        `/api/v1/enrollments/${enrollment.id}/unenroll-requests`,
      );
      ids.push(requested.body.id);
    }
    const first = await call(server, owner, "GET", "/api/v1/unenroll-requests?limit=2");
    expectStatus(first, 200);
    expect(first.body.items).toHaveLength(2);
    const second = await call(
      server,
      owner,
      "GET",
      `/api/v1/unenroll-requests?limit=2&cursor=${first.body.next_cursor}`,
    );
    const seen = [...first.body.items, ...second.body.items].map((r: { id: string }) => r.id);
    expect(seen.sort()).toEqual([...ids].sort());
    expect(second.body.next_cursor).toBeNull();

    const theirs = await call(server, stranger, "GET", "/api/v1/unenroll-requests");
    expect(theirs.body.items).toEqual([]);
    expect(theirs.text).not.toContain(owner.publicId);
    expectStatus(await call(server, owner, "GET", "/api/v1/unenroll-requests?cursor=garbage"), 400);
    expectStatus(await call(server, null, "GET", "/api/v1/unenroll-requests"), 401);
    expectStatus(await call(server, null, "POST", `/api/v1/unenroll-requests/${ids[0]}/cancel`), 401);
    expectStatus(await call(server, owner, "POST", "/api/v1/unenroll-requests/not-a-uuid/cancel"), 400);
    expectStatus(
      await call(server, owner, "POST", `/api/v1/unenroll-requests/${ids[0]}/cancel`, { reason: "x" }),
      400,
    );
  });
});
