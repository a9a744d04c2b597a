/**
 * Worker-related health checks for `betblocker health`: failing list sources (the list stops updating), dead
 * alert deliveries (someone was not told), and failed queue jobs. Runs with the owner's pool (the queue
 * schema is the owner's) and the operator actor.
 */
import type { Sql } from "@betblocker/db/client";
import { type ActorContext, withActor } from "@betblocker/db/context";
import { countAlertDeliveriesByStatus } from "@betblocker/db/repositories/alert.repository";
import { jobQueueStatus } from "@betblocker/db/repositories/job.repository";
import { listListSources } from "@betblocker/db/repositories/list-source.repository";

export interface HealthCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export async function workerHealthChecks(sql: Sql, actor: ActorContext): Promise<HealthCheck[]> {
  return await withActor(sql, actor, async (tx) => {
    const checks: HealthCheck[] = [];
    const sources = await listListSources(tx);
    const enabled = sources.filter((s) => s.enabled);
    const failing = enabled.filter((s) => s.lastStatus === "error");
    checks.push({
      name: "list_sources",
      ok: failing.length === 0,
      detail:
        failing.length > 0
          ? `failing: ${failing.map((s) => `${s.name} (${s.consecutiveFailures}x: ${s.lastError})`).join("; ")}`
          : `${enabled.length} enabled of ${sources.length}, none failing`,
    });
    const alerts = await countAlertDeliveriesByStatus(tx);
    checks.push({
      name: "alerts",
      ok: alerts.dead === 0,
      detail:
        alerts.dead > 0
          ? `${alerts.dead} dead deliveries (betblocker alerts list --dead; retry with betblocker alerts retry-dead)`
          : `${alerts.pending} pending, ${alerts.sent} sent, 0 dead`,
    });
    const queue = await jobQueueStatus(tx);
    checks.push(
      queue
        ? {
            name: "worker",
            ok: queue.failed === 0,
            detail: `${queue.queued} queued, ${queue.running} running, ${queue.failed} failed jobs; last runs: ${
              queue.cron
                .map((c) => `${c.identifier} ${c.lastExecution?.toISOString() ?? "never"}`)
                .join(", ") || "none"
            }`,
          }
        : {
            name: "worker",
            ok: true,
            detail: "job queue not installed: the worker has not run on this database",
          },
    );
    return checks;
  });
}
