/**
 * /api/v1/enrollments over real HTTP with the pool as the application role: creation per tier and its
 * consent rules, validation of the JSONB configs (field errors with body paths), tenant isolation, and PATCH:
 * tightening applies at once, loosening becomes a config change request with the unenrollment approval,
 * every applied field writes a config_change event (spec 9.4), audit rows carry the actor.
 */
import { applyDueSelfConfigChanges } from "@betblocker/core/enrollments/unenroll.service";
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
  makeOrganization,
  makePartners,
  notificationsOf,
  signIn,
  withClockAdvanced,
} from "./lifecycle-fixtures";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ config: { exposeDevTokens: true, rateLimits: GENEROUS_RATE_LIMITS } });
});

afterAll(async () => {
  await server?.close();
});

async function enroll(who: Account, body: Record<string, unknown>) {
  return call(server, who, "POST", "/api/v1/enrollments", body);
}

async function selfEnrollment(owner: Account, extra: Record<string, unknown> = {}) {
  const device = await addDevice(server, owner);
  const created = await enroll(owner, { device_id: device.publicId, tier: "self", ...extra });
  expectStatus(created, 201);
  return created.body;
}

async function partnerSetup() {
  const owner = await signIn(server);
  const partner = await signIn(server);
  await makePartners(server, owner, partner);
  const device = await addDevice(server, owner);
  const created = await enroll(owner, {
    device_id: device.publicId,
    tier: "partner",
    partner_account_id: partner.publicId,
  });
  expectStatus(created, 201);
  return { owner, partner, device, enrollment: created.body };
}

function fieldPaths(body: { error: { details?: { fieldErrors?: Array<{ path: string }> } } }): string[] {
  return (body.error.details?.fieldErrors ?? []).map((fieldError) => fieldError.path);
}

