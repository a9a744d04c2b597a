/**
 * Event ingestion benchmark: `npm run bench:ingest`.
 *
 * Starts its own embedded PostgreSQL (temporary directory, free port on 127.0.0.1), migrates it, connects as
 * the application role (row-level security on) and registers DEVICES devices with certificates, half of them
 * under an enrollment with detailed reporting, half without (aggregated: domains stripped). Then, in one run:
 *   ingest  EVENTS events in EventBatches of BATCH_SIZE, encoded as protobuf beforehand, each going through the
 *           real path of POST /api/v1/device/events behind TLS: protobuf decode with the size limits, the
 *           structural checks, the mapping to rows, device authentication (cached session), then the ingestion
 *           service (privacy filter, metadata validation, partitions, batch + per-event idempotency, one
 *           INSERT ... ON CONFLICT per batch, as the device's owner);
 *   copy    the same number of rows, prepared as COPY text beforehand, with raw COPY into the same
 *           partitioned table (same indexes), as the baseline of what the database itself takes.
 * Both use PARALLEL connections at once; COPY gets its favourable case (COPY_ROWS rows per statement, 10 batches
 * worth), so the ratio is conservative. The cluster runs with fsync on, as in production (BENCH_EPHEMERAL=1 turns
 * durability off for both phases). The mix: 80% block, 10% heartbeat, 5% bypass_attempt, 5% tamper, occurred_at
 * spread over the last two weeks. The LAST line is machine-readable:
 *   ingest events_per_s=E copy_per_s=C
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeEventBatch } from "@betblocker/api/routes/device/device.codec";
import { DeviceAuthenticator, type DeviceSession } from "@betblocker/core/devices/device-auth";
import { EventIngestService } from "@betblocker/core/events/event-ingest.service";
import { ensureAppRoleLogin } from "@betblocker/db/app-role";
import { createSql, type Sql } from "@betblocker/db/client";
import { ensureDatabase, startEmbeddedPostgres } from "@betblocker/db/launcher";
import { migrate } from "@betblocker/db/migrate";
import { migrationsDir } from "@betblocker/db/paths";
import {
  BlockingLayer,
  BypassMethod,
  EventBatchSchema,
  EventType,
  encodeMessage,
  type MessageInitShape,
  TamperType,
  timestampFromDate,
} from "@betblocker/proto";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const BATCH_SIZE = 1000;
const DEVICES = 20;
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 4);
const WARMUP_BATCHES = 10;
const COPY_ROWS = Number(process.env.BENCH_COPY_ROWS ?? 10_000);
/** Bounded in time as well as in count: a phase stops after this long whatever is left. */
const MAX_PHASE_MS = 120_000;

const log = (line: string) => process.stdout.write(`${line}\n`);

async function freePort(): Promise<number> {
  return await new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

type EventInit = NonNullable<MessageInitShape<typeof EventBatchSchema>["events"]>[number];

function makeEvent(index: number, now: number): EventInit {
  const occurredAt = timestampFromDate(new Date(now - ((index * 7919) % (14 * 86_400)) * 1000));
  const kind = index % 20;
  if (kind < 16) {
    return {
      eventId: randomUUID(),
      eventType: EventType.BLOCK,
      occurredAt,
      payload: {
        case: "block",
        value: {
          domain: `casino-${index % 5000}.example`,
          category: "casino",
          layer: BlockingLayer.DNS,
          queryType: "A",
        },
      },
    };
  }
  if (kind < 18) {
    return {
      eventId: randomUUID(),
      eventType: EventType.HEARTBEAT,
      occurredAt,
      payload: {
        case: "heartbeat",
        value: { agentVersion: "1.2.3", blocklistVersion: 7, uptimeSeconds: index, blockedCountSinceLast: 3 },
      },
    };
  }
  if (kind === 18) {
    return {
      eventId: randomUUID(),
      eventType: EventType.BYPASS_ATTEMPT,
      occurredAt,
      payload: {
        case: "bypassAttempt",
        value: { method: BypassMethod.VPN_DETECTED, details: "WireGuard on wg0" },
      },
    };
  }
  return {
    eventId: randomUUID(),
    eventType: EventType.TAMPER,
    occurredAt,
    payload: { case: "tamper", value: { type: TamperType.SERVICE_STOPPED, details: "service stopped" } },
  };
}

/** Runs `work(i)` for i in [0, count) with `parallel` workers; stops early after MAX_PHASE_MS. */
async function runParallel(
  count: number,
  parallel: number,
  work: (index: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  let done = 0;
  const deadline = performance.now() + MAX_PHASE_MS;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count && performance.now() < deadline) {
        const index = next++;
        await work(index);
        done++;
      }
    }),
  );
  return done;
}

