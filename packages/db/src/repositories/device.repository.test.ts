/**
 * The device-side SQL of migrations 0013-0016 and its repositories, run as the application role (RLS applies)
 * exactly as the API runs them: enrollment code redemption, device authentication lookup, the coalesced
 * heartbeat flush, event batch idempotency, and the federated report day key.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { newAccount, newDevice, newEnrollment } from "../schema/factories";
import { createTestDatabase, type TestDatabase } from "../testing";
import { findCurrentEnrollment, recordHeartbeats, withDeviceActor } from "./device.repository";
import { lookupDeviceCertificate } from "./device-certificate.repository";
import { insertEnrollmentCode, redeemEnrollmentCode } from "./enrollment-code.repository";
import { ensureEventsPartition, insertEventBatch } from "./event.repository";
import { insertFederatedReports } from "./federated-report.repository";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

const anonymous = { accountId: null, role: "", ip: "198.51.100.7" };
const digest = () => createHash("sha256").update(randomBytes(16)).digest();

describe("SECURITY DEFINER functions of 0013 and 0014", () => {
  const FUNCTIONS = ["device_auth_lookup", "device_record_heartbeats", "device_redeem_enrollment_code"];

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
});

describe("device_enrollment_codes", () => {
  test("redeeming works once, within its lifetime, without an account session; the code's owner is returned", async () => {
    const owner = await newAccount(db);
    const hash = digest();
    const now = new Date();
    await db.asApp({ accountId: owner.id }, (tx) =>
      insertEnrollmentCode(tx, {
        accountId: owner.id,
        codeHash: hash,
        createdAt: now,
        expiresAt: new Date(now.getTime() + 900_000),
      }),
    );
    // Too late: no row, and the code is not used up by the attempt.
    expect(
      await db.asApp(anonymous, (tx) => redeemEnrollmentCode(tx, hash, new Date(now.getTime() + 901_000))),
    ).toBeNull();
    const first = await db.asApp(anonymous, (tx) => redeemEnrollmentCode(tx, hash, now));
    expect(first?.accountId).toBe(owner.id);
    expect(await db.asApp(anonymous, (tx) => redeemEnrollmentCode(tx, hash, now))).toBeNull();
    expect(await db.asApp(anonymous, (tx) => redeemEnrollmentCode(tx, digest(), now))).toBeNull();
  });

  test("a redemption rolled back leaves the code usable", async () => {
    const owner = await newAccount(db);
    const hash = digest();
    const now = new Date();
    await db.owner`insert into device_enrollment_codes (account_id, code_hash, created_at, expires_at)
                   values (${owner.id}, ${hash}, ${now}, ${new Date(now.getTime() + 900_000)})`;
    await expect(
      db.asApp(anonymous, async (tx) => {
        await redeemEnrollmentCode(tx, hash, now);
        throw new Error("registration failed later");
      }),
    ).rejects.toThrow("registration failed later");
    expect(await db.asApp(anonymous, (tx) => redeemEnrollmentCode(tx, hash, now))).not.toBeNull();
  });

  test("row-level security: own codes only; anonymous sees none; no inserting for another account", async () => {
    const a = await newAccount(db);
    const b = await newAccount(db);
    const now = new Date();
    const later = new Date(now.getTime() + 900_000);
    await db.owner`insert into device_enrollment_codes (account_id, code_hash, created_at, expires_at)
                   values (${a.id}, ${digest()}, ${now}, ${later}), (${b.id}, ${digest()}, ${now}, ${later})`;
    const seenByA = await db.asApp(
      { accountId: a.id },
      (tx) => tx`select distinct account_id from device_enrollment_codes`,
    );
    expect(seenByA.map((r) => r.account_id)).toEqual([a.id]);
    expect(await db.asApp(anonymous, (tx) => tx`select 1 from device_enrollment_codes`)).toHaveLength(0);
    await expect(
      db.asApp({ accountId: a.id }, (tx) =>
        insertEnrollmentCode(tx, { accountId: b.id, codeHash: digest(), createdAt: now, expiresAt: later }),
      ),
    ).rejects.toThrow(/row-level security/);
  });
});

describe("device authentication and heartbeats", () => {
  test("device_auth_lookup answers for a fingerprint whatever the session, with revocation and expiry", async () => {
    const owner = await newAccount(db);
    const device = await newDevice(db, { accountId: owner.id });
    const fingerprint = randomBytes(32).toString("hex");
    const expires = new Date(Date.now() + 86_400_000);
    await db.owner`insert into device_certificates (device_id, certificate_fingerprint, expires_at)
                   values (${device.id}, ${fingerprint}, ${expires})`;
    const state = await lookupDeviceCertificate(db.app, fingerprint);
    expect(state).toMatchObject({
      deviceId: device.id,
      accountId: owner.id,
      deviceStatus: "pending",
      revokedAt: null,
    });
    expect(state?.expiresAt.getTime()).toBe(expires.getTime());
    expect(await lookupDeviceCertificate(db.app, "0".repeat(64))).toBeNull();
  });

  test("a device session runs as the owner: it sees the owner's rows, not another tenant's", async () => {
    const owner = await newAccount(db);
    const stranger = await newAccount(db);
    const device = await newDevice(db, { accountId: owner.id });
    const foreign = await newDevice(db, { accountId: stranger.id });
    await newEnrollment(db, { deviceId: device.id, enrolledBy: owner.id });
    const seen = await withDeviceActor(
      db.app,
      { accountId: owner.id, deviceId: device.id },
      null,
      async (tx) => ({
        devices: (await tx`select id from devices where id in (${device.id}, ${foreign.id})`).map(
          (r) => r.id,
        ),
        role: (await tx`select current_account_role() as role`)[0]?.role,
        enrollment: await findCurrentEnrollment(tx, device.id),
        foreignEnrollment: await findCurrentEnrollment(tx, foreign.id),
      }),
    );
    expect(seen.devices).toEqual([device.id]);
    expect(seen.role).toBe("device");
    expect(seen.enrollment?.status).toBe("active");
    expect(seen.foreignEnrollment).toBeNull();
  });

  test("device_record_heartbeats: newest wins and never moves back; pending/stale -> active; disabled untouched", async () => {
    const owner = await newAccount(db);
    const pending = await newDevice(db, { accountId: owner.id });
    const stale = await newDevice(db, { accountId: owner.id });
    const disabled = await newDevice(db, { accountId: owner.id });
    await db.owner`update devices set status = 'stale' where id = ${stale.id}`;
    await db.owner`update devices set status = 'disabled' where id = ${disabled.id}`;
    const t1 = new Date("2030-01-01T00:00:10Z");
    const t0 = new Date("2030-01-01T00:00:00Z");
    const updated = await recordHeartbeats(db.app, [
      { deviceId: pending.id, seenAt: t1, agentVersion: "1.0.0", osVersion: "" },
      { deviceId: stale.id, seenAt: t1, agentVersion: "", osVersion: "Fedora 40" },
      { deviceId: disabled.id, seenAt: t1, agentVersion: "9.9.9", osVersion: "" },
    ]);
    expect(updated).toBe(2);
    await recordHeartbeats(db.app, [{ deviceId: pending.id, seenAt: t0, agentVersion: "", osVersion: "" }]);
    const rows = await db.owner`
      select id, status::text as status, last_heartbeat, agent_version, os_version from devices
      where id in (${pending.id}, ${stale.id}, ${disabled.id}) order by id`;
    expect(rows).toEqual([
      { id: pending.id, status: "active", last_heartbeat: t1, agent_version: "1.0.0", os_version: null },
      { id: stale.id, status: "active", last_heartbeat: t1, agent_version: null, os_version: "Fedora 40" },
      { id: disabled.id, status: "disabled", last_heartbeat: null, agent_version: null, os_version: null },
    ]);
    await expect(
      db.app`select device_record_heartbeats(array[1]::bigint[], array[]::timestamptz[], array[]::text[], array[]::text[])`,
    ).rejects.toThrow(/equal lengths/);
  });
});

describe("events and batches", () => {
  test("uq_events_event_uid exists on every partition, including one created later by ensure_events_partition", async () => {
    await ensureEventsPartition(db.app, new Date("2031-07-15T00:00:00Z"));
    const rows = await db.owner<{ partition: string; has: boolean }[]>`
      select c.relname as partition,
             exists (select 1 from pg_index i join pg_class x on x.oid = i.indexrelid
                     join pg_inherits h on h.inhrelid = x.oid
                     where i.indrelid = c.oid and i.indisunique and h.inhparent = 'uq_events_event_uid'::regclass) as has
      from pg_inherits p join pg_class c on c.oid = p.inhrelid where p.inhparent = 'events'::regclass`;
    expect(rows.length).toBeGreaterThan(4);
    expect(rows.filter((r) => !r.has)).toEqual([]);
    expect(rows.map((r) => r.partition)).toContain("events_y2031m07");
  });

  test("a batch is stored once; a replay returns the stored outcome; events dedupe across batches; RLS on batches", async () => {
    const owner = await newAccount(db);
    const stranger = await newAccount(db);
    const device = await newDevice(db, { accountId: owner.id });
    const actor = { accountId: owner.id, deviceId: device.id };
    const at = new Date();
    const event = (uid: string) => ({
      eventUid: uid,
      eventType: "tamper" as const,
      metadata: { type: "service_stopped" },
      createdAt: at,
      visibleToAuthority: true,
    });
    const [u1, u2, u3] = [randomUUID(), randomUUID(), randomUUID()];
    const batch = {
      deviceId: device.id,
      enrollmentId: null,
      batchId: randomUUID(),
      eventCount: 2,
      rows: [event(u1), event(u2)],
      acceptedWithoutRow: 0,
      duplicatesWithoutRow: 0,
      rejected: [],
      droppedEvents: 0,
    };
    const first = await withDeviceActor(db.app, actor, null, (tx) => insertEventBatch(tx, batch));
    expect(first).toMatchObject({ kind: "stored", inserted: 2, outcome: { accepted: 2, duplicates: 0 } });
    const replay = await withDeviceActor(db.app, actor, null, (tx) => insertEventBatch(tx, batch));
    expect(replay).toEqual({ kind: "replay", outcome: { accepted: 2, duplicates: 0, rejected: [] } });
    const other = await withDeviceActor(db.app, actor, null, (tx) =>
      insertEventBatch(tx, { ...batch, batchId: randomUUID(), rows: [event(u2), event(u3)] }),
    );
    expect(other).toMatchObject({ kind: "stored", outcome: { accepted: 1, duplicates: 1 } });
    const [count] = await db.owner`select count(*)::int as n from events where device_id = ${device.id}`;
    expect(count?.n).toBe(3);
    // The batch records belong to the device's owner.
    const seenByStranger = await db.asApp(
      { accountId: stranger.id },
      (tx) => tx`select 1 from device_event_batches where device_id = ${device.id}`,
    );
    expect(seenByStranger).toHaveLength(0);
    await expect(
      withDeviceActor(db.app, { accountId: stranger.id, deviceId: device.id }, null, (tx) =>
        insertEventBatch(tx, { ...batch, batchId: randomUUID(), rows: [] }),
      ),
    ).rejects.toThrow(/row-level security/);
  });

  test("federated reports: one per device, domain and UTC day", async () => {
    const owner = await newAccount(db);
    const device = await newDevice(db, { accountId: owner.id });
    const day1 = new Date("2030-03-01T23:59:00Z");
    const sameDay = new Date("2030-03-01T00:01:00Z");
    const nextDay = new Date("2030-03-02T00:00:01Z");
    const report = [{ domain: "suspicious.example", heuristicMatchType: "keyword" }];
    expect((await insertFederatedReports(db.app, device.id, report, day1)).size).toBe(1);
    expect((await insertFederatedReports(db.app, device.id, report, sameDay)).size).toBe(0);
    expect((await insertFederatedReports(db.app, device.id, report, nextDay)).size).toBe(1);
  });
});