describe("POST /api/v1/enrollments: self tier", () => {
  test("the owner enrolls a device; the three configs come back complete with their defaults", async () => {
    const owner = await signIn(server);
    const device = await addDevice(server, owner);
    const created = await enroll(owner, {
      device_id: device.publicId,
      tier: "self",
      protection_config: { dns: { block_doh: true }, heartbeat_interval_seconds: 120 },
      unenrollment_policy: { delay_hours: 24 },
    });
    expectStatus(created, 201);
    expect(created.body).toMatchObject({
      device_id: device.publicId,
      tier: "self",
      status: "active",
      owner_id: owner.publicId,
      enrolled_by_id: owner.publicId,
      organization_id: null,
      protection_config: {
        layers: { dns: true, application: false, browser: false },
        dns: { block_response: "nxdomain", block_doh: true, block_dot: true, hosts_file_fallback: true },
        heartbeat_interval_seconds: 120,
        tamper_sensitivity: "standard",
      },
      reporting_config: { aggregation_level: "aggregated", federated_reporting: true },
      unenrollment_policy: {
        approval_required_by: "self",
        delay_hours: 24,
        notify_on_request: true,
        user_can_request: true,
        minimum_enrollment_days: null,
        notify_accounts: [],
      },
    });
    expect(JSON.stringify(created.body)).not.toMatch(/"id":\s*\d/);

    const got = await call(server, owner, "GET", `/api/v1/enrollments/${created.body.id}`);
    expectStatus(got, 200);
    expect(got.body).toEqual(created.body);
    const list = await call(server, owner, "GET", "/api/v1/enrollments");
    expect(list.body.items.map((e: { id: string }) => e.id)).toContain(created.body.id);

    const audit = await auditOf(server, "enrollments", created.body.id);
    expect(audit.map((a) => [a.action, a.actor_account_id])).toEqual([["INSERT", owner.id]]);
  });

  test("400 with field errors: a bad JSONB config, unknown fields, delay_hours 10, a tier mismatch", async () => {
    const owner = await signIn(server);
    const device = await addDevice(server, owner);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ protection_config: { dns: { block_doh: "yes" } } }, "protection_config.dns.block_doh"],
      [{ protection_config: { layers: { dns: false } } }, "protection_config.layers.dns"],
      [{ protection_config: { dns: { block_response: "redirect" } } }, "protection_config.dns.redirect_url"],
      [{ protection_config: { surprise: true } }, "protection_config.surprise"],
      [{ reporting_config: { aggregation_level: "everything" } }, "reporting_config.aggregation_level"],
      [
        { reporting_config: { alerts: { alert_channels: ["email", "email"] } } },
        "reporting_config.alerts.alert_channels",
      ],
      [{ unenrollment_policy: { delay_hours: 10 } }, "unenrollment_policy.delay_hours"],
      [{ unenrollment_policy: { delay_hours: 73 } }, "unenrollment_policy.delay_hours"],
      [
        { unenrollment_policy: { approval_required_by: "partner" } },
        "unenrollment_policy.approval_required_by",
      ],
      [{ unenrollment_policy: { user_can_request: false } }, "unenrollment_policy.user_can_request"],
      [{ unenrollment_policy: { notify_accounts: [42] } }, "unenrollment_policy.notify_accounts[0]"],
      [{ unexpected: 1 }, "unexpected"],
    ];
    for (const [extra, path] of cases) {
      const response = await enroll(owner, { device_id: device.publicId, tier: "self", ...extra });
      expect({ extra, status: response.status, code: response.body.error?.code }).toEqual({
        extra,
        status: 400,
        code: "VALIDATION_FAILED",
      });
      expect(fieldPaths(response.body)).toContain(path);
    }
    const badTier = await enroll(owner, { device_id: device.publicId, tier: "court" });
    expect(fieldPaths(badTier.body)).toEqual(["tier"]);
    const noDevice = await enroll(owner, { tier: "self" });
    expect(fieldPaths(noDevice.body)).toEqual(["device_id"]);
    // Nothing was created by any of them.
    const [count] = await server.db
      .owner`select count(*)::int as n from enrollments where device_id = ${device.id}`;
    expect(count?.n).toBe(0);
  });

  test("notify_accounts must be related to the device owner: a stranger's id is a field error, a partner's is fine", async () => {
    const owner = await signIn(server);
    const partner = await signIn(server);
    const stranger = await signIn(server);
    await makePartners(server, owner, partner);
    const device = await addDevice(server, owner);
    const refused = await enroll(owner, {
      device_id: device.publicId,
      tier: "self",
      unenrollment_policy: { notify_accounts: [partner.publicId, stranger.publicId] },
    });
    expectStatus(refused, 400);
    expect(fieldPaths(refused.body)).toEqual(["unenrollment_policy.notify_accounts[1]"]);
    const accepted = await enroll(owner, {
      device_id: device.publicId,
      tier: "self",
      unenrollment_policy: { notify_accounts: [partner.publicId] },
    });
    expectStatus(accepted, 201);
    const [stored] = await server.db.owner<{ policy: { notify_accounts: number[] } }[]>`
      select unenrollment_policy as policy from enrollments where public_id = ${accepted.body.id}`;
    expect(stored?.policy.notify_accounts).toEqual([partner.id]);
  });

  test("one enrollment per device (409), also while it is 'unenrolling'; 401 without a token", async () => {
    const owner = await signIn(server);
    const device = await addDevice(server, owner);
    expectStatus(await enroll(owner, { device_id: device.publicId, tier: "self" }), 201);
    const second = await enroll(owner, { device_id: device.publicId, tier: "self" });
    expectStatus(second, 409);
    expect(second.body.error.code).toBe("CONFLICT");
    expectStatus(
      await call(server, null, "POST", "/api/v1/enrollments", { device_id: device.publicId, tier: "self" }),
      401,
    );
    expectStatus(await call(server, null, "GET", "/api/v1/enrollments"), 401);
  });

  test("another account's device is not found (404) and nothing of it leaks; their enrollment is 404 too", async () => {
    const owner = await signIn(server);
    const stranger = await signIn(server);
    const device = await addDevice(server, owner);
    const theirs = await enroll(stranger, { device_id: device.publicId, tier: "self" });
    expectStatus(theirs, 404);
    expect(theirs.text).not.toContain(owner.publicId);
    const enrollment = await selfEnrollment(owner);
    for (const [method, path, body] of [
      ["GET", `/api/v1/enrollments/${enrollment.id}`, undefined],
      [
        "PATCH",
        `/api/v1/enrollments/${enrollment.id}`,
        { protection_config: { heartbeat_interval_seconds: 60 } },
      ],
      ["POST", `/api/v1/enrollments/${enrollment.id}/unenroll-requests`, undefined],
      ["GET", `/api/v1/enrollments/${enrollment.id}/unenroll-requests`, undefined],
      ["GET", `/api/v1/enrollments/${enrollment.id}/config-change-requests`, undefined],
    ] as const) {
      const response = await call(server, stranger, method, path, body);
      expect({ path, status: response.status }).toEqual({ path, status: 404 });
      expect(response.text).not.toContain(owner.publicId);
    }
    const list = await call(server, stranger, "GET", "/api/v1/enrollments");
    expect(list.body.items).toEqual([]);
  });
});

