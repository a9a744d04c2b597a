/**
 * Lifecycle timers on a real PostgreSQL: a due self-tier unenrollment completes and a not-yet-due one stays;
 * the notifications outbox (e.g. unenroll_requested to notify_accounts) becomes alert e-mails exactly once.
 */
import { newAccount, newDevice, newEnrollment, newUnenrollRequest } from "@betblocker/db/schema/factories";
import { createTestDatabase, type TestDatabase } from "@betblocker/db/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runLifecycleTimers } from "./lifecycle-timers.service";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

async function selfEnrollmentUnenrolling(delayUntilSql: "past" | "future") {
  const owner = await newAccount(db);
  const device = await newDevice(db, { accountId: owner.id });
  const enrollment = await newEnrollment(db, { deviceId: device.id, enrolledBy: owner.id, tier: "self" });
  const request = await newUnenrollRequest(db, { enrollmentId: enrollment.id, requestedBy: owner.id });
  if (delayUntilSql === "past")
    await db.owner`update enrollment_unenroll_requests set delay_until = now() - interval '1 minute' where id = ${request.id}`;
  await db.owner`update enrollments set status = 'unenrolling' where id = ${enrollment.id}`;
  return { owner, enrollment, request };
}

async function statusOf(enrollmentId: number, requestId: number) {
  const [row] = await db.owner<{ enrollment: string; request: string }[]>`
    select e.status::text as enrollment, r.status::text as request
    from enrollments e join enrollment_unenroll_requests r on r.enrollment_id = e.id
    where e.id = ${enrollmentId} and r.id = ${requestId}`;
  return row;
}

describe("lifecycle timers", () => {
  test("completes a due self unenrollment, leaves a not-yet-due one, and delivers the outbox once", async () => {
    const due = await selfEnrollmentUnenrolling("past");
    const notDue = await selfEnrollmentUnenrolling("future");
    const partner = await newAccount(db, { role: "partner" });
    await db.owner`
      insert into notifications (account_id, kind, payload)
      values (${partner.id}, 'unenroll_requested', ${db.owner.json({ enrollment_id: "x", tier: "self" })}),
             (null, 'partner_invited', ${db.owner.json({ email: "invitee@example.test" })})`;

    const report = await runLifecycleTimers(db.app, { now: new Date() });
    expect(report.unenrollmentsCompleted).toBe(1);
    expect(await statusOf(due.enrollment.id, due.request.id)).toEqual({
      enrollment: "unenrolled",
      request: "expired",
    });
    expect(await statusOf(notDue.enrollment.id, notDue.request.id)).toEqual({
      enrollment: "unenrolling",
      request: "pending",
    });

    const unsent = await db.owner<
      { n: number }[]
    >`select count(*)::int as n from notifications where sent_at is null`;
    expect(unsent[0]?.n).toBe(0);
    const alerts = await db.owner<{ recipient: string; subject: string; payload: Record<string, unknown> }[]>`
      select recipient, subject, payload from alert_deliveries where incident_key like 'notification:%' order by id`;
    expect(alerts.map((a) => a.recipient)).toEqual(
      expect.arrayContaining([partner.email, "invitee@example.test", due.owner.email]),
    );
    expect(alerts.find((a) => a.recipient === partner.email)?.payload.kind).toBe("unenroll_requested");
    expect(alerts.find((a) => a.recipient === due.owner.email)?.payload.kind).toBe("unenroll_completed");
    const count = alerts.length;

    // Idempotent: a second run (and a concurrent pair) changes nothing.
    await Promise.all([
      runLifecycleTimers(db.app, { now: new Date() }),
      runLifecycleTimers(db.app, { now: new Date() }),
    ]);
    const [again] = await db.owner<{ n: number }[]>`
      select count(*)::int as n from alert_deliveries where incident_key like 'notification:%'`;
    expect(again?.n).toBe(count);
    expect(await statusOf(notDue.enrollment.id, notDue.request.id)).toEqual({
      enrollment: "unenrolling",
      request: "pending",
    });
  });
});
