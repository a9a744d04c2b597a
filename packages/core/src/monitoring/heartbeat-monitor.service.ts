/**
 * Heartbeat monitor (worker job monitoring.heartbeat, every minute).
 *
 * - A device with an active enrollment whose last heartbeat is older than 3 x the enrollment's
 *   protection_config.heartbeat_interval_seconds becomes 'stale', a missed-heartbeat incident opens and the
 *   enrollment's people (the enrolling partner/authority and the owner) are alerted through the
 *   alert_deliveries outbox, on the channels of reporting_config.alerts (when on_missed_heartbeat is on).
 * - When a heartbeat arrives again (the API sets the device 'active' with a newer last_heartbeat) the same
 *   people get one "recovered" notice and the incident closes. An incident whose enrollment ended or whose
 *   device was disabled/decommissioned closes without a notice.
 *
 * Exactly once per incident: the device row is locked (SKIP LOCKED) and set 'stale' in the transaction
 * that queues the alerts, the incident key is device + the last_heartbeat it went stale at, and
 * alert_deliveries is unique per (incident, channel, recipient). Two monitors at once queue one alert.
 * Bounded: at most maxBatches transactions of batchSize devices per run.
 */
import {
  type ReportingConfig,
  reportingConfigSchema,
} from "@betblocker/common/config/reporting-config.schema";
import type { Sql, TransactionSql } from "@betblocker/db/client";
import { withActor } from "@betblocker/db/context";
import {
  closeHeartbeatIncident,
  lockClosableIncidents,
  lockOverdueDevices,
  markDevicesStale,
  openHeartbeatIncident,
} from "@betblocker/db/repositories/monitoring.repository";
import { enqueueAudienceAlert } from "../alerts/audience";
import { type JobLogger, noopLogger, SYSTEM_ACTOR } from "../jobs/job";

/** A device is stale once its last heartbeat is older than this many heartbeat intervals. */
export const STALE_AFTER_INTERVALS = 3;

export interface HeartbeatMonitorOptions {
  now: Date;
  batchSize?: number;
  maxBatches?: number;
  signal?: AbortSignal;
  log?: JobLogger;
}

export interface HeartbeatMonitorReport {
  /** Devices marked stale (incidents opened). */
  stale: number;
  /** Alert deliveries queued for new incidents. */
  alerts: number;
  /** Incidents closed because the device sent a heartbeat again ("recovered" notices sent). */
  recovered: number;
  /** Incidents closed without a notice (enrollment ended, device disabled or decommissioned). */
  closed: number;
  /** New incidents nobody is configured to hear (alerts off, no channel, or no recipient address). */
  unheard: number;
  /** A batch limit was reached with work possibly left. */
  more: boolean;
}

/** The effective alert settings; a stored config that no longer validates falls back to the defaults. */
function alertSettings(stored: unknown): ReportingConfig["alerts"] {
  const parsed = reportingConfigSchema.safeParse(stored ?? {});
  if (parsed.success) return parsed.data.alerts;
  const alertsOnly = reportingConfigSchema.shape.alerts.safeParse(
    typeof stored === "object" && stored !== null ? (stored as Record<string, unknown>).alerts : undefined,
  );
  return alertsOnly.success ? alertsOnly.data : reportingConfigSchema.parse({}).alerts;
}

export function heartbeatIncidentKey(deviceId: number, staleHeartbeatAt: Date | null): string {
  return `heartbeat:device:${deviceId}:stale-at:${staleHeartbeatAt ? staleHeartbeatAt.toISOString() : "never"}`;
}

interface Audience {
  enrolledByAccountId: number;
  ownerAccountId: number;
  reportingConfig: unknown;
}

/**
 * Queues the alert to the enrolling account (partner, authority, or the user for the self tier) and the
 * owner, on the channels of reporting_config.alerts (see alerts/audience.ts: account webhooks for "webhook",
 * e-mail otherwise). Nothing when on_missed_heartbeat is off or alert_channels is empty. Returns the number of
 * deliveries (0: the caller counts the incident as unheard).
 */
async function queueAudienceAlerts(
  tx: TransactionSql,
  audience: Audience,
  alert: { incidentKey: string; subject: string; payload: Record<string, unknown>; accountId: number },
): Promise<number> {
  const settings = alertSettings(audience.reportingConfig);
  if (!settings.on_missed_heartbeat) return 0;
  return await enqueueAudienceAlert(
    tx,
    [audience.enrolledByAccountId, audience.ownerAccountId],
    settings.alert_channels,
    alert,
  );
}

function deviceLabel(hostname: string | null, publicId: string): string {
  return hostname && hostname.length > 0 ? hostname : publicId;
}