describe("POST /api/v1/enrollments: partner and authority tiers (consent)", () => {
  test("the owner names an active partner: enrolled_by is the partner, who sees the enrollment", async () => {
    const { owner, partner, device, enrollment } = await partnerSetup();
    expect(enrollment).toMatchObject({
      tier: "partner",
      device_id: device.publicId,
      owner_id: owner.publicId,
      enrolled_by_id: partner.publicId,
      unenrollment_policy: { approval_required_by: "partner" },
    });
    const seen = await call(server, partner, "GET", `/api/v1/enrollments/${enrollment.id}`);
    expectStatus(seen, 200);
    const list = await call(server, partner, "GET", "/api/v1/enrollments");
    expect(list.body.items.map((e: { id: string }) => e.id)).toContain(enrollment.id);
  });

  test("naming an account that is not an active partner is 403; a pending invitation is not enough", async () => {
    const owner = await signIn(server);
    const invited = await signIn(server);
    const device = await addDevice(server, owner);
    await call(server, owner, "POST", "/api/v1/partners", { email: invited.email });
    const pending = await enroll(owner, {
      device_id: device.publicId,
      tier: "partner",
      partner_account_id: invited.publicId,
    });
    expectStatus(pending, 403);
    const missing = await enroll(owner, { device_id: device.publicId, tier: "partner" });
    expect(fieldPaths(missing.body)).toEqual(["partner_account_id"]);
  });

  test("the active partner enrolls the owner's device itself, and the owner is told", async () => {
    const owner = await signIn(server);
    const partner = await signIn(server);
    await makePartners(server, owner, partner);
    const device = await addDevice(server, owner);
    const created = await enroll(partner, { device_id: device.publicId, tier: "partner" });
    expectStatus(created, 201);
    expect(created.body.enrolled_by_id).toBe(partner.publicId);
    expect(await notificationsOf(server, owner)).toContainEqual({
      kind: "enrollment_created",
      payload: { enrollment_id: created.body.id, tier: "partner", enrolled_by: partner.publicId },
    });
    // The partner cannot self-enroll the owner's device, nor name a third party.
    const other = await addDevice(server, owner);
    expectStatus(await enroll(partner, { device_id: other.publicId, tier: "self" }), 403);
    const third = await signIn(server);
    const named = await enroll(partner, {
      device_id: other.publicId,
      tier: "partner",
      partner_account_id: third.publicId,
    });
    expectStatus(named, 400);
  });

  test("consent runs one way: the partner in a relationship cannot be enrolled by the protected user (404)", async () => {
    const user = await signIn(server);
    const partner = await signIn(server);
    await makePartners(server, user, partner);
    // The partner's own device: `user` is not the partner's partner (the partner never invited them).
    const partnersDevice = await addDevice(server, partner);
    const refused = await enroll(user, { device_id: partnersDevice.publicId, tier: "partner" });
    expectStatus(refused, 404);
  });

  test("authority: an admin of a court organization enrolls a member's device; the organization is recorded", async () => {
    const admin = await signIn(server, "authority");
    const member = await signIn(server);
    const outsider = await signIn(server);
    const orgId = await makeOrganization(server, admin, "court", [member]);
    const device = await addDevice(server, member);
    const created = await enroll(admin, {
      device_id: device.publicId,
      tier: "authority",
      organization_id: orgId,
      unenrollment_policy: { user_can_request: false, minimum_enrollment_days: 90 },
    });
    expectStatus(created, 201);
    expect(created.body).toMatchObject({
      tier: "authority",
      enrolled_by_id: admin.publicId,
      organization_id: orgId,
      owner_id: member.publicId,
      unenrollment_policy: {
        approval_required_by: "authority",
        user_can_request: false,
        minimum_enrollment_days: 90,
      },
    });
    const [row] = await server.db.owner<{ organization_id: number | null }[]>`
      select organization_id from enrollments where public_id = ${created.body.id}`;
    expect(row?.organization_id).not.toBeNull();
    // The member sees it; a non-member's device is not enrollable by the admin.
    expectStatus(await call(server, member, "GET", `/api/v1/enrollments/${created.body.id}`), 200);
    const outsiderDevice = await addDevice(server, outsider);
    expectStatus(
      await enroll(admin, { device_id: outsiderDevice.publicId, tier: "authority", organization_id: orgId }),
      404,
    );
  });

  test("authority: a family organization cannot enroll (400); a plain member of the court cannot enroll (404)", async () => {
    const parent = await signIn(server);
    const child = await signIn(server);
    const familyId = await makeOrganization(server, parent, "family", [child]);
    const childDevice = await addDevice(server, child);
    // The family admin cannot see the child's device as an enrollment target at all.
    expectStatus(
      await enroll(parent, { device_id: childDevice.publicId, tier: "authority", organization_id: familyId }),
      404,
    );
    const admin = await signIn(server, "authority");
    const member = await signIn(server);
    const colleague = await signIn(server);
    const courtId = await makeOrganization(server, admin, "court", [member, colleague]);
    const memberDevice = await addDevice(server, member);
    expectStatus(
      await enroll(colleague, {
        device_id: memberDevice.publicId,
        tier: "authority",
        organization_id: courtId,
      }),
      404,
    );
    // The court's admin also runs a family organization with the same member: naming it is a field error.
    const familyOfAdmin = await makeOrganization(server, admin, "family", [member]);
    const wrongType = await enroll(admin, {
      device_id: memberDevice.publicId,
      tier: "authority",
      organization_id: familyOfAdmin,
    });
    expectStatus(wrongType, 400);
    expect(fieldPaths(wrongType.body)).toEqual(["organization_id"]);
    expectStatus(
      await enroll(admin, { device_id: memberDevice.publicId, tier: "authority", organization_id: courtId }),
      201,
    );
  });
});