function copyEscape(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r");
}

async function copyText(sql: Sql, text: string): Promise<void> {
  const writable =
    await sql`copy events (device_id, enrollment_id, event_type, metadata, created_at, event_uid, visible_to_authority) from stdin`.writable();
  await new Promise<void>((resolve, reject) => {
    writable.on("error", reject);
    writable.on("finish", resolve);
    writable.end(text);
  });
}

async function main(): Promise<number> {
  const root = mkdtempSync(join(tmpdir(), "bb-bench-ingest-"));
  const cluster = await startEmbeddedPostgres({
    root,
    port: await freePort(),
    ephemeral: process.env.BENCH_EPHEMERAL === "1",
  });
  let owner: Sql | null = null;
  let app: Sql | null = null;
  try {
    await ensureDatabase(cluster.url("postgres"), "bench");
    const ownerUrl = cluster.url("bench");
    await migrate(ownerUrl, migrationsDir());
    const appUrl = await ensureAppRoleLogin(ownerUrl, root);
    owner = createSql(ownerUrl, { max: PARALLEL + 1 });
    app = createSql(appUrl, { max: PARALLEL + 2, applicationName: "bench-ingest" });

    const [account] = await owner<{ id: number }[]>`
      insert into accounts (email, password_hash) values (${`bench-${process.pid}@example.test`}, '$argon2id$v=19$bench')
      returning id`;
    const accountId = account?.id as number;
    const clock = () => new Date();
    const authenticator = new DeviceAuthenticator({ sql: app, clock, ttlMs: 600_000 });
    const sessions: DeviceSession[] = [];
    for (let i = 0; i < DEVICES; i++) {
      const [device] = await owner<{ id: number }[]>`
        insert into devices (account_id, platform, hostname) values (${accountId}, 'linux', ${`bench-${i}`}) returning id`;
      const deviceId = device?.id as number;
      const fingerprint = randomUUID().replaceAll("-", "").padEnd(64, "0");
      await owner`insert into device_certificates (device_id, certificate_fingerprint, expires_at)
                  values (${deviceId}, ${fingerprint}, now() + interval '90 days')`;
      if (i % 2 === 0) {
        await owner`insert into enrollments (device_id, enrolled_by_account_id, tier, reporting_config)
                    values (${deviceId}, ${accountId}, 'self', ${owner.json({ aggregation_level: "detailed" })})`;
      }
      sessions.push(await authenticator.authenticate(fingerprint));
    }

    const service = new EventIngestService({ sql: app, clock });
    const now = Date.now();
    const batchCount = Math.ceil(EVENTS / BATCH_SIZE);
    log(
      `preparing ${batchCount} batches of ${BATCH_SIZE} events (protobuf) and the same rows as COPY text ...`,
    );
    const encode = (first: number) =>
      encodeMessage(EventBatchSchema, {
        batchId: randomUUID(),
        events: Array.from({ length: BATCH_SIZE }, (_, i) => makeEvent(first + i, now)),
      });
    const warmup = Array.from({ length: WARMUP_BATCHES }, (_, b) => encode(10_000_000 + b * BATCH_SIZE));
    const batches = Array.from({ length: batchCount }, (_, b) => encode(b * BATCH_SIZE));
    const copyBatches = batches.map((bytes, b) => {
      const batch = decodeEventBatch(bytes);
      const session = sessions[b % sessions.length] as DeviceSession;
      let text = "";
      for (const event of batch.events) {
        if (event.kind !== "event") continue;
        text += `${session.deviceId}\t${session.config.eventEnrollmentId ?? "\\N"}\t${event.eventType}\t${copyEscape(JSON.stringify(event.metadata))}\t${event.occurredAt.toISOString()}\t${randomUUID()}\tt\n`;
      }
      return text;
    });
    // COPY is fastest in big statements: COPY_ROWS rows per COPY (its best case, not the batch size).
    const perCopy = Math.max(1, Math.round(COPY_ROWS / BATCH_SIZE));
    const copyChunks: string[] = [];
    for (let i = 0; i < copyBatches.length; i += perCopy)
      copyChunks.push(copyBatches.slice(i, i + perCopy).join(""));

    const ingestOne = async (bytes: Uint8Array, session: DeviceSession) => {
      // What the route does after TLS: authenticate (cached), decode + check + map, ingest.
      const device = await authenticator.authenticate(session.fingerprint);
      const outcome = await service.ingest(device, decodeEventBatch(bytes), "127.0.0.1");
      if (
        outcome.accepted + outcome.duplicates + outcome.rejected.length !== BATCH_SIZE ||
        outcome.rejected.length > 0
      ) {
        throw new Error(`unexpected outcome ${JSON.stringify(outcome).slice(0, 200)}`);
      }
    };
    await runParallel(warmup.length, PARALLEL, (b) =>
      ingestOne(warmup[b] as Uint8Array, sessions[b % DEVICES] as DeviceSession),
    );

    log(`ingest: ${EVENTS} events through the ingestion path, ${PARALLEL} in parallel ...`);
    const [before] = await owner<{ n: number }[]>`select count(*)::int as n from events`;
    const ingestStarted = performance.now();
    const ingested = await runParallel(batches.length, PARALLEL, (b) =>
      ingestOne(batches[b] as Uint8Array, sessions[b % DEVICES] as DeviceSession),
    );
    const ingestSeconds = (performance.now() - ingestStarted) / 1000;
    const [after] = await owner<{ n: number }[]>`select count(*)::int as n from events`;
    const stored = (after?.n as number) - (before?.n as number);
    if (stored !== ingested * BATCH_SIZE)
      throw new Error(`stored ${stored} rows, expected ${ingested * BATCH_SIZE}`);
    const ingestRate = stored / ingestSeconds;
    log(`ingest: ${stored} rows in ${ingestSeconds.toFixed(2)} s = ${ingestRate.toFixed(0)} events/s`);

    // Checked before COPY adds its own (unfiltered) rows.
    const [check] = await owner<{ leaked: number; alerts: number }[]>`
      select count(*) filter (where metadata ? 'domain' and enrollment_id is null)::int as leaked,
             count(*) filter (where event_type in ('tamper', 'bypass_attempt'))::int as alerts
      from events`;
    log(
      `checks: ${check?.leaked} domains stored for devices without enrollment (aggregated: must be 0), ${check?.alerts} alert rows`,
    );
    if (check?.leaked !== 0) throw new Error("the privacy filter let domains through");

    log(`copy: ${EVENTS} rows with COPY (${COPY_ROWS} rows per COPY), ${PARALLEL} in parallel ...`);
    const copyStarted = performance.now();
    let copied = 0;
    await runParallel(copyChunks.length, PARALLEL, async (b) => {
      const chunk = copyChunks[b] as string;
      await copyText(owner as Sql, chunk);
      copied += chunk.split("\n").length - 1;
    });
    const copySeconds = (performance.now() - copyStarted) / 1000;
    const [final] = await owner<{ n: number }[]>`select count(*)::int as n from events`;
    const copiedRows = (final?.n as number) - (after?.n as number);
    if (copiedRows !== copied) throw new Error(`copied ${copiedRows} rows, expected ${copied}`);
    const copyRate = copiedRows / copySeconds;
    log(
      `copy: ${copiedRows} rows in ${copySeconds.toFixed(2)} s = ${copyRate.toFixed(0)} rows/s (ratio ${(ingestRate / copyRate).toFixed(2)})`,
    );

    log(`ingest events_per_s=${ingestRate.toFixed(0)} copy_per_s=${copyRate.toFixed(0)}`);
    return 0;
  } catch (error) {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 1;
  } finally {
    await app?.end({ timeout: 5 });
    await owner?.end({ timeout: 5 });
    await cluster.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

process.exitCode = await main();