async function staleBatch(
  tx: TransactionSql,
  now: Date,
  batchSize: number,
): Promise<{ stale: number; alerts: number; unheard: number; seen: number }> {
  const devices = await lockOverdueDevices(tx, now, STALE_AFTER_INTERVALS, batchSize);
  await markDevicesStale(
    tx,
    devices.map((d) => d.deviceId),
  );
  let alerts = 0;
  let unheard = 0;
  for (const device of devices) {
    const incidentKey = heartbeatIncidentKey(device.deviceId, device.lastHeartbeat);
    const label = deviceLabel(device.hostname, device.devicePublicId);
    const recipients = await queueAudienceAlerts(tx, device, {
      incidentKey,
      accountId: device.ownerAccountId,
      subject: `BetBlocker: device ${label} stopped sending heartbeats`,
      payload: {
        kind: "missed_heartbeat",
        device: device.devicePublicId,
        hostname: device.hostname,
        enrollment: device.enrollmentPublicId,
        tier: device.tier,
        last_heartbeat: device.lastHeartbeat ? device.lastHeartbeat.toISOString() : null,
        heartbeat_interval_seconds: device.heartbeatIntervalSeconds,
        detected_at: now.toISOString(),
      },
    });
    await openHeartbeatIncident(tx, {
      deviceId: device.deviceId,
      enrollmentId: device.enrollmentId,
      staleHeartbeatAt: device.lastHeartbeat,
      openedAt: now,
      alertRecipients: recipients,
    });
    alerts += recipients;
    if (recipients === 0) unheard += 1;
  }
  return { stale: devices.length, alerts, unheard, seen: devices.length };
}

async function recoveryBatch(
  tx: TransactionSql,
  now: Date,
  batchSize: number,
): Promise<{ recovered: number; closed: number; seen: number }> {
  const incidents = await lockClosableIncidents(tx, batchSize);
  let recovered = 0;
  let closed = 0;
  for (const incident of incidents) {
    if (incident.recovered) {
      const label = deviceLabel(incident.hostname, incident.devicePublicId);
      await queueAudienceAlerts(tx, incident, {
        incidentKey: `${heartbeatIncidentKey(incident.deviceId, incident.staleHeartbeatAt)}:recovered`,
        accountId: incident.ownerAccountId,
        subject: `BetBlocker: device ${label} is sending heartbeats again`,
        payload: {
          kind: "heartbeat_recovered",
          device: incident.devicePublicId,
          hostname: incident.hostname,
          enrollment: incident.enrollmentPublicId,
          stale_since: incident.openedAt.toISOString(),
          last_heartbeat: incident.lastHeartbeat ? incident.lastHeartbeat.toISOString() : null,
        },
      });
      await closeHeartbeatIncident(tx, incident.id, now, incident.lastHeartbeat ?? now);
      recovered += 1;
    } else {
      await closeHeartbeatIncident(tx, incident.id, now, null);
      closed += 1;
    }
  }
  return { recovered, closed, seen: incidents.length };
}

/** One monitor run: recoveries first (so a device that recovered and went stale again gets both), then stale devices. */
export async function runHeartbeatMonitor(
  sql: Sql,
  options: HeartbeatMonitorOptions,
): Promise<HeartbeatMonitorReport> {
  const batchSize = options.batchSize ?? 500;
  const maxBatches = options.maxBatches ?? 20;
  const log = options.log ?? noopLogger;
  const report: HeartbeatMonitorReport = {
    stale: 0,
    alerts: 0,
    recovered: 0,
    closed: 0,
    unheard: 0,
    more: false,
  };

  for (let batch = 0; ; batch += 1) {
    if (batch >= maxBatches) {
      report.more = true;
      break;
    }
    if (options.signal?.aborted) break;
    const done = await withActor(sql, SYSTEM_ACTOR, (tx) => recoveryBatch(tx, options.now, batchSize));
    report.recovered += done.recovered;
    report.closed += done.closed;
    if (done.seen < batchSize) break;
  }
  for (let batch = 0; ; batch += 1) {
    if (batch >= maxBatches) {
      report.more = true;
      break;
    }
    if (options.signal?.aborted) break;
    const done = await withActor(sql, SYSTEM_ACTOR, (tx) => staleBatch(tx, options.now, batchSize));
    report.stale += done.stale;
    report.alerts += done.alerts;
    report.unheard += done.unheard;
    if (done.seen < batchSize) break;
  }
  if (report.unheard > 0)
    log.warn(
      "missed-heartbeat incidents with nobody to alert (alerts off, no channel, or no recipient address)",
      {
        incidents: report.unheard,
      },
    );
  return report;
}