describe("PATCH /api/v1/enrollments/{id}", () => {
  test("tightening applies at once, one config_change event per field (9.4), audited with the actor", async () => {
    const owner = await signIn(server);
    const enrollment = await selfEnrollment(owner);
    const patched = await call(server, owner, "PATCH", `/api/v1/enrollments/${enrollment.id}`, {
      protection_config: { heartbeat_interval_seconds: 60, bypass_detection: { vpn_action: "lockdown" } },
      unenrollment_policy: { delay_hours: 72 },
    });
    expectStatus(patched, 200);
    expect(patched.body.pending_change_request).toBeNull();
    expect(patched.body.applied_changes).toEqual([
      {
        field: "protection_config.bypass_detection.vpn_action",
        old_value: "alert",
        new_value: "lockdown",
        direction: "tightens",
      },
      {
        field: "protection_config.heartbeat_interval_seconds",
        old_value: 300,
        new_value: 60,
        direction: "tightens",
      },
      { field: "unenrollment_policy.delay_hours", old_value: 48, new_value: 72, direction: "tightens" },
    ]);
    expect(patched.body.enrollment.protection_config.heartbeat_interval_seconds).toBe(60);
    const events = await eventsOf(server, enrollment.id, "config_change");
    expect(events.map((e) => e.metadata)).toEqual([
      {
        field: "protection_config.bypass_detection.vpn_action",
        old_value: "alert",
        new_value: "lockdown",
        changed_by_account_id: owner.id,
      },
      {
        field: "protection_config.heartbeat_interval_seconds",
        old_value: 300,
        new_value: 60,
        changed_by_account_id: owner.id,
      },
      {
        field: "unenrollment_policy.delay_hours",
        old_value: 48,
        new_value: 72,
        changed_by_account_id: owner.id,
      },
    ]);
    expect(events.every((e) => e.visible_to_authority)).toBe(true);
    const audit = await auditOf(server, "enrollments", enrollment.id);
    expect(audit.at(-1)).toMatchObject({ action: "UPDATE", actor_account_id: owner.id });
    // An unchanged PATCH changes nothing and writes nothing.
    const same = await call(server, owner, "PATCH", `/api/v1/enrollments/${enrollment.id}`, {
      protection_config: { heartbeat_interval_seconds: 60 },
    });
    expect(same.body.applied_changes).toEqual([]);
    expect((await eventsOf(server, enrollment.id, "config_change")).length).toBe(3);
  });

  test("a change in a month without an events partition yet creates it (ensure_events_partition)", async () => {
    const owner = await signIn(server);
    const enrollment = await selfEnrollment(owner);
    await withClockAdvanced(server, 200 * DAY, [owner], async () => {
      const at = server.clock.now();
      const partition = `events_y${at.getUTCFullYear()}m${String(at.getUTCMonth() + 1).padStart(2, "0")}`;
      const [before] = await server.db.owner`select to_regclass(${partition}) is not null as present`;
      expect(before?.present).toBe(false);
      const patched = await call(server, owner, "PATCH", `/api/v1/enrollments/${enrollment.id}`, {
        protection_config: { tamper_sensitivity: "elevated" },
      });
      expectStatus(patched, 200);
      const [row] = await server.db.owner`
        select tableoid::regclass::text as partition from events
        where enrollment_id = (select id from enrollments where public_id = ${enrollment.id})`;
      expect(row?.partition).toBe(partition);
    });
  });

  test("self tier: loosening waits for the delay (request), a mixed PATCH applies only its tightening part", async () => {
    const owner = await signIn(server);
    const enrollment = await selfEnrollment(owner, { unenrollment_policy: { delay_hours: 24 } });
    const patched = await call(server, owner, "PATCH", `/api/v1/enrollments/${enrollment.id}`, {
      protection_config: { dns: { block_doh: false }, tamper_sensitivity: "maximum" },
      unenrollment_policy: { delay_hours: 72 },
    });
    expectStatus(patched, 200);
    expect(patched.body.applied_changes.map((c: { field: string }) => c.field)).toEqual([
      "protection_config.tamper_sensitivity",
      "unenrollment_policy.delay_hours",
    ]);
    expect(patched.body.enrollment.protection_config.dns.block_doh).toBe(true);
    const pending = patched.body.pending_change_request;
    expect(pending).toMatchObject({
      kind: "config_change",
      status: "pending",
      required_approver_id: null,
      changes: [
        { field: "protection_config.dns.block_doh", old_value: true, new_value: false, direction: "loosens" },
      ],
    });
    // The delay in force when asked (24 h), not the 72 h the same PATCH set.
    expect(new Date(pending.delay_until).getTime() - new Date(pending.requested_at).getTime()).toBe(
      24 * HOUR,
    );

    const second = await call(server, owner, "PATCH", `/api/v1/enrollments/${enrollment.id}`, {
      reporting_config: { alerts: { on_tamper: false } },
    });
    expectStatus(second, 409);

    const early = await call(server, owner, "POST", `/api/v1/config-change-requests/${pending.id}/approve`);
    expect(early.body.error.code).toBe("DELAY_NOT_ELAPSED");

    await withClockAdvanced(server, 25 * HOUR, [owner], async () => {
      const done = await call(server, owner, "POST", `/api/v1/config-change-requests/${pending.id}/approve`);
      expectStatus(done, 200);
      expect(done.body.status).toBe("expired");
    });
    const after = await call(server, owner, "GET", `/api/v1/enrollments/${enrollment.id}`);
    expect(after.body.protection_config.dns.block_doh).toBe(false);
    const events = await eventsOf(server, enrollment.id, "config_change");
    expect(events.at(-1)?.metadata).toEqual({
      field: "protection_config.dns.block_doh",
      old_value: true,
      new_value: false,
      changed_by_account_id: owner.id,
    });
  });

  test("applyDueSelfConfigChanges (the worker) applies due self-tier changes as the system", async () => {
    const owner = await signIn(server);
    const enrollment = await selfEnrollment(owner, { unenrollment_policy: { delay_hours: 24 } });
    const patched = await call(server, owner, "PATCH", `/api/v1/enrollments/${enrollment.id}`, {
      reporting_config: { alerts: { alert_channels: [] } },
    });
    const pending = patched.body.pending_change_request;
    const now = server.clock.now();
    await applyDueSelfConfigChanges(server.db.app, now);
    expect(
      (await call(server, owner, "GET", `/api/v1/enrollments/${enrollment.id}`)).body.reporting_config.alerts
        .alert_channels,
    ).toEqual(["email"]);
    const result = await applyDueSelfConfigChanges(server.db.app, new Date(now.getTime() + 24 * HOUR));
    expect(result.applied).toBeGreaterThanOrEqual(1);
    const after = await call(server, owner, "GET", `/api/v1/enrollments/${enrollment.id}`);
    expect(after.body.reporting_config.alerts.alert_channels).toEqual([]);
    const [request] = await server.db.owner<{ status: string; approved_by_account_id: number | null }[]>`
      select status::text as status, approved_by_account_id from enrollment_config_change_requests
      where public_id = ${pending.id}`;
    expect(request).toEqual({ status: "expired", approved_by_account_id: null });
    const audit = await auditOf(server, "enrollments", enrollment.id);
    expect(audit.at(-1)).toMatchObject({ action: "UPDATE", actor_account_id: null });
  });

  test("partner tier: the user cannot switch off reporting to their partner alone; the partner approves or denies", async () => {
    const { owner, partner, enrollment } = await partnerSetup();
    const patched = await call(server, owner, "PATCH", `/api/v1/enrollments/${enrollment.id}`, {
      reporting_config: { report_to_authority: { blocks: false, tamper_events: false } },
    });
    expectStatus(patched, 200);
    expect(patched.body.applied_changes).toEqual([]);
    expect(patched.body.enrollment.reporting_config.report_to_authority.blocks).toBe(true);
    const pending = patched.body.pending_change_request;
    expect(pending).toMatchObject({ required_approver_id: partner.publicId, delay_until: null });
    expect(await notificationsOf(server, partner)).toContainEqual({
      kind: "config_change_requested",
      payload: expect.objectContaining({ request_id: pending.id }),
    });
    // The owner cannot approve it, a stranger cannot see it.
    expectStatus(
      await call(server, owner, "POST", `/api/v1/config-change-requests/${pending.id}/approve`),
      403,
    );
    const stranger = await signIn(server);
    expectStatus(
      await call(server, stranger, "POST", `/api/v1/config-change-requests/${pending.id}/approve`),
      404,
    );

    const denied = await call(server, partner, "POST", `/api/v1/config-change-requests/${pending.id}/deny`);
    expect(denied.body.status).toBe("denied");
    expect((await eventsOf(server, enrollment.id, "config_change")).length).toBe(0);

    const again = await call(server, owner, "PATCH", `/api/v1/enrollments/${enrollment.id}`, {
      reporting_config: { aggregation_level: "aggregated", report_to_authority: { blocks: false } },
    });
    const approved = await call(
      server,
      partner,
      "POST",
      `/api/v1/config-change-requests/${again.body.pending_change_request.id}/approve`,
    );
    expect(approved.body).toMatchObject({ status: "approved", decided_by_id: partner.publicId });
    const after = await call(server, owner, "GET", `/api/v1/enrollments/${enrollment.id}`);
    expect(after.body.reporting_config.report_to_authority.blocks).toBe(false);
    expect((await eventsOf(server, enrollment.id, "config_change")).map((e) => e.metadata)).toEqual([
      {
        field: "reporting_config.report_to_authority.blocks",
        old_value: true,
        new_value: false,
        changed_by_account_id: owner.id,
      },
    ]);
  });

  test("partner tier: the partner loosens at once; the owner is told; switching config-change reporting off is still reported", async () => {
    const { owner, partner, enrollment } = await partnerSetup();
    const patched = await call(server, partner, "PATCH", `/api/v1/enrollments/${enrollment.id}`, {
      protection_config: { heartbeat_interval_seconds: 900 },
      reporting_config: { report_to_authority: { config_changes: false } },
    });
    expectStatus(patched, 200);
    expect(patched.body.pending_change_request).toBeNull();
    expect(patched.body.applied_changes.map((c: { direction: string }) => c.direction)).toEqual([
      "loosens",
      "loosens",
    ]);
    const events = await eventsOf(server, enrollment.id, "config_change");
    expect(events.map((e) => [e.metadata.changed_by_account_id, e.visible_to_authority])).toEqual([
      [partner.id, true],
      [partner.id, true],
    ]);
    expect((await notificationsOf(server, owner)).map((n) => n.kind)).toContain("enrollment_config_changed");
    // Later changes are not shown to the partner (reporting of config changes is now off).
    await call(server, partner, "PATCH", `/api/v1/enrollments/${enrollment.id}`, {
      protection_config: { heartbeat_interval_seconds: 600 },
    });
    expect((await eventsOf(server, enrollment.id, "config_change")).at(-1)?.visible_to_authority).toBe(false);
  });

  test("the owner cancels a pending change; a cancelled request is final", async () => {
    const { owner, enrollment } = await partnerSetup();
    const patched = await call(server, owner, "PATCH", `/api/v1/enrollments/${enrollment.id}`, {
      protection_config: { dns: { hosts_file_fallback: false } },
    });
    const id = patched.body.pending_change_request.id;
    const cancelled = await call(server, owner, "POST", `/api/v1/config-change-requests/${id}/cancel`);
    expect(cancelled.body.status).toBe("cancelled");
    expectStatus(await call(server, owner, "POST", `/api/v1/config-change-requests/${id}/cancel`), 409);
    const listed = await call(
      server,
      owner,
      "GET",
      `/api/v1/enrollments/${enrollment.id}/config-change-requests`,
    );
    expect(listed.body.items.map((r: { id: string; status: string }) => [r.id, r.status])).toEqual([
      [id, "cancelled"],
    ]);
  });

  test("PATCH validation: 400 with body paths for a merged config that does not validate, unknown fields, an empty body", async () => {
    const owner = await signIn(server);
    const enrollment = await selfEnrollment(owner);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ protection_config: { dns: { block_doh: "no" } } }, "protection_config.dns.block_doh"],
      [{ protection_config: { dns: { nonsense: 1 } } }, "protection_config.dns.nonsense"],
      [{ unenrollment_policy: { delay_hours: 10 } }, "unenrollment_policy.delay_hours"],
      [
        { unenrollment_policy: { approval_required_by: "partner" } },
        "unenrollment_policy.approval_required_by",
      ],
      [{ reporting_config: "off" }, "reporting_config"],
      [{ status: "unenrolled" }, "status"],
      [{}, ""],
    ];
    for (const [body, path] of cases) {
      const response = await call(server, owner, "PATCH", `/api/v1/enrollments/${enrollment.id}`, body);
      expect({ body, status: response.status }).toEqual({ body, status: 400 });
      expect(fieldPaths(response.body)).toContain(path);
    }
    expect(await eventsOf(server, enrollment.id, "config_change")).toEqual([]);
    expectStatus(
      await call(server, null, "PATCH", `/api/v1/enrollments/${enrollment.id}`, { protection_config: {} }),
      401,
    );
  });
});
