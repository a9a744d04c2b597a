/** Every job the worker runs, by id. Adding a job: a file in ./jobs and a line here. */
import type { JobDefinition } from "@betblocker/core/jobs/job";
import { alertsDeliverJob } from "./jobs/alerts-deliver.job";
import { authTokenCleanupJob } from "./jobs/auth-token-cleanup.job";
import { blocklistCompileJob } from "./jobs/blocklist-compile.job";
import { blocklistPruneVersionsJob } from "./jobs/blocklist-prune-versions.job";
import { eventsPartitionsJob } from "./jobs/events-partitions.job";
import { federatedIntakeJob } from "./jobs/federated-intake.job";
import { heartbeatMonitorJob } from "./jobs/heartbeat-monitor.job";
import { lifecycleTimersJob } from "./jobs/lifecycle-timers.job";
import { listSourcesImportJob } from "./jobs/list-sources-import.job";
import { reportingSnapshotsJob } from "./jobs/reporting-snapshots.job";

export const JOBS: readonly JobDefinition[] = [
  listSourcesImportJob,
  blocklistCompileJob,
  blocklistPruneVersionsJob,
  eventsPartitionsJob,
  authTokenCleanupJob,
  alertsDeliverJob,
  heartbeatMonitorJob,
  lifecycleTimersJob,
  reportingSnapshotsJob,
  federatedIntakeJob,
] as JobDefinition[];
