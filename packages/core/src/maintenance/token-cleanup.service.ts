/**
 * Deleting auth tokens that can never be used again (job auth.token-cleanup): refresh tokens expired, or
 * revoked in a family with no usable token left, and e-mail verification tokens used or expired, all more
 * than `token_retention_days` ago. Bounded batches, each its own transaction: a crash loses nothing (the next
 * run deletes what is left) and deletes nothing twice.
 */
import type { Sql, TransactionSql } from "@betblocker/db/client";
import { type ActorContext, withActor } from "@betblocker/db/context";
import {
  deleteStaleEmailVerificationTokens,
  deleteStaleRefreshTokens,
} from "@betblocker/db/repositories/maintenance.repository";

export interface TokenCleanupDeps {
  sql: Sql;
  actor: ActorContext;
  retentionDays: number;
  batchSize: number;
  maxBatches: number;
  now?: () => Date;
  signal?: AbortSignal;
}

export interface TokenCleanupReport {
  refreshTokens: number;
  emailVerificationTokens: number;
  batches: number;
  /** The batch limit or a shutdown stopped the run with rows possibly left. */
  more: boolean;
}

export async function cleanupAuthTokens(deps: TokenCleanupDeps): Promise<TokenCleanupReport> {
  const now = (deps.now ?? (() => new Date()))();
  const cutoff = new Date(now.getTime() - deps.retentionDays * 86_400_000);
  const report: TokenCleanupReport = {
    refreshTokens: 0,
    emailVerificationTokens: 0,
    batches: 0,
    more: false,
  };
  const steps: Array<[keyof Pick<TokenCleanupReport, "refreshTokens" | "emailVerificationTokens">, Deleter]> =
    [
      ["refreshTokens", deleteStaleRefreshTokens],
      ["emailVerificationTokens", deleteStaleEmailVerificationTokens],
    ];
  for (const [field, remove] of steps) {
    for (;;) {
      if (report.batches >= deps.maxBatches || deps.signal?.aborted) {
        report.more = true;
        return report;
      }
      const deleted = await withActor(deps.sql, deps.actor, (tx) => remove(tx, cutoff, deps.batchSize));
      report.batches++;
      report[field] += deleted;
      if (deleted < deps.batchSize) break;
    }
  }
  return report;
}

type Deleter = (tx: TransactionSql, cutoff: Date, limit: number) => Promise<number>;
