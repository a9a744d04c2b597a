/**
 * Federated reports: names the agent resolved (not listed) that the shared name classifier
 * (@betblocker/common discovery, the worker's too) scores at or above the review threshold are sent to
 * the API, where k distinct devices put a domain in the admins' review queue.
 *
 * Only when reporting_config.federated_reporting is on (the user's choice): a report carries a domain
 * name, so it is the one path by which a name leaves a device with aggregated reporting.
 * Deduplicated (a name is classified and reported once per agent run, bounded memory), rate-limited
 * (at most `maxPerHour` reports), batched with an idempotency key that is kept until the API answered 2xx.
 * Reports are best effort: kept in memory only, at most `maxPending`; the oldest go first when full.
 */
import { randomUUID } from "node:crypto";
import { classifyDomain, DISCOVERY_DEFAULTS } from "@betblocker/common/discovery/classify";
import { HeuristicMatchType, timestampFromMs } from "@betblocker/proto";
import type { DeviceApiClient } from "../api-client/api-client";

export interface FederatedReporterOptions {
  /** Score (0-100) at or above which a name is reported; default the discovery review threshold. */
  threshold?: number;
  maxPerHour?: number;
  maxPending?: number;
  /** Names remembered as already seen (classified); older ones are forgotten first. */
  maxSeen?: number;
  now?: () => number;
  classify?: (name: string) => number;
}

interface PendingReport {
  domain: string;
  score: number;
  firstSeen: number;
}

export class FederatedReporter {
  private enabled = false;
  private readonly seen = new Set<string>();
  private pending: PendingReport[] = [];
  private inflight: { batchId: string; reports: PendingReport[] } | null = null;
  private sentTimes: number[] = [];
  private readonly now: () => number;
  private readonly classify: (name: string) => number;
  private readonly threshold: number;
  private readonly maxPerHour: number;
  private readonly maxPending: number;
  private readonly maxSeen: number;
  dropped = 0;

  constructor(options: FederatedReporterOptions = {}) {
    this.now = options.now ?? Date.now;
    this.classify = options.classify ?? ((name) => classifyDomain(name).score);
    this.threshold = options.threshold ?? DISCOVERY_DEFAULTS.reviewThreshold;
    this.maxPerHour = options.maxPerHour ?? 60;
    this.maxPending = options.maxPending ?? 200;
    this.maxSeen = options.maxSeen ?? 20_000;
  }

  /** reporting_config.federated_reporting. Turning it off drops what was not sent yet. */
  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
    if (!enabled) {
      this.pending = [];
      this.inflight = null;
    }
  }

  get queued(): number {
    return this.pending.length + (this.inflight?.reports.length ?? 0);
  }

  /** A name the agent resolved (allowed). Cheap for names already seen. */
  observe = (name: string): void => {
    if (!this.enabled || this.seen.has(name)) return;
    if (this.seen.size >= this.maxSeen) {
      // Sets iterate in insertion order: forget the oldest.
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.seen.add(name);
    const score = this.classify(name);
    if (score < this.threshold) return;
    const now = this.now();
    this.sentTimes = this.sentTimes.filter((t) => now - t < 3_600_000);
    if (this.sentTimes.length >= this.maxPerHour) {
      this.dropped++;
      return;
    }
    this.sentTimes.push(now);
    if (this.pending.length >= this.maxPending) {
      this.pending.shift();
      this.dropped++;
    }
    this.pending.push({ domain: name, score, firstSeen: now });
  };

  /** Send what is pending (one batch at a time; a failed batch is resent with the same batch id). */
  async flush(client: DeviceApiClient): Promise<{ sent: number } | { error: Error }> {
    if (!this.enabled) return { sent: 0 };
    let sent = 0;
    for (;;) {
      if (!this.inflight) {
        if (this.pending.length === 0) return { sent };
        this.inflight = { batchId: randomUUID(), reports: this.pending.splice(0, 500) };
      }
      const batch = this.inflight;
      try {
        await client.sendFederatedReports({
          batchId: batch.batchId,
          reports: batch.reports.map((report) => ({
            domain: report.domain,
            heuristicMatchType: HeuristicMatchType.KEYWORD,
            score: report.score / 100,
            firstSeen: timestampFromMs(report.firstSeen),
          })),
        });
        sent += batch.reports.length;
        if (this.inflight === batch) this.inflight = null;
      } catch (error) {
        return { error: error as Error };
      }
    }
  }
}
