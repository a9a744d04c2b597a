/**
 * Answering "is this name blocked, and why" against the latest published (signed) version, exactly as an
 * agent would: verify the list with the public key, then ask the matcher.
 */
import type { KeyObject } from "node:crypto";
import {
  BlocklistMatcher,
  type LoadedBlocklist,
  loadBlocklist,
  type MatchExplanation,
} from "@betblocker/common";
import { normalizeDomain } from "@betblocker/common/domain/normalize";
import type { Queryable } from "@betblocker/db/client";
import { getSnapshot, latestVersion } from "@betblocker/db/repositories/blocklist.repository";

export interface PublishedList {
  version: number;
  list: LoadedBlocklist;
  matcher: BlocklistMatcher;
}

export async function loadLatestPublished(
  sql: Queryable,
  publicKey: KeyObject,
): Promise<PublishedList | null> {
  const latest = await latestVersion(sql);
  if (!latest) return null;
  const snapshot = await getSnapshot(sql, latest.versionNumber);
  if (!snapshot) return null;
  const list = loadBlocklist(snapshot, publicKey);
  return { version: latest.versionNumber, list, matcher: new BlocklistMatcher(list) };
}

export type CheckResult =
  | { input: string; valid: true; domain: string; blocked: boolean; explanation: MatchExplanation }
  | { input: string; valid: false; reason: string };

export function checkName(matcher: BlocklistMatcher, input: string): CheckResult {
  const normalized = normalizeDomain(input, { allowSingleLabel: true });
  if (!normalized.ok) return { input, valid: false, reason: normalized.reason };
  const explanation = matcher.explain(normalized.domain);
  return { input, valid: true, domain: normalized.domain, blocked: explanation.blocked, explanation };
}
